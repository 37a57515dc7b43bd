/*
 * shares.c -- unseal-key shares collected towards one goal (shares.h):
 * the one collection type behind sys/unseal, sys/generate-root,
 * sys/rekey and the rekey's verification.
 *
 * Owns the share region and its wiping; knows nothing of requests,
 * the core or storage.  Combining follows Vault's shamir.Combine and
 * its messages.
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "err.h"
#include "shares.h"

#define REGION_LEN	((size_t)SHAMIR_MAX_SHARES * SHARES_SHARE_MAX)

int
shares_ready(struct shares *s)
{
	if (s->region == NULL && (s->region = sodium_malloc(REGION_LEN)) ==
	    NULL)
		return CF_ENOMEM;
	return CF_OK;
}

int
shares_start(struct shares *s)
{
	int	 rc;

	if ((rc = shares_ready(s)) != CF_OK)
		return rc;
	s->started = 1;
	uuid4_random(s->nonce);
	return CF_OK;
}

void
shares_renonce(struct shares *s)
{
	uuid4_random(s->nonce);
}

void
shares_drop(struct shares *s)
{
	if (s->region != NULL)
		sodium_memzero(s->region, REGION_LEN);
	memset(s->lens, 0, sizeof(s->lens));
	s->n = 0;
}

void
shares_reset(struct shares *s)
{
	shares_drop(s);
	s->nonce[0] = '\0';
	s->started = 0;
}

void
shares_release(struct shares *s)
{
	shares_reset(s);
	sodium_free(s->region);		/* wipes */
	s->region = NULL;
}

int
shares_add(struct shares *s, const uint8_t *share, size_t len, int *dup)
{
	int	 i, rc;

	*dup = 0;
	if (len > SHARES_SHARE_MAX)
		return CF_EINVAL;
	if ((rc = shares_ready(s)) != CF_OK)
		return rc;
	for (i = 0; i < s->n; i++)
		if (s->lens[i] == len && sodium_memcmp(s->region +
		    (size_t)i * SHARES_SHARE_MAX, share, len) == 0) {
			*dup = 1;
			return CF_OK;
		}
	if (s->n == SHAMIR_MAX_SHARES)
		return CF_EINVAL;
	memcpy(s->region + (size_t)s->n * SHARES_SHARE_MAX, share, len);
	s->lens[s->n++] = len;
	return CF_OK;
}

/* Combine the held shares into key; see shares_reach. */
static int
combine(const struct shares *s, uint8_t *key, const char **why)
{
	const uint8_t	*parts[SHAMIR_MAX_SHARES];
	int		 i;

	if (s->n == 1) {
		if (s->lens[0] != SHARES_KEY_LEN)
			return CF_EDENIED;
		memcpy(key, s->region, SHARES_KEY_LEN);
		return CF_OK;
	}
	for (i = 0; i < s->n; i++) {
		if (s->lens[i] != s->lens[0]) {
			*why = "all parts must be the same length";
			return CF_EINVAL;
		}
		parts[i] = s->region + (size_t)i * SHARES_SHARE_MAX;
	}
	if (s->lens[0] != SHARES_KEY_LEN + 1)
		return CF_EDENIED;
	if (shamir_combine(parts, (size_t)s->n, SHARES_KEY_LEN + 1, key) !=
	    CF_OK) {
		*why = "duplicate part detected";
		return CF_EINVAL;
	}
	return CF_OK;
}

int
shares_reach(struct shares *s, int goal, uint8_t *key, int *done,
    const char **why)
{
	int	 rc;

	*done = 0;
	*why = NULL;
	if (s->n < goal || s->n == 0)
		return CF_OK;
	rc = combine(s, key, why);
	shares_drop(s);			/* spent either way */
	*done = 1;
	return rc;
}

int
shares_offer(struct shares *s, const uint8_t *share, size_t len, int goal,
    uint8_t *key, enum shares_step *step, const char **why)
{
	int	 rc, dup, done;

	*step = SHARES_MORE;
	*why = NULL;
	if ((rc = shares_add(s, share, len, &dup)) != CF_OK)
		return rc;
	if (dup) {
		*step = SHARES_REPEAT;
		return CF_OK;
	}
	rc = shares_reach(s, goal, key, &done, why);
	if (done)
		*step = SHARES_COMBINED;
	return rc;
}
