/*
 * acl.c -- compile policies into an ACL and check requests against it.
 *
 * The rules of all policies are merged by (kind, pattern) and split by
 * kind: exact rules sorted for binary search, glob-prefix rules sorted
 * longest first (the first that is a prefix of the path is Vault's
 * radix-tree LongestPrefix), and segment-wildcard rules with the facts
 * the priority order needs (position of the first '+', trailing '*',
 * number of '+' segments, length) worked out at build time, so a check
 * allocates nothing except for unusually long parameter names.
 *
 * Exactly one rule applies to a path; see rule_find() for the order.
 * That is why a broad grant never adds to a narrow rule, and a broad
 * deny never overrides one.
 *
 * Threads: an ACL is immutable after acl_new(); checks only read it
 * (no jansson reference counts are touched), so sharing is safe.  The
 * reference count is atomic.  Nothing here locks or reads storage.
 *
 * This file builds ACLs (merging, sorting, reference counts), emits
 * them and knows Vault's sudo paths; acl_match.c finds the rule for a
 * path and checks a request against it.  acl_int.h is what they share.
 */
#include "config.h"

#include <ctype.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "acl.h"
#include "acl_int.h"
#include "buf.h"
#include "err.h"
#include "policy.h"
#include "req.h"

static void	 rule_fini(struct acl_rule *);
static int	 merge_params(json_t **, json_t *);
static int	 rule_merge(struct acl_rule *, const struct policy_rule *);
static int	 rule_init(struct acl_rule *, const struct policy_rule *);
static int	 cmp_exact(const void *, const void *);
static int	 cmp_prefix(const void *, const void *);

/*
 * Root-protected paths of the backends at their fixed mounts: the
 * system backend at "sys/" and the token store at "auth/token/".  An
 * entry ending in '*' is a string prefix, any other must be equal.
 */
static const char *const sudo_paths[] = {
	"sys/auth/*",
	"sys/remount",
	"sys/audit",
	"sys/audit/*",
	"sys/raw",
	"sys/raw/*",
	"sys/replication/primary/secondary-token",
	"sys/replication/performance/primary/secondary-token",
	"sys/replication/dr/primary/secondary-token",
	"sys/replication/reindex",
	"sys/replication/dr/reindex",
	"sys/replication/performance/reindex",
	"sys/rotate",
	"sys/config/cors",
	"sys/config/auditing/*",
	"sys/config/ui/headers/*",
	"sys/plugins/catalog/*",
	"sys/revoke-prefix/*",
	"sys/revoke-force/*",
	"sys/leases/revoke-prefix/*",
	"sys/leases/revoke-force/*",
	"sys/leases/lookup/*",
	"sys/storage/raft/snapshot-auto/config/*",
	"sys/leases",
	"sys/internal/inspect/*",
	"auth/token/accessors*",
	"auth/token/revoke-orphan/*",
	NULL
};

static void
rule_fini(struct acl_rule *r)
{
	free(r->path);
	json_decref(r->allowed);
	json_decref(r->denied);
	strv_free(&r->required);
}

/*
 * Fold src's parameter map into *dst (Vault's merge): per name, an
 * empty list (any value) on either side wins, else the lists are
 * concatenated.  A missing or empty src changes nothing.
 */
static int
merge_params(json_t **dst, json_t *src)
{
	const char	*k;
	json_t		*v, *old, *nv;

	if (src == NULL || json_object_size(src) == 0)
		return CF_OK;
	if (*dst == NULL) {
		*dst = json_deep_copy(src);
		return *dst == NULL ? CF_ENOMEM : CF_OK;
	}
	json_object_foreach(src, k, v) {
		old = json_object_get(*dst, k);
		if (json_array_size(v) == 0 ||
		    (old != NULL && json_array_size(old) == 0))
			nv = json_array();
		else if ((nv = json_deep_copy(v)) != NULL && old != NULL &&
		    json_array_extend(nv, old) != 0) {
			json_decref(nv);
			nv = NULL;
		}
		if (nv == NULL || json_object_set_new(*dst, k, nv) != 0)
			return CF_ENOMEM;
	}
	return CF_OK;
}

