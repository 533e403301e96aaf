/*
 * shim_smoke.c - one smoke test per wrapped function (shim/wrappers.def).
 *
 *   shim_smoke FUNCTION HOOK
 *
 * runs under WEDGE_RULES="log on HOOK" and WEDGE_TRACE: calls FUNCTION
 * (a known number of times), then checks that its own trace holds exactly
 * that many events on HOOK: the wrapper was reached, evaluated the rule,
 * and called through to the real function (whose result is checked too).
 */
#include <ctype.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "shim_test.h"

/* The _FORTIFY_SOURCE entry points, called directly. */
extern ssize_t __recv_chk(int, void *, size_t, size_t, int);
extern ssize_t __recvfrom_chk(int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *);
extern ssize_t __read_chk(int, void *, size_t, size_t);
extern int __poll_chk(struct pollfd *, nfds_t, int, size_t);
extern int __ppoll_chk(struct pollfd *, nfds_t, const struct timespec *, const sigset_t *, size_t);

static int sv[2];
static char buf[64];

static void pair_only(void)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
}

static void pair_with_data(void)
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair");
    /* Data for the receive snippets, sent before the rule matters. */
    CHECK(send(sv[1], "hello", 5, 0) == 5, "send");
}

/* A listening TCP socket on 127.0.0.1 and its address. */
static int listener(struct sockaddr_in *a)
{
    socklen_t l = sizeof *a;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    memset(a, 0, sizeof *a);
    a->sin_family = AF_INET;
    a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    CHECK(s >= 0 && bind(s, (struct sockaddr *)a, sizeof *a) == 0 && listen(s, 4) == 0,
          "listen: %s", strerror(errno));
    CHECK(getsockname(s, (struct sockaddr *)a, &l) == 0, "getsockname");
    return s;
}

static int smoke_connect(void)
{
    struct sockaddr_in a;
    listener(&a);
    int c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    return 1;
}

static int smoke_accept_common(int four)
{
    struct sockaddr_in a;
    int l = listener(&a), c = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(c, (struct sockaddr *)&a, sizeof a) == 0, "connect");
    int s = four ? accept4(l, NULL, NULL, SOCK_CLOEXEC) : accept(l, NULL, NULL);
    CHECK(s >= 0, "accept: %s", strerror(errno));
    return 1;
}
static int smoke_accept(void)
{
    return smoke_accept_common(0);
}
static int smoke_accept4(void)
{
    return smoke_accept_common(1);
}

