/*
 * trace.c - the JSON-lines trace: WEDGE_TRACE/trace.PID.jsonl.
 *
 * One line per injection, formatted into a stack buffer and written with
 * a single write(2) through syscall() (never a hooked function) on an
 * O_APPEND descriptor, so lines of concurrent threads never interleave
 * and a killed process loses nothing already decided.  At exit, one
 * summary line: calls per hook, hits and fires per rule, and the mutex
 * contention profile (lock-free table keyed by call site, named from the
 * shim's symbol tables (sym.c) at summary time).
 */
#include "wedge_shim.h"
#include "safefile.h"
#include "sym.h"

#include <fcntl.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define TRACE_LINE_MAX           4096
#define TRACE_DETAIL_MAX         512 /* escaped at most 6x: with the fixed fields, fits a line */
#define TRACE_STACK_MAX          16
#define TRACE_MUTEX_SLOTS        1024 /* power of two */
#define TRACE_MUTEX_TOP          20
#define TRACE_SUMMARY_MUTEX_ROOM (TRACE_MUTEX_TOP * 400 + 64) /* bytes kept for the profile */

static _Atomic int trace_fd = -1;
static int trace_pid;
/* The size cap (WEDGE_TRACE_MAX): bytes the file holds or are promised to
 * event lines; lines past the cap, counted; the cap record written. */
static uint64_t trace_max = WG_TRACE_MAX_DEFAULT;
static _Atomic uint64_t trace_bytes, trace_dropped;
static _Atomic int trace_capped;
/* Set by the summary: nothing is written after it. */
static _Atomic int trace_closed;

/* ---------------------------------------------------------------
 * A bounded string builder; once full it stays full and the line is
 * dropped rather than written as broken JSON.
 * ------------------------------------------------------------ */
struct trace_buf {
    char *p;
    size_t len, cap;
    int full;
};

static void tb_printf(struct trace_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void tb_printf(struct trace_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    if (b->full)
        return;
    va_start(ap, fmt);
    n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= b->cap - b->len) {
        b->full = 1;
        return;
    }
    b->len += (size_t)n;
}

