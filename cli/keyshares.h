/*
 * keyshares.h -- the unseal keys a quorum command (generate-root,
 * rekey) collects: from its argument, from stdin or from a hidden
 * prompt, then sent one at a time with the operation's nonce.
 */
#ifndef COFFER_CLI_KEYSHARES_H
#define COFFER_CLI_KEYSHARES_H

#include <jansson.h>

#include "client.h"
#include "util.h"

/* The flags generate-root and rekey open with, in this order. */
#define KEYSHARES_FLAGS(format, init, cancel, status)			\
	{ "format", FLAG_STR, &(format), 0 },				\
	{ "init", FLAG_BOOL, &(init), 0 },				\
	{ "cancel", FLAG_BOOL, &(cancel), 0 },				\
	{ "status", FLAG_BOOL, &(status), 0 }

/*
 * Collect the keys and submit them to path.  With arg set ("-" reads
 * stdin, one key a line) the nonce is flagnonce, the -nonce flag's
 * value; without, "<label>: <nonce of st>" is printed and one key is
 * asked for with prompt.  Each non-blank line is PUT as {key, nonce}
 * until the answer says complete; *s is the last answer (owned).  0,
 * 2 when a request failed, or 1 when no key could be read or none was
 * given (the error shown).
 */
int	 keyshares_submit(struct client *, const char *arg,
	    const char *flagnonce, json_t *st, const char *label,
	    const char *prompt, const char *path, json_t **s);

#endif /* COFFER_CLI_KEYSHARES_H */
