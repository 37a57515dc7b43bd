/*
 * approle_int.h -- what the AppRole family shares and nothing else
 * includes: approle.c (the mount, its salt and keys, login and renewal,
 * the path table), approle_role.c (roles) and approle_sid.c (secret
 * IDs and their tidy).  Its names outside a file carry the ar_ prefix.
 * The storage layout and locking are described
 * at the top of approle.c.
 */
#ifndef COFFER_AUTH_APPROLE_INT_H
#define COFFER_AUTH_APPROLE_INT_H

#include <pthread.h>
#include <stdint.h>

#include <jansson.h>
#include <sodium.h>

#include "paths.h"

struct mount;
struct request;
struct response;

#define AR_NAME_MAX	PATHS_NAME_MAX
#define AR_HASH_HEX	(2 * crypto_auth_hmacsha256_BYTES + 1)
#define AR_ID_MAX	1024		/* custom role and secret IDs */

struct approle {
	pthread_mutex_t	 mu;		/* records' read-modify-writes */
	pthread_mutex_t	 smu;		/* salt; taken after mu */
	uint8_t		*salt;		/* sodium_malloc, or NULL until used */
};

/* ar->mu: every read-modify-write of the mount's records. */
void	 ar_lock(struct approle *);
void	 ar_unlock(struct approle *);

/* <view><a><b>[/<c>]: a new string, or NULL. */
char	*ar_key(const struct mount *, const char *a, const char *b,
	    const char *c);
/*
 * core_get_json / core_put_json / core_del / core_del_prefix on an
 * ar_key() result, which they free (NULL: CF_ENOMEM).  del_key
 * treats a missing key as done.
 */
int	 ar_get_json(char *key, json_t **out)
	    __attribute__((warn_unused_result));
int	 ar_put_json(char *key, json_t *)
	    __attribute__((warn_unused_result));
int	 ar_del_key(char *key)
	    __attribute__((warn_unused_result));
int	 ar_del_prefix(char *prefix)
	    __attribute__((warn_unused_result));
/* Hex HMAC of an ID under the mount's salt (hex: AR_HASH_HEX bytes). */
int	 ar_id_hash(struct mount *, const char *id, char *hex)
	    __attribute__((warn_unused_result));
/*
 * A list in CIDR notation only from the request's key: *out the
 * entries, as given or (fmt) as tokens echo them; Vault's 500 naming
 * a bad entry, what being its "CIDR blocks" or "token CIDR blocks".
 */
int	 ar_strict_cidrs(struct request *, struct response *,
	    const char *key, const char *what, int fmt, json_t **out,
	    int *present) __attribute__((warn_unused_result));
/* A LIST answer of the keys under prefix (freed here). */
int	 ar_list_under(struct response *, char *prefix)
	    __attribute__((warn_unused_result));
/* The role's name from the path, lower-cased as stored. */
void	 ar_role_name(const struct path_args *,
	    char name[AR_NAME_MAX + 1]);
/* The stored role called a->v[0] into *role, or Vault's 404. */
int	 ar_role_get(struct mount *, struct response *,
	    const struct path_args *, char name[AR_NAME_MAX + 1],
	    json_t **role) __attribute__((warn_unused_result));

/* approle_role.c: role/ and role/<name>[/role-id]. */
int	 ar_roles(struct mount *, struct request *, struct response *,
	    const struct path_args *);
int	 ar_role_read(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_role_write(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_role_delete(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_role_id_read(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_role_id_write(struct mount *, struct request *,
	    struct response *, const struct path_args *);

/* approle_sid.c: role/<name>/secret-id*, tidy/secret-id. */
int	 ar_secret_ids(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_secret_id(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_custom_secret_id(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_sid_lookup(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_sid_destroy(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_acc_lookup(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_acc_destroy(struct mount *, struct request *,
	    struct response *, const struct path_args *);
int	 ar_tidy(struct mount *, struct request *, struct response *,
	    const struct path_args *);
/*
 * Take one use of the secret ID with hash h: CF_OK with *rec (owned)
 * if it is valid, CF_ENOTFOUND if it is unknown, expired or used up.
 */
int	 ar_sid_consume(struct mount *, const char *name, const char *h,
	    json_t **rec) __attribute__((warn_unused_result));
/* A secret ID's cidr_list against the client address (Vault's 400s). */
int	 ar_sid_cidr_check(struct request *, struct response *,
	    json_t *role, json_t *rec) __attribute__((warn_unused_result));

#endif /* COFFER_AUTH_APPROLE_INT_H */
