/*
 * barrier.c -- encrypt and decrypt every stored value.
 *
 * The keyring is an array of terms in one sodium_malloc region: guard
 * pages, mlock, no core dumps, wiped when freed.  It is made read-only
 * after every change, so a stray write anywhere in the process faults
 * instead of corrupting a key.
 *
 * In seal/, the seal's cryptography (tests/layers.py): it includes
 * util/ and backends/ headers only.  The key hierarchy over it is
 * server/keys.c, the sys/ seal-family handlers server/seal.c,
 * server/sys_seal.c and server/sys_rekey.c.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "barrier.h"
#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"

#define BARRIER_VERSION		1
#define NONCE_LEN		crypto_aead_xchacha20poly1305_ietf_NPUBBYTES
#define TAG_LEN			crypto_aead_xchacha20poly1305_ietf_ABYTES
#define HDR_LEN			(1 + 4 + NONCE_LEN)
#define KEYRING_MAGIC		"CKR1"
#define KEYRING_MAX_TERMS	100000

_Static_assert(BARRIER_KEY_LEN == crypto_kdf_KEYBYTES, "kdf key length");

struct barrier_term {
	uint32_t	 term;
	int64_t		 installed;
	uint8_t		 key[BARRIER_KEY_LEN];
};

struct barrier {
	struct barrier_term	*terms;		/* sodium_malloc, read-only */
	size_t			 n, cap;
	uint32_t		 active;
	atomic_ullong		*encryptions;	/* counted through const */
};

int
barrier_new(struct barrier **out)
{
	struct barrier	*b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return CF_ENOMEM;
	if ((b->encryptions = calloc(1, sizeof(*b->encryptions))) == NULL) {
		free(b);
		return CF_ENOMEM;
	}
	*out = b;
	return CF_OK;
}

void
barrier_free(struct barrier *b)
{
	if (b == NULL)
		return;
	sodium_free(b->terms);		/* wipes, guard pages and all */
	free(b->encryptions);
	free(b);
}

/* Room for one more term: a new region, the old one wiped and freed. */
static int
grow(struct barrier *b)
{
	struct barrier_term	*nt;
	size_t			 ncap;

	if (b->n < b->cap) {
		sodium_mprotect_readwrite(b->terms);
		return CF_OK;
	}
	if (b->cap >= KEYRING_MAX_TERMS)
		return CF_EINVAL;
	ncap = b->cap ? b->cap * 2 : 16;
	if ((nt = sodium_allocarray(ncap, sizeof(*nt))) == NULL)
		return CF_ENOMEM;
	if (b->terms != NULL) {
		sodium_mprotect_readonly(b->terms);
		memcpy(nt, b->terms, b->n * sizeof(*nt));
		sodium_free(b->terms);
	}
	b->terms = nt;
	b->cap = ncap;
	return CF_OK;
}

static int
add_term(struct barrier *b, uint32_t term, int64_t installed)
{
	int	 rc;

	if ((rc = grow(b)) != CF_OK)
		return rc;
	b->terms[b->n].term = term;
	b->terms[b->n].installed = installed;
	randombytes_buf(b->terms[b->n].key, BARRIER_KEY_LEN);
	b->n++;
	b->active = term;
	sodium_mprotect_readonly(b->terms);
	return CF_OK;
}

int
barrier_keyring_init(struct barrier *b)
{
	if (b->n != 0)
		return CF_EINVAL;
	return add_term(b, 1, (int64_t)time(NULL));
}

int
barrier_rotate(struct barrier *b, uint32_t *term)
{
	int	 rc;

	if (b->n == 0)
		return CF_EINVAL;
	if ((rc = add_term(b, b->active + 1, (int64_t)time(NULL))) != CF_OK)
		return rc;
	if (term != NULL)
		*term = b->active;
	return CF_OK;
}

static const struct barrier_term *
find_term(const struct barrier *b, uint32_t term)
{
	size_t	 i;

	/* Terms are appended in order; term t sits at index t - 1. */
	if (term >= 1 && term <= b->n && b->terms[term - 1].term == term)
		return &b->terms[term - 1];
	for (i = 0; i < b->n; i++)
		if (b->terms[i].term == term)
			return &b->terms[i];
	return NULL;
}

uint32_t
barrier_term(const struct barrier *b)
{
	return b != NULL ? b->active : 0;
}

unsigned long long
barrier_encryptions(const struct barrier *b)
{
	return b != NULL ? atomic_load(b->encryptions) : 0;
}

long long
barrier_install_time(const struct barrier *b)
{
	const struct barrier_term	*t;

	if (b == NULL || (t = find_term(b, b->active)) == NULL)
		return 0;
	return t->installed;
}

