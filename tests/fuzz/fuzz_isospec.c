/*
 * fuzz_isospec.c - libFuzzer harness of the isolation-spec parser
 * (runner/isolation/iso_spec.c, both readings: PostgreSQL's spec syntax
 * and wedge's own).
 *
 * Beyond the sanitizers: a refusal always has a message naming the spec.
 */
#include "iso_spec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1), err[2048];
    struct iso_spec spec;

    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    err[0] = '\0';
    if (iso_spec_parse(text, "fuzz.spec", &spec, err, sizeof err) < 0) {
        if (strncmp(err, "fuzz.spec", 9) != 0 || strlen(err) < 12)
            abort(); /* a refusal that does not name the spec, or says nothing */
    } else {
        iso_spec_free(&spec);
    }
    free(text);
    return 0;
}
