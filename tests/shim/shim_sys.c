/*
 * shim_sys.c - socket, pthread, coordination and fork behaviour of the
 * shim, observed in a real program (no database).
 *
 *   shim_sys sock-fail inject|none     send on a socketpair: ECONNRESET
 *   shim_sys sock-short inject|none    send/sendmsg of 10 bytes move 3
 *   shim_sys sock-delay MIN_MS         recv takes >= MIN_MS
 *   shim_sys sock-nonsock              write to a pipe is not sock.send
 *   shim_sys connect-port MIN_MS       re-executes itself with the rule
 *                                      `delay MIN_MS on sock.connect where
 *                                      port = P` (P a fresh listener): the
 *                                      connect to P is delayed, one to
 *                                      another listener is not; likewise a
 *                                      UDP sendto matches by destination
 *   shim_sys accept-after              rule `fail ECONNRESET after
 *                                      sock.accept`: accept fails, and the
 *                                      connection it took is closed (the
 *                                      client reads EOF, no fd leaks)
 *   shim_sys mutex-profile             a forked child contends on a mutex
 *                                      and exits: its trace summary lists
 *                                      the contended lock call site
 *   shim_sys barrier-threads together|apart
 *   shim_sys barrier-fork together|apart
 *                                      the early caller returns only after
 *                                      the late one arrived (together)
 *   shim_sys meet-print 0|1            one side of a barrier between two
 *                                      separately started processes
 *                                      (WEDGE_CTL): prints "arrive leave"
 *   shim_sys barrier-timeout MIN_MS    a lone caller is released after the
 *                                      timeout, and the trace says so
 *   shim_sys cond if|while broken|correct
 *                                      a consumer that guards
 *                                      pthread_cond_wait with if / while
 *   shim_sys cond-spin N               a correct `while` loop waits for N
 *                                      signals 50 ms apart under
 *                                      `spurious on cond.wait` (every
 *                                      wait): at most 2 waits and 1
 *                                      spurious return (traced) per signal
 *   shim_sys fork-trace                the child has its own trace file
 *                                      and counters
 *   shim_sys io-loop N                 N times: send and recv a byte on a
 *                                      socketpair, write and read one on a
 *                                      pipe, lock and trylock a mutex
 *                                      (trace_cost.sh, zero_cost.sh count
 *                                      the system calls the shim adds)
 *   shim_sys secure SHIM               dlopen the shim (setuid: badenv.sh)
 *   shim_sys exit-race                 exit while threads and an exit
 *                                      handler send (trace_end.sh)
 *   shim_sys term-wait [own]           send, then wait for SIGTERM (own:
 *                                      with the program's own handler)
 *   shim_sys held-exit                 exit while a send is held
 *   shim_sys signal MIN_MS             a signal lands during an injected
 *                                      delay: its handler's own hooked call
 *                                      passes straight through (no rule,
 *                                      no deadlock) and the delay resumes
 *                                      with its remainder
 */
#include <dlfcn.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/wait.h>

#include "shim_test.h"

static void pair(int sv[2])
{
    CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0, "socketpair: %s", strerror(errno));
}

static int sock_fail(int inject)
{
    int sv[2];
    pair(sv);
    errno = 0;
    ssize_t n = send(sv[0], "0123456789", 10, 0);
    if (inject)
        CHECK(n == -1 && errno == ECONNRESET, "send returned %zd errno %d", n, errno);
    else
        CHECK(n == 10, "send returned %zd", n);
    printf("sock-fail %s: ok\n", inject ? "inject" : "none");
    return 0;
}

static int sock_short(int inject)
{
    int sv[2];
    char buf[32];
    struct iovec iov[2] = {{"01234", 5}, {"56789", 5}};
    struct msghdr msg = {.msg_iov = iov, .msg_iovlen = 2};
    size_t want = inject ? 3 : 10;

    pair(sv);
    ssize_t n = send(sv[0], "0123456789", 10, 0);
    CHECK(n == (ssize_t)want, "send moved %zd, expected %zu", n, want);
    n = sendmsg(sv[0], &msg, 0);
    CHECK(n == (ssize_t)want, "sendmsg moved %zd, expected %zu", n, want);
    n = recv(sv[1], buf, sizeof buf, 0);
    CHECK(n == (ssize_t)(2 * want), "received %zd", n);
    CHECK(!memcmp(buf, "0123456789", want) && !memcmp(buf + want, "0123456789", want),
          "data corrupted");
    printf("sock-short %s: ok\n", inject ? "inject" : "none");
    return 0;
}

