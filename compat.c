/*
 * compat.c -- libc functions that some platforms lack.
 * glibc 2.36 has neither strlcpy nor strtonum.
 */
#include "config.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#if !HAVE_STRLCPY
size_t
strlcpy(char *dst, const char *src, size_t dsize)
{
	size_t	 len = strlen(src);

	if (dsize > 0) {
		size_t	 n = len < dsize - 1 ? len : dsize - 1;

		memcpy(dst, src, n);
		dst[n] = '\0';
	}
	return len;
}
#endif

#if !HAVE_STRTONUM
long long
strtonum(const char *s, long long min, long long max, const char **errstr)
{
	long long	 v = 0;
	char		*end;
	int		 saved = errno;

	*errstr = NULL;
	if (min > max) {
		*errstr = "invalid";
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (s == end || *end != '\0')
		*errstr = "invalid";
	else if ((v == LLONG_MIN && errno == ERANGE) || v < min)
		*errstr = "too small";
	else if ((v == LLONG_MAX && errno == ERANGE) || v > max)
		*errstr = "too large";
	errno = saved;
	if (*errstr != NULL)
		return 0;
	return v;
}
#endif
