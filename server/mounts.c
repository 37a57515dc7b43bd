/*
 * mounts.c -- sys/mounts and sys/auth: list, read, enable and disable
 * secrets engines and auth methods, and sys/internal/ui/mounts, how
 * `vault kv` finds a mount.  The tables themselves are kept by
 * mount_table.c; tune and remount are in mounts_tune.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acl.h"
#include "core.h"
#include "err.h"
#include "mount_table.h"
#include "mounts.h"
#include "mounts_tune.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "sys.h"
#include "token.h"

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
	if ((path = mount_table_path_norm(rawpath)) == NULL)
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
	if (mounts_tune_ttl_parse(cfg, "default_lease_ttl", &def, &pd) !=
	    CF_OK ||
	    mounts_tune_ttl_parse(cfg, "max_lease_ttl", &max, &pm) != CF_OK) {
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
	mount_table_lock();
	rc = mount_table_make(auth, path, type, NULL, &m, why, sizeof(why));
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
		else if ((rc = mount_table_store(auth)) != CF_OK) {
			struct mount	*gone;

			if (router_unmount(m->path, &gone) == CF_OK)
				router_mount_unref(gone);
		}
	}
	mount_table_unlock();
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

	if ((path = mount_table_path_norm(rawpath)) == NULL)
		return CF_ENOMEM;
	snprintf(full, sizeof(full), "%s%s", auth ? "auth/" : "", path);
	free(path);
	mount_table_lock();
	m = router_mount_exact(full);
	if (m != NULL && m->builtin) {
		router_mount_unref(m);
		mount_table_unlock();
		return resp_fail(resp, CF_EINVAL, strcmp(full, "auth/token/") ==
		    0 ? "token credential backend cannot be disabled" :
		    "cannot unmount \"%s\"", full);
	}
	if (m != NULL && strcmp(m->type, "cubbyhole") == 0) {
		router_mount_unref(m);
		mount_table_unlock();
		return resp_fail(resp, CF_EINVAL, "cannot unmount \"%s\"",
		    full);
	}
	router_mount_unref(m);
	rc = router_unmount(full, &m);
	if (rc == CF_ENOTFOUND) {
		mount_table_unlock();
		return CF_OK;		/* 204 also when nothing is there */
	}
	if ((rc = mount_table_store(auth)) == CF_OK) {
		if (m->ops->destroy != NULL)
			rc = m->ops->destroy(m);
		if (rc == CF_OK)
			rc = core_del_prefix(m->view);
	}
	router_mount_unref(m);
	mount_table_unlock();
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
		    mount_table_listing(m));
		router_mount_unref(m);
	}
	strv_free(&paths);
	resp->inject = inject;
	return resp_data(resp, o);
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
		router_mount_unref(m);
		rc = resp_fail(resp, CF_EINVAL, auth ? "No auth engine at %s" :
		    "No secret engine mount at %s", full);
		goto out;
	}
	if (tune)
		rc = req->op == REQ_READ ? mounts_tune_read(resp, m) :
		    mounts_tune_write(req, resp, m, m->ops->is_auth);
	else if (req->op == REQ_READ) {
		rc = resp_data(resp, mount_table_listing(m));
		resp->inject = 1;
	} else
		rc = resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	router_mount_unref(m);
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
	o = mount_table_listing(m);
	if (o != NULL)
		json_object_set_new(o, "path", json_string(m->path));
	rc = resp_data(resp, o);
 out:
	json_decref(sec);
	json_decref(au);
	router_mount_unref(m);
	token_auth_ctx_free(ac);
	return rc;
}

int
mounts_dev_setup(void)
{
	struct mount	*m;
	char		 why[256];
	int		 rc;

	mount_table_lock();
	rc = mount_table_make(0, "secret/", "kv", NULL, &m, why, sizeof(why));
	if (rc == CF_OK) {
		m->options = json_pack("{s:s}", "version", "2");
		free(m->description);
		m->description = strdup("key/value secret storage");
		if ((rc = router_mount(m, why, sizeof(why))) != CF_OK)
			mount_free(m);
		else
			rc = mount_table_store(0);
	}
	mount_table_unlock();
	return rc;
}

void
mounts_register(void)
{
	sys_route("mounts", 1, sys_mounts);
	sys_route("auth", 1, sys_auth);
	sys_route("remount", 0, mounts_tune_remount);
	sys_route("internal/ui/mounts", 1, sys_ui_mounts);
	core_on_active(mount_table_load);
}
