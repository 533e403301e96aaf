/*
 * shopd.c - the shop's service: flags, start and clean stop.
 *
 *   shopd --port N --dsn DSN [--stock naive|pessimistic|optimistic|atomic]
 *         [--payment naive|idempotent] [--events naive|skip-locked]
 *         [--pool naive|correct] [--pool-size N] [--dispatchers N]
 *         [--isolation read-committed|repeatable-read|serializable]
 *         [--psp URL] [--consumer URL] [--psp-timeout MS] [--psp-tries N]
 *         [--tx-tries N] [--drain MS] [--stats-file PATH] [--token TOKEN]
 *
 * SIGTERM / SIGINT: stop taking requests, let the dispatchers deliver what
 * is pending (bounded by --drain), write the counters to shop_stats, close
 * the pool, exit 0.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <curl/curl.h>
#include "shop.h"

static char flags_text[512];
static const char *stats_file; /* --stats-file: the counters as JSON at exit */

/* ---------------------------------------------------------------
 * Small endpoints.
 * ------------------------------------------------------------ */
static void get_health(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    reply_json(rp, 200, json_pack("{s:s}", "status", "ok"));
}

static void get_stats(const struct http_req *rq, char caps[][128], struct reply *rp)
{
    json_t *o = shop_stats_json();

    json_object_set_new(o, "flags", json_string(flags_text));
    reply_json(rp, 200, o);
}

static const struct route routes[] = {
    {"GET", "/health", get_health},
    {"GET", "/stats", get_stats},
    {"GET", "/inventory/*", stock_get_inventory},
    {"POST", "/reservations", stock_post_reservation},
    {"POST", "/orders", orders_post},
    {"GET", "/orders/*", orders_get},
    {"POST", "/orders/*/pay", payment_post},
    {"POST", "/carts", cart_post},
    {"GET", "/carts/*", cart_get},
    {"POST", "/carts/*/lines", cart_post_line},
    {"POST", "/carts/*/checkout", cart_checkout},
};

/* At exit the counters go to the database, where invariants can read them. */
static void write_stats(const char *dsn)
{
    char err[256], pid[16];
    PGconn *c = db_connect(dsn, err, sizeof err);
    json_t *o = shop_stats_json();
    char *text = json_dumps(o, JSON_COMPACT);
    const char *p[3] = {pid, flags_text, text};

    snprintf(pid, sizeof pid, "%d", (int)getpid());
    if (c && text)
        db_exec(c, NULL, "INSERT INTO shop_stats (pid, flags, stats) VALUES ($1, $2, $3::jsonb)", 3,
                p);
    else
        fprintf(stderr, "shopd: counters not saved: %s\n", c ? "out of memory" : err);
    if (stats_file && json_dump_file(o, stats_file, JSON_INDENT(1)) != 0)
        fprintf(stderr, "shopd: cannot write %s\n", stats_file);
    free(text);
    json_decref(o);
    PQfinish(c);
}

/* ---------------------------------------------------------------
 * Flags.
 * ------------------------------------------------------------ */
static int pick(const char *flag, const char *v, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(v, names[i]) == 0)
            return i;
    fprintf(stderr, "shopd: --%s: '%s' is not one of", flag, v);
    for (int i = 0; i < n; i++)
        fprintf(stderr, " %s", names[i]);
    fprintf(stderr, "\n");
    exit(2);
}

static long number(const char *flag, const char *v, long lo, long hi)
{
    char *end;
    long n = strtol(v, &end, 10);

    if (*v == '\0' || *end != '\0' || n < lo || n > hi) {
        fprintf(stderr, "shopd: --%s: expected a number in %ld..%ld, got '%s'\n", flag, lo, hi, v);
        exit(2);
    }
    return n;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: shopd --port N --dsn DSN [--stock naive|pessimistic|optimistic|atomic]\n"
               "             [--payment naive|idempotent] [--events naive|skip-locked]\n"
               "             [--pool naive|correct] [--pool-size N] [--dispatchers N]\n"
               "             [--isolation read-committed|repeatable-read|serializable]\n"
               "             [--psp URL] [--consumer URL] [--psp-timeout MS] [--psp-tries N]\n"
               "             [--tx-tries N] [--drain MS] [--stats-file PATH] [--token TOKEN]\n");
}

static const char *const stock_names[] = {"naive", "pessimistic", "optimistic", "atomic"};
static const char *const pay_names[] = {"naive", "idempotent"};
static const char *const ev_names[] = {"naive", "skip-locked"};
static const char *const pool_names[] = {"naive", "correct"};
static const char *const iso_names[] = {"read-committed", "repeatable-read", "serializable"};
static const char *const iso_sql[] = {"READ COMMITTED", "REPEATABLE READ", "SERIALIZABLE"};

/* One flag (getopt's ch and its value) into shop_cfg (or *drain, the
 * stats file); exits 2 on a bad value. */
