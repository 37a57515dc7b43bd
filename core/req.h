/*
 * req.h -- one API request and its response, as handlers see them.
 *
 * http.c parses a civetweb request into a struct request once; the
 * router, the ACL check and a handler read it; the handler fills a
 * struct response, and http.c writes it with Vault's envelope.  Both
 * belong to the worker thread serving the request and die with it.
 * Handlers never see civetweb, which keeps them testable and lets a
 * standby forward a request unchanged.
 *
 * The helpers below read typed fields from the request data the way
 * Vault's field decoding does (numbers may come as strings, durations
 * as "1h30m" or seconds) and set a 400 message on a wrong type.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#ifndef COFFER_CORE_REQ_H
#define COFFER_CORE_REQ_H

#include <jansson.h>

#include "buf.h"

/* Operations, as the ACL sees them (Vault's logical operations). */
enum req_op {
	REQ_READ,
	REQ_CREATE,
	REQ_UPDATE,
	REQ_DELETE,
	REQ_LIST,
	REQ_PATCH,
	REQ_HEAD
};

#define REQ_ID_LEN	36		/* UUID text */

/*
 * Set by a standby on the request it forwards, so that the receiver
 * never forwards it again (a request crosses at most one hop).
 */
#define REQ_FORWARDED_HEADER	"X-Coffer-Forwarded"

#define REQ_HEADERS_MAX	64		/* civetweb keeps at most 64 */

/* One request header as sent; both strings live as long as the request. */
struct req_header {
	const char	*name;
	const char	*value;
};

struct auth_ctx;			/* token entry and policies (acl.h) */
struct mount;				/* router.h */

struct request {
	char		 id[REQ_ID_LEN + 1];
	int		 op;		/* enum req_op */
	const char	*method;	/* as sent: "GET", "PUT", "LIST", ... */
	char		*path;		/* after "/v1/", e.g. "secret/data/a" */
	const char	*rel;		/* path inside the mount (router) */
	struct mount	*mount;		/* matched mount (router) */
	char		*token;		/* NULL if none; wiped and freed by http */
	json_t		*data;		/* body object or query params; never NULL */
	struct buf	 body;		/* raw body bytes, wiped when freed */
	const char	*query;		/* raw query string or NULL */
	const char	*content_type;	/* or NULL */
	/*
	 * The client address: the TCP peer, or what X-Forwarded-For names
	 * when the listener trusts the peer for it (http.c, cofferd.hcl(5)).
	 * Not checked to be an IP when it came from the header; without
	 * brackets for IPv6.  Points into remote_buf or civetweb's request.
	 */
	const char	*remote_addr;
	int		 remote_port;
	char		 remote_buf[256];
	const char	*ns;		/* X-Vault-Namespace or NULL */
	struct auth_ctx	*auth;		/* set by the ACL check, or NULL */
	int		 data_json;	/* 1 if data came from a JSON body */
	int		 body_empty;	/* 1 if no body bytes were sent */
	int		 no_forward;	/* X-Vault-No-Request-Forwarding */
	int		 forwarded;	/* came from a standby (loop guard) */
	/* Every header as sent, for a standby to forward them unchanged. */
	struct req_header headers[REQ_HEADERS_MAX];
	int		 nheaders;
	/* Response wrapping (wrapping.h): the header, and once parsed. */
	const char	*wrap_hdr;	/* X-Vault-Wrap-TTL as sent, or NULL */
	long long	 wrap_ttl;	/* seconds; 0: do not wrap */
	int		 wrap_set;	/* 1: header given and parsed */
};

struct response {
	int		 status;	/* 0: 200, or 204 if nothing to send */
	int		 raw;		/* 1: write data alone, no envelope */
	struct buf	 text;		/* raw, no data: the body, as JSON text */
	int		 inject;	/* 1: copy data's keys to the top too */
	json_t		*data;		/* owned; object or NULL */
	json_t		*auth;		/* owned; the "auth" block or NULL */
	json_t		*warnings;	/* owned; array of strings or NULL */
	json_t		*wrap_info;	/* owned; or NULL */
	char		 lease_id[256];
	int		 renewable;
	long long	 lease_duration;
	char		 err[1024];	/* error text for the envelope */
	int		 err_empty;	/* 1: {"errors":[]} */
	int		 err_public;	/* 1: show err even on a 500 */
	int		 wipe;		/* 1: the body carries secrets */
	/*
	 * A standby's answer from the active node (ha.c): status, the
	 * headers as "Name: value" lines and the body, written as they
	 * came.  Both bufs are wiped by resp_fini.
	 */
	int		 relay;
	struct buf	 relay_headers;
	struct buf	 relay_body;
};

void	 resp_init(struct response *);
void	 resp_fini(struct response *);

/*
 * Set the error text and return err, so handlers can write
 * "return resp_fail(resp, CF_EINVAL, "missing %s", k);".
 */
int	 resp_fail(struct response *, int err, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* Add one warning string. */
int	 resp_warn(struct response *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* Take ownership of obj as data (NULL-safe; CF_ENOMEM on NULL). */
int	 resp_data(struct response *, json_t *);
/* Vault's 202 and warning for a tidy that has started. */
int	 resp_tidy_started(struct response *);

/*
 * Typed field readers.  Each returns CF_OK with *present set to 1 if the
 * field was given (present may be NULL), or CF_EINVAL with a 400 text
 * in resp when the value has the wrong type.  A JSON null is "absent".
 * Field names match case-sensitively.  Returned strings are borrowed
 * from req->data and live as long as the request.
 */
int	 req_str(struct request *, struct response *, const char *,
	    const char **, int *present);
/* Integers: a JSON integer, or a string of digits. */
int	 req_int(struct request *, struct response *, const char *,
	    long long *, int *present);
/* Booleans: true/false, or "true"/"false"/"1"/"0"/"t"/"f". */
int	 req_bool(struct request *, struct response *, const char *,
	    int *, int *present);
/*
 * Durations: integer seconds, or a string such as "90", "30m", "1h30m".
 * A negative value is refused with Vault's text, and so is one beyond
 * DURATION_MAX, so that *out plus any time of day cannot overflow.
 */
int	 req_duration(struct request *, struct response *, const char *,
	    long long *, int *present);
/*
 * String lists: a JSON array of strings, or one comma-separated string
 * (Vault's CommaStringSlice).  out is appended to; elements are trimmed
 * of spaces and empty ones dropped.
 */
int	 req_strlist(struct request *, struct response *, const char *,
	    struct strv *, int *present);

#endif /* COFFER_CORE_REQ_H */