static int smoke_send(void)
{
    pair_only();
    CHECK(send(sv[0], "x", 1, 0) == 1, "send");
    return 1;
}
static int smoke_sendto(void)
{
    pair_only();
    CHECK(sendto(sv[0], "x", 1, 0, NULL, 0) == 1, "sendto");
    return 1;
}
static int smoke_sendmsg(void)
{
    struct iovec iov = {"x", 1};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    pair_only();
    CHECK(sendmsg(sv[0], &m, 0) == 1, "sendmsg");
    return 1;
}
static int smoke_write(void)
{
    pair_only();
    CHECK(write(sv[0], "x", 1) == 1, "write");
    return 1;
}
static int smoke_writev(void)
{
    struct iovec iov = {"x", 1};
    pair_only();
    CHECK(writev(sv[0], &iov, 1) == 1, "writev");
    return 1;
}
static int smoke_recv(void)
{
    pair_with_data();
    CHECK(recv(sv[0], buf, sizeof buf, 0) == 5, "recv");
    return 1;
}
static int smoke_recvfrom(void)
{
    pair_with_data();
    CHECK(recvfrom(sv[0], buf, sizeof buf, 0, NULL, NULL) == 5, "recvfrom");
    return 1;
}
static int smoke_recvmsg(void)
{
    struct iovec iov = {buf, sizeof buf};
    struct msghdr m = {.msg_iov = &iov, .msg_iovlen = 1};
    pair_with_data();
    CHECK(recvmsg(sv[0], &m, 0) == 5, "recvmsg");
    return 1;
}
static int smoke_read(void)
{
    pair_with_data();
    CHECK(read(sv[0], buf, sizeof buf) == 5, "read");
    return 1;
}
static int smoke_readv(void)
{
    struct iovec iov = {buf, sizeof buf};
    pair_with_data();
    CHECK(readv(sv[0], &iov, 1) == 5, "readv");
    return 1;
}
static int smoke___recv_chk(void)
{
    pair_with_data();
    CHECK(__recv_chk(sv[0], buf, sizeof buf, sizeof buf, 0) == 5, "__recv_chk");
    return 1;
}
static int smoke___recvfrom_chk(void)
{
    pair_with_data();
    CHECK(__recvfrom_chk(sv[0], buf, sizeof buf, sizeof buf, 0, NULL, NULL) == 5, "chk");
    return 1;
}
static int smoke___read_chk(void)
{
    pair_with_data();
    CHECK(__read_chk(sv[0], buf, sizeof buf, sizeof buf) == 5, "__read_chk");
    return 1;
}
static int smoke_poll(void)
{
    pair_with_data();
    struct pollfd p = {sv[0], POLLIN, 0};
    CHECK(poll(&p, 1, 1000) == 1, "poll");
    return 1;
}
static int smoke_ppoll(void)
{
    pair_with_data();
    struct pollfd p = {sv[0], POLLIN, 0};
    struct timespec ts = {1, 0};
    CHECK(ppoll(&p, 1, &ts, NULL) == 1, "ppoll");
    return 1;
}
static int smoke___poll_chk(void)
{
    pair_with_data();
    struct pollfd p = {sv[0], POLLIN, 0};
    CHECK(__poll_chk(&p, 1, 1000, sizeof p) == 1, "__poll_chk");
    return 1;
}
static int smoke___ppoll_chk(void)
{
    pair_with_data();
    struct pollfd p = {sv[0], POLLIN, 0};
    struct timespec ts = {1, 0};
    CHECK(__ppoll_chk(&p, 1, &ts, NULL, sizeof p) == 1, "__ppoll_chk");
    return 1;
}
static int smoke_select(void)
{
    fd_set r;
    struct timeval tv = {1, 0};
    pair_with_data();
    FD_ZERO(&r);
    FD_SET(sv[0], &r);
    CHECK(select(sv[0] + 1, &r, NULL, NULL, &tv) == 1, "select");
    return 1;
}
static int smoke_epoll_wait(void)
{
    struct epoll_event ev = {.events = EPOLLIN}, out;
    int ep = epoll_create1(0);
    pair_with_data();
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0, "epoll");
    CHECK(epoll_wait(ep, &out, 1, 1000) == 1, "epoll_wait");
    return 1;
}
static int smoke_epoll_pwait(void)
{
    struct epoll_event ev = {.events = EPOLLIN}, out;
    int ep = epoll_create1(0);
    sigset_t none;
    sigemptyset(&none);
    pair_with_data();
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0, "epoll");
    CHECK(epoll_pwait(ep, &out, 1, 1000, &none) == 1, "epoll_pwait");
    return 1;
}
static int smoke_epoll_pwait2(void)
{
    struct epoll_event ev = {.events = EPOLLIN}, out;
    struct timespec ts = {1, 0};
    int ep = epoll_create1(0);
    pair_with_data();
    CHECK(ep >= 0 && epoll_ctl(ep, EPOLL_CTL_ADD, sv[0], &ev) == 0, "epoll");
    CHECK(epoll_pwait2(ep, &out, 1, &ts, NULL) == 1, "epoll_pwait2");
    return 1;
}
static int smoke_close(void)
{
    pair_with_data();
    CHECK(close(sv[0]) == 0, "close");
    return 1;
}

