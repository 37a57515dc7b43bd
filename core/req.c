/*
 * req.c -- helpers for handlers: typed request fields and responses.
 *
 * Field decoding follows Vault's weak typing: an integer may arrive as
 * a JSON number or a numeric string, a boolean as "true", a duration as
 * seconds or "1h30m", a list as an array or a comma-separated string.
 * A value of the wrong type is the caller's fault: 400 with the field's
 * name, never a guess.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "req.h"
#include "timeutil.h"

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
	buf_free(&resp->text);
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

int
resp_tidy_started(struct response *resp)
{
	resp->status = 202;
	return resp_warn(resp, "Tidy operation successfully started. Any "
	    "information from the operation will be printed to Vault's "
	    "server logs.");
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
	if (duration_parse_range(s, out, &range) == CF_OK)
		return CF_OK;
	if (range)
		return bad_duration(resp, key, s);
	/* "-5" or "-5m": negative, though well formed. */
	while (isspace((unsigned char)*s))
		s++;
	if (s[0] == '-' && (isdigit((unsigned char)s[1]) || s[1] == '.')) {
		if (duration_parse_range(s + 1, &n, &range) == CF_OK) {
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
