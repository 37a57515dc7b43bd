/*
 * request.c -- one request of a command with its error message; see
 * request.h.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "request.h"
#include "util.h"

int
request(struct cli *cli, struct client **cp, const char *method,
    const char *path, json_t *query, json_t *body, int read,
    json_t **secret, const char *what, ...)
{
	va_list	 ap;
	char	*err = NULL, *w;
	int	 n;

	if (*cp == NULL && (*cp = cli_client(cli, 0)) == NULL)
		return 2;
	if (client_logical(*cp, method, path, query, body, read, secret,
	    &err) == 0)
		return 0;
	va_start(ap, what);
	n = vsnprintf(NULL, 0, what, ap);
	va_end(ap);
	w = xmalloc(n > 0 ? (size_t)n + 1 : 1);
	va_start(ap, what);
	(void)vsnprintf(w, n > 0 ? (size_t)n + 1 : 1, what, ap);
	va_end(ap);
	cli_error("%s: %s", w, err != NULL ? err : "");
	wipefree(w);
	wipefree(err);
	return 2;
}
