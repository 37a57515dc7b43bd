/*
 * mount_table.c -- the mount tables and their storage: secrets engines
 * at "core/mounts", auth methods at "core/auth", the token mount's tune
 * at "core/token-mount-config"; loaded into the router on becoming
 * active.  The sys/mounts and sys/auth handlers are in mounts.c, tune
 * and remount in mounts_tune.c.
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

#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "mount_table.h"
#include "router.h"
#include "storage.h"

#define TABLE_SECRETS	"core/mounts"
#define TABLE_AUTH	"core/auth"

static pthread_mutex_t	 table_mu = PTHREAD_MUTEX_INITIALIZER;

void
mount_table_lock(void)
{
	lock_mutex(&table_mu, LOCK_CHANGE);
}

void
mount_table_unlock(void)
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
json_t *
mount_table_listing(const struct mount *m)
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
int
mount_table_store(int auth)
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
		router_mount_unref(m);
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
int
mount_table_make(int auth, const char *path, const char *type, json_t *e,
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
	if ((m = router_mount_new(full, ops)) == NULL)
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
		if (mount_table_make(auth, path, type, json_string_value(
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
		rc = mount_table_store(0);
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

int
mount_table_is_token(const struct mount *m)
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
	mount_table_lock();
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
	mount_table_unlock();
	router_mount_unref(cur);
	mount_free(nm);
	json_decref(cfg);
	return rc;
}

int
mount_table_load(void)
{
	int	 rc;

	if ((rc = load_table(0)) != CF_OK || (rc = load_table(1)) != CF_OK)
		return rc;
	return load_token_tune();
}

int
mount_table_store_tune(const struct mount *m, int auth)
{
	return mount_table_is_token(m) ? core_put_json(TOKEN_TUNE,
	    m->config) : mount_table_store(auth);
}

/* "foo/bar" -> "foo/bar/", leading slashes dropped. */
char *
mount_table_path_norm(const char *p)
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
