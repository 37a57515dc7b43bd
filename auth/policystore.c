/*
 * policystore.c -- stored ACL policies and the cache of compiled ACLs
 * every authenticated request uses.  Their sys/ endpoints are in
 * server/sys_policy.c.
 *
 * The cache maps a key (the sorted policy names joined by ',') to a
 * compiled ACL.  It is a small array under a rwlock: requests take the
 * read lock; a miss compiles outside the lock and inserts under the
 * write lock; a policy write clears it.  Lock order: after the core
 * lock, before storage.
 *
 * A miss may read a policy, lose the CPU while a write stores new text
 * and clears the cache, and come back with an ACL built from the old
 * text.  So every clear bumps a generation, a miss notes the generation
 * before it reads any policy, and it inserts only if the generation is
 * still the same: no cached ACL outlives the text it was built from.
 * Writers store the policy first and clear after, so a miss that read
 * the old text either inserted before the clear (and is cleared) or
 * finds the generation moved (and does not insert).
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "policy.h"
#include "policystore.h"

#define POLICY_PREFIX	"sys/policy/"
#define CACHE_MAX	256

struct cached {
	char		*key;
	struct acl	*acl;
};

static pthread_rwlock_t	 cache_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct cached	 cache[CACHE_MAX];
static size_t		 ncache;
static unsigned long long cache_gen;	/* bumped by every clear */

static void
cache_rdlock(void)
{
	lock_read(&cache_lock, LOCK_TABLE);
}

static void
cache_wrlock(void)
{
	lock_write(&cache_lock, LOCK_TABLE);
}

static void
cache_unlock(void)
{
	unlock_rw(&cache_lock);
}

/* Call after the policy change is in storage. */
static void
cache_clear(void)
{
	size_t	 i;

	cache_wrlock();
	for (i = 0; i < ncache; i++) {
		free(cache[i].key);
		acl_free(cache[i].acl);
	}
	ncache = 0;
	cache_gen++;
	cache_unlock();
}

/* Read and parse one stored policy; CF_ENOTFOUND if absent. */
static int
load(const char *name, struct policy **out, json_t **raw)
{
	struct buf	 err = BUF_INIT;
	char		*key = NULL;
	json_t		*j = NULL;
	const char	*text;
	int		 rc;

	*out = NULL;
	if (asprintf(&key, "%s%s", POLICY_PREFIX, name) == -1)
		return CF_ENOMEM;
	if ((rc = core_get_json(key, &j)) != CF_OK)
		goto out;
	if ((text = json_string_value(json_object_get(j, "policy"))) == NULL) {
		rc = CF_EINTERNAL;
		goto out;
	}
	if ((rc = policy_parse(name, text, strlen(text), out, &err)) != CF_OK)
		log_warnx("policy %s: stored text does not parse", name);
 out:
	if (raw != NULL && rc == CF_OK)
		*raw = j;
	else
		json_decref(j);
	free(key);
	buf_free(&err);
	return rc;
}

int
policystore_acl(const struct strv *names, struct acl **out)
{
	struct strv	 sorted = STRV_INIT;
	struct buf	 key = BUF_INIT;
	struct policy	*pols[64];
	unsigned long long gen;
	size_t		 i, n = 0;
	int		 rc = CF_OK, is_root = 0, keep;

	*out = NULL;
	for (i = 0; i < names->n && rc == CF_OK; i++)
		rc = strv_push(&sorted, names->v[i]);
	strv_sort(&sorted);
	for (i = 0; i < sorted.n && rc == CF_OK; i++) {
		if (strcmp(sorted.v[i], "root") == 0)
			is_root = 1;
		rc = buf_printf(&key, "%s,", sorted.v[i]);
	}
	if (rc != CF_OK)
		goto out;
	cache_rdlock();
	for (i = 0; i < ncache; i++)
		if (strcmp(cache[i].key, key.data != NULL ? key.data : "") ==
		    0) {
			*out = acl_ref(cache[i].acl);
			break;
		}
	gen = cache_gen;	/* noted before any policy is read */
	cache_unlock();
	if (*out != NULL)
		goto out;
	for (i = 0; i < sorted.n && n < 64 && !is_root; i++) {
		rc = load(sorted.v[i], &pols[n], NULL);
		if (rc == CF_OK)
			n++;
		else if (rc != CF_ENOTFOUND && rc != CF_EINVAL)
			goto free;
	}
	if ((rc = acl_new(pols, n, is_root, out)) != CF_OK)
		goto free;
	cache_wrlock();
	/* A policy changed since we read it: use this ACL once, unkept. */
	keep = gen == cache_gen;
	for (i = 0; i < ncache && keep; i++)
		if (strcmp(cache[i].key, key.data != NULL ? key.data : "") ==
		    0)
			keep = 0;	/* another miss cached it first */
	if (keep && ncache < CACHE_MAX &&
	    (cache[ncache].key = strdup(key.data != NULL ? key.data : "")) !=
	    NULL) {
		cache[ncache].acl = acl_ref(*out);
		ncache++;
	}
	cache_unlock();
	rc = CF_OK;
 free:
	for (i = 0; i < n; i++)
		policy_free(pols[i]);
 out:
	strv_free(&sorted);
	buf_free(&key);
	return rc;
}

int
policystore_get(const char *name, json_t **raw)
{
	struct policy	*pol = NULL;
	int		 rc;

	rc = load(name, &pol, raw);
	policy_free(pol);
	return rc;
}

int
policystore_put(const char *name, const char *text, size_t len)
{
	char		*key = NULL;
	json_t		*j = NULL;
	int		 rc;

	if ((j = json_pack("{s:s, s:s%}", "name", name, "policy", text,
	    len)) == NULL ||
	    asprintf(&key, "%s%s", POLICY_PREFIX, name) == -1) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = core_put_json(key, j)) == CF_OK)
		cache_clear();
 out:
	json_decref(j);
	free(key);
	return rc;
}

int
policystore_del(const char *name)
{
	char	*key = NULL;
	int	 rc;

	if (asprintf(&key, "%s%s", POLICY_PREFIX, name) == -1)
		return CF_ENOMEM;
	rc = core_del(key);
	free(key);
	if (rc == CF_OK)
		cache_clear();
	return rc;
}

int
policystore_list(struct strv *out)
{
	return core_list(POLICY_PREFIX, out);
}

/* Unseal hook: the default policy exists from the first unseal on. */
static int
ensure_default(void)
{
	struct buf	 b = BUF_INIT;
	json_t		*j;
	int		 rc;

	rc = core_get(POLICY_PREFIX "default", &b);
	buf_free(&b);
	if (rc != CF_ENOTFOUND)
		return rc;
	if ((j = json_pack("{s:s, s:s}", "name", "default", "policy",
	    policy_default_text())) == NULL)
		return CF_ENOMEM;
	rc = core_put_json(POLICY_PREFIX "default", j);
	json_decref(j);
	return rc;
}

static int
forget_all(void)
{
	cache_clear();
	return CF_OK;
}

void
policystore_register(void)
{
	core_on_active(ensure_default);
	core_on_standby(forget_all);
}
