/*
 * audit_headers.h -- the request headers audit entries carry, as
 * sys/config/auditing/request-headers configures them (see
 * audit_headers.c).  None by default, as in Vault 1.14.
 */
#ifndef COFFER_SERVER_AUDIT_HEADERS_H
#define COFFER_SERVER_AUDIT_HEADERS_H

#include <stddef.h>

#include "req.h"

#define AUDIT_HEADER_NAME_MAX	128

/* One header of a request that the configuration names. */
struct audit_hdr {
	char		 name[AUDIT_HEADER_NAME_MAX];	/* lower-cased */
	const char	*value;		/* borrowed from the request */
	int		 hmac;		/* 1: each value hashed per device */
};

/* The configured headers a request carries, in its order. */
struct audit_hdrs {
	struct audit_hdr h[REQ_HEADERS_MAX];
	size_t		 n;
};

/*
 * Fill out with req's headers that the configuration names (matched
 * ignoring case).  One atomic load when none is configured.
 */
void	 audit_headers_pick(const struct request *req,
	    struct audit_hdrs *out);

/* The sys/config/auditing/request-headers routes and the core hooks. */
void	 audit_headers_register(void);

#endif /* COFFER_SERVER_AUDIT_HEADERS_H */
