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
/*
 * GET path with the read rules, as request; no secret at all is an
 * error too: "No value found at <path>" (2).
 */
int	 request_read(struct cli *, struct client **cp, const char *path,
	    json_t *query, json_t **secret, const char *what, ...)
	    __attribute__((format(printf, 6, 7)));
/*
 * list and kv list: LIST path ("Error listing <path>"), then its keys
 * as fmt_list shows them.  No secret is "{}" (other than table) or
 * "No value found at <path>", keys that are not a list "No entries
 * found at <path>", both exit 2.  bare: a secret without data is shown
 * as it came.  0 or the exit status.
 */
int	 request_list(struct cli *, struct client **cp, const char *path,
	    int bare);
/*
 * A status read: GET path, *data its data object ({} when it has
 * none; owned).  0, or 2 with "<what>: <error>" shown.
 */
int	 request_data(struct cli *, struct client **cp, const char *path,
	    json_t **data, const char *what);

#endif /* COFFER_CLI_REQUEST_H */
