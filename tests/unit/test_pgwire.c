/*
 * test_pgwire.c - the PostgreSQL stream parser (shim/pgwire.c): a client's
 * opening and messages and a server's answers, fed whole, split at every
 * byte and in every chunk size, give the same messages at the same
 * offsets with the same captured fields; bad lengths and types kill the
 * stream for good; long statements are cut, not overrun; how a replaced
 * send maps back onto the program's bytes.
 */
#include "../../shim/pgwire.c"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <cmocka.h>

/* ---------------------------------------------------------------
 * Building streams.
 * ------------------------------------------------------------ */
struct bytes {
    char p[16384];
    size_t n;
};

static void put(struct bytes *b, const void *s, size_t n)
{
    assert_true(b->n + n <= sizeof b->p);
    memcpy(b->p + b->n, s, n);
    b->n += n;
}

static void put32(struct bytes *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 4);
}

/* A typed message with body body[0..n). */
static void msg(struct bytes *b, char type, const void *body, size_t n)
{
    put(b, &type, 1);
    put32(b, (uint32_t)n + 4);
    put(b, body, n);
}

static void startup(struct bytes *b)
{
    static const char params[] = "user\0wedge\0database\0shop\0";
    put32(b, 8 + sizeof params);
    put32(b, PGW_PROTO_V3);
    put(b, params, sizeof params);
}

/* A client session: startup, Query, Parse/Bind/Describe/Execute/Sync,
 * Close, Terminate. */
static void client(struct bytes *b)
{
    startup(b);
    msg(b, 'Q', "SELECT 1", 9);
    msg(b, 'P', "s1\0UPDATE t SET v = $1\0\0\0", 26);
    msg(b, 'B', "\0s1\0\0\0\0\0\0\0", 10);
    msg(b, 'D', "P", 2);
    msg(b, 'E', "\0\0\0\0\0", 5);
    msg(b, 'S', "", 0);
    msg(b, 'C', "Ss1", 4);
    msg(b, 'X', "", 0);
}

static void server(struct bytes *b)
{
    msg(b, 'R', "\0\0\0\0", 4);
    msg(b, 'S', "a\0b", 4);
    msg(b, 'Z', "I", 1);
    msg(b, '1', "", 0);
    msg(b, '2', "", 0);
    msg(b, 'E', "SERROR\0C40001\0Mboom\0", 21);
    msg(b, 'Z', "E", 1);
}

/* ---------------------------------------------------------------
 * Feeding.
 * ------------------------------------------------------------ */
#define MAXEV 64

struct ev {
    enum pgw_got got;
    char type;
    uint32_t code;
    uint64_t start, end;
    uint32_t body_len, cap_len;
    char first[32]; /* the first captured bytes */
};

/* Feed all of b in pieces of `chunk` bytes (0: at once); the events. */
static int feed(enum pgw_dir dir, const struct bytes *b, size_t chunk, struct ev *out)
{
    static struct pgw_stream s;
    int n = 0;

    pgw_init(&s, dir);
    for (size_t at = 0; at < b->n;) {
        size_t k = chunk && chunk < b->n - at ? chunk : b->n - at, used = 0;
        while (used < k) {
            struct pgw_msg m;
            enum pgw_got got;
            size_t u = pgw_feed(&s, b->p + at + used, k - used, &m, &got);
            assert_true(u > 0 && u <= k - used);
            used += u;
            if (got == PGW_NONE)
                continue;
            assert_true(n < MAXEV);
            out[n] = (struct ev){.got = got, .type = m.type, .code = m.code, .start = m.start};
            if (got == PGW_MSG) {
                out[n].end = m.end;
                out[n].body_len = m.body_len;
                out[n].cap_len = m.cap_len;
                memcpy(out[n].first, m.body, m.cap_len < 32 ? m.cap_len : 32);
            }
            n++;
        }
        at += k;
    }
    assert_int_equal(s.off, b->n);
    return n;
}

