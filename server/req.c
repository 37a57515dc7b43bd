/*
 * req.c -- helpers for handlers: typed request fields and responses.
 *
 * Field decoding follows Vault's weak typing: an integer may arrive as
 * a JSON number or a numeric string, a boolean as "true", a duration as
 * seconds or "1h30m", a list as an array or a comma-separated string.
 * A value of the wrong type is the caller's fault: 400 with the field's
 * name, never a guess.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "req.h"

void
resp_init(struct response *resp)
{
	memset(resp, 0, sizeof(*resp));
}

void
resp_fini(struct response *resp)
{
	json_decref(resp->data);
	json_decref(resp->auth);
	json_decref(resp->warnings);
	json_decref(resp->wrap_info);
	buf_free(&resp->relay_headers);
	buf_free(&resp->relay_body);
	sodium_memzero(resp, sizeof(*resp));
}

int
resp_fail(struct response *resp, int err, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(resp->err, sizeof(resp->err), fmt, ap);
	va_end(ap);
	return err;
}

int
resp_warn(struct response *resp, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[1024];

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (resp->warnings == NULL && (resp->warnings = json_array()) == NULL)
		return CF_ENOMEM;
	if (json_array_append_new(resp->warnings, json_string(msg)) != 0)
		return CF_ENOMEM;
	return CF_OK;
}

int
resp_data(struct response *resp, json_t *obj)
{
	if (obj == NULL)
		return CF_ENOMEM;
	json_decref(resp->data);
	resp->data = obj;
	return CF_OK;
}

/* The field, or NULL if absent or JSON null. */
static json_t *
field(struct request *req, const char *key, int *present)
{
	json_t	*v;

	v = req->data != NULL ? json_object_get(req->data, key) : NULL;
	if (v != NULL && json_is_null(v))
		v = NULL;
	if (present != NULL)
		*present = v != NULL;
	return v;
}

static int
bad_field(struct response *resp, const char *key, const char *want)
{
	return resp_fail(resp, CF_EINVAL,
	    "Field validation failed: error converting input for field \"%s\": "
	    "expected %s", key, want);
}

int
req_str(struct request *req, struct response *resp, const char *key,
    const char **out, int *present)
{
	json_t	*v;

	*out = NULL;
	if ((v = field(req, key, present)) == NULL)
		return CF_OK;
	if (!json_is_string(v))
		return bad_field(resp, key, "a string");
	*out = json_string_value(v);
	return CF_OK;
}

/* Parse a whole string as a base-10 integer. */
static int
parse_ll(const char *s, long long *out)
{
	char	*end;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return CF_EINVAL;
	errno = 0;
	*out = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return CF_EINVAL;
	return CF_OK;
}

int
req_int(struct request *req, struct response *resp, const char *key,
    long long *out, int *present)
{
	json_t	*v;
	double	 d;

	if ((v = field(req, key, present)) == NULL)
		return CF_OK;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return CF_OK;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d > -9.2e18 && d < 9.2e18 && d == (double)(long long)d) {
			*out = (long long)d;
			return CF_OK;
		}
	}
	if (json_is_string(v) && parse_ll(json_string_value(v), out) == CF_OK)
		return CF_OK;
	return bad_field(resp, key, "an integer");
}

int
req_bool(struct request *req, struct response *resp, const char *key,
    int *out, int *present)
{
	json_t		*v;
	const char	*s;

	if ((v = field(req, key, present)) == NULL)
		return CF_OK;
	if (json_is_boolean(v)) {
		*out = json_is_true(v);
		return CF_OK;
	}
	if (json_is_integer(v) &&
	    (json_integer_value(v) == 0 || json_integer_value(v) == 1)) {
		*out = (int)json_integer_value(v);
		return CF_OK;
	}
	if (json_is_string(v)) {
		s = json_string_value(v);
		if (strcmp(s, "1") == 0 || strcasecmp(s, "t") == 0 ||
		    strcasecmp(s, "true") == 0) {
			*out = 1;
			return CF_OK;
		}
		if (strcmp(s, "0") == 0 || strcasecmp(s, "f") == 0 ||
		    strcasecmp(s, "false") == 0 || *s == '\0') {
			*out = 0;
			return CF_OK;
		}
	}
	return bad_field(resp, key, "a boolean");
}

static int	 dur_parse(const char *, long long *, int *);

static int
bad_duration(struct response *resp, const char *key, const char *text)
{
	return resp_fail(resp, CF_EINVAL,
	    "Field validation failed: error converting input for field \"%s\": "
	    "time: invalid duration \"%s\"", key, text);
}

static int
negative_duration(struct response *resp, const char *key, long long v)
{
	return resp_fail(resp, CF_EINVAL,
	    "Field validation failed: error converting input for field \"%s\": "
	    "cannot provide negative value '%lld'", key, v);
}

/*
 * Vault turns every duration into a Go time.Duration and a negative one
 * into "cannot provide negative value"; one too large for time.Duration
 * wraps there, so coffer refuses it rather than guess.
 */