/* ---------------------------------------------------------------- */
static PGconn *pq(void)
{
    PGconn *c = PQconnectdb(t_dsn());
    CHECK(PQstatus(c) == CONNECTION_OK, "connect: %s", PQerrorMessage(c));
    return c;
}
static void drain(PGconn *c)
{
    PGresult *r;
    while ((r = PQgetResult(c))) {
        CHECK(PQresultStatus(r) != PGRES_FATAL_ERROR, "%s", PQerrorMessage(c));
        PQclear(r);
    }
}
static void result_ok(PGconn *c, PGresult *r)
{
    ExecStatusType st = PQresultStatus(r);
    CHECK(st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK, "%s", PQerrorMessage(c));
    PQclear(r);
}
static int smoke_PQconnectdb(void)
{
    PQfinish(pq());
    return 1;
}
static void dsn_params(const char **k, const char **v)
{
    k[0] = "dbname", v[0] = t_dsn();
    k[1] = v[1] = NULL;
}
static int smoke_PQconnectdbParams(void)
{
    const char *k[2], *v[2];
    dsn_params(k, v);
    PGconn *c = PQconnectdbParams(k, v, 1);
    CHECK(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
    PQfinish(c);
    return 1;
}
static void finish_start(PGconn *c)
{
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    CHECK(c && PQstatus(c) != CONNECTION_BAD, "connect start");
    for (int i = 0; i < 10000 && st != PGRES_POLLING_OK && st != PGRES_POLLING_FAILED; i++) {
        struct pollfd p = {PQsocket(c), st == PGRES_POLLING_READING ? POLLIN : POLLOUT, 0};
        poll(&p, 1, 1000);
        st = PQconnectPoll(c);
    }
    CHECK(st == PGRES_POLLING_OK, "connect: %s", PQerrorMessage(c));
    PQfinish(c);
}
static int smoke_PQconnectStart(void)
{
    finish_start(PQconnectStart(t_dsn()));
    return 1;
}
static int smoke_PQconnectStartParams(void)
{
    const char *k[2], *v[2];
    dsn_params(k, v);
    finish_start(PQconnectStartParams(k, v, 1));
    return 1;
}
static int smoke_PQexec(void)
{
    PGconn *c = pq();
    result_ok(c, PQexec(c, "SELECT 1"));
    return 1;
}
static int smoke_PQexecParams(void)
{
    PGconn *c = pq();
    result_ok(c, PQexecParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0));
    return 1;
}
static int smoke_PQexecPrepared(void)
{
    PGconn *c = pq();
    result_ok(c, PQprepare(c, "s", "SELECT 1", 0, NULL));
    result_ok(c, PQexecPrepared(c, "s", 0, NULL, NULL, NULL, 0));
    return 1;
}
static int smoke_PQprepare(void)
{
    PGconn *c = pq();
    result_ok(c, PQprepare(c, "s", "SELECT 1", 0, NULL));
    return 1;
}
static int smoke_PQsendQuery(void)
{
    PGconn *c = pq();
    CHECK(PQsendQuery(c, "SELECT 1"), "send");
    drain(c);
    return 1;
}
static int smoke_PQsendQueryParams(void)
{
    PGconn *c = pq();
    CHECK(PQsendQueryParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0), "send");
    drain(c);
    return 1;
}
static int smoke_PQsendPrepare(void)
{
    PGconn *c = pq();
    CHECK(PQsendPrepare(c, "s", "SELECT 1", 0, NULL), "send");
    drain(c);
    return 1;
}
static int smoke_PQsendQueryPrepared(void)
{
    PGconn *c = pq();
    result_ok(c, PQprepare(c, "s", "SELECT 1", 0, NULL));
    CHECK(PQsendQueryPrepared(c, "s", 0, NULL, NULL, NULL, 0), "send");
    drain(c);
    return 1;
}
static int smoke_PQsendDescribePrepared(void)
{
    PGconn *c = pq();
    result_ok(c, PQprepare(c, "s", "SELECT 1", 0, NULL));
    CHECK(PQsendDescribePrepared(c, "s"), "send");
    drain(c);
    return 1;
}
static int smoke_PQsendDescribePortal(void)
{
    PGconn *c = pq();
    result_ok(c, PQexec(c, "BEGIN"));
    result_ok(c, PQexec(c, "DECLARE cur CURSOR FOR SELECT 1"));
    CHECK(PQsendDescribePortal(c, "cur"), "send");
    drain(c);
    return 1;
}
static int smoke_PQgetResult(void)
{
    PGconn *c = pq();
    CHECK(PQsendQuery(c, "SELECT 1"), "send");
    drain(c); /* one result, then NULL: two calls */
    return 2;
}
static int smoke_PQfinish(void)
{
    PQfinish(pq());
    return 1;
}
/* PQpipelineSync fires no hook of its own (its row's hook, pq.send, arms
 * it): the one event is the query's; the results must still come in
 * order, the sync's last. */
static int smoke_PQpipelineSync(void)
{
    PGconn *c = pq();
    PGresult *r;
    CHECK(PQenterPipelineMode(c), "pipeline mode");
    CHECK(PQsendQueryParams(c, "SELECT 1", 0, NULL, NULL, NULL, NULL, 0), "send");
    CHECK(PQpipelineSync(c), "sync");
    r = PQgetResult(c);
    CHECK(PQresultStatus(r) == PGRES_TUPLES_OK, "query: %s", PQerrorMessage(c));
    PQclear(r);
    CHECK(PQgetResult(c) == NULL, "the query's results end");
    r = PQgetResult(c);
    CHECK(PQresultStatus(r) == PGRES_PIPELINE_SYNC, "sync result: %d", PQresultStatus(r));
    PQclear(r);
    CHECK(PQexitPipelineMode(c), "exit pipeline mode: %s", PQerrorMessage(c));
    PQfinish(c);
    return 1;
}

/* ---------------------------------------------------------------- */
static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int flag;

