/*
 * timeutil.c -- durations and times as Vault writes them.
 *
 * Durations follow Go's time.ParseDuration plus parseutil's bare
 * seconds; times saturate rather than wrap; timestamps print as Go
 * prints RFC 3339.  No state, no locks: safe from any thread.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "err.h"
#include "timeutil.h"

/*
 * Go's time.ParseDuration units, plus a bare number meaning seconds as
 * Vault's parseutil does.  The result is whole seconds, rounded down,
 * and never more than DURATION_MAX: *range is set when that is why
 * the text was refused.
 */
int
duration_parse_range(const char *s, long long *out, int *range)
{
	static const struct {
		const char	*unit;
		double		 secs;
	} units[] = {
		{ "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 },
		{ "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
	};
	double		 total = 0, v;
	long long	 n;
	char		*end;
	size_t		 i, ulen, len;
	int		 neg = 0, found;

	*range = 0;
	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return CF_EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		n = strtoll(s, &end, 10);
		if (errno == ERANGE || n > DURATION_MAX) {
			*range = 1;
			return CF_EINVAL;
		}
		if (errno != 0)
			return CF_EINVAL;
		*out = n;
		return CF_OK;
	}
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return CF_OK;
	}
	while (*s != '\0') {
		/* Digits and a point only: strtod would take "1e5" or hex. */
		if ((len = strspn(s, "0123456789.")) == 0)
			return CF_EINVAL;
		errno = 0;
		v = strtod(s, &end);
		if (end != s + len)
			return CF_EINVAL;
		if (errno == ERANGE) {
			*range = 1;
			return CF_EINVAL;
		}
		s = end;
		found = 0;
		/* Longest unit first: "ms" before "m". */
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			ulen = strlen(units[i].unit);
			if (strncmp(s, units[i].unit, ulen) == 0) {
				total += v * units[i].secs;
				s += ulen;
				found = 1;
				break;
			}
		}
		if (!found)
			return CF_EINVAL;
	}
	if (neg)
		return CF_EINVAL;
	if (!(total < (double)DURATION_MAX + 1)) {
		*range = 1;
		return CF_EINVAL;
	}
	*out = (long long)total;
	return CF_OK;
}

int
duration_parse(const char *s, long long *out)
{
	int	 range;

	return duration_parse_range(s, out, &range);
}

/*
 * Saturate at a quarter of the range, so that the difference of two
 * results (an expiry minus now) cannot overflow either.
 */
#define TIME_SAT	(LLONG_MAX / 4)

long long
time_add(long long t, long long secs)
{
	if (t > TIME_SAT)
		t = TIME_SAT;
	else if (t < -TIME_SAT)
		t = -TIME_SAT;
	if (secs > TIME_SAT)
		secs = TIME_SAT;
	else if (secs < -TIME_SAT)
		secs = -TIME_SAT;
	t += secs;		/* at most 2 * TIME_SAT: no overflow */
	if (t > TIME_SAT)
		return TIME_SAT;
	if (t < -TIME_SAT)
		return -TIME_SAT;
	return t;
}

/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what RFC 3339 can say. */
#define RFC3339_MIN	(-62167219200LL)
#define RFC3339_MAX	253402300799LL

/* n as exactly w decimal digits, zero-padded, at p; past them. */
static char *
zpad(char *p, unsigned long n, int w)
{
	int	 i;

	for (i = w - 1; i >= 0; i--) {
		p[i] = (char)('0' + n % 10);
		n /= 10;
	}
	return p + w;
}

/*
 * Go prints RFC 3339 with nanoseconds and trailing zeros dropped:
 * "2026-11-22T14:42:07.123456789Z", or no fraction at all when it is 0.
 * A time the calendar cannot give (gmtime_r fails, as for a time_t too
 * small to hold it) prints as Go's zero time, never from an unset tm.
 */
void
time_format_rfc3339(char *out, size_t cap, long long sec, long nsec)
{
	struct tm	 tm;
	time_t		 t;
	char		 s[40], *p = s;

	if (cap == 0)
		return;
	if (sec < RFC3339_MIN)
		sec = RFC3339_MIN;
	else if (sec > RFC3339_MAX)
		sec = RFC3339_MAX;
	t = (time_t)sec;
	if ((long long)t != sec || gmtime_r(&t, &tm) == NULL) {
		strlcpy(out, "0001-01-01T00:00:00Z", cap);
		return;
	}
	/*
	 * Digit by digit, not snprintf: audit entries format several
	 * times a request, and snprintf cost ten times as much.
	 */
	p = zpad(p, (unsigned long)tm.tm_year + 1900, 4);
	*p++ = '-';
	p = zpad(p, (unsigned long)tm.tm_mon + 1, 2);
	*p++ = '-';
	p = zpad(p, (unsigned long)tm.tm_mday, 2);
	*p++ = 'T';
	p = zpad(p, (unsigned long)tm.tm_hour, 2);
	*p++ = ':';
	p = zpad(p, (unsigned long)tm.tm_min, 2);
	*p++ = ':';
	p = zpad(p, (unsigned long)tm.tm_sec, 2);
	if (nsec > 0 && nsec < 1000000000L) {
		*p++ = '.';
		p = zpad(p, (unsigned long)nsec, 9);
		while (p[-1] == '0')		/* nsec > 0: stops at a digit */
			p--;
	}
	*p++ = 'Z';
	*p = '\0';
	strlcpy(out, s, cap);
}

long long
time_mono_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long
time_wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
