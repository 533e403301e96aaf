/*
 * fuzz_pgwire.c - the PostgreSQL stream parser on any bytes.  The first
 * byte picks the direction and a seed for where the stream is cut; the
 * rest is the stream, fed whole and then in pieces.  Both feedings must
 * report the same messages at the same offsets, never read or write out
 * of bounds (the sanitizers watch), and account for every byte.
 */
#include "pgwire.h"

#include <stdlib.h>
#include <string.h>

#define FUZZ_MAXEV 4096

struct fev {
    int got;
    char type;
    uint64_t start, end;
    uint32_t body_len, cap_len;
};

static struct fev whole[FUZZ_MAXEV], piece[FUZZ_MAXEV];

/* Every field accessor on the message: within its capture. */
static void fuzz_fields(const struct pgw_msg *m)
{
    uint32_t pos = 0;
    const char *s;
    size_t len;
    char code[6];

    if (m->cap_len > PGW_CAP || m->cap_len > m->body_len)
        abort();
    while (pgw_cstr(m, &pos, &s, &len) >= 0)
        if (s < m->body || s + len > m->body + m->cap_len)
            abort();
    pgw_error_code(m, code);
}

static int fuzz_feed(enum pgw_dir dir, const uint8_t *p, size_t n, unsigned seed, struct fev *out)
{
    static struct pgw_stream s;
    int k = 0;

    pgw_init(&s, dir);
    for (size_t at = 0; at < n;) {
        size_t chunk = seed ? 1 + (seed = seed * 1103515245u + 12345u) % 23 : n - at;
        if (chunk > n - at)
            chunk = n - at;
        for (size_t used = 0; used < chunk;) {
            struct pgw_msg m;
            enum pgw_got got;
            size_t u = pgw_feed(&s, (const char *)p + at + used, chunk - used, &m, &got);
            if (u == 0 || u > chunk - used)
                abort();
            used += u;
            if (got == PGW_NONE || k == FUZZ_MAXEV)
                continue;
            out[k] = (struct fev){got, m.type, m.start, 0, 0, 0};
            if (got == PGW_MSG) {
                if (m.end < m.start || m.end > s.off)
                    abort();
                out[k].end = m.end;
                out[k].body_len = m.body_len;
                out[k].cap_len = m.cap_len;
                fuzz_fields(&m);
            }
            k++;
        }
        at += chunk;
    }
    if (s.off != n && s.state != PGW_DEAD)
        abort();
    return k;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    enum pgw_dir dir;
    unsigned seed;
    int a, b;

    if (size < 1)
        return 0;
    dir = data[0] & 1 ? PGW_BACK : PGW_FRONT;
    seed = data[0] | 1u;
    a = fuzz_feed(dir, data + 1, size - 1, 0, whole);
    b = fuzz_feed(dir, data + 1, size - 1, seed, piece);
    if (a != b)
        abort();
    for (int i = 0; i < a; i++)
        if (memcmp(&whole[i], &piece[i], sizeof whole[i]) != 0)
            abort();
    return 0;
}
