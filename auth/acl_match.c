/*
 * acl_match.c -- check requests against an ACL: find the one rule that
 * applies to a path (exact, longest glob prefix, or the best segment
 * wildcard, in Vault's priority order; see rule_find()), then its
 * capabilities, wrapping limits and parameter constraints.  Reads the
 * immutable ACL only: no locks, no allocation but for unusually long
 * parameter names.
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

/* A candidate of the non-exact search, described for ranking. */
struct cand {
	const struct acl_rule	*rule;
	size_t			 first_wc;
	int			 is_prefix;
	size_t			 nwild;
	const char		*base;
	size_t			 base_len;
};

static const struct acl_rule *exact_find(const struct acl *, const char *,
		    size_t);
static int	 seg_match(const struct acl_rule *, const char *, size_t);
static int	 cand_better(const struct cand *, const struct cand *);
static const struct acl_rule *nonexact_find(const struct acl *,
		    const char *, size_t);
static const struct acl_rule *rule_find(const struct acl *, const char *,
		    int);
static int	 glob_match(const char *, size_t, const char *, size_t);
static int	 value_in_list(json_t *, const json_t *);
static int	 get_lower(const json_t *, const char *, json_t **);
static int	 params_ok(const struct acl_rule *, json_t *);

/* Bytewise order of two counted strings, a shorter prefix first. */
int
acl_bytes_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int	 c;

	c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return alen < blen ? -1 : alen > blen;
}

