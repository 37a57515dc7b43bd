/*
 * keys.c -- the key hierarchy (keys.h): the seal configuration, the
 * root key held while unsealed, the wrapped root key and keyring in
 * storage, and init, unseal, rotate, rekey and HA reload as they touch
 * them.  No HTTP here: the sys/ handlers (seal.c, sys_seal.c,
 * sys_rekey.c) check requests and answer; this module changes keys.
 *
 * Storage.  The KEK decrypts the root key stored at "core/root-key";
 * the root key decrypts the keyring at "core/keyring"; the keyring's
 * terms encrypt every other value (barrier.c).  The seal configuration
 * at "core/seal-config" is the only clear-text record, and it holds no
 * secret.
 *
 * Memory.  The root key (kept while unsealed, for sys/rotate and
 * rekey) lives in sodium_malloc memory, read-only between changes, and
 * is wiped on seal; clear keyrings pass through struct buf, which
 * wipes.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "keys.h"
#include "lock.h"
#include "log.h"
#include "shamir.h"
#include "storage.h"

#define SEAL_CONFIG_KEY		"core/seal-config"
#define ROOT_KEY_KEY		"core/root-key"
#define KEYRING_KEY		"core/keyring"
/*
 * The root key once more, sealed under keyring term 1, which every
 * node that ever unsealed holds: how a standby that takes over learns
 * a root key another node's rekey made (its old one no longer opens
 * the keyring).
 */
#define ROOT_KEY_T1_KEY		"core/root-key-t1"

#define KEY_LEN			KEYS_KEY_LEN
#define SHARE_MAX		SHARES_SHARE_MAX

static pthread_mutex_t	 seal_mu = PTHREAD_MUTEX_INITIALIZER;
static int		 cfg_n, cfg_t;		/* cached seal config */
static uint8_t		*root_key;		/* while unsealed */
/* Encryptions counted by the barrier when the active term came in. */
static atomic_ullong	 encryptions_base;

void
keys_lock(void)
{
	lock_mutex(&seal_mu, LOCK_KEYS);
}

void
keys_unlock(void)
{
	unlock_mutex(&seal_mu);
}

int
keys_shares(void)
{
	return cfg_n;
}

int
keys_threshold(void)
{
	return cfg_t;
}

