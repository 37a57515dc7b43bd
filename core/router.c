/*
 * router.c -- the mount table and the request pipeline.
 *
 * The table is a small array of referenced mounts under a rwlock;
 * lookups scan it for the longest prefix (tables hold tens of mounts,
 * and a scan of short strings beats a trie's pointer chasing there).
 * Raw handlers of the seal family are a fixed table set up at startup.
 *
 * The order of the checks follows Vault's, because clients branch on
 * the status: sealed (503), then route (404), then token (403), then
 * existence check and ACL (403), then the handler.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "uuid4.h"

#define ROUTER_MAX_BACKENDS	32
#define ROUTER_MAX_RAW		32

struct raw_route {
	const char	*path;
	int		 prefix;
	router_fn	 fn;
};

static const struct backend_ops	*backends[ROUTER_MAX_BACKENDS];
static size_t			 nbackends;
static struct raw_route		 raws[ROUTER_MAX_RAW];
static size_t			 nraws;
static router_forward_fn	 forwarder;
static const struct router_auth_ops *auth_ops;
static const struct router_wrap_ops *wrap_ops;
static const struct router_audit_ops *audit_ops;

static pthread_rwlock_t		 table_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct mount		**table;
static size_t			 ntable, captable;

void
router_raw(const char *path, int prefix, router_fn fn)
{
	if (nraws == ROUTER_MAX_RAW)
		CF_BUG("too many raw routes");
	raws[nraws].path = path;
	raws[nraws].prefix = prefix;
	raws[nraws].fn = fn;
	nraws++;
}

void
router_forward(router_forward_fn fn)
{
	forwarder = fn;
}

void
router_auth(const struct router_auth_ops *ops)
{
	auth_ops = ops;
}

void
router_wrapping(const struct router_wrap_ops *ops)
{
	wrap_ops = ops;
}

void
router_auditing(const struct router_audit_ops *ops)
{
	audit_ops = ops;
}

void
router_register(const struct backend_ops *ops)
{
	if (nbackends == ROUTER_MAX_BACKENDS)
		CF_BUG("too many backend types");
	if (ops->handle == NULL && ops->table == NULL)
		CF_BUG("a backend answers nothing");
	backends[nbackends++] = ops;
}

const struct backend_ops *
router_backend_lookup(const char *type)
{
	size_t	 i;

	for (i = 0; i < nbackends; i++)
		if (strcmp(backends[i]->type, type) == 0)
			return backends[i];
	return NULL;
}

static void
rdlock(void)
{
	lock_read(&table_lock, LOCK_TABLE);
}

static void
wrlock(void)
{
	lock_write(&table_lock, LOCK_TABLE);
}

static void
unlock(void)
{
	unlock_rw(&table_lock);
}

struct mount *
router_mount_new(const char *path, const struct backend_ops *ops)
{
	struct mount	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	if ((m->path = strdup(path)) == NULL ||
	    (m->type = strdup(ops->type)) == NULL ||
	    (m->description = strdup("")) == NULL) {
		mount_free(m);
		return NULL;
	}
	m->ops = ops;
	m->refs = 1;
	uuid4_random(m->uuid);
	return m;
}

struct mount *
mount_copy(struct mount *src, const char *path)
{
	struct mount	*m;

	if ((m = calloc(1, sizeof(*m))) == NULL)
		return NULL;
	m->ops = src->ops;
	m->refs = 1;
	if ((m->path = strdup(path != NULL ? path : src->path)) == NULL ||
	    (m->type = strdup(src->type)) == NULL ||
	    (m->description = strdup(src->description)) == NULL ||
	    (src->config != NULL &&
	    (m->config = json_deep_copy(src->config)) == NULL) ||
	    (src->options != NULL &&
	    (m->options = json_deep_copy(src->options)) == NULL)) {
		mount_free(m);
		return NULL;
	}
	memcpy(m->uuid, src->uuid, sizeof(m->uuid));
	memcpy(m->accessor, src->accessor, sizeof(m->accessor));
	memcpy(m->view, src->view, sizeof(m->view));
	m->local = src->local;
	m->seal_wrap = src->seal_wrap;
	m->builtin = src->builtin;
	if (src->ctx != NULL) {
		/* The mount that opened ctx lives as long as any copy. */
		m->ctx_owner = src->ctx_owner != NULL ? src->ctx_owner : src;
		__atomic_add_fetch(&m->ctx_owner->refs, 1, __ATOMIC_RELAXED);
		m->ctx = src->ctx;
	}
	return m;
}

void
mount_free(struct mount *m)
{
	if (m == NULL)
		return;
	if (m->ctx_owner != NULL)
		router_mount_unref(m->ctx_owner);	/* closes ctx if last */
	else if (m->ctx != NULL && m->ops->close != NULL)
		m->ops->close(m);
	free(m->path);
	free(m->type);
	free(m->description);
	json_decref(m->config);
	json_decref(m->options);
	free(m);
}