static int sock_delay(long min_ms)
{
    int sv[2];
    char buf[16];
    pair(sv);
    CHECK(send(sv[0], "x", 1, 0) == 1, "send");
    uint64_t t0 = t_now_ns();
    CHECK(recv(sv[1], buf, sizeof buf, 0) == 1, "recv");
    uint64_t ms = (t_now_ns() - t0) / 1000000;
    CHECK(ms >= (uint64_t)min_ms, "recv took %llu ms, expected >= %ld", (unsigned long long)ms,
          min_ms);
    printf("sock-delay: ok (%llu ms)\n", (unsigned long long)ms);
    return 0;
}

/* Rule: fail EIO on sock.send.  A pipe is no socket: write goes through. */
static int sock_nonsock(void)
{
    int p[2], sv[2];
    CHECK(pipe(p) == 0, "pipe");
    pair(sv);
    CHECK(write(p[1], "abc", 3) == 3, "write to a pipe must not be injected");
    errno = 0;
    CHECK(write(sv[0], "abc", 3) == -1 && errno == EIO, "write to a socket must fail EIO");
    printf("sock-nonsock: ok\n");
    return 0;
}

/* ---------------------------------------------------------------
 * port = on sock.connect `before`: the socket has no peer yet, the rule
 * must match the address being connected to.
 * ------------------------------------------------------------ */
/* A loopback listener on a fresh port; returns its port, its fd in *fd_out. */
static int listener(int *fd_out)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof a;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(fd >= 0 && bind(fd, (struct sockaddr *)&a, sizeof a) == 0 && listen(fd, 4) == 0,
          "listen: %s", strerror(errno));
    CHECK(getsockname(fd, (struct sockaddr *)&a, &len) == 0, "getsockname");
    if (fd_out)
        *fd_out = fd;
    return ntohs(a.sin_port);
}

/* A socket connected to 127.0.0.1:port. */
static int connected(int port)
{
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CHECK(fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect to %d: %s", port,
          strerror(errno));
    return fd;
}

static uint64_t connect_ms(int port)
{
    uint64_t t0 = t_now_ns();

    connected(port);
    return (t_now_ns() - t0) / 1000000;
}

/* The listeners stay open across exec (no CLOEXEC): the child connects. */
static int connect_port(const char *min_ms)
{
    char rule[192], pa[16], pb[16];
    int a = listener(NULL), b = listener(NULL);

    snprintf(rule, sizeof rule,
             "delay %sms on sock.connect where port = %d; log on sock.send where port = %d", min_ms,
             a, a);
    snprintf(pa, sizeof pa, "%d", a);
    snprintf(pb, sizeof pb, "%d", b);
    CHECK(setenv("WEDGE_RULES", rule, 1) == 0, "setenv");
    execl("/proc/self/exe", "shim_sys", "connect-port-child", min_ms, pa, pb, (char *)NULL);
    CHECK(0, "exec: %s", strerror(errno));
    return 1;
}

static int connect_port_child(long min_ms, int a, int b)
{
    char da[64], db[64];
    uint64_t ms = connect_ms(a);

    CHECK(ms >= (uint64_t)min_ms, "connect to port %d took %llu ms, expected >= %ld", a,
          (unsigned long long)ms, min_ms);
    connect_ms(b);
    snprintf(da, sizeof da, "\"127.0.0.1:%d\"", a);
    snprintf(db, sizeof db, "\"127.0.0.1:%d\"", b);
    CHECK(t_trace_count(getpid(), "\"sock.connect\"", "\"delay\"", da, NULL) == 1,
          "the trace must show one delayed connect to %d", a);
    CHECK(t_trace_count(getpid(), "\"sock.connect\"", db, NULL) == 0,
          "the connect to %d must not be injected", b);
    /* sendto on an unconnected datagram socket: its destination counts */
    int u = socket(AF_INET, SOCK_DGRAM, 0);
    for (int i = 0; i < 2; i++) {
        struct sockaddr_in to = {.sin_family = AF_INET,
                                 .sin_port = htons((uint16_t)(i ? b : a)),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        CHECK(sendto(u, "x", 1, 0, (struct sockaddr *)&to, sizeof to) == 1, "sendto: %s",
              strerror(errno));
    }
    CHECK(t_trace_count(getpid(), "\"sock.send\"", da, NULL) == 1 &&
              t_trace_count(getpid(), "\"sock.send\"", db, NULL) == 0,
          "only the sendto to %d matches port = %d", a, a);
    printf("connect-port: ok (%llu ms)\n", (unsigned long long)ms);
    return 0;
}

static int accept_after(void)
{
    int ls, cs = connected(listener(&ls));
    char buf[4];

    errno = 0;
    CHECK(accept(ls, NULL, NULL) == -1 && errno == ECONNRESET, "accept must fail ECONNRESET");
    struct pollfd p = {.fd = cs, .events = POLLIN};
    CHECK(poll(&p, 1, 5000) == 1, "the accepted connection was not closed (fd leaked)");
    ssize_t n = recv(cs, buf, sizeof buf, 0);
    CHECK(n == 0 || (n < 0 && errno == ECONNRESET), "client read %zd: expected EOF", n);
    printf("accept-after: ok\n");
    return 0;
}

static pthread_mutex_t prof_m = PTHREAD_MUTEX_INITIALIZER;

static void *prof_holder(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&prof_m);
    t_sleep_ms(200);
    pthread_mutex_unlock(&prof_m);
    return NULL;
}

