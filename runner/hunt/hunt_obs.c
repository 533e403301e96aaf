/*
 * hunt_obs.c - an observation: what the services did during one run with
 * every relevant hook logged, in order, each call attributed to the
 * request it served.
 *
 * The shim writes a line per logged call (statement with its session,
 * lock with its address, send with its descriptor, and the stack); the
 * runner's history.jsonl has when each request was sent and answered.
 * Services tag nothing: a thread's call belongs to the request whose
 * window holds it.  A thread that keeps working outside every window
 * (a dispatcher, a sweeper) is background, and belongs to none.
 */
#include "hunt.h"
#include "timeunit.h"
#include "util.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define OBS_BACKGROUND   4 /* 1 in N of a thread's calls outside every request: background */
#define OBS_SLACK_NS     (2 * NS_PER_MS) /* a request window's margin either side */
#define OBS_HELPER_STMTS 2               /* innermost frame of this many statements: a helper */

int hunt_dsn_port(const char *dsn)
{
    const char *p = dsn ? strstr(dsn, "port=") : NULL;
    if (p && (p == dsn || p[-1] == ' ' || p[-1] == '\t' || p[-1] == '?' || p[-1] == '&'))
        return atoi(p + 5);
    p = dsn && strstr(dsn, "://") ? strstr(dsn, "://") + 3 : NULL;
    if (p) { /* postgresql://user:pw@host:PORT/db */
        const char *at = strchr(p, '@'), *end;
        p = at && at < p + strcspn(p, "/?") ? at + 1 : p;
        end = p + strcspn(p, "/?");
        for (const char *c = end; c > p; c--)
            if (c[-1] == ':')
                return atoi(c);
    }
    return 0;
}

const char *hunt_obs_rules(void)
{
    /* before and after the lock: a thread that asked and never got it is
     * how a deadlock shows */
    return HUNT_OBS_SQL ": log on pq.query ; " HUNT_OBS_WANT ": log on mutex.lock ; " HUNT_OBS_LOCK
                        ": log on mutex.lock after ; " HUNT_OBS_UNLOCK
                        ": log on mutex.unlock ; " HUNT_OBS_WAIT
                        ": log on cond.wait ; " HUNT_OBS_SEND ": log on sock.send";
}

/* ---------------------------------------------------------------
 * Trace lines.
 * ------------------------------------------------------------ */
static struct hunt_ev *obs_push(struct hunt_obs *o)
{
    if (o->nev == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 4096;
        o->ev = realloc(o->ev, o->cap * sizeof *o->ev);
        if (!o->ev)
            abort();
    }
    memset(&o->ev[o->nev], 0, sizeof o->ev[0]);
    return &o->ev[o->nev++];
}

static enum hunt_ev_kind obs_kind(const char *rule)
{
    static const struct {
        const char *name;
        enum hunt_ev_kind kind;
    } k[] = {{HUNT_OBS_SQL, HE_SQL},       {HUNT_OBS_WANT, HE_WANT}, {HUNT_OBS_LOCK, HE_LOCK},
             {HUNT_OBS_UNLOCK, HE_UNLOCK}, {HUNT_OBS_WAIT, HE_WAIT}, {HUNT_OBS_SEND, HE_SEND}};
    for (size_t i = 0; rule && i < sizeof k / sizeof k[0]; i++)
        if (!strcmp(rule, k[i].name))
            return k[i].kind;
    return HE_INJECTION;
}

/* The program names of the exit summaries, by pid. */
struct obs_comms {
    int n;
    int pid[64];
    const char *comm[64];
};