/* Merge policy rule n into the existing rule e with the same pattern. */
static int
rule_merge(struct acl_rule *e, const struct policy_rule *n)
{
	size_t	 i;
	int	 rc;

	if (e->caps & POLICY_CAP_DENY)
		return CF_OK;
	if (n->caps & POLICY_CAP_DENY) {
		e->caps = POLICY_CAP_DENY;
		json_decref(e->allowed);
		json_decref(e->denied);
		e->allowed = e->denied = NULL;
		return CF_OK;
	}
	e->caps |= n->caps;
	if (n->max_wrap > 0 && (e->max_wrap == 0 || n->max_wrap < e->max_wrap))
		e->max_wrap = n->max_wrap;
	if (n->min_wrap > 0 && (e->min_wrap == 0 || n->min_wrap < e->min_wrap))
		e->min_wrap = n->min_wrap;
	if ((rc = merge_params(&e->allowed, n->allowed)) != CF_OK ||
	    (rc = merge_params(&e->denied, n->denied)) != CF_OK)
		return rc;
	for (i = 0; i < n->required.n; i++)
		if (!strv_has(&e->required, n->required.v[i]) &&
		    (rc = strv_push(&e->required, n->required.v[i])) != CF_OK)
			return rc;
	return CF_OK;
}

/* A new ACL rule as a copy of policy rule n. */
static int
rule_init(struct acl_rule *r, const struct policy_rule *n)
{
	const char	*p, *plus;
	size_t		 i;

	memset(r, 0, sizeof(*r));
	strv_init(&r->required);
	if ((r->path = strdup(n->path)) == NULL)
		return CF_ENOMEM;
	r->len = strlen(r->path);
	r->kind = n->kind;
	if (r->kind == POLICY_SEGMENT) {
		plus = strchr(r->path, '+');
		r->first_wc = plus != NULL ? (size_t)(plus - r->path) : r->len;
		r->base_len = r->len;
		if (r->len > 0 && r->path[r->len - 1] == '*') {
			r->is_prefix = 1;
			r->base_len--;
		}
		r->nparts = 1;
		for (i = 0; i < r->base_len; i++)
			if (r->path[i] == '/')
				r->nparts++;
		for (p = r->path; p < r->path + r->base_len; p++)
			if (*p == '+' && (p == r->path || p[-1] == '/') &&
			    (p + 1 == r->path + r->base_len || p[1] == '/'))
				r->nwild++;
	}
	/* Start from nothing so that the first merge copies n exactly. */
	return rule_merge(r, n);
}

int
acl_new(struct policy *const *policies, size_t n, int is_root,
    struct acl **out)
{
	struct acl		*a = NULL;
	const struct policy_rule *pr;
	struct acl_rule		*r;
	size_t			 i, j, k, total = 0;
	int			 rc;

	*out = NULL;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CF_ENOMEM;
	atomic_init(&a->refs, 1);
	a->is_root = is_root;
	if (is_root)
		goto done;

	for (i = 0; i < n; i++)
		if (policies[i] != NULL)
			total += policies[i]->n;
	if (total > 0 &&
	    (a->rules = calloc(total, sizeof(*a->rules))) == NULL) {
		rc = CF_ENOMEM;
		goto fail;
	}
	for (i = 0; i < n; i++) {
		if (policies[i] == NULL)
			continue;
		for (j = 0; j < policies[i]->n; j++) {
			pr = &policies[i]->rules[j];
			if (pr->templated)
				continue;
			for (k = 0; k < a->n; k++)
				if (a->rules[k].kind == pr->kind &&
				    strcmp(a->rules[k].path, pr->path) == 0)
					break;
			if (k < a->n)
				rc = rule_merge(&a->rules[k], pr);
			else {
				rc = rule_init(&a->rules[a->n], pr);
				a->n++;
			}
			if (rc != CF_OK)
				goto fail;
		}
	}

	if (a->n > 0 &&
	    ((a->exact = calloc(a->n, sizeof(*a->exact))) == NULL ||
	    (a->prefix = calloc(a->n, sizeof(*a->prefix))) == NULL ||
	    (a->seg = calloc(a->n, sizeof(*a->seg))) == NULL)) {
		rc = CF_ENOMEM;
		goto fail;
	}
	for (k = 0; k < a->n; k++) {
		r = &a->rules[k];
		switch (r->kind) {
		case POLICY_EXACT:
			a->exact[a->nexact++] = r;
			break;
		case POLICY_PREFIX:
			a->prefix[a->nprefix++] = r;
			break;
		case POLICY_SEGMENT:
			a->seg[a->nseg++] = r;
			break;
		}
	}
	if (a->nexact > 1)
		qsort(a->exact, a->nexact, sizeof(*a->exact), cmp_exact);
	if (a->nprefix > 1)
		qsort(a->prefix, a->nprefix, sizeof(*a->prefix), cmp_prefix);
 done:
	*out = a;
	return CF_OK;
 fail:
	acl_free(a);
	return rc;
}