/* 1 if a and b overlap: one is a prefix of the other. */
static int
paths_nest(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	return strncmp(a, b, la < lb ? la : lb) == 0;
}

int
router_mount(struct mount *m, char *why, size_t whylen)
{
	struct mount	**nt;
	size_t		  i;
	int		  rc = CF_OK;

	wrlock();
	for (i = 0; i < ntable; i++) {
		if (paths_nest(table[i]->path, m->path)) {
			snprintf(why, whylen, "path is already in use at %s",
			    table[i]->path);
			rc = CF_EINVAL;
			goto out;
		}
	}
	if (ntable == captable) {
		size_t	 ncap = captable ? captable * 2 : 16;

		if ((nt = reallocarray(table, ncap, sizeof(*nt))) == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
		table = nt;
		captable = ncap;
	}
	table[ntable++] = m;
 out:
	unlock();
	return rc;
}

int
router_replace(struct mount *old, struct mount *m, char *why, size_t whylen)
{
	size_t	 i, at = 0;
	int	 rc = CF_ENOTFOUND;

	wrlock();
	for (i = 0; i < ntable; i++)
		if (table[i] == old) {
			at = i;
			rc = CF_OK;
		}
	for (i = 0; i < ntable && rc == CF_OK; i++) {
		if (table[i] != old && paths_nest(table[i]->path, m->path)) {
			snprintf(why, whylen, "path is already in use at %s",
			    table[i]->path);
			rc = CF_EINVAL;
		}
	}
	if (rc == CF_OK)
		table[at] = m;
	unlock();
	if (rc == CF_OK)
		router_mount_unref(old);
	else if (rc == CF_ENOTFOUND)
		snprintf(why, whylen, "no mount at %s", old->path);
	return rc;
}

int
router_unmount(const char *path, struct mount **out)
{
	size_t	 i;

	*out = NULL;
	wrlock();
	for (i = 0; i < ntable; i++) {
		if (strcmp(table[i]->path, path) == 0) {
			*out = table[i];
			memmove(&table[i], &table[i + 1],
			    (ntable - i - 1) * sizeof(*table));
			ntable--;
			break;
		}
	}
	unlock();
	return *out != NULL ? CF_OK : CF_ENOTFOUND;
}

static struct mount *
longest_prefix(const char *path)
{
	struct mount	*best = NULL;
	size_t		 i, len, plen = strlen(path), blen = 0;

	for (i = 0; i < ntable; i++) {
		len = strlen(table[i]->path);
		/* "secret" reaches "secret/" too, with an empty rest. */
		if ((strncmp(table[i]->path, path, len) == 0 ||
		    (plen == len - 1 && table[i]->path[plen] == '/' &&
		    strncmp(table[i]->path, path, plen) == 0)) && len > blen) {
			best = table[i];
			blen = len;
		}
	}
	return best;
}

struct mount *
router_mount_get(const char *path)
{
	struct mount	*m;

	rdlock();
	if ((m = longest_prefix(path)) != NULL)
		__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	unlock();
	return m;
}

struct mount *
router_mount_exact(const char *path)
{
	struct mount	*m = NULL;
	size_t		 i;

	rdlock();
	for (i = 0; i < ntable; i++)
		if (strcmp(table[i]->path, path) == 0) {
			m = table[i];
			__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
			break;
		}
	unlock();
	return m;
}

void
router_mount_unref(struct mount *m)
{
	if (m != NULL && __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) == 0)
		mount_free(m);
}

int
router_mount_paths(int auth, struct strv *out)
{
	size_t	 i;
	int	 rc = CF_OK;

	rdlock();
	for (i = 0; i < ntable && rc == CF_OK; i++)
		if (table[i]->ops->is_auth == auth)
			rc = strv_push(out, table[i]->path);
	unlock();
	strv_sort(out);
	return rc;
}

void
router_clear(void)
{
	struct mount	**old;
	size_t		  i, n;

	wrlock();
	old = table;
	n = ntable;
	table = NULL;
	ntable = captable = 0;
	unlock();
	for (i = 0; i < n; i++)
		router_mount_unref(old[i]);
	free(old);
}

static router_fn
raw_lookup(const char *path)
{
	size_t	 i, len;

	for (i = 0; i < nraws; i++) {
		len = strlen(raws[i].path);
		if (strcmp(path, raws[i].path) == 0)
			return raws[i].fn;
		if (raws[i].prefix && strncmp(path, raws[i].path, len) == 0 &&
		    path[len] == '/')
			return raws[i].fn;
	}
	return NULL;
}

