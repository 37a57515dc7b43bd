/*
 * timeutil.h -- durations and times as Vault writes them.
 *
 * A leaf helper (util/): Vault's duration syntax ("90", "30m",
 * "1h30m"), saturating time arithmetic, RFC 3339 timestamps and the
 * clocks in milliseconds.  The
 * request field reader req_duration (req.h) is built on it.
 */
#ifndef COFFER_UTIL_TIMEUTIL_H
#define COFFER_UTIL_TIMEUTIL_H

#include <stddef.h>

/*
 * The longest duration coffer takes, in seconds: what Go's time.Duration
 * holds (about 292 years), beyond which Vault's own arithmetic wraps.
 */
#define DURATION_MAX	9223372036LL

/*
 * Parse Vault's duration syntax into seconds, 0 to DURATION_MAX;
 * CF_EINVAL if bad, negative or out of range.
 */
int	 duration_parse(const char *, long long *);
/*
 * The same, setting *range to 1 when the text was refused only for
 * being beyond DURATION_MAX (or beyond a double), else to 0.
 */
int	 duration_parse_range(const char *, long long *, int *range);

/*
 * t + secs for times and durations in seconds, saturating instead of
 * overflowing, so a stored or computed value out of range can never
 * wrap an expiry into the past.
 */
long long time_add(long long t, long long secs);

/* Milliseconds on the monotonic clock: for deadlines and intervals. */
long long time_mono_ms(void);
/* Milliseconds since the epoch: what two machines can compare. */
long long time_wall_ms(void);

/*
 * RFC 3339 UTC time with nanoseconds, as Vault prints it.  Times before
 * year 0 or after 9999 print as those years' bounds.
 */
void	 time_format_rfc3339(char *, size_t, long long sec, long nsec);

#endif /* COFFER_UTIL_TIMEUTIL_H */
