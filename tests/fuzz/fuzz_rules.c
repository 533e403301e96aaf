/*
 * fuzz_rules.c - libFuzzer harness of the rule parser (shim/rules*.c).
 *
 * The input is rule text (a NUL ends it, as in WEDGE_RULES).  Beyond the
 * sanitizers, it checks what the parser promises: a refusal always has a
 * message "rules:LINE:COL: text" whose position lies in the input; an
 * accepted set is within its bounds and every rule names a hook; and it
 * takes bounded memory (run with -rss_limit_mb, -malloc_limit_mb).
 */
#include "rules_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* What rules_parse's messages name, in the input text. */
static void check_position(const char *text, const char *err)
{
    int lines = 1, line = 0, col = 0;

    for (const char *p = text; *p; p++)
        lines += *p == '\n';
    if (sscanf(err, "rules:%d:%d: ", &line, &col) != 2)
        abort(); /* a refusal without a position */
    if (line < 1 || line > lines || col < 1)
        abort();
    if (!strstr(err, ": ") || strlen(strstr(err, ": ")) < 3)
        abort(); /* an empty message ("wedge: " and nothing) */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[1024];
    struct wg_ruleset rs;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    if (rules_parse(text, "rules", &rs, err, sizeof err) < 0) {
        check_position(text, err);
        if (rs.n != 0 || rs.rules)
            abort(); /* a refusal leaves nothing behind */
    } else {
        if (rs.n > WG_MAX_RULES || (rs.n == 0) != (rs.rules == NULL))
            abort();
        for (int i = 0; i < rs.n; i++) {
            const struct wg_rule *r = &rs.rules[i];
            if (!r->hooks || (rs.hooks & r->hooks) != r->hooks || r->index != i ||
                r->ncond > WG_MAX_CONDS || r->delay_max_ns < r->delay_min_ns || !r->name[0])
                abort();
        }
        rules_free(&rs);
    }
    free(text);
    return 0;
}