static void test_client_stream(void **state)
{
    struct bytes b = {.n = 0};
    struct ev whole[MAXEV], piece[MAXEV];
    int n;

    client(&b);
    n = feed(PGW_FRONT, &b, 0, whole);
    /* the startup (untyped: no START), then START and MSG per message */
    assert_int_equal(n, 1 + 2 * 8);
    assert_int_equal(whole[0].got, PGW_MSG);
    assert_int_equal(whole[0].type, 0);
    assert_int_equal(whole[0].code, PGW_PROTO_V3);
    assert_memory_equal(whole[0].first, "user\0wedge", 10);
    assert_int_equal(whole[1].got, PGW_START);
    assert_int_equal(whole[2].got, PGW_MSG);
    assert_int_equal(whole[2].type, 'Q');
    assert_string_equal(whole[2].first, "SELECT 1");
    assert_int_equal(whole[2].start, whole[0].end);
    assert_int_equal(whole[4].type, 'P');
    assert_string_equal(whole[4].first, "s1");
    assert_string_equal(whole[4].first + 3, "UPDATE t SET v = $1");
    assert_int_equal(whole[8].type, 'D');
    assert_int_equal(whole[8].cap_len, 0); /* Describe: nothing captured */
    assert_int_equal(whole[16].type, 'X');
    assert_int_equal(whole[16].end, b.n);
    /* split anywhere: the same messages at the same offsets */
    for (size_t chunk = 1; chunk <= b.n; chunk++) {
        assert_int_equal(feed(PGW_FRONT, &b, chunk, piece), n);
        for (int i = 0; i < n; i++) {
            assert_int_equal(piece[i].got, whole[i].got);
            assert_int_equal(piece[i].type, whole[i].type);
            assert_int_equal(piece[i].start, whole[i].start);
            assert_int_equal(piece[i].end, whole[i].end);
            assert_memory_equal(piece[i].first, whole[i].first, sizeof whole[i].first);
        }
    }
}

static void test_server_stream(void **state)
{
    struct bytes b = {.n = 0};
    struct ev whole[MAXEV], piece[MAXEV];
    struct pgw_msg m = {.type = 'E', .body = "SERROR\0C40001\0Mboom\0", .cap_len = 21};
    char code[6];
    int n;

    server(&b);
    n = feed(PGW_BACK, &b, 0, whole);
    assert_int_equal(n, 14);
    assert_int_equal(whole[11].type, 'E');
    assert_int_equal(whole[11].cap_len, 21);
    for (size_t chunk = 1; chunk < b.n; chunk++) {
        assert_int_equal(feed(PGW_BACK, &b, chunk, piece), n);
        for (int i = 0; i < n; i++)
            assert_int_equal(piece[i].end, whole[i].end);
    }
    assert_int_equal(pgw_error_code(&m, code), 0);
    assert_string_equal(code, "40001");
    m.cap_len = 9; /* cut inside the code */
    assert_int_equal(pgw_error_code(&m, code), -1);
}

