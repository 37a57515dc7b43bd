/*
 * policy.c -- parse ACL policy documents into compiled rules.
 *
 * The text goes through hcl_parse() (util/hcl.c), which gives the
 * same tree for HCL and JSON; this file walks that tree and checks it
 * against Vault 1.14's policy grammar: the top level holds only "name"
 * and "path" members, a path block only the keys in block_keys[], and
 * every error carries a line so that an operator can find it.  The
 * checks run in Vault's order (keys, types, pattern, shorthand,
 * capabilities, parameters, durations) so that a document with several
 * faults reports the same one Vault would.
 *
 * A block that denies stops being examined after its capabilities, as
 * in Vault: deny drops every other grant and every constraint, so
 * there is nothing left to check.
 *
 * Threads: no shared state; each call builds its own tree and policy.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "hcl.h"
#include "policy.h"
#include "req.h"
#include "strutil.h"
#include "timeutil.h"

#define PERR_PREFIX	"failed to parse policy: "

static int	 perr(struct buf *, int, const char *, ...)
		    __attribute__((format(printf, 3, 4)));
static int	 perr_hcl(struct buf *, const struct buf *);
static char	*lowercase_dup(const char *);
static json_t	*node_to_json(const struct hcl_node *);
static const struct hcl_node *bad_number(const struct hcl_node *);
static int	 rule_add(struct policy *, struct policy_rule **);
static void	 rule_fini(struct policy_rule *);
static int	 check_template(const char *);
static int	 parse_caps(const struct hcl_node *, const char *,
		    const struct hcl_node *, struct policy_rule *,
		    struct buf *);
static int	 parse_params(const struct hcl_node *, const char *,
		    const char *, json_t **, struct buf *);
static int	 parse_ttl(const struct hcl_node *, const char *,
		    const char *, long long *, struct buf *);
static int	 parse_block(struct policy *, const char *, int,
		    const struct hcl_node *, struct buf *);
static int	 parse_block_value(struct policy *, const struct hcl_node *,
		    struct buf *);
static int	 parse_paths(struct policy *, const struct hcl_node *,
		    struct buf *);

/* Keys a path block may hold; the enterprise ones are accepted and ignored. */
static const char *const block_keys[] = {
	"capabilities", "policy", "comment", "allowed_parameters",
	"denied_parameters", "required_parameters", "min_wrapping_ttl",
	"max_wrapping_ttl", "mfa_methods", "control_group",
	"subscribe_event_types", NULL
};

static const struct {
	const char	*name;
	unsigned	 bit;
} cap_names[] = {
	{ "deny",	POLICY_CAP_DENY },
	{ "create",	POLICY_CAP_CREATE },
	{ "read",	POLICY_CAP_READ },
	{ "update",	POLICY_CAP_UPDATE },
	{ "delete",	POLICY_CAP_DELETE },
	{ "list",	POLICY_CAP_LIST },
	{ "sudo",	POLICY_CAP_SUDO },
	{ "patch",	POLICY_CAP_PATCH },
	{ "subscribe",	POLICY_CAP_SUBSCRIBE },
};

/*
 * The default policy.  The rules are Vault 1.14's (contract 1.10); the
 * wording is ours.  The two identity rules are templated and so never
 * apply in coffer, which has no identity store, but they are kept so
 * that the text reads like the policy operators know.
 */
