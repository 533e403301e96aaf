/*
 * ctl.h - `wedge ctl` between its two files: ctl.c (options, the control
 * file, the commands that change it) and ctl_show.c (what status prints).
 */
#ifndef WEDGE_CLI_CTL_H
#define WEDGE_CLI_CTL_H

#include "ctlfile.h"

/* wedge ctl status: the processes, rules and held callers of reg on
 * stdout, as text or (json) one JSON document.  Returns the exit code. */
int ctl_status(struct ctlf_region *reg, const char *path, int json);
/* How many live processes have taken up generation gen of the rule table
 * (every `wedge ctl add` up to it); *live: how many are attached. */
int ctl_taken_up(struct ctlf_region *reg, uint32_t gen, int *live);
/* How many callers live processes list as held at point (any kind). */
int ctl_count_held(struct ctlf_region *reg, const char *point);

#endif