static void tb_putc(struct trace_buf *b, char c)
{
    if (b->full || b->len + 1 >= b->cap) {
        b->full = 1;
        return;
    }
    b->p[b->len++] = c;
    b->p[b->len] = '\0';
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t trace_utf8_len(const unsigned char *s, size_t n)
{
    size_t len;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if ((s[0] & 0xe0) == 0xc0)
        len = 2, cp = s[0] & 0x1f;
    else if ((s[0] & 0xf0) == 0xe0)
        len = 3, cp = s[0] & 0x0f;
    else if ((s[0] & 0xf8) == 0xf0)
        len = 4, cp = s[0] & 0x07;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* A JSON string of at most `max` input bytes (cut at a character
 * boundary); invalid UTF-8 becomes U+FFFD so every line parses. */
static void tb_json_str(struct trace_buf *b, const char *s, size_t max)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;

    if (n > max)
        n = max;
    tb_putc(b, '"');
    while (i < n && !b->full) {
        unsigned char c = u[i];
        size_t l;
        if (c == '"' || c == '\\') {
            tb_putc(b, '\\');
            tb_putc(b, (char)c);
            i++;
        } else if (c < 0x20 || c == 0x7f) {
            tb_printf(b, "\\u%04x", c);
            i++;
        } else if ((l = trace_utf8_len(u + i, n - i)) == 0) {
            tb_printf(b, "\\ufffd");
            i++;
        } else {
            for (size_t k = 0; k < l; k++)
                tb_putc(b, (char)u[i + k]);
            i += l;
        }
    }
    tb_putc(b, '"');
}

static uint64_t trace_realtime_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void trace_write(const struct trace_buf *b)
{
    int fd = atomic_load_explicit(&trace_fd, memory_order_acquire);

    if (fd < 0 || b->full)
        return;
    syscall(SYS_write, fd, b->p, b->len);
}

/* The one record that says the cap was reached. */
static void trace_cap_record(void)
{
    char line[256];
    struct trace_buf b = {line, 0, sizeof line, 0};

    tb_printf(&b,
              "{\"ts_ns\":%llu,\"pid\":%d,\"truncated\":true,\"trace_max\":%llu,\"note\":"
              "\"WEDGE_TRACE_MAX reached: later events are counted in the summary's dropped, "
              "not written\"}\n",
              (unsigned long long)trace_realtime_ns(), (int)getpid(),
              (unsigned long long)trace_max);
    trace_write(&b);
}

/* An event line, within the cap: bytes are promised before the write, so
 * concurrent lines never pass it together. */
static void trace_write_event(const struct trace_buf *b)
{
    uint64_t at;

    if (b->full || atomic_load_explicit(&trace_closed, memory_order_relaxed))
        return;
    at = atomic_fetch_add_explicit(&trace_bytes, b->len, memory_order_relaxed);
    if (at + b->len > trace_max) {
        atomic_fetch_add_explicit(&trace_dropped, 1, memory_order_relaxed);
        if (!atomic_exchange(&trace_capped, 1))
            trace_cap_record();
        return;
    }
    trace_write(b);
}

void trace_set_max(uint64_t bytes)
{
    trace_max = bytes;
}

/* ---------------------------------------------------------------
 * Mutex contention profile.
 * ------------------------------------------------------------ */
struct trace_mutex_slot {
    _Atomic uintptr_t site;
    _Atomic uint64_t contended, waited_ns;
};

static struct trace_mutex_slot trace_mutex[TRACE_MUTEX_SLOTS];

void trace_mutex_wait(void *site, uint64_t waited_ns, int contended)
{
    uintptr_t key = (uintptr_t)site, i;

    if (!key)
        return;
    i = (uintptr_t)(((uint64_t)key * 0x9e3779b97f4a7c15ull) >> 54);
    for (int k = 0; k < TRACE_MUTEX_SLOTS; k++) {
        struct trace_mutex_slot *s = &trace_mutex[(i + (uintptr_t)k) & (TRACE_MUTEX_SLOTS - 1)];
        uintptr_t cur = atomic_load_explicit(&s->site, memory_order_relaxed);
        if (cur == 0) {
            uintptr_t zero = 0;
            if (atomic_compare_exchange_strong(&s->site, &zero, key))
                cur = key;
            else
                cur = zero;
        }
        if (cur == key) {
            if (contended)
                atomic_fetch_add_explicit(&s->contended, 1, memory_order_relaxed);
            atomic_fetch_add_explicit(&s->waited_ns, waited_ns, memory_order_relaxed);
            return;
        }
    }
    /* table full: the site goes unprofiled */
}

/* ---------------------------------------------------------------
 * The trace file.
 * ------------------------------------------------------------ */
int trace_open(const char *dir, char *why, size_t whylen)
{
    char name[64];
    struct stat st;
    int fd = -1, dfd = -1, old, created, saved = errno, rc = -1, pid = (int)getpid();

    if (trace_pid && trace_pid != pid) /* forked child: a profile of its own */
        memset(trace_mutex, 0, sizeof trace_mutex);
    trace_pid = pid;
    atomic_store(&trace_bytes, 0);
    atomic_store(&trace_dropped, 0);
    atomic_store(&trace_capped, 0);
    atomic_store(&trace_closed, 0);
    if (dir) {
        /* trace.PID.jsonl exists already when this process image follows
         * an exec of the same pid: it is appended to, if it is ours */
        snprintf(name, sizeof name, "trace.%d.jsonl", pid);
        dfd = safefile_dir(dir, why, whylen);
        if (dfd < 0 ||
            (fd = safefile_open(dfd, name, O_WRONLY | O_APPEND, &created, why, whylen)) < 0) {
            saved = errno;
            goto out;
        }
        if (!created && fstat(fd, &st) == 0) /* an exec'd image's lines count */
            atomic_store(&trace_bytes, (uint64_t)st.st_size);
    }
    rc = 0;
out:
    if (dfd >= 0)
        syscall(SYS_close, dfd);
    old = atomic_exchange(&trace_fd, rc == 0 ? fd : -1);
    if (old >= 0)
        syscall(SYS_close, old);
    errno = saved;
    return rc;
}

void trace_warning(const char *msg)
{
    char line[TRACE_LINE_MAX];
    struct trace_buf b = {line, 0, sizeof line, 0};
    int saved = errno;

    if (!trace_enabled())
        goto out;
    tb_printf(&b,
              "{\"ts_ns\":%llu,\"pid\":%d,\"warning\":", (unsigned long long)trace_realtime_ns(),
              (int)getpid());
    tb_json_str(&b, msg, TRACE_DETAIL_MAX);
    tb_printf(&b, "}\n");
    trace_write_event(&b);
out:
    errno = saved;
}

int trace_enabled(void)
{
    return atomic_load_explicit(&trace_fd, memory_order_relaxed) >= 0;
}

void trace_event(const struct wg_event *ev)
{
    char line[TRACE_LINE_MAX];
    struct trace_buf b = {line, 0, sizeof line, 0};
    const char *hook = wg_hook_name(ev->hook);
    int saved = errno;

    if (!trace_enabled())
        goto out;
    tb_printf(&b, "{\"ts_ns\":%llu,\"pid\":%d,\"tid\":%ld,\"hook\":",
              (unsigned long long)trace_realtime_ns(), (int)getpid(), (long)syscall(SYS_gettid));
    tb_json_str(&b, hook ? hook : "?", 64);
    tb_printf(&b, ",\"rule\":");
    if (ev->rule)
        tb_json_str(&b, ev->rule->name, WG_NAME_MAX);
    else
        tb_printf(&b, "null");
    tb_printf(&b, ",\"action\":");
    tb_json_str(&b, ev->action ? ev->action : "", 64);
    tb_printf(&b, ",\"outcome\":");
    tb_json_str(&b, ev->outcome ? ev->outcome : "", 64);
    tb_printf(&b, ",\"waited_ns\":%llu,\"hit\":%llu,\"detail\":", (unsigned long long)ev->waited_ns,
              (unsigned long long)ev->hit);
    if (ev->detail)
        tb_json_str(&b, ev->detail, TRACE_DETAIL_MAX);
    else
        tb_printf(&b, "null");
    /* Who the call worked on: a lock, a session, a connection (wedge hunt
     * attributes events with it). */
    if (ev->obj)
        tb_printf(&b, ",\"obj\":\"%p\"", ev->obj);
    if (wg_hook_family(ev->hook) == WG_FAM_SOCK && ev->fd >= 0)
        tb_printf(&b, ",\"fd\":%d", ev->fd);
    if (ev->with_stack && !b.full) {
        const char *names[TRACE_STACK_MAX];
        char unnamed[1024];
        int n = caller_stack(names, TRACE_STACK_MAX, unnamed, sizeof unnamed);
        tb_printf(&b, ",\"stack\":[");
        /* frames are added while they fit, leaving room for the closing
         * "]}\n": a deep stack shortens the line, never drops it */
        b.cap -= 4;
        for (int i = 0; i < n && !b.full; i++) {
            size_t mark = b.len;
            if (i)
                tb_putc(&b, ',');
            tb_json_str(&b, names[i], 128);
            if (b.full)
                b.len = mark;
        }
        b.cap += 4;
        b.full = 0;
        b.p[b.len] = '\0';
        tb_putc(&b, ']');
    }
    tb_printf(&b, "}\n");
    trace_write_event(&b);
out:
    errno = saved;
}

void trace_summary(const struct wg_ruleset *rs, struct wg_rule_state *st, const uint64_t *calls,
                   const char *end, long in_flight)
{
    static char line[256 * 1024]; /* once, at exit */
    struct trace_buf b = {line, 0, sizeof line, 0};
    int first = 1, saved = errno, truncated = 0;
    unsigned char taken[TRACE_MUTEX_SLOTS] = {0};

    if (!trace_enabled())
        goto out;
    atomic_store(&trace_closed, 1);
    tb_printf(&b, "{\"summary\":true,\"pid\":%d,\"proc\":", (int)getpid());
    tb_json_str(&b, wg_proc_name, sizeof wg_proc_name);
    /* 64 bits: a string, exact for every JSON reader (summary.json does the same) */
    tb_printf(&b, ",\"seed\":\"%llu\",\"end\":", (unsigned long long)wg_seed);
    tb_json_str(&b, end ? end : "exit", 32);
    tb_printf(&b, ",\"in_flight\":%ld,\"dropped\":%llu,\"calls\":{", in_flight,
              (unsigned long long)atomic_load(&trace_dropped));
    for (int h = 0; calls && h < WG_HOOK_COUNT; h++) {
        if (!calls[h])
            continue;
        tb_printf(&b, "%s\"%s\":%llu", first ? "" : ",", wg_hook_name(h),
                  (unsigned long long)calls[h]);
        first = 0;
    }
    tb_printf(&b, "},\"rules\":[");
    for (int i = 0; rs && i < rs->n; i++) {
        const struct wg_rule *r = &rs->rules[i];
        /* keep room for the mutex profile: thousands of rules shorten the
         * list (and say so), they never cost the whole line */
        if (b.len + 1024 + TRACE_SUMMARY_MUTEX_ROOM > b.cap) {
            truncated = 1;
            break;
        }
        tb_printf(&b, "%s{\"rule\":", i ? "," : "");
        tb_json_str(&b, r->name, WG_NAME_MAX);
        tb_printf(&b, ",\"hits\":%llu,\"fires\":%llu}",
                  (unsigned long long)atomic_load(&st[i].hits),
                  (unsigned long long)atomic_load(&st[i].fires));
    }
    tb_printf(&b, "]%s,\"mutex\":[", truncated ? ",\"rules_truncated\":true" : "");
    /* top sites by time waited: repeated selection, no allocation */
    int top[TRACE_MUTEX_TOP], ntop = 0;
    uintptr_t sites[TRACE_MUTEX_TOP];
    for (int k = 0; k < TRACE_MUTEX_TOP; k++) {
        int best = -1;
        for (int i = 0; i < TRACE_MUTEX_SLOTS; i++) {
            if (taken[i] || !atomic_load(&trace_mutex[i].site))
                continue;
            if (best < 0 ||
                atomic_load(&trace_mutex[i].waited_ns) > atomic_load(&trace_mutex[best].waited_ns))
                best = i;
        }
        if (best < 0)
            break;
        taken[best] = 1;
        sites[ntop] = atomic_load(&trace_mutex[best].site);
        top[ntop++] = best;
    }
    /* names from the symbol tables (sym.c), read now for just these
     * sites' objects unless the rules had them built at start; not from a
     * signal handler (SIGTERM, finish.c), where reading files and
     * allocating is not safe: there the objects listed at start give
     * "libfoo.so.1+0x1234" */
    if (end && !strcmp(end, "exit"))
        sym_build_for(sites, ntop);
    for (int k = 0; k < ntop; k++) {
        int best = top[k];
        char site[256];
        sym_describe(sites[k], site, sizeof site);
        tb_printf(&b, "%s{\"site\":", k ? "," : "");
        tb_json_str(&b, site, sizeof site);
        tb_printf(&b, ",\"contended\":%llu,\"waited_ns\":%llu}",
                  (unsigned long long)atomic_load(&trace_mutex[best].contended),
                  (unsigned long long)atomic_load(&trace_mutex[best].waited_ns));
    }
    tb_printf(&b, "]}\n");
    trace_write(&b);
out:
    errno = saved;
}
