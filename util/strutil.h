/*
 * strutil.h -- small helpers on NUL-terminated strings that more than
 * one module needs and libc does not give.
 *
 * A leaf helper (util/): no allocation, no locale beyond the C one.
 */
#ifndef COFFER_UTIL_STRUTIL_H
#define COFFER_UTIL_STRUTIL_H

/*
 * Lower-case s in place, byte by byte with tolower(3) (ASCII letters
 * in the C locale; other bytes, UTF-8 included, are left as they are).
 * Returns s; NULL is passed through.
 */
char	*strutil_lower(char *s);

#endif /* COFFER_UTIL_STRUTIL_H */
