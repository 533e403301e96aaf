/*
 * util.h - small helpers shared by the runner's parts: clocks, free ports,
 * files and directories, the shim's location, child processes, signals.
 *
 * Everything here is thread-safe unless a function says otherwise.
 */
#ifndef WEDGE_UTIL_H
#define WEDGE_UTIL_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Monotonic clock, nanoseconds. */
uint64_t util_now_ns(void);
/* Wall clock, seconds since the epoch. */
double util_wall_s(void);
/* Sleep ns (restarted on EINTR unless the stop flag is set). */
void util_sleep_ns(uint64_t ns);

/* A free TCP port on 127.0.0.1 (bind port 0, read it back, release).
 * -1 with err on failure. */
int util_free_port(char *err, size_t errlen);

/* mkdir -p; 0 or -1 with errno. */
int util_mkdir_p(const char *path, mode_t mode);
/* rm -rf (does not follow symlinks); 0 or -1 with errno. */
int util_rm_rf(const char *path);
/* Write text to path through a new temporary file in the same directory
 * (mode 0600, O_EXCL: never through a symlink), renamed over path, so a
 * reader sees the old or the new text, never part of it.  0, or -1 with a
 * message naming the path in err. */
int util_write_private(const char *path, const char *text, char *err, size_t errlen);
/* The last maxbytes of a file, starting at a line boundary; malloc'd,
 * "" when the file is missing or empty.  Never NULL. */
char *util_file_tail(const char *path, size_t maxbytes);
/* Read a whole file; malloc'd, NULL with errno on failure. */
char *util_read_file(const char *path, size_t *len);
/* 1 if the file contains needle. */
int util_file_contains(const char *path, const char *needle);
/* asprintf that aborts on out-of-memory. */
char *util_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* w as one word for a POSIX shell: as it is when it needs no quoting,
 * else single-quoted ('\'' for a quote inside).  malloc'd. */
char *util_shell_word(const char *w);

/* Directory of the running wedge binary (/proc/self/exe). */
const char *util_self_dir(void);
/* Directory that ${build} means: $WEDGE_BUILD, else LIBEXECDIR/wedge
 * when it exists relative to the wedge binary (installed), else the
 * directory of the wedge binary (build/bin in a build tree). */
const char *util_build_dir(void);
/* Find libwedge.so: $WEDGE_SHIM, else ../lib/libwedge.so next to the
 * wedge binary, else the install libdir relative to the binary, else the
 * build tree's lib, else the configured install libdir.
 * -1 with err when none exists. */
int util_find_shim(char *out, size_t len, char *err, size_t errlen);
/* The LD_PRELOAD value for a child: sanitizer runtime (when the build has
 * one), the shim, then an LD_PRELOAD already in the environment. */
int util_preload_value(const char *shim, char *out, size_t len);

/* Exit code of a wait status: the status, or 128+signal. */
int util_exit_code(int status);
/* waitpid(pid) for at most timeout_ns (0: just poll).  1 when it exited
 * (*status set), 0 on timeout, -1 on error (not our child). */
int util_wait_pid(pid_t pid, uint64_t timeout_ns, int *status);
/* Random 64-bit seed from getrandom(2), never 0. */
uint64_t util_random_seed(void);
/* nbytes random bytes from getrandom(2) as lowercase hex into out (room
 * for 2 * nbytes + 1); for secrets, so there is no fallback: -1 with errno
 * when the kernel gives none. */
int util_random_hex(char *out, size_t nbytes);
/* splitmix64 of a and b: derived seeds (per repetition, per service). */
uint64_t util_mix(uint64_t a, uint64_t b);

/* The message for getopt_long's '?' (call it with opterr = 0 in the
 * default case): "wedge: CMD: unknown option '--x' (see wedge CMD --help)",
 * or "... missing value for option '--seed' (...)" when a known option lacks
 * its value ("no value expected for option" for --flag=VALUE).  argv, optstring and longopts as given to getopt_long.
 * Returns WEDGE_USAGE.  Not thread-safe (optind). */
struct option;
int util_bad_option(const char *cmd, char *const *argv, const char *optstring,
                    const struct option *longopts);

/* An option's duration (common/duration.h): 0, or -1 after printing
 * "wedge: CMD: OPT 'TEXT': expected a duration such as 5s ..." (or "out of
 * range ...") to stderr. */
int util_duration_arg(const char *cmd, const char *opt, const char *text, uint64_t *ns);

/* SIGINT / SIGTERM: set util_stop (the signal number) and return; the
 * main loop cleans up (every wait in the runner is bounded). */
extern volatile sig_atomic_t util_stop;
void util_install_signals(void);

#endif
