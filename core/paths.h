/*
 * paths.h -- the path tables of secrets engines and auth methods.
 *
 * A backend answers the paths inside its mount (req->rel) from a table
 * of { pattern, operations, handler } entries; the table is both its
 * dispatch and what cofferd -list-routes prints for cofferd(8), so the
 * two cannot drift.  Patterns are '/'-separated segments:
 *
 *   keys/            a literal; a pattern that ends in '/' also matches
 *                    the path without it ("keys" as "keys/": LIST paths
 *                    end in '/' and the other operations' do not)
 *   keys/:name       ":name" captures one segment (possibly empty),
 *                    which the table's capture check may refuse
 *   data/\*          as the last segment, "*" captures the rest of the
 *                    path, slashes and emptiness included
 *
 * Entries are tried in order: the first whose pattern matches the path
 * and whose operations include the request's wins, so a more specific
 * pattern goes before a more general one.  When patterns match but no
 * operation does, the path exists and the operation is the fault (405
 * in Vault); when none matches, the path is unsupported (404).  What a
 * backend answers to either is its own: paths_fail() gives Vault's
 * logical framework texts.
 *
 * In core/, beside the router (tests/layers.py).
 */
#ifndef COFFER_CORE_PATHS_H
#define COFFER_CORE_PATHS_H

#include <stddef.h>
#include <stdio.h>

struct mount;
struct request;
struct response;

#define PATH_MAXARGS	4
#define PATH_MAXLEN	1024	/* longer paths match nothing */

/* Operation masks, from enum req_op. */
#define PATH_OP(op)	(1u << (op))
#define PATH_READ	PATH_OP(REQ_READ)
#define PATH_WRITE	(PATH_OP(REQ_CREATE) | PATH_OP(REQ_UPDATE))
#define PATH_DELETE	PATH_OP(REQ_DELETE)
#define PATH_LIST	PATH_OP(REQ_LIST)
#define PATH_PATCH	PATH_OP(REQ_PATCH)

/* The captured segments, in pattern order, NUL-terminated. */
struct path_args {
	const char	*v[PATH_MAXARGS];
	size_t		 n;
	char		 buf[PATH_MAXLEN];
};

typedef int	(*path_fn)(struct mount *, struct request *,
		    struct response *, const struct path_args *);

struct path_entry {
	const char	*pattern;	/* NULL ends the table */
	unsigned	 ops;		/* PATH_READ | ... */
	path_fn		 fn;
};

enum path_result {
	PATH_MATCH,		/* *entry and args set */
	PATH_NOOP,		/* the path matched, no entry has the op */
	PATH_NOPATH		/* no pattern matched */
};

struct path_table {
	const char		*variant;	/* "v2", or NULL */
	const struct path_entry	*entries;
	/* 1 if value may fill capture name (":name"); NULL: any may. */
	int	(*capture_ok)(const char *name, const char *value);
	/*
	 * paths_dispatch's answer to a miss (r is PATH_NOOP or
	 * PATH_NOPATH); NULL: paths_fail.
	 */
	int	(*miss)(struct request *, struct response *,
		    enum path_result r);
};

/*
 * Match rel and op against t.  On PATH_MATCH, *entry is the entry and
 * args holds its captures.
 */
enum path_result paths_match(const struct path_table *t, const char *rel,
	    int op, const struct path_entry **entry, struct path_args *args);

/*
 * Match req->rel and req->op against t and call the entry's handler;
 * otherwise *result says why (PATH_NOOP or PATH_NOPATH) and nothing is
 * answered.  The handler's result is returned.
 */
int	 paths_route(const struct path_table *t, struct mount *,
	    struct request *, struct response *, enum path_result *result);

/*
 * paths_route, answering a miss with t->miss or, without one, as
 * Vault's framework does: 405 "unsupported operation" for PATH_NOOP,
 * 404 "unsupported path" for PATH_NOPATH.
 */
int	 paths_dispatch(const struct path_table *t, struct mount *,
	    struct request *, struct response *);

/* Vault's answer to a miss (r is PATH_NOOP or PATH_NOPATH). */
int	 paths_fail(struct response *, enum path_result r);

/*
 * 1 if s (len bytes) is a name as Vault's GenericNameRegex takes it,
 * \w(([\w-.]+)?\w)?, of at most PATHS_NAME_MAX bytes: role, user and
 * key names.
 */
#define PATHS_NAME_MAX	128
int	 paths_name_ok(const char *s, size_t len);

/*
 * One line per entry, "<kind> <type> <variant or -> <pattern> <ops>",
 * ops comma-separated (read,create,update,delete,list,patch).
 */
void	 paths_dump(FILE *, const char *kind, const char *type,
	    const struct path_table *t);

#endif /* COFFER_CORE_PATHS_H */
