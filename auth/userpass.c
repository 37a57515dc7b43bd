/*
 * userpass.c -- the userpass auth method: users with passwords.
 *
 * Users live at <view>user/<name> (names lowercased, as Vault does) with
 * an Argon2id hash of the password and their token settings; the
 * password itself is never stored or returned.
 *
 * Hashing uses libsodium's crypto_pwhash_str with the "interactive"
 * limits (2 passes over 64 MiB).  That costs a stolen store's attacker
 * about a tenth of a second of one core and 64 MiB per guess, while a
 * login stays well under a second; the "moderate" limits (256 MiB,
 * about 0.7 s) would make every login that slow and let a handful of
 * concurrent logins claim a gigabyte.  The limits are recorded in each
 * hash string, so raising them later keeps old hashes verifiable.
 *
 * Equal-cost failures: a login for an unknown user verifies the given
 * password against a dummy hash made when the first userpass mount
 * opens, so a wrong password and an unknown name cost the same Argon2id
 * run and answer the same 400 "invalid username or password".
 *
 * At most UP_HASH_MAX hashes run at once (a process-wide counter under
 * its own mutex, a leaf lock): each needs 64 MiB, and a burst of logins
 * must not take the server's memory.  Logins beyond that wait their
 * turn; known and unknown names wait alike.  Handlers otherwise share
 * nothing but storage, read and written under the core read lock.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "loginfields.h"
#include "token.h"
#include "token_cidrs.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "strutil.h"
#include "tokenapi.h"
#include "userpass.h"

#define UP_OPS		crypto_pwhash_OPSLIMIT_INTERACTIVE
#define UP_MEM		crypto_pwhash_MEMLIMIT_INTERACTIVE
#define UP_HASH_MAX	4		/* concurrent Argon2id runs */
#define UP_NAME_MAX	PATHS_NAME_MAX

static char		 dummy_hash[crypto_pwhash_STRBYTES];
static int		 dummy_ok;
static pthread_once_t	 dummy_once = PTHREAD_ONCE_INIT;

static pthread_mutex_t	 hash_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 hash_cv = PTHREAD_COND_INITIALIZER;
static int		 hash_running;

/* The token_* fields every user carries (contract section 5.1). */
static const struct loginfield tokfields[] = {
	{ "token_ttl", "ttl", LF_DUR, 0 },
	{ "token_max_ttl", "max_ttl", LF_DUR, 0 },
	{ "token_period", "period", LF_DUR, 0 },
	{ "token_explicit_max_ttl", NULL, LF_DUR, 0 },
	{ "token_num_uses", NULL, LF_INT, 0 },
	{ "token_no_default_policy", NULL, LF_BOOL, 0 },
	{ "token_policies", "policies", LF_LIST, 0 },
	{ "token_bound_cidrs", "bound_cidrs", LF_CIDRS, 0 },
	{ "token_type", NULL, LF_TYPE, 0 },
};
#define NTOKFIELDS	(sizeof(tokfields) / sizeof(tokfields[0]))

static void
dummy_init(void)
{
	char	 pw[32];

	randombytes_buf(pw, sizeof(pw));
	dummy_ok = crypto_pwhash_str(dummy_hash, pw, sizeof(pw), UP_OPS,
	    UP_MEM) == 0;
	sodium_memzero(pw, sizeof(pw));
}

static void
hash_enter(void)
{
	lock_mutex(&hash_mu, LOCK_LEAF);
	while (hash_running >= UP_HASH_MAX)
		cond_wait(&hash_cv, &hash_mu);
	hash_running++;
	unlock_mutex(&hash_mu);
}

static void
hash_leave(void)
{
	lock_mutex(&hash_mu, LOCK_LEAF);
	hash_running--;
	pthread_cond_signal(&hash_cv);
	unlock_mutex(&hash_mu);
}

/* Storage path of a user; name must be valid. */
static char *
ukey(const struct mount *m, const char *name)
{
	char	*k = NULL;

	if (asprintf(&k, "%suser/%s", m->view, name) == -1)
		return NULL;
	strutil_lower(k + strlen(m->view) + 5);
	return k;
}

static int
load_user(const struct mount *m, const char *name, json_t **out)
{
	char	*k = ukey(m, name);
	int	 rc = k != NULL ? core_get_json(k, out) : CF_ENOMEM;

	free(k);
	return rc;
}

static int
save_user(const struct mount *m, const char *name, json_t *u)
{
	char	*k = ukey(m, name);
	int	 rc = k != NULL ? core_put_json(k, u) : CF_ENOMEM;

	free(k);
	return rc;
}

