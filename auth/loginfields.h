/*
 * loginfields.h -- the token_* settings that login methods keep on
 * their users (userpass) and roles (approle), read from requests the
 * same way for both.
 */
#ifndef COFFER_AUTH_LOGINFIELDS_H
#define COFFER_AUTH_LOGINFIELDS_H

#include <stddef.h>

#include <jansson.h>

struct login;
struct login_renew;
struct request;
struct response;
struct strv;

enum loginfield_kind {
	LF_DUR,		/* duration, stored as seconds */
	LF_INT,		/* non-negative integer */
	LF_BOOL,
	LF_LIST,	/* list of names, lowercased */
	LF_CIDRS,	/* addresses or blocks, as Vault echoes them */
	LF_TYPE		/* token_type; batch refused */
};

struct loginfield {
	const char	*name;
	const char	*legacy;	/* older name accepted on write */
	int		 kind;		/* enum loginfield_kind */
	int		 create_only;	/* ignored on an update */
};

/*
 * Copy the fields present in the request into stored, recording which
 * were written by their legacy name.  CF_OK, or CF_EINVAL with the
 * reason in resp for a wrong type or a setting coffer cannot honour.
 */
int	 loginfields_read(struct request *, struct response *,
	    const struct loginfield *, size_t, json_t *stored, int creating)
	    __attribute__((warn_unused_result));
/* CF_EINVAL (reason in resp) if token_ttl exceeds token_max_ttl. */
int	 loginfields_check_ttl(struct response *, json_t *stored)
	    __attribute__((warn_unused_result));
/*
 * The stored token settings of a user or role as a login's (see
 * tokenapi.h): ttl, max_ttl, explicit_max_ttl, period, num_uses and
 * no_default_policy into l, token_policies appended to pols and
 * l->policies = pols.  The token keeps token_explicit_max_ttl as its
 * own explicit_max_ttl, as Vault's login does.
 */
int	 loginfields_login(json_t *stored, struct login *l, struct strv *pols)
	    __attribute__((warn_unused_result));
/* The same TTL settings for the renewal of a login's token. */
void	 loginfields_renew(json_t *stored, struct login_renew *out);
/*
 * Add the token_* settings of a read (Vault's defaults where unset) to
 * view, then the legacy names where they were used to write.  CF_OK or
 * CF_ENOMEM.
 */
int	 loginfields_view(json_t *view, json_t *stored,
	    const struct loginfield *, size_t)
	    __attribute__((warn_unused_result));

#endif /* COFFER_AUTH_LOGINFIELDS_H */
