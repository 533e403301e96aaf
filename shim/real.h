/*
 * real.h - the one table of real_* symbols the wrappers call through, and
 * what the wrappers share (hooks.h holds the state).
 *
 * Every wrapped function appears once in an X-macro list below with its
 * prototype.  real.c resolves them all in one place (real_load), with
 * dlsym(RTLD_NEXT) or dlvsym for the pthread_cond_* family; the libpq
 * group comes from wherever the program loaded libpq (real_pq.c).
 * REAL(fn) is the pointer, resolved lazily when a wrapper runs before the
 * constructor (or, for libpq, before libpq was found).
 *
 * Internal to libwedge.so: nothing here is exported (libwedge.map).
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

/* libc: a missing one is fatal.  REAL_LIBC(return type, name, parameters) */
#define WG_REAL_LIBC(X)                                                                      \
    X(int, connect, (int, const struct sockaddr *, socklen_t))                               \
    X(int, accept, (int, struct sockaddr *, socklen_t *))                                    \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                              \
    X(ssize_t, send, (int, const void *, size_t, int))                                       \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                   \
    X(ssize_t, recv, (int, void *, size_t, int))                                             \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))         \
    X(ssize_t, recvmsg, (int, struct msghdr *, int))                                         \
    X(ssize_t, read, (int, void *, size_t))                                                  \
    X(ssize_t, write, (int, const void *, size_t))                                           \
    X(ssize_t, readv, (int, const struct iovec *, int))                                      \
    X(ssize_t, writev, (int, const struct iovec *, int))                                     \
    X(int, poll, (struct pollfd *, nfds_t, int))                                             \
    X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *))      \
    X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *))                    \
    X(int, epoll_wait, (int, struct epoll_event *, int, int))                                \
    X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *))             \
    X(int, close, (int))                                                                     \
    X(int, pthread_rwlock_rdlock, (pthread_rwlock_t *))                                      \
    X(int, pthread_rwlock_wrlock, (pthread_rwlock_t *))                                      \
    X(int, pthread_rwlock_unlock, (pthread_rwlock_t *))                                      \
    X(int, pthread_create, (pthread_t *, const pthread_attr_t *, void *(*)(void *), void *))

/* libc, the mutex functions: while the table is being resolved they fall
 * back to glibc's own entry points (real.c). */
#define WG_REAL_MUTEX(X)                               \
    X(int, pthread_mutex_lock, (pthread_mutex_t *))    \
    X(int, pthread_mutex_trylock, (pthread_mutex_t *)) \
    X(int, pthread_mutex_unlock, (pthread_mutex_t *))

/* libc, by symbol version: the pthread_cond_* that new programs link
 * against.  Plain dlsym may return the GLIBC_2.2.5 compatibility versions,
 * which expect the old, smaller pthread_cond_t and corrupt a new one. */
#define WG_REAL_VERSIONED(X)                                                                       \
    X(int, pthread_cond_wait, (pthread_cond_t *, pthread_mutex_t *))                               \
    X(int, pthread_cond_timedwait, (pthread_cond_t *, pthread_mutex_t *, const struct timespec *)) \
    X(int, pthread_cond_signal, (pthread_cond_t *))                                                \
    X(int, pthread_cond_broadcast, (pthread_cond_t *))
#define WG_COND_VERSION "GLIBC_2.3.2"

/* libc, optional: the _FORTIFY_SOURCE variants (absent from some libcs;
 * a program can only call ours if its libc has them). */
#define WG_REAL_OPTIONAL(X)                                                                        \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))                                     \
    X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *)) \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                          \
    X(int, __poll_chk, (struct pollfd *, nfds_t, int, size_t))                                     \
    X(int, __ppoll_chk,                                                                            \
      (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t))                \
    X(int, epoll_pwait2,                                                                           \
      (int, struct epoll_event *, int, const struct timespec *, const sigset_t *))

/* libpq: libwedge.so does not link libpq, so it loads into programs
 * without it.  The whole group comes from the one libpq the program
 * loaded, wherever it was loaded (real_pq.c): RTLD_NEXT when it is in the
 * global scope, else the loaded object that defines it (Python loads
 * psycopg2, and libpq with it, RTLD_LOCAL).  WG_REAL_PQ is wrapped; the
 * helpers are only called by the wrappers; a missing one is fatal when
 * first called, with its name. */
