/*
 * fuzz_router.c -- libFuzzer target for the mount table's matching
 * (core/router.c): mounts are refused when they nest, and a path
 * reaches the one mount that is its prefix ("secret/" also reaches
 * "secret"), or none.
 *
 * The input is lines: every line but the last is a mount path, the last
 * one the path looked up.  The answer is checked against a plain scan.
 * (The second rule is for "x/" alone: a path is never one byte short of
 * a mount that does not end in '/'.)
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "router.h"

#include "fuzz_driver.h"

#define MAX_MOUNTS	32

static const struct backend_ops fuzz_ops = {
	.type = "fuzz",
};

/* 1 if mount path mp serves path p, as the router defines it. */
static int
serves(const char *mp, const char *p)
{
	size_t	 ml = strlen(mp), pl = strlen(p);

	return strncmp(mp, p, ml) == 0 ||
	    (pl + 1 == ml && mp[pl] == '/' && strncmp(mp, p, pl) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char		*text, *line, *next, *paths[MAX_MOUNTS];
	char		 why[256];
	struct mount	*m, *got;
	size_t		 n = 0, i, best = 0, bestlen = 0;
	int		 found = 0;

	if (size > 4096 || (text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	for (line = text; (next = strchr(line, '\n')) != NULL &&
	    n < MAX_MOUNTS; line = next + 1) {
		*next = '\0';
		/* sys/mounts refuses an empty path before it gets here. */
		if (*line == '\0')
			continue;
		if ((m = router_mount_new(line, &fuzz_ops)) == NULL)
			abort();
		if (router_mount(m, why, sizeof(why)) == 0)
			paths[n++] = line;
		else
			mount_free(m);
	}
	/* No two accepted mounts nest. */
	for (i = 0; i < n; i++) {
		size_t j;

		for (j = i + 1; j < n; j++)
			if (strncmp(paths[i], paths[j], strlen(paths[i])) ==
			    0 || strncmp(paths[j], paths[i],
			    strlen(paths[j])) == 0)
				abort();
	}
	for (i = 0; i < n; i++)
		if (serves(paths[i], line) && strlen(paths[i]) >= bestlen) {
			best = i;
			bestlen = strlen(paths[i]);
			found = 1;
		}
	got = router_mount_get(line);
	if ((got != NULL) != found ||
	    (got != NULL && strcmp(got->path, paths[best]) != 0))
		abort();
	router_mount_unref(got);
	router_clear();
	free(text);
	return 0;
}
