/*
 * xmlw.h - XML text for every junit.xml writer.  Thread-safe.
 */
#ifndef WEDGE_XMLW_H
#define WEDGE_XMLW_H

#include <stdio.h>

/* XML 1.0 text or attribute value into f: markup and quotes escaped,
 * control characters (not allowed in XML 1.0) but tab, newline and
 * carriage return replaced by '?'.  NULL writes nothing. */
void xw_string(FILE *f, const char *s);

#endif
