/*
 * sys_audit.c -- the sys/ endpoints of audit devices: sys/audit (list,
 * enable, disable; root-protected) and sys/audit-hash.
 *
 * HTTP shapes only: the devices, their table and their salts are
 * audit.c's.  The handlers run under the core read lock, as every
 * routed request.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "audit.h"
#include "audit_headers.h"
#include "err.h"
#include "req.h"
#include "sys.h"
#include "sys_audit.h"

#define UNSUPPORTED	"1 error occurred:\n\t* unsupported operation\n\n"

/* "file" -> "file/", one leading '/' dropped, as Vault. */
static char *
norm_path(const char *p)
{
	size_t	 len;
	char	*s;

	if (*p == '/')
		p++;
	len = strlen(p);
	if ((s = malloc(len + 2)) == NULL)
		return NULL;
	memcpy(s, p, len + 1);
	if (len == 0 || s[len - 1] != '/') {
		s[len] = '/';
		s[len + 1] = '\0';
	}
	return s;
}

/* An option value as Vault's weak decoding makes it a string. */
static json_t *
opt_string(json_t *v)
{
	char	 t[64];

	if (json_is_string(v))
		return json_incref(v);
	if (json_is_boolean(v))
		return json_string(json_is_true(v) ? "1" : "0");
	if (json_is_integer(v)) {
		snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		return json_string(t);
	}
	if (json_is_real(v)) {
		snprintf(t, sizeof(t), "%g", json_real_value(v));
		return json_string(t);
	}
	if (json_is_null(v))
		return json_string("");
	return NULL;
}

/*
 * "options": an object (values made strings) or an array of "k=v"
 * strings; *out owned.  CF_EINVAL with a 400 text in resp.
 */
static int
parse_options(struct request *req, struct response *resp, json_t **out)
{
	json_t		*in = json_object_get(req->data, "options"), *o, *v, *s;
	const char	*k, *kv, *eq;
	size_t		 i;

	if ((o = *out = json_object()) == NULL)
		return CF_ENOMEM;
	if (in == NULL || json_is_null(in))
		return CF_OK;
	if (json_is_object(in)) {
		json_object_foreach(in, k, v) {
			if ((s = opt_string(v)) == NULL)
				goto bad;
			json_object_set_new(o, k, s);
		}
		return CF_OK;
	}
	if (!json_is_array(in))
		goto bad;
	json_array_foreach(in, i, v) {
		if ((kv = json_string_value(v)) == NULL)
			goto bad;
		if ((eq = strchr(kv, '=')) == NULL) {
			json_object_set_new(o, kv, json_string(""));
			continue;
		}
		if ((s = json_stringn(eq + 1, strlen(eq + 1))) == NULL ||
		    json_object_setn_new(o, kv, (size_t)(eq - kv), s) != 0) {
			json_decref(o);
			*out = NULL;
			return CF_ENOMEM;
		}
	}
	return CF_OK;
 bad:
	json_decref(o);
	*out = NULL;
	return resp_fail(resp, CF_EINVAL, "1 error occurred:\n\t* "
	    "'options' expected a map, got '%s'\n\n", json_is_array(in) ?
	    "slice" : "string");
}

static int
enable(struct request *req, struct response *resp, const char *path)
{
	const char	*type = NULL, *desc = NULL;
	json_t		*opts = NULL;
	char		 why[512];
	int		 rc, local = 0;

	if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "description", &desc, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "local", &local, NULL)) != CF_OK ||
	    (rc = parse_options(req, resp, &opts)) != CF_OK)
		goto out;
	why[0] = '\0';
	rc = audit_enable(path, type != NULL ? type : "", desc, opts, local,
	    why, sizeof(why));
	if (rc == CF_EINVAL)
		rc = resp_fail(resp, CF_EINVAL, "%s", why);
 out:
	json_decref(opts);
	return rc;
}

/* sys/audit and sys/audit/<path>. */
static int
sys_audit(struct request *req, struct response *resp)
{
	const char	*rest = req->rel + strlen("audit");
	json_t		*o;
	char		*path = NULL;
	int		 rc;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (req->op != REQ_READ)
			return resp_fail(resp, CF_EMETHOD, UNSUPPORTED);
		if ((rc = audit_list(&o)) != CF_OK)
			return rc;
		resp->inject = 1;
		return resp_data(resp, o);
	}
	if ((path = norm_path(rest + 1)) == NULL)
		return CF_ENOMEM;
	switch (req->op) {
	case REQ_CREATE:
	case REQ_UPDATE:
		rc = enable(req, resp, path);
		break;
	case REQ_DELETE:
		rc = audit_disable(path);
		break;
	default:
		rc = resp_fail(resp, CF_EMETHOD, UNSUPPORTED);
		break;
	}
	free(path);
	return rc;
}

/* sys/audit-hash/<path>: an input hashed with that device's salt. */
static int
sys_audit_hash(struct request *req, struct response *resp)
{
	const char	*rest = req->rel + strlen("audit-hash"), *input = NULL;
	char		*path = NULL, hash[AUDIT_HASH_LEN + 1];
	int		 rc;

	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return resp_fail(resp, CF_EMETHOD, UNSUPPORTED);
	if ((rc = req_str(req, resp, "input", &input, NULL)) != CF_OK)
		return rc;
	if (input == NULL || *input == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "the \"input\" parameter is empty");
	if ((path = norm_path(*rest == '/' ? rest + 1 : rest)) == NULL)
		return CF_ENOMEM;
	if ((rc = audit_hash(path, input, hash)) == CF_ENOTFOUND)
		rc = resp_fail(resp, CF_EINVAL, "unknown audit backend \"%s\"",
		    path);
	free(path);
	if (rc != CF_OK)
		return rc;
	resp->inject = 1;
	return resp_data(resp, json_pack("{s:s}", "hash", hash));
}

void
sys_audit_register(void)
{
	sys_route("audit", 1, sys_audit);
	sys_route("audit-hash", 1, sys_audit_hash);
	audit_register();
	audit_headers_register();
}
