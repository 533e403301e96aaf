/*
 * shim_pgraw.c - the PostgreSQL wire decoder (shim/pgsess.c) against a real
 * server, driven by a client that speaks the protocol itself over a raw
 * socket, as JDBC and node-postgres do: no libpq in this program.  The
 * client controls how its bytes are cut, so the decoder meets every way a
 * driver can split or coalesce messages.
 *
 *   shim_pgraw flow WCHUNK RCHUNK
 *       rules: q: log on pq.query; qa: log after pq.query
 *       a session (startup, a simple Query, an unnamed and a named
 *       extended statement, Terminate) written WCHUNK bytes per send
 *       (0: each batch in one send) and read RCHUNK bytes per recv: the
 *       trace holds each statement once before and once after, in order
 *   shim_pgraw inject WCHUNK RCHUNK
 *       rule: fail sqlstate 40001 on pq.query where sql ~ "^UPDATE"
 *       an extended UPDATE answers exactly ParseComplete, BindComplete,
 *       NoData, ErrorResponse 40001, ReadyForQuery (the shim's own
 *       messages' answers taken out); a simple Query UPDATE answers the
 *       error and ReadyForQuery; a pipeline UPDATE + SELECT in one send is
 *       aborted at the UPDATE; the row never changes and the session works
 *       on; with WCHUNK 1 no message is whole in one send: the rule is
 *       traced "skipped" and the UPDATEs apply
 *   shim_pgraw tls
 *       a server thread answers 'S' to an SSLRequest: the trace says the
 *       session's statements are hidden (outcome "hidden")
 *   shim_pgraw tls-direct
 *       re-executes itself with WEDGE_DB_PORT set to a server thread's
 *       port; a TLS ClientHello sent there is reported the same way
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "shim_test.h"

static size_t wchunk, rchunk;

/* ---------------------------------------------------------------
 * Building messages.
 * ------------------------------------------------------------ */
struct buf {
    char p[8192];
    size_t n;
};

static void put(struct buf *b, const void *s, size_t n)
{
    CHECK(b->n + n <= sizeof b->p, "message buffer full");
    memcpy(b->p + b->n, s, n);
    b->n += n;
}
static void put_s(struct buf *b, const char *s)
{
    put(b, s, strlen(s) + 1);
}
static void put16(struct buf *b, int v)
{
    unsigned char x[2] = {(unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 2);
}
static void put32(struct buf *b, uint32_t v)
{
    unsigned char x[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16),
                          (unsigned char)(v >> 8), (unsigned char)v};
    put(b, x, 4);
}
/* Start a typed message; msg_end patches its length. */
static size_t msg(struct buf *b, char type)
{
    size_t at = b->n;
    put(b, &type, 1);
    put32(b, 0);
    return at;
}
static void msg_end(struct buf *b, size_t at)
{
    uint32_t len = (uint32_t)(b->n - at - 1);
    unsigned char x[4] = {(unsigned char)(len >> 24), (unsigned char)(len >> 16),
                          (unsigned char)(len >> 8), (unsigned char)len};
    memcpy(b->p + at + 1, x, 4);
}

static void q(struct buf *b, const char *sql)
{
    size_t at = msg(b, 'Q');
    put_s(b, sql);
    msg_end(b, at);
}
static void parse(struct buf *b, const char *name, const char *sql)
{
    size_t at = msg(b, 'P');
    put_s(b, name);
    put_s(b, sql);
    put16(b, 0);
    msg_end(b, at);
}
/* Bind with text parameters (NULL-terminated list). */
static void pg_bind(struct buf *b, const char *stmt, const char *const *params)
{
    size_t at = msg(b, 'B'), n = 0;
    put_s(b, "");
    put_s(b, stmt);
    put16(b, 0);
    while (params && params[n])
        n++;
    put16(b, (int)n);
    for (size_t i = 0; i < n; i++) {
        put32(b, (uint32_t)strlen(params[i]));
        put(b, params[i], strlen(params[i]));
    }
    put16(b, 0);
    msg_end(b, at);
}
static void describe_exec(struct buf *b)
{
    size_t at = msg(b, 'D');
    put(b, "P", 2); /* the unnamed portal */
    msg_end(b, at);
    at = msg(b, 'E');
    put_s(b, "");
    put32(b, 0);
    msg_end(b, at);
}
static void sync_(struct buf *b)
{
    msg_end(b, msg(b, 'S'));
}

/* ---------------------------------------------------------------
 * The connection.
 * ------------------------------------------------------------ */
