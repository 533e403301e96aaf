/*
 * iso_run.c - the state of a run every part of it records into
 * (iso_run.h): its first fatal condition, a step's result.  Below the step
 * engine (iso_driver.c), the log formats (iso_log.c) and the cells
 * (iso_cell.c), which all call it; it calls none of them.
 */
#include "iso_run.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int run_fail(struct run *r, int code, const char *fmt, ...)
{
    va_list ap;

    if (r->fatal)
        return -1; /* keep the first cause */
    va_start(ap, fmt);
    vsnprintf(r->err, sizeof r->err, fmt, ap);
    va_end(ap);
    r->fatal = code;
    return -1;
}

void step_res_clear(struct step_res *s)
{
    free(s->errmsg);
    free(s->value);
    memset(s, 0, sizeof *s);
    s->rows = -1;
}