static int smoke_pthread_mutex_lock(void)
{
    CHECK(pthread_mutex_lock(&m) == 0, "lock");
    return 1;
}
static int smoke_pthread_mutex_trylock(void)
{
    CHECK(pthread_mutex_trylock(&m) == 0, "trylock");
    return 1;
}
static int smoke_pthread_mutex_unlock(void)
{
    CHECK(pthread_mutex_lock(&m) == 0 && pthread_mutex_unlock(&m) == 0, "unlock");
    return 1;
}
static int smoke_pthread_rwlock_rdlock(void)
{
    CHECK(pthread_rwlock_rdlock(&rw) == 0, "rdlock");
    return 1;
}
static int smoke_pthread_rwlock_wrlock(void)
{
    CHECK(pthread_rwlock_wrlock(&rw) == 0, "wrlock");
    return 1;
}
static int smoke_pthread_rwlock_unlock(void)
{
    CHECK(pthread_rwlock_rdlock(&rw) == 0 && pthread_rwlock_unlock(&rw) == 0, "unlock");
    return 1;
}
static void *signaller(void *arg)
{
    (void)arg;
    t_sleep_ms(20);
    pthread_mutex_lock(&m);
    flag = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&m);
    return NULL;
}
static int smoke_pthread_cond_wait(void)
{
    pthread_t t;
    int n = 0;
    CHECK(pthread_create(&t, NULL, signaller, NULL) == 0, "thread");
    pthread_mutex_lock(&m);
    while (!flag) {
        CHECK(pthread_cond_wait(&cv, &m) == 0, "wait");
        n++;
    }
    pthread_mutex_unlock(&m);
    pthread_join(t, NULL);
    return n;
}
static int smoke_pthread_cond_timedwait(void)
{
    struct timespec past = {0, 0};
    pthread_mutex_lock(&m);
    CHECK(pthread_cond_timedwait(&cv, &m, &past) == ETIMEDOUT, "timedwait");
    pthread_mutex_unlock(&m);
    return 1;
}
static int smoke_pthread_cond_signal(void)
{
    CHECK(pthread_cond_signal(&cv) == 0, "signal");
    return 1;
}
static int smoke_pthread_cond_broadcast(void)
{
    CHECK(pthread_cond_broadcast(&cv) == 0, "broadcast");
    return 1;
}
static void *nothing(void *arg)
{
    return arg;
}
static int smoke_pthread_create(void)
{
    pthread_t t;
    CHECK(pthread_create(&t, NULL, nothing, NULL) == 0, "create");
    pthread_join(t, NULL);
    return 1;
}

/* dlopen and dlclose have no hook: they pass through (here with the
 * symbol tables built, which the wrappers then bring up to date), and
 * leave no trace line. */
static int smoke_dlopen(void)
{
    void *h = dlopen("libm.so.6", RTLD_NOW);
    CHECK(h && dlsym(h, "cos"), "dlopen: %s", dlerror());
    return 0;
}
static int smoke_dlclose(void)
{
    void *h = dlopen("libm.so.6", RTLD_NOW);
    CHECK(h && dlclose(h) == 0, "dlclose: %s", dlerror());
    return 0;
}

/* One snippet per wrapped function of shim/wrappers.def: a wrapper
 * without one does not compile.  The hook is the row's (SOCK_SEND). */
static const struct {
    const char *fn, *hook_id;
    int (*run)(void);
} smokes[] = {
#define W_ALL(name, version, ret, params, args, hook, fail, body, shape) SMOKE_##body(name, hook)
#define SMOKE_SOCK(name, hook)                                           {#name, #hook, smoke_##name},
#define SMOKE_PTH(name, hook)                                            {#name, #hook, smoke_##name},
#define SMOKE_HAND(name, hook)                                           {#name, #hook, smoke_##name},
#define SMOKE_CALL(name, hook)
#include "../../shim/wrappers.def"
};

/* The rule name of a hook id: SOCK_SEND -> sock.send (as hooks.def has
 * them, and as tests/shim/CMakeLists.txt writes the rule). */
static void hook_name(const char *id, char *out, size_t n)
{
    size_t i = 0;
    int dot = 0;

    for (; id[i] && i + 1 < n; i++)
        out[i] = id[i] == '_' && !dot++ ? '.' : (char)tolower((unsigned char)id[i]);
    out[i] = '\0';
}

int main(int argc, char **argv)
{
    char hookpat[96], hook[64];
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(argc == 2, "usage: shim_smoke FUNCTION");
    for (size_t i = 0; i < sizeof smokes / sizeof smokes[0]; i++) {
        if (strcmp(smokes[i].fn, argv[1]) != 0)
            continue;
        int calls = smokes[i].run();
        hook_name(smokes[i].hook_id, hook, sizeof hook);
        snprintf(hookpat, sizeof hookpat, "\"hook\":\"%s\"", hook);
        int n = t_trace_count(getpid(), hookpat, "\"action\":\"log\"", NULL);
        CHECK(n == calls, "%s: %d trace events on %s, expected %d", argv[1], n, hook, calls);
        printf("%s: %d call(s) on %s traced\n", argv[1], calls, hook);
        return 0;
    }
    CHECK(0, "no smoke snippet for %s", argv[1]);
    return 1;
}