static void send_all(int fd, struct buf *b)
{
    size_t done = 0;
    while (done < b->n) {
        size_t k = wchunk ? wchunk : b->n - done;
        if (k > b->n - done)
            k = b->n - done;
        ssize_t r = send(fd, b->p + done, k, 0);
        CHECK(r > 0, "send: %s", strerror(errno));
        done += (size_t)r;
    }
    b->n = 0;
}

static void recv_exact(int fd, char *p, size_t n)
{
    size_t got = 0;
    while (got < n) {
        size_t k = rchunk && rchunk < n - got ? rchunk : n - got;
        ssize_t r = recv(fd, p + got, k, 0);
        CHECK(r > 0, "recv: %s", r < 0 ? strerror(errno) : "EOF");
        got += (size_t)r;
    }
}

/* The next server message: its type; its body in body (cut to cap). */
static char next(int fd, char *body, size_t cap, size_t *len)
{
    char hdr[5], sink[256];
    uint32_t n;
    recv_exact(fd, hdr, 5);
    n = (uint32_t)(unsigned char)hdr[1] << 24 | (uint32_t)(unsigned char)hdr[2] << 16 |
        (uint32_t)(unsigned char)hdr[3] << 8 | (unsigned char)hdr[4];
    CHECK(n >= 4 && n < 1000000, "bad length %u for '%c'", n, hdr[0]);
    n -= 4;
    *len = n;
    for (size_t got = 0; got < n;) {
        size_t k = n - got;
        char *dst = got < cap ? body + got : sink;
        if (got < cap && k > cap - got)
            k = cap - got;
        if (got >= cap && k > sizeof sink)
            k = sizeof sink;
        recv_exact(fd, dst, k);
        got += k;
    }
    return hdr[0];
}

/* The types of the messages up to and including ReadyForQuery, as a
 * string; the SQLSTATE of an error into state (or ""). */
static void until_ready(int fd, char *types, size_t cap, char state[6])
{
    char body[512];
    size_t n = 0, len;
    state[0] = '\0';
    for (;;) {
        char t = next(fd, body, sizeof body, &len);
        CHECK(n + 1 < cap, "too many messages");
        types[n++] = t;
        if (t == 'E')
            for (size_t i = 0; i + 6 < len && i + 6 < sizeof body; i++)
                if (body[i] == 'C' && (i == 0 || body[i - 1] == '\0')) {
                    memcpy(state, body + i + 1, 5);
                    state[5] = '\0';
                }
        if (t == 'Z')
            break;
    }
    types[n] = '\0';
}

/* The fixture's password: the last field of its passfile's line. */
static void fixture_password(char *out, size_t len)
{
    const char *d = t_dsn(), *p = strstr(d, "passfile=");
    char path[512], line[512];
    FILE *f;

    out[0] = '\0';
    if (!p)
        return;
    sscanf(p + 9, "%511[^ ]", path);
    CHECK((f = fopen(path, "r")) != NULL, "passfile %s", path);
    CHECK(fgets(line, sizeof line, f) != NULL, "empty passfile");
    fclose(f);
    line[strcspn(line, "\n")] = '\0';
    snprintf(out, len, "%s", strrchr(line, ':') + 1);
}

/* A 'p' message (SASLInitialResponse when mech is given, else SASLResponse). */
static void sasl_out(int fd, const char *mech, const char *data)
{
    struct buf b = {.n = 0};
    size_t at = msg(&b, 'p');
    if (mech) {
        put_s(&b, mech);
        put32(&b, (uint32_t)strlen(data));
    }
    put(&b, data, strlen(data));
    msg_end(&b, at);
    send_all(fd, &b);
}

/* SCRAM-SHA-256 (RFC 5802, 7677), as the fixture's server asks: the
 * server's first message in, the client's final message out. */
static void scram_final(const char *password, const char *bare, const char *server_first, char *out,
                        size_t len)
{
    unsigned char salt[128], salted[32], ckey[32], skey[32], sig[32], proof[32];
    char nonce[128], salt64[200], proof64[64], auth[2048], final_wo[256];
    unsigned int l = 32;
    int iter = 0, n;

    CHECK(sscanf(server_first, "r=%127[^,],s=%199[^,],i=%d", nonce, salt64, &iter) == 3,
          "server-first-message '%s'", server_first);
    n = EVP_DecodeBlock(salt, (const unsigned char *)salt64, (int)strlen(salt64));
    n -= (int)(strlen(salt64) - strcspn(salt64, "=")); /* the padding decodes as zeros */
    PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, n, iter, EVP_sha256(), 32, salted);
    HMAC(EVP_sha256(), salted, 32, (const unsigned char *)"Client Key", 10, ckey, &l);
    SHA256(ckey, 32, skey);
    snprintf(final_wo, sizeof final_wo, "c=biws,r=%s", nonce);
    snprintf(auth, sizeof auth, "%s,%s,%s", bare, server_first, final_wo);
    HMAC(EVP_sha256(), skey, 32, (const unsigned char *)auth, strlen(auth), sig, &l);
    for (int i = 0; i < 32; i++)
        proof[i] = ckey[i] ^ sig[i];
    EVP_EncodeBlock((unsigned char *)proof64, proof, 32);
    snprintf(out, len, "%s,p=%s", final_wo, proof64);
}

