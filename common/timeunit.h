/*
 * timeunit.h - named time units, so a conversion says what it converts
 * (NS_PER_S instead of 1000000000ull, 1e9).  The integer constants are
 * uint64_t; divide by (double)NS_PER_S for seconds as a double.
 */
#ifndef WEDGE_TIMEUNIT_H
#define WEDGE_TIMEUNIT_H

#define NS_PER_US  1000ull
#define NS_PER_MS  1000000ull
#define NS_PER_S   1000000000ull
#define NS_PER_MIN (60ull * NS_PER_S)
#define NS_PER_H   (3600ull * NS_PER_S)
#define US_PER_S   1000000ull
#define MS_PER_S   1000ull

#endif