static const char default_text[] =
"# The default policy: what every token may do to itself.\n"
"# It is attached to new tokens unless they ask otherwise, may be\n"
"# edited, and is never deleted or overwritten by coffer.\n"
"\n"
"# Look up, renew and revoke the calling token.\n"
"path \"auth/token/lookup-self\" {\n"
"    capabilities = [\"read\"]\n"
"}\n"
"\n"
"path \"auth/token/renew-self\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"path \"auth/token/revoke-self\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"# Ask which capabilities the calling token has on some paths.\n"
"path \"sys/capabilities-self\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"# Read the token's own identity entity, by id or by name.\n"
"path \"identity/entity/id/{{identity.entity.id}}\" {\n"
"    capabilities = [\"read\"]\n"
"}\n"
"\n"
"path \"identity/entity/name/{{identity.entity.name}}\" {\n"
"    capabilities = [\"read\"]\n"
"}\n"
"\n"
"# The web UI reads the token's combined ACL from here.\n"
"path \"sys/internal/ui/resultant-acl\" {\n"
"    capabilities = [\"read\"]\n"
"}\n"
"\n"
"# Renew leases (the old path and the current one) and look them up.\n"
"path \"sys/renew\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"path \"sys/leases/renew\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"path \"sys/leases/lookup\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"# The token's private cubbyhole.\n"
"path \"cubbyhole/*\" {\n"
"    capabilities = [\"create\", \"read\", \"update\", \"delete\", "
"\"list\"]\n"
"}\n"
"\n"
"# Wrap data, and look up or unwrap a wrapping token.\n"
"path \"sys/wrapping/wrap\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"path \"sys/wrapping/lookup\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"path \"sys/wrapping/unwrap\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"# Hash data with the hashing tool.\n"
"path \"sys/tools/hash\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"path \"sys/tools/hash/*\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"# Ask for a control group authorisation (an enterprise feature).\n"
"path \"sys/control-group/request\" {\n"
"    capabilities = [\"update\"]\n"
"}\n"
"\n"
"# Authorize with an OIDC provider.\n"
"path \"identity/oidc/provider/+/authorize\" {\n"
"    capabilities = [\"read\", \"update\"]\n"
"}\n";

static const char response_wrapping_text[] =
"# Granted to response-wrapping tokens: read the wrapped response\n"
"# from the cubbyhole, and unwrap it.\n"
"path \"cubbyhole/response\" {\n"
"    capabilities = [\"create\", \"read\"]\n"
"}\n"
"\n"
"path \"sys/wrapping/unwrap\" {\n"
"    capabilities = [\"update\"]\n"
"}\n";

const char *
policy_default_text(void)
{
	return default_text;
}

const char *
policy_response_wrapping_text(void)
{
	return response_wrapping_text;
}

const char *
policy_cap_name(unsigned cap)
{
	size_t	 i;

	for (i = 0; i < sizeof(cap_names) / sizeof(cap_names[0]); i++)
		if (cap_names[i].bit == cap)
			return cap_names[i].name;
	return NULL;
}

/* Write "failed to parse policy: MSG on line N" into err; CF_EINVAL. */
static int
perr(struct buf *err, int line, const char *fmt, ...)
{
	va_list	 ap;

	buf_reset(err);
	(void)!buf_puts(err, PERR_PREFIX);
	va_start(ap, fmt);
	(void)!buf_vprintf_cut(err, 768, fmt, ap);
	va_end(ap);
	(void)!buf_printf(err, " on line %d", line);
	return CF_EINVAL;
}

/*
 * Rewrite hcl_parse()'s ":LINE: message" (we pass an empty name) as
 * "failed to parse policy: line LINE: message".
 */
static int
perr_hcl(struct buf *err, const struct buf *herr)
{
	const char	*s = herr->data != NULL ? herr->data : "syntax error";
	const char	*p = s;
	size_t		 n;

	if (*p == ':')
		p++;
	n = strspn(p, "0123456789");
	buf_reset(err);
	if (n > 0 && strncmp(p + n, ": ", 2) == 0)
		(void)!buf_printf(err, PERR_PREFIX "line %.*s: %s",
		    (int)n, p, p + n + 2);
	else
		(void)!buf_printf(err, PERR_PREFIX "%s", s);
	return CF_EINVAL;
}

static char *
lowercase_dup(const char *s)
{
	return strutil_lower(strdup(s));
}

