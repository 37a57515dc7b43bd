/*
 * token.c -- the token store: authentication of every request.
 *
 * Storage layout (all behind the barrier):
 *   sys/token/salt                      32 random bytes, the HMAC key
 *   sys/token/id/<hmac>                 the token entry, JSON
 *   sys/token/accessor/<hmac of acc>    the token's hash
 *   sys/token/parent/<parent>/<child>   the tree, for revocation
 *   sys/expire/id/<lease id>            a service token's lease: its hash
 * A lease id is "<creation path>/h<hash>" (the hash is Vault's salted
 * token id); it goes and comes with the entry, whose "lease_id" names it.
 * The salt is read at unseal into an HMAC state in sodium_malloc
 * memory, read-only afterwards (so worker threads read it without a
 * lock), and wiped at seal.  Tokens themselves are never written anywhere.
 *
 * The cache of decoded entries is token_cache.c's; bound CIDR lists
 * are token_cidrs.c's.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "barrier.h"
#include "buf.h"
#include "cidr.h"
#include "core.h"
#include "jsonutil.h"
#include "lock.h"
#include "policystore.h"
#include "err.h"
#include "hmac256.h"
#include "log.h"
#include "req.h"
#include "storage.h"
#include "timeutil.h"
#include "token.h"
#include "token_cache.h"
#include "token_cidrs.h"

_Static_assert(TCACHE_HASH_LEN == TOKEN_HASH_LEN,
    "the token cache keys on token hashes");

#define SALT_KEY	"sys/token/salt"
#define ID_PREFIX	"sys/token/id/"
#define ACC_PREFIX	"sys/token/accessor/"
#define PARENT_PREFIX	"sys/token/parent/"
#define LEASE_PREFIX	"sys/expire/id/"

#define MAX_REVOKE_HOOKS	4

static int		(*revoke_hooks[MAX_REVOKE_HOOKS])(const char *);
static size_t		 nrevoke_hooks;

/* num_uses is a read-modify-write: one writer at a time. */
static pthread_mutex_t	 uses_mu = PTHREAD_MUTEX_INITIALIZER;
#define SALT_LEN	crypto_auth_hmacsha256_KEYBYTES

/*
 * HMAC-SHA256 keyed with the salt, its key already absorbed (hmac256.h):
 * each hash runs only the message's two compressions, on the CPU's SHA
 * extensions where it has them.  sodium_malloc, read-only; NULL while
 * sealed.
 */
static struct hmac256_key	*salted;

/*
 * The entry of a live service token for authentication: from the cache,
 * or read from storage (and cached unless it counts uses).  With *ref
 * set, *entry is the cache's, read-only, held through *ref (release it
 * with tentry_unref); with *ref NULL, *entry is the caller's own.
 */
static int
token_entry_shared(const char *hash, json_t **entry, struct tentry **ref)
{
	unsigned long long	 gen;
	int			 rc;

	if ((*ref = tcache_get(hash)) != NULL) {
		*entry = (*ref)->json;
		return CF_OK;
	}
	gen = tcache_generation();
	if ((rc = token_entry(hash, entry)) != CF_OK)
		return rc;
	if (json_integer_value(json_object_get(*entry, "num_uses")) == 0)
		tcache_put(hash, *entry, gen);
	return CF_OK;
}

int
token_store_load(void)
{
	struct buf	 b = BUF_INIT;
	unsigned char	*salt;
	int		 rc;

	tcache_clear();
	if ((salt = sodium_malloc(SALT_LEN)) == NULL)
		return CF_ENOMEM;
	if ((salted = sodium_malloc(sizeof(*salted))) == NULL) {
		sodium_free(salt);
		return CF_ENOMEM;
	}
	rc = core_get(SALT_KEY, &b);
	if (rc == CF_ENOTFOUND) {
		randombytes_buf(salt, SALT_LEN);
		rc = core_put(SALT_KEY, salt, SALT_LEN);
	} else if (rc == CF_OK) {
		if (b.len != SALT_LEN)
			rc = CF_EINTERNAL;
		else
			memcpy(salt, b.data, SALT_LEN);
	}
	buf_free(&b);
	if (rc == CF_OK)
		hmac256_init(salted, salt, SALT_LEN);
	sodium_free(salt);		/* wipes */
	if (rc != CF_OK) {
		sodium_free(salted);
		salted = NULL;
		return rc;
	}
	sodium_mprotect_readonly(salted);
	return CF_OK;
}

