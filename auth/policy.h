/*
 * policy.h -- ACL policy documents: parse HCL or JSON text into a
 * compiled policy, and the text of the built-in policies.
 *
 * A policy is a list of path rules.  policy_parse() checks the whole
 * document the way Vault 1.14 does (unknown keys, unknown capabilities,
 * bad shorthand, bad durations and '+*' patterns are errors naming the
 * line) and stores each rule already normalised: the pattern kind is
 * decided, a glob-prefix pattern has lost its '*', capabilities are a
 * bitmask, parameter names are lowercased.  acl.c folds one or more
 * policies into an ACL; nothing else reads the rules.
 *
 * Ownership: a struct policy and everything it points to belong to it
 * and die with policy_free().  It is never modified after parsing, so
 * several threads may read one policy at once; jansson values inside
 * are only read (no reference counts are touched after parsing).
 *
 * Not here: the root policy (it has no text; an ACL built with is_root
 * allows everything), storage of policies, base64 decoding of API
 * input, identity templating (templated rules are kept and flagged;
 * acl_new() drops them because coffer has no identity store).
 */
#ifndef COFFER_AUTH_POLICY_H
#define COFFER_AUTH_POLICY_H

#include <stddef.h>

#include <jansson.h>

#include "buf.h"

/* Capability bits; the values are Vault's, deny being the lowest. */
enum policy_cap {
	POLICY_CAP_DENY		= 1 << 0,
	POLICY_CAP_CREATE	= 1 << 1,
	POLICY_CAP_READ		= 1 << 2,
	POLICY_CAP_UPDATE	= 1 << 3,
	POLICY_CAP_DELETE	= 1 << 4,
	POLICY_CAP_LIST		= 1 << 5,
	POLICY_CAP_SUDO		= 1 << 6,
	POLICY_CAP_PATCH	= 1 << 7,
	POLICY_CAP_SUBSCRIBE	= 1 << 8	/* accepted, grants no op */
};

/* Every capability a policy can grant (everything but deny). */
#define POLICY_CAP_ALL	(POLICY_CAP_CREATE | POLICY_CAP_READ | \
	POLICY_CAP_UPDATE | POLICY_CAP_DELETE | POLICY_CAP_LIST | \
	POLICY_CAP_SUDO | POLICY_CAP_PATCH | POLICY_CAP_SUBSCRIBE)

/* How a rule's pattern matches (contract section 1.4). */
enum policy_kind {
	POLICY_EXACT,		/* the literal path */
	POLICY_PREFIX,		/* ended in '*': path holds the prefix */
	POLICY_SEGMENT		/* has '+' segments; path kept whole */
};

struct policy_rule {
	char		*path;		/* normalised pattern, see kind */
	enum policy_kind kind;
	int		 line;		/* line of the path block */
	int		 templated;	/* pattern has {{...}}: never applied */
	unsigned	 caps;		/* POLICY_CAP_*; deny alone if denied */
	long long	 min_wrap;	/* seconds, 0 if unset */
	long long	 max_wrap;	/* seconds, 0 if unset */
	/*
	 * Parameter constraints: objects mapping a lowercased name to an
	 * array of values (empty array: any value), or NULL when the
	 * block has none.  Values are JSON: strings may carry a leading
	 * or trailing '*' glob.
	 */
	json_t		*allowed;
	json_t		*denied;
	struct strv	 required;	/* lowercased names */
};

struct policy {
	char			*name;		/* lowercased, trimmed */
	struct policy_rule	*rules;		/* in document order */
	size_t			 n;
	int			 templated;	/* some rule is templated */
};

/*
 * Parse the policy document text (len bytes, HCL or JSON) named name
 * (may be NULL) into *out, owned by the caller (policy_free).  An empty
 * document is a valid policy with no rules.  On a bad document returns
 * CF_EINVAL, leaves *out NULL and puts into err (reset first) the whole
 * client-facing 400 text, which starts with "failed to parse policy: "
 * and names the line, e.g.
 *	failed to parse policy: path "secret/a": invalid capability
 *	    "reed" on line 3
 *	failed to parse policy: line 2: expected ',' or ']' in list
 * CF_ENOMEM when out of memory.  Reentrant.
 */
int	 policy_parse(const char *name, const char *text, size_t len,
	    struct policy **out, struct buf *err)
	    __attribute__((warn_unused_result));

/* Free a policy and everything in it; NULL is a no-op. */
void	 policy_free(struct policy *);

/*
 * The text of the built-in "default" policy (the rules of Vault 1.14's
 * default policy, contract section 1.10), written to storage at unseal
 * if missing.  Static storage.
 */
const char	*policy_default_text(void);

/*
 * The text of the built-in "response-wrapping" policy.  Static storage.
 */
const char	*policy_response_wrapping_text(void);

/*
 * Name of one capability bit ("read"), or NULL for a value that is not
 * exactly one known bit.  Static storage.
 */
const char	*policy_cap_name(unsigned cap);

#endif /* COFFER_AUTH_POLICY_H */