int
req_duration(struct request *req, struct response *resp, const char *key,
    long long *out, int *present)
{
	json_t		*v;
	const char	*s;
	char		 num[64];
	long long	 n;
	double		 d;
	int		 range = 0;

	if ((v = field(req, key, present)) == NULL)
		return CF_OK;
	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n < 0)
			return negative_duration(resp, key, n);
		if (n > DURATION_MAX) {
			snprintf(num, sizeof(num), "%lld", n);
			return bad_duration(resp, key, num);
		}
		*out = n;
		return CF_OK;
	}
	if (json_is_real(v)) {
		d = json_real_value(v);
		if (d <= -1 && d >= -DURATION_MAX)
			return negative_duration(resp, key, (long long)d);
		if (d > -1 && d <= DURATION_MAX) {
			*out = d > 0 ? (long long)d : 0;
			return CF_OK;
		}
		snprintf(num, sizeof(num), "%g", d);
		return bad_duration(resp, key, num);
	}
	if (!json_is_string(v))
		return bad_field(resp, key, "a duration");
	s = json_string_value(v);
	if (dur_parse(s, out, &range) == CF_OK)
		return CF_OK;
	if (range)
		return bad_duration(resp, key, s);
	/* "-5" or "-5m": negative, though well formed. */
	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == '-' && (isdigit((unsigned char)s[1]) || s[1] == '.')) {
		if (dur_parse(s + 1, &n, &range) == CF_OK) {
			if (n == 0) {
				*out = 0;
				return CF_OK;
			}
			return negative_duration(resp, key, -n);
		}
		if (range)
			return bad_duration(resp, key, json_string_value(v));
	}
	return bad_field(resp, key, "a duration");
}

int
req_strlist(struct request *req, struct response *resp, const char *key,
    struct strv *out, int *present)
{
	json_t		*v, *e;
	size_t		 i, len;
	const char	*s, *p, *end;

	if ((v = field(req, key, present)) == NULL)
		return CF_OK;
	if (json_is_array(v)) {
		json_array_foreach(v, i, e) {
			if (!json_is_string(e))
				return bad_field(resp, key, "a list of strings");
			s = json_string_value(e);
			while (*s == ' ')
				s++;
			len = strlen(s);
			while (len > 0 && s[len - 1] == ' ')
				len--;
			if (len > 0 && strv_pushn(out, s, len) != CF_OK)
				return CF_ENOMEM;
		}
		return CF_OK;
	}
	if (!json_is_string(v))
		return bad_field(resp, key, "a list of strings");
	s = json_string_value(v);
	while (*s != '\0') {
		end = strchr(s, ',');
		if (end == NULL)
			end = s + strlen(s);
		p = s;
		while (p < end && *p == ' ')
			p++;
		len = (size_t)(end - p);
		while (len > 0 && p[len - 1] == ' ')
			len--;
		if (len > 0 && strv_pushn(out, p, len) != CF_OK)
			return CF_ENOMEM;
		s = *end == ',' ? end + 1 : end;
	}
	return CF_OK;
}

static int
emit_cb(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == CF_OK ? 0 : -1;
}

int
json_emit(const json_t *j, struct buf *out)
{
	if (json_dump_callback(j, emit_cb, out, JSON_COMPACT |
	    JSON_ENCODE_ANY) != 0)
		return CF_ENOMEM;
	return CF_OK;
}

/*
 * Go's time.ParseDuration units, plus a bare number meaning seconds as
 * Vault's parseutil does.  The result is whole seconds, rounded down,
 * and never more than DURATION_MAX: *range is set when that is why
 * the text was refused.
 */
static int
dur_parse(const char *s, long long *out, int *range)
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

	return dur_parse(s, out, &range);
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

void
uuid_generate(char *out)
{
	unsigned char	 u[16];

	randombytes_buf(u, sizeof(u));
	u[6] = (u[6] & 0x0f) | 0x40;
	u[8] = (u[8] & 0x3f) | 0x80;
	snprintf(out, REQ_ID_LEN + 1,
	    "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
	    "%02x%02x%02x%02x%02x%02x",
	    u[0], u[1], u[2], u[3], u[4], u[5], u[6], u[7], u[8], u[9],
	    u[10], u[11], u[12], u[13], u[14], u[15]);
}

/*
 * Go prints RFC 3339 with nanoseconds and trailing zeros dropped:
 * "2026-11-22T14:42:07.123456789Z", or no fraction at all when it is 0.
 */
/* 0000-01-01T00:00:00Z and 9999-12-31T23:59:59Z: what RFC 3339 can say. */
#define RFC3339_MIN	(-62167219200LL)
#define RFC3339_MAX	253402300799LL

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
	char		 frac[24];
	size_t		 n, len;
	int		 w;

	if (cap == 0)
		return;
	if (sec < RFC3339_MIN)
		sec = RFC3339_MIN;
	else if (sec > RFC3339_MAX)
		sec = RFC3339_MAX;
	t = (time_t)sec;
	/* Not strftime: glibc's %Y does not pad years below 1000. */
	if ((long long)t != sec || gmtime_r(&t, &tm) == NULL ||
	    (w = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	    tm.tm_min, tm.tm_sec)) < 0 || (size_t)w >= cap) {
		snprintf(out, cap, "0001-01-01T00:00:00Z");
		return;
	}
	len = (size_t)w;
	if (nsec > 0 && nsec < 1000000000L) {
		snprintf(frac, sizeof(frac), ".%09ld", nsec);
		n = strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		snprintf(out + len, cap - len, "%sZ", frac);
	} else
		snprintf(out + len, cap - len, "Z");
}