/* LIST paths end in '/', as Vault's router makes them. */
static int
normalize_list_path(struct request *req)
{
	size_t	 len = strlen(req->path);
	char	*p;

	if (req->op != REQ_LIST || (len > 0 && req->path[len - 1] == '/'))
		return CF_OK;
	if ((p = realloc(req->path, len + 2)) == NULL)
		return CF_ENOMEM;
	p[len] = '/';
	p[len + 1] = '\0';
	req->path = p;
	return CF_OK;
}

/* Token, existence check and ACL for a routed request. */
static int
authorize(struct mount *m, struct request *req, struct response *resp)
{
	int	 rc, exists;

	if (m->ops->is_unauthenticated != NULL &&
	    m->ops->is_unauthenticated(m, req->rel, req->op))
		return CF_OK;
	if (auth_ops == NULL)
		CF_BUG("no authorization registered");
	if ((rc = auth_ops->authenticate(req->token, req->remote_addr,
	    &req->auth)) != CF_OK) {
		if (rc == CF_EDENIED)
			return resp_fail(resp, CF_EDENIED,
			    "permission denied");
		return rc;
	}
	if (req->op == REQ_UPDATE && m->ops->exists != NULL) {
		if ((rc = m->ops->exists(m, req, &exists)) != CF_OK)
			return rc;
		if (!exists)
			req->op = REQ_CREATE;
	}
	rc = auth_ops->allowed(req->auth, req->path, req->op, req->data,
	    req->wrap_set ? req->wrap_ttl : -1);
	if (rc == CF_EDENIED)
		return resp_fail(resp, CF_EDENIED,
		    "1 error occurred:\n\t* permission denied\n\n");
	return rc;
}

/* The mount serving req->path (referenced), or Vault's 404. */
static int
mount_for(struct request *req, struct response *resp, struct mount **m)
{
	if ((*m = router_mount_get(req->path)) == NULL)
		return resp_fail(resp, CF_ENOTFOUND,
		    "no handler for route \"%s\". route entry not found.",
		    req->path);
	return CF_OK;
}

/* The part of path inside mount m ("" for the mount itself). */
static const char *
rel_path(const struct mount *m, const char *path)
{
	size_t	 len = strlen(m->path);

	return strlen(path) >= len ? path + len : "";
}

int
router_precheck(struct request *req, struct response *resp, int *raw)
{
	struct mount	*m = NULL;
	int		 rc = CF_OK, fwd = 0;

	*raw = 0;
	/* A standby forwards: the active node checks. */
	if (forwarder != NULL && (rc = forwarder(req, resp, 1, &fwd)) !=
	    CF_OK)
		return rc;
	if (fwd)
		return CF_OK;
	*raw = raw_lookup(req->path) != NULL;
	if (*raw)
		return CF_OK;
	if (wrap_ops != NULL && (rc = wrap_ops->parse(req, resp)) != CF_OK)
		return rc;
	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		rc = resp_fail(resp, CF_ESEALED, "Vault is sealed");
		goto out;
	}
	/*
	 * Stepped down since the forwarder looked: the mounts are gone, so
	 * nothing here can be checked; router_handle forwards the request.
	 */
	if (!core_is_active())
		goto out;
	if ((rc = mount_for(req, resp, &m)) != CF_OK)
		goto out;
	if (auth_ops == NULL)
		CF_BUG("no authorization registered");
	if ((m->ops->is_unauthenticated == NULL ||
	    !m->ops->is_unauthenticated(m, rel_path(m, req->path),
	    req->op)) &&
	    (wrap_ops == NULL || !wrap_ops->token_path(req->path)) &&
	    (rc = auth_ops->check(req->token, req->remote_addr)) != CF_OK && rc == CF_EDENIED)
		rc = resp_fail(resp, CF_EDENIED, "permission denied");
 out:
	core_unlock();
	router_mount_unref(m);
	return rc;
}

/* The backend answers: through its handle, or its one path table. */
static int
serve(struct mount *m, struct request *req, struct response *resp)
{
	if (m->ops->handle != NULL)
		return m->ops->handle(m, req, resp);
	return paths_dispatch(m->ops->table, m, req, resp);
}

/*
 * Again under the core lock, after the request entry was written without
 * it: the node may have sealed, stepped down or lost the mount meanwhile.
 * A mount put back under the same path (a tune, a new unseal) serves in
 * place of the one the request was checked against.
 */
