/*
 * shares.h -- unseal-key shares collected towards one goal: the
 * unseal, a root generation, a rekey and its verification each hold
 * one struct shares.
 *
 * The shares live in one sodium_malloc region, made on first use and
 * wiped whenever they are dropped.  A collection has a nonce (a UUID
 * the client echoes) and a started mark; what they mean is the
 * caller's.  Not locked: the caller serializes.
 */
#ifndef COFFER_SEAL_SHARES_H
#define COFFER_SEAL_SHARES_H

#include <stddef.h>
#include <stdint.h>

#include "shamir.h"
#include "uuid4.h"

#define SHARES_KEY_LEN		32		/* the key the shares make */
#define SHARES_SHARE_MAX	33		/* SHARES_KEY_LEN + x */

struct shares {
	uint8_t		*region;	/* SHAMIR_MAX_SHARES * SHARE_MAX */
	size_t		 lens[SHAMIR_MAX_SHARES];
	int		 n;		/* held, the progress */
	char		 nonce[UUID4_LEN + 1];
	int		 started;
};

/* What a share offered to shares_offer came to. */
enum shares_step {
	SHARES_REPEAT,		/* already held: nothing changed */
	SHARES_MORE,		/* held, fewer than the goal */
	SHARES_COMBINED		/* the goal reached: combined and dropped */
};

/* Make the region now (CF_ENOMEM), so that no later step fails on it. */
int	 shares_ready(struct shares *) __attribute__((warn_unused_result));
/* Ready, started, with a fresh nonce. */
int	 shares_start(struct shares *) __attribute__((warn_unused_result));
/* A fresh nonce. */
void	 shares_renonce(struct shares *);
/* Forget everything: shares, nonce and started mark. */
void	 shares_reset(struct shares *);
/* Drop the shares (wiped) but keep the collection and its nonce. */
void	 shares_drop(struct shares *);
/* Reset and free the region (wiped); it is made again on use. */
void	 shares_release(struct shares *);

/*
 * Add a share of len bytes (at most SHARES_SHARE_MAX) unless an
 * identical one is held (compared in constant time); *dup says it was.
 * CF_EINVAL when SHAMIR_MAX_SHARES are held already.
 */
int	 shares_add(struct shares *, const uint8_t *, size_t, int *)
	    __attribute__((warn_unused_result));

/*
 * With goal shares or more held, combine them into key (SHARES_KEY_LEN
 * bytes, the caller's sodium_malloc memory) and drop them, spent
 * whatever the outcome; *done says so.  With one share, that share is
 * the key.  CF_EINVAL with *why set when the shares cannot be combined
 * (Vault's shamir.Combine texts); CF_EDENIED when they combine to
 * something that cannot be the key.
 */
int	 shares_reach(struct shares *, int, uint8_t *, int *, const char **)
	    __attribute__((warn_unused_result));

/*
 * shares_add, then, unless the share was a repeat, shares_reach:
 * *step says which came of it.  Errors as theirs.
 */
int	 shares_offer(struct shares *, const uint8_t *, size_t, int,
	    uint8_t *, enum shares_step *, const char **)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SEAL_SHARES_H */
