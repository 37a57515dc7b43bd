/*
 * fuzz_policy.c -- libFuzzer target for ACL policies: the parser
 * (auth/policy.c) and the compiled ACL (auth/acl.c) built from what it
 * accepts.
 *
 * The input is a policy document.  A rejected one must leave *out NULL
 * and give the "failed to parse policy: " text.  An accepted one is
 * compiled alone and together with the default policy, then checked
 * for every operation on paths made from its own rules (the pattern, a
 * path under it, '+' segments filled in) with the parameters its rules
 * name.  Checks must agree with acl_capabilities(): nothing is allowed
 * that the applying rule does not grant, deny wins, sudo paths need
 * sudo, and an exact pattern gets exactly its merged capabilities.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "acl.h"
#include "policy.h"
#include "req.h"

#define FUZZ_SETUP	parse_default_policy
#include "fuzz_driver.h"

#define MAX_RULES	16

static struct policy	*defpol;

static const char *const fixed_paths[] = {
	"", "/", "sys/mounts", "sys/policy/x", "sys/audit", "sys/raw/a",
	"auth/token/create", "auth/token/lookup-self", "secret/data/a",
	"secret/metadata/a/", "cubbyhole/x", NULL
};

static unsigned
op_cap(int op)
{
	switch (op) {
	case REQ_READ:		return POLICY_CAP_READ;
	case REQ_CREATE:	return POLICY_CAP_CREATE;
	case REQ_UPDATE:	return POLICY_CAP_UPDATE;
	case REQ_DELETE:	return POLICY_CAP_DELETE;
	case REQ_LIST:		return POLICY_CAP_LIST;
	case REQ_PATCH:		return POLICY_CAP_PATCH;
	default:		return 0;
	}
}

/* Request data naming every parameter of the rule, first values. */
static json_t *
rule_params(const struct policy_rule *r)
{
	json_t		*o, *list;
	const char	*k;
	size_t		 i;

	if ((o = json_object()) == NULL)
		abort();
	json_object_foreach(r->allowed, k, list)
		(void)json_object_set(o, k, json_array_size(list) > 0 ?
		    json_array_get(list, 0) : json_null());
	json_object_foreach(r->denied, k, list)
		if (json_object_get(o, k) == NULL)
			(void)json_object_set_new(o, k, json_string("x"));
	for (i = 0; i < r->required.n; i++)
		if (json_object_get(o, r->required.v[i]) == NULL)
			(void)json_object_set_new(o, r->required.v[i],
			    json_integer(1));
	return o;
}

/* Every operation on path, with and without params; checks agreement. */
static void
check_path(const struct acl *a, const char *path, json_t *params,
    long long wrap)
{
	unsigned	 caps;
	size_t		 len;
	int		 op, rc, rc2, sudo, listing;

	caps = acl_capabilities(a, path);
	if ((caps & POLICY_CAP_DENY) && caps != POLICY_CAP_DENY)
		abort();
	len = strlen(path);
	/* Without a trailing '/' list and non-list lookups agree. */
	listing = len > 0 && path[len - 1] == '/';
	for (op = REQ_READ; op <= REQ_HEAD; op++) {
		sudo = -1;
		rc = acl_check(a, path, op, params, &sudo);
		if (rc != CF_OK && rc != CF_EDENIED)
			abort();
		if (sudo != 0 && sudo != 1)
			abort();
		rc2 = acl_check(a, path, op, NULL, NULL);
		if (rc2 != CF_OK && rc2 != CF_EDENIED)
			abort();
		rc2 = acl_check_wrap(a, path, op, params, wrap, NULL);
		if (rc2 != CF_OK && rc2 != CF_EDENIED)
			abort();
		if (listing)
			continue;
		if (sudo != ((caps & POLICY_CAP_SUDO) != 0))
			abort();
		if (rc != CF_OK)
			continue;
		if (op == REQ_HEAD || (caps & POLICY_CAP_DENY) ||
		    (caps & op_cap(op)) == 0)
			abort();
		if (acl_path_needs_sudo(path) && !(caps & POLICY_CAP_SUDO))
			abort();
	}
}

