/*
 * mounts.c -- the persistent mount tables: secrets engines (sys/mounts)
 * and auth methods (sys/auth).
 *
 * A change is applied to storage first, then to the router, under one
 * mutex so that two enables cannot interleave their table writes.  The
 * router's own lock guards the live table; lock order: core, then this
 * mutex, then the router.
 *
 * A published struct mount is never changed: requests read it with
 * only a reference.  Tune and remount build a changed copy under the
 * mutex and swap it in (router_replace); answers take copies of the
 * mount's strings and JSON, never references to them.
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "mounts.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "sys.h"
#include "timeutil.h"
#include "token.h"

#define TABLE_SECRETS	"core/mounts"
#define TABLE_AUTH	"core/auth"

static pthread_mutex_t	 table_mu = PTHREAD_MUTEX_INITIALIZER;

static void
table_lock(void)
{
	lock_mutex(&table_mu, LOCK_CHANGE);
}

static void
table_unlock(void)
{
	unlock_mutex(&table_mu);
}

/* A copy of a mount's JSON (or null) for an answer or the table. */
static json_t *
json_copy_or_null(const json_t *j)
{
	return j != NULL ? json_deep_copy(j) : json_null();
}

static const char *
table_key(int auth)
{
	return auth ? TABLE_AUTH : TABLE_SECRETS;
}

/* The stored form of a mount (without the "auth/" prefix for auth). */
static json_t *
mount_entry(const struct mount *m)
{
	const char	*path = m->path;
	json_t		*e;

	if (m->ops->is_auth && strncmp(path, "auth/", 5) == 0)
		path += 5;
	e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o, s:b, s:b}",
	    "path", path, "type", m->type, "uuid", m->uuid,
	    "accessor", m->accessor, "description", m->description,
	    "config", json_copy_or_null(m->config),
	    "options", json_copy_or_null(m->options),
	    "local", m->local, "seal_wrap", m->seal_wrap);
	return e;
}

/* The listing form (contract 6.1). */
static json_t *
mount_listing(const struct mount *m)
{
	const struct core_conf	*cc = core_conf();
	json_t			*e, *cfg;

	cfg = json_pack("{s:I, s:I, s:b}",
	    "default_lease_ttl", (json_int_t)json_integer_value(
	    json_object_get(m->config, "default_lease_ttl")),
	    "max_lease_ttl", (json_int_t)json_integer_value(
	    json_object_get(m->config, "max_lease_ttl")),
	    "force_no_cache", 0);
	(void)cc;
	e = json_pack("{s:s, s:o, s:s, s:b, s:b, s:o, s:s, s:s, s:s, s:b, "
	    "s:s, s:s}",
	    "accessor", m->accessor, "config", cfg,
	    "description", m->description, "external_entropy_access", 0,
	    "local", m->local, "options", json_copy_or_null(m->options),
	    "plugin_version", "", "running_plugin_version",
	    strcmp(m->type, "kv") == 0 ? "v0.15.0+builtin" :
	    "v" CORE_VAULT_VERSION "+builtin.vault",
	    "running_sha256", "", "seal_wrap", m->seal_wrap,
	    "type", m->type, "uuid", m->uuid);
	if (e != NULL && !m->builtin && strcmp(m->type, "cubbyhole") != 0)
		json_object_set_new(e, "deprecation_status",
		    json_string("supported"));
	return e;
}

/* Write the whole table of one kind from the router's live mounts. */
static int
store_table(int auth)
{
	struct strv	 paths = STRV_INIT;
	struct buf	 b = BUF_INIT;
	struct mount	*m;
	json_t		*arr;
	size_t		 i;
	int		 rc;

	if ((arr = json_array()) == NULL)
		return CF_ENOMEM;
	if ((rc = router_mount_paths(auth, &paths)) != CF_OK)
		goto out;
	for (i = 0; i < paths.n && rc == CF_OK; i++) {
		if ((m = router_mount_exact(paths.v[i])) == NULL)
			continue;
		if (!m->builtin &&
		    json_array_append_new(arr, mount_entry(m)) != 0)
			rc = CF_ENOMEM;
		router_mount_put(m);
	}
	if (rc == CF_OK && (rc = jsonutil_emit(arr, &b)) == CF_OK)
		rc = core_put(table_key(auth), b.data, b.len);
 out:
	json_decref(arr);
	strv_free(&paths);
	buf_free(&b);
	return rc;
}

