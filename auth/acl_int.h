/*
 * acl_int.h -- the compiled ACL's layout, shared by acl.c (which builds
 * it) and acl_match.c (which reads it) and included by nothing else.
 */
#ifndef COFFER_AUTH_ACL_INT_H
#define COFFER_AUTH_ACL_INT_H

#include <stdatomic.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "policy.h"

struct acl_rule {
	char		*path;		/* pattern as in policy_rule */
	size_t		 len;
	enum policy_kind kind;
	unsigned	 caps;
	long long	 min_wrap;
	long long	 max_wrap;
	json_t		*allowed;	/* owned copy or NULL */
	json_t		*denied;	/* owned copy or NULL */
	struct strv	 required;
	/* Priority facts (contract 1.7); for segment rules only. */
	size_t		 first_wc;	/* index of the first '+' */
	int		 is_prefix;	/* pattern ends in '*' */
	size_t		 base_len;	/* len without the '*' */
	size_t		 nparts;	/* segments of the base */
	size_t		 nwild;		/* segments that are exactly "+" */
};

struct acl {
	atomic_uint	  refs;
	int		  is_root;
	struct acl_rule	 *rules;	/* every merged rule */
	size_t		  n;
	struct acl_rule	**exact;	/* sorted bytewise */
	size_t		  nexact;
	struct acl_rule	**prefix;	/* longest first */
	size_t		  nprefix;
	struct acl_rule	**seg;
	size_t		  nseg;
};

/* Bytewise order of two counted strings, a shorter prefix first. */
int	 acl_bytes_cmp(const char *, size_t, const char *, size_t);

#endif /* COFFER_AUTH_ACL_INT_H */