/* A parameter value from the tree as JSON; NULL when out of memory. */
static json_t *
node_to_json(const struct hcl_node *n)
{
	const struct hcl_node	*c;
	json_t			*j, *v;
	char			*end;
	long long		 ll;

	switch (n->type) {
	case HCL_STRING:
		return json_string(n->str);
	case HCL_NUMBER:
		ll = strtoll(n->str, &end, 10);
		if (*end == '\0')
			return json_integer(ll);
		return json_real(strtod(n->str, NULL));
	case HCL_BOOL:
		return json_boolean(n->boolean);
	case HCL_NULL:
		return json_null();
	case HCL_LIST:
		if ((j = json_array()) == NULL)
			return NULL;
		for (c = n->child; c != NULL; c = c->next)
			if ((v = node_to_json(c)) == NULL ||
			    json_array_append_new(j, v) != 0) {
				json_decref(j);
				return NULL;
			}
		return j;
	case HCL_OBJECT:
		if ((j = json_object()) == NULL)
			return NULL;
		for (c = n->child; c != NULL; c = c->next)
			if ((v = node_to_json(c)) == NULL ||
			    json_object_set_new(j, c->key, v) != 0) {
				json_decref(j);
				return NULL;
			}
		return j;
	}
	return NULL;
}

/*
 * The first number in n that node_to_json() cannot hold (an integer
 * beyond long long, a real beyond double), or NULL.  As in Vault, where
 * decoding such a number fails, it is the client's error.
 */
static const struct hcl_node *
bad_number(const struct hcl_node *n)
{
	const struct hcl_node	*c, *b;
	char			*end;

	if (n->type == HCL_NUMBER) {
		errno = 0;
		(void)strtoll(n->str, &end, 10);
		if (*end == '\0')
			return errno == ERANGE ? n : NULL;
		return isfinite(strtod(n->str, NULL)) ? NULL : n;
	}
	for (c = n->child; c != NULL; c = c->next)
		if ((b = bad_number(c)) != NULL)
			return b;
	return NULL;
}

static void
rule_fini(struct policy_rule *r)
{
	free(r->path);
	json_decref(r->allowed);
	json_decref(r->denied);
	strv_free(&r->required);
}

/* Append a zeroed rule to p; *out points at it until the next add. */
static int
rule_add(struct policy *p, struct policy_rule **out)
{
	struct policy_rule	*v;

	v = reallocarray(p->rules, p->n + 1, sizeof(*v));
	if (v == NULL)
		return CF_ENOMEM;
	p->rules = v;
	*out = &v[p->n++];
	memset(*out, 0, sizeof(**out));
	strv_init(&(*out)->required);
	return CF_OK;
}

void
policy_free(struct policy *p)
{
	size_t	 i;

	if (p == NULL)
		return;
	for (i = 0; i < p->n; i++)
		rule_fini(&p->rules[i]);
	free(p->rules);
	free(p->name);
	free(p);
}

/*
 * Is the pattern templated?  1 if it holds "{{...}}", 0 if not, -1 if
 * the braces do not pair up (Vault refuses such a policy).
 */
static int
check_template(const char *s)
{
	const char	*open, *close;
	int		 found = 0;

	while ((open = strstr(s, "{{")) != NULL) {
		if ((close = strstr(open + 2, "}}")) == NULL)
			return -1;
		s = close + 2;
		found = 1;
	}
	return found;
}

/*
 * Capabilities of one block from its "capabilities" lists and its
 * legacy "policy" shorthand (either may be NULL).  A deny anywhere
 * leaves deny alone and ends the check, as Vault does.
 */
