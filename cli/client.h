/*
 * client.h -- HTTP to a Vault-compatible server, as vault's api package.
 *
 * Settings come from VAULT_* variables, then the global HTTP flags.
 * Every request carries X-Vault-Request; JSON bodies are sent with
 * Content-Type application/json (never libcurl's form type, which makes
 * the server form-decode a "null" body) and without Expect.  Answers
 * are read into vault's "secret" envelope.  Single-threaded.
 */
#ifndef COFFER_CLI_CLIENT_H
#define COFFER_CLI_CLIENT_H

#include <jansson.h>

#include "flags.h"

struct client;

/* The global HTTP flags, parsed with each command's own flags. */
struct httpflags {
	const char	*address;
	const char	*agent_address;
	const char	*ca_cert;
	const char	*ca_path;
	const char	*ca_bytes;	/* VAULT_CACERT_BYTES: PEM text */
	const char	*client_cert;
	const char	*client_key;
	const char	*tls_server_name;
	const char	*namespace;
	const char	*ns;
	int		 skip_verify;
	int		 disable_redirects;
	int64_t		 wrap_ttl;
	json_t		*headers;
	int		 output_curl;	/* print the request, do not send */
	int		 curl_printed;	/* out: the curl command was printed */
	struct flag	 set[16];
};

/* Fill defaults from the environment and the flag table. */
void	 httpflags_init(struct httpflags *);

/*
 * Build a client.  On failure prints the bare error ("failed to read
 * environment: ...") and returns NULL: the command exits 2.
 * notoken: send no token at all (login with a method other than token).
 */
struct client	*client_new(struct httpflags *, int notoken);
void		 client_free(struct client *);
/* The token in use, "" if none; borrowed. */
const char	*client_token(struct client *);
/* Replace the token (login -method=token checks a token it was given). */
void		 client_set_token(struct client *, const char *);
/* The server address as configured, for messages. */
const char	*client_addr(struct client *);

/*
 * One logical request.  method is the wire method; path is relative
 * to /v1/; query an object of string or array values, or NULL; body
 * the JSON to send (NULL sends no body; json_null() sends "null").
 * read: 404 follows the read rules (data or warnings are a secret,
 * else no secret and no error).
 *
 * Returns 0 on success with *secret the envelope (owned; NULL when the
 * answer held none), or -1 with *err the message (owned: the API
 * error block, or a transport error) and, for a 404 carrying data on
 * a write, *secret set as well.
 */
int	 client_logical(struct client *, const char *method, const char *path,
	    json_t *query, json_t *body, int read, json_t **secret,
	    char **err);

/*
 * With hf->output_curl set, the first request is not sent: its curl(1)
 * command is printed on stdout (token as $(vault print token)),
 * hf->curl_printed is set and the call fails, as does every later one.
 */

/* The same, giving the raw body and status (read -format=raw). */
int	 client_raw(struct client *, const char *method, const char *path,
	    json_t *query, json_t *body, long *status, char **rawbody,
	    char **err);

#endif /* COFFER_CLI_CLIENT_H */
