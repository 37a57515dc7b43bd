/*
 * keyshares.c -- collecting and submitting the unseal keys of a
 * quorum operation (operator generate-root, operator rekey).
 *
 * As a coffer extension, "-" may carry several keys, one a line,
 * submitted in turn until the operation completes (one line is
 * vault's behaviour).
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "keyshares.h"
#include "prompt.h"
#include "util.h"

/*
 * The keys into in.  With arg set ("-" reads stdin, one key a line)
 * the nonce is the -nonce flag's value; without, "<label>: <nonce of
 * st>" is printed and one key is asked for with prompt.  0 with *nonce
 * borrowed (from the flag or st), or 1 with the error shown.
 */
static int
keyshares_read(const char *arg, const char *flagnonce, json_t *st,
    const char *label, const char *prompt, struct sbuf *in,
    const char **nonce)
{
	const char	*why;
	char		*key = NULL;

	if (arg != NULL) {
		if (flagnonce == NULL || *flagnonce == '\0') {
			cli_error("Missing nonce value: specify it via the "
			    "-nonce flag");
			return 1;
		}
		*nonce = flagnonce;
		if (strcmp(arg, "-") != 0) {
			sbuf_puts(in, arg);
			return 0;
		}
		if (read_all_fd(STDIN_FILENO, in) == -1) {
			cli_error("Failed to read from stdin: %s",
			    strerror(errno));
			return 1;
		}
		return 0;
	}
	*nonce = fmt_jstr(st, "nonce");
	printf("%s: %s\n", label, *nonce);
	fflush(stdout);
	if (prompt_hidden(stdout, prompt, &key, &why) == -1) {
		cli_para(stderr, "An error occurred attempting to ask for the "
		    "unseal key. The raw error message is shown below, but "
		    "usually this is because you attempted to pipe a value "
		    "into the command or you are executing outside of a "
		    "terminal (tty). If you want to pipe the value, pass "
		    "\"-\" as the argument to read from stdin. The raw error "
		    "was:");
		cli_error("\n%s", why);
		return 1;
	}
	sbuf_puts(in, key);
	wipefree(key);
	return 0;
}

/*
 * PUT {key, nonce} to path for each non-blank line of in until the
 * answer says complete; *s is the last answer (owned).  0, 2 when a
 * request failed or 1 when in held no key (the error shown).
 */
static int
keyshares_post(struct client *c, const char *path, const char *nonce,
    struct sbuf *in, json_t **s)
{
	json_t		*body = NULL;
	char		*err = NULL, *line, *save = NULL;
	int		 rc = 1;

	line = in->p != NULL ? strtok_r(in->p, "\n", &save) : NULL;
	for (; line != NULL; line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0')
			continue;
		json_decref(body);
		json_decref(*s);
		*s = NULL;
		body = json_pack("{s:s,s:s}", "key", line, "nonce", nonce);
		if (client_logical(c, "PUT", path, NULL, body, 0, s,
		    &err) == -1) {
			cli_error("Error posting unseal key: %s", err);
			rc = 2;
			goto out;
		}
		rc = 0;
		if (json_is_true(json_object_get(json_object_get(*s, "data"),
		    "complete")))
			break;
	}
	if (rc == 1)
		cli_error("Error posting unseal key: no unseal key given");
 out:
	json_decref(body);
	wipefree(err);
	return rc;
}

int
keyshares_submit(struct client *c, const char *arg, const char *flagnonce,
    json_t *st, const char *label, const char *prompt, const char *path,
    json_t **s)
{
	struct sbuf	 in = { 0 };
	const char	*nonce;
	int		 rc;

	if ((rc = keyshares_read(arg, flagnonce, st, label, prompt, &in,
	    &nonce)) == 0)
		rc = keyshares_post(c, path, nonce, &in, s);
	sbuf_free(&in);
	return rc;
}
