/*
 * policystore.c -- stored ACL policies, their endpoints, and the cache
 * of compiled ACLs every authenticated request uses.
 *
 * The cache maps a key (the sorted policy names joined by ',') to a
 * compiled ACL.  It is a small array under a rwlock: requests take the
 * read lock; a miss compiles outside the lock and inserts under the
 * write lock; a policy write clears it.  Lock order: after the core
 * lock, before storage.
 *
 * A miss may read a policy, lose the CPU while a write stores new text
 * and clears the cache, and come back with an ACL built from the old
 * text.  So every clear bumps a generation, a miss notes the generation
 * before it reads any policy, and it inserts only if the generation is
 * still the same: no cached ACL outlives the text it was built from.
 * Writers store the policy first and clear after, so a miss that read
 * the old text either inserted before the clear (and is cleared) or
 * finds the generation moved (and does not insert).
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "log.h"
#include "policy.h"
#include "policystore.h"
#include "req.h"
#include "sys.h"
#include "token.h"

#define POLICY_PREFIX	"sys/policy/"
#define CACHE_MAX	256

struct cached {
	char		*key;
	struct acl	*acl;
};

static pthread_rwlock_t	 cache_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct cached	 cache[CACHE_MAX];
static size_t		 ncache;
static unsigned long long cache_gen;	/* bumped by every clear */

static void
cache_rdlock(void)
{
	if (pthread_rwlock_rdlock(&cache_lock) != 0)
		abort();
}

static void
cache_wrlock(void)
{
	if (pthread_rwlock_wrlock(&cache_lock) != 0)
		abort();
}

static void
cache_unlock(void)
{
	if (pthread_rwlock_unlock(&cache_lock) != 0)
		abort();
}

/* Call after the policy change is in storage. */
static void
cache_clear(void)
{
	size_t	 i;

	cache_wrlock();
	for (i = 0; i < ncache; i++) {
		free(cache[i].key);
		acl_free(cache[i].acl);
	}
	ncache = 0;
	cache_gen++;
	cache_unlock();
}

/* Read and parse one stored policy; CF_ENOTFOUND if absent. */
static int
load(const char *name, struct policy **out, json_t **raw)
{
	struct buf	 err = BUF_INIT;
	char		*key = NULL;
	json_t		*j = NULL;
	const char	*text;
	int		 rc;

	*out = NULL;
	if (asprintf(&key, "%s%s", POLICY_PREFIX, name) == -1)
		return CF_ENOMEM;
	if ((rc = core_get_json(key, &j)) != CF_OK)
		goto out;
	if ((text = json_string_value(json_object_get(j, "policy"))) == NULL) {
		rc = CF_EINTERNAL;
		goto out;
	}
	if ((rc = policy_parse(name, text, strlen(text), out, &err)) != CF_OK)
		log_warnx("policy %s: stored text does not parse", name);
 out:
	if (raw != NULL && rc == CF_OK)
		*raw = j;
	else
		json_decref(j);
	free(key);
	buf_free(&err);
	return rc;
}

