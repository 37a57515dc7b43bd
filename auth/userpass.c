/*
 * userpass.c -- the userpass auth method: users with passwords.
 *
 * Users live at <view>user/<name> (names lowercased) with an Argon2id
 * hash of the password (libsodium's crypto_pwhash_str, "interactive"
 * limits: about 64 MiB and a fraction of a second, so that a stolen
 * store is slow to attack while logins stay quick) and their token
 * settings.  A login for an unknown user verifies against a dummy hash
 * made at startup, so both failures cost the same and timing does not
 * tell valid names from invalid ones.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "tokenapi.h"
#include "userpass.h"

static char		 dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t	 dummy_once = PTHREAD_ONCE_INIT;

static void
dummy_init(void)
{
	char	 pw[32];

	randombytes_buf(pw, sizeof(pw));
	if (crypto_pwhash_str(dummy_hash, pw, sizeof(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		dummy_hash[0] = '\0';
	sodium_memzero(pw, sizeof(pw));
}

static char *
ukey(const struct mount *m, const char *name)
{
	char	*k = NULL;
	size_t	 i, off;

	if (asprintf(&k, "%suser/%s", m->view, name) == -1)
		return NULL;
	off = strlen(m->view) + 5;
	for (i = off; k[i] != '\0'; i++)
		k[i] = (char)tolower((unsigned char)k[i]);
	return k;
}

static int
load_user(const struct mount *m, const char *name, json_t **out)
{
	char	*k = ukey(m, name);
	int	 rc = core_get_json(k, out);

	free(k);
	return rc;
}

static int
save_user(const struct mount *m, const char *name, json_t *u)
{
	char	*k = ukey(m, name);
	int	 rc = core_put_json(k, u);

	free(k);
	return rc;
}

static int
set_password(json_t *u, const char *pw)
{
	char	 h[crypto_pwhash_STRBYTES];

	if (crypto_pwhash_str(h, pw, strlen(pw),
	    crypto_pwhash_OPSLIMIT_INTERACTIVE,
	    crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return CF_ENOMEM;
	json_object_set_new(u, "hash", json_string(h));
	return CF_OK;
}

/* token_* settings (and the legacy names) from the request into u. */
static int
read_token_fields(struct request *req, struct response *resp, json_t *u)
{
	static const char *const durs[][2] = {
		{ "token_ttl", "ttl" }, { "token_max_ttl", "max_ttl" },
		{ "token_period", "period" },
		{ "token_explicit_max_ttl", NULL },
	};
	struct strv	 pols = STRV_INIT;
	long long	 v;
	size_t		 i;
	int		 rc, present, b;
	json_t		*arr;

	for (i = 0; i < sizeof(durs) / sizeof(durs[0]); i++) {
		if ((rc = req_duration(req, resp, durs[i][0], &v, &present)) !=
		    CF_OK)
			return rc;
		if (!present && durs[i][1] != NULL && (rc = req_duration(req,
		    resp, durs[i][1], &v, &present)) != CF_OK)
			return rc;
		if (present)
			json_object_set_new(u, durs[i][0], json_integer(v));
	}
	if ((rc = req_int(req, resp, "token_num_uses", &v, &present)) != CF_OK)
		return rc;
	if (present)
		json_object_set_new(u, "token_num_uses", json_integer(v));
	if ((rc = req_bool(req, resp, "token_no_default_policy", &b,
	    &present)) != CF_OK)
		return rc;
	if (present)
		json_object_set_new(u, "token_no_default_policy",
		    json_boolean(b));
	if ((rc = req_strlist(req, resp, "token_policies", &pols,
	    &present)) != CF_OK)
		goto out;
	if (!present && (rc = req_strlist(req, resp, "policies", &pols,
	    &present)) != CF_OK)
		goto out;
	if (present) {
		arr = json_array();
		for (i = 0; i < pols.n; i++) {
			char	*c;

			for (c = pols.v[i]; *c != '\0'; c++)
				*c = (char)tolower((unsigned char)*c);
			json_array_append_new(arr, json_string(pols.v[i]));
		}
		json_object_set_new(u, "token_policies", arr);
	}
 out:
	strv_free(&pols);
	return rc;
}