static int
set_password(json_t *u, const char *pw)
{
	char	 h[crypto_pwhash_STRBYTES];
	int	 rc;

	hash_enter();
	rc = crypto_pwhash_str(h, pw, strlen(pw), UP_OPS, UP_MEM);
	hash_leave();
	if (rc != 0)
		return CF_ENOMEM;	/* libsodium fails only for memory */
	rc = json_object_set_new(u, "hash", json_string(h)) == 0 ? CF_OK :
	    CF_ENOMEM;
	sodium_memzero(h, sizeof(h));
	return rc;
}


/* The token_* settings (or their legacy names) from the request. */
static int
read_token_fields(struct request *req, struct response *resp, json_t *u)
{
	int	 rc;

	if ((rc = loginfields_read(req, resp, tokfields, NTOKFIELDS, u,
	    1)) != CF_OK)
		return rc;
	return loginfields_check_ttl(resp, u);
}

static json_t *
user_view(json_t *u)
{
	json_t	*o;

	if ((o = json_object()) == NULL)
		return NULL;
	if (loginfields_view(o, u, tokfields, NTOKFIELDS) != CF_OK) {
		json_decref(o);
		return NULL;
	}
	return o;
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
	rc = CF_OK;
	if (sub != NULL) {
		if (strcmp(sub, "password") != 0 &&
		    strcmp(sub, "policies") != 0) {
			rc = resp_fail(resp, CF_ENOTFOUND,
			    "1 error occurred:\n\t* unsupported path\n\n");
			goto out;
		}
		if (!w) {
			rc = resp_fail(resp, CF_EMETHOD, "1 error occurred:\n"
			    "\t* unsupported operation\n\n");
			goto out;
		}
		if (!exists) {
			rc = resp_fail(resp, CF_EINVAL, "username does not "
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
			rc = set_password(u, pw);
		} else if (json_object_get(req->data, "token_policies") ==
		    NULL && json_object_get(req->data, "policies") == NULL)
			rc = resp_fail(resp, CF_EINVAL, "missing "
			    "token_policies");
		else
			rc = read_token_fields(req, resp, u);
		if (rc == CF_OK)
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
		/* Tokens already issued stay valid, as in Vault. */
		k = ukey(m, name);
		rc = k == NULL ? CF_ENOMEM : core_del(k);
		free(k);
		if (rc == CF_ENOTFOUND)
			rc = CF_OK;
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
	json_t		*u = NULL, *meta = NULL, *cidrs;
	const char	*pw = NULL, *hash;
	char		 dn[256], lname[UP_NAME_MAX + 1];
	size_t		 i;
	int		 rc, ok;

	if ((rc = req_str(req, resp, "password", &pw, NULL)) != CF_OK)
		return rc;
	/*
	 * Vault answers a 500 here; a request without a password is the
	 * client's mistake, and coffer never answers bad input with a 500.
	 * Nothing is looked up, so this says nothing about the user.
	 */
	if (pw == NULL || *pw == '\0')
		return resp_fail(resp, CF_EINVAL, "missing password");
	pthread_once(&dummy_once, dummy_init);
	if (!dummy_ok)
		return CF_ENOMEM;
	rc = load_user(m, name, &u);
	if (rc != CF_OK && rc != CF_ENOTFOUND)
		return rc;
	/* The same work whether or not the user exists. */
	hash = json_string_value(json_object_get(u, "hash"));
	hash_enter();
	ok = crypto_pwhash_str_verify(hash != NULL ? hash : dummy_hash, pw,
	    strlen(pw)) == 0 && hash != NULL;
	hash_leave();
	if (!ok) {
		rc = resp_fail(resp, CF_EINVAL, "invalid username or password");
		goto out;
	}
	/* Vault refuses a login from outside the user's token_bound_cidrs. */
	cidrs = json_object_get(u, "token_bound_cidrs");
	if (json_array_size(cidrs) > 0 && !token_cidrs_contain(cidrs,
	    req->remote_addr != NULL ? req->remote_addr : "")) {
		rc = resp_fail(resp, CF_EDENIED, "permission denied");
		goto out;
	}
	strlcpy(lname, name, sizeof(lname));
	strutil_lower(lname);
	/* "auth/userpass/" -> "userpass-alice"; "auth/a/b/" -> "a-b-alice" */
	snprintf(dn, sizeof(dn), "%.*s-%s", (int)strlen(m->path) - 6,
	    m->path + 5, lname);
	for (i = 0; dn[i] != '\0'; i++)
		if (dn[i] == '/')
			dn[i] = '-';
	if ((meta = json_pack("{s:s}", "username", lname)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	memset(&l, 0, sizeof(l));
	if ((rc = loginfields_login(u, &l, &pols)) != CF_OK)
		goto out;
	l.path = req->path;
	l.display_name = dn;
	l.meta = meta;
	l.bound_cidrs = cidrs;
	rc = tokenapi_login(&l, resp);
 out:
	json_decref(u);
	json_decref(meta);
	strv_free(&pols);
	return rc;
}

/* 1 if every name in a but "default" is in b. */
static int
policies_within(json_t *a, json_t *b)
{
	json_t	*v, *w;
	size_t	 i, j;
	int	 found;

	json_array_foreach(a, i, v) {
		if (!json_is_string(v) ||
		    strcmp(json_string_value(v), "default") == 0)
			continue;
		found = 0;
		json_array_foreach(b, j, w)
			if (json_is_string(w) && strcmp(json_string_value(v),
			    json_string_value(w)) == 0)
				found = 1;
		if (!found)
			return 0;
	}
	return 1;
}

/* Vault's EquivalentPolicies: the same set, "default" aside. */
static int
same_policies(json_t *a, json_t *b)
{
	return policies_within(a, b) && policies_within(b, a);
}

/*
 * Renewal of a login token (Vault's pathLoginRenew): a deleted user's
 * token is not renewed (an empty answer), one whose user's policies
 * changed is refused, and otherwise the user's token_ttl, token_max_ttl
 * and token_period as they are now apply.
 */
static int
up_renew(struct mount *m, json_t *e, struct response *resp,
    struct login_renew *out)
{
	const char	*name;
	json_t		*u = NULL;
	int		 rc;

	name = json_string_value(json_object_get(json_object_get(e, "meta"),
	    "username"));
	if (name == NULL || !paths_name_ok(name, strlen(name))) {
		out->gone = 1;
		return CF_OK;
	}
	if ((rc = load_user(m, name, &u)) == CF_ENOTFOUND) {
		out->gone = 1;
		return CF_OK;
	}
	if (rc != CF_OK)
		return rc;
	if (!same_policies(json_object_get(u, "token_policies"),
	    json_object_get(e, "policies"))) {
		resp->status = 500;
		resp->err_public = 1;
		rc = resp_fail(resp, CF_EINTERNAL, "1 error occurred:\n\t* "
		    "failed to renew entry: policies have changed, not "
		    "renewing\n\n");
		goto out;
	}
	loginfields_renew(u, out);
 out:
	json_decref(u);
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
up_users(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)req;
	(void)a;
	return list_users(m, resp);
}

static int
up_login(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return login(m, req, resp, a->v[0]);
}

static int
up_user(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return users_handler(m, req, resp, a->v[0], NULL);
}

static int
up_password(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return users_handler(m, req, resp, a->v[0], "password");
}

static int
up_policies(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	return users_handler(m, req, resp, a->v[0], "policies");
}

static int
up_capture_ok(const char *name, const char *value)
{
	(void)name;
	return paths_name_ok(value, strlen(value));
}

static const struct path_entry userpass_entries[] = {
	{ "users/", PATH_LIST, up_users },
	{ "login/:username", PATH_WRITE, up_login },
	{ "users/:username", PATH_READ | PATH_WRITE | PATH_DELETE, up_user },
	{ "users/:username/password", PATH_WRITE, up_password },
	{ "users/:username/policies", PATH_WRITE, up_policies },
	{ NULL, 0, NULL }
};

static const struct path_table userpass_paths = {
	.entries = userpass_entries,
	.capture_ok = up_capture_ok,
};

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
	json_t		*u = NULL;
	const char	*name = req->rel + 6;
	int		 rc;

	*exists = 1;
	if (strncmp(req->rel, "users/", 6) != 0 ||
	    !paths_name_ok(name, strlen(name)))
		return CF_OK;
	rc = load_user(m, name, &u);
	*exists = rc == CF_OK;
	json_decref(u);
	return rc == CF_OK || rc == CF_ENOTFOUND ? CF_OK : rc;
}

/*
 * Make the dummy hash when the first userpass mount opens (at enable or
 * at unseal), so that the first login for an unknown name does not pay
 * for it and stand out.
 */
static int
userpass_open(struct mount *m)
{
	(void)m;
	pthread_once(&dummy_once, dummy_init);
	return dummy_ok ? CF_OK : CF_ENOMEM;
}

static const struct backend_ops userpass_ops = {
	.type = "userpass",
	.is_auth = 1,
	.open = userpass_open,
	.table = &userpass_paths,
	.exists = userpass_exists,
	.is_unauthenticated = userpass_unauth,
};

void
userpass_register(void)
{
	router_register(&userpass_ops);
	tokenapi_renew_hook("userpass", up_renew);
}
