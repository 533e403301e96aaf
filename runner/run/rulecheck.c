/*
 * rulecheck.c - rules validated by the shim's own parser, so `wedge check`
 * and `wedge run` (before it starts anything) accept exactly what the shim
 * will: a child runs /bin/true under LD_PRELOAD=libwedge.so with the text
 * in WEDGE_RULES, and its first message is the verdict.
 */
#include "rulecheck.h"
#include "svc.h"
#include "timeunit.h"
#include "util.h"
#include "wedge_exit.h"

#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* How long the shim may take to accept or reject a rule text. */
#define RULECHECK_NS (10 * NS_PER_S)

/* The child: /bin/true under the shim with its rules given as kv
 * ("WEDGE_RULES=..." or "WEDGE_RULES_FILE=..."), stderr to the pipe; the
 * shim speaks before main, or not at all. */
static void rulecheck_child(const char *preload, char *kv, int fds[2])
{
    dup2(fds[1], 2);
    close(fds[0]);
    setenv("LD_PRELOAD", preload, 1);
    unsetenv("WEDGE_RULES");
    unsetenv("WEDGE_RULES_FILE");
    putenv(kv);
    unsetenv("WEDGE_TRACE");
    unsetenv("WEDGE_CTL");
    unsetenv("WEDGE_ON_ERROR");
    execl("/bin/true", "true", (char *)NULL);
    dprintf(2, "wedge: cannot run the rules check: %s\n", strerror(errno));
    _exit(127);
}

/* Read the shim's message from fd until EOF into buf, but no longer than
 * the wait after it allows: a child that hangs with the pipe open must not
 * hang us. */
static void rulecheck_read(int fd, char *buf, size_t len)
{
    size_t n = 0;

    for (uint64_t deadline = util_now_ns() + RULECHECK_NS; util_now_ns() < deadline;) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int ready = poll(&pfd, 1, (int)((deadline - util_now_ns()) / NS_PER_MS + 1));
        ssize_t r;
        if (ready == 0)
            break;
        if (ready < 0)
            continue; /* EINTR: the deadline is checked again */
        r = read(fd, buf + n, len - 1 - n);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        n += (size_t)r;
        if (n == len - 1)
            break;
    }
    buf[n] = '\0';
}

/* The first line of the shim's message, without its "wedge: " prefix. */
static void rulecheck_message(char *buf, char *err, size_t errlen)
{
    char *msg = buf, *w = strstr(buf, "wedge: ");

    if (w)
        msg = w + strlen("wedge: ");
    msg[strcspn(msg, "\n")] = '\0';
    snprintf(err, errlen, "%s", *msg ? msg : "rules rejected by the shim");
}

int rulecheck_text(const char *text, char *err, size_t errlen)
{
    const char *tmp = getenv("TMPDIR");
    char shim[PATH_MAX], preload[3 * PATH_MAX], buf[2048], spill_dir[PATH_MAX], spill[PATH_MAX + 8];
    char *kv = NULL;
    int fds[2] = {-1, -1}, status = 0, rc = -1, spilled = strlen(text) > RULES_ENV_MAX;
    pid_t pid;

    snprintf(spill_dir, sizeof(spill_dir), "%s/wedge-rulecheck-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (util_find_shim(shim, sizeof(shim), err, errlen) < 0)
        return -1;
    /* As a run gives them: in WEDGE_RULES, or a file when too long for the
     * environment (in a directory of our own, removed after). */
    if (spilled && !mkdtemp(spill_dir)) {
        snprintf(err, errlen, "%s: %s", spill_dir, strerror(errno));
        return -1;
    }
    snprintf(spill, sizeof(spill), "%s/rules", spill_dir);
    kv = svc_rules_env(text, spill, err, errlen);
    if (!kv)
        goto out;
    if (util_preload_value(shim, preload, sizeof(preload)) < 0 || pipe(fds) < 0) {
        snprintf(err, errlen, "cannot run the rules check: %s", strerror(errno));
        goto out;
    }
    pid = fork();
    if (pid < 0) {
        snprintf(err, errlen, "fork: %s", strerror(errno));
        goto out;
    }
    if (pid == 0)
        rulecheck_child(preload, kv, fds);
    close(fds[1]);
    fds[1] = -1;
    rulecheck_read(fds[0], buf, sizeof(buf));
    if (util_wait_pid(pid, RULECHECK_NS, &status) != 1) {
        kill(pid, SIGKILL);
        util_wait_pid(pid, 2 * NS_PER_S, &status);
        snprintf(err, errlen, "the rules check did not finish");
        goto out;
    }
    if (util_exit_code(status) == 0)
        rc = 0;
    else
        rulecheck_message(buf, err, errlen);
    /* The shim names the file it read: say rules:LINE:COL as for text. */
    if (rc < 0 && spilled && !strncmp(err, spill, strlen(spill)) && err[strlen(spill)] == ':')
        memmove(err + 5, err + strlen(spill), strlen(err + strlen(spill)) + 1),
            memcpy(err, "rules", 5);
out:
    if (fds[0] >= 0)
        close(fds[0]);
    if (fds[1] >= 0)
        close(fds[1]);
    if (spilled) {
        unlink(spill);
        rmdir(spill_dir);
    }
    free(kv);
    return rc;
}

/* Rules of one process, composed and expanded as its run does (self: the
 * service whose ${port} they may name), through the shim's parser.  The
 * message names the line of the process's own rules (else the scenario's,
 * else the section's header). */
static int rulecheck_set(const struct scenario *s, const char *what, int line, const char *self,
                         const char *rules, const char *rules_file)
{
    struct exp_standin st;
    char err[1024], where[512], *text;
    int rc = 0;

    exp_standin(s, &st);
    st.e.service = self;
    text = svc_rules_text(s, rules, rules_file, &st.e, err, sizeof(err));
    if (!text || (text[0] && rulecheck_text(text, err, sizeof(err)) < 0)) {
        fprintf(stderr, "wedge: %s: %s: %s\n", scn_where(s, line, where, sizeof(where)), what, err);
        rc = WEDGE_USAGE;
    }
    free(text);
    return rc;
}

int rulecheck_scenario(const struct scenario *s)
{
    int rc = 0;
    if (s->rules && !s->nservices && !s->njobs)
        rc |= rulecheck_set(s, "rules", s->rules_line ? s->rules_line : 1, NULL, NULL, NULL);
    for (int i = 0; i < s->nservices; i++) {
        const struct scn_service *v = &s->services[i];
        char *what = util_fmt("%s %s", v->is_proxy ? "proxy" : "service", v->name);
        int line = v->rules_line ? v->rules_line : s->rules_line ? s->rules_line : v->line;
        rc |= rulecheck_set(s, what, line, v->name, v->rules, v->rules_file);
        free(what);
    }
    for (int i = 0; i < s->njobs; i++) {
        const struct scn_job *j = &s->jobs[i];
        char *what = util_fmt("job %s", j->name);
        int line = j->rules_line ? j->rules_line : s->rules_line ? s->rules_line : j->line;
        rc |= rulecheck_set(s, what, line, NULL, j->rules, j->rules_file);
        free(what);
    }
    return rc ? WEDGE_USAGE : WEDGE_PASS;
}
