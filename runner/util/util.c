/*
 * util.c - clocks, ports, files, the shim's location, children, signals.
 */
#include "util.h"
#include "timeunit.h"
#include "wedge_exit.h"

#include "duration.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef WEDGE_BUILD_BIN
#define WEDGE_BUILD_BIN ""
#endif
#ifndef WEDGE_BUILD_LIB
#define WEDGE_BUILD_LIB ""
#endif
#ifndef WEDGE_INSTALL_LIBDIR
#define WEDGE_INSTALL_LIBDIR "/usr/local/lib"
#endif
/* The install layout relative to the bindir (../lib/x86_64-linux-gnu,
 * ../libexec/wedge), so an installed tree works wherever it is unpacked
 * (dpkg -x into a scratch root) and never reaches into a build tree. */
#ifndef WEDGE_REL_LIBDIR
#define WEDGE_REL_LIBDIR "../lib"
#endif
#ifndef WEDGE_REL_LIBEXECDIR
#define WEDGE_REL_LIBEXECDIR "../libexec/wedge"
#endif
#ifndef WEDGE_SANITIZER_RUNTIME
#define WEDGE_SANITIZER_RUNTIME ""
#endif

volatile sig_atomic_t util_stop;

uint64_t util_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

double util_wall_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / (double)NS_PER_S;
}

void util_sleep_ns(uint64_t ns)
{
    struct timespec ts = {.tv_sec = (time_t)(ns / NS_PER_S), .tv_nsec = (long)(ns % NS_PER_S)};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR && !util_stop)
        ;
}

int util_free_port(char *err, size_t errlen)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    int port = -1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &alen) < 0) {
        snprintf(err, errlen, "no free port on 127.0.0.1: %s", strerror(errno));
        goto out;
    }
    port = ntohs(a.sin_port);
out:
    if (fd >= 0)
        close(fd);
    return port;
}

int util_mkdir_p(const char *path, mode_t mode)
{
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) < 0 && errno != EEXIST)
            return -1;
        *p = '/';
    }
    if (mkdir(buf, mode) < 0 && errno != EEXIST)
        return -1;
    return 0;
}

int util_rm_rf(const char *path)
{
    struct stat st;
    int rc = 0;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        if (!d)
            return -1;
        while ((e = readdir(d))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
                continue;
            char *sub = util_fmt("%s/%s", path, e->d_name);
            if (util_rm_rf(sub) < 0)
                rc = -1;
            free(sub);
        }
        closedir(d);
        if (rmdir(path) < 0)
            rc = -1;
    } else if (unlink(path) < 0) {
        rc = -1;
    }
    return rc;
}

char *util_read_file(const char *path, size_t *len)
{
    char *buf = NULL;
    size_t n = 0, cap = 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return NULL;
    for (;;) {
        if (cap - n < 4096) {
            cap = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
                goto out;
            }
            buf = nb;
        }
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0)
            break;
    }
    buf[n] = '\0';
    if (len)
        *len = n;
out:
    fclose(f);
    return buf;
}

int util_write_private(const char *path, const char *text, char *err, size_t errlen)
{
    char *tmp = util_fmt("%s.XXXXXX", path);
    size_t len = strlen(text), off = 0;
    int fd = mkostemp(tmp, O_CLOEXEC), created = fd >= 0, rc = -1;
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create a file there: %s", path, strerror(errno));
        goto out;
    }
    while (off < len) {
        ssize_t n = write(fd, text + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(err, errlen, "%s: %s", tmp, strerror(n < 0 ? errno : EIO));
            goto out;
        }
        off += (size_t)n;
    }
    if (close(fd) < 0) {
        fd = -1;
        snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
        goto out;
    }
    fd = -1;
    if (rename(tmp, path) < 0) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        goto out;
    }
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    if (rc < 0 && created)
        unlink(tmp);
    free(tmp);
    return rc;
}