static int mutex_profile(void)
{
    int status;
    pid_t pid = fork();

    CHECK(pid >= 0, "fork");
    if (pid == 0) { /* exit, not _exit: the summary is written at exit */
        pthread_t t;
        CHECK(pthread_create(&t, NULL, prof_holder, NULL) == 0, "thread");
        t_sleep_ms(50);
        pthread_mutex_lock(&prof_m); /* waits for the holder */
        pthread_mutex_unlock(&prof_m);
        pthread_join(t, NULL);
        exit(0);
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status), "child");
    CHECK(t_trace_count(pid, "\"mutex\":[{\"site\":\"", "\"contended\":1,", NULL) == 1,
          "the child's summary must list the contended lock site");
    printf("mutex-profile: ok\n");
    return 0;
}

/* ---------------------------------------------------------------
 * Barriers: caller 0 sends at once, caller 1 250 ms later.
 * ------------------------------------------------------------ */
struct meet {
    uint64_t arrive[2], leave[2];
};

static void meet_call(struct meet *m, int who)
{
    int sv[2];
    pair(sv);
    if (who == 1)
        t_sleep_ms(250); /* a margin that load on the machine will not eat */
    m->arrive[who] = t_now_ns();
    CHECK(send(sv[0], "x", 1, 0) == 1, "send");
    m->leave[who] = t_now_ns();
    close(sv[0]);
    close(sv[1]);
}

static int meet_check(const struct meet *m, int together)
{
    int met = m->leave[0] >= m->arrive[1];
    CHECK(met == together, "early caller left %s the late one arrived", met ? "after" : "before");
    printf("barrier %s: ok\n", together ? "together" : "apart");
    return 0;
}

static struct meet *meet_thread_m;
static void *meet_thread(void *arg)
{
    meet_call(meet_thread_m, (int)(intptr_t)arg);
    return NULL;
}

static int barrier_threads(int together)
{
    static struct meet m;
    pthread_t t[2];
    meet_thread_m = &m;
    for (int i = 0; i < 2; i++)
        CHECK(pthread_create(&t[i], NULL, meet_thread, (void *)(intptr_t)i) == 0, "thread");
    for (int i = 0; i < 2; i++)
        pthread_join(t[i], NULL);
    return meet_check(&m, together);
}

static int barrier_fork(int together)
{
    struct meet *m =
        mmap(NULL, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    int status;
    CHECK(m != MAP_FAILED, "mmap");
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        meet_call(m, 1);
        _exit(0);
    }
    meet_call(m, 0);
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status), "child");
    return meet_check(m, together);
}

static int barrier_timeout(long min_ms)
{
    int sv[2];
    pair(sv);
    uint64_t t0 = t_now_ns();
    CHECK(send(sv[0], "x", 1, 0) == 1, "send after a timed-out barrier must succeed");
    uint64_t ms = (t_now_ns() - t0) / 1000000;
    CHECK(ms >= (uint64_t)min_ms, "held %llu ms, expected >= %ld", (unsigned long long)ms, min_ms);
    int n = t_trace_count(getpid(), "\"action\":\"barrier\"", "\"outcome\":\"timeout\"", NULL);
    CHECK(n == 1, "trace shows %d timed-out barriers, expected 1", n);
    printf("barrier-timeout: ok\n");
    return 0;
}