struct acl *
acl_ref(struct acl *a)
{
	if (a != NULL)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

void
acl_free(struct acl *a)
{
	size_t	 i;

	if (a == NULL || atomic_fetch_sub(&a->refs, 1) != 1)
		return;
	for (i = 0; i < a->n; i++)
		rule_fini(&a->rules[i]);
	free(a->rules);
	free(a->exact);
	free(a->prefix);
	free(a->seg);
	free(a);
}

int
acl_is_root(const struct acl *a)
{
	return a != NULL && a->is_root;
}

static int
cmp_exact(const void *x, const void *y)
{
	const struct acl_rule	*a = *(const struct acl_rule *const *)x;
	const struct acl_rule	*b = *(const struct acl_rule *const *)y;

	return acl_bytes_cmp(a->path, a->len, b->path, b->len);
}

static int
cmp_prefix(const void *x, const void *y)
{
	const struct acl_rule	*a = *(const struct acl_rule *const *)x;
	const struct acl_rule	*b = *(const struct acl_rule *const *)y;

	if (a->len != b->len)
		return a->len > b->len ? -1 : 1;
	return acl_bytes_cmp(a->path, a->len, b->path, b->len);
}

int
acl_path_needs_sudo(const char *path)
{
	const char	*best = NULL;
	size_t		 i, len, best_len = 0;
	int		 best_prefix = 0, is_prefix;

	if (path == NULL)
		return 0;
	while (*path == '/')
		path++;
	for (i = 0; sudo_paths[i] != NULL; i++) {
		len = strlen(sudo_paths[i]);
		is_prefix = sudo_paths[i][len - 1] == '*';
		if (is_prefix)
			len--;
		if (strncmp(path, sudo_paths[i], len) != 0)
			continue;
		if (best == NULL || len > best_len) {
			best = sudo_paths[i];
			best_len = len;
			best_prefix = is_prefix;
		}
	}
	if (best == NULL)
		return 0;
	return best_prefix || path[best_len] == '\0';
}

int
acl_capability_names(unsigned caps, int is_root, struct strv *out)
{
	/* Alphabetical, which is the order sys/capabilities reports. */
	static const unsigned	 order[] = {
		POLICY_CAP_CREATE, POLICY_CAP_DELETE, POLICY_CAP_LIST,
		POLICY_CAP_PATCH, POLICY_CAP_READ, POLICY_CAP_SUBSCRIBE,
		POLICY_CAP_SUDO, POLICY_CAP_UPDATE
	};
	size_t			 i;
	int			 rc;

	if (is_root)
		return strv_push(out, "root");
	if ((caps & POLICY_CAP_DENY) || (caps & POLICY_CAP_ALL) == 0)
		return strv_push(out, "deny");
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++)
		if ((caps & order[i]) &&
		    (rc = strv_push(out, policy_cap_name(order[i]))) != CF_OK)
			return rc;
	return CF_OK;
}

json_t *
acl_emit(const struct acl *a)
{
	struct strv	 names = STRV_INIT;
	json_t		*exact, *glob, *caps, *o;
	char		*key;
	size_t		 i, j;

	if ((exact = json_object()) == NULL || (glob = json_object()) == NULL) {
		json_decref(exact);
		return NULL;
	}
	for (i = 0; a != NULL && !a->is_root && i < a->n; i++) {
		const struct acl_rule	*r = &a->rules[i];

		strv_free(&names);
		if (acl_capability_names(r->caps, 0, &names) != CF_OK)
			continue;
		caps = json_array();
		for (j = 0; j < names.n; j++)
			json_array_append_new(caps, json_string(names.v[j]));
		o = json_pack("{s:o}", "capabilities", caps);
		if (r->kind == POLICY_EXACT)
			json_object_set_new(exact, r->path, o);
		else if (r->kind == POLICY_PREFIX) {
			if (asprintf(&key, "%s*", r->path) == -1) {
				json_decref(o);
				continue;
			}
			json_object_set_new(glob, key, o);
			free(key);
		} else
			json_object_set_new(glob, r->path, o);
	}
	strv_free(&names);
	return json_pack("{s:o, s:o, s:b}", "exact_paths", exact,
	    "glob_paths", glob, "root", a != NULL && a->is_root);
}
