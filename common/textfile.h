/*
 * textfile.h - reading a whole text file that a user names as input (a
 * rules file): a regular file, at most a given size, and text.
 *
 * Each refusal is a message instead of a silent surprise: a directory or
 * a FIFO (/dev/zero, a named pipe) would be read as nothing or forever; a
 * file past the cap would be read until memory runs out; a NUL byte would
 * end the text early and what follows it would silently not apply.
 */
#ifndef WEDGE_TEXTFILE_H
#define WEDGE_TEXTFILE_H

#include <stddef.h>

/* The largest rules file (WEDGE_RULES_FILE, `wedge check --rules-file`, a
 * scenario's rules_file), the same for the shim and the runner. */
#define TEXTFILE_RULES_MAX (1024 * 1024)

/*
 * Read the file at path into a malloc'd, NUL-terminated buffer (*out, its
 * length in *len when len is given).  0 on success; -1 with the reason in
 * err (without the path: "not a regular file", "larger than 1048576
 * bytes", "LINE:COL: a NUL byte; ...") and errno set.
 */
int textfile_read(const char *path, size_t max, char **out, size_t *len, char *err, size_t errlen);

#endif