int
barrier_derive(const struct barrier *b, uint64_t id, const char *ctx,
    uint8_t *out, size_t len)
{
	const struct barrier_term	*t = NULL;
	size_t				 i;

	if (b == NULL || len < crypto_kdf_BYTES_MIN ||
	    len > crypto_kdf_BYTES_MAX || strlen(ctx) != crypto_kdf_CONTEXTBYTES)
		return CF_EINVAL;
	for (i = 0; i < b->n; i++)
		if (t == NULL || b->terms[i].term < t->term)
			t = &b->terms[i];
	if (t == NULL)
		return CF_EINVAL;
	if (crypto_kdf_derive_from_key(out, len, id, ctx, t->key) != 0)
		return CF_EINTERNAL;
	return CF_OK;
}

static void
put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

int
barrier_keyring_emit(const struct barrier *b, struct buf *out)
{
	uint8_t	 hdr[12], rec[4 + 8];
	size_t	 i;
	int	 rc;

	buf_reset(out);
	memcpy(hdr, KEYRING_MAGIC, 4);
	put_be32(hdr + 4, b->active);
	put_be32(hdr + 8, (uint32_t)b->n);
	if ((rc = buf_append(out, hdr, sizeof(hdr))) != CF_OK)
		return rc;
	for (i = 0; i < b->n; i++) {
		put_be32(rec, b->terms[i].term);
		put_be32(rec + 4, (uint32_t)((uint64_t)b->terms[i].installed >>
		    32));
		put_be32(rec + 8, (uint32_t)b->terms[i].installed);
		if ((rc = buf_append(out, rec, sizeof(rec))) != CF_OK ||
		    (rc = buf_append(out, b->terms[i].key,
		    BARRIER_KEY_LEN)) != CF_OK) {
			buf_free(out);
			return rc;
		}
	}
	return CF_OK;
}

int
barrier_keyring_parse(struct barrier *b, const void *data, size_t len)
{
	const uint8_t	*p = data;
	struct barrier	 nb;
	uint32_t	 active, n, i, term;
	int64_t		 inst;
	int		 rc;

	if (len < 12 || memcmp(p, KEYRING_MAGIC, 4) != 0)
		return CF_EINVAL;
	active = get_be32(p + 4);
	n = get_be32(p + 8);
	if (n == 0 || n > KEYRING_MAX_TERMS ||
	    len != 12 + (size_t)n * (12 + BARRIER_KEY_LEN))
		return CF_EINVAL;
	memset(&nb, 0, sizeof(nb));
	p += 12;
	for (i = 0; i < n; i++, p += 12 + BARRIER_KEY_LEN) {
		term = get_be32(p);
		inst = (int64_t)((uint64_t)get_be32(p + 4) << 32 |
		    get_be32(p + 8));
		if ((rc = grow(&nb)) != CF_OK) {
			sodium_free(nb.terms);
			return rc;
		}
		nb.terms[nb.n].term = term;
		nb.terms[nb.n].installed = inst;
		memcpy(nb.terms[nb.n].key, p + 12, BARRIER_KEY_LEN);
		nb.n++;
		sodium_mprotect_readonly(nb.terms);
	}
	nb.active = active;
	if (find_term(&nb, active) == NULL) {
		sodium_free(nb.terms);
		return CF_EINVAL;
	}
	sodium_free(b->terms);
	b->terms = nb.terms;
	b->n = nb.n;
	b->cap = nb.cap;
	b->active = nb.active;
	return CF_OK;
}

/* Seal with key; aad may be "". */
static int
seal_with(const uint8_t *key, uint32_t term, const char *aad,
    const void *pt, size_t len, struct buf *out)
{
	uint8_t			*p;
	unsigned long long	 clen;
	int			 rc;

	buf_reset(out);
	if (len > SIZE_MAX - HDR_LEN - TAG_LEN)
		return CF_EINVAL;
	if ((rc = buf_reserve(out, HDR_LEN + len + TAG_LEN)) != CF_OK)
		return rc;
	p = (uint8_t *)out->data;
	p[0] = BARRIER_VERSION;
	put_be32(p + 1, term);
	randombytes_buf(p + 5, NONCE_LEN);
	crypto_aead_xchacha20poly1305_ietf_encrypt(p + HDR_LEN, &clen, pt, len,
	    (const uint8_t *)aad, strlen(aad), NULL, p + 5, key);
	out->len = HDR_LEN + (size_t)clen;
	out->data[out->len] = '\0';
	return CF_OK;
}

