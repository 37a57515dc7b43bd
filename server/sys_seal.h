/*
 * sys_seal.h -- the seal's HTTP handlers: sys/unseal, sys/seal-status,
 * sys/seal, sys/step-down, sys/rotate and sys/key-status, and the
 * share helpers the other seal handlers (seal.c, sys_rekey.c) share.
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

/*
 * The share in the body's "key" for generate-root and rekey: given,
 * decodable, and of a possible length (the last argument starts that
 * message).  The share buffer holds SHARES_SHARE_MAX bytes.
 */
int	 sys_seal_share(struct request *, struct response *, uint8_t *,
	    size_t *, const char *);

/*
 * Offer a share to a started collection whose nonce the client echoes:
 * what names the operation in Vault's nonce text, repeat in its text
 * for a share given twice.  *step and *why as shares_offer's; a
 * failure answered here leaves *step short of SHARES_COMBINED.
 */
int	 sys_seal_offer(struct response *, struct shares *,
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
 * A new random KEK in kek (KEYS_KEY_LEN bytes of the caller's
 * sodium_malloc memory), split into n shares of which t combine, added
 * to o as "keys" and "keys_base64".  The shares and their text pass
 * through sodium_malloc memory; the JSON strings die through the
 * wiping allocator.
 */
int	 sys_seal_new_kek(uint8_t *, int, int, json_t *)
	    __attribute__((warn_unused_result));

/*
 * Reply with o (consumed; NULL answers CF_ENOMEM) as a raw body that
 * carries a secret: the body is wiped once sent.
 */
int	 sys_seal_reply_secret(struct response *, json_t *);

/* Reply with the seal-status object. */
int	 sys_seal_reply_status(struct response *);

#endif /* COFFER_SERVER_SYS_SEAL_H */
