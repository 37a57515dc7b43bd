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
 * The keys into in.  With arg set ("-" reads stdin, one key a line)
 * the nonce is the -nonce flag's value; without, "<label>: <nonce of
 * st>" is printed and one key is asked for with prompt.  0 with *nonce
 * borrowed (from the flag or st), or 1 with the error shown.
 */
int	 keyshares_read(const char *arg, const char *flagnonce, json_t *st,
	    const char *label, const char *prompt, struct sbuf *in,
	    const char **nonce);
/*
 * PUT {key, nonce} to path for each non-blank line of in until the
 * answer says complete; *s is the last answer (owned).  0, 2 when a
 * request failed or 1 when in held no key (the error shown).
 */
int	 keyshares_post(struct client *, const char *path, const char *nonce,
	    struct sbuf *in, json_t **s);

#endif /* COFFER_CLI_KEYSHARES_H */
