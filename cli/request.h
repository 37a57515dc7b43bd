/*
 * request.h -- a command's request as every command sends it: the
 * client built on first use, the answer kept, and on failure the
 * command's own words before the server's error.
 */
#ifndef COFFER_CLI_REQUEST_H
#define COFFER_CLI_REQUEST_H

#include <jansson.h>

#include "cli.h"

/*
 * Build *cp unless it is set (cli_client; its failure is shown), then
 * client_logical (see client.h for query, body, read and *secret).
 * 0, or 2 with "<what>: <error>" on stderr; a write's 404 may leave
 * its answer in *secret.  The same *cp serves later requests; the
 * caller frees it.
 */
int	 request(struct cli *, struct client **cp, const char *method,
	    const char *path, json_t *query, json_t *body, int read,
	    json_t **secret, const char *what, ...)
	    __attribute__((format(printf, 9, 10)));

#endif /* COFFER_CLI_REQUEST_H */
