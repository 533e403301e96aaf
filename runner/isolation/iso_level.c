/*
 * iso_level.c - isolation levels and outcomes: their names (iso_spec.h).
 */
#include "iso_spec.h"

#include <ctype.h>
#include <string.h>

/* ---------------------------------------------------------------
 * Levels and outcomes.
 * ------------------------------------------------------------ */
static const char *const level_names[ISO_NLEVELS] = {"read-committed", "repeatable-read",
                                                     "serializable"};
static const char *const level_sql[ISO_NLEVELS] = {"READ COMMITTED", "REPEATABLE READ",
                                                   "SERIALIZABLE"};

const char *iso_level_name(enum iso_level l)
{
    return (unsigned)l < ISO_NLEVELS ? level_names[l] : "?";
}

const char *iso_level_sql(enum iso_level l)
{
    return (unsigned)l < ISO_NLEVELS ? level_sql[l] : "?";
}

int iso_level_parse(const char *text, size_t len, enum iso_level *out)
{
    static const struct {
        const char *name;
        enum iso_level level;
    } aliases[] = {
        {"read-committed", ISO_READ_COMMITTED},   {"rc", ISO_READ_COMMITTED},
        {"repeatable-read", ISO_REPEATABLE_READ}, {"rr", ISO_REPEATABLE_READ},
        {"serializable", ISO_SERIALIZABLE},       {"ser", ISO_SERIALIZABLE},
    };
    char buf[32];
    size_t i;

    if (len == 0 || len >= sizeof buf)
        return -1;
    for (i = 0; i < len; i++) {
        char c = (char)tolower((unsigned char)text[i]);
        buf[i] = (c == '_' || c == ' ') ? '-' : c;
    }
    buf[len] = '\0';
    for (i = 0; i < sizeof aliases / sizeof aliases[0]; i++) {
        if (strcmp(buf, aliases[i].name) == 0) {
            *out = aliases[i].level;
            return 0;
        }
    }
    return -1;
}

const char *iso_outcome_name(enum iso_outcome o)
{
    switch (o) {
    case ISO_OCCURS:
        return "occurs";
    case ISO_PREVENTED:
        return "prevented";
    case ISO_ERROR:
        return "error";
    default:
        return "?";
    }
}