/* A mount from its stored entry (or a new one); owned by the caller. */
static int
make_mount(int auth, const char *path, const char *type, json_t *e,
    struct mount **out, char *why, size_t whylen)
{
	const struct backend_ops	*ops;
	struct mount			*m;
	char				 full[STORAGE_KEY_MAX], hex[9];
	uint8_t				 r[4];
	const char			*s;

	*out = NULL;
	if ((ops = router_backend_lookup(type)) == NULL ||
	    ops->is_auth != auth) {
		snprintf(why, whylen, "%s \"%s\" is not available",
		    auth ? "auth method" : "secrets engine", type);
		return CF_EINVAL;
	}
	snprintf(full, sizeof(full), "%s%s", auth ? "auth/" : "", path);
	if ((m = mount_new(full, ops)) == NULL)
		return CF_ENOMEM;
	if (e != NULL) {
		if ((s = json_string_value(json_object_get(e, "uuid"))) != NULL)
			strlcpy(m->uuid, s, sizeof(m->uuid));
		if ((s = json_string_value(json_object_get(e, "accessor"))) !=
		    NULL)
			strlcpy(m->accessor, s, sizeof(m->accessor));
		if ((s = json_string_value(json_object_get(e,
		    "description"))) != NULL) {
			free(m->description);
			m->description = strdup(s);
		}
		m->config = json_incref(json_object_get(e, "config"));
		if (json_is_object(json_object_get(e, "options")))
			m->options = json_incref(json_object_get(e, "options"));
		m->local = json_is_true(json_object_get(e, "local"));
		m->seal_wrap = json_is_true(json_object_get(e, "seal_wrap"));
	}
	if (m->accessor[0] == '\0') {
		randombytes_buf(r, sizeof(r));
		sodium_bin2hex(hex, sizeof(hex), r, sizeof(r));
		snprintf(m->accessor, sizeof(m->accessor), "%s%s_%s",
		    auth ? "auth_" : "", type, hex);
	}
	if (m->config == NULL)
		m->config = json_pack("{s:i, s:i}", "default_lease_ttl", 0,
		    "max_lease_ttl", 0);
	snprintf(m->view, sizeof(m->view), "%s/%s/", auth ? "auth" :
	    "logical", m->uuid);
	if (m->description == NULL || m->config == NULL ||
	    (ops->open != NULL && ops->open(m) != CF_OK)) {
		mount_free(m);
		return CF_ENOMEM;
	}
	*out = m;
	return CF_OK;
}

