/*
 * mounts_tune.c -- sys/mounts/<path>/tune, sys/auth/<path>/tune and
 * sys/remount: changes to a mount that is already in the table (see
 * mount_table.c), and the TTL fields that enabling and tuning share.
 * mounts.c routes the tune paths here.
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "core.h"
#include "err.h"
#include "mount_table.h"
#include "mounts_tune.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "timeutil.h"

int
mounts_tune_ttl_parse(json_t *cfg, const char *k, long long *out, int *present)
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

int
mounts_tune_read(struct response *resp, struct mount *m)
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

/*
 * Publish *nm in *old's place, then store it: the tuned mount's entry
 * (tune) or the whole table (a remount).  *nm is the table's either way.
 * A failed store publishes *old again, and the table takes back the
 * caller's reference to it (*old becomes NULL).
 */
static int
publish_stored(struct mount **old, struct mount **nm, int tune, int auth,
    struct response *resp)
{
	struct mount	*pub = *nm;
	char		 why[256];
	int		 rc;

	if (router_replace(*old, pub, why, sizeof(why)) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "%s", why);
	*nm = NULL;
	rc = tune ? mount_table_store_tune(pub, auth) : mount_table_store(0);
	if (rc != CF_OK) {
		if (router_replace(pub, *old, why, sizeof(why)) != CF_OK)
			CF_BUG("a published mount left the table");
		*old = NULL;
	}
	return rc;
}

int
mounts_tune_write(struct request *req, struct response *resp, struct mount *m,
    int auth)
{
	struct mount	*cur = NULL, *nm = NULL;
	const char	*desc = NULL, *cs;
	json_t		*opts, *ver;
	long long	 v = 0, def, max;
	int		 rc, pd, pm;

	if ((m->builtin && !mount_table_is_token(m)) ||
	    strcmp(m->type, "cubbyhole") == 0)
		return resp_fail(resp, CF_EINVAL, "cannot tune \"%s\"",
		    m->path);
	if ((rc = req_str(req, resp, "description", &desc, NULL)) != CF_OK)
		return rc;
	if (mounts_tune_ttl_parse(req->data, "default_lease_ttl", &def,
	    &pd) != CF_OK || mounts_tune_ttl_parse(req->data,
	    "max_lease_ttl", &max, &pm) != CF_OK)
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
	mount_table_lock();
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
	rc = publish_stored(&cur, &nm, 1, auth, resp);
 out:
	mount_table_unlock();
	router_mount_unref(cur);
	mount_free(nm);
	return rc;
}

int
mounts_tune_remount(struct request *req, struct response *resp)
{
	const char	*from = NULL, *to = NULL;
	char		*f = NULL, *t = NULL;
	struct mount	*m = NULL, *nm = NULL;
	int		 rc;

	if ((rc = req_str(req, resp, "from", &from, NULL)) != CF_OK ||
	    (rc = req_str(req, resp, "to", &to, NULL)) != CF_OK)
		return rc;
	if (from == NULL || to == NULL || *from == '\0' || *to == '\0')
		return resp_fail(resp, CF_EINVAL,
		    "both 'from' and 'to' path must be specified");
	if ((f = mount_table_path_norm(from)) == NULL ||
	    (t = mount_table_path_norm(to)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	mount_table_lock();
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
	rc = publish_stored(&m, &nm, 0, 0, resp);
 unlock:
	mount_table_unlock();
 out:
	router_mount_unref(m);
	mount_free(nm);
	free(f);
	free(t);
	return rc;
}
