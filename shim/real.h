/*
 * real.h - the one table of real_* symbols the wrappers call through, and
 * what the wrappers share (hooks.h holds the state).
 *
 * Every function is a row of wrappers.def, with its prototype and where
 * the real one is found.  real.c resolves the libc rows in one place
 * (real_load), with dlsym(RTLD_NEXT), or dlvsym where a row names a
 * version; the libpq rows (their pointers too) come from wherever the
 * program loaded libpq (real_pq.c).
 * REAL(fn) is the pointer, resolved lazily when a wrapper runs before the
 * constructor (or, for libpq, before libpq was found).
 *
 * Internal to libwedge.so: nothing here is exported (libwedge.map.in).
 */
#ifndef WEDGE_REAL_H
#define WEDGE_REAL_H

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <libpq-fe.h>

#include "hooks.h"
#include "wedge_shim.h"

/* One pointer per row of wrappers.def, with the type of its prototype and
 * its slow half (real.c, real_pq.c). */
#define W_ALL(name, version, ret, params, ...) \
    typedef ret(*real_##name##_t) params;      \
    extern real_##name##_t real_##name;        \
    real_##name##_t real_slow_##name(void);
#include "wrappers.def"

/*
 * The real function `name`.  One relaxed load once resolved; before that
 * (a call from another library's constructor, or from a thread started
 * before ours ran) real_slow_* resolves the whole table (libc) or the
 * libpq group (real_pq.c).  A libc symbol that cannot be found is fatal
 * with a message naming it; so is a libpq one (the wrapper would not have
 * been called without libpq loaded), except a W_PQ_OPT row's.
 */
#define REAL(name)                                                               \
    ({                                                                           \
        real_##name##_t wg_p_ = __atomic_load_n(&real_##name, __ATOMIC_RELAXED); \
        __builtin_expect(wg_p_ != NULL, 1) ? wg_p_ : real_slow_##name();         \
    })

/* The slow half of a wrapper lives in its own function, so the fast half
 * needs no stack frame beyond the tail call. */
#define WG_SLOW_PATH static __attribute__((noinline))

/* Resolve every symbol once (idempotent, thread-safe).  Called by the
 * constructor and by the first wrapper that finds its pointer unset.
 * libpq only through RTLD_NEXT here: the search of the loaded objects
 * (real_pq_load) runs from a libpq wrapper's slow path alone. */
void real_load(void);

/* Resolve the libpq group (real_pq.c, which also holds the libpq rows'
 * pointers and slow halves).  search 0: only RTLD_NEXT (the constructor);
 * 1: also every loaded object, RTLD_LOCAL ones included.  Returns 0 when
 * libpq was found.  Thread-safe, no lock of its own. */
int real_pq_load(int search);

/* ---------------------------------------------------------------
 * The shim's own fatal exits (fatal.c), below real.c and real_pq.c.
 * ------------------------------------------------------------ */
/* Write "wedge: <what>..." to stderr with raw syscalls, leave the fatal
 * record (wg_fatal_record) and abort.  parts: NULL-terminated strings. */
__attribute__((noreturn)) void real_die(const char *const *parts);
/* Leave WEDGE_TRACE/fatal.PID saying the shim, not the program, stopped
 * this process: line 1 "kind=KIND pid=P pgid=G proc=NAME", line 2 msg.
 * kind: "abort" (a symbol the shim cannot do without) or "config" (a
 * configuration error, exit 2).  The runner reads it to call the run
 * inconclusive rather than a race.  Raw syscalls only, no allocation,
 * errno preserved; nothing when WEDGE_TRACE is unset. */
void wg_fatal_record(const char *kind, const char *msg);

/* Short "a.b.c.d:port" / "[::1]:port" / "unix" text of an address into buf. */
void wg_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

#endif
