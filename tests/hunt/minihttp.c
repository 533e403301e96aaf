/*
 * minihttp.c - the HTTP skeleton of the hunt test services (minihttp.h).
 */
#include "minihttp.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <microhttpd.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct mh_route *mh_routes;
static int mh_nroutes;

static enum MHD_Result mh_reply(struct MHD_Connection *conn, unsigned code, const char *text)
{
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_MUST_COPY);
    enum MHD_Result ret;
    if (!resp)
        return MHD_NO;
    MHD_add_response_header(resp, "Content-Type", "application/json");
    ret = MHD_queue_response(conn, code, resp);
    MHD_destroy_response(resp);
    return ret;
}

static enum MHD_Result mh_request(void *cls, struct MHD_Connection *conn, const char *url,
                                  const char *method, const char *version, const char *upload,
                                  size_t *upload_size, void **con_cls)
{
    static int first_call;
    char out[256] = "{}";
    (void)cls, (void)version, (void)upload;
    /* a POST's first call only announces it; its body (ignored) follows */
    if (!*con_cls) {
        *con_cls = &first_call;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return MHD_YES;
    }
    if (!strcmp(method, "GET") && !strcmp(url, "/health"))
        return mh_reply(conn, 200, "\"ok\"");
    for (int i = 0; i < mh_nroutes; i++)
        if (!strcmp(method, mh_routes[i].method) && !strcmp(url, mh_routes[i].path)) {
            unsigned code = mh_routes[i].fn(out, sizeof out);
            return mh_reply(conn, code, out);
        }
    return mh_reply(conn, 404, "{\"error\":\"not found\"}");
}

static int mh_args(const char *prog, int argc, char **argv, long *port, int *fixed)
{
    static const struct option opts[] = {{"port", required_argument, NULL, 'p'},
                                         {"mode", required_argument, NULL, 'm'},
                                         {NULL, 0, NULL, 0}};
    int opt;
    while ((opt = getopt_long(argc, argv, "p:m:", opts, NULL)) != -1) {
        if (opt == 'p')
            *port = strtol(optarg, NULL, 10);
        else if (opt == 'm' && (!strcmp(optarg, "naive") || !strcmp(optarg, "fixed")))
            *fixed = !strcmp(optarg, "fixed");
        else
            goto usage;
    }
    if (*port > 0 && *port < 65536 && optind == argc)
        return 0;
usage:
    fprintf(stderr, "usage: %s --port N [--mode naive|fixed]\n", prog);
    return -1;
}

int mh_serve(const char *prog, int argc, char **argv, const struct mh_route *routes, int n,
             int *fixed)
{
    struct MHD_Daemon *d;
    struct sockaddr_in sa;
    sigset_t stop;
    long port = 0;
    int sig = 0;

    if (mh_args(prog, argc, argv, &port, fixed) < 0)
        return 2;
    mh_routes = routes;
    mh_nroutes = n;
    /* sigwait takes the stop signals: blocked before MHD starts threads */
    sigemptyset(&stop);
    sigaddset(&stop, SIGTERM);
    sigaddset(&stop, SIGINT);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof sa);
    sa.sin_family = AF_INET;
    sa.sin_port = htons((uint16_t)port);
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
                             MHD_USE_ERROR_LOG,
                         0, NULL, NULL, mh_request, NULL, MHD_OPTION_SOCK_ADDR, &sa,
                         MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_END);
    if (!d) {
        fprintf(stderr, "%s: cannot listen on 127.0.0.1:%ld\n", prog, port);
        return 3;
    }
    fprintf(stderr, "%s: listening on 127.0.0.1:%ld, mode %s\n", prog, port,
            *fixed ? "fixed" : "naive");
    sigwait(&stop, &sig);
    fprintf(stderr, "%s: signal %d, stopping\n", prog, sig);
    /* a service whose threads deadlocked never gets past this: the runner
     * kills it after its stop_grace, as it would any hung service */
    MHD_stop_daemon(d);
    return 0;
}