static int
still_serving(struct request *req, struct response *resp)
{
	struct mount	*now;

	if (core_state() != CORE_UNSEALED)
		return resp_fail(resp, CF_ESEALED, "Vault is sealed");
	if (!core_is_active())
		return resp_fail(resp, CF_ESTANDBY, "node is not active");
	now = router_mount_get(req->path);
	if (now == NULL || strcmp(now->uuid, req->mount->uuid) != 0) {
		router_mount_unref(now);
		return resp_fail(resp, CF_ENOTFOUND, "no handler for route "
		    "\"%s\". route entry not found.", req->path);
	}
	router_mount_unref(req->mount);
	req->mount = now;
	req->rel = rel_path(now, req->path);
	return CF_OK;
}

/*
 * Route one request.  Audit entries are written with no core lock held
 * (a device may take up to its timeout): the checks run under the read
 * lock, the request entry is written, and the lock is taken again to
 * serve, after still_serving() has looked at what may have changed.
 */
int
router_handle(struct request *req, struct response *resp)
{
	router_fn	 raw;
	size_t		 len;
	int		 rc, arc, fwd = 0, skip = 0;

	if (forwarder != NULL && ((rc = forwarder(req, resp, 0, &fwd)) !=
	    CF_OK || fwd))
		return rc;
	if ((raw = raw_lookup(req->path)) != NULL)
		return raw(req, resp);
	if ((rc = normalize_list_path(req)) != CF_OK ||
	    (wrap_ops != NULL && (rc = wrap_ops->parse(req, resp)) != CF_OK))
		return rc;
	core_rdlock();
	if (core_state() != CORE_UNSEALED) {
		rc = resp_fail(resp, CF_ESEALED, "Vault is sealed");
		core_unlock();
		goto out;
	}
	if (!core_is_active()) {
		/* Stepped down since the forwarder looked: forward now. */
		core_unlock();
		if (forwarder != NULL && ((rc = forwarder(req, resp, 0,
		    &fwd)) != CF_OK || fwd))
			return rc;
		return resp_fail(resp, CF_ESTANDBY, "node is not active");
	}
	len = strlen(req->path);
	if ((req->op == REQ_UPDATE || req->op == REQ_PATCH) && len > 0 &&
	    req->path[len - 1] == '/') {
		rc = resp_fail(resp, CF_EINVAL,
		    "cannot write to a path ending in '/'");
		core_unlock();
		goto out;
	}
	if ((rc = mount_for(req, resp, &req->mount)) != CF_OK) {
		core_unlock();
		goto out;
	}
	req->rel = rel_path(req->mount, req->path);
	if (wrap_ops != NULL && (rc = wrap_ops->begin(req, resp, &skip)) !=
	    CF_OK) {
		core_unlock();
		/* A bad wrapping token: a request entry only, as Vault. */
		if (audit_ops != NULL && (arc = audit_ops->request(req, resp,
		    rc)) != CF_OK)
			rc = arc;
		goto out;
	}
	if (!skip)
		rc = authorize(req->mount, req, resp);
	/* With no device to write to, the lock is simply kept. */
	if (audit_ops != NULL && audit_ops->enabled()) {
		core_unlock();
		if ((arc = audit_ops->request(req, resp, rc)) != CF_OK) {
			rc = arc;
			goto out;
		}
		core_rdlock();
		if (rc == CF_OK)
			rc = still_serving(req, resp);
	}
	if (rc == CF_OK && (skip == 2 || (rc = serve(req->mount, req,
	    resp)) == CF_OK) && wrap_ops != NULL)
		rc = wrap_ops->finish(req, resp);
	core_unlock();
	if (audit_ops != NULL && (arc = audit_ops->response(req, resp, rc)) !=
	    CF_OK)
		rc = arc;
 out:
	if (req->auth != NULL) {
		auth_ops->free_ctx(req->auth);
		req->auth = NULL;
	}
	router_mount_unref(req->mount);
	req->mount = NULL;
	return rc;
}

/*
 * For cofferd -list-routes, which generates cofferd(8)'s table of
 * paths: read-only, after registration, before any thread.
 */
void
router_dump(FILE *f)
{
	const struct path_table *const *t;
	const char	*kind;
	size_t		 i;

	for (i = 0; i < nraws; i++)
		fprintf(f, "seal sys/%s%s\n", raws[i].path + strlen("sys/"),
		    raws[i].prefix ? "/*" : "");
	for (i = 0; i < nbackends; i++) {
		if (strcmp(backends[i]->type, "system") == 0)
			continue;
		kind = backends[i]->is_auth ? "auth" : "engine";
		if (backends[i]->table == NULL && backends[i]->paths == NULL) {
			fprintf(f, "%s %s\n", kind, backends[i]->type);
			continue;
		}
		if (backends[i]->table != NULL)
			paths_dump(f, kind, backends[i]->type,
			    backends[i]->table);
		for (t = backends[i]->paths; t != NULL && *t != NULL; t++)
			paths_dump(f, kind, backends[i]->type, *t);
	}
}