static int
load_table(int auth)
{
	struct buf	 b = BUF_INIT;
	struct mount	*m;
	json_t		*arr = NULL, *e;
	json_error_t	 je;
	char		 why[256];
	size_t		 i;
	int		 rc;

	rc = core_get(table_key(auth), &b);
	if (rc == CF_ENOTFOUND && !auth) {
		/* A fresh node: the default secrets mounts. */
		arr = json_pack("[{s:s, s:s, s:s, s:b}]", "path", "cubbyhole/",
		    "type", "cubbyhole", "description",
		    "per-token private secret storage", "local", 1);
		if (arr == NULL)
			return CF_ENOMEM;
		rc = CF_OK;
	} else if (rc == CF_ENOTFOUND) {
		rc = CF_OK;
		goto out;
	} else if (rc != CF_OK)
		goto out;
	else if ((arr = json_loadb(b.data, b.len, 0, &je)) == NULL) {
		rc = CF_EINTERNAL;
		goto out;
	}
	json_array_foreach(arr, i, e) {
		const char	*path = json_string_value(json_object_get(e,
		    "path"));
		const char	*type = json_string_value(json_object_get(e,
		    "type"));

		if (path == NULL || type == NULL)
			continue;
		if (make_mount(auth, path, type, json_string_value(
		    json_object_get(e, "uuid")) != NULL ? e : NULL, &m, why,
		    sizeof(why)) != CF_OK) {
			log_warnx("mounts: cannot mount %s: %s", path, why);
			continue;
		}
		if (json_string_value(json_object_get(e, "uuid")) == NULL) {
			free(m->description);
			m->description = strdup(json_string_value(
			    json_object_get(e, "description")));
			m->local = json_is_true(json_object_get(e, "local"));
		}
		if (router_mount(m, why, sizeof(why)) != CF_OK) {
			log_warnx("mounts: %s: %s", path, why);
			mount_free(m);
		}
	}
	if (b.len == 0 && !auth)
		rc = store_table(0);
 out:
	json_decref(arr);
	buf_free(&b);
	return rc;
}

/*
 * auth/token/ is built in, so no table holds it: its tuned TTLs are
 * kept on their own and put back on the mount at unseal.
 */
#define TOKEN_TUNE	"core/token-mount-config"

static int
is_token_mount(const struct mount *m)
{
	return m->builtin && strcmp(m->path, "auth/token/") == 0;
}