static void obs_line(struct hunt_obs *o, json_t *j, struct obs_comms *c)
{
    json_t *stack = json_object_get(j, "stack");
    const char *obj = json_string_value(json_object_get(j, "obj"));
    struct hunt_ev *e;

    if (json_is_true(json_object_get(j, "summary"))) {
        if (c->n < 64) {
            c->pid[c->n] = (int)json_integer_value(json_object_get(j, "pid"));
            c->comm[c->n++] = hunt_intern(&o->pool, json_string_value(json_object_get(j, "proc")));
        }
        return;
    }
    e = obs_push(o);
    e->ts = (uint64_t)json_integer_value(json_object_get(j, "ts_ns"));
    e->pid = (int)json_integer_value(json_object_get(j, "pid"));
    e->tid = (int)json_integer_value(json_object_get(j, "tid"));
    e->rule = hunt_intern(&o->pool, json_string_value(json_object_get(j, "rule")));
    e->kind = obs_kind(e->rule);
    e->outcome = hunt_intern(&o->pool, json_string_value(json_object_get(j, "outcome")));
    e->detail = hunt_intern(&o->pool, json_string_value(json_object_get(j, "detail")));
    e->obj = obj ? (uintptr_t)strtoull(obj, NULL, 16) : 0;
    e->fd = json_is_integer(json_object_get(j, "fd"))
                ? (int)json_integer_value(json_object_get(j, "fd"))
                : -1;
    e->nstack = (int)json_array_size(stack);
    e->stack = e->nstack ? calloc((size_t)e->nstack, sizeof(char *)) : NULL;
    for (int i = 0; i < e->nstack; i++)
        e->stack[i] = hunt_intern(&o->pool, json_string_value(json_array_get(stack, (size_t)i)));
    e->site = -1;
    e->req = -1;
}

static int obs_read_traces(struct hunt_obs *o, const char *dir, struct obs_comms *c, char *err,
                           size_t errlen)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    if (!d) {
        snprintf(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d))) {
        char *path, line[1 << 16];
        FILE *f;
        if (strncmp(de->d_name, "trace.", 6) || !strstr(de->d_name, ".jsonl"))
            continue;
        path = util_fmt("%s/%s", dir, de->d_name);
        f = fopen(path, "re");
        free(path);
        while (f && fgets(line, sizeof line, f)) {
            json_t *j = json_loads(line, 0, NULL);
            if (j)
                obs_line(o, j, c);
            json_decref(j);
        }
        if (f)
            fclose(f);
    }
    closedir(d);
    return 0;
}

/* ---------------------------------------------------------------
 * The history: request windows.
 * ------------------------------------------------------------ */
static int obs_req_by_time(const void *a, const void *b)
{
    const struct hunt_req *x = a, *y = b;
    return x->t0 < y->t0 ? -1 : x->t0 > y->t0;
}

static int obs_read_history(struct hunt_obs *o, const char *path)
{
    char line[8192];
    FILE *f = fopen(path, "re");
    size_t cap = 0;
    if (!f)
        return -1;
    while (fgets(line, sizeof line, f)) {
        json_t *j = json_loads(line, 0, NULL);
        const char *type = json_string_value(json_object_get(j, "type"));
        int user = (int)json_integer_value(json_object_get(j, "user"));
        uint64_t t = o->load_t0 + (uint64_t)json_integer_value(json_object_get(j, "t_ns"));
        if (type && !strcmp(type, "invoke")) {
            if (o->nreqs == cap) {
                cap = cap ? cap * 2 : 256;
                o->reqs = realloc(o->reqs, cap * sizeof *o->reqs);
                if (!o->reqs)
                    abort();
            }
            o->reqs[o->nreqs++] = (struct hunt_req){
                t,    0, hunt_intern(&o->pool, json_string_value(json_object_get(j, "req"))),
                user, 0, '?',
                NULL};
        } else if (type) {
            /* a user's outcome answers its latest request without one */
            for (size_t i = o->nreqs; i-- > 0;) {
                struct hunt_req *r = &o->reqs[i];
                if (r->user != user || r->type != '?')
                    continue;
                r->t1 = t;
                r->type = type[0];
                r->status = (long)json_integer_value(json_object_get(j, "status"));
                r->error = hunt_intern(&o->pool, json_string_value(json_object_get(j, "error")));
                break;
            }
        }
        json_decref(j);
    }
    fclose(f);
    /* users flush their lines in batches: the file is not in time order */
    qsort(o->reqs, o->nreqs, sizeof *o->reqs, obs_req_by_time);
    return 0;
}

static int obs_load_start(struct hunt_obs *o, const char *run_dir)
{
    char *path = util_fmt("%s/summary.json", run_dir);
    json_t *j = json_load_file(path, 0, NULL);
    double t = json_number_value(json_object_get(j, "load_start_unix"));
    free(path);
    json_decref(j);
    o->load_t0 = (uint64_t)(t * (double)NS_PER_S);
    return t > 0 ? 0 : -1;
}

/* ---------------------------------------------------------------
 * Processes: which service, which executable, which frames are its own.
 * ------------------------------------------------------------ */
