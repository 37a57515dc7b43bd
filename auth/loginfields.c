/*
 * loginfields.c -- the token_* settings that login methods keep on
 * their users (userpass) and roles (approle).
 *
 * Settings coffer cannot honour (bound CIDR lists, batch tokens from
 * logins) are refused rather than stored: a CIDR list that is never
 * checked would be worse than none.  Which legacy names were used is
 * kept under "legacy" so that reads show them back, as Vault does.
 */
#include "config.h"

#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "loginfields.h"
#include "req.h"
#include "strutil.h"
#include "token.h"
#include "token_cidrs.h"
#include "tokenapi.h"

static long long	 field_int(json_t *, const char *);

/* Mark (or unmark) that a field was last written by its legacy name. */
static void
legacy_note(json_t *stored, const char *legacy, int used)
{
	json_t	*l = json_object_get(stored, "legacy");

	if (l == NULL) {
		if (!used)
			return;
		json_object_set_new(stored, "legacy", l = json_object());
	}
	if (used)
		json_object_set_new(l, legacy, json_true());
	else
		json_object_del(l, legacy);
}

static int
read_list(struct request *req, struct response *resp, const char *key,
    const char *name, json_t *stored, int *present)
{
	struct strv	 list = STRV_INIT;
	json_t		*arr;
	size_t		 j;
	int		 rc;

	if ((rc = req_strlist(req, resp, key, &list, present)) != CF_OK ||
	    !*present)
		goto out;
	if ((arr = json_array()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (j = 0; j < list.n; j++) {
		json_array_append_new(arr, json_string(strutil_lower(
		    list.v[j])));
	}
	json_object_set_new(stored, name, arr);
 out:
	strv_free(&list);
	return rc;
}

static int
read_type(struct request *req, struct response *resp, const char *key,
    const char *name, json_t *stored, int *present)
{
	const char	*s;
	int		 rc;

	if ((rc = req_str(req, resp, key, &s, present)) != CF_OK || !*present)
		return rc;
	if (strcmp(s, "default") == 0 || strcmp(s, "service") == 0 ||
	    strcmp(s, "default-service") == 0) {
		json_object_set_new(stored, name, json_string(s));
		return CF_OK;
	}
	if (strcmp(s, "batch") == 0 || strcmp(s, "default-batch") == 0)
		return resp_fail(resp, CF_EINVAL, "batch tokens from logins "
		    "are not supported by coffer");
	return resp_fail(resp, CF_EINVAL, "invalid 'token_type' value \"%s\"",
	    s);
}

int
loginfields_read(struct request *req, struct response *resp,
    const struct loginfield *fields, size_t n, json_t *stored, int creating)
{
	const struct loginfield	*f;
	json_t			*list;
	const char		*key;
	long long		 v;
	size_t			 i;
	int			 rc = CF_OK, present, b, legacy;

	for (i = 0; i < n && rc == CF_OK; i++) {
		f = &fields[i];
		key = f->name;
		legacy = 0;
		present = 0;
		if (f->legacy != NULL && json_object_get(req->data, f->name) ==
		    NULL && json_object_get(req->data, f->legacy) != NULL) {
			key = f->legacy;
			legacy = 1;
		}
		switch (f->kind) {
		case LF_DUR:
			if ((rc = req_duration(req, resp, key, &v,
			    &present)) == CF_OK && present)
				json_object_set_new(stored, f->name,
				    json_integer(v));
			break;
		case LF_INT:
			if ((rc = req_int(req, resp, key, &v, &present)) !=
			    CF_OK || !present)
				break;
			if (v < 0)
				rc = resp_fail(resp, CF_EINVAL, "%s cannot be "
				    "negative", f->name);
			else
				json_object_set_new(stored, f->name,
				    json_integer(v));
			break;
		case LF_BOOL:
			if ((rc = req_bool(req, resp, key, &b, &present)) ==
			    CF_OK && present && (creating || !f->create_only))
				json_object_set_new(stored, f->name,
				    json_boolean(b));
			break;
		case LF_LIST:
			rc = read_list(req, resp, key, f->name, stored,
			    &present);
			break;
		case LF_CIDRS:
			if ((rc = token_cidrs_read(req, resp, key, "",
			    &list, &present)) == CF_OK && present)
				json_object_set_new(stored, f->name, list);
			break;
		case LF_TYPE:
			rc = read_type(req, resp, key, f->name, stored,
			    &present);
			break;
		}
		if (rc == CF_OK && present && f->legacy != NULL)
			legacy_note(stored, f->legacy, legacy);
	}
	return rc;
}

int
loginfields_check_ttl(struct response *resp, json_t *stored)
{
	long long	 ttl, max;

	ttl = json_integer_value(json_object_get(stored, "token_ttl"));
	max = json_integer_value(json_object_get(stored, "token_max_ttl"));
	if (max > 0 && ttl > max)
		return resp_fail(resp, CF_EINVAL, "'token_ttl' cannot be "
		    "greater than 'token_max_ttl'");
	return CF_OK;
}

int
loginfields_view(json_t *view, json_t *stored,
    const struct loginfield *fields, size_t n)
{
	json_t		*p = json_object_get(stored, "token_policies"), *c, *o;
	json_t		*used = json_object_get(stored, "legacy");
	const char	*t = json_string_value(json_object_get(stored,
	    "token_type"));
	size_t		 i;

	c = json_object_get(stored, "token_bound_cidrs");
	o = json_pack("{s:o, s:I, s:I, s:I, s:I, s:I, s:b, s:s, s:o}",
	    "token_policies", p != NULL ? json_incref(p) : json_array(),
	    "token_ttl", field_int(stored, "token_ttl"),
	    "token_max_ttl", field_int(stored, "token_max_ttl"),
	    "token_period", field_int(stored, "token_period"),
	    "token_explicit_max_ttl", field_int(stored,
	    "token_explicit_max_ttl"),
	    "token_num_uses", field_int(stored, "token_num_uses"),
	    "token_no_default_policy", json_is_true(json_object_get(stored,
	    "token_no_default_policy")),
	    "token_type", t != NULL ? t : "default",
	    "token_bound_cidrs", c != NULL ? json_deep_copy(c) : json_array());
	if (o == NULL || json_object_update(view, o) != 0) {
		json_decref(o);
		return CF_ENOMEM;
	}
	json_decref(o);
	/* Legacy names appear only where the entry was written with them. */
	for (i = 0; i < n; i++)
		if (fields[i].legacy != NULL &&
		    json_is_true(json_object_get(used, fields[i].legacy)))
			json_object_set(view, fields[i].legacy,
			    json_object_get(view, fields[i].name));
	return CF_OK;
}

/* The smaller of two limits where 0 means none. */
static long long
min_limit(long long a, long long b)
{
	if (a <= 0)
		return b;
	if (b <= 0)
		return a;
	return a < b ? a : b;
}

static long long
field_int(json_t *stored, const char *name)
{
	return json_integer_value(json_object_get(stored, name));
}

int
loginfields_login(json_t *stored, struct login *l, struct strv *pols)
{
	json_t	*v;
	size_t	 i;
	int	 rc;

	json_array_foreach(json_object_get(stored, "token_policies"), i, v)
		if ((rc = strv_push(pols, json_string_value(v))) != CF_OK)
			return rc;
	l->policies = pols;
	l->ttl = field_int(stored, "token_ttl");
	l->max_ttl = field_int(stored, "token_max_ttl");
	l->explicit_max_ttl = field_int(stored, "token_explicit_max_ttl");
	l->period = field_int(stored, "token_period");
	l->num_uses = field_int(stored, "token_num_uses");
	l->no_default_policy = json_is_true(json_object_get(stored,
	    "token_no_default_policy"));
	return CF_OK;
}

void
loginfields_renew(json_t *stored, struct login_renew *out)
{
	out->ttl = field_int(stored, "token_ttl");
	out->max_ttl = min_limit(field_int(stored, "token_max_ttl"),
	    field_int(stored, "token_explicit_max_ttl"));
	out->period = field_int(stored, "token_period");
}