static int
parse_caps(const struct hcl_node *blk, const char *key,
    const struct hcl_node *legacy, struct policy_rule *r, struct buf *err)
{
	const struct hcl_node	*m, *c;
	unsigned		 extra = 0;
	size_t			 i;
	int			 found;

	r->caps = 0;
	if (legacy != NULL) {
		if (strcmp(legacy->str, "deny") == 0) {
			r->caps = POLICY_CAP_DENY;
			return CF_OK;
		} else if (strcmp(legacy->str, "read") == 0)
			extra = POLICY_CAP_READ | POLICY_CAP_LIST;
		else if (strcmp(legacy->str, "write") == 0)
			extra = POLICY_CAP_CREATE | POLICY_CAP_READ |
			    POLICY_CAP_UPDATE | POLICY_CAP_DELETE |
			    POLICY_CAP_LIST;
		else if (strcmp(legacy->str, "sudo") == 0)
			extra = POLICY_CAP_CREATE | POLICY_CAP_READ |
			    POLICY_CAP_UPDATE | POLICY_CAP_DELETE |
			    POLICY_CAP_LIST | POLICY_CAP_SUDO;
		else
			return perr(err, legacy->line,
			    "path \"%s\": invalid policy \"%s\"", key,
			    legacy->str);
	}
	for (m = blk->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "capabilities") != 0)
			continue;
		for (c = m->child; c != NULL; c = c->next) {
			found = 0;
			for (i = 0; i < sizeof(cap_names) /
			    sizeof(cap_names[0]); i++)
				if (strcmp(c->str, cap_names[i].name) == 0) {
					found = 1;
					break;
				}
			if (!found)
				return perr(err, c->line,
				    "path \"%s\": invalid capability \"%s\"",
				    key, c->str);
			if (cap_names[i].bit == POLICY_CAP_DENY) {
				r->caps = POLICY_CAP_DENY;
				return CF_OK;
			}
			r->caps |= cap_names[i].bit;
		}
	}
	r->caps |= extra;
	return CF_OK;
}

/*
 * Merge one allowed_parameters or denied_parameters object (n) into
 * *out, lowercasing names.  A later entry for the same name replaces
 * an earlier one, as a Go map assignment would.
 */
static int
parse_params(const struct hcl_node *n, const char *key, const char *what,
    json_t **out, struct buf *err)
{
	const struct hcl_node	*c, *b;
	json_t			*v;
	char			*name;
	int			 rc;

	if (n->type != HCL_OBJECT)
		return perr(err, n->line, "path \"%s\": %s must be a map of "
		    "parameter names to lists of values", key, what);
	for (c = n->child; c != NULL; c = c->next) {
		if (c->type != HCL_LIST)
			return perr(err, c->line, "path \"%s\": %s: the "
			    "values of \"%s\" must be a list", key, what,
			    c->key);
		if ((b = bad_number(c)) != NULL)
			return perr(err, b->line, "path \"%s\": %s: the "
			    "number %s is out of range", key, what, b->str);
	}
	if (*out == NULL && (*out = json_object()) == NULL)
		return CF_ENOMEM;
	for (c = n->child; c != NULL; c = c->next) {
		if ((name = lowercase_dup(c->key)) == NULL)
			return CF_ENOMEM;
		rc = CF_ENOMEM;
		if ((v = node_to_json(c)) != NULL &&
		    json_object_set_new(*out, name, v) == 0)
			rc = CF_OK;
		free(name);
		if (rc != CF_OK)
			return rc;
	}
	return CF_OK;
}

/* A wrapping TTL: integer seconds, or a duration string such as "1h". */
static int
parse_ttl(const struct hcl_node *n, const char *key, const char *what,
    long long *out, struct buf *err)
{
	if ((n->type != HCL_STRING && n->type != HCL_NUMBER) ||
	    duration_parse(n->str, out) != CF_OK)
		return perr(err, n->line, "path \"%s\": error parsing %s: "
		    "invalid duration", key, what);
	return CF_OK;
}

