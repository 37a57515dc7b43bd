/*
 * paths.c -- the path tables of secrets engines and auth methods: the
 * matcher, the dispatch through it and the listing of every entry for
 * cofferd -list-routes (see paths.h for the pattern syntax).
 *
 * Tables hold tens of entries and paths a few segments, so each
 * request scans its table in order; a pattern is matched against a
 * private copy of the path, cut at '/' where a segment is captured.
 *
 * In core/, beside the router (tests/layers.py): util/ and core/
 * headers only.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "err.h"
#include "paths.h"
#include "req.h"

#define PATH_NAME_MAX	64	/* longest capture name */

/*
 * 1 if pattern matches rel; captures go to args (args->buf holds a
 * copy of rel, cut where segments were captured).
 */
static int
match_one(const struct path_table *t, const char *pattern, const char *rel,
    struct path_args *args)
{
	const char	*pp = pattern, *pe;
	char		*sp, *se, name[PATH_NAME_MAX];
	size_t		 plen, slen, len = strlen(rel), patlen = strlen(pattern);

	args->n = 0;
	if (len + 2 > sizeof(args->buf))
		return 0;
	memcpy(args->buf, rel, len + 1);
	/* "keys/" matches "keys" as well. */
	if (patlen > 0 && pattern[patlen - 1] == '/' &&
	    (len == 0 || rel[len - 1] != '/')) {
		args->buf[len] = '/';
		args->buf[len + 1] = '\0';
	}
	sp = args->buf;
	for (;;) {
		pe = strchr(pp, '/');
		plen = pe != NULL ? (size_t)(pe - pp) : strlen(pp);
		if (pe == NULL && plen == 1 && *pp == '*') {
			if (args->n == PATH_MAXARGS)
				return 0;
			args->v[args->n++] = sp;
			return 1;
		}
		se = strchr(sp, '/');
		slen = se != NULL ? (size_t)(se - sp) : strlen(sp);
		if (plen > 0 && *pp == ':') {
			if (args->n == PATH_MAXARGS || plen > sizeof(name))
				return 0;
			memcpy(name, pp + 1, plen - 1);
			name[plen - 1] = '\0';
			if (se != NULL)
				*se = '\0';
			if (t->capture_ok != NULL && !t->capture_ok(name, sp))
				return 0;
			args->v[args->n++] = sp;
		} else if (plen != slen || strncmp(pp, sp, plen) != 0)
			return 0;
		if (pe == NULL || se == NULL)
			return pe == NULL && se == NULL;
		pp = pe + 1;
		sp = se + 1;
	}
}

enum path_result
paths_match(const struct path_table *t, const char *rel, int op,
    const struct path_entry **entry, struct path_args *args)
{
	const struct path_entry	*e;
	enum path_result	 r = PATH_NOPATH;

	*entry = NULL;
	for (e = t->entries; e->pattern != NULL; e++) {
		if (!match_one(t, e->pattern, rel, args))
			continue;
		if (op >= 0 && op < 32 && (e->ops & PATH_OP(op)) != 0) {
			*entry = e;
			return PATH_MATCH;
		}
		r = PATH_NOOP;
	}
	args->n = 0;
	return r;
}

int
paths_fail(struct response *resp, enum path_result r)
{
	if (r == PATH_NOOP)
		return resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	return resp_fail(resp, CF_ENOTFOUND,
	    "1 error occurred:\n\t* unsupported path\n\n");
}

int
paths_route(const struct path_table *t, struct mount *m, struct request *req,
    struct response *resp, enum path_result *result)
{
	const struct path_entry	*e;
	struct path_args	 args;

	if ((*result = paths_match(t, req->rel, req->op, &e, &args)) !=
	    PATH_MATCH)
		return CF_OK;
	return e->fn(m, req, resp, &args);
}

int
paths_dispatch(const struct path_table *t, struct mount *m,
    struct request *req, struct response *resp)
{
	enum path_result	 r;
	int			 rc;

	rc = paths_route(t, m, req, resp, &r);
	if (r == PATH_MATCH)
		return rc;
	return t->miss != NULL ? t->miss(req, resp, r) : paths_fail(resp, r);
}

void
paths_dump(FILE *f, const char *kind, const char *type,
    const struct path_table *t)
{
	static const struct {
		int		 op;
		const char	*name;
	} names[] = {
		{ REQ_READ, "read" }, { REQ_CREATE, "create" },
		{ REQ_UPDATE, "update" }, { REQ_DELETE, "delete" },
		{ REQ_LIST, "list" }, { REQ_PATCH, "patch" },
	};
	const struct path_entry	*e, *o;
	size_t			 i;
	unsigned		 ops;
	const char		*sep;

	for (e = t->entries; e->pattern != NULL; e++) {
		/* A pattern's entries make one line, where it first is. */
		for (o = t->entries; o != e; o++)
			if (strcmp(o->pattern, e->pattern) == 0)
				break;
		if (o != e)
			continue;
		for (ops = 0, o = e; o->pattern != NULL; o++)
			if (strcmp(o->pattern, e->pattern) == 0)
				ops |= o->ops;
		fprintf(f, "%s %s %s %s ", kind, type,
		    t->variant != NULL ? t->variant : "-", e->pattern);
		sep = "";
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (ops & PATH_OP(names[i].op)) {
				fprintf(f, "%s%s", sep, names[i].name);
				sep = ",";
			}
		fputc('\n', f);
	}
}

int
paths_name_ok(const char *s, size_t len)
{
	size_t	 i;

	if (len == 0 || len > PATHS_NAME_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (isalnum((unsigned char)s[i]) || s[i] == '_')
			continue;
		if ((s[i] == '-' || s[i] == '.') && i > 0 && i < len - 1)
			continue;
		return 0;
	}
	return 1;
}