static void parse_flag(int ch, const char *v, long *drain)
{
    switch (ch) {
    case 'p':
        shop_cfg.port = (int)number("port", v, 1, 65535);
        break;
    case 'd':
        shop_cfg.dsn = v;
        break;
    case 's':
        shop_cfg.stock = pick("stock", v, stock_names, 4);
        break;
    case 'P':
        shop_cfg.payment = pick("payment", v, pay_names, 2);
        break;
    case 'e':
        shop_cfg.events = pick("events", v, ev_names, 2);
        break;
    case 'o':
        shop_cfg.pool = pick("pool", v, pool_names, 2);
        break;
    case 'z':
        shop_cfg.pool_size = (int)number("pool-size", v, 1, 256);
        break;
    case 'n':
        shop_cfg.dispatchers = (int)number("dispatchers", v, 0, 64);
        break;
    case 'i':
        shop_cfg.isolation = iso_sql[pick("isolation", v, iso_names, 3)];
        break;
    case 'u':
        shop_cfg.psp_url = v;
        break;
    case 'c':
        shop_cfg.consumer_url = v;
        break;
    case 't':
        shop_cfg.psp_timeout_ms = number("psp-timeout", v, 1, 600000);
        break;
    case 'r':
        shop_cfg.psp_tries = (int)number("psp-tries", v, 1, 100);
        break;
    case 'x':
        shop_cfg.tx_tries = (int)number("tx-tries", v, 1, 1000);
        break;
    case 'D':
        *drain = number("drain", v, 0, 600000);
        break;
    case 'S':
        stats_file = v;
        break;
    case 'T':
        shop_cfg.token = v;
        break;
    case 'h':
        usage(stdout);
        exit(0);
    default:
        usage(stderr);
        exit(2);
    }
}

/* The flags into shop_cfg; returns --drain.  Exits 2 on a usage error. */
static long parse_flags(int argc, char **argv)
{
    static const struct option opts[] = {{"port", 1, 0, 'p'},
                                         {"dsn", 1, 0, 'd'},
                                         {"stock", 1, 0, 's'},
                                         {"payment", 1, 0, 'P'},
                                         {"events", 1, 0, 'e'},
                                         {"pool", 1, 0, 'o'},
                                         {"pool-size", 1, 0, 'z'},
                                         {"dispatchers", 1, 0, 'n'},
                                         {"isolation", 1, 0, 'i'},
                                         {"psp", 1, 0, 'u'},
                                         {"consumer", 1, 0, 'c'},
                                         {"psp-timeout", 1, 0, 't'},
                                         {"psp-tries", 1, 0, 'r'},
                                         {"tx-tries", 1, 0, 'x'},
                                         {"drain", 1, 0, 'D'},
                                         {"stats-file", 1, 0, 'S'},
                                         {"token", 1, 0, 'T'},
                                         {"help", 0, 0, 'h'},
                                         {0, 0, 0, 0}};
    long drain = 5000;
    int ch;

    while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
        parse_flag(ch, optarg, &drain);
    if (!shop_cfg.port || !shop_cfg.dsn || optind != argc || (shop_cfg.token && !*shop_cfg.token)) {
        usage(stderr);
        exit(2);
    }
    if (shop_cfg.dispatchers < 0)
        shop_cfg.dispatchers = shop_cfg.consumer_url ? 2 : 0;
    if (shop_cfg.dispatchers > 0 && !shop_cfg.consumer_url) {
        fprintf(stderr, "shopd: --dispatchers needs --consumer URL\n");
        exit(2);
    }
    snprintf(flags_text, sizeof flags_text,
             "stock=%s payment=%s events=%s pool=%s pool_size=%d dispatchers=%d isolation=%s",
             stock_names[shop_cfg.stock], pay_names[shop_cfg.payment], ev_names[shop_cfg.events],
             pool_names[shop_cfg.pool], shop_cfg.pool_size, shop_cfg.dispatchers,
             shop_cfg.isolation);
    return drain;
}

int main(int argc, char **argv)
{
    struct http_server *srv = NULL;
    char err[512];
    sigset_t sigs;
    long drain;
    int sig = 0, rc = 1;

    drain = parse_flags(argc, argv);
    /* Block the stop signals in every thread; main waits for them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);
    signal(SIGPIPE, SIG_IGN);
    curl_global_init(CURL_GLOBAL_DEFAULT);

    if (pool_init(shop_cfg.dsn, shop_cfg.pool_size, shop_cfg.pool, err, sizeof err) != 0 ||
        stock_sweeper_start(shop_cfg.dsn, err, sizeof err) != 0)
        goto fail;
    if (shop_cfg.dispatchers > 0 &&
        events_start(shop_cfg.dsn, shop_cfg.consumer_url, shop_cfg.dispatchers, shop_cfg.events,
                     err, sizeof err) != 0)
        goto fail;
    srv = http_start_auth(shop_cfg.port, routes, sizeof routes / sizeof routes[0], shop_cfg.token,
                          err, sizeof err);
    if (!srv)
        goto fail;
    fprintf(stderr, "shopd: listening on 127.0.0.1:%d (%s)\n", shop_cfg.port, flags_text);

    sigwait(&sigs, &sig);
    fprintf(stderr, "shopd: signal %d: stopping\n", sig);
    http_stop(srv);
    if (shop_cfg.dispatchers > 0)
        events_stop(drain);
    stock_sweeper_stop();
    write_stats(shop_cfg.dsn);
    pool_close();
    curl_global_cleanup();
    return 0;
fail:
    fprintf(stderr, "shopd: %s\n", err);
    return rc;
}