int
token_store_unload(void)
{
	tcache_clear();
	sodium_free(salted);		/* wipes */
	salted = NULL;
	return CF_OK;
}

int
token_hash(const char *token, char *hex)
{
	unsigned char	 mac[HMAC256_LEN];

	if (salted == NULL)
		return CF_ESEALED;
	hmac256(salted, token, strlen(token), mac);
	sodium_bin2hex(hex, TOKEN_HASH_LEN + 1, mac, sizeof(mac));
	sodium_memzero(mac, sizeof(mac));
	return CF_OK;
}

/* "hvs." and 24 base62 characters, as Vault 1.10+ issues them. */
static void
token_generate(const char *prefix, char *out, size_t len)
{
	static const char	 alnum[] = "0123456789"
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
	size_t			 i, plen = strlen(prefix);

	memcpy(out, prefix, plen);
	for (i = 0; i < len; i++)
		out[plen + i] = alnum[randombytes_uniform(62)];
	out[plen + len] = '\0';
}

int
token_entry(const char *hash, json_t **entry)
{
	char	 key[128];

	snprintf(key, sizeof(key), "%s%s", ID_PREFIX, hash);
	return core_get_json(key, entry);
}

int
token_entry_put(const char *hash, json_t *entry)
{
	char	 key[128];
	int	 rc;

	snprintf(key, sizeof(key), "%s%s", ID_PREFIX, hash);
	rc = core_put_json(key, entry);
	tcache_drop(hash);		/* after the write, even a failed one */
	return rc;
}

int
token_accessor_hash(const char *accessor, char *hash)
{
	struct buf	 b = BUF_INIT;
	char		 ah[TOKEN_HASH_LEN + 1], key[128];
	int		 rc;

	if ((rc = token_hash(accessor, ah)) != CF_OK)
		return rc;
	snprintf(key, sizeof(key), "%s%s", ACC_PREFIX, ah);
	if ((rc = core_get(key, &b)) == CF_OK) {
		if (b.len != TOKEN_HASH_LEN)
			rc = CF_EINTERNAL;
		else
			memcpy(hash, b.data, TOKEN_HASH_LEN + 1);
	}
	buf_free(&b);
	return rc;
}

int
token_accessor_field(struct request *req, struct response *resp,
    char *hash, int *found)
{
	const char	*acc = NULL;
	int		 rc;

	*found = 0;
	if ((rc = req_str(req, resp, "accessor", &acc, NULL)) != CF_OK)
		return rc;
	if (acc == NULL || *acc == '\0')
		return resp_fail(resp, CF_EINVAL, "missing accessor");
	*found = token_accessor_hash(acc, hash) == CF_OK;
	return CF_OK;
}

int
token_entry_by_accessor(struct request *req, struct response *resp,
    json_t **entry)
{
	char	 hash[TOKEN_HASH_LEN + 1];
	int	 rc, found;

	*entry = NULL;
	if ((rc = token_accessor_field(req, resp, hash, &found)) != CF_OK)
		return rc;
	if (!found || token_entry(hash, entry) != CF_OK)
		return resp_fail(resp, CF_EINVAL, "invalid accessor");
	return CF_OK;
}

