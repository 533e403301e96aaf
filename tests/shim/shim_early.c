/*
 * shim_early.c - calls and threads from before the shim's constructor
 * (see early.c).  Run with WEDGE_RULES="log on sock.send" and WEDGE_TRACE:
 * the constructor's send (before the rules were known) worked and was not
 * injected; the early thread's three sends, made after, were.
 */
#include <pthread.h>

#include "shim_test.h"

extern int early_before_shim, early_sent, early_tid, early_go[2];
extern pthread_t early_thread;

int main(void)
{
    void *ok = NULL;
    char tid[32];

    CHECK(early_before_shim == 1, "libshim_early's constructor did not run before the shim's: "
                                  "the test would prove nothing");
    CHECK(early_sent == 1, "send from before the shim's constructor returned %d", early_sent);
    CHECK(write(early_go[1], "g", 1) == 1, "go");
    CHECK(pthread_join(early_thread, &ok) == 0 && ok, "the early thread failed to send");
    snprintf(tid, sizeof tid, "\"tid\":%d,", early_tid);
    int mine = t_trace_count(getpid(), "\"hook\":\"sock.send\"", tid, NULL);
    int all = t_trace_count(getpid(), "\"hook\":\"sock.send\"", NULL);
    CHECK(mine == 3, "%d of the early thread's sends traced, expected 3", mine);
    CHECK(all == 3, "%d sends traced in all: the one before the constructor must not be", all);
    printf("early: ok\n");
    return 0;
}
