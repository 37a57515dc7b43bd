/*
 * token_cidrs.h -- bound CIDR lists: of tokens (their entry's
 * bound_cidrs) and of the users and roles of login methods.
 */
#ifndef COFFER_AUTH_TOKEN_CIDRS_H
#define COFFER_AUTH_TOKEN_CIDRS_H

#include <jansson.h>

struct request;
struct response;

/*
 * CF_OK if the entry's bound_cidrs (if any) admit addr, the client's
 * address; CF_EDENIED otherwise, and for a bound token with no address.
 */
int	 token_cidrs_allow(json_t *entry, const char *addr);
/* 1 if ip (any text) lies inside one block of list (a JSON array). */
int	 token_cidrs_contain(const json_t *list, const char *ip);

/*
 * Read a bound CIDR list (addresses or blocks, a JSON array or one
 * comma-separated string) from request field key into *out, a new
 * array of the entries as Vault echoes them.  *present as req_str's.
 * CF_EINVAL with Vault's 400 text, prefixed by prefix (may be ""), for
 * an entry that is neither.
 */
int	 token_cidrs_read(struct request *, struct response *, const char *key,
	    const char *prefix, json_t **out, int *present)
	    __attribute__((warn_unused_result));

#endif /* COFFER_AUTH_TOKEN_CIDRS_H */
