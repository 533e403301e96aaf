/*
 * duration.c - "20ms", "1.5s", "1m" -> nanoseconds (duration.h).
 *
 * Integer arithmetic only: a double cannot hold every nanosecond count,
 * and the overflow test must be exact (18446744073.9s once wrapped to
 * 190 ms and passed as a short delay).
 */
#include "duration.h"

#include <string.h>

#include "timeunit.h"

static const struct {
    const char *unit;
    uint64_t ns;
} duration_units[] = {
    {"ns", 1},       {"us", NS_PER_US}, {"ms", NS_PER_MS},
    {"s", NS_PER_S}, {"m", NS_PER_MIN}, {"h", NS_PER_H},
};

/* Digits s[0..len) as a number; DURATION_RANGE past UINT64_MAX. */
static enum duration_rc duration_digits(const char *s, size_t len, uint64_t *out)
{
    uint64_t v = 0;

    for (size_t i = 0; i < len; i++) {
        uint64_t d = (uint64_t)(s[i] - '0');
        if (v > (UINT64_MAX - d) / 10)
            return DURATION_RANGE;
        v = v * 10 + d;
    }
    *out = v;
    return DURATION_OK;
}

static size_t duration_span_digits(const char *s, size_t len)
{
    size_t i = 0;

    while (i < len && s[i] >= '0' && s[i] <= '9')
        i++;
    return i;
}

enum duration_rc duration_parse(const char *s, size_t len, uint64_t *ns)
{
    size_t ni, nf = 0, i;
    uint64_t ip, fp = 0, scale = 1;
    const char *frac = NULL;

    if (!s)
        return DURATION_BAD;
    ni = duration_span_digits(s, len);
    if (ni == 0)
        return DURATION_BAD;
    i = ni;
    if (i < len && s[i] == '.') {
        frac = s + ++i;
        nf = duration_span_digits(frac, len - i);
        if (nf == 0 || nf > 9)
            return DURATION_BAD;
        i += nf;
    }
    if (i == len) { /* a bare number: only zero needs no unit */
        for (size_t k = 0; k < i; k++)
            if (s[k] != '0' && s[k] != '.')
                return DURATION_BAD;
        *ns = 0;
        return DURATION_OK;
    }
    for (size_t u = 0; u < sizeof duration_units / sizeof duration_units[0]; u++) {
        uint64_t m = duration_units[u].ns, whole, part;
        if (len - i != strlen(duration_units[u].unit) ||
            memcmp(s + i, duration_units[u].unit, len - i) != 0)
            continue;
        if (duration_digits(s, ni, &ip) != DURATION_OK)
            return DURATION_RANGE;
        if (frac) {
            duration_digits(frac, nf, &fp); /* at most 9 digits: fits */
            for (size_t k = 0; k < nf; k++)
                scale *= 10;
        }
        if (ip > UINT64_MAX / m)
            return DURATION_RANGE;
        whole = ip * m;
        /* fp < scale <= 1e9 and m <= 3.6e12: the product needs 128 bits */
        part = (uint64_t)(((unsigned __int128)fp * m + scale / 2) / scale);
        if (whole > UINT64_MAX - part)
            return DURATION_RANGE;
        *ns = whole + part;
        return DURATION_OK;
    }
    return DURATION_BAD;
}

enum duration_rc duration_parse_str(const char *s, uint64_t *ns)
{
    return s ? duration_parse(s, strlen(s), ns) : DURATION_BAD;
}
