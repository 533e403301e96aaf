/*
 * early.c - libshim_early.so, a library whose constructor runs before the
 * shim's (the loader initialises it first) and which starts a thread
 * there: the case of calls made, and threads created, before the shim's
 * constructor has run.  shim_early.c checks what happened.  Its
 * destructor, by the same order, runs after the shim's: its sends come
 * after the exit summary (trace_end.sh checks they leave no line after it).
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <unistd.h>

int early_before_shim = -1; /* 1: the shim had not initialised yet */
int early_sent = -1;        /* what the constructor's send returned */
int early_tid;              /* the early thread's id */
int early_go[2];            /* main writes here to let the thread send */
pthread_t early_thread;

static int sv[2];

static void *early_run(void *arg)
{
    char c;
    (void)arg;
    early_tid = (int)syscall(SYS_gettid);
    if (read(early_go[0], &c, 1) != 1) /* a pipe: not a socket hook */
        return NULL;
    for (int i = 0; i < 3; i++)
        if (send(sv[0], "y", 1, 0) != 1)
            return NULL;
    return (void *)1;
}

__attribute__((constructor)) static void early_init(void)
{
    char path[4096];
    struct stat st;
    const char *dir = getenv("WEDGE_TRACE");

    /* The shim creates its trace file in its constructor. */
    snprintf(path, sizeof path, "%s/trace.%d.jsonl", dir ? dir : ".", (int)getpid());
    early_before_shim = stat(path, &st) != 0;
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0 || pipe(early_go) < 0)
        return;
    early_sent = (int)send(sv[0], "x", 1, 0); /* the real send is not resolved yet */
    pthread_create(&early_thread, NULL, early_run, NULL);
}

__attribute__((destructor)) static void early_fini(void)
{
    for (int i = 0; i < 2; i++)
        if (send(sv[0], "z", 1, 0) != 1)
            return;
}
