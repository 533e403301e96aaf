/*
 * fuzz_scenario.c - libFuzzer harness of the scenario parser
 * (runner/scenario: scn_load and what it calls, libinih included).
 *
 * The input is a scenario file, given to scn_load through a memfd.
 * Beyond the sanitizers: a refusal always has a message naming the file
 * ("PATH:LINE: text", or "PATH: ..." for the file as a whole) at a line
 * inside the input; an accepted scenario keeps its promised ranges.
 */
#include "scn.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[64], err[2048];
    struct scenario s;
    int fd = memfd_create("scn", MFD_CLOEXEC), lines = 1, line = 0;

    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    for (size_t i = 0; i < size; i++)
        lines += data[i] == '\n';
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    err[0] = '\0';
    if (scn_load(path, &s, err, sizeof err) < 0) {
        size_t pl = strlen(path);
        if (strncmp(err, path, pl) != 0 || err[pl] != ':' || strlen(err) < pl + 3)
            abort(); /* a refusal that does not name the file, or says nothing */
        if (sscanf(err + pl, ":%d:", &line) == 1 && (line < 1 || line > lines + 1))
            abort(); /* a line outside the input */
    } else {
        if (s.users < 1 || s.nservices < 0 || s.njobs < 0 || s.nrequests < 0 || s.ninvariants < 0)
            abort();
        scn_free(&s);
    }
    close(fd);
    return 0;
}