int
keys_read_config(int *n, int *t, int *present)
{
	struct buf	 b = BUF_INIT;
	json_t		*j;
	json_error_t	 e;
	int		 rc;

	*n = *t = *present = 0;
	rc = storage_get(core_storage(), SEAL_CONFIG_KEY, &b);
	if (rc == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	if ((j = json_loadb(b.data, b.len, 0, &e)) == NULL) {
		buf_free(&b);
		return CF_EINTERNAL;
	}
	*n = (int)json_integer_value(json_object_get(j, "secret_shares"));
	*t = (int)json_integer_value(json_object_get(j, "secret_threshold"));
	*present = 1;
	json_decref(j);
	buf_free(&b);
	return CF_OK;
}

int
keys_load_config(void)
{
	int	 n, t, present, rc;

	if ((rc = keys_read_config(&n, &t, &present)) != CF_OK)
		return rc;
	keys_lock();
	cfg_n = n;
	cfg_t = t;
	keys_unlock();
	if (present)
		core_set_initialized();
	else
		core_set_uninitialized();
	return CF_OK;
}

/* The clear seal configuration record, Vault's shape. */
static int
seal_config_emit(int n, int t, struct buf *out)
{
	json_t	*j;
	int	 rc;

	j = json_pack("{s:s, s:i, s:i, s:n, s:s, s:b, s:i}", "type", "shamir",
	    "secret_shares", n, "secret_threshold", t, "pgp_keys", "nonce",
	    "", "backup", 0, "stored_shares", 1);
	if (j == NULL)
		return CF_ENOMEM;
	rc = jsonutil_emit(j, out);
	json_decref(j);
	return rc;
}

int
keys_make_shares(const uint8_t *kek, int n, int t, uint8_t *shares,
    size_t *share_len)
{
	uint8_t	*ptrs[SHAMIR_MAX_SHARES];
	int	 i;

	if (n == 1) {
		memcpy(shares, kek, KEY_LEN);
		*share_len = KEY_LEN;
		return CF_OK;
	}
	for (i = 0; i < n; i++)
		ptrs[i] = shares + (size_t)i * SHARE_MAX;
	*share_len = KEY_LEN + 1;
	return shamir_split(kek, KEY_LEN, (unsigned)n, (unsigned)t, ptrs);
}

/* Wrap root under kek and the keyring under root, for storage. */
static int
wrap_keys(const uint8_t *kek, const uint8_t *root, const struct barrier *b,
    struct buf *rootct, struct buf *ringct)
{
	struct buf	 ring = BUF_INIT;
	int		 rc;

	if ((rc = barrier_key_encrypt(kek, ROOT_KEY_KEY, root, KEY_LEN,
	    rootct)) != CF_OK)
		goto out;
	if ((rc = barrier_keyring_emit(b, &ring)) != CF_OK)
		goto out;
	rc = barrier_key_encrypt(root, KEYRING_KEY, ring.data, ring.len,
	    ringct);
 out:
	buf_free(&ring);		/* wipes the clear keyring */
	return rc;
}

/*
 * Store the wrapped root key, the wrapped keyring and the seal
 * configuration in one batch: either the old keys or the new ones
 * open the node, never a mix.
 */
static int
store_keys(const uint8_t *kek, const uint8_t *root, const struct barrier *b,
    int n, int t)
{
	struct storage_op	 ops[4];
	struct buf		 rootct = BUF_INIT, ringct = BUF_INIT;
	struct buf		 cfg = BUF_INIT, t1ct = BUF_INIT;
	int			 rc;

	if ((rc = wrap_keys(kek, root, b, &rootct, &ringct)) != CF_OK ||
	    (rc = barrier_encrypt_term(b, 1, ROOT_KEY_T1_KEY, root, KEY_LEN,
	    &t1ct)) != CF_OK ||
	    (rc = seal_config_emit(n, t, &cfg)) != CF_OK)
		goto out;
	ops[0] = (struct storage_op){ STORAGE_OP_PUT, ROOT_KEY_KEY,
	    rootct.data, rootct.len };
	ops[1] = (struct storage_op){ STORAGE_OP_PUT, KEYRING_KEY,
	    ringct.data, ringct.len };
	ops[2] = (struct storage_op){ STORAGE_OP_PUT, ROOT_KEY_T1_KEY,
	    t1ct.data, t1ct.len };
	ops[3] = (struct storage_op){ STORAGE_OP_PUT, SEAL_CONFIG_KEY,
	    cfg.data, cfg.len };
	rc = storage_batch(core_storage(), ops, 4);
 out:
	buf_free(&t1ct);
	buf_free(&rootct);
	buf_free(&ringct);
	buf_free(&cfg);
	return rc;
}

/* Keep a copy of the root key while unsealed (rotate and rekey use it). */
static int
hold_root_key(const uint8_t *root)
{
	if (root_key == NULL && (root_key = sodium_malloc(KEY_LEN)) == NULL)
		return CF_ENOMEM;
	sodium_mprotect_readwrite(root_key);
	memcpy(root_key, root, KEY_LEN);
	sodium_mprotect_readonly(root_key);
	return CF_OK;
}

/*
 * Hold root and unseal with b, a new term's encryption count starting
 * at zero.  b is the core's now, or freed, even on failure.
 */
static int
hand_over(const uint8_t *root, struct barrier *b)
{
	int	 rc;

	keys_lock();
	rc = hold_root_key(root);
	keys_unlock();
	if (rc != CF_OK) {
		barrier_free(b);
		return rc;
	}
	atomic_store(&encryptions_base, 0);
	return core_unseal(b);
}

int
keys_install(const uint8_t *kek, int n, int t, int *stored)
{
	struct barrier	*b = NULL;
	uint8_t		*root;
	int		 rc;

	*stored = 0;
	if ((root = sodium_malloc(KEY_LEN)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(root, KEY_LEN);
	if ((rc = barrier_new(&b)) != CF_OK ||
	    (rc = barrier_keyring_init(b)) != CF_OK ||
	    (rc = store_keys(kek, root, b, n, t)) != CF_OK)
		goto out;
	*stored = 1;
	keys_lock();
	cfg_n = n;
	cfg_t = t;
	keys_unlock();
	core_set_initialized();
	rc = hand_over(root, b);
	b = NULL;
 out:
	barrier_free(b);
	sodium_free(root);		/* wipes */
	return rc;
}

/* Delete every key under prefix ("" for all), depth first. */
static int
delete_tree(struct storage *st, const char *prefix)
{
	struct strv	 kids = STRV_INIT;
	struct buf	 path = BUF_INIT;
	size_t		 i;
	int		 rc;

	if ((rc = storage_list(st, prefix, &kids)) != CF_OK)
		goto out;
	for (i = 0; i < kids.n && rc == CF_OK; i++) {
		buf_reset(&path);
		if ((rc = buf_printf(&path, "%s%s", prefix, kids.v[i])) !=
		    CF_OK)
			break;
		if (path.len > 0 && path.data[path.len - 1] == '/')
			rc = delete_tree(st, path.data);
		else
			rc = storage_del(st, path.data);
	}
 out:
	strv_free(&kids);
	buf_free(&path);
	return rc;
}

void
keys_init_undo(void)
{
	struct storage	*st = core_storage();
	int		 rc;

	if ((rc = storage_del(st, SEAL_CONFIG_KEY)) == CF_OK)
		rc = delete_tree(st, "");
	if (rc != CF_OK) {
		log_warnx("seal: initialization failed after storing its keys "
		    "and could not be undone (%s): stop cofferd, empty the "
		    "storage and initialize again", cf_errname(rc));
		(void)keys_load_config();
		return;
	}
	keys_lock();
	cfg_n = cfg_t = 0;
	keys_unlock();
	core_set_uninitialized();
	log_warnx("seal: initialization failed after storing its keys; "
	    "undone, the node is uninitialized");
}

int
keys_unseal(const uint8_t *kek, int *wrong_key)
{
	struct storage	*st = core_storage();
	struct buf	 ct = BUF_INIT, root = BUF_INIT, ring = BUF_INIT;
	struct barrier	*b = NULL;
	int		 rc;

	*wrong_key = 0;
	if ((rc = storage_get(st, ROOT_KEY_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt(kek, ROOT_KEY_KEY, ct.data, ct.len, &root) !=
	    CF_OK || root.len != KEY_LEN) {
		*wrong_key = 1;
		rc = CF_EDENIED;
		goto out;
	}
	if ((rc = storage_get(st, KEYRING_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt((const uint8_t *)root.data, KEYRING_KEY,
	    ct.data, ct.len, &ring) != CF_OK) {
		log_warnx("seal: the keyring does not open with the root key");
		rc = CF_EINTERNAL;
		goto out;
	}
	if ((rc = barrier_new(&b)) != CF_OK ||
	    (rc = barrier_keyring_parse(b, ring.data, ring.len)) != CF_OK)
		goto out;
	rc = hand_over((const uint8_t *)root.data, b);
	b = NULL;
 out:
	barrier_free(b);
	buf_free(&ct);
	buf_free(&root);		/* wipes */
	buf_free(&ring);		/* wipes */
	return rc;
}

int
keys_kek_opens_root(const uint8_t *kek)
{
	struct buf	 ct = BUF_INIT, root = BUF_INIT;
	int		 rc;

	if ((rc = storage_get(core_storage(), ROOT_KEY_KEY, &ct)) != CF_OK)
		goto out;
	if (barrier_key_decrypt(kek, ROOT_KEY_KEY, ct.data, ct.len, &root) !=
	    CF_OK || root.len != KEY_LEN || root_key == NULL ||
	    sodium_memcmp(root.data, root_key, KEY_LEN) != 0)
		rc = CF_EDENIED;
 out:
	buf_free(&ct);
	buf_free(&root);		/* wipes */
	return rc;
}

/* Store the keyring again, wrapped under the held root key. */
static int
store_keyring(const struct barrier *b)
{
	struct buf	 ring = BUF_INIT, ct = BUF_INIT;
	int		 rc;

	if ((rc = barrier_keyring_emit(b, &ring)) == CF_OK &&
	    (rc = barrier_key_encrypt(root_key, KEYRING_KEY, ring.data,
	    ring.len, &ct)) == CF_OK)
		rc = storage_put(core_storage(), KEYRING_KEY, ct.data, ct.len);
	buf_free(&ring);		/* wipes */
	buf_free(&ct);
	return rc;
}

int
keys_rotate(struct barrier *b, uint32_t *term, int *restore_failed)
{
	struct buf	 prev = BUF_INIT;
	int		 rc;

	*restore_failed = 0;
	keys_lock();
	/*
	 * Keep the keyring as it was: if the new one cannot be stored, the
	 * new term must not encrypt anything, or a restart would lose it.
	 */
	if ((rc = barrier_keyring_emit(b, &prev)) == CF_OK &&
	    (rc = barrier_rotate(b, term)) == CF_OK) {
		if ((rc = store_keyring(b)) == CF_OK) {
			atomic_store(&encryptions_base,
			    barrier_encryptions(b));
			log_info("seal: rotated to key term %u", *term);
		} else if (barrier_keyring_parse(b, prev.data, prev.len) !=
		    CF_OK)
			*restore_failed = 1;
	}
	keys_unlock();
	buf_free(&prev);		/* wipes */
	return rc;
}

unsigned long long
keys_encryptions(struct barrier *b)
{
	unsigned long long	 enc, base;

	enc = barrier_encryptions(b);
	base = atomic_load(&encryptions_base);
	return enc > base ? enc - base : 0;
}

int
keys_rekey(const uint8_t *kek, int n, int t)
{
	uint8_t	*root;
	int	 rc;

	if ((root = sodium_malloc(KEY_LEN)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(root, KEY_LEN);
	if ((rc = store_keys(kek, root, core_barrier(), n, t)) == CF_OK &&
	    (rc = hold_root_key(root)) == CF_OK) {
		cfg_n = n;
		cfg_t = t;
		log_info("seal: rekeyed to %d shares, threshold %d", cfg_n,
		    cfg_t);
	}
	sodium_free(root);		/* wipes */
	return rc;
}

int
keys_reload(void)
{
	struct storage	*st = core_storage();
	struct barrier	*b = core_barrier();
	struct buf	 ct = BUF_INIT, ring = BUF_INIT, root = BUF_INIT;
	int		 n, t, present, rc;

	if ((rc = keys_read_config(&n, &t, &present)) != CF_OK)
		goto out;
	if ((rc = storage_get(st, KEYRING_KEY, &ct)) != CF_OK)
		goto out;
	keys_lock();
	if (present) {
		cfg_n = n;
		cfg_t = t;
	}
	rc = barrier_key_decrypt(root_key, KEYRING_KEY, ct.data, ct.len,
	    &ring);
	keys_unlock();
	if (rc != CF_OK) {
		if ((rc = storage_get(st, ROOT_KEY_T1_KEY, &root)) != CF_OK ||
		    (rc = barrier_decrypt(b, ROOT_KEY_T1_KEY, root.data,
		    root.len, &ring)) != CF_OK || ring.len != KEY_LEN) {
			log_warnx("seal: the stored keyring does not open with "
			    "the keys this node holds");
			rc = CF_EINTERNAL;
			goto out;
		}
		buf_reset(&root);
		if ((rc = buf_set(&root, ring.data, KEY_LEN)) != CF_OK)
			goto out;
		keys_lock();
		if ((rc = hold_root_key((const uint8_t *)root.data)) == CF_OK)
			rc = barrier_key_decrypt(root_key, KEYRING_KEY,
			    ct.data, ct.len, &ring);
		keys_unlock();
		if (rc != CF_OK)
			goto out;
		log_info("seal: the root key changed on another node");
	}
	if ((rc = barrier_keyring_parse(b, ring.data, ring.len)) == CF_OK)
		atomic_store(&encryptions_base, barrier_encryptions(b));
 out:
	buf_free(&ct);
	buf_free(&ring);		/* each wipes */
	buf_free(&root);
	return rc;
}

int
keys_forget(void)
{
	keys_lock();
	sodium_free(root_key);		/* wipes */
	root_key = NULL;
	keys_unlock();
	atomic_store(&encryptions_base, 0);
	return CF_OK;
}