/* One path block: pattern key (as written), its line, its body blk. */
static int
parse_block(struct policy *p, const char *key, int line,
    const struct hcl_node *blk, struct buf *err)
{
	const struct hcl_node	*m, *c, *legacy = NULL;
	const struct hcl_node	*minn = NULL, *maxn = NULL;
	struct policy_rule	*r;
	const char		*pat;
	char			*lc;
	size_t			 i, len;
	int			 rc, tpl;

	/* Keys first, then the type of each value, as hcl.Decode does. */
	for (m = blk->child; m != NULL; m = m->next) {
		for (i = 0; block_keys[i] != NULL; i++)
			if (strcmp(m->key, block_keys[i]) == 0)
				break;
		if (block_keys[i] == NULL)
			return perr(err, m->line,
			    "path \"%s\": invalid key \"%s\"", key, m->key);
	}
	for (m = blk->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "capabilities") == 0 ||
		    strcmp(m->key, "required_parameters") == 0) {
			if (m->type != HCL_LIST)
				return perr(err, m->line, "path \"%s\": %s "
				    "must be a list of strings (got %s)", key,
				    m->key, hcl_type_name(m->type));
			for (c = m->child; c != NULL; c = c->next)
				if (c->type != HCL_STRING)
					return perr(err, c->line, "path "
					    "\"%s\": %s must be a list of "
					    "strings (got a list holding %s)",
					    key, m->key,
					    hcl_type_name(c->type));
		} else if (strcmp(m->key, "policy") == 0) {
			if (m->type != HCL_STRING)
				return perr(err, m->line, "path \"%s\": "
				    "policy must be a string (got %s)", key,
				    hcl_type_name(m->type));
			legacy = m;
		} else if (strcmp(m->key, "min_wrapping_ttl") == 0)
			minn = m;
		else if (strcmp(m->key, "max_wrapping_ttl") == 0)
			maxn = m;
	}

	if ((rc = rule_add(p, &r)) != CF_OK)
		return rc;
	r->line = line;
	pat = key[0] == '/' ? key + 1 : key;
	if ((r->path = strdup(pat)) == NULL)
		return CF_ENOMEM;
	if (strstr(r->path, "+*") != NULL)
		return perr(err, line, "path \"%s\": invalid use of "
		    "wildcards ('+*' is forbidden)", r->path);
	if ((tpl = check_template(r->path)) < 0)
		return perr(err, line, "failed to validate policy "
		    "templating: path \"%s\": unbalanced templating "
		    "characters", key);
	r->templated = tpl;
	p->templated |= tpl;

	/*
	 * The kind follows Vault's test literally: a "/+" anywhere makes
	 * a segment-wildcard rule, even in "a/+b" where the '+' is then
	 * matched as a literal.  The choice affects only priority.
	 */
	len = strlen(r->path);
	if (strcmp(r->path, "+") == 0 || strstr(r->path, "/+") != NULL ||
	    strncmp(r->path, "+/", 2) == 0)
		r->kind = POLICY_SEGMENT;
	else if (len > 0 && r->path[len - 1] == '*') {
		r->kind = POLICY_PREFIX;
		r->path[len - 1] = '\0';
	} else
		r->kind = POLICY_EXACT;

	if ((rc = parse_caps(blk, key, legacy, r, err)) != CF_OK)
		return rc;
	if (r->caps & POLICY_CAP_DENY)
		return CF_OK;

	rc = CF_OK;
	for (m = blk->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "allowed_parameters") == 0)
			rc = parse_params(m, r->path, "allowed_parameters",
			    &r->allowed, err);
		else if (strcmp(m->key, "denied_parameters") == 0)
			rc = parse_params(m, r->path, "denied_parameters",
			    &r->denied, err);
		if (rc != CF_OK)
			return rc;
	}
	if (minn != NULL && (rc = parse_ttl(minn, key, "min_wrapping_ttl",
	    &r->min_wrap, err)) != CF_OK)
		return rc;
	if (maxn != NULL && (rc = parse_ttl(maxn, key, "max_wrapping_ttl",
	    &r->max_wrap, err)) != CF_OK)
		return rc;
	if (r->min_wrap != 0 && r->max_wrap != 0 && r->max_wrap < r->min_wrap)
		return perr(err, maxn->line, "path \"%s\": max_wrapping_ttl "
		    "cannot be less than min_wrapping_ttl", key);
	for (m = blk->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "required_parameters") != 0)
			continue;
		for (c = m->child; c != NULL; c = c->next) {
			if ((lc = lowercase_dup(c->str)) == NULL)
				return CF_ENOMEM;
			rc = strv_has(&r->required, lc) ? CF_OK :
			    strv_push(&r->required, lc);
			free(lc);
			if (rc != CF_OK)
				return rc;
		}
	}
	return CF_OK;
}