#define WG_REAL_PQ(X)                                                                           \
    X(PGconn *, PQconnectdb, (const char *))                                                    \
    X(PGconn *, PQconnectdbParams, (const char *const *, const char *const *, int))             \
    X(PGconn *, PQconnectStart, (const char *))                                                 \
    X(PGconn *, PQconnectStartParams, (const char *const *, const char *const *, int))          \
    X(PGresult *, PQexec, (PGconn *, const char *))                                             \
    X(PGresult *, PQexecParams,                                                                 \
      (PGconn *, const char *, int, const Oid *, const char *const *, const int *, const int *, \
       int))                                                                                    \
    X(PGresult *, PQexecPrepared,                                                               \
      (PGconn *, const char *, int, const char *const *, const int *, const int *, int))        \
    X(PGresult *, PQprepare, (PGconn *, const char *, const char *, int, const Oid *))          \
    X(int, PQsendQuery, (PGconn *, const char *))                                               \
    X(int, PQsendQueryParams,                                                                   \
      (PGconn *, const char *, int, const Oid *, const char *const *, const int *, const int *, \
       int))                                                                                    \
    X(int, PQsendPrepare, (PGconn *, const char *, const char *, int, const Oid *))             \
    X(int, PQsendQueryPrepared,                                                                 \
      (PGconn *, const char *, int, const char *const *, const int *, const int *, int))        \
    X(int, PQsendDescribePrepared, (PGconn *, const char *))                                    \
    X(int, PQsendDescribePortal, (PGconn *, const char *))                                      \
    X(int, PQpipelineSync, (PGconn *))                                                          \
    X(PGresult *, PQgetResult, (PGconn *))                                                      \
    X(void, PQfinish, (PGconn *))
#define WG_REAL_PQ_HELPERS(X)          \
    X(int, PQsocket, (const PGconn *)) \
    X(void, PQclear, (PGresult *))     \
    X(ExecStatusType, PQresultStatus, (const PGresult *))
/* libpq helpers that an older libpq lacks: a missing one is replaced by
 * the fallback named here (real_pq.c), never fatal.  PQpipelineStatus
 * came with libpq 14; a libpq without it cannot be in pipeline mode. */
#define WG_REAL_PQ_OPTIONAL(X) X(PGpipelineStatus, PQpipelineStatus, (const PGconn *))
#define WG_REAL_PQ_ALL(X)      WG_REAL_PQ(X) WG_REAL_PQ_HELPERS(X) WG_REAL_PQ_OPTIONAL(X)

#define WG_REAL_ALL(X) \
    WG_REAL_LIBC(X)    \
    WG_REAL_MUTEX(X) WG_REAL_VERSIONED(X) WG_REAL_OPTIONAL(X) WG_REAL_PQ_ALL(X)

#define WG_REAL_DECLARE(ret, name, params) \
    typedef ret(*real_##name##_t) params;  \
    extern real_##name##_t real_##name;    \
    real_##name##_t real_slow_##name(void);
WG_REAL_ALL(WG_REAL_DECLARE)
#undef WG_REAL_DECLARE

/*
 * The real function `name`.  One relaxed load once resolved; before that
 * (a call from another library's constructor, or from a thread started
 * before ours ran) real_slow_* resolves the whole table (libc) or the
 * libpq group (real_pq.c).  A libc symbol that cannot be found is fatal
 * with a message naming it; so is a libpq one (the wrapper would not have
 * been called without libpq loaded), except WG_REAL_PQ_OPTIONAL.
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

/* Resolve the libpq group (real_pq.c).  search 0: only RTLD_NEXT (the
 * constructor); 1: also every loaded object, RTLD_LOCAL ones included.
 * Returns 0 when libpq was found.  Thread-safe, no lock of its own. */
int real_pq_load(int search);
/* real_slow for a libpq symbol: resolve, or stop the process naming it. */
void *real_pq_slow(void **slot, const char *name);

/* Write "wedge: <what>..." to stderr with raw syscalls, leave the fatal
 * record (fatal.c) and abort.  parts: NULL-terminated strings. */
__attribute__((noreturn)) void real_die(const char *const *parts);

/* ---------------------------------------------------------------
 * The shim's own fatal exits (fatal.c).
 * ------------------------------------------------------------ */
/* Leave WEDGE_TRACE/fatal.PID saying the shim, not the program, stopped
 * this process: line 1 "kind=KIND pid=P pgid=G proc=NAME", line 2 msg.
 * kind: "abort" (a symbol the shim cannot do without) or "config" (a
 * configuration error, exit 2).  The runner reads it to call the run
 * inconclusive rather than a race.  Raw syscalls only, no allocation,
 * errno preserved; nothing when WEDGE_TRACE is unset. */
void wg_fatal_record(const char *kind, const char *msg);

/* Sleep ns on CLOCK_MONOTONIC, restarted on EINTR with the remainder; a
 * cancellation point (engine.c). */
void wg_sleep_ns(uint64_t ns);

/* Short "a.b.c.d:port" / "[::1]:port" / "unix" text of an address into buf. */
void wg_format_addr(const struct sockaddr *sa, socklen_t len, char *buf, size_t buflen);

#endif
