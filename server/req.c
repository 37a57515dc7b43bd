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

int
req_duration(struct request *req, struct response *resp, const char *key,
    long long *out, int *present)
{
	json_t	*v;

	if ((v = field(req, key, present)) == NULL)
		return CF_OK;
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = json_integer_value(v);
		return CF_OK;
	}
	if (json_is_real(v) && json_real_value(v) >= 0 &&
	    json_real_value(v) < 9.2e18) {
		*out = (long long)json_real_value(v);
		return CF_OK;
	}
	if (json_is_string(v) &&
	    duration_parse(json_string_value(v), out) == CF_OK)
		return CF_OK;
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
 * Vault's parseutil does.  The result is whole seconds, rounded down.
 */
int
duration_parse(const char *s, long long *out)
{
	static const struct {
		const char	*unit;
		double		 secs;
	} units[] = {
		{ "ns", 1e-9 }, { "us", 1e-6 }, { "\xc2\xb5s", 1e-6 },
		{ "ms", 1e-3 }, { "s", 1 }, { "m", 60 }, { "h", 3600 },
	};
	double	 total = 0, v;
	char	*end;
	size_t	 i, ulen;
	int	 neg = 0, found;

	while (isspace((unsigned char)*s))
		s++;
	if (*s == '\0')
		return CF_EINVAL;
	if (strspn(s, "0123456789") == strlen(s)) {
		errno = 0;
		*out = strtoll(s, &end, 10);
		return errno == 0 ? CF_OK : CF_EINVAL;
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
		if (!isdigit((unsigned char)*s) && *s != '.')
			return CF_EINVAL;
		errno = 0;
		v = strtod(s, &end);
		if (end == s || errno != 0)
			return CF_EINVAL;
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
	if (neg || total > 9.2e18)
		return CF_EINVAL;
	*out = (long long)total;
	return CF_OK;
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
void
time_format_rfc3339(char *out, size_t cap, long long sec, long nsec)
{
	struct tm	 tm;
	time_t		 t = (time_t)sec;
	char		 frac[24];
	size_t		 n;
	int		 len;

	gmtime_r(&t, &tm);
	len = (int)strftime(out, cap, "%Y-%m-%dT%H:%M:%S", &tm);
	if (nsec > 0) {
		snprintf(frac, sizeof(frac), ".%09ld", nsec);
		n = strlen(frac);
		while (n > 1 && frac[n - 1] == '0')
			frac[--n] = '\0';
		snprintf(out + len, cap - (size_t)len, "%sZ", frac);
	} else
		snprintf(out + len, cap - (size_t)len, "Z");
}