/*
 * The value of one pattern member: a block, or (JSON written as HCL 1
 * allows) a list of blocks for the same pattern.
 */
static int
parse_block_value(struct policy *p, const struct hcl_node *m,
    struct buf *err)
{
	const struct hcl_node	*c;
	int			 rc;

	if (m->type == HCL_OBJECT)
		return parse_block(p, m->key, m->line, m, err);
	if (m->type != HCL_LIST)
		return perr(err, m->line, "path \"%s\": expected a block "
		    "(got %s)", m->key, hcl_type_name(m->type));
	for (c = m->child; c != NULL; c = c->next) {
		if (c->type != HCL_OBJECT)
			return perr(err, c->line, "path \"%s\": expected a "
			    "block (got %s)", m->key, hcl_type_name(c->type));
		if ((rc = parse_block(p, m->key, c->line, c, err)) != CF_OK)
			return rc;
	}
	return CF_OK;
}

/* The value of a top-level "path" member: patterns mapped to blocks. */
static int
parse_paths(struct policy *p, const struct hcl_node *n, struct buf *err)
{
	const struct hcl_node	*c;
	int			 rc;

	if (n->type == HCL_LIST) {
		for (c = n->child; c != NULL; c = c->next)
			if ((rc = parse_paths(p, c, err)) != CF_OK)
				return rc;
		return CF_OK;
	}
	if (n->type != HCL_OBJECT)
		return perr(err, n->line, "path must be a block with a "
		    "quoted pattern (got %s)", hcl_type_name(n->type));
	for (c = n->child; c != NULL; c = c->next)
		if ((rc = parse_block_value(p, c, err)) != CF_OK)
			return rc;
	return CF_OK;
}

int
policy_parse(const char *name, const char *text, size_t len,
    struct policy **out, struct buf *err)
{
	struct hcl_node		*root = NULL;
	const struct hcl_node	*m;
	struct policy		*p = NULL;
	struct buf		 herr = BUF_INIT;
	size_t			 nlen;
	int			 rc;

	*out = NULL;
	buf_reset(err);
	if ((rc = hcl_parse(text, len, "", &root, &herr)) != CF_OK) {
		if (rc == CF_EINVAL)
			perr_hcl(err, &herr);
		goto out;
	}
	if ((p = calloc(1, sizeof(*p))) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	/* Names are case-insensitive: trim and lowercase, as Vault does. */
	if (name == NULL)
		name = "";
	while (isspace((unsigned char)*name))
		name++;
	if ((p->name = lowercase_dup(name)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	nlen = strlen(p->name);
	while (nlen > 0 && isspace((unsigned char)p->name[nlen - 1]))
		p->name[--nlen] = '\0';

	for (m = root->child; m != NULL; m = m->next) {
		if (strcmp(m->key, "name") == 0) {
			/* The URL names the policy; this is ignored. */
			if (m->type != HCL_STRING) {
				rc = perr(err, m->line, "name must be a "
				    "string (got %s)", hcl_type_name(m->type));
				goto out;
			}
		} else if (strcmp(m->key, "path") == 0) {
			if ((rc = parse_paths(p, m, err)) != CF_OK)
				goto out;
		} else {
			rc = perr(err, m->line, "invalid key \"%s\"", m->key);
			goto out;
		}
	}
	*out = p;
	p = NULL;
	rc = CF_OK;
 out:
	if (rc == CF_ENOMEM) {
		buf_reset(err);
		(void)!buf_puts(err, PERR_PREFIX "out of memory");
	}
	policy_free(p);
	hcl_free(root);
	buf_free(&herr);
	return rc;
}