/* The exact rule for the first len bytes of path, or NULL. */
static const struct acl_rule *
exact_find(const struct acl *a, const char *path, size_t len)
{
	size_t	 lo = 0, hi = a->nexact, mid;
	int	 c;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		c = acl_bytes_cmp(path, len, a->exact[mid]->path,
		    a->exact[mid]->len);
		if (c == 0)
			return a->exact[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

/*
 * Does segment rule r match the first len bytes of path?  Segments are
 * compared one by one: "+" takes any one segment, others must be
 * equal, except that the last segment of a pattern ending in '*' need
 * only be a string prefix of the path's segment, and the path may then
 * go on.  Without '*' the segment counts must agree.
 */
static int
seg_match(const struct acl_rule *r, const char *path, size_t len)
{
	const char	*pp = r->path, *pend = r->path + r->base_len;
	const char	*pe, *q = path, *qe, *end = path + len;
	size_t		 i, plen, qlen;

	for (i = 0; i < r->nparts; i++) {
		if (q == NULL)
			return 0;	/* the path has fewer segments */
		if ((pe = memchr(pp, '/', (size_t)(pend - pp))) == NULL)
			pe = pend;
		if ((qe = memchr(q, '/', (size_t)(end - q))) == NULL)
			qe = end;
		plen = (size_t)(pe - pp);
		qlen = (size_t)(qe - q);
		if (plen == 1 && *pp == '+')
			;
		else if (plen == qlen && memcmp(pp, q, plen) == 0)
			;
		else if (r->is_prefix && i == r->nparts - 1 && qlen >= plen &&
		    memcmp(pp, q, plen) == 0)
			;
		else
			return 0;
		pp = pe < pend ? pe + 1 : pend;
		q = qe < end ? qe + 1 : NULL;
	}
	return r->is_prefix || q == NULL;
}

/*
 * 1 if candidate x ranks above y (contract 1.7): the first wildcard
 * later in the pattern; then not ending in '*'; then fewer '+'
 * segments; then the longer pattern; then the greater bytes.
 */
static int
cand_better(const struct cand *x, const struct cand *y)
{
	if (x->first_wc != y->first_wc)
		return x->first_wc > y->first_wc;
	if (x->is_prefix != y->is_prefix)
		return !x->is_prefix;
	if (x->nwild != y->nwild)
		return x->nwild < y->nwild;
	if (x->base_len != y->base_len)
		return x->base_len > y->base_len;
	return memcmp(x->base, y->base, x->base_len) > 0;
}

/*
 * The non-exact search on the first len bytes of path: the longest
 * glob-prefix rule and every matching segment rule compete; the best
 * ranked wins.  NULL if none matches.
 */
static const struct acl_rule *
nonexact_find(const struct acl *a, const char *path, size_t len)
{
	const struct acl_rule	*r;
	struct cand		 best, c;
	size_t			 i;
	int			 have = 0;

	memset(&best, 0, sizeof(best));
	for (i = 0; i < a->nprefix; i++) {
		r = a->prefix[i];
		if (r->len <= len && memcmp(r->path, path, r->len) == 0) {
			if (a->nseg == 0)
				return r;
			best.rule = r;
			best.first_wc = r->len;
			best.is_prefix = 1;
			best.nwild = 0;
			best.base = r->path;
			best.base_len = r->len;
			have = 1;
			break;
		}
	}
	for (i = 0; i < a->nseg; i++) {
		r = a->seg[i];
		if (!seg_match(r, path, len))
			continue;
		c.rule = r;
		c.first_wc = r->first_wc;
		c.is_prefix = r->is_prefix;
		c.nwild = r->nwild;
		c.base = r->path;
		c.base_len = r->base_len;
		if (!have || cand_better(&c, &best)) {
			best = c;
			have = 1;
		}
	}
	return have ? best.rule : NULL;
}

/*
 * The one rule that applies to path for an operation, list or not:
 *  1. an exact rule for the path;
 *  2. for a list, an exact rule for the path without its trailing '/';
 *  3. for a list of a path ending in '/', the non-exact search without
 *     the '/' (so "secret/a*" can grant listing "secret/a/");
 *  4. the non-exact search on the path itself.
 */
static const struct acl_rule *
rule_find(const struct acl *a, const char *path, int list)
{
	const struct acl_rule	*r;
	size_t			 len;
	int			 slash;

	while (*path == '/')
		path++;
	len = strlen(path);
	slash = len > 0 && path[len - 1] == '/';
	if ((r = exact_find(a, path, len)) != NULL)
		return r;
	if (list && slash && (r = exact_find(a, path, len - 1)) != NULL)
		return r;
	if (list && slash && (r = nonexact_find(a, path, len - 1)) != NULL)
		return r;
	return nonexact_find(a, path, len);
}

unsigned
acl_capabilities(const struct acl *a, const char *path)
{
	const struct acl_rule	*r;

	if (a == NULL || path == NULL)
		return 0;
	if (a->is_root)
		return POLICY_CAP_ALL;
	if ((r = rule_find(a, path, 1)) == NULL)
		return 0;
	return r->caps;
}

/*
 * Could segment rule r match a path below mount?  Each of the mount's
 * segments must meet a "+" or an equal segment of the pattern, or the
 * pattern's trailing glob.
 */
static int
segment_reaches(const struct acl_rule *r, const char *mount)
{
	const char	*p = r->path, *m = mount, *pe, *me;
	size_t		 plen, mlen;

	while (*m != '\0') {
		me = strchr(m, '/');
		mlen = me != NULL ? (size_t)(me - m) : strlen(m);
		pe = strchr(p, '/');
		plen = pe != NULL ? (size_t)(pe - p) : strlen(p);
		if (plen > 0 && p[plen - 1] == '*' && pe == NULL)
			return mlen >= plen - 1 && strncmp(m, p, plen - 1) == 0;
		if (!(plen == 1 && *p == '+') &&
		    (plen != mlen || strncmp(p, m, mlen) != 0))
			return 0;
		if (me == NULL)
			return 1;
		if (pe == NULL)
			return 0;	/* the pattern ends above the mount */
		m = me + 1;
		p = pe + 1;
	}
	return 1;
}

int
acl_mount_access(const struct acl *a, const char *mount)
{
	const unsigned	 grants = POLICY_CAP_ALL & ~POLICY_CAP_SUBSCRIBE;
	const struct acl_rule *r;
	size_t		 len = strlen(mount), i;
	unsigned	 caps;

	if (a == NULL)
		return 0;
	if (a->is_root)
		return 1;
	caps = acl_capabilities(a, mount);
	if ((caps & grants) != 0 && (caps & POLICY_CAP_DENY) == 0)
		return 1;
	for (i = 0; i < a->n; i++) {
		r = &a->rules[i];
		if ((r->caps & POLICY_CAP_DENY) != 0 || (r->caps & grants) == 0)
			continue;
		if (r->kind == POLICY_SEGMENT ? segment_reaches(r, mount) :
		    r->len >= len && strncmp(r->path, mount, len) == 0)
			return 1;
	}
	return 0;
}

/*
 * Vault's glob for parameter values: a listed value of two or more
 * bytes with a leading and/or trailing '*' matches by suffix, prefix
 * or substring; anything else (including a lone "*") must be equal.
 */
static int
glob_match(const char *pat, size_t plen, const char *val, size_t vlen)
{
	int	 lead, trail;

	if (plen < 2)
		return plen == vlen && memcmp(pat, val, plen) == 0;
	lead = pat[0] == '*';
	trail = pat[plen - 1] == '*';
	if (lead && trail)
		return memmem(val, vlen, pat + 1, plen - 2) != NULL;
	if (lead)
		return vlen >= plen - 1 &&
		    memcmp(val + vlen - (plen - 1), pat + 1, plen - 1) == 0;
	if (trail)
		return vlen >= plen - 1 && memcmp(val, pat, plen - 1) == 0;
	return plen == vlen && memcmp(pat, val, plen) == 0;
}

/* Is request value v in a policy's value list (empty: any value)? */
static int
value_in_list(json_t *v, const json_t *list)
{
	json_t	*el;
	size_t	 i;

	if (json_array_size(list) == 0)
		return 1;
	for (i = 0; i < json_array_size(list); i++) {
		el = json_array_get(list, i);
		if (json_is_null(el) || json_is_null(v)) {
			if (json_is_null(el) && json_is_null(v))
				return 1;
		} else if (json_is_string(el) && json_is_string(v)) {
			if (glob_match(json_string_value(el),
			    json_string_length(el), json_string_value(v),
			    json_string_length(v)))
				return 1;
		} else if (json_equal(el, v))
			return 1;
	}
	return 0;
}

/*
 * Policy entry for request key k, looked up lowercased (policy names
 * were lowercased at parse time), into *out (NULL if none).  -1 if a
 * very long name cannot be copied: the caller then denies, since
 * treating the entry as absent could let a denied value through.
 */
static int
get_lower(const json_t *obj, const char *k, json_t **out)
{
	char	 small[128], *lc, *p;
	size_t	 len = strlen(k);

	*out = NULL;
	lc = len < sizeof(small) ? small : malloc(len + 1);
	if (lc == NULL)
		return -1;
	for (p = lc; *k != '\0'; k++)
		*p++ = (char)tolower((unsigned char)*k);
	*p = '\0';
	*out = json_object_get(obj, lc);
	if (lc != small)
		free(lc);
	return 0;
}

/* Required, denied and allowed parameters (contract 1.5), in order. */
static int
params_ok(const struct acl_rule *r, json_t *data)
{
	const char	*k;
	json_t		*v, *list;
	size_t		 i;
	int		 allowed_all;

	for (i = 0; i < r->required.n; i++)
		if (data == NULL ||
		    json_object_get(data, r->required.v[i]) == NULL)
			return 0;
	if (data == NULL || json_object_size(data) == 0)
		return 1;
	if (json_object_size(r->denied) > 0) {
		if (json_object_get(r->denied, "*") != NULL)
			return 0;
		json_object_foreach(data, k, v) {
			if (get_lower(r->denied, k, &list) != 0)
				return 0;
			if (list != NULL && value_in_list(v, list))
				return 0;
		}
	}
	if (json_object_size(r->allowed) == 0)
		return 1;
	allowed_all = json_object_get(r->allowed, "*") != NULL;
	if (allowed_all && json_object_size(r->allowed) == 1)
		return 1;
	json_object_foreach(data, k, v) {
		if (get_lower(r->allowed, k, &list) != 0)
			return 0;
		if (list == NULL && !allowed_all)
			return 0;
		if (list != NULL && !value_in_list(v, list))
			return 0;
	}
	return 1;
}

int
acl_check(const struct acl *a, const char *path, int op, json_t *params,
    int *sudo)
{
	return acl_check_wrap(a, path, op, params, -1, sudo);
}

int
acl_check_wrap(const struct acl *a, const char *path, int op,
    json_t *params, long long wrap_ttl, int *sudo)
{
	const struct acl_rule	*r;
	unsigned		 need;

	if (sudo != NULL)
		*sudo = 0;
	if (a == NULL || path == NULL)
		return CF_EDENIED;
	if (a->is_root) {
		if (sudo != NULL)
			*sudo = 1;
		return CF_OK;
	}
	if ((r = rule_find(a, path, op == REQ_LIST)) == NULL)
		return CF_EDENIED;
	if (sudo != NULL)
		*sudo = (r->caps & POLICY_CAP_SUDO) != 0;
	if (r->caps & POLICY_CAP_DENY)
		return CF_EDENIED;
	switch (op) {
	case REQ_READ:
		need = POLICY_CAP_READ;
		break;
	case REQ_LIST:
		need = POLICY_CAP_LIST;
		break;
	case REQ_UPDATE:
		need = POLICY_CAP_UPDATE;
		break;
	case REQ_DELETE:
		need = POLICY_CAP_DELETE;
		break;
	case REQ_CREATE:
		need = POLICY_CAP_CREATE;
		break;
	case REQ_PATCH:
		need = POLICY_CAP_PATCH;
		break;
	default:
		/* REQ_HEAD is Vault's header operation: no grant covers it. */
		return CF_EDENIED;
	}
	if ((r->caps & need) == 0)
		return CF_EDENIED;
	/*
	 * Vault tests its request's wrap info, present with any header,
	 * "0" included, so only a missing header fails max_wrapping_ttl.
	 */
	if (r->max_wrap > 0 && (wrap_ttl < 0 || wrap_ttl > r->max_wrap))
		return CF_EDENIED;
	if (r->min_wrap > 0 && wrap_ttl < r->min_wrap)
		return CF_EDENIED;
	/* Merging can leave max below min although each block was valid. */
	if (r->min_wrap > 0 && r->max_wrap > 0 && r->max_wrap < r->min_wrap)
		return CF_EDENIED;
	if ((op == REQ_READ || op == REQ_CREATE || op == REQ_UPDATE ||
	    op == REQ_PATCH) && !params_ok(r, params))
		return CF_EDENIED;
	if (acl_path_needs_sudo(path) && !(r->caps & POLICY_CAP_SUDO))
		return CF_EDENIED;
	return CF_OK;
}
