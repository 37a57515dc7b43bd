/*
 * cidr.h -- IPv4 and IPv6 addresses and CIDR blocks, as Vault reads them.
 *
 * A leaf helper (util/) for the client-address rules: the listener's
 * X-Forwarded-For trust list, token bound_cidrs and AppRole's CIDR
 * lists.  Two readers, because Vault has two: cidr_parse_cidr() takes
 * CIDR notation only (Go's net.ParseCIDR: "10.0.0.5/32", never
 * "10.0.0.5"), cidr_parse() also takes a bare address as a single host
 * (go-sockaddr).  A block keeps the address as written, so it prints
 * back as given; matching masks both sides.  No allocation, no state:
 * thread-safe.
 */
#ifndef COFFER_UTIL_CIDR_H
#define COFFER_UTIL_CIDR_H

#include <stddef.h>

#define CIDR_TEXT_MAX	64	/* the longest text cidr_format writes */

struct cidr {
	int		 family;	/* 4, 6, or 0: a unix socket path */
	unsigned char	 addr[16];	/* 4 or 16 bytes used */
	int		 bits;		/* prefix length */
	int		 host;		/* 1: written without "/n" */
};

/*
 * A block in CIDR notation only.  CF_OK, or CF_EINVAL with why set to
 * Go's text, "invalid CIDR address: <s>" (why may be NULL).
 */
int	 cidr_parse_cidr(const char *s, struct cidr *out, char *why,
	    size_t whylen);
/*
 * A block or a bare address (a single host); as go-sockaddr, a text that
 * is neither but looks like a path ('.' or '/' first, or a '/' inside)
 * is a unix socket entry, which no address matches.  CF_OK, or
 * CF_EINVAL with why set to the reason Vault gives.
 */
int	 cidr_parse(const char *s, struct cidr *out, char *why, size_t whylen);
/* Parse a bare IPv4 or IPv6 address (no brackets, no port): 4, 6 or 0. */
int	 cidr_ip(const char *s, unsigned char addr[16]);
/* 1 if the address text ip lies inside block c; a non-IP never does. */
int	 cidr_contains(const struct cidr *c, const char *ip);
/*
 * 1 if block inner lies inside block outer (same family, prefix at
 * least as long, network inside); as Vault's subset check.
 */
int	 cidr_within(const struct cidr *outer, const struct cidr *inner);
/*
 * Print a block as Vault echoes it: "10.0.0.0/8", or a single host
 * (a bare address, or a full-length prefix) as "192.0.2.10".  A unix
 * socket entry prints as "".  out holds CIDR_TEXT_MAX bytes.
 */
void	 cidr_format(const struct cidr *c, char *out, size_t outlen);

#endif /* COFFER_UTIL_CIDR_H */
