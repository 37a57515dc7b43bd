/*
 * tokenapi.c -- the auth/token/ backend: create, look up, renew and
 * revoke tokens over HTTP.
 *
 * Every path needs a token (the router checks it and the ACL); the
 * extra sudo rules of token creation are checked here against the
 * caller's ACL on the path of the call, as Vault does.  Storage and
 * hashing belong to token.c.
 *
 * This file owns the path table and the mount, the tokens that login
 * methods have issued (tokenapi_login), accessors, tidy and its thread,
 * and the helpers the family shares (tokenapi_int.h); creation is in
 * tokenapi_create.c, lookup, renewal and revocation in tokenapi_ops.c,
 * token roles in tokenapi_roles.c.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "strutil.h"
#include "timeutil.h"
#include "token.h"
#include "tokenapi.h"
#include "tokenapi_int.h"

#define TOKENAPI_TIDY_SECONDS	60

int
tapi_has_sudo(const struct request *req)
{
	int	 sudo = 0;

	if (req->auth->is_root)
		return 1;
	if (acl_check(req->auth->acl, req->path, REQ_UPDATE, NULL, &sudo) !=
	    CF_OK)
		return 0;
	return sudo;
}

int
tapi_is_batch(json_t *e)
{
	const char	*t = json_string_value(json_object_get(e, "type"));

	return t != NULL && strcmp(t, "batch") == 0;
}

json_t *
tapi_auth_block(const char *token, json_t *e)
{
	json_t	*pols = json_object_get(e, "policies");
	long long exp = json_integer_value(json_object_get(e, "expire_time"));
	long long at = json_integer_value(json_object_get(e, "issue_time"));
	/* The TTL granted when expire_time was set, not what is left now. */
	long long ttl = exp > 0 ? exp - (at > 0 ? at : (long long)time(NULL)) :
	    0;

	return json_pack("{s:s, s:O, s:O, s:O, s:O, s:I, s:O, s:s, s:s, "
	    "s:O, s:n, s:O}",
	    "client_token", token,
	    "accessor", json_object_get(e, "accessor"),
	    "policies", pols, "token_policies", pols,
	    "metadata", json_object_get(e, "meta"),
	    "lease_duration", (json_int_t)(ttl > 0 ? ttl : 0),
	    "renewable", json_object_get(e, "renewable"),
	    "entity_id", "", "token_type", tapi_is_batch(e) ? "batch" :
	    "service",
	    "orphan", json_object_get(e, "orphan"),
	    "mfa_requirement",
	    "num_uses", json_object_get(e, "num_uses"));
}

