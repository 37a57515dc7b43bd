/*
 * body.c -- the JSON body of a raw sys/ request (body.h), read as Vault's
 * Go handlers decode it: member names matched ignoring case, Go's
 * messages for a wrong type.  Used by the seal's handlers (seal.c,
 * sys_seal.c, sys_rekey.c).
 */
#include "config.h"

#include <stddef.h>
#include <strings.h>

#include <jansson.h>

#include "body.h"
#include "err.h"
#include "req.h"

/* A member of obj whose name matches key ignoring case, as Go decodes. */
static json_t *
get_ci(json_t *obj, const char *key)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(obj, k, v)
		if (strcasecmp(k, key) == 0)
			return json_is_null(v) ? NULL : v;
	return NULL;
}

/* Raw handlers decode a JSON body; an empty one is Go's "EOF". */
int
body_need(struct request *req, struct response *resp)
{
	if (req->body_empty)
		return resp_fail(resp, CF_EINVAL, "EOF");
	return CF_OK;
}

int
body_need_update(struct request *req, struct response *resp)
{
	if (req->op == REQ_UPDATE)
		return CF_OK;
	resp->err_empty = 1;
	return CF_EMETHOD;
}

int
body_int(struct request *req, struct response *resp, const char *key,
    long long *out)
{
	json_t	*v = get_ci(req->data, key);

	*out = 0;
	if (v == NULL)
		return CF_OK;
	if (!json_is_integer(v))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "%s must be an integer", key);
	*out = json_integer_value(v);
	return CF_OK;
}

int
body_bool(struct request *req, struct response *resp, const char *key,
    int *out)
{
	json_t	*v = get_ci(req->data, key);

	*out = 0;
	if (v == NULL)
		return CF_OK;
	if (!json_is_boolean(v))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "%s must be a boolean", key);
	*out = json_is_true(v);
	return CF_OK;
}

int
body_str(struct request *req, struct response *resp, const char *key,
    const char **out)
{
	json_t	*v = get_ci(req->data, key);

	*out = "";
	if (v == NULL)
		return CF_OK;
	if (!json_is_string(v))
		return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
		    "%s must be a string", key);
	*out = json_string_value(v);
	return CF_OK;
}

int
body_strlist(struct request *req, struct response *resp, const char *key,
    size_t *n)
{
	json_t	*v = get_ci(req->data, key), *e;
	size_t	 i;

	*n = 0;
	if (v == NULL)
		return CF_OK;
	if (!json_is_array(v))
		goto bad;
	json_array_foreach(v, i, e)
		if (!json_is_string(e))
			goto bad;
	*n = json_array_size(v);
	return CF_OK;
 bad:
	return resp_fail(resp, CF_EINVAL, "failed to parse JSON input: "
	    "%s must be a list of strings", key);
}