/* Authentication: nothing (trust), or SCRAM-SHA-256 with the fixture's
 * password; then the server's parameters up to ReadyForQuery. */
static void authenticate(int fd)
{
    char body[1024], password[128], bare[128], cnonce[32], first[256], final_[512];
    unsigned char rnd[12];
    size_t len;
    char t;

    for (;;) {
        t = next(fd, body, sizeof body - 1, &len);
        body[len < sizeof body - 1 ? len : sizeof body - 1] = '\0';
        CHECK(t != 'E', "the server refused the session");
        if (t == 'Z')
            return;
        if (t != 'R' || len < 4)
            continue;
        switch (body[3]) {
        case 10: /* AuthenticationSASL */
            fixture_password(password, sizeof password);
            RAND_bytes(rnd, sizeof rnd);
            EVP_EncodeBlock((unsigned char *)cnonce, rnd, sizeof rnd);
            snprintf(bare, sizeof bare, "n=,r=%s", cnonce);
            snprintf(first, sizeof first, "n,,%s", bare);
            sasl_out(fd, "SCRAM-SHA-256", first);
            break;
        case 11: /* AuthenticationSASLContinue */
            scram_final(password, bare, body + 4, final_, sizeof final_);
            sasl_out(fd, NULL, final_);
            break;
        default: /* Ok, SASLFinal */
            break;
        }
    }
}

static int dial(const char **dsn_user, const char **dsn_db)
{
    static char user[64] = "wedge", db[64] = "postgres";
    const char *d = t_dsn(), *p;
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    CHECK((p = strstr(d, "port=")) != NULL, "no port in %s", d);
    a.sin_port = htons((uint16_t)atoi(p + 5));
    if ((p = strstr(d, "user=")))
        sscanf(p + 5, "%63[^ ]", user);
    if ((p = strstr(d, "dbname=")))
        sscanf(p + 7, "%63[^ ]", db);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    /* every wait bounded: a server that stops answering fails the test */
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &(struct timeval){20, 0}, sizeof(struct timeval));
    *dsn_user = user;
    *dsn_db = db;
    return fd;
}

static int session(void)
{
    const char *user, *db;
    int fd = dial(&user, &db);
    struct buf b = {.n = 0};

    put32(&b, 0);
    put32(&b, 0x00030000);
    put_s(&b, "user");
    put_s(&b, user);
    put_s(&b, "database");
    put_s(&b, db);
    put(&b, "", 1);
    b.p[0] = (char)(b.n >> 24), b.p[1] = (char)(b.n >> 16), b.p[2] = (char)(b.n >> 8),
    b.p[3] = (char)b.n;
    send_all(fd, &b);
    authenticate(fd);
    return fd;
}

/* A simple Query; its answer types and SQLSTATE. */
static void simple(int fd, const char *sql, char *types, char state[6])
{
    struct buf b = {.n = 0};
    q(&b, sql);
    send_all(fd, &b);
    until_ready(fd, types, 64, state);
}

static long value(int fd, const char *sql)
{
    struct buf b = {.n = 0};
    char body[256], t;
    size_t len;
    long v = -1;

    q(&b, sql);
    send_all(fd, &b);
    while ((t = next(fd, body, sizeof body - 1, &len)) != 'Z')
        if (t == 'D' && len > 6) {
            body[len < sizeof body - 1 ? len : sizeof body - 1] = '\0';
            v = strtol(body + 6, NULL, 10); /* one column: count, length, text */
        }
    return v;
}

/* ---------------------------------------------------------------
 * The modes.
 * ------------------------------------------------------------ */
static void terminate(int fd)
{
    struct buf b = {.n = 0};
    msg_end(&b, msg(&b, 'X'));
    send_all(fd, &b);
    close(fd);
}