static const char *obs_base(const char *path)
{
    const char *b = path ? strrchr(path, '/') : NULL;
    return b ? b + 1 : path;
}

static int obs_service_index(const struct scenario *s, const char *name)
{
    for (int i = 0; name && i < s->nservices; i++)
        if (!strcmp(s->services[i].name, name))
            return i;
    return -1;
}

/* The service of pid: by the pid the run printed, else by program name
 * (comm is the executable's name cut to 15 characters). */
static int obs_which_service(const struct scenario *s, const struct hunt_svcmap *map, int pid,
                             const char *comm)
{
    for (int i = 0; i < map->n; i++)
        if (map->pids[i] == pid)
            return obs_service_index(s, map->names[i]);
    for (int i = 0; comm && i < s->nservices; i++)
        if (map->exes[i] && !strncmp(obs_base(map->exes[i]), comm, 15))
            return i;
    return -1;
}

static void obs_procs(struct hunt_obs *o, const struct scenario *s, const struct hunt_svcmap *map,
                      const struct obs_comms *c)
{
    for (size_t k = 0; k < o->nev; k++) {
        struct hunt_ev *e = &o->ev[k];
        int i = 0, svc;
        while (i < o->nprocs && o->procs[i].pid != e->pid)
            i++;
        e->proc = i;
        if (i < o->nprocs)
            continue;
        o->procs = realloc(o->procs, (size_t)(o->nprocs + 1) * sizeof *o->procs);
        if (!o->procs)
            abort();
        struct hunt_proc *p = &o->procs[o->nprocs++];
        memset(p, 0, sizeof *p);
        p->pid = e->pid;
        for (int j = 0; j < c->n; j++)
            if (c->pid[j] == e->pid)
                p->comm = c->comm[j];
        svc = obs_which_service(s, map, e->pid, p->comm);
        if (svc >= 0) {
            p->service = hunt_intern(&o->pool, s->services[svc].name);
            if (map->exes[svc])
                p->nfuncs = hunt_elf_funcs(map->exes[svc], &o->pool, &p->funcs);
        }
    }
}

int hunt_obs_is_program(const struct hunt_obs *obs, int proc, const char *f)
{
    const struct hunt_proc *p = &obs->procs[proc];

    /* an executable we could not read (a script, a stripped binary): no
     * frame is known to be its own, so no lock of it is aimed at */
    return f && p->nfuncs && hunt_elf_has(p->funcs, p->nfuncs, f);
}

/* ---------------------------------------------------------------
 * Threads and requests.
 * ------------------------------------------------------------ */
static struct hunt_obs *obs_sorting; /* qsort has no context argument */

