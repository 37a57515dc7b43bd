/*
 * tokenapi_int.h -- what the auth/token/ family shares and nothing
 * else includes: tokenapi.c (the path table, the login tokens of auth
 * methods, accessors and tidy), tokenapi_create.c (token creation),
 * tokenapi_ops.c (lookup, renew, revoke) and tokenapi_roles.c (token
 * roles).  Its names carry the tapi_ prefix; the handlers take the
 * request as the path table's small wrappers in tokenapi.c pass it.
 */
#ifndef COFFER_AUTH_TOKENAPI_INT_H
#define COFFER_AUTH_TOKENAPI_INT_H

#include <jansson.h>

struct request;
struct response;

#define ROLE_PREFIX	"sys/token/role/"

/* tokenapi.c */
/* 1 if the caller may use sudo on the request's path (root: always). */
int	 tapi_has_sudo(const struct request *);
/* 1 if the entry is a batch token's. */
int	 tapi_is_batch(json_t *e);
/* Vault's auth block for token (as sent) and its entry, or NULL. */
json_t	*tapi_auth_block(const char *token, json_t *e);
/*
 * Answer a request that issued or renewed token (entry e) with its
 * auth block; resp->wipe is set, as the answer holds a token.
 */
int	 tapi_auth_reply(struct response *, const char *token, json_t *e)
	    __attribute__((warn_unused_result));
/* The default and maximum TTLs of tokens issued under path. */
void	 tapi_mount_ttls(const char *path, long long *def, long long *max);

/* tokenapi_create.c */
/* A token's display name as Vault cleans it; NULL when out of memory. */
char	*tapi_display_name(const char *in);
/* create, create-orphan and create/<role> (role: NULL or borrowed). */
int	 tapi_create(struct request *, struct response *, int orphan,
	    json_t *role) __attribute__((warn_unused_result));

/* tokenapi_ops.c */
int	 tapi_lookup(struct request *, struct response *, int self)
	    __attribute__((warn_unused_result));
int	 tapi_lookup_accessor(struct request *, struct response *)
	    __attribute__((warn_unused_result));
int	 tapi_revoke(struct request *, struct response *, int self,
	    int orphan) __attribute__((warn_unused_result));
int	 tapi_revoke_accessor(struct request *, struct response *)
	    __attribute__((warn_unused_result));
int	 tapi_renew(struct request *, struct response *, int self)
	    __attribute__((warn_unused_result));
int	 tapi_renew_accessor(struct request *, struct response *)
	    __attribute__((warn_unused_result));

/* tokenapi_roles.c */
/* The stored role called name into *out; CF_ENOTFOUND if none. */
int	 tapi_role_load(const char *name, json_t **out)
	    __attribute__((warn_unused_result));
/* roles/<name>: read, write, delete. */
int	 tapi_roles(struct request *, struct response *, const char *name)
	    __attribute__((warn_unused_result));
/* A LIST answer of the keys under prefix. */
int	 tapi_list_prefix(const char *prefix, struct response *)
	    __attribute__((warn_unused_result));

#endif /* COFFER_AUTH_TOKENAPI_INT_H */
