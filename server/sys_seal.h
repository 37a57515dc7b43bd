/*
 * sys_seal.h -- the seal's HTTP handlers: sys/unseal, sys/seal-status,
 * sys/seal, sys/step-down, sys/rotate and sys/key-status, and the
 * request helpers the other seal handlers (seal.c, sys_rekey.c) share.
 */
#ifndef COFFER_SERVER_SYS_SEAL_H
#define COFFER_SERVER_SYS_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "shares.h"

struct request;
struct response;

/* Register the routes above.  Called once from seal_register. */
void	 sys_seal_register(void);

/* Raw handlers decode a JSON body; an empty one is Go's "EOF". */
int	 sys_seal_need_body(struct request *, struct response *);
/* A 405 unless the request is a PUT or POST. */
int	 sys_seal_need_update(struct request *, struct response *);

/*
 * Members of the JSON body, matched ignoring case as Go decodes, with
 * Go's messages for a wrong type.  Absent: 0, false, "", an empty list
 * (*n is the list's length).
 */
int	 sys_seal_body_int(struct request *, struct response *, const char *,
	    long long *);
int	 sys_seal_body_bool(struct request *, struct response *, const char *,
	    int *);
int	 sys_seal_body_str(struct request *, struct response *, const char *,
	    const char **);
int	 sys_seal_body_strlist(struct request *, struct response *,
	    const char *, size_t *);

/*
 * The share in the body's "key" for generate-root and rekey: given,
 * decodable, and of a possible length (the last argument starts that
 * message).  The share buffer holds SHARES_SHARE_MAX bytes.
 */
int	 sys_seal_share_from_body(struct request *, struct response *,
	    uint8_t *, size_t *, const char *);

/*
 * Offer a share to a started collection whose nonce the client echoes:
 * what names the operation in Vault's nonce text, repeat in its text
 * for a share given twice.  *step and *why as shares_offer's; a
 * failure answered here leaves *step short of SHARES_COMBINED.
 */
int	 sys_seal_offer_share(struct response *, struct shares *,
	    const char *, const char *, const char *, const uint8_t *, size_t,
	    int, uint8_t *, enum shares_step *, const char **);

/*
 * Vault's SealConfig.Validate, with its messages after prefix
 * ("invalid seal configuration: " for init, "invalid rekey seal
 * configuration: " for rekey).
 */
int	 sys_seal_check_shares(long long, long long, const char *,
	    struct response *);

/*
 * Add "keys" and "keys_base64" for n shares of len bytes each, stride
 * bytes apart.  The text passes through one sodium_malloc buffer; the
 * JSON strings die through the wiping allocator.
 */
int	 sys_seal_emit_shares(json_t *, const uint8_t *, size_t, int, size_t);

/* Reply with the seal-status object. */
int	 sys_seal_reply_status(struct response *);

#endif /* COFFER_SERVER_SYS_SEAL_H */