static int obs_by_thread(const void *a, const void *b)
{
    const struct hunt_ev *x = &obs_sorting->ev[*(const size_t *)a];
    const struct hunt_ev *y = &obs_sorting->ev[*(const size_t *)b];
    if (x->pid != y->pid)
        return x->pid < y->pid ? -1 : 1;
    if (x->tid != y->tid)
        return x->tid < y->tid ? -1 : 1;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

static int obs_by_time(const void *a, const void *b)
{
    const struct hunt_ev *x = a, *y = b;
    return x->ts < y->ts ? -1 : x->ts > y->ts;
}

/* The requests whose window holds t: the one `prefer` names when it is
 * among them, else the latest sent; -1 none. */
static int obs_request_at(const struct hunt_obs *o, uint64_t t, uint64_t maxlat, int prefer)
{
    int best = -1;
    size_t lo = 0, hi = o->nreqs;
    while (lo < hi) { /* first request sent after t + slack */
        size_t mid = (lo + hi) / 2;
        if (o->reqs[mid].t0 <= t + OBS_SLACK_NS)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i-- > 0;) {
        const struct hunt_req *r = &o->reqs[i];
        uint64_t end = r->t1 ? r->t1 : r->t0 + maxlat;
        if (r->t0 + maxlat + OBS_SLACK_NS < t)
            break;
        if (t + OBS_SLACK_NS < r->t0 || t > end + OBS_SLACK_NS)
            continue;
        if ((int)i == prefer)
            return prefer;
        if (best < 0)
            best = (int)i;
    }
    return best;
}

/* The calls that tell a thread's work: statements and its own locks. */
static int obs_counts(const struct hunt_obs *o, const struct hunt_ev *e)
{
    return e->ts >= o->load_t0 && (e->kind == HE_SQL || (e->kind == HE_LOCK && e->site == 0));
}

static void obs_attribute(struct hunt_obs *o, struct hunt_thread *th, uint64_t maxlat)
{
    size_t inside = 0, outside = 0;
    int prev = -1;
    for (size_t k = th->first; k < th->first + th->n; k++) {
        const struct hunt_ev *e = &o->ev[o->order[k]];
        if (!obs_counts(o, e))
            continue;
        if (obs_request_at(o, e->ts, maxlat, -1) >= 0)
            inside++;
        else
            outside++;
    }
    th->background = outside > 0 && outside * OBS_BACKGROUND >= inside + outside;
    for (size_t k = th->first; k < th->first + th->n; k++) {
        struct hunt_ev *e = &o->ev[o->order[k]];
        e->thread = (int)(th - o->threads);
        if (th->background || e->ts < o->load_t0)
            continue;
        e->req = obs_request_at(o, e->ts, maxlat, prev);
        if (e->req >= 0)
            prev = e->req;
    }
}

static void obs_threads(struct hunt_obs *o)
{
    uint64_t maxlat = 0;
    for (size_t i = 0; i < o->nreqs; i++)
        if (o->reqs[i].t1 > o->reqs[i].t0 && o->reqs[i].t1 - o->reqs[i].t0 > maxlat)
            maxlat = o->reqs[i].t1 - o->reqs[i].t0;
    o->order = calloc(o->nev + 1, sizeof *o->order);
    if (!o->order)
        abort();
    for (size_t i = 0; i < o->nev; i++)
        o->order[i] = i;
    obs_sorting = o;
    qsort(o->order, o->nev, sizeof *o->order, obs_by_thread);
    for (size_t k = 0; k < o->nev; k++) {
        const struct hunt_ev *e = &o->ev[o->order[k]];
        struct hunt_thread *th = o->nthreads ? &o->threads[o->nthreads - 1] : NULL;
        if (!th || th->pid != e->pid || th->tid != e->tid) {
            o->threads = realloc(o->threads, (size_t)(o->nthreads + 1) * sizeof *o->threads);
            if (!o->threads)
                abort();
            th = &o->threads[o->nthreads++];
            *th = (struct hunt_thread){e->pid, e->tid, e->proc, 0, k, 0};
        }
        th->n++;
    }
    for (int t = 0; t < o->nthreads; t++)
        obs_attribute(o, &o->threads[t], maxlat);
}

/* Each event's first program frame, and each statement's classification
 * (one per distinct text). */
static void obs_annotate(struct hunt_obs *o)
{
    const char **texts = NULL;
    struct hunt_stmt **stmts = NULL;
    size_t n = 0;
    for (size_t k = 0; k < o->nev; k++) {
        struct hunt_ev *e = &o->ev[k];
        for (int i = 0; i < e->nstack && e->site < 0; i++)
            if (hunt_obs_is_program(o, e->proc, e->stack[i]))
                e->site = i;
        if (e->kind != HE_SQL || !e->detail)
            continue;
        size_t i = 0;
        while (i < n && texts[i] != e->detail)
            i++;
        if (i == n) {
            texts = realloc(texts, (n + 1) * sizeof *texts);
            stmts = realloc(stmts, (n + 1) * sizeof *stmts);
            if (!texts || !stmts)
                abort();
            texts[n] = e->detail;
            stmts[n] = malloc(sizeof **stmts);
            if (!stmts[n])
                abort();
            hunt_stmt_parse(e->detail, stmts[n]);
            n++;
        }
        e->stmt = stmts[i];
    }
    o->stmts = stmts;
    o->nstmts = n;
    free(texts);
}

int hunt_obs_load(struct hunt_obs *obs, const char *run_dir, const struct scenario *s,
                  const struct hunt_svcmap *map, char *err, size_t errlen)
{
    struct obs_comms comms = {0};
    char *traces = util_fmt("%s/traces", run_dir), *hist = util_fmt("%s/history.jsonl", run_dir);
    int rc = -1;

    memset(obs, 0, sizeof *obs);
    if (obs_load_start(obs, run_dir) < 0)
        snprintf(err, errlen, "%s/summary.json: no load start (the load never began)", run_dir);
    else if (obs_read_traces(obs, traces, &comms, err, errlen) == 0)
        rc = 0;
    if (rc == 0 && obs_read_history(obs, hist) < 0)
        snprintf(err, errlen, "%s: %s", hist, strerror(errno)), rc = -1;
    free(traces);
    free(hist);
    if (rc < 0)
        return -1;
    qsort(obs->ev, obs->nev, sizeof *obs->ev, obs_by_time);
    for (int i = 0; i < map->n && i < 64; i++)
        obs->svc_ports[obs->nsvc_ports++] = map->ports[i];
    obs_procs(obs, s, map, &comms);
    obs_annotate(obs);
    obs_threads(obs);
    return 0;
}

void hunt_obs_free(struct hunt_obs *obs)
{
    for (size_t k = 0; k < obs->nev; k++)
        free(obs->ev[k].stack);
    for (size_t i = 0; i < obs->nstmts; i++)
        free(obs->stmts[i]);
    for (int i = 0; i < obs->nprocs; i++)
        free(obs->procs[i].funcs);
    free(obs->stmts);
    free(obs->ev);
    free(obs->order);
    free(obs->threads);
    free(obs->reqs);
    free(obs->procs);
    hunt_pool_free(&obs->pool);
    memset(obs, 0, sizeof *obs);
}

enum hunt_send hunt_send_to(const struct hunt_obs *obs, const struct hunt_ev *e)
{
    const char *colon = e->detail ? strrchr(e->detail, ':') : NULL;
    int port = colon ? atoi(colon + 1) : 0, pq = 0;
    if (obs->db_port)
        pq = port == obs->db_port;
    else /* no port to go by: libpq's sends have a PQ* function on the stack */
        for (int f = 0; f < e->nstack && !pq; f++)
            pq = !strncmp(e->stack[f], "PQ", 2);
    if (pq)
        return HS_SEND_DB;
    for (int i = 0; port && i < obs->nsvc_ports; i++)
        if (obs->svc_ports[i] == port)
            return HS_SEND_SERVICE;
    return HS_SEND_CLIENT;
}

/* ---------------------------------------------------------------
 * Paths and gaps.
 * ------------------------------------------------------------ */
/* 1 when f is the innermost program frame of statements of two texts or
 * more in process proc: a helper every path goes through (db_exec). */
static int obs_is_helper(const struct hunt_obs *o, int proc, const char *f)
{
    const char *first = NULL;
    for (size_t k = 0; k < o->nev; k++) {
        const struct hunt_ev *e = &o->ev[k];
        if (e->kind != HE_SQL || e->proc != proc || e->site < 0 || e->stack[e->site] != f)
            continue;
        if (!first)
            first = e->detail;
        else if (e->detail != first)
            return 1;
    }
    return 0;
}

const char *hunt_obs_path_fn(const struct hunt_obs *obs, const struct hunt_ev *e)
{
    for (int i = e->site < 0 ? e->nstack : e->site; i < e->nstack; i++) {
        if (!hunt_obs_is_program(obs, e->proc, e->stack[i]))
            continue;
        if (e->kind != HE_SQL || !obs_is_helper(obs, e->proc, e->stack[i]))
            return e->stack[i];
    }
    return NULL;
}

static int obs_cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

uint64_t hunt_gap_ns(uint64_t *ts, size_t n)
{
    uint64_t *gaps, g;
    if (n < 2)
        return 0;
    qsort(ts, n, sizeof *ts, obs_cmp_u64);
    gaps = malloc((n - 1) * sizeof *gaps);
    if (!gaps)
        abort();
    for (size_t i = 1; i < n; i++)
        gaps[i - 1] = ts[i] - ts[i - 1];
    qsort(gaps, n - 1, sizeof *gaps, obs_cmp_u64);
    g = gaps[(n - 1) / 2];
    free(gaps);
    return g;
}

uint64_t hunt_timeout_ns(uint64_t gap_ns)
{
    uint64_t t = gap_ns * 3;
    if (t < HUNT_TIMEOUT_MIN)
        t = HUNT_TIMEOUT_MIN;
    return t > HUNT_TIMEOUT_MAX ? HUNT_TIMEOUT_MAX : t;
}

uint64_t hunt_delay_ns(uint64_t gap_ns)
{
    uint64_t d = gap_ns + gap_ns / 2;
    if (d < HUNT_DELAY_MIN)
        d = HUNT_DELAY_MIN;
    return d > HUNT_TIMEOUT_MAX ? HUNT_TIMEOUT_MAX : d;
}
