/*
 * sys_policy.c -- the sys/ endpoints of ACL policies: sys/policy,
 * sys/policies/acl, sys/capabilities* and the UI's resultant ACL.
 *
 * HTTP shapes only: the policies themselves, their storage and the
 * cache of compiled ACLs are auth/policystore.c's, which these handlers
 * call, so that the store sits below the sys/ mount and the router.
 * The handlers run under the core read lock, as every routed request.
 */
#include "config.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "err.h"
#include "policy.h"
#include "policystore.h"
#include "req.h"
#include "sys.h"
#include "sys_policy.h"
#include "token.h"

/* Names are trimmed and lowercased, as Vault stores them. */
static char *
policy_name(const char *path)
{
	char	*s;
	size_t	 i, len;

	while (*path == ' ')
		path++;
	if ((s = strdup(path)) == NULL)
		return NULL;
	len = strlen(s);
	while (len > 0 && s[len - 1] == ' ')
		s[--len] = '\0';
	for (i = 0; i < len; i++)
		s[i] = (char)tolower((unsigned char)s[i]);
	return s;
}

static int
list_policies(struct request *req, struct response *resp, int old_api)
{
	struct strv	 sv = STRV_INIT;
	json_t		*keys, *o;
	size_t		 i;
	int		 rc;

	(void)req;
	if ((rc = policystore_list(&sv)) != CF_OK)
		return rc;
	keys = json_array();
	for (i = 0; i < sv.n; i++)
		if (strchr(sv.v[i], '/') == NULL)
			json_array_append_new(keys, json_string(sv.v[i]));
	json_array_append_new(keys, json_string("root"));
	strv_free(&sv);
	if (old_api) {
		o = json_pack("{s:O, s:o}", "keys", keys, "policies", keys);
		resp->inject = 1;
	} else
		o = json_pack("{s:o}", "keys", keys);
	return resp_data(resp, o);
}

/* Policy text from the body; valid base64 is decoded first, as Vault. */
static int
body_policy(struct request *req, struct response *resp, int old_api,
    struct buf *text)
{
	const char	*p = NULL, *r = NULL;
	size_t		 len, outlen;
	int		 rc;

	if ((rc = req_str(req, resp, "policy", &p, NULL)) != CF_OK)
		return rc;
	if (old_api && (p == NULL || *p == '\0')) {
		if ((rc = req_str(req, resp, "rules", &r, NULL)) != CF_OK)
			return rc;
		if (r != NULL && *r != '\0') {
			p = r;
			resp_warn(resp, "'rules' is deprecated, please use "
			    "'policy' instead");
		}
	}
	if (p == NULL || *p == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "'policy' parameter not supplied or empty");
	len = strlen(p);
	if ((rc = buf_reserve(text, len)) != CF_OK)
		return rc;
	if (sodium_base642bin((unsigned char *)text->data, len, p, len, NULL,
	    &outlen, NULL, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	    outlen > 0) {
		text->len = outlen;
		text->data[outlen] = '\0';
		return CF_OK;
	}
	return buf_set(text, p, len);
}

static int
write_policy(struct request *req, struct response *resp, const char *name,
    int old_api)
{
	struct policy	*pol = NULL;
	struct buf	 text = BUF_INIT, err = BUF_INIT;
	int		 rc;

	if (strcmp(name, "root") == 0 ||
	    strcmp(name, "response-wrapping") == 0)
		return resp_fail(resp, CF_EINVAL, "cannot update \"%s\" policy",
		    name);
	if ((rc = body_policy(req, resp, old_api, &text)) != CF_OK)
		goto out;
	if (policy_parse(name, text.data, text.len, &pol, &err) != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "%s", err.data);
		goto out;
	}
	rc = policystore_put(name, text.data, text.len);
 out:
	policy_free(pol);
	buf_free(&text);
	buf_free(&err);
	return rc;
}

