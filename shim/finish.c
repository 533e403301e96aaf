/*
 * finish.c - the end of a traced process: its summary is the last line
 * of its trace and counts every fire.
 *
 * At exit (init.c's destructor) or at SIGTERM, once:
 *   1. every hook is disarmed: calls from now on (other libraries'
 *      destructors, which run after ours; threads still running) take the
 *      fast half, so nothing fires after the summary;
 *   2. the engine closes: evaluations under way end (a bounded wait), none
 *      begins; a call held in a delay, barrier or wait is not waited for;
 *   3. the summary is written, saying how the process ended ("end") and
 *      how many calls were still held ("in_flight": their outcome lines
 *      will never be written).
 *
 * SIGTERM: services are stopped with it, and most (Python, C servers)
 * leave it at SIG_DFL, which ends the process without exit handlers, so
 * without a summary.  Where the program left SIGTERM at SIG_DFL when the
 * shim started, and only when tracing, the shim installs a handler that
 * writes the summary and then ends the process as SIG_DFL would: the
 * handler is installed SA_RESETHAND, so the disposition is SIG_DFL again
 * when it runs, and it re-raises the signal, which is blocked inside the
 * handler and delivered as it returns.  The process is still killed by
 * SIGTERM (the same wait status, no exit handlers run), so nothing the
 * program or its parent sees changes, but two things: sigaction() reads
 * back our handler instead of SIG_DFL until the program sets its own, and
 * the process takes the summary's few milliseconds to die.  A program that
 * installs its own handler, or ignores SIGTERM, replaces ours: its
 * behaviour is its own, and it ends through exit (a summary) or not.
 * What the handler does is async-signal-safe in practice (atomics, raw
 * system calls, snprintf of numbers and strings into a static buffer):
 * the mutex profile's sites are named from the symbol tables (sym.c)
 * built at start, by reading them only; objects whose functions were not
 * read at start (a trace without rules) name a site "libfoo.so.1+0x1234"
 * there, and by function only at a normal exit.
 */
#include "finish.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <time.h>

#include "hooks.h"

/* How long the summary waits for evaluations under way: each is a few
 * microseconds of matching and one write; a caller ~ stack walk at most a
 * few milliseconds. */
#define FINISH_DRAIN_NS (200ull * 1000000)

static _Atomic int finish_started, finish_done;

void finish_run(const char *end)
{
    uint64_t calls[WG_HOOK_COUNT];
    long in_flight;
    int saved = errno;

    if (atomic_exchange(&finish_started, 1))
        return;
    wg_in_shim++;
    hooks_disarm();
    in_flight = wg_eval_close(FINISH_DRAIN_NS);
    for (int h = 0; h < WG_HOOK_COUNT; h++)
        calls[h] = atomic_load_explicit(&wg_calls[h], memory_order_relaxed);
    trace_summary(wg_rules, wg_rule_state, calls, end, in_flight);
    atomic_store(&finish_done, 1);
    wg_in_shim--;
    errno = saved;
}

static void finish_sigterm(int sig)
{
    struct timespec nap = {0, 1000000};

    if (atomic_load(&finish_started)) {
        /* exit is writing the summary in another thread: let it finish
         * (bounded) before the signal ends the process */
        for (int i = 0; i < 1000 && !atomic_load(&finish_done); i++)
            clock_nanosleep(CLOCK_MONOTONIC, 0, &nap, NULL);
    } else {
        finish_run("SIGTERM");
    }
    /* SA_RESETHAND made SIGTERM SIG_DFL again; blocked until we return,
     * then it ends the process as if we had never been here */
    raise(sig);
}

void finish_install_sigterm(void)
{
    struct sigaction old, sa;

    if (sigaction(SIGTERM, NULL, &old) != 0 || (old.sa_flags & SA_SIGINFO) ||
        old.sa_handler != SIG_DFL)
        return;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = finish_sigterm;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
}