static int flow(void)
{
    static const char *const forty_one[] = {"41", NULL};
    struct buf b = {.n = 0};
    char types[64], state[6];
    int fd = session();

    simple(fd, "SELECT 1", types, state);
    CHECK(!strcmp(types, "TDCZ"), "simple query answered %s", types);
    parse(&b, "", "SELECT $1::int + 1");
    pg_bind(&b, "", forty_one);
    describe_exec(&b);
    sync_(&b);
    send_all(fd, &b);
    until_ready(fd, types, sizeof types, state);
    CHECK(!strcmp(types, "12TDCZ"), "extended query answered %s", types);
    /* a named statement, parsed in one round trip and run in another */
    parse(&b, "s1", "SELECT 2 AS named");
    sync_(&b);
    send_all(fd, &b);
    until_ready(fd, types, sizeof types, state);
    CHECK(!strcmp(types, "1Z"), "parse answered %s", types);
    pg_bind(&b, "s1", NULL);
    describe_exec(&b);
    sync_(&b);
    send_all(fd, &b);
    until_ready(fd, types, sizeof types, state);
    CHECK(!strcmp(types, "2TDCZ"), "named statement answered %s", types);
    terminate(fd);

    const char *want[] = {"SELECT 1", "SELECT $1::int + 1", "SELECT 2 AS named"};
    for (int i = 0; i < 3; i++) {
        char det[96];
        snprintf(det, sizeof det, "\"detail\":\"%s\"", want[i]);
        CHECK(t_trace_count(getpid(), "\"rule\":\"q\"", det, NULL) == 1, "before %s", want[i]);
        CHECK(t_trace_count(getpid(), "\"rule\":\"qa\"", det, NULL) == 1, "after %s", want[i]);
    }
    CHECK(t_trace_count(getpid(), "\"rule\":\"q\"", "\"outcome\":\"fired\"", NULL) == 3,
          "3 statements before");
    CHECK(t_trace_count(getpid(), "\"rule\":\"qa\"", "\"outcome\":\"fired\"", NULL) == 3,
          "3 statements after");
    printf("flow %zu/%zu: ok\n", wchunk, rchunk);
    return 0;
}

static int inject(void)
{
    static const char *const one[] = {"1", NULL};
    struct buf b = {.n = 0};
    char types[64], state[6];
    int fd = session(), split = wchunk == 1;
    const char *want_ext = split ? "12nCZ" : "12nEZ", *want_state = split ? "" : "40001";

    char sql[256], upd[128], sel[96];

    /* a table of this process's own: the variants run in parallel */
    snprintf(
        sql, sizeof sql,
        "DROP TABLE IF EXISTS t_pgraw_%d; CREATE TABLE t_pgraw_%d (id int PRIMARY KEY, v int); "
        "INSERT INTO t_pgraw_%d VALUES (1, 0)",
        (int)getpid(), (int)getpid(), (int)getpid());
    snprintf(upd, sizeof upd, "UPDATE t_pgraw_%d SET v = v + 1 WHERE id = $1", (int)getpid());
    snprintf(sel, sizeof sel, "SELECT v FROM t_pgraw_%d WHERE id = 1", (int)getpid());
    simple(fd, sql, types, state);
    CHECK(!state[0], "setup failed: %s", state);
    /* extended: the answers to the shim's own Close, Parse and Bind are
     * taken out; the program sees its statement fail at Execute */
    parse(&b, "", upd);
    pg_bind(&b, "", one);
    describe_exec(&b);
    sync_(&b);
    send_all(fd, &b);
    until_ready(fd, types, sizeof types, state);
    CHECK(!strcmp(types, want_ext) && !strcmp(state, want_state),
          "extended UPDATE answered %s (%s)", types, state);
    /* simple Query */
    snprintf(sql, sizeof sql, "UPDATE t_pgraw_%d SET v = v + 1 WHERE id = 1", (int)getpid());
    simple(fd, sql, types, state);
    CHECK(!strcmp(types, split ? "CZ" : "EZ") && !strcmp(state, want_state),
          "simple UPDATE answered %s (%s)", types, state);
    /* a pipeline: the error aborts what follows up to the Sync */
    parse(&b, "", upd);
    pg_bind(&b, "", one);
    describe_exec(&b);
    parse(&b, "", "SELECT 7");
    pg_bind(&b, "", NULL);
    describe_exec(&b);
    sync_(&b);
    send_all(fd, &b);
    until_ready(fd, types, sizeof types, state);
    CHECK(!strcmp(types, split ? "12nC12TDCZ" : "12nEZ"), "pipeline answered %s (%s)", types,
          state);
    /* the session goes on, the row as the verdicts left it */
    CHECK(value(fd, sel) == (split ? 3 : 0), "v");
    snprintf(sql, sizeof sql, "DROP TABLE t_pgraw_%d", (int)getpid());
    simple(fd, sql, types, state);
    parse(&b, "", "SELECT $1::int * 2");
    pg_bind(&b, "", one);
    describe_exec(&b);
    sync_(&b);
    send_all(fd, &b);
    until_ready(fd, types, sizeof types, state);
    CHECK(!strcmp(types, "12TDCZ"), "a statement after the injections answered %s", types);
    terminate(fd);
    CHECK(t_trace_count(getpid(), "\"action\":\"fail\"",
                        split ? "\"outcome\":\"skipped\"" : "\"outcome\":\"fired\"", NULL) == 3,
          "three UPDATEs %s", split ? "skipped" : "injected");
    printf("inject %zu/%zu: ok\n", wchunk, rchunk);
    return 0;
}