char *util_file_tail(const char *path, size_t maxbytes)
{
    char *buf = NULL;
    FILE *f = fopen(path, "re");
    long size, start;
    size_t got;
    if (!f)
        return util_fmt("%s", "");
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    start = size > (long)maxbytes ? size - (long)maxbytes : 0;
    fseek(f, start, SEEK_SET);
    buf = malloc(maxbytes + 1);
    if (!buf)
        abort();
    got = fread(buf, 1, maxbytes, f);
    buf[got] = '\0';
    fclose(f);
    if (start > 0) {
        char *nl = strchr(buf, '\n');
        if (nl)
            memmove(buf, nl + 1, strlen(nl + 1) + 1);
    }
    return buf;
}

int util_file_contains(const char *path, const char *needle)
{
    char *text = util_read_file(path, NULL);
    int found = text && strstr(text, needle) != NULL;
    free(text);
    return found;
}

char *util_fmt(const char *fmt, ...)
{
    char *s = NULL;
    va_list ap;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        abort();
    va_end(ap);
    return s;
}

char *util_shell_word(const char *w)
{
    static const char plain[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789/._-+=:,@";
    size_t n = 0;
    char *q;
    if (*w && strspn(w, plain) == strlen(w))
        return util_fmt("%s", w);
    q = malloc(strlen(w) * 4 + 3);
    if (!q)
        abort();
    q[n++] = '\'';
    for (; *w; w++) {
        if (*w == '\'') {
            memcpy(q + n, "'\\''", 4);
            n += 4;
        } else {
            q[n++] = *w;
        }
    }
    q[n++] = '\'';
    q[n] = '\0';
    return q;
}

/* ---------------------------------------------------------------
 * Where things are: the wedge binary, ${build}, the shim.
 * ------------------------------------------------------------ */
const char *util_self_dir(void)
{
    static char dir[PATH_MAX];
    if (!dir[0]) {
        char exe[PATH_MAX];
        ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
        if (n <= 0)
            return ".";
        exe[n] = '\0';
        snprintf(dir, sizeof(dir), "%s", dirname(exe));
    }
    return dir;
}

const char *util_build_dir(void)
{
    static char dir[PATH_MAX];
    char rel[PATH_MAX];
    const char *env = getenv("WEDGE_BUILD");
    struct stat st;
    if (env && *env)
        return env;
    /* Installed, the services (shopd, pspd, counterd) are private
     * programs in LIBEXECDIR/wedge; a build tree has no such directory
     * beside bin/, so there ${build} stays build/bin. */
    if (!dir[0]) {
        snprintf(rel, sizeof(rel), "%s/%s", util_self_dir(), WEDGE_REL_LIBEXECDIR);
        if (stat(rel, &st) < 0 || !S_ISDIR(st.st_mode) || !realpath(rel, dir))
            snprintf(dir, sizeof(dir), "%s", util_self_dir());
    }
    return dir;
}

int util_find_shim(char *out, size_t len, char *err, size_t errlen)
{
    const char *env = getenv("WEDGE_SHIM");
    char cand[4][PATH_MAX];
    if (env && *env) {
        if (access(env, R_OK) == 0) {
            snprintf(out, len, "%s", env);
            return 0;
        }
        snprintf(err, errlen, "WEDGE_SHIM=%s: %s", env, strerror(errno));
        return -1;
    }
    snprintf(cand[0], sizeof(cand[0]), "%s/../lib/libwedge.so", util_self_dir());
    snprintf(cand[1], sizeof(cand[1]), "%s/%s/libwedge.so", util_self_dir(), WEDGE_REL_LIBDIR);
    snprintf(cand[2], sizeof(cand[2]), "%s/libwedge.so", WEDGE_BUILD_LIB);
    snprintf(cand[3], sizeof(cand[3]), "%s/libwedge.so", WEDGE_INSTALL_LIBDIR);
    for (int i = 0; i < 4; i++) {
        char real[PATH_MAX];
        if (cand[i][0] != '/' || access(cand[i], R_OK) < 0 || !realpath(cand[i], real))
            continue;
        snprintf(out, len, "%s", real);
        return 0;
    }
    snprintf(err, errlen, "libwedge.so not found (looked in %s, %s, %s, %s; set WEDGE_SHIM)",
             cand[0], cand[1], cand[2], cand[3]);
    return -1;
}

int util_preload_value(const char *shim, char *out, size_t len)
{
    const char *old = getenv("LD_PRELOAD");
    const char *rt = WEDGE_SANITIZER_RUNTIME;
    int n = snprintf(out, len, "%s%s%s%s%s", rt, *rt ? ":" : "", shim, old && *old ? ":" : "",
                     old && *old ? old : "");
    return n < 0 || (size_t)n >= len ? -1 : 0;
}

/* ---------------------------------------------------------------
 * Children.
 * ------------------------------------------------------------ */
int util_exit_code(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return 255;
}

int util_wait_pid(pid_t pid, uint64_t timeout_ns, int *status)
{
    uint64_t deadline = util_now_ns() + timeout_ns;
    for (;;) {
        pid_t r = waitpid(pid, status, WNOHANG);
        if (r == pid)
            return 1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (util_now_ns() >= deadline)
            return 0;
        struct timespec ts = {0, (long)(10 * NS_PER_MS)};
        nanosleep(&ts, NULL);
    }
}

uint64_t util_mix(uint64_t a, uint64_t b)
{
    uint64_t z = a + 0x9e3779b97f4a7c15ull * (b + 1);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

int util_bad_option(const char *cmd, char *const *argv, const char *optstring,
                    const struct option *longopts)
{
    const char *arg = optind > 0 ? argv[optind - 1] : "", *what = "unknown option";
    int is_long = !strncmp(arg, "--", 2), known = 0;
    char name[256];

    /* getopt_long sets optopt to the option's value when a known option
     * lacks its argument (or a flag was given =VALUE), to the character of
     * an unknown short option, and to 0 for an unknown or ambiguous long one. */
    if (optopt && is_long) {
        for (const struct option *o = longopts; !known && o && o->name; o++)
            known = !o->flag && o->val == optopt;
    } else if (optopt) {
        known = optopt != ':' && optopt != '+' && strchr(optstring, optopt) != NULL;
    }
    if (is_long)
        snprintf(name, sizeof(name), "%.*s", (int)strcspn(arg, "="), arg);
    else
        snprintf(name, sizeof(name), "-%c", optopt ? optopt : '?');
    if (known)
        what = is_long && strchr(arg, '=') ? "no value expected for option"
                                           : "missing value for option";
    fprintf(stderr, "wedge: %s: %s '%s' (see wedge %s --help)\n", cmd, what, name, cmd);
    return WEDGE_USAGE;
}

int util_duration_arg(const char *cmd, const char *opt, const char *text, uint64_t *ns)
{
    enum duration_rc rc = duration_parse_str(text, ns);

    if (rc == DURATION_OK)
        return 0;
    if (rc == DURATION_RANGE)
        fprintf(stderr, "wedge: %s: %s '%s': out of range (at most %s)\n", cmd, opt, text,
                DURATION_MAX_TEXT);
    else
        fprintf(stderr, "wedge: %s: %s '%s': expected a duration such as 5s (units %s)\n", cmd, opt,
                text, DURATION_UNITS);
    return -1;
}

uint64_t util_random_seed(void)
{
    uint64_t s = 0;
    if (getrandom(&s, sizeof(s), 0) != sizeof(s))
        s = util_mix(util_now_ns(), (uint64_t)getpid());
    /* Keep seeds short enough to type: 1 .. 2^31. */
    return (s & 0x7fffffffull) + 1;
}

int util_random_hex(char *out, size_t nbytes)
{
    unsigned char b[64];
    size_t got = 0;
    if (nbytes > sizeof(b)) {
        errno = EINVAL;
        return -1;
    }
    while (got < nbytes) {
        ssize_t n = getrandom(b + got, nbytes - got, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    for (size_t i = 0; i < nbytes; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
    return 0;
}

static void on_signal(int sig)
{
    util_stop = sig;
}

void util_install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    /* No SA_RESTART: blocking calls return EINTR so loops see the flag. */
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}