/* ---------------------------------------------------------------
 * Condition variables: is the consumer robust to spurious wakeups?
 * ------------------------------------------------------------ */
static pthread_mutex_t cv_m = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int cv_ready;

static void *cv_producer(void *arg)
{
    (void)arg;
    t_sleep_ms(100);
    pthread_mutex_lock(&cv_m);
    cv_ready = 1;
    pthread_cond_signal(&cv);
    pthread_mutex_unlock(&cv_m);
    return NULL;
}

static int cond_test(int use_while, int expect_broken)
{
    pthread_t t;
    int seen;
    CHECK(pthread_create(&t, NULL, cv_producer, NULL) == 0, "thread");
    pthread_mutex_lock(&cv_m);
    if (use_while) {
        while (!cv_ready)
            pthread_cond_wait(&cv, &cv_m);
    } else {
        if (!cv_ready)
            pthread_cond_wait(&cv, &cv_m);
    }
    seen = cv_ready; /* the consumer "takes" the item: is it there? */
    pthread_mutex_unlock(&cv_m);
    pthread_join(t, NULL);
    int broken = !seen;
    CHECK(broken == expect_broken, "consumer (%s) %s", use_while ? "while" : "if",
          broken ? "woke with nothing ready" : "saw the item");
    printf("cond %s %s: ok\n", use_while ? "while" : "if", broken ? "broken" : "correct");
    return 0;
}

/* A correct consumer under a spurious wakeup on every wait.  Each
 * spurious return is followed by a real wait (pthread.c), so the loop
 * waits at most twice per real wakeup instead of spinning: it counts its
 * waits, the trace counts the spurious returns.  Before, the 250 ms it
 * waits here took tens of thousands of spurious returns at full CPU. */
static int cv_signals;

static void *cv_signaller(void *arg)
{
    for (long i = 0; i < (long)arg; i++) {
        t_sleep_ms(50);
        pthread_mutex_lock(&cv_m);
        cv_signals++;
        pthread_cond_signal(&cv);
        pthread_mutex_unlock(&cv_m);
    }
    return NULL;
}

static int cond_spin(long n)
{
    pthread_t t;
    long waits = 0;
    struct timespec c0, c1;

    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c0);
    CHECK(pthread_create(&t, NULL, cv_signaller, (void *)n) == 0, "thread");
    pthread_mutex_lock(&cv_m);
    while (cv_signals < n) {
        waits++;
        pthread_cond_wait(&cv, &cv_m);
    }
    pthread_mutex_unlock(&cv_m);
    pthread_join(t, NULL);
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &c1);
    int spurious = t_trace_count(getpid(), "\"action\":\"spurious\"", NULL);
    printf("cond-spin: %ld signals, %ld waits, %d spurious returns traced, %.1f ms CPU\n", n, waits,
           spurious,
           (double)(c1.tv_sec - c0.tv_sec) * 1e3 + (double)(c1.tv_nsec - c0.tv_nsec) / 1e6);
    CHECK(spurious >= 1, "no spurious return was injected");
    CHECK(waits <= 2 * n + 2, "%ld waits for %ld signals: the loop spun", waits, n);
    CHECK(spurious <= n + 1, "%d spurious returns for %ld signals", spurious, n);
    printf("cond-spin: ok\n");
    return 0;
}

/* ---------------------------------------------------------------
 * fork: rule `log on sock.send`; the parent sends 3 times, the child 2.
 * ------------------------------------------------------------ */
static void send_n(int n)
{
    int sv[2];
    pair(sv);
    for (int i = 0; i < n; i++)
        CHECK(send(sv[0], "x", 1, 0) == 1, "send");
    close(sv[0]);
    close(sv[1]);
}

