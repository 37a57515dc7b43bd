/*
 * router.h -- the mount table and the request pipeline.
 *
 * Every /v1/ request, once parsed, goes through router_handle():
 *   0. on an HA standby, the forwarder sends it to the active node;
 *   1. the seal family of sys/ (health, seal-status, init, unseal, seal,
 *      leader, generate-root, rekey) is answered whatever the state;
 *   2. everything else takes the core read lock, and gets 503
 *      "Vault is sealed" unless unsealed;
 *   3. the longest mount prefix picks a backend (404 if none);
 *   4. unless the backend calls the path unauthenticated, the token is
 *      looked up and the ACL checked for (full path, operation), after
 *      the backend's existence check turned PUT/POST into create or
 *      update; root-protected paths also need sudo;
 *   5. audit devices log the request (even a refused one), the
 *      backend's handler fills the response, and they log that.
 *
 * The mount table is read under its own rwlock (lock order: after the
 * core lock) and changed only by sys/mounts and sys/auth handlers.  A
 * struct mount is reference counted so that a request can use it after
 * the table lock is dropped while another thread unmounts it.  Once in
 * the table a struct mount never changes: tune and remount publish a
 * changed copy (mount_copy, router_replace), and requests holding the
 * old one finish with it.  Responses copy what they take from a mount,
 * never referencing its JSON objects.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 * Tokens and ACLs come through struct router_auth_ops, registered
 * by auth/authz.c.
 */
#ifndef COFFER_CORE_ROUTER_H
#define COFFER_CORE_ROUTER_H

#include <stddef.h>
#include <stdio.h>

#include <jansson.h>

struct mount;
struct path_table;
struct request;
struct response;
struct strv;

/* A type of secrets engine or auth method. */
struct backend_ops {
	const char	*type;		/* "kv", "system", "token", ... */
	int		 is_auth;	/* mounted under auth/ */
	/* Build m->ctx after the mount is read or created; may be NULL. */
	int	(*open)(struct mount *);
	/* Free m->ctx (wiping secrets); may be NULL. */
	void	(*close)(struct mount *);
	/*
	 * Answer a request; req->rel is the path inside the mount.  It
	 * dispatches through the tables in paths (core/paths.h).  NULL:
	 * the router dispatches through table itself (paths_dispatch).
	 */
	int	(*handle)(struct mount *, struct request *, struct response *);
	/* A backend's one path table, served without a handle. */
	const struct path_table *table;
	/*
	 * The backend's path tables, NULL-terminated (one per variant, e.g.
	 * KV v1 and v2): what handle serves, and what router_dump lists
	 * beside table.
	 */
	const struct path_table *const *paths;
	/*
	 * For PUT/POST: set *exists so the ACL sees create or update.
	 * NULL: always update.
	 */
	int	(*exists)(struct mount *, struct request *, int *);
	/* 1 if rel needs no token (login paths); NULL: none. */
	int	(*is_unauthenticated)(const struct mount *, const char *rel,
		    int op);
	/* Remove the engine's data when it is unmounted; may be NULL. */
	int	(*destroy)(struct mount *);
	/*
	 * Move the mount's data to the engine's next layout when sys/mounts
	 * tune raises options.version (KV 1 to 2), under the core read
	 * lock; NULL: the engine has no versions.
	 */
	int	(*upgrade)(struct mount *);
};

struct mount {
	char		*path;		/* "secret/", "auth/userpass/" */
	char		*type;
	char		 uuid[37];
	char		 accessor[64];
	char		*description;
	json_t		*config;	/* default_lease_ttl, max_lease_ttl, ... */
	json_t		*options;	/* e.g. {"version":"2"} */
	int		 local;
	int		 seal_wrap;
	int		 builtin;	/* sys/, cubbyhole/, auth/token/: fixed */
	char		 view[64];	/* storage prefix "logical/<uuid>/" */
	const struct backend_ops *ops;
	void		*ctx;		/* the backend's own */
	struct mount	*ctx_owner;	/* referenced: whose open made ctx */
	int		 refs;		/* atomic */
};

/*
 * A handler of the seal family, answered in every state without the
 * core lock (it locks as it needs).  prefix: also for "path/..." paths.
 * Registered at startup, before any thread.
 */
typedef int	(*router_fn)(struct request *, struct response *);
void	 router_raw(const char *path, int prefix, router_fn);

/*
 * A standby's forwarder (ha.c registers one at startup).  It sets *done
 * to 1 when the request is not for this node: then it has forwarded it
 * (or redirected, or refused it) and filled resp; 0 to serve locally.
 * With probe set it only says whether it would (no network, no resp).
 * It never holds the core lock while it forwards.
 */
typedef int	(*router_forward_fn)(struct request *, struct response *,
		    int probe, int *done);
void	 router_forward(router_forward_fn);

struct auth_ctx;			/* auth/token.h: who is asking */

/*
 * Authorization, as auth/ provides it (auth/authz.c registers it at
 * startup, before any thread).  The router sits below auth/ and reaches
 * tokens and ACLs only through this table.
 */