static int
open_with(const uint8_t *key, const char *aad, const uint8_t *ct,
    size_t len, struct buf *out)
{
	unsigned long long	 plen;
	int			 rc;

	buf_reset(out);
	if ((rc = buf_reserve(out, len - HDR_LEN - TAG_LEN)) != CF_OK)
		return rc;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt((uint8_t *)out->data,
	    &plen, NULL, ct + HDR_LEN, len - HDR_LEN, (const uint8_t *)aad,
	    strlen(aad), ct + 5, key) != 0) {
		buf_reset(out);
		return CF_EINTERNAL;
	}
	out->len = (size_t)plen;
	out->data[out->len] = '\0';
	return CF_OK;
}

int
barrier_encrypt(const struct barrier *b, const char *path, const void *pt,
    size_t len, struct buf *out)
{
	const struct barrier_term	*t;

	if (b == NULL || (t = find_term(b, b->active)) == NULL)
		return CF_ESEALED;
	atomic_fetch_add_explicit(b->encryptions, 1, memory_order_relaxed);
	return seal_with(t->key, t->term, path, pt, len, out);
}

int
barrier_encrypt_term(const struct barrier *b, uint32_t term, const char *path,
    const void *pt, size_t len, struct buf *out)
{
	const struct barrier_term	*t;

	if (b == NULL)
		return CF_ESEALED;
	if ((t = find_term(b, term)) == NULL)
		return CF_ENOTFOUND;
	atomic_fetch_add_explicit(b->encryptions, 1, memory_order_relaxed);
	return seal_with(t->key, t->term, path, pt, len, out);
}

int
barrier_decrypt(const struct barrier *b, const char *path, const void *ct,
    size_t len, struct buf *out)
{
	const uint8_t			*p = ct;
	const struct barrier_term	*t;

	buf_reset(out);
	if (b == NULL)
		return CF_ESEALED;
	if (len < HDR_LEN + TAG_LEN || p[0] != BARRIER_VERSION) {
		log_warnx("barrier: %s: not a barrier value", path);
		return CF_EINTERNAL;
	}
	if ((t = find_term(b, get_be32(p + 1))) == NULL) {
		log_warnx("barrier: %s: unknown key term %u", path,
		    get_be32(p + 1));
		return CF_EINTERNAL;
	}
	if (open_with(t->key, path, p, len, out) != CF_OK) {
		log_warnx("barrier: %s: value does not decrypt (tampered "
		    "with or moved)", path);
		return CF_EINTERNAL;
	}
	return CF_OK;
}

int
barrier_key_encrypt(const uint8_t *key, const char *aad, const void *pt,
    size_t len, struct buf *out)
{
	return seal_with(key, 0, aad, pt, len, out);
}

int
barrier_key_decrypt(const uint8_t *key, const char *aad, const void *ct,
    size_t len, struct buf *out)
{
	const uint8_t	*p = ct;

	buf_reset(out);
	if (len < HDR_LEN + TAG_LEN || p[0] != BARRIER_VERSION)
		return CF_EINVAL;
	return open_with(key, aad, p, len, out) == CF_OK ? CF_OK : CF_EINVAL;
}

int
barrier_get(const struct barrier *b, struct storage *st, const char *key,
    struct buf *val)
{
	struct buf	 ct = BUF_INIT;
	int		 rc;

	buf_reset(val);
	if ((rc = storage_get(st, key, &ct)) == CF_OK)
		rc = barrier_decrypt(b, key, ct.data, ct.len, val);
	buf_free(&ct);
	return rc;
}

int
barrier_put(const struct barrier *b, struct storage *st, const char *key,
    const void *val, size_t len)
{
	struct buf	 ct = BUF_INIT;
	int		 rc;

	if ((rc = barrier_encrypt(b, key, val, len, &ct)) == CF_OK)
		rc = storage_put(st, key, ct.data, ct.len);
	buf_free(&ct);
	return rc;
}

int
barrier_batch(const struct barrier *b, struct storage *st,
    const struct storage_op *ops, size_t n)
{
	struct storage_op	*enc = NULL;
	struct buf		*cts = NULL;
	size_t			 i;
	int			 rc = CF_OK;

	if (n == 0)
		return CF_OK;
	if ((enc = calloc(n, sizeof(*enc))) == NULL ||
	    (cts = calloc(n, sizeof(*cts))) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < n && rc == CF_OK; i++) {
		enc[i] = ops[i];
		if (ops[i].kind != STORAGE_OP_PUT)
			continue;
		rc = barrier_encrypt(b, ops[i].key, ops[i].val, ops[i].len,
		    &cts[i]);
		enc[i].val = cts[i].data;
		enc[i].len = cts[i].len;
	}
	if (rc == CF_OK)
		rc = storage_batch(st, enc, n);
 out:
	for (i = 0; cts != NULL && i < n; i++)
		buf_free(&cts[i]);
	free(cts);
	free(enc);
	return rc;
}
