/*
 * http_reply.h -- writing an answer as Vault does (see http_reply.c),
 * for http.c's handler.
 */
#ifndef COFFER_SERVER_HTTP_REPLY_H
#define COFFER_SERVER_HTTP_REPLY_H

struct mg_connection;
struct request;
struct response;

/* A new request on this worker: its connection may stay open. */
void		 http_reply_start(void);
/* Close the connection after this answer (and say so in its head). */
void		 http_close_after(struct mg_connection *);
/*
 * Write the answer to req: resp, or the error err (a cf_err) in Vault's
 * envelope.  The status written.
 */
int		 http_reply(struct mg_connection *, const struct request *,
		    int err, struct response *);
/* "Not Found" for 404: the reason phrase of a status. */
const char	*http_reason_phrase(int status);

#endif /* COFFER_SERVER_HTTP_REPLY_H */
