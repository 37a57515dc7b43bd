/*
 * token.c -- the token store: authentication of every request.
 *
 * Storage layout (all behind the barrier):
 *   sys/token/salt               32 random bytes, the HMAC key
 *   sys/token/id/<hmac hex>      the token entry, JSON
 * The salt is loaded at unseal into sodium_malloc memory, read-only
 * afterwards (so worker threads read it without a lock), and wiped at
 * seal.  Tokens themselves are never written anywhere.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "log.h"
#include "req.h"
#include "token.h"

#define SALT_KEY	"sys/token/salt"
#define ID_PREFIX	"sys/token/id/"
#define SALT_LEN	crypto_auth_hmacsha256_KEYBYTES

static unsigned char	*salt;		/* sodium_malloc, read-only */

int
token_store_load(void)
{
	struct buf	 b = BUF_INIT;
	int		 rc;

	if ((salt = sodium_malloc(SALT_LEN)) == NULL)
		return CF_ENOMEM;
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
	if (rc != CF_OK) {
		sodium_free(salt);
		salt = NULL;
		return rc;
	}
	sodium_mprotect_readonly(salt);
	return CF_OK;
}

int
token_store_unload(void)
{
	sodium_free(salt);		/* wipes */
	salt = NULL;
	return CF_OK;
}

int
token_hash(const char *token, char *hex)
{
	unsigned char	 mac[crypto_auth_hmacsha256_BYTES];

	if (salt == NULL)
		return CF_ESEALED;
	crypto_auth_hmacsha256(mac, (const unsigned char *)token,
	    strlen(token), salt);
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
token_create_root(const char *id, const char *path, char *out)
{
	char		 hash[TOKEN_HASH_LEN + 1], key[128], acc[32];
	json_t		*entry = NULL;
	struct buf	 b = BUF_INIT;
	int		 rc;

	if (id != NULL) {
		if (strlen(id) == 0 || strlen(id) > TOKEN_MAX_LEN)
			return CF_EINVAL;
		strlcpy(out, id, TOKEN_MAX_LEN + 1);
	} else
		token_generate("hvs.", out, 24);
	token_generate("", acc, 24);
	if ((rc = token_hash(out, hash)) != CF_OK)
		goto out;
	entry = json_pack("{s:s, s:[s], s:s, s:s, s:I, s:I, s:I, s:i, "
	    "s:b, s:s, s:n}",
	    "accessor", acc, "policies", "root", "path", path,
	    "display_name", "root", "creation_time", (json_int_t)time(NULL),
	    "expire_time", (json_int_t)0, "ttl", (json_int_t)0,
	    "num_uses", 0, "orphan", 1, "type", "service", "meta");
	if (entry == NULL || json_emit(entry, &b) != CF_OK) {
		rc = CF_ENOMEM;
		goto out;
	}
	snprintf(key, sizeof(key), "%s%s", ID_PREFIX, hash);
	rc = core_put(key, b.data, b.len);
 out:
	json_decref(entry);
	buf_free(&b);
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

void
auth_ctx_free(struct auth_ctx *ac)
{
	if (ac == NULL)
		return;
	acl_free(ac->acl);
	json_decref(ac->entry);
	sodium_memzero(ac, sizeof(*ac));
	free(ac);
}

int
token_authenticate(const char *token, struct auth_ctx **out)
{
	struct auth_ctx	*ac = NULL;
	struct buf	 b = BUF_INIT;
	char		 key[128];
	json_t		*pol, *v;
	json_error_t	 jerr;
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
	snprintf(key, sizeof(key), "%s%s", ID_PREFIX, ac->hash);
	if ((rc = core_get(key, &b)) != CF_OK) {
		if (rc == CF_ENOTFOUND)
			rc = CF_EDENIED;
		goto out;
	}
	if ((ac->entry = json_loadb(b.data, b.len, 0, &jerr)) == NULL) {
		rc = CF_EINTERNAL;
		goto out;
	}
	exp = json_integer_value(json_object_get(ac->entry, "expire_time"));
	if (exp != 0 && exp <= (long long)time(NULL)) {
		rc = CF_EDENIED;
		goto out;
	}
	if ((v = json_object_get(ac->entry, "accessor")) != NULL)
		strlcpy(ac->accessor, json_string_value(v) ?
		    json_string_value(v) : "", sizeof(ac->accessor));
	pol = json_object_get(ac->entry, "policies");
	json_array_foreach(pol, i, v)
		if (strcmp(json_string_value(v) ? json_string_value(v) : "",
		    "root") == 0)
			ac->is_root = 1;
	if (!ac->is_root &&
	    (rc = acl_new(NULL, 0, 0, &ac->acl)) != CF_OK)
		goto out;
	*out = ac;
	ac = NULL;
	rc = CF_OK;
 out:
	buf_free(&b);
	auth_ctx_free(ac);
	return rc;
}