struct router_auth_ops {
	/*
	 * Resolve token (NULL if none) into *out, owned by the caller and
	 * released with free_ctx; CF_EDENIED if it is no live token, or
	 * one bound to addresses that addr (the client's) is not among.
	 */
	int	(*authenticate)(const char *token, const char *addr,
		    struct auth_ctx **out);
	/*
	 * CF_OK if token names a live token, without consuming a use:
	 * the check before a body is read.  CF_EDENIED as authenticate.
	 */
	int	(*check)(const char *token, const char *addr);
	/*
	 * CF_OK if ac may do op (enum req_op) on path with data as its
	 * parameters, sudo included where the path needs it, and an
	 * answer wrapped for wrap_ttl seconds within the policy's
	 * wrapping limits (-1: no X-Vault-Wrap-TTL header; 0: a header
	 * of 0, which wraps nothing); CF_EDENIED if not.
	 */
	int	(*allowed)(const struct auth_ctx *ac, const char *path, int op,
		    json_t *data, long long wrap_ttl);
	void	(*free_ctx)(struct auth_ctx *);
};
void	 router_auth(const struct router_auth_ops *);

/*
 * Response wrapping around every routed request, registered by
 * server/wrapping.c (see wrapping.h for each step): parse reads the
 * X-Vault-Wrap-TTL header; token_path names the sys/wrapping paths
 * whose wrapping token is checked in place of the caller's before the
 * body is read; begin checks that token (*skip_auth: the router checks
 * no other); finish wraps a handler's answer when it was asked for.
 */
struct router_wrap_ops {
	int	(*parse)(struct request *, struct response *);
	int	(*token_path)(const char *path);
	/*
	 * *skip_auth = 1: no token check or ACL (the hook checked the
	 * token); 2: the hook answered in resp, and the handler is not
	 * run either.
	 */
	int	(*begin)(struct request *, struct response *, int *skip_auth);
	int	(*finish)(struct request *, struct response *);
};
void	 router_wrapping(const struct router_wrap_ops *);

/*
 * Audit entries around every routed request, registered by
 * server/audit.c.  request runs once the token and the ACL were checked
 * (err: their result, CF_OK if allowed), before the handler; response
 * after the handler and wrapping (err: their result).  Each returns
 * CF_OK when the entry was logged (or no device is enabled), or
 * CF_EINTERNAL with resp reset to a 500 when none could log it: then
 * the handler is not run, or its answer is not given.  enabled: whether
 * any device is (one atomic load), so that with none the router keeps
 * the core lock across the request instead of taking it twice.
 */
struct router_audit_ops {
	int	(*enabled)(void);
	int	(*request)(struct request *, struct response *, int err);
	int	(*response)(struct request *, struct response *, int err);
};
void	 router_auditing(const struct router_audit_ops *);

/* Register a backend type (at startup, before any thread). */
void	 router_register(const struct backend_ops *);
const struct backend_ops *router_backend_lookup(const char *type);

/*
 * Before the body is read: refuse what router_handle() would refuse
 * whatever the body says (sealed, no route, no or unknown token), with
 * the same answer, so an unauthenticated client cannot make the server
 * read or parse a body.  *raw is set for the seal family, which reads
 * small bodies in every state.  CF_OK, or a cf_err with the text in
 * resp.
 */
int	 router_precheck(struct request *, struct response *, int *raw)
	    __attribute__((warn_unused_result));

/*
 * Run one request through the pipeline above.  CF_OK with the response
 * filled, or a cf_err with the error text (and perhaps a status) in it.
 */
int	 router_handle(struct request *, struct response *);

/*
 * Mount table.  router_mount adds m (taking ownership; CF_EINVAL with a
 * message in why if the path is taken or nested in another mount).
 * router_unmount removes the mount at path and drops the table's
 * reference.  router_mount_get returns a referenced mount (release it
 * with router_mount_unref) whose path is the longest prefix of path.
 */
int	 router_mount(struct mount *, char *why, size_t)
	    __attribute__((warn_unused_result));
int	 router_unmount(const char *path, struct mount **out)
	    __attribute__((warn_unused_result));
/*
 * Put m where old is, in one step: the table takes the caller's
 * reference to m and drops its own to old.  CF_ENOTFOUND if old is no
 * longer in the table; CF_EINVAL (why says it) if m's path nests in
 * another mount's.  On failure the caller still owns m.
 */
int	 router_replace(struct mount *old, struct mount *m, char *why,
	    size_t whylen) __attribute__((warn_unused_result));
struct mount *router_mount_get(const char *path);
struct mount *router_mount_exact(const char *path);
void	 router_mount_unref(struct mount *);
/* Every mount path (sorted) whose is_auth matches auth. */
int	 router_mount_paths(int auth, struct strv *)
	    __attribute__((warn_unused_result));
/* Drop every mount (on seal). */
void	 router_clear(void);
/*
 * Print the raw routes ("seal sys/health", a prefix with "/\*") and every
 * entry of every backend's path tables ("engine kv v2 data/\*
 * read,create,update,delete,patch", see paths_dump), one a line, in
 * registration order.  Read-only; for cofferd -list-routes.
 */
void	 router_dump(FILE *);

/* A new, empty mount for type; NULL on ENOMEM. */
struct mount *router_mount_new(const char *path, const struct backend_ops *);
/*
 * An unpublished copy of m (at path, or m's path if NULL) to change and
 * publish with router_replace: its own strings and JSON, the same uuid,
 * view and backend context (kept open while any copy lives).  NULL on
 * ENOMEM.
 */
struct mount *mount_copy(struct mount *, const char *path);
void	 mount_free(struct mount *);

#endif /* COFFER_CORE_ROUTER_H */