int
token_create(const struct token_params *tp, char *out, json_t **entry)
{
	char			 hash[TOKEN_HASH_LEN + 1], ah[TOKEN_HASH_LEN + 1];
	char			 acc[32], idkey[128], acckey[128], pkey[256];
	char			 lid[TOKEN_LEASE_MAX + 1];
	char			 lkey[TOKEN_LEASE_MAX + sizeof(LEASE_PREFIX)];
	struct storage_op	 ops[4];
	struct buf		 b = BUF_INIT;
	json_t			*e = NULL, *pols, *tmp = NULL;
	long long		 now = (long long)time(NULL);
	size_t			 i, nops = 2, plen;
	int			 rc;

	*entry = NULL;
	if (tp->id != NULL)
		strlcpy(out, tp->id, TOKEN_MAX_LEN + 1);
	else
		token_generate("hvs.", out, 24);
	token_generate("", acc, 24);
	if ((rc = token_hash(out, hash)) != CF_OK ||
	    (rc = token_hash(acc, ah)) != CF_OK)
		goto out;
	if (tp->id != NULL && token_entry(hash, &tmp) == CF_OK) {
		rc = CF_EINVAL;
		goto out;
	}
	/* Joined as Vault's path.Join does: no "//" after "kv1/". */
	lid[0] = '\0';
	plen = strlen(tp->path);
	while (plen > 0 && tp->path[plen - 1] == '/')
		plen--;
	if (!tp->no_lease && (plen > INT_MAX || (size_t)snprintf(lid,
	    sizeof(lid), "%.*s/h%s", (int)plen, tp->path, hash) >=
	    sizeof(lid))) {
		rc = CF_EINVAL;		/* a path no lease id can hold */
		goto out;
	}
	if ((pols = json_array()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < tp->policies->n; i++)
		json_array_append_new(pols, json_string(tp->policies->v[i]));
	e = json_pack("{s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:b, s:s, s:O, s:s, s:b, s:I, s:I}",
	    "accessor", acc, "policies", pols, "path", tp->path,
	    "display_name", tp->display_name,
	    "creation_time", (json_int_t)now,
	    "creation_ttl", (json_int_t)tp->ttl,
	    "expire_time", (json_int_t)(tp->ttl > 0 ? time_add(now, tp->ttl) :
	    0),
	    "explicit_max_ttl", (json_int_t)tp->explicit_max_ttl,
	    "num_uses", (json_int_t)tp->num_uses,
	    "period", (json_int_t)tp->period,
	    "orphan", tp->parent == NULL, "type", "service",
	    "meta", tp->meta != NULL ? tp->meta : json_null(),
	    "parent", tp->parent != NULL ? tp->parent : "",
	    "renewable", tp->renewable && tp->ttl > 0,
	    "issue_time", (json_int_t)now,
	    "max_expire", (json_int_t)(tp->explicit_max_ttl > 0 ?
	    time_add(now, tp->explicit_max_ttl) : 0));
	/* A token that never expires carries no list, as in Vault. */
	if (e != NULL && tp->ttl > 0 && json_array_size(tp->bound_cidrs) > 0)
		json_object_set(e, "bound_cidrs", tp->bound_cidrs);
	if (e != NULL && ((*lid != '\0' && json_object_set_new(e, "lease_id",
	    json_string(lid)) != 0) || (tp->max_ttl > 0 &&
	    json_object_set_new(e, "max_ttl", json_integer(tp->max_ttl)) !=
	    0))) {
		rc = CF_ENOMEM;
		goto out;
	}
	if (e == NULL || (rc = jsonutil_emit(e, &b)) != CF_OK) {
		rc = CF_ENOMEM;
		goto out;
	}
	snprintf(idkey, sizeof(idkey), "%s%s", ID_PREFIX, hash);
	snprintf(acckey, sizeof(acckey), "%s%s", ACC_PREFIX, ah);
	ops[0] = (struct storage_op){ STORAGE_OP_PUT, idkey, b.data, b.len };
	ops[1] = (struct storage_op){ STORAGE_OP_PUT, acckey, hash,
	    TOKEN_HASH_LEN };
	if (tp->parent != NULL) {
		snprintf(pkey, sizeof(pkey), "%s%s/%s", PARENT_PREFIX,
		    tp->parent, hash);
		ops[nops++] = (struct storage_op){ STORAGE_OP_PUT, pkey, "", 0 };
	}
	if (*lid != '\0') {
		snprintf(lkey, sizeof(lkey), "%s%s", LEASE_PREFIX, lid);
		ops[nops++] = (struct storage_op){ STORAGE_OP_PUT, lkey, hash,
		    TOKEN_HASH_LEN };
	}
	rc = core_batch(ops, nops);
	tcache_drop(hash);
	if (rc != CF_OK)
		goto out;
	*entry = e;
	e = NULL;
 out:
	json_decref(e);
	json_decref(tmp);
	buf_free(&b);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

#define BATCH_AAD	"sys/token/batch"

int
token_create_batch(const struct token_params *tp, char **out, json_t **entry)
{
	struct buf	 pt = BUF_INIT, ct = BUF_INIT;
	json_t		*e = NULL, *pols;
	long long	 now = (long long)time(NULL);
	size_t		 i, cap;
	int		 rc;

	*out = NULL;
	*entry = NULL;
	if ((pols = json_array()) == NULL)
		return CF_ENOMEM;
	for (i = 0; i < tp->policies->n; i++)
		json_array_append_new(pols, json_string(tp->policies->v[i]));
	e = json_pack("{s:s, s:o, s:s, s:s, s:I, s:I, s:I, s:I, s:i, s:I, "
	    "s:b, s:s, s:O, s:s, s:b, s:I}",
	    "accessor", "", "policies", pols, "path", tp->path,
	    "display_name", tp->display_name,
	    "creation_time", (json_int_t)now,
	    "creation_ttl", (json_int_t)tp->ttl,
	    "expire_time", (json_int_t)time_add(now, tp->ttl),
	    "explicit_max_ttl", (json_int_t)0, "num_uses", 0,
	    "period", (json_int_t)0, "orphan", tp->parent == NULL,
	    "type", "batch", "meta", tp->meta != NULL ? tp->meta : json_null(),
	    "parent", tp->parent != NULL ? tp->parent : "",
	    "renewable", 0, "issue_time", (json_int_t)now);
	if (e != NULL && json_array_size(tp->bound_cidrs) > 0)
		json_object_set(e, "bound_cidrs", tp->bound_cidrs);
	if (e == NULL || (rc = jsonutil_emit(e, &pt)) != CF_OK) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = barrier_encrypt(core_barrier(), BATCH_AAD, pt.data, pt.len,
	    &ct)) != CF_OK)
		goto out;
	cap = 4 + sodium_base64_ENCODED_LEN(ct.len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	if ((*out = sodium_malloc(cap)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	memcpy(*out, "hvb.", 4);
	sodium_bin2base64(*out + 4, cap - 4, (const uint8_t *)ct.data, ct.len,
	    sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	*entry = e;
	e = NULL;
 out:
	json_decref(e);
	buf_free(&pt);
	buf_free(&ct);
	return rc;
}

/* Open a batch token into its entry; CF_EDENIED if it is not one of ours. */
static int
batch_entry(const char *token, json_t **entry)
{
	struct buf	 ct = BUF_INIT, pt = BUF_INIT;
	json_error_t	 je;
	size_t		 len = strlen(token + 4), n;
	int		 rc = CF_EDENIED;

	*entry = NULL;
	if (buf_reserve(&ct, len) != CF_OK)
		return CF_ENOMEM;
	if (sodium_base642bin((uint8_t *)ct.data, len, token + 4, len, NULL,
	    &n, NULL, sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
		goto out;
	ct.len = n;
	if (barrier_decrypt(core_barrier(), BATCH_AAD, ct.data, ct.len, &pt) !=
	    CF_OK)
		goto out;
	if ((*entry = json_loadb(pt.data, pt.len, 0, &je)) != NULL)
		rc = CF_OK;
 out:
	buf_free(&ct);
	buf_free(&pt);
	return rc;
}

int
token_create_root(const char *id, const char *path, char *out)
{
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	json_t			*e = NULL;
	int			 rc;

	if (id != NULL && (strlen(id) == 0 || strlen(id) > TOKEN_MAX_LEN))
		return CF_EINVAL;
	if ((rc = strv_push(&pols, "root")) != CF_OK)
		return rc;
	memset(&tp, 0, sizeof(tp));
	tp.id = id;
	tp.policies = &pols;
	tp.path = path;
	tp.display_name = "root";
	tp.no_lease = 1;		/* Vault leases no sys/init root */
	rc = token_create(&tp, out, &e);
	json_decref(e);
	strv_free(&pols);
	return rc;
}

void
token_on_revoke(int (*fn)(const char *))
{
	if (nrevoke_hooks == MAX_REVOKE_HOOKS)
		CF_BUG("too many revocation hooks");
	revoke_hooks[nrevoke_hooks++] = fn;
}

int
token_revoke(const char *hash, int orphan_children)
{
	struct strv		 kids = STRV_INIT;
	struct storage_op	 ops[4];
	char			 key[256], pkey[256], akey[128];
	char			 lkey[TOKEN_LEASE_MAX + sizeof(LEASE_PREFIX)];
	const char		*lid;
	char			 ah[TOKEN_HASH_LEN + 1];
	const char		*parent, *acc;
	json_t			*e = NULL, *ce = NULL;
	size_t			 i, nops = 0;
	int			 rc;

	if ((rc = token_entry(hash, &e)) == CF_ENOTFOUND) {
		/* Gone already: no cached copy may outlive it either. */
		tcache_drop(hash);
		return CF_OK;
	}
	if (rc != CF_OK)
		return rc;
	snprintf(key, sizeof(key), "%s%s/", PARENT_PREFIX, hash);
	if ((rc = core_list(key, &kids)) != CF_OK)
		goto out;
	for (i = 0; i < kids.n && rc == CF_OK; i++) {
		if (orphan_children) {
			/* The child lives on, without a parent. */
			if (token_entry(kids.v[i], &ce) == CF_OK) {
				json_object_set_new(ce, "parent",
				    json_string(""));
				json_object_set_new(ce, "orphan", json_true());
				rc = token_entry_put(kids.v[i], ce);
				json_decref(ce);
				ce = NULL;
			}
		} else
			rc = token_revoke(kids.v[i], 0);
		snprintf(key, sizeof(key), "%s%s/%s", PARENT_PREFIX, hash,
		    kids.v[i]);
		if (rc == CF_OK)
			rc = core_del(key);
	}
	for (i = 0; i < nrevoke_hooks && rc == CF_OK; i++)
		rc = revoke_hooks[i](hash);
	if (rc != CF_OK)
		goto out;
	/* Link, accessor and token go together: never one without another. */
	parent = json_string_value(json_object_get(e, "parent"));
	if (parent != NULL && *parent != '\0') {
		snprintf(pkey, sizeof(pkey), "%s%s/%s", PARENT_PREFIX, parent,
		    hash);
		ops[nops++] = (struct storage_op){ STORAGE_OP_DEL, pkey,
		    NULL, 0 };
	}
	acc = json_string_value(json_object_get(e, "accessor"));
	if (acc != NULL && token_hash(acc, ah) == CF_OK) {
		snprintf(akey, sizeof(akey), "%s%s", ACC_PREFIX, ah);
		ops[nops++] = (struct storage_op){ STORAGE_OP_DEL, akey,
		    NULL, 0 };
	}
	lid = json_string_value(json_object_get(e, "lease_id"));
	if (lid != NULL && (size_t)snprintf(lkey, sizeof(lkey), "%s%s",
	    LEASE_PREFIX, lid) < sizeof(lkey))
		ops[nops++] = (struct storage_op){ STORAGE_OP_DEL, lkey,
		    NULL, 0 };
	snprintf(key, sizeof(key), "%s%s", ID_PREFIX, hash);
	ops[nops++] = (struct storage_op){ STORAGE_OP_DEL, key, NULL, 0 };
	rc = core_batch(ops, nops);
	tcache_drop(hash);
 out:
	json_decref(e);
	strv_free(&kids);
	return rc;
}

void
token_auth_ctx_free(struct auth_ctx *ac)
{
	if (ac == NULL)
		return;
	acl_free(ac->acl);
	if (ac->ref != NULL)
		tentry_unref(ac->ref);
	else
		json_decref(ac->entry);
	sodium_memzero(ac, sizeof(*ac));
	free(ac);
}

/*
 * One use of a token with num_uses: counted under a mutex so that
 * concurrent requests never exceed the limit.  The use that spends the
 * last one is allowed; the token is revoked as it finishes.
 */
static int
consume_use(struct auth_ctx *ac)
{
	json_t		*e = NULL;
	long long	 left;
	int		 rc;

	lock_mutex(&uses_mu, LOCK_RECORD);
	if ((rc = token_entry(ac->hash, &e)) != CF_OK) {
		rc = rc == CF_ENOTFOUND ? CF_EDENIED : rc;
		goto out;
	}
	left = json_integer_value(json_object_get(e, "num_uses"));
	if (left <= 0) {
		rc = CF_OK;		/* unlimited */
		goto out;
	}
	if (left == 1)
		rc = token_revoke(ac->hash, 0);
	else {
		json_object_set_new(e, "num_uses", json_integer(left - 1));
		rc = token_entry_put(ac->hash, e);
	}
	json_object_set_new(ac->entry, "num_uses", json_integer(left - 1));
 out:
	unlock_mutex(&uses_mu);
	json_decref(e);
	return rc;
}

/* token_authenticate, consuming a use of a num_uses token or not. */
static int
resolve(const char *token, const char *addr, int consume,
    struct auth_ctx **out)
{
	struct auth_ctx	*ac = NULL;
	struct strv	 pols = STRV_INIT;
	json_t		*v;
	size_t		 i;
	long long	 exp;
	int		 rc;

	*out = NULL;
	if (token == NULL || *token == '\0' || strlen(token) > 4096)
		return CF_EDENIED;
	if ((ac = calloc(1, sizeof(*ac))) == NULL)
		return CF_ENOMEM;
	if ((rc = token_hash(token, ac->hash)) != CF_OK)
		goto out;
	if (strncmp(token, "hvb.", 4) == 0) {
		const char	*parent;
		json_t		*pe = NULL;

		if ((rc = batch_entry(token, &ac->entry)) != CF_OK)
			goto out;
		/* A batch token dies with its parent. */
		parent = json_string_value(json_object_get(ac->entry,
		    "parent"));
		if (parent != NULL && *parent != '\0' &&
		    token_entry(parent, &pe) != CF_OK) {
			rc = CF_EDENIED;
			goto out;
		}
		json_decref(pe);
	} else if ((rc = token_entry_shared(ac->hash, &ac->entry,
	    &ac->ref)) != CF_OK) {
		if (rc == CF_ENOTFOUND)
			rc = CF_EDENIED;
		goto out;
	}
	exp = json_integer_value(json_object_get(ac->entry, "expire_time"));
	if (exp != 0 && exp <= (long long)time(NULL)) {
		/* Expired: gone at once, and from storage too. */
		if (strncmp(token, "hvb.", 4) != 0)
			(void)!token_revoke(ac->hash, 0);
		rc = CF_EDENIED;
		goto out;
	}
	/* Outside its bound_cidrs, a token is refused before a use counts. */
	if (consume && (rc = token_cidrs_allow(ac->entry, addr)) != CF_OK)
		goto out;
	if ((v = json_object_get(ac->entry, "accessor")) != NULL)
		strlcpy(ac->accessor, json_string_value(v) ?
		    json_string_value(v) : "", sizeof(ac->accessor));
	json_array_foreach(json_object_get(ac->entry, "policies"), i, v) {
		if (!json_is_string(v))
			continue;
		if (strcmp(json_string_value(v), "root") == 0)
			ac->is_root = 1;
		if ((rc = strv_push(&pols, json_string_value(v))) != CF_OK)
			goto out;
	}
	if (consume &&
	    json_integer_value(json_object_get(ac->entry, "num_uses")) > 0 &&
	    (rc = consume_use(ac)) != CF_OK)
		goto out;
	if ((rc = policystore_acl(&pols, &ac->acl)) != CF_OK)
		goto out;
	*out = ac;
	ac = NULL;
	rc = CF_OK;
 out:
	strv_free(&pols);
	token_auth_ctx_free(ac);
	return rc;
}

int
token_authenticate(const char *token, const char *addr,
    struct auth_ctx **out)
{
	return resolve(token, addr, 1, out);
}

int
token_peek(const char *token, struct auth_ctx **out)
{
	return resolve(token, NULL, 0, out);
}

int
token_check(const char *token, const char *addr)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	struct tentry	*ref = NULL;
	json_t		*e = NULL;
	long long	 exp;
	int		 rc;

	if (token == NULL || *token == '\0' || strlen(token) > 4096)
		return CF_EDENIED;
	if (strncmp(token, "hvb.", 4) == 0)
		rc = batch_entry(token, &e);
	else if ((rc = token_hash(token, hash)) == CF_OK)
		rc = token_entry_shared(hash, &e, &ref);
	if (rc == CF_ENOTFOUND)
		rc = CF_EDENIED;
	if (rc == CF_OK) {
		exp = json_integer_value(json_object_get(e, "expire_time"));
		if (exp != 0 && exp <= (long long)time(NULL))
			rc = CF_EDENIED;
		else
			rc = token_cidrs_allow(e, addr);
	}
	sodium_memzero(hash, sizeof(hash));
	if (ref != NULL)
		tentry_unref(ref);
	else
		json_decref(e);
	return rc;
}

/* The index key of a lease id; CF_EINVAL if none can hold it. */
static int
lease_key(const char *lease_id, char *key, size_t len)
{
	if (lease_id == NULL || *lease_id == '\0' ||
	    (size_t)snprintf(key, len, "%s%s", LEASE_PREFIX, lease_id) >= len)
		return CF_EINVAL;
	return CF_OK;
}

int
token_lease_hash(const char *lease_id, char *hash)
{
	char		 key[TOKEN_LEASE_MAX + sizeof(LEASE_PREFIX)];
	struct buf	 b = BUF_INIT;
	int		 rc;

	if (lease_key(lease_id, key, sizeof(key)) != CF_OK)
		return CF_ENOTFOUND;
	if ((rc = core_get(key, &b)) == CF_OK) {
		if (b.len != TOKEN_HASH_LEN)
			rc = CF_EINTERNAL;
		else {
			memcpy(hash, b.data, TOKEN_HASH_LEN);
			hash[TOKEN_HASH_LEN] = '\0';
		}
	}
	buf_free(&b);
	return rc;
}

int
token_lease_list(const char *prefix, struct strv *out)
{
	char	 key[TOKEN_LEASE_MAX + sizeof(LEASE_PREFIX)];

	if ((size_t)snprintf(key, sizeof(key), "%s%s", LEASE_PREFIX,
	    prefix) >= sizeof(key))
		return CF_EINVAL;
	return core_list(key, out);
}

int
token_lease_forget(const char *lease_id)
{
	char	 key[TOKEN_LEASE_MAX + sizeof(LEASE_PREFIX)];
	int	 rc;

	if (lease_key(lease_id, key, sizeof(key)) != CF_OK)
		return CF_OK;
	rc = core_del(key);
	return rc == CF_ENOTFOUND ? CF_OK : rc;
}