static json_t *
user_view(json_t *u)
{
	json_t	*p = json_object_get(u, "token_policies");

	return json_pack("{s:o, s:o, s:I, s:I, s:I, s:I, s:I, s:b, s:s, "
	    "s:[]}",
	    "token_policies", p != NULL ? json_incref(p) : json_array(),
	    "policies", p != NULL ? json_incref(p) : json_array(),
	    "token_ttl", json_integer_value(json_object_get(u, "token_ttl")),
	    "token_max_ttl", json_integer_value(json_object_get(u,
	    "token_max_ttl")),
	    "token_period", json_integer_value(json_object_get(u,
	    "token_period")),
	    "token_explicit_max_ttl", json_integer_value(json_object_get(u,
	    "token_explicit_max_ttl")),
	    "token_num_uses", json_integer_value(json_object_get(u,
	    "token_num_uses")),
	    "token_no_default_policy", json_is_true(json_object_get(u,
	    "token_no_default_policy")),
	    "token_type", "default", "token_bound_cidrs");
}

static int
users_handler(struct mount *m, struct request *req, struct response *resp,
    const char *name, const char *sub)
{
	const char	*pw = NULL;
	json_t		*u = NULL;
	char		*k;
	int		 rc, exists, w = req->op == REQ_UPDATE ||
	    req->op == REQ_CREATE;

	if ((rc = load_user(m, name, &u)) != CF_OK && rc != CF_ENOTFOUND)
		return rc;
	exists = rc == CF_OK;
	if (sub != NULL) {
		if (!w || !exists) {
			rc = exists ? resp_fail(resp, CF_EMETHOD, "1 error "
			    "occurred:\n\t* unsupported operation\n\n") :
			    resp_fail(resp, CF_EINVAL, "username does not "
			    "exist");
			goto out;
		}
		if (strcmp(sub, "password") == 0) {
			if ((rc = req_str(req, resp, "password", &pw, NULL)) !=
			    CF_OK)
				goto out;
			if (pw == NULL || *pw == '\0') {
				rc = resp_fail(resp, CF_EINVAL,
				    "missing password");
				goto out;
			}
			if ((rc = set_password(u, pw)) != CF_OK)
				goto out;
		} else if (strcmp(sub, "policies") == 0) {
			if ((rc = read_token_fields(req, resp, u)) != CF_OK)
				goto out;
		} else {
			rc = resp_fail(resp, CF_ENOTFOUND,
			    "1 error occurred:\n\t* unsupported path\n\n");
			goto out;
		}
		rc = save_user(m, name, u);
		goto out;
	}
	switch (req->op) {
	case REQ_READ:
		rc = exists ? resp_data(resp, user_view(u)) : CF_OK;
		break;
	case REQ_CREATE:
	case REQ_UPDATE:
		if ((rc = req_str(req, resp, "password", &pw, NULL)) != CF_OK)
			break;
		if (!exists && (pw == NULL || *pw == '\0')) {
			rc = resp_fail(resp, CF_EINVAL, "missing password");
			break;
		}
		if (!exists && (u = json_object()) == NULL) {
			rc = CF_ENOMEM;
			break;
		}
		if ((rc = read_token_fields(req, resp, u)) != CF_OK)
			break;
		if (pw != NULL && *pw != '\0' &&
		    (rc = set_password(u, pw)) != CF_OK)
			break;
		rc = save_user(m, name, u);
		break;
	case REQ_DELETE:
		k = ukey(m, name);
		rc = k == NULL ? CF_ENOMEM : core_del(k);
		free(k);
		break;
	default:
		rc = resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
 out:
	json_decref(u);
	return rc;
}

static int
login(struct mount *m, struct request *req, struct response *resp,
    const char *name)
{
	struct login	 l;
	struct strv	 pols = STRV_INIT;
	json_t		*u = NULL, *v, *meta = NULL;
	const char	*pw = NULL, *hash;
	char		 dn[256], lname[128];
	size_t		 i;
	int		 rc, ok;

	pthread_once(&dummy_once, dummy_init);
	if ((rc = req_str(req, resp, "password", &pw, NULL)) != CF_OK)
		return rc;
	if (pw == NULL || *pw == '\0')
		return resp_fail(resp, CF_EINTERNAL, "missing password");
	rc = load_user(m, name, &u);
	if (rc != CF_OK && rc != CF_ENOTFOUND)
		return rc;
	/* The same work whether or not the user exists. */
	hash = u != NULL ? json_string_value(json_object_get(u, "hash")) :
	    NULL;
	ok = crypto_pwhash_str_verify(hash != NULL ? hash : dummy_hash, pw,
	    strlen(pw)) == 0 && hash != NULL;
	if (!ok) {
		rc = resp_fail(resp, CF_EINVAL, "invalid username or password");
		goto out;
	}
	json_array_foreach(json_object_get(u, "token_policies"), i, v)
		if ((rc = strv_push(&pols, json_string_value(v))) != CF_OK)
			goto out;
	for (i = 0; name[i] != '\0' && i < sizeof(lname) - 1; i++)
		lname[i] = (char)tolower((unsigned char)name[i]);
	lname[i] = '\0';
	/* "auth/userpass/" -> "userpass-alice" */
	snprintf(dn, sizeof(dn), "%.*s-%s", (int)strlen(m->path) - 6,
	    m->path + 5, lname);
	for (i = 0; dn[i] != '\0'; i++)
		if (dn[i] == '/')
			dn[i] = '-';
	meta = json_pack("{s:s}", "username", lname);
	memset(&l, 0, sizeof(l));
	l.path = req->path;
	l.display_name = dn;
	l.policies = &pols;
	l.meta = meta;
	l.ttl = json_integer_value(json_object_get(u, "token_ttl"));
	l.max_ttl = json_integer_value(json_object_get(u, "token_max_ttl"));
	l.period = json_integer_value(json_object_get(u, "token_period"));
	l.num_uses = json_integer_value(json_object_get(u, "token_num_uses"));
	l.no_default_policy = json_is_true(json_object_get(u,
	    "token_no_default_policy"));
	rc = tokenapi_login(&l, resp);
 out:
	json_decref(u);
	json_decref(meta);
	strv_free(&pols);
	return rc;
}

static int
list_users(struct mount *m, struct response *resp)
{
	json_t	*keys;
	char	*p = NULL;
	int	 rc;

	if (asprintf(&p, "%suser/", m->view) == -1)
		return CF_ENOMEM;
	rc = core_list_json(p, &keys);
	free(p);
	if (rc != CF_OK || keys == NULL)
		return rc;
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

static int
userpass_handle(struct mount *m, struct request *req, struct response *resp)
{
	const char	*rel = req->rel, *name, *slash;
	char		 nm[128];
	size_t		 len;

	if (req->op == REQ_LIST && strcmp(rel, "users/") == 0)
		return list_users(m, resp);
	if (strncmp(rel, "login/", 6) == 0 && rel[6] != '\0' &&
	    strchr(rel + 6, '/') == NULL &&
	    (req->op == REQ_UPDATE || req->op == REQ_CREATE))
		return login(m, req, resp, rel + 6);
	if (strncmp(rel, "users/", 6) == 0 && rel[6] != '\0') {
		name = rel + 6;
		if ((slash = strchr(name, '/')) == NULL)
			return users_handler(m, req, resp, name, NULL);
		len = (size_t)(slash - name);
		if (len == 0 || len >= sizeof(nm))
			goto unsupported;
		memcpy(nm, name, len);
		nm[len] = '\0';
		return users_handler(m, req, resp, nm, slash + 1);
	}
 unsupported:
	return resp_fail(resp, CF_ENOTFOUND,
	    "1 error occurred:\n\t* unsupported path\n\n");
}

static int
userpass_unauth(const struct mount *m, const char *rel, int op)
{
	(void)m;
	(void)op;
	return strncmp(rel, "login/", 6) == 0;
}

static int
userpass_exists(struct mount *m, struct request *req, int *exists)
{
	json_t	*u = NULL;
	int	 rc;

	*exists = 1;
	if (strncmp(req->rel, "users/", 6) != 0 ||
	    strchr(req->rel + 6, '/') != NULL)
		return CF_OK;
	rc = load_user(m, req->rel + 6, &u);
	*exists = rc == CF_OK;
	json_decref(u);
	return rc == CF_OK || rc == CF_ENOTFOUND ? CF_OK : rc;
}

static const struct backend_ops userpass_ops = {
	.type = "userpass",
	.is_auth = 1,
	.handle = userpass_handle,
	.exists = userpass_exists,
	.is_unauthenticated = userpass_unauth,
};

void
userpass_register(void)
{
	router_register(&userpass_ops);
}
