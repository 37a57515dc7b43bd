/*
 * conf_listener.h -- the listener "tcp" blocks of the cofferd
 * configuration (cofferd.hcl(5)): each parsed and checked as its file is
 * walked, then all of them checked together by conf_finish().  Included
 * by conf.h, whose struct conf holds the array.
 */
#ifndef COFFER_SERVER_CONF_LISTENER_H
#define COFFER_SERVER_CONF_LISTENER_H

#include <stddef.h>

struct buf;
struct cidr;
struct conf_walk;
struct hcl_node;

#define CONF_DEFAULT_MAX_REQUEST	(32LL * 1024 * 1024)
#define CONF_MAX_LISTENERS		16	/* as server/http.c serves */

struct conf_listener {
	char		*address;		/* default 127.0.0.1:8200 */
	int		 tls_disable;
	char		*tls_cert_file;
	char		*tls_key_file;
	long long	 max_request_size;	/* bytes; LLONG_MAX: none */
	int		 unauth_metrics;	/* telemetry block's key */
	/* When X-Forwarded-For is trusted (cofferd.hcl(5)). */
	struct cidr	*xff_addrs;		/* owned; NULL: never */
	size_t		 nxff_addrs;
	int		 xff_hop_skips;
	int		 xff_reject_not_authorized;
	int		 xff_reject_not_present;
	int		 line;
	char		*where;			/* "FILE:LINE" of the block */
};

/*
 * Append the listener blocks of blk to the array *ls of *nls, each with
 * its defaults; every error goes to w.  The array is the caller's.
 */
void	 conf_listener_walk(struct conf_walk *w, struct conf_listener **ls,
	    size_t *nls, const struct hcl_node *blk);
/* Free what l owns, not l itself. */
void	 conf_listener_free(struct conf_listener *l);
/*
 * The listeners of the merged configuration: at most CONF_MAX_LISTENERS,
 * no address twice, one TLS certificate and key, TLS files that open.
 * Reads the file system; CF_EINVAL with "FILE:LINE: message\n" lines in
 * errs.
 */
int	 conf_listener_check(const struct conf_listener *ls, size_t n,
	    struct buf *errs) __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_CONF_LISTENER_H */