static int
one_policy(struct request *req, struct response *resp, const char *name,
    int old_api)
{
	json_t		*raw = NULL, *o;
	int		 rc;

	switch (req->op) {
	case REQ_READ:
		if (strcmp(name, "root") == 0)
			o = json_pack("{s:s, s:s}", "name", "root",
			    old_api ? "rules" : "policy", "");
		else {
			rc = policystore_get(name, &raw);
			if (rc == CF_ENOTFOUND)
				return CF_OK;	/* 404 with no errors */
			if (rc != CF_OK)
				return rc;
			o = json_pack("{s:s, s:O}", "name", name,
			    old_api ? "rules" : "policy",
			    json_object_get(raw, "policy"));
			json_decref(raw);
		}
		resp->inject = old_api;
		return resp_data(resp, o);
	case REQ_CREATE:
	case REQ_UPDATE:
		return write_policy(req, resp, name, old_api);
	case REQ_DELETE:
		if (strcmp(name, "root") == 0)
			return resp_fail(resp, CF_EINVAL,
			    "cannot delete \"root\" policy");
		if (strcmp(name, "default") == 0)
			return resp_fail(resp, CF_EINVAL,
			    "cannot delete default policy");
		return policystore_del(name);
	default:
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
}

/* sys/policy and sys/policies/acl share everything but shapes. */
static int
handle(struct request *req, struct response *resp, const char *base,
    int old_api)
{
	const char	*rel = req->rel + strlen(base);
	char		*name;
	int		 rc;

	if (*rel == '\0' || strcmp(rel, "/") == 0) {
		if (req->op == REQ_LIST || (old_api && req->op == REQ_READ))
			return list_policies(req, resp, old_api);
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
	if ((name = policy_name(rel + 1)) == NULL)
		return CF_ENOMEM;
	if (*name == '\0')
		rc = resp_fail(resp, CF_EINVAL, "missing policy name");
	else
		rc = one_policy(req, resp, name, old_api);
	free(name);
	return rc;
}

static int
sys_policy(struct request *req, struct response *resp)
{
	return handle(req, resp, "policy", 1);
}

static int
sys_policies_acl(struct request *req, struct response *resp)
{
	return handle(req, resp, "policies/acl", 0);
}

/* Capabilities of acl on each path into data (sorted names). */
static int
caps_reply(struct request *req, struct response *resp, const struct acl *acl)
{
	struct strv	 paths = STRV_INIT, names = STRV_INIT;
	json_t		*o = NULL, *arr;
	size_t		 i, j;
	int		 rc;

	if ((rc = req_strlist(req, resp, "paths", &paths, NULL)) != CF_OK ||
	    (rc = req_strlist(req, resp, "path", &paths, NULL)) != CF_OK)
		goto out;
	if (paths.n == 0) {
		rc = resp_fail(resp, CF_EINVAL, "paths must be supplied");
		goto out;
	}
	if ((o = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < paths.n; i++) {
		const char	*p = paths.v[i];

		while (*p == '/')
			p++;
		strv_free(&names);
		if ((rc = acl_capability_names(acl_capabilities(acl, p),
		    acl_is_root(acl), &names)) != CF_OK)
			goto out;
		arr = json_array();
		for (j = 0; j < names.n; j++)
			json_array_append_new(arr, json_string(names.v[j]));
		json_object_set_new(o, p, arr);
		if (paths.n == 1)
			json_object_set(o, "capabilities", arr);
	}
	resp->inject = 1;
	rc = resp_data(resp, o);
	o = NULL;
 out:
	json_decref(o);
	strv_free(&paths);
	strv_free(&names);
	return rc;
}

static int
sys_capabilities_self(struct request *req, struct response *resp)
{
	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	return caps_reply(req, resp, req->auth->acl);
}

static int
sys_capabilities(struct request *req, struct response *resp)
{
	struct auth_ctx	*ac = NULL;
	const char	*tok = NULL;
	int		 rc;

	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	if ((rc = req_str(req, resp, "token", &tok, NULL)) != CF_OK)
		return rc;
	if (tok == NULL || token_authenticate(tok, req->remote_addr, &ac) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "invalid token");
	rc = caps_reply(req, resp, ac->acl);
	token_auth_ctx_free(ac);
	return rc;
}

static int
sys_capabilities_accessor(struct request *req, struct response *resp)
{
	struct auth_ctx	*ac = NULL;
	struct strv	 pols = STRV_INIT;
	struct acl	*acl = NULL;
	json_t		*e = NULL, *v;
	size_t		 i;
	int		 rc;

	(void)ac;
	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	if ((rc = token_entry_by_accessor(req, resp, &e)) != CF_OK)
		return rc;
	json_array_foreach(json_object_get(e, "policies"), i, v)
		if ((rc = strv_push(&pols, json_string_value(v))) != CF_OK)
			goto out;
	if ((rc = policystore_acl(&pols, &acl)) == CF_OK)
		rc = caps_reply(req, resp, acl);
 out:
	acl_free(acl);
	json_decref(e);
	strv_free(&pols);
	return rc;
}

static int
sys_resultant_acl(struct request *req, struct response *resp)
{
	if (req->op != REQ_READ)
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	return resp_data(resp, acl_emit(req->auth->acl));
}

void
sys_policy_register(void)
{
	sys_route("policy", 1, sys_policy);
	sys_route("policies/acl", 1, sys_policies_acl);
	sys_route("capabilities-self", 0, sys_capabilities_self);
	sys_route("capabilities", 0, sys_capabilities);
	sys_route("capabilities-accessor", 0, sys_capabilities_accessor);
	sys_route("internal/ui/resultant-acl", 0, sys_resultant_acl);
}
