/*
 * xmlw.c - XML 1.0 text for every junit.xml writer (xmlw.h).
 */
#include "xmlw.h"

void xw_string(FILE *f, const char *s)
{
    for (; s && *s; s++) {
        unsigned char c = (unsigned char)*s;
        switch (c) {
        case '&':
            fputs("&amp;", f);
            break;
        case '<':
            fputs("&lt;", f);
            break;
        case '>':
            fputs("&gt;", f);
            break;
        case '"':
            fputs("&quot;", f);
            break;
        case '\'':
            fputs("&apos;", f);
            break;
        default:
            fputc((c < 0x20 && c != '\n' && c != '\t' && c != '\r') || c == 0x7f ? '?' : c, f);
        }
    }
}