/* A server that answers 'S' to an encryption request (or reads a TLS
 * ClientHello), then closes. */
static void *fake_server(void *arg)
{
    int l = *(int *)arg, c = accept(l, NULL, NULL);
    char req[8];
    if (c < 0)
        return NULL;
    if (recv(c, req, sizeof req, MSG_WAITALL) == (ssize_t)sizeof req && req[0] == 0)
        send(c, "S", 1, 0);
    shutdown(c, SHUT_WR);
    while (recv(c, req, sizeof req, 0) > 0)
        ;
    close(c);
    return NULL;
}

static int tls(int direct)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    int l = socket(AF_INET, SOCK_STREAM, 0), fd;
    unsigned char ssl_req[8] = {0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f};
    unsigned char hello[8] = {0x16, 0x03, 0x01, 0x00, 0x40, 0x01, 0x00, 0x00};
    char answer = 0, port[16];
    pthread_t t;

    CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0, "listen");
    CHECK(getsockname(l, (struct sockaddr *)&a, &al) == 0, "getsockname");
    if (direct && !getenv("WEDGE_DB_PORT")) {
        /* the shim reads WEDGE_DB_PORT when it starts: start again with it */
        snprintf(port, sizeof port, "%d", ntohs(a.sin_port));
        close(l);
        setenv("WEDGE_DB_PORT", port, 1);
        execl("/proc/self/exe", "shim_pgraw", "tls-direct", port, (char *)NULL);
        CHECK(0, "exec: %s", strerror(errno));
    }
    if (direct) {
        /* the port chosen before the exec: listen there again */
        close(l);
        l = socket(AF_INET, SOCK_STREAM, 0);
        setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &(int){1}, sizeof(int));
        a.sin_port = htons((uint16_t)atoi(getenv("WEDGE_DB_PORT")));
        CHECK(bind(l, (struct sockaddr *)&a, sizeof a) == 0 && listen(l, 1) == 0, "listen again");
    }
    pthread_create(&t, NULL, fake_server, &l);
    fd = socket(AF_INET, SOCK_STREAM, 0);
    CHECK(connect(fd, (struct sockaddr *)&a, sizeof a) == 0, "connect: %s", strerror(errno));
    if (direct) {
        CHECK(send(fd, hello, sizeof hello, 0) == (ssize_t)sizeof hello, "hello");
    } else {
        CHECK(send(fd, ssl_req, sizeof ssl_req, 0) == 8, "ssl request");
        CHECK(recv(fd, &answer, 1, 0) == 1 && answer == 'S', "the answer");
    }
    close(fd);
    pthread_join(t, NULL);
    CHECK(t_trace_count(getpid(), "\"outcome\":\"hidden\"", "are hidden from pq.* rules", NULL) ==
              1,
          "no 'hidden' line in the trace");
    printf("tls%s: ok\n", direct ? "-direct" : "");
    return 0;
}

int main(int argc, char **argv)
{
    CHECK(argc >= 2, "usage: shim_pgraw flow|inject WCHUNK RCHUNK | tls | tls-direct");
    if (argc >= 4) {
        wchunk = (size_t)atol(argv[2]);
        rchunk = (size_t)atol(argv[3]);
    }
    if (!strcmp(argv[1], "flow"))
        return flow();
    if (!strcmp(argv[1], "inject"))
        return inject();
    if (!strcmp(argv[1], "tls"))
        return tls(0);
    if (!strcmp(argv[1], "tls-direct"))
        return tls(1);
    CHECK(0, "unknown mode %s", argv[1]);
    return 1;
}
