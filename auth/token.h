/*
 * token.h -- the token store: authentication of every request.
 *
 * Tokens are never stored in clear: entries are keyed by an HMAC of the
 * token under a salt that lives behind the barrier (loaded at unseal
 * into sodium_malloc memory, wiped at seal).  A lookup hashes the
 * presented token and reads the entry; no comparison of raw tokens ever
 * happens, so lookups are constant-time in the token's bytes.
 *
 * Threads: any worker may call these under the core read lock.
 */
#ifndef COFFER_AUTH_TOKEN_H
#define COFFER_AUTH_TOKEN_H

#include <stddef.h>

#include <jansson.h>

struct acl;
struct request;
struct response;
struct strv;

#define TOKEN_HASH_LEN		64	/* hex of a 32-byte HMAC */

/* Who is making a request: filled by token_authenticate(). */
struct tentry;

struct auth_ctx {
	char		 hash[TOKEN_HASH_LEN + 1];	/* keyed hash of the token */
	char		 accessor[64];
	int		 is_root;	/* has the root policy */
	struct acl	*acl;		/* compiled policies (owned ref) */
	json_t		*entry;		/* the stored token entry, read-only */
	struct tentry	*ref;		/* holds entry when the token cache
					   shares it; NULL: entry is an
					   owned reference */
};

/*
 * Resolve token to its entry and ACL.  CF_EDENIED if token is NULL,
 * unknown, expired or used up, or if it has a TTL and bound_cidrs that
 * addr (the client's address, req->remote_addr) is outside of; one use
 * is consumed from a token with num_uses, after those checks.  *out is
 * owned by the caller (token_auth_ctx_free).
 */
int	 token_authenticate(const char *token, const char *addr,
	    struct auth_ctx **out)
	    __attribute__((warn_unused_result));
/*
 * As token_authenticate, but no use is consumed: for endpoints Vault
 * serves without a token that still look at one to decide what to show
 * (sys/internal/ui/mounts).
 */
int	 token_peek(const char *token, struct auth_ctx **out)
	    __attribute__((warn_unused_result));
void	 token_auth_ctx_free(struct auth_ctx *);
/*
 * CF_OK if token names a live token, without consuming a use or loading
 * its policies: the router's check before it reads a body.  CF_EDENIED
 * as token_authenticate() would answer.
 */
int	 token_check(const char *token, const char *addr)
	    __attribute__((warn_unused_result));

/*
 * Create a root token (policies ["root"], no expiry, orphan) at path
 * (e.g. "auth/token/root").  If id is NULL a fresh "hvs." token is
 * generated.  The token text is written to out, which must hold
 * TOKEN_MAX_LEN + 1 bytes in sodium_malloc memory; the caller wipes it.
 */
#define TOKEN_MAX_LEN		128
int	 token_create_root(const char *id, const char *path, char *out)
	    __attribute__((warn_unused_result));

/* Keyed hash (hex) of a token with the store's salt. */
int	 token_hash(const char *token, char *hex)
	    __attribute__((warn_unused_result));

/* What a new service token is made of (token_create). */
struct token_params {
	const char		*id;		/* custom id, or NULL */
	const struct strv	*policies;	/* sorted, final */
	json_t			*meta;		/* borrowed; or NULL */
	const char		*parent;	/* parent's hash; NULL: orphan */
	const char		*path;		/* "auth/token/create" */
	const char		*display_name;
	long long		 ttl;		/* seconds; 0: never expires */
	long long		 explicit_max_ttl;
	long long		 period;
	long long		 num_uses;
	int			 renewable;
	/* Strings as Vault echoes them (borrowed); NULL or []: none. */
	json_t			*bound_cidrs;
	int			 no_lease;	/* 1: no lease (sys/init roots) */
	long long		 max_ttl;	/* login's token_max_ttl: caps
						   renewals; 0: the mount's */
};

/*
 * Store a new token; its text goes to out (TOKEN_MAX_LEN + 1 bytes, the
 * caller wipes it) and its entry, owned, to *entry.  CF_EINVAL if a
 * custom id is taken.
 */
int	 token_create(const struct token_params *, char *out, json_t **entry)
	    __attribute__((warn_unused_result));
/*
 * A batch token: not stored anywhere; "hvb." and the entry sealed by
 * the barrier, so only this cluster can read it.  *out is sodium_malloc
 * memory (sodium_free it); *entry owned.  Not renewable, not revocable;
 * it dies with its TTL or its parent.
 */
int	 token_create_batch(const struct token_params *, char **out,
	    json_t **entry) __attribute__((warn_unused_result));

/* The entry stored under a token's hash (owned), or CF_ENOTFOUND. */
int	 token_entry(const char *hash, json_t **entry)
	    __attribute__((warn_unused_result));
/* Hash of the token an accessor names, or CF_ENOTFOUND. */
int	 token_accessor_hash(const char *accessor, char *hash)
	    __attribute__((warn_unused_result));
/*
 * The hash of the token named by the request's "accessor" field, with
 * *found 0 if no token has it; a missing field fails with Vault's 400
 * "missing accessor" in resp.
 */
int	 token_accessor_field(struct request *, struct response *,
	    char *hash, int *found)
	    __attribute__((warn_unused_result));
/*
 * The entry (owned) of the token named by the request's "accessor"
 * field; a missing or unknown accessor fails with Vault's 400 text in
 * resp ("missing accessor", "invalid accessor").
 */
int	 token_entry_by_accessor(struct request *, struct response *,
	    json_t **entry)
	    __attribute__((warn_unused_result));
/*
 * Revoke the token with this hash and, unless orphan_children, its
 * whole subtree (children first); with orphan_children its direct
 * children become orphans.  Revoking a missing token is CF_OK.
 */
int	 token_revoke(const char *hash, int orphan_children)
	    __attribute__((warn_unused_result));
/*
 * Call fn with a token's hash whenever the token is revoked, before its
 * entry goes (cubbyhole wipes the token's storage).  Startup only.
 */
void	 token_on_revoke(int (*fn)(const char *hash));

/* Rewrite an entry after a change (renewal). */
int	 token_entry_put(const char *hash, json_t *entry)
	    __attribute__((warn_unused_result));

/*
 * Leases of service tokens: every token_create'd token but the roots of
 * token_create_root has one, "<path>/h<hash>", indexed behind the
 * barrier and removed with the token.
 */
#define TOKEN_LEASE_MAX		1024
/* The hash of the token a lease id names, or CF_ENOTFOUND. */
int	 token_lease_hash(const char *lease_id, char *hash)
	    __attribute__((warn_unused_result));
/* The direct children of prefix ("" or ending in '/') among lease ids. */
int	 token_lease_list(const char *prefix, struct strv *out)
	    __attribute__((warn_unused_result));
/* Drop a lease's index record whatever became of its token. */
int	 token_lease_forget(const char *lease_id)
	    __attribute__((warn_unused_result));

/* Unseal and seal hooks: load the salt, and wipe it. */
int	 token_store_load(void);
int	 token_store_unload(void);

#endif /* COFFER_AUTH_TOKEN_H */