static int fork_trace(void)
{
    int status;
    char pidstr[32], hits[64];

    send_n(3);
    pid_t pid = fork();
    CHECK(pid >= 0, "fork");
    if (pid == 0) {
        send_n(2);
        exit(0); /* runs the shim's destructor: the summary line */
    }
    CHECK(waitpid(pid, &status, 0) == pid && WIFEXITED(status) && !WEXITSTATUS(status), "child");
    snprintf(pidstr, sizeof pidstr, "\"pid\":%d,", (int)pid);
    int child = t_trace_count(pid, "\"action\":\"log\"", pidstr, NULL);
    CHECK(child == 2, "child's trace has %d events, expected 2", child);
    /* The child's counters restarted at 0: its summary shows 2 hits. */
    snprintf(hits, sizeof hits, "\"hits\":2,");
    CHECK(t_trace_count(pid, "\"summary\":true", hits, NULL) == 1,
          "child's summary must show 2 hits");
    int parent = t_trace_count(getpid(), "\"action\":\"log\"", NULL);
    CHECK(parent == 3, "parent's trace has %d events, expected 3", parent);
    CHECK(t_trace_count(getpid(), pidstr, NULL) == 0, "child's events in the parent's trace");
    printf("fork-trace: ok\n");
    return 0;
}

/* ---------------------------------------------------------------
 * Signals: rule `delay MIN_MS on sock.send`.
 * ------------------------------------------------------------ */
static int sig_fd;
static volatile sig_atomic_t sig_wrote = -2;

static void sig_handler(int signo)
{
    (void)signo;
    sig_wrote = (sig_atomic_t)write(sig_fd, "h", 1); /* sock.send, from a handler */
}

static int signal_test(long min_ms)
{
    int sv[2], hv[2];
    struct sigaction sa;
    struct itimerval it = {{0, 0}, {0, 50000}}; /* 50 ms into the delay */

    pair(sv);
    pair(hv);
    sig_fd = hv[0];
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = sig_handler; /* no SA_RESTART: the sleep sees EINTR */
    sigemptyset(&sa.sa_mask);
    CHECK(sigaction(SIGALRM, &sa, NULL) == 0, "sigaction");
    CHECK(setitimer(ITIMER_REAL, &it, NULL) == 0, "setitimer");
    uint64_t t0 = t_now_ns();
    CHECK(send(sv[0], "x", 1, 0) == 1, "send: %s", strerror(errno));
    uint64_t ms = (t_now_ns() - t0) / 1000000;
    CHECK(sig_wrote == 1, "the handler's write returned %d", (int)sig_wrote);
    CHECK(ms >= (uint64_t)min_ms, "send took %llu ms: the delay did not resume after the signal",
          (unsigned long long)ms);
    int n = t_trace_count(getpid(), "\"action\":\"delay\"", NULL);
    CHECK(n == 1, "%d delays traced: the handler's write must pass through", n);
    printf("signal: ok (%llu ms)\n", (unsigned long long)ms);
    return 0;
}

/* ---------------------------------------------------------------
 * io-loop: plain socket, pipe and mutex traffic, for trace_cost.sh and
 * zero_cost.sh.
 * ------------------------------------------------------------ */
static int io_loop(long n)
{
    static pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
    int sv[2], pp[2];
    char c = 'x';

    pair(sv);
    CHECK(pipe(pp) == 0, "pipe: %s", strerror(errno));
    for (long i = 0; i < n; i++) {
        CHECK(send(sv[0], &c, 1, 0) == 1 && recv(sv[1], &c, 1, 0) == 1, "socketpair round %ld", i);
        CHECK(write(pp[1], &c, 1) == 1 && read(pp[0], &c, 1) == 1, "pipe round %ld", i);
        CHECK(pthread_mutex_lock(&m) == 0 && pthread_mutex_unlock(&m) == 0, "mutex round %ld", i);
        CHECK(pthread_mutex_trylock(&m) == 0 && pthread_mutex_unlock(&m) == 0, "trylock %ld", i);
    }
    printf("io-loop: ok\n");
    return 0;
}

/* ---------------------------------------------------------------
 * The end of a traced process (trace_end.sh).
 * exit-race: four threads send without pause while main exits, and an
 * exit handler sends too: the summary must still be the last line.
 * ------------------------------------------------------------ */
static void *race_sender(void *arg)
{
    int sv[2];
    char c = 'r';

    (void)arg;
    pair(sv);
    for (;;) {
        if (send(sv[0], &c, 1, 0) != 1 || recv(sv[1], &c, 1, 0) != 1)
            return NULL;
    }
}

static void race_atexit(void)
{
    int sv[2];

    pair(sv);
    for (int i = 0; i < 5; i++)
        CHECK(send(sv[0], "a", 1, 0) == 1, "send in the exit handler");
}

