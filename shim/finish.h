/*
 * finish.h - the end of a traced process (finish.c): the summary last,
 * counting every fire, at exit and at SIGTERM.
 */
#ifndef WEDGE_FINISH_H
#define WEDGE_FINISH_H

/* Disarm, close the engine, write the summary; once per process (a second
 * call returns at once).  `end` is what the summary records: "exit" or
 * "SIGTERM".  Async-signal-safe in practice (finish.c). */
void finish_run(const char *end);

/* Where SIGTERM is SIG_DFL, a handler that writes the summary and then
 * ends the process as SIG_DFL does.  Call from the constructor, only when
 * tracing. */
void finish_install_sigterm(void);

#endif