static void test_ssl_answer(void **state)
{
    static struct pgw_stream s;
    unsigned char req[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    struct pgw_msg m;
    enum pgw_got got;

    pgw_init(&s, PGW_FRONT);
    assert_int_equal(pgw_feed(&s, (char *)req, 8, &m, &got), 8);
    assert_int_equal(got, PGW_MSG);
    assert_int_equal(m.code, PGW_SSL_REQ);
    assert_int_equal(s.state, PGW_UNTYPED); /* the StartupMessage follows 'N' */
    pgw_init(&s, PGW_BACK);
    s.state = PGW_ANSWER;
    assert_int_equal(pgw_feed(&s, "NZ", 2, &m, &got), 1);
    assert_int_equal(got, PGW_BYTE);
    assert_int_equal(m.type, 'N');
    assert_int_equal(s.state, PGW_TYPED);
}

/* Garbage is never a statement: the stream dies once and stays quiet. */
static void test_bad_input(void **state)
{
    static struct pgw_stream s;
    static const struct {
        enum pgw_dir dir;
        const char *bytes;
        size_t n;
    } bad[] = {
        {PGW_FRONT, "\0\0\0\4\0\3\0\0", 8},           /* startup shorter than its header */
        {PGW_FRONT, "\0\0\x30\0\0\3\0\0", 8},         /* startup over 10000 bytes */
        {PGW_FRONT, "\0\0\0\x08\x12\x34\x56\x78", 8}, /* unknown opening code */
        {PGW_BACK, "Q\0\0\0\4", 5},                   /* Query is a client message */
        {PGW_BACK, "Z\0\0\0\3", 5},                   /* length below 4 */
        {PGW_BACK, "D\x7f\0\0\0", 5},                 /* length over 1 GB */
        {PGW_BACK, "GET / HTTP/1.1\r\n", 16},         /* not PostgreSQL at all */
    };
    struct pgw_msg m;
    enum pgw_got got;

    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t used = 0, k;
        int errors = 0;
        pgw_init(&s, bad[i].dir);
        while (used < bad[i].n) {
            k = pgw_feed(&s, bad[i].bytes + used, bad[i].n - used, &m, &got);
            errors += got == PGW_ERROR;
            assert_true(got == PGW_NONE || got == PGW_START || got == PGW_ERROR);
            used += k;
        }
        assert_int_equal(errors, 1);
        assert_int_equal(s.state, PGW_DEAD);
        assert_int_equal(pgw_feed(&s, "Q\0\0\0\5x", 6, &m, &got), 6);
        assert_int_equal(got, PGW_NONE);
    }
}

static void test_long_statement(void **state)
{
    static struct pgw_stream s;
    static struct bytes b;
    char sql[5000];
    struct pgw_msg m;
    enum pgw_got got;
    const char *str;
    size_t len, used = 0;
    uint32_t pos = 0;

    memset(sql, 'x', sizeof sql - 1);
    sql[sizeof sql - 1] = '\0';
    b.n = 0;
    msg(&b, 'Q', sql, sizeof sql);
    pgw_init(&s, PGW_FRONT);
    s.state = PGW_TYPED;
    do {
        used += pgw_feed(&s, b.p + used, b.n - used, &m, &got);
    } while (got != PGW_MSG);
    assert_int_equal(m.body_len, sizeof sql);
    assert_int_equal(m.cap_len, PGW_CAP);
    assert_int_equal(pgw_cstr(&m, &pos, &str, &len), 0); /* cut */
    assert_int_equal(len, PGW_CAP);
    assert_int_equal(pgw_cstr(&m, &pos, &str, &len), -1);
}

/* A send of 100 program bytes with its bytes [40, 49) (an Execute)
 * replaced by 30 bytes: every count the kernel may take. */
static void test_map_sent(void **state)
{
    size_t owed, done;
    int started;

    for (size_t r = 0; r <= 121; r++) {
        done = pgw_map_sent(0, 40, 49, 30, r, &owed, &started);
        if (r <= 40) {
            assert_int_equal(done, r);
            assert_false(started);
        } else if (r < 70) {
            assert_int_equal(done, 49); /* the Execute counts as sent; the rest is owed */
            assert_true(started);
            assert_int_equal(owed, r - 40);
        } else {
            assert_int_equal(done, 49 + r - 70);
            assert_int_equal(owed, 30);
        }
    }
    /* 3 bytes of a replaced message still to swallow, no replacement */
    assert_int_equal(pgw_map_sent(3, 10, 10, 0, 7, &owed, &started), 10);
    assert_int_equal(pgw_map_sent(3, 10, 10, 0, 0, &owed, &started), 3);
    assert_false(started);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client_stream),  cmocka_unit_test(test_server_stream),
        cmocka_unit_test(test_ssl_answer),     cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_long_statement), cmocka_unit_test(test_map_sent),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