static int exit_race(void)
{
    pthread_t t[4];

    atexit(race_atexit);
    for (int i = 0; i < 4; i++)
        CHECK(pthread_create(&t[i], NULL, race_sender, NULL) == 0, "thread");
    t_sleep_ms(50);
    printf("exit-race: exiting\n");
    exit(0); /* the threads are still sending */
}

/* term-wait [own]: send 3 times, say "ready", wait for a signal.
 * own: the program's own SIGTERM handler, which must run as before (it
 * sets a flag; main then exits normally, through exit). */
static volatile sig_atomic_t term_seen;

static void term_own(int sig)
{
    (void)sig;
    term_seen = 1;
}

static int term_wait(const char *how)
{
    int sv[2];

    if (!strcmp(how, "own"))
        signal(SIGTERM, term_own);
    pair(sv);
    for (int i = 0; i < 3; i++)
        CHECK(send(sv[0], "t", 1, 0) == 1, "send");
    printf("ready\n");
    while (!term_seen)
        pause();
    printf("term-wait: own handler\n");
    exit(0);
}

/* held-exit: a second thread's send is held in a long delay while main
 * exits: the summary counts it in flight, and exit does not wait for it. */
static void *held_sender(void *arg)
{
    int sv[2];

    (void)arg;
    pair(sv);
    CHECK(send(sv[0], "h", 1, 0) == 1, "send");
    return NULL;
}

static int held_exit(void)
{
    pthread_t t;
    int sv[2];

    pair(sv);
    CHECK(send(sv[0], "m", 1, 0) == 1, "send"); /* main is thread 1 */
    CHECK(pthread_create(&t, NULL, held_sender, NULL) == 0, "thread");
    t_sleep_ms(100);
    printf("held-exit: exiting\n");
    exit(0);
}

/* ---------------------------------------------------------------
 * secure SHIM: load the shim with dlopen (the loader ignores a preload
 * path in a setuid process) and survive its constructor (badenv.sh).
 * ------------------------------------------------------------ */
static int secure_load(const char *shim)
{
    CHECK(dlopen(shim, RTLD_NOW) != NULL, "dlopen %s: %s", shim, dlerror());
    printf("secure: ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IONBF, 0);
    CHECK(argc >= 2, "usage: shim_sys MODE ARGS");
    const char *m = argv[1], *a = argc > 2 ? argv[2] : "";
    if (!strcmp(m, "sock-fail"))
        return sock_fail(!strcmp(a, "inject"));
    if (!strcmp(m, "sock-short"))
        return sock_short(!strcmp(a, "inject"));
    if (!strcmp(m, "sock-delay"))
        return sock_delay(atol(a));
    if (!strcmp(m, "sock-nonsock"))
        return sock_nonsock();
    if (!strcmp(m, "mutex-profile"))
        return mutex_profile();
    if (!strcmp(m, "accept-after"))
        return accept_after();
    if (!strcmp(m, "connect-port"))
        return connect_port(argc > 2 ? a : "100");
    if (!strcmp(m, "connect-port-child") && argc == 5)
        return connect_port_child(atol(a), atoi(argv[3]), atoi(argv[4]));
    if (!strcmp(m, "barrier-threads"))
        return barrier_threads(!strcmp(a, "together"));
    if (!strcmp(m, "barrier-fork"))
        return barrier_fork(!strcmp(a, "together"));
    if (!strcmp(m, "meet-print")) {
        static struct meet mp;
        int who = atoi(a) == 1;
        meet_call(&mp, who);
        printf("%llu %llu\n", (unsigned long long)mp.arrive[who],
               (unsigned long long)mp.leave[who]);
        return 0;
    }
    if (!strcmp(m, "barrier-timeout"))
        return barrier_timeout(atol(a));
    if (!strcmp(m, "cond") && argc == 4)
        return cond_test(!strcmp(a, "while"), !strcmp(argv[3], "broken"));
    if (!strcmp(m, "cond-spin"))
        return cond_spin(atol(a));
    if (!strcmp(m, "fork-trace"))
        return fork_trace();
    if (!strcmp(m, "io-loop"))
        return io_loop(atol(a));
    if (!strcmp(m, "signal"))
        return signal_test(atol(a));
    if (!strcmp(m, "secure"))
        return secure_load(a);
    if (!strcmp(m, "exit-race"))
        return exit_race();
    if (!strcmp(m, "term-wait"))
        return term_wait(a);
    if (!strcmp(m, "held-exit"))
        return held_exit();
    CHECK(0, "unknown mode %s", m);
    return 1;
}