/* The capabilities an ACL of p alone gives the exact pattern path. */
static unsigned
exact_caps(const struct policy *p, const char *path)
{
	unsigned	 caps = 0;
	size_t		 i;

	for (i = 0; i < p->n; i++) {
		if (p->rules[i].kind != POLICY_EXACT || p->rules[i].templated ||
		    strcmp(p->rules[i].path, path) != 0)
			continue;
		if ((caps | p->rules[i].caps) & POLICY_CAP_DENY)
			caps = POLICY_CAP_DENY;
		else
			caps |= p->rules[i].caps;
	}
	return caps;
}

static void
check_acl(const struct acl *a, const struct policy *p, int alone)
{
	const struct policy_rule *r;
	json_t			*params, *emitted;
	char			*s, *q;
	size_t			 i, j, len;

	if ((emitted = acl_emit(a)) == NULL)
		abort();
	json_decref(emitted);
	for (i = 0; fixed_paths[i] != NULL; i++)
		check_path(a, fixed_paths[i], NULL, 0);
	for (i = 0; i < p->n && i < MAX_RULES; i++) {
		r = &p->rules[i];
		params = rule_params(r);
		len = strlen(r->path);
		check_path(a, r->path, params, r->min_wrap);
		if (alone && r->kind == POLICY_EXACT && !r->templated &&
		    r->path[0] != '/' &&
		    acl_capabilities(a, r->path) != exact_caps(p, r->path))
			abort();
		/* Under the pattern, and with '+' and '*' filled in. */
		if ((s = malloc(len * 4 + 8)) == NULL)
			abort();
		memcpy(s, r->path, len);
		memcpy(s + len, "x/y", 4);
		check_path(a, s, params, r->max_wrap);
		s[len] = '/';
		s[len + 1] = '\0';
		check_path(a, s, params, 0);
		for (j = 0, q = s; j < len; j++) {
			if (r->path[j] == '+') {
				memcpy(q, "seg", 3);
				q += 3;
			} else if (r->path[j] == '*') {
				memcpy(q, "tail", 4);
				q += 4;
			} else
				*q++ = r->path[j];
		}
		*q = '\0';
		check_path(a, s, params, r->min_wrap);
		free(s);
		json_decref(params);
	}
}

/* The default policy, merged with each input's in check_acl(). */
static void
parse_default_policy(void)
{
	const char	*t;
	struct buf	 err = BUF_INIT;

	t = policy_default_text();
	if (policy_parse("default", t, strlen(t), &defpol, &err) != CF_OK)
		abort();
	buf_free(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct policy	*p = (struct policy *)1, *set[3];
	struct acl	*a = NULL, *b;
	struct buf	 err = BUF_INIT;
	int		 rc;

	rc = policy_parse("Fuzz", (const char *)data, size, &p, &err);
	if (rc != CF_OK) {
		if (rc != CF_EINVAL || p != NULL || err.data == NULL ||
		    strncmp(err.data, "failed to parse policy: ", 24) != 0)
			abort();
		buf_free(&err);
		return 0;
	}
	if (p == NULL || p->name == NULL || (p->n > 0) != (p->rules != NULL))
		abort();

	if (acl_new(&p, 1, 0, &a) != CF_OK || a == NULL || acl_is_root(a))
		abort();
	check_acl(a, p, 1);
	acl_free(a);

	/* With the default policy, and p twice: merging. */
	set[0] = p;
	set[1] = defpol;
	set[2] = p;
	if (acl_new(set, 3, 0, &a) != CF_OK || a == NULL)
		abort();
	b = acl_ref(a);
	check_acl(b, p, 0);
	acl_free(b);
	acl_free(a);

	policy_free(p);
	buf_free(&err);
	return 0;
}