int
tapi_auth_reply(struct response *resp, const char *token, json_t *e)
{
	resp->wipe = 1;
	if ((resp->auth = tapi_auth_block(token, e)) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

/*
 * The TTLs of tokens issued under path: its auth mount's tuned
 * default_lease_ttl and max_lease_ttl, else the system's.
 */
void
tapi_mount_ttls(const char *path, long long *def, long long *max)
{
	struct mount	*m;
	long long	 v;

	*def = core_conf()->default_lease_ttl;
	*max = core_conf()->max_lease_ttl;
	if (path == NULL || (m = router_mount_get(path)) == NULL)
		return;
	if ((v = json_integer_value(json_object_get(m->config,
	    "max_lease_ttl"))) > 0)
		*max = v;
	if ((v = json_integer_value(json_object_get(m->config,
	    "default_lease_ttl"))) > 0)
		*def = v;
	if (*def > *max)
		*def = *max;
	router_mount_unref(m);
}

/* Every stored token, as (hash, entry) pairs, for tidy and accessors. */
static int
each_token(int (*fn)(const char *, json_t *, void *), void *arg)
{
	struct strv	 sv = STRV_INIT;
	json_t		*e;
	size_t		 i;
	int		 rc;

	if ((rc = core_list("sys/token/id/", &sv)) != CF_OK)
		return rc;
	for (i = 0; i < sv.n && rc == CF_OK; i++) {
		if (token_entry(sv.v[i], &e) != CF_OK)
			continue;
		rc = fn(sv.v[i], e, arg);
		json_decref(e);
	}
	strv_free(&sv);
	return rc;
}

static int
add_accessor(const char *hash, json_t *e, void *arg)
{
	(void)hash;
	json_array_append(arg, json_object_get(e, "accessor"));
	return CF_OK;
}

static int
revoke_if_expired(const char *hash, json_t *e, void *arg)
{
	long long	 exp = json_integer_value(json_object_get(e,
	    "expire_time"));

	if (exp != 0 && exp <= (long long)time(NULL)) {
		++*(int *)arg;
		return token_revoke(hash, 0);
	}
	return CF_OK;
}

/* Remove every expired token; the count goes to the log. */
static int
tidy(void)
{
	int	 n = 0, rc;

	rc = each_token(revoke_if_expired, &n);
	if (n > 0)
		log_info("token: tidy revoked %d expired tokens", n);
	return rc;
}

static int
tok_create_role(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	json_t	*role = NULL;
	int	 rc;

	(void)m;
	if ((rc = tapi_role_load(a->v[0], &role)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, "unknown role %s", a->v[0]);
	if (rc != CF_OK)
		return rc;
	rc = tapi_create(req, resp, 0, role);
	json_decref(role);
	return rc;
}

static int
tok_roles(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	(void)req;
	(void)a;
	return tapi_list_prefix(ROLE_PREFIX, resp);
}

static int
tok_role(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)m;
	return tapi_roles(req, resp, a->v[0]);
}

static int
tok_accessors(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	json_t	*keys = json_array();
	int	 rc;

	(void)m;
	(void)req;
	(void)a;
	if ((rc = each_token(add_accessor, keys)) != CF_OK) {
		json_decref(keys);
		return rc;
	}
	if (json_array_size(keys) == 0) {
		json_decref(keys);
		return CF_OK;
	}
	return resp_data(resp, json_pack("{s:o}", "keys", keys));
}

static int
tok_tidy(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	int	 rc;

	(void)m;
	(void)req;
	(void)a;
	if ((rc = tidy()) != CF_OK)
		return rc;
	resp->status = 202;
	return resp_warn(resp, "Tidy operation successfully started. "
	    "Any information from the operation will be printed to "
	    "the server's logs.");
}

/* The handlers that take no capture, by what tells them apart. */
#define TOK_FN(fn, call)						\
static int								\
fn(struct mount *m, struct request *req, struct response *resp,	\
    const struct path_args *a)						\
{									\
	(void)m;							\
	(void)a;							\
	return call;							\
}
TOK_FN(tok_renew_accessor, tapi_renew_accessor(req, resp))
TOK_FN(tok_create, tapi_create(req, resp, 0, NULL))
TOK_FN(tok_create_orphan, tapi_create(req, resp, 1, NULL))
TOK_FN(tok_lookup_self, tapi_lookup(req, resp, 1))
TOK_FN(tok_lookup, tapi_lookup(req, resp, 0))
TOK_FN(tok_lookup_accessor, tapi_lookup_accessor(req, resp))
TOK_FN(tok_revoke_self, tapi_revoke(req, resp, 1, 0))
TOK_FN(tok_revoke, tapi_revoke(req, resp, 0, 0))
TOK_FN(tok_revoke_orphan, tapi_revoke(req, resp, 0, 1))
TOK_FN(tok_revoke_accessor, tapi_revoke_accessor(req, resp))
TOK_FN(tok_renew_self, tapi_renew(req, resp, 1))
TOK_FN(tok_renew, tapi_renew(req, resp, 0))
#undef TOK_FN

/* Role names: a single non-empty segment. */
static int
tok_capture_ok(const char *name, const char *value)
{
	(void)name;
	return *value != '\0';
}

static const struct path_entry token_entries[] = {
	{ "create/:role_name", PATH_WRITE, tok_create_role },
	{ "roles/", PATH_LIST, tok_roles },
	/* PATCH reaches roles_handler, which answers 405. */
	{ "roles/:role_name", PATH_READ | PATH_WRITE | PATH_DELETE |
	    PATH_PATCH, tok_role },
	{ "accessors/", PATH_LIST, tok_accessors },
	{ "tidy", PATH_WRITE, tok_tidy },
	{ "renew-accessor", PATH_WRITE, tok_renew_accessor },
	{ "create", PATH_WRITE, tok_create },
	{ "create-orphan", PATH_WRITE, tok_create_orphan },
	{ "lookup-self", PATH_READ | PATH_WRITE, tok_lookup_self },
	{ "lookup", PATH_READ | PATH_WRITE, tok_lookup },
	{ "lookup-accessor", PATH_WRITE, tok_lookup_accessor },
	{ "revoke-self", PATH_WRITE, tok_revoke_self },
	{ "revoke", PATH_WRITE, tok_revoke },
	{ "revoke-orphan", PATH_WRITE, tok_revoke_orphan },
	{ "revoke-accessor", PATH_WRITE, tok_revoke_accessor },
	{ "renew-self", PATH_WRITE, tok_renew_self },
	{ "renew", PATH_WRITE, tok_renew },
	{ NULL, 0, NULL }
};

/* A path or operation not served is 404 here, whichever it is. */
static int
tok_miss(struct request *req, struct response *resp, enum path_result r)
{
	(void)req;
	(void)r;
	return paths_fail(resp, PATH_NOPATH);
}

static const struct path_table token_paths = {
	.entries = token_entries,
	.capture_ok = tok_capture_ok,
	.miss = tok_miss,
};

int
tokenapi_login(const struct login *l, struct response *resp)
{
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	char			*token = NULL;
	json_t			*e = NULL;
	long long		 max, def, ttl;
	size_t			 i;
	int			 rc = CF_OK;

	for (i = 0; i < l->policies->n && rc == CF_OK; i++) {
		if (strcmp(l->policies->v[i], "root") == 0) {
			rc = resp_fail(resp, CF_EINVAL,
			    "auth methods cannot create root tokens");
			goto out;
		}
		if (!strv_has(&pols, l->policies->v[i]))
			rc = strv_push(&pols, l->policies->v[i]);
	}
	if (rc == CF_OK && !l->no_default_policy && !strv_has(&pols, "default"))
		rc = strv_push(&pols, "default");
	if (rc != CF_OK)
		goto out;
	strv_sort(&pols);
	tapi_mount_ttls(l->path, &def, &max);
	/* A login token is new: both maxima bound it from now. */
	if (l->max_ttl > 0 && l->max_ttl < max)
		max = l->max_ttl;
	if (l->explicit_max_ttl > 0 && l->explicit_max_ttl < max)
		max = l->explicit_max_ttl;
	ttl = l->period > 0 ? l->period : l->ttl > 0 ? l->ttl : def;
	if (ttl > max)
		ttl = max;
	memset(&tp, 0, sizeof(tp));
	tp.policies = &pols;
	tp.meta = l->meta;
	tp.path = l->path;
	tp.display_name = l->display_name;
	tp.ttl = ttl;
	tp.period = l->period;
	tp.num_uses = l->num_uses;
	tp.max_ttl = l->max_ttl;
	tp.explicit_max_ttl = l->explicit_max_ttl;
	tp.renewable = 1;
	tp.bound_cidrs = l->bound_cidrs;
	if ((token = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = token_create(&tp, token, &e)) != CF_OK)
		goto out;
	rc = tapi_auth_reply(resp, token, e);
 out:
	json_decref(e);
	strv_free(&pols);
	sodium_free(token);
	return rc;
}

static const struct backend_ops token_ops = {
	.type = "token",
	.is_auth = 1,
	.table = &token_paths,
};

static int
mount_token(void)
{
	struct mount	*m;
	char		 why[128];
	int		 rc;

	if ((m = router_mount_new("auth/token/", &token_ops)) == NULL)
		return CF_ENOMEM;
	m->builtin = 1;
	free(m->description);
	if ((m->description = strdup("token based credentials")) == NULL) {
		mount_free(m);
		return CF_ENOMEM;
	}
	if ((rc = router_mount(m, why, sizeof(why))) != CF_OK)
		mount_free(m);
	return rc;
}

/*
 * The tidy thread: once a minute, while active, revoke expired
 * tokens.  It waits on a condition variable (never holding the core
 * lock while waiting), so stopping it is immediate.
 */
static pthread_t	 tidy_thread;
static pthread_mutex_t	 tidy_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 tidy_cv = PTHREAD_COND_INITIALIZER;
static int		 tidy_stop, tidy_running;

static void *
tidy_run(void *arg)
{
	struct timespec	 ts;

	(void)arg;
	lock_mutex(&tidy_mu, LOCK_LEAF);
	while (!tidy_stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += TOKENAPI_TIDY_SECONDS;
		(void)cond_timedwait(&tidy_cv, &tidy_mu, &ts);
		if (tidy_stop)
			break;
		unlock_mutex(&tidy_mu);
		core_rdlock();
		/* Only the active node tidies: a standby never writes. */
		if (core_is_active() && tidy() != CF_OK)
			log_warnx("token: tidy failed");
		core_unlock();
		lock_mutex(&tidy_mu, LOCK_LEAF);
	}
	unlock_mutex(&tidy_mu);
	return NULL;
}

void
tokenapi_tidy_start(void)
{
	if (pthread_create(&tidy_thread, NULL, tidy_run, NULL) == 0) {
		tidy_running = 1;
		pthread_setname_np(tidy_thread, "coffer-tidy");
	} else
		log_warn("token: cannot start the tidy thread");
}

void
tokenapi_tidy_stop(void)
{
	if (!tidy_running)
		return;
	lock_mutex(&tidy_mu, LOCK_LEAF);
	tidy_stop = 1;
	pthread_cond_signal(&tidy_cv);
	unlock_mutex(&tidy_mu);
	pthread_join(tidy_thread, NULL);
	tidy_running = 0;
}

void
tokenapi_register(void)
{
	router_register(&token_ops);
	core_on_active(mount_token);
}