int
policystore_acl(const struct strv *names, struct acl **out)
{
	struct strv	 sorted = STRV_INIT;
	struct buf	 key = BUF_INIT;
	struct policy	*pols[64];
	unsigned long long gen;
	size_t		 i, n = 0;
	int		 rc = CF_OK, is_root = 0, keep;

	*out = NULL;
	for (i = 0; i < names->n && rc == CF_OK; i++)
		rc = strv_push(&sorted, names->v[i]);
	strv_sort(&sorted);
	for (i = 0; i < sorted.n && rc == CF_OK; i++) {
		if (strcmp(sorted.v[i], "root") == 0)
			is_root = 1;
		rc = buf_printf(&key, "%s,", sorted.v[i]);
	}
	if (rc != CF_OK)
		goto out;
	cache_rdlock();
	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].key, key.data != NULL ? key.data : "") ==
		    0) {
			*out = acl_ref(cache[i].acl);
			break;
		}
	gen = cache_gen;	/* noted before any policy is read */
	cache_unlock();
	if (*out != NULL)
		goto out;
	for (i = 0; i < sorted.n && n < 64 && !is_root; i++) {
		rc = load(sorted.v[i], &pols[n], NULL);
		if (rc == CF_OK)
			n++;
		else if (rc != CF_ENOTFOUND && rc != CF_EINVAL)
			goto free;
	}
	if ((rc = acl_new(pols, n, is_root, out)) != CF_OK)
		goto free;
	cache_wrlock();
	/* A policy changed since we read it: use this ACL once, unkept. */
	keep = gen == cache_gen;
	for (i = 0; i < ncache && keep; i++)
		if (strcmp(cache[i].key, key.data != NULL ? key.data : "") ==
		    0)
			keep = 0;	/* another miss cached it first */
	if (keep && ncache < CACHE_MAX &&
	    (cache[ncache].key = strdup(key.data != NULL ? key.data : "")) !=
	    NULL) {
		cache[ncache].acl = acl_ref(*out);
		ncache++;
	}
	cache_unlock();
	rc = CF_OK;
 free:
	for (i = 0; i < n; i++)
		policy_free(pols[i]);
 out:
	strv_free(&sorted);
	buf_free(&key);
	return rc;
}

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
	if ((rc = core_list(POLICY_PREFIX, &sv)) != CF_OK)
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
	char		*key = NULL;
	json_t		*j = NULL;
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
	if ((j = json_pack("{s:s, s:s%}", "name", name, "policy", text.data,
	    text.len)) == NULL ||
	    asprintf(&key, "%s%s", POLICY_PREFIX, name) == -1) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = core_put_json(key, j)) == CF_OK)
		cache_clear();
 out:
	policy_free(pol);
	json_decref(j);
	free(key);
	buf_free(&text);
	buf_free(&err);
	return rc;
}

static int
one_policy(struct request *req, struct response *resp, const char *name,
    int old_api)
{
	struct policy	*pol = NULL;
	json_t		*raw = NULL, *o;
	char		*key = NULL;
	int		 rc;

	switch (req->op) {
	case REQ_READ:
		if (strcmp(name, "root") == 0)
			o = json_pack("{s:s, s:s}", "name", "root",
			    old_api ? "rules" : "policy", "");
		else {
			rc = load(name, &pol, &raw);
			policy_free(pol);
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
		if (asprintf(&key, "%s%s", POLICY_PREFIX, name) == -1)
			return CF_ENOMEM;
		rc = core_del(key);
		free(key);
		if (rc == CF_OK)
			cache_clear();
		return rc;
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
	if (tok == NULL || token_authenticate(tok, &ac) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "invalid token");
	rc = caps_reply(req, resp, ac->acl);
	auth_ctx_free(ac);
	return rc;
}

static int
sys_capabilities_accessor(struct request *req, struct response *resp)
{
	struct auth_ctx	*ac = NULL;
	struct strv	 pols = STRV_INIT;
	struct acl	*acl = NULL;
	const char	*acc = NULL;
	char		 hash[TOKEN_HASH_LEN + 1];
	json_t		*e = NULL, *v;
	size_t		 i;
	int		 rc;

	(void)ac;
	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	if ((rc = req_str(req, resp, "accessor", &acc, NULL)) != CF_OK)
		return rc;
	if (acc == NULL || *acc == '\0')
		return resp_fail(resp, CF_EINVAL, "missing accessor");
	if (token_accessor_hash(acc, hash) != CF_OK ||
	    token_entry(hash, &e) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "invalid accessor");
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

/* Unseal hook: the default policy exists from the first unseal on. */
static int
ensure_default(void)
{
	struct buf	 b = BUF_INIT;
	json_t		*j;
	int		 rc;

	rc = core_get(POLICY_PREFIX "default", &b);
	buf_free(&b);
	if (rc != CF_ENOTFOUND)
		return rc;
	if ((j = json_pack("{s:s, s:s}", "name", "default", "policy",
	    policy_default_text())) == NULL)
		return CF_ENOMEM;
	rc = core_put_json(POLICY_PREFIX "default", j);
	json_decref(j);
	return rc;
}

static int
forget_all(void)
{
	cache_clear();
	return CF_OK;
}

void
policystore_register(void)
{
	sys_route("policy", 1, sys_policy);
	sys_route("policies/acl", 1, sys_policies_acl);
	sys_route("capabilities-self", 0, sys_capabilities_self);
	sys_route("capabilities", 0, sys_capabilities);
	sys_route("capabilities-accessor", 0, sys_capabilities_accessor);
	sys_route("internal/ui/resultant-acl", 0, sys_resultant_acl);
	core_on_active(ensure_default);
	core_on_standby(forget_all);
}
