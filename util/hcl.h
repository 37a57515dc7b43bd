/*
 * hcl.h -- a parser for HCL (version 1, as Vault's configuration and
 * policies use it) and for its JSON form, into one tree.
 *
 * The tree keeps a line number on every node so that callers can report
 * "FILE:LINE: message".  Blocks become nested objects, one level per
 * label, as in HCL 1:
 *
 *	storage "lmdb" { path = "d" }   ->  storage = { lmdb = { path = "d" } }
 *
 * Members keep their order and repeated keys stay separate members
 * (two listener blocks are two members named "listener").  A JSON
 * document produces the same shape.  Not thread-safe per tree; parsing
 * different texts in parallel is fine.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#ifndef COFFER_UTIL_HCL_H
#define COFFER_UTIL_HCL_H

#include <stddef.h>

struct buf;

enum hcl_type {
	HCL_STRING,
	HCL_NUMBER,		/* str holds the number as written */
	HCL_BOOL,
	HCL_LIST,
	HCL_OBJECT,
	HCL_NULL
};

struct hcl_node {
	enum hcl_type	 type;
	int		 line;		/* 1-based line of the value or key */
	char		*key;		/* member name in an object, else NULL */
	char		*str;		/* HCL_STRING and HCL_NUMBER */
	int		 boolean;	/* HCL_BOOL */
	struct hcl_node	*child;		/* first item (LIST) or member (OBJECT) */
	struct hcl_node	*next;		/* next sibling */
};

/*
 * Parse text (HCL or, if it starts with '{', JSON) into *out, an
 * HCL_OBJECT owned by the caller (hcl_free).  On a syntax error returns
 * CF_EINVAL, leaves *out NULL, and writes "NAME:LINE: message" into err
 * (reset first), NAME being the name argument (a file name, or "policy").
 */
int	 hcl_parse(const char *text, size_t len, const char *name,
	    struct hcl_node **out, struct buf *err)
	    __attribute__((warn_unused_result));
void	 hcl_free(struct hcl_node *);

/* First member named key in an object, or NULL.  Borrowed. */
const struct hcl_node *hcl_get(const struct hcl_node *, const char *);

/* Name of a type for error messages ("string", "list", ...). */
const char *hcl_type_name(enum hcl_type);

#endif /* COFFER_UTIL_HCL_H */