static int
load_token_tune(void)
{
	struct mount	*cur, *nm = NULL;
	json_t		*cfg = NULL;
	char		 why[256];
	int		 rc;

	if ((rc = core_get_json(TOKEN_TUNE, &cfg)) == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	table_lock();
	if ((cur = router_mount_exact("auth/token/")) == NULL)
		goto out;
	if ((nm = mount_copy(cur, NULL)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	json_decref(nm->config);
	nm->config = cfg;
	cfg = NULL;
	if ((rc = router_replace(cur, nm, why, sizeof(why))) == CF_OK)
		nm = NULL;		/* the table's now; cur is ours to put */
 out:
	table_unlock();
	router_mount_put(cur);
	mount_free(nm);
	json_decref(cfg);
	return rc;
}

static int
load_tables(void)
{
	int	 rc;

	if ((rc = load_table(0)) != CF_OK || (rc = load_table(1)) != CF_OK)
		return rc;
	return load_token_tune();
}

/* "foo/bar" -> "foo/bar/", leading slashes dropped. */
static char *
norm_path(const char *p)
{
	size_t	 len;
	char	*s;

	while (*p == '/')
		p++;
	len = strlen(p);
	if ((s = malloc(len + 2)) == NULL)
		return NULL;
	memcpy(s, p, len + 1);
	if (len > 0 && s[len - 1] != '/') {
		s[len] = '/';
		s[len + 1] = '\0';
	}
	return s;
}

static int
parse_ttl_field(json_t *cfg, const char *k, long long *out, int *present)
{
	json_t	*v = json_object_get(cfg, k);

	*present = 0;
	if (v == NULL || json_is_null(v) ||
	    (json_is_string(v) && *json_string_value(v) == '\0'))
		return CF_OK;
	*present = 1;
	if (json_is_integer(v)) {
		*out = json_integer_value(v);
		return *out >= 0 ? CF_OK : CF_EINVAL;
	}
	if (json_is_string(v)) {
		if (strcmp(json_string_value(v), "system") == 0) {
			*out = 0;
			return CF_OK;
		}
		return duration_parse(json_string_value(v), out);
	}
	return CF_EINVAL;
}

static int
enable(struct request *req, struct response *resp, int auth,
    const char *rawpath)
{
	const char	*type = NULL, *desc = NULL;
	char		*path = NULL, why[256];
	struct mount	*m = NULL;
	json_t		*cfg, *opts, *ver;
	long long	 def = 0, max = 0;
	int		 rc, pd, pm, local = 0, sw = 0;

	if ((rc = req_str(req, resp, "type", &type, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "description", &desc, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "local", &local, NULL)) != CF_OK ||
	    (rc = req_bool(req, resp, "seal_wrap", &sw, NULL)) != CF_OK)
		return rc;
	if (type == NULL || *type == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "backend type must be specified as a string");
	if ((path = norm_path(rawpath)) == NULL)
		return CF_ENOMEM;
	opts = json_object_get(req->data, "options");
	if (opts != NULL && !json_is_object(opts) && !json_is_null(opts)) {
		rc = resp_fail(resp, CF_EINVAL, "options must be a map");
		goto out;
	}
	opts = json_is_object(opts) ? json_deep_copy(opts) : NULL;
	if (strcmp(type, "kv-v1") == 0 || strcmp(type, "kv-v2") == 0 ||
	    strcmp(type, "generic") == 0) {
		if (opts == NULL)
			opts = json_object();
		if (type[1] == 'v')
			json_object_set_new(opts, "version",
			    json_string(type[4] == '2' ? "2" : "1"));
		type = "kv";
	}
	ver = json_object_get(opts, "version");
	if (ver != NULL && strcmp(type, "kv") != 0) {
		json_decref(opts);
		rc = resp_fail(resp, CF_EINVAL, "%s \"%s\" does not allow "
		    "setting a version", auth ? "auth method" :
		    "secrets engine", type);
		goto out;
	}
	if (ver != NULL && json_is_integer(ver))
		json_object_set_new(opts, "version", json_sprintf("%lld",
		    (long long)json_integer_value(ver)));
	cfg = json_object_get(req->data, "config");
	if (parse_ttl_field(cfg, "default_lease_ttl", &def, &pd) != CF_OK ||
	    parse_ttl_field(cfg, "max_lease_ttl", &max, &pm) != CF_OK) {
		json_decref(opts);
		rc = resp_fail(resp, CF_EINVAL, "invalid lease TTL in config");
		goto out;
	}
	if (max > 0 && def > max) {
		json_decref(opts);
		rc = resp_fail(resp, CF_EINVAL, "given default lease TTL "
		    "greater than given max lease TTL");
		goto out;
	}
	if (!auth && (strncmp(path, "sys/", 4) == 0 ||
	    strncmp(path, "auth/", 5) == 0 || strncmp(path, "audit/", 6) == 0 ||
	    strncmp(path, "cubbyhole/", 10) == 0 ||
	    strncmp(path, "identity/", 9) == 0)) {
		json_decref(opts);
		rc = resp_fail(resp, CF_EINVAL, "cannot mount \"%s\"", path);
		goto out;
	}
	if (strcmp(type, "cubbyhole") == 0 || strcmp(type, "system") == 0 ||
	    strcmp(type, "token") == 0 || strcmp(type, "identity") == 0) {
		json_decref(opts);
		rc = resp_fail(resp, CF_EINVAL, "mount type of \"%s\" is not "
		    "mountable", type);
		goto out;
	}
	if (strcmp(path, "/") == 0 || *path == '\0') {
		json_decref(opts);
		rc = resp_fail(resp, CF_EINVAL, "missing mount path");
		goto out;
	}
	table_lock();
	rc = make_mount(auth, path, type, NULL, &m, why, sizeof(why));
	if (rc == CF_OK) {
		m->options = opts;
		opts = NULL;
		json_object_set_new(m->config, "default_lease_ttl",
		    json_integer(def));
		json_object_set_new(m->config, "max_lease_ttl",
		    json_integer(max));
		m->local = local;
		m->seal_wrap = sw;
		if (desc != NULL) {
			free(m->description);
			m->description = strdup(desc);
		}
		if ((rc = router_mount(m, why, sizeof(why))) != CF_OK)
			mount_free(m);
		else if ((rc = store_table(auth)) != CF_OK) {
			struct mount	*gone;

			if (router_unmount(m->path, &gone) == CF_OK)
				router_mount_put(gone);
		}
	}
	table_unlock();
	json_decref(opts);
	if (rc == CF_EINVAL)
		rc = resp_fail(resp, CF_EINVAL, "%s", why);
 out:
	free(path);
	return rc;
}

static int
disable(struct response *resp, int auth, const char *rawpath)
{
	struct mount	*m = NULL;
	char		*path, full[STORAGE_KEY_MAX];
	int		 rc;

	if ((path = norm_path(rawpath)) == NULL)
		return CF_ENOMEM;
	snprintf(full, sizeof(full), "%s%s", auth ? "auth/" : "", path);
	free(path);
	table_lock();
	m = router_mount_exact(full);
	if (m != NULL && m->builtin) {
		router_mount_put(m);
		table_unlock();
		return resp_fail(resp, CF_EINVAL, strcmp(full, "auth/token/") ==
		    0 ? "token credential backend cannot be disabled" :
		    "cannot unmount \"%s\"", full);
	}
	if (m != NULL && strcmp(m->type, "cubbyhole") == 0) {
		router_mount_put(m);
		table_unlock();
		return resp_fail(resp, CF_EINVAL, "cannot unmount \"%s\"",
		    full);
	}
	router_mount_put(m);
	rc = router_unmount(full, &m);
	if (rc == CF_ENOTFOUND) {
		table_unlock();
		return CF_OK;		/* 204 also when nothing is there */
	}
	if ((rc = store_table(auth)) == CF_OK) {
		if (m->ops->destroy != NULL)
			rc = m->ops->destroy(m);
		if (rc == CF_OK)
			rc = core_del_prefix(m->view);
	}
	router_mount_put(m);
	table_unlock();
	return rc;
}

static int
list_table(struct response *resp, int auth, int inject)
{
	struct strv	 paths = STRV_INIT;
	struct mount	*m;
	json_t		*o;
	size_t		 i;
	int		 rc;

	if ((o = json_object()) == NULL)
		return CF_ENOMEM;
	if ((rc = router_mount_paths(auth, &paths)) != CF_OK) {
		json_decref(o);
		return rc;
	}
	for (i = 0; i < paths.n; i++) {
		if ((m = router_mount_exact(paths.v[i])) == NULL)
			continue;
		json_object_set_new(o, auth ? m->path + 5 : m->path,
		    mount_listing(m));
		router_mount_put(m);
	}
	strv_free(&paths);
	resp->inject = inject;
	return resp_data(resp, o);
}

static int
tune_read(struct response *resp, struct mount *m)
{
	const struct core_conf	*cc = core_conf();
	long long		 def, max;
	json_t			*o;

	def = json_integer_value(json_object_get(m->config,
	    "default_lease_ttl"));
	max = json_integer_value(json_object_get(m->config, "max_lease_ttl"));
	o = json_pack("{s:s, s:I, s:I, s:b}", "description", m->description,
	    "default_lease_ttl", (json_int_t)(def > 0 ? def :
	    cc->default_lease_ttl),
	    "max_lease_ttl", (json_int_t)(max > 0 ? max : cc->max_lease_ttl),
	    "force_no_cache", 0);
	if (o != NULL && m->options != NULL &&
	    json_object_set_new(o, "options", json_deep_copy(m->options)) !=
	    0) {
		json_decref(o);
		o = NULL;
	}
	resp->inject = 1;
	return resp_data(resp, o);
}

/* Apply a tune to nm, an unpublished copy of the mount. */
static int
tune_apply(struct mount *nm, const char *desc, int pd, long long def,
    int pm, long long max, json_t *opts)
{
	json_t	*o, *ver;
	int	 rc = 0;

	if (desc != NULL) {
		free(nm->description);
		if ((nm->description = strdup(desc)) == NULL)
			return CF_ENOMEM;
	}
	if (nm->config == NULL && (nm->config = json_object()) == NULL)
		return CF_ENOMEM;
	if (pd)
		rc |= json_object_set_new(nm->config, "default_lease_ttl",
		    json_integer(def));
	if (pm)
		rc |= json_object_set_new(nm->config, "max_lease_ttl",
		    json_integer(max));
	if (json_is_object(opts)) {
		/* A copy: the request's own objects die with it. */
		if (nm->options == NULL &&
		    (nm->options = json_object()) == NULL)
			return CF_ENOMEM;
		if ((o = json_deep_copy(opts)) == NULL)
			return CF_ENOMEM;
		rc |= json_object_update(nm->options, o);
		json_decref(o);
		if ((ver = json_object_get(nm->options, "version")) != NULL &&
		    json_is_integer(ver))
			rc |= json_object_set_new(nm->options, "version",
			    json_sprintf("%lld",
			    (long long)json_integer_value(ver)));
	}
	return rc == 0 ? CF_OK : CF_ENOMEM;
}

static int
tune_write(struct request *req, struct response *resp, struct mount *m,
    int auth)
{
	struct mount	*cur = NULL, *nm = NULL, *pub;
	const char	*desc = NULL, *cs;
	json_t		*opts, *ver;
	char		 why[256];
	long long	 v = 0, def, max;
	int		 rc, pd, pm;

	if ((m->builtin && !is_token_mount(m)) ||
	    strcmp(m->type, "cubbyhole") == 0)
		return resp_fail(resp, CF_EINVAL, "cannot tune \"%s\"",
		    m->path);
	if ((rc = req_str(req, resp, "description", &desc, NULL)) != CF_OK)
		return rc;
	if (parse_ttl_field(req->data, "default_lease_ttl", &def, &pd) !=
	    CF_OK || parse_ttl_field(req->data, "max_lease_ttl", &max, &pm) !=
	    CF_OK)
		return resp_fail(resp, CF_EINVAL, "invalid lease TTL");
	opts = json_object_get(req->data, "options");
	ver = json_object_get(opts, "version");
	if (ver != NULL) {
		if (strcmp(m->type, "kv") != 0)
			return resp_fail(resp, CF_EINVAL, "secrets engine "
			    "\"%s\" does not allow setting a version", m->type);
		v = json_is_string(ver) ? atoll(json_string_value(ver)) :
		    json_integer_value(ver);
		if (v != 1 && v != 2)
			return resp_fail(resp, CF_EINVAL, "invalid version "
			    "provided: %s", json_is_string(ver) ?
			    json_string_value(ver) : "?");
	}
	table_lock();
	/* Tune what is published now: another tune may have replaced m. */
	if ((cur = router_mount_exact(m->path)) == NULL ||
	    strcmp(cur->uuid, m->uuid) != 0) {
		rc = resp_fail(resp, CF_EINVAL, auth ? "No auth engine at %s" :
		    "No secret engine mount at %s", m->path);
		goto out;
	}
	if (ver != NULL) {
		cs = json_string_value(json_object_get(cur->options,
		    "version"));
		if (v == 1 && cs != NULL && strcmp(cs, "2") == 0) {
			rc = resp_fail(resp, CF_EINVAL, "cannot downgrade "
			    "mount from version 2");
			goto out;
		}
		if (v == 2 && (cs == NULL || strcmp(cs, "2") != 0)) {
			if ((rc = cur->ops->upgrade != NULL ?
			    cur->ops->upgrade(cur) : CF_EINTERNAL) != CF_OK)
				goto out;
			resp_warn(resp, "Upgrading mount from version 1 to "
			    "version 2. This mount will be unavailable for a "
			    "brief period and will resume service shortly.");
		}
	}
	if ((nm = mount_copy(cur, NULL)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = tune_apply(nm, desc, pd, def, pm, max, opts)) != CF_OK)
		goto out;
	if ((rc = router_replace(cur, nm, why, sizeof(why))) != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "%s", why);
		goto out;
	}
	pub = nm;
	nm = NULL;		/* the table's now */
	if ((rc = is_token_mount(pub) ? core_put_json(TOKEN_TUNE,
	    pub->config) : store_table(auth)) != CF_OK) {
		/* Not stored: publish the mount as it was. */
		if (router_replace(pub, cur, why, sizeof(why)) != CF_OK)
			CF_BUG("tuned mount left the table");
		cur = NULL;	/* the table took our reference */
	}
 out:
	table_unlock();
	router_mount_put(cur);
	mount_free(nm);
	return rc;
}

/* sys/mounts[/path[/tune]] and sys/auth[/path[/tune]]. */
static int
table_handler(struct request *req, struct response *resp, int auth)
{
	const char	*rest = req->rel + (auth ? 4 : 6);
	char		*path = NULL, full[STORAGE_KEY_MAX];
	struct mount	*m;
	size_t		 len;
	int		 rc, tune = 0;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (req->op != REQ_READ)
			return resp_fail(resp, CF_EMETHOD,
			    "1 error occurred:\n\t* unsupported operation\n\n");
		return list_table(resp, auth, 1);
	}
	rest++;
	if ((path = strdup(rest)) == NULL)
		return CF_ENOMEM;
	len = strlen(path);
	if (len >= 5 && strcmp(path + len - 5, "/tune") == 0) {
		path[len - 5] = '\0';
		tune = 1;
	}
	if (!tune && (req->op == REQ_UPDATE || req->op == REQ_CREATE)) {
		rc = enable(req, resp, auth, path);
		goto out;
	}
	if (!tune && req->op == REQ_DELETE) {
		rc = disable(resp, auth, path);
		goto out;
	}
	snprintf(full, sizeof(full), "%s%s%s", auth ? "auth/" : "", path,
	    path[strlen(path) - 1] == '/' ? "" : "/");
	if ((m = router_mount_get(full)) == NULL ||
	    (m->ops->is_auth != auth && !tune)) {
		router_mount_put(m);
		rc = resp_fail(resp, CF_EINVAL, auth ? "No auth engine at %s" :
		    "No secret engine mount at %s", full);
		goto out;
	}
	if (tune)
		rc = req->op == REQ_READ ? tune_read(resp, m) :
		    tune_write(req, resp, m, m->ops->is_auth);
	else if (req->op == REQ_READ) {
		rc = resp_data(resp, mount_listing(m));
		resp->inject = 1;
	} else
		rc = resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	router_mount_put(m);
 out:
	free(path);
	return rc;
}

static int
sys_mounts(struct request *req, struct response *resp)
{
	return table_handler(req, resp, 0);
}

static int
sys_auth(struct request *req, struct response *resp)
{
	return table_handler(req, resp, 1);
}

static int
sys_remount(struct request *req, struct response *resp)
{
	const char	*from = NULL, *to = NULL;
	char		*f = NULL, *t = NULL, why[256];
	struct mount	*m = NULL, *nm = NULL, *pub;
	int		 rc;

	if ((rc = req_str(req, resp, "from", &from, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "to", &to, NULL)) != CF_OK)
		return rc;
	if (from == NULL || to == NULL || *from == '\0' || *to == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "both 'from' and 'to' path must be specified");
	if ((f = norm_path(from)) == NULL || (t = norm_path(to)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	table_lock();
	if ((m = router_mount_exact(f)) == NULL || m->builtin ||
	    m->ops->is_auth || strcmp(m->type, "cubbyhole") == 0) {
		rc = resp_fail(resp, CF_EINVAL, "cannot remount \"%s\"", f);
		goto unlock;
	}
	/*
	 * A copy at the new path replaces it in one step; requests holding
	 * the old one finish with it.  The data stays: the view is keyed
	 * by uuid, not path.
	 */
	if ((nm = mount_copy(m, t)) == NULL) {
		rc = CF_ENOMEM;
		goto unlock;
	}
	if ((rc = router_replace(m, nm, why, sizeof(why))) != CF_OK) {
		rc = resp_fail(resp, CF_EINVAL, "%s", why);
		goto unlock;
	}
	pub = nm;
	nm = NULL;		/* the table's now */
	if ((rc = store_table(0)) != CF_OK) {
		if (router_replace(pub, m, why, sizeof(why)) != CF_OK)
			CF_BUG("remounted mount left the table");
		m = NULL;	/* the table took our reference */
	}
 unlock:
	table_unlock();
 out:
	router_mount_put(m);
	mount_free(nm);
	free(f);
	free(t);
	return rc;
}

/* May ac see mount path (full, "auth/..." for auth mounts)? */
static int
mount_visible(const struct auth_ctx *ac, const char *path)
{
	return ac != NULL && (ac->is_root || acl_mount_access(ac->acl, path));
}

/* Drop from table (keyed as listed) the mounts ac may not see. */
static void
mounts_filter(json_t *table, const struct auth_ctx *ac, const char *prefix)
{
	const char	*k;
	json_t		*v;
	void		*tmp;
	char		 full[512];

	json_object_foreach_safe(table, tmp, k, v) {
		(void)v;
		(void)snprintf(full, sizeof(full), "%s%s", prefix, k);
		if (!mount_visible(ac, full))
			json_object_del(table, k);
	}
}

/*
 * How `vault kv` finds a mount and its KV version.  Served without a
 * token, as Vault does; the token, when one is given and live, decides
 * what is shown (no use of it is consumed): the mounts it has any
 * capability at or below, and for one path its mount only if so.
 */
static int
sys_ui_mounts(struct request *req, struct response *resp)
{
	const char	*rest = req->rel + strlen("internal/ui/mounts");
	struct auth_ctx	*ac = NULL;
	struct mount	*m = NULL;
	json_t		*o, *sec = NULL, *au = NULL;
	int		 rc;

	if (req->token != NULL && token_peek(req->token, &ac) != CF_OK)
		ac = NULL;
	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if ((rc = list_table(resp, 0, 0)) != CF_OK)
			goto out;
		sec = resp->data;
		resp->data = NULL;
		if ((rc = list_table(resp, 1, 0)) != CF_OK)
			goto out;
		au = resp->data;
		resp->data = NULL;
		mounts_filter(sec, ac, "");
		mounts_filter(au, ac, "auth/");
		rc = resp_data(resp, json_pack("{s:O, s:O}", "secret", sec,
		    "auth", au));
		goto out;
	}
	if ((m = router_mount_get(rest + 1)) == NULL ||
	    !mount_visible(ac, m->path)) {
		rc = resp_fail(resp, CF_EDENIED, "preflight capability "
		    "check returned 403, please ensure client's policies "
		    "grant access to path \"%s/\"", rest + 1);
		goto out;
	}
	o = mount_listing(m);
	if (o != NULL)
		json_object_set_new(o, "path", json_string(m->path));
	rc = resp_data(resp, o);
 out:
	json_decref(sec);
	json_decref(au);
	router_mount_put(m);
	auth_ctx_free(ac);
	return rc;
}

int
mounts_dev_setup(void)
{
	struct mount	*m;
	char		 why[256];
	int		 rc;

	table_lock();
	rc = make_mount(0, "secret/", "kv", NULL, &m, why, sizeof(why));
	if (rc == CF_OK) {
		m->options = json_pack("{s:s}", "version", "2");
		free(m->description);
		m->description = strdup("key/value secret storage");
		if ((rc = router_mount(m, why, sizeof(why))) != CF_OK)
			mount_free(m);
		else
			rc = store_table(0);
	}
	table_unlock();
	return rc;
}

void
mounts_register(void)
{
	sys_route("mounts", 1, sys_mounts);
	sys_route("auth", 1, sys_auth);
	sys_route("remount", 0, sys_remount);
	sys_route("internal/ui/mounts", 1, sys_ui_mounts);
	core_on_active(load_tables);
}
