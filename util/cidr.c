/*
 * cidr.c -- IPv4 and IPv6 addresses and CIDR blocks (see cidr.h).
 *
 * inet_pton() does the address syntax; the prefix length is read here
 * with strtonum, digits only, as Go refuses signs and spaces.  An IPv4
 * address in IPv6 form (::ffff:a.b.c.d) is taken as the IPv4 address,
 * the way Go's net.IP compares the two.
 */
#include "config.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cidr.h"
#include "err.h"

static const unsigned char v4mapped[12] = {
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff
};

int
cidr_ip(const char *s, unsigned char addr[16])
{
	unsigned char	 a6[16];

	memset(addr, 0, 16);
	if (s == NULL)
		return 0;
	if (inet_pton(AF_INET, s, addr) == 1)
		return 4;
	if (inet_pton(AF_INET6, s, a6) == 1) {
		if (memcmp(a6, v4mapped, sizeof(v4mapped)) == 0) {
			memcpy(addr, a6 + 12, 4);
			return 4;
		}
		memcpy(addr, a6, 16);
		return 6;
	}
	return 0;
}

/* Address and "/n" into out; host is set when there was no "/". */
static int
parse_block(const char *s, int bare_ok, struct cidr *out)
{
	char		 a[INET6_ADDRSTRLEN + 8];
	const char	*slash, *p, *errstr;
	long long	 n;
	size_t		 len;

	memset(out, 0, sizeof(*out));
	if (s == NULL)
		return CF_EINVAL;
	slash = strchr(s, '/');
	len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	if (len == 0 || len >= sizeof(a))
		return CF_EINVAL;
	memcpy(a, s, len);
	a[len] = '\0';
	/* Go's ParseCIDR reads the IPv6 text as is: no v4-in-v6 folding. */
	if (inet_pton(AF_INET, a, out->addr) == 1)
		out->family = 4;
	else if (inet_pton(AF_INET6, a, out->addr) == 1)
		out->family = 6;
	else
		return CF_EINVAL;
	if (slash == NULL) {
		if (!bare_ok)
			return CF_EINVAL;
		out->bits = out->family == 4 ? 32 : 128;
		out->host = 1;
		return CF_OK;
	}
	p = slash + 1;
	if (*p == '\0' || strlen(p) > 3 || strspn(p, "0123456789") !=
	    strlen(p))
		return CF_EINVAL;
	n = strtonum(p, 0, out->family == 4 ? 32 : 128, &errstr);
	if (errstr != NULL)
		return CF_EINVAL;
	out->bits = (int)n;
	return CF_OK;
}

int
cidr_parse_cidr(const char *s, struct cidr *out, char *why, size_t whylen)
{
	if (parse_block(s, 0, out) == CF_OK)
		return CF_OK;
	if (why != NULL)
		snprintf(why, whylen, "invalid CIDR address: %s",
		    s != NULL ? s : "");
	return CF_EINVAL;
}

int
cidr_parse(const char *s, struct cidr *out, char *why, size_t whylen)
{
	if (parse_block(s, 1, out) == CF_OK)
		return CF_OK;
	memset(out, 0, sizeof(*out));
	if (s != NULL && strlen(s) > 1 && (s[0] == '.' || s[0] == '/' ||
	    strchr(s, '/') != NULL))
		return CF_OK;		/* a unix socket: matches nothing */
	if (why != NULL)
		snprintf(why, whylen, "Unable to convert %s to an IPv4 or IPv6 "
		    "address, or a UNIX Socket", s != NULL ? s : "");
	return CF_EINVAL;
}

/* The first bits of a and b agree. */
static int
prefix_equal(const unsigned char *a, const unsigned char *b, int bits)
{
	int	 full = bits / 8, rest = bits % 8;
	unsigned char mask;

	if (full > 0 && memcmp(a, b, (size_t)full) != 0)
		return 0;
	if (rest == 0)
		return 1;
	mask = (unsigned char)(0xff << (8 - rest));
	return (a[full] & mask) == (b[full] & mask);
}

/* The block's address in the form cidr_ip gives: 4 for mapped ones. */
static int
block_key(const struct cidr *c, unsigned char out[16], int *bits)
{
	memset(out, 0, 16);
	*bits = c->bits;
	if (c->family == 6 && memcmp(c->addr, v4mapped,
	    sizeof(v4mapped)) == 0 && c->bits >= 96) {
		memcpy(out, c->addr + 12, 4);
		*bits = c->bits - 96;
		return 4;
	}
	memcpy(out, c->addr, c->family == 4 ? 4 : 16);
	return c->family;
}

int
cidr_contains(const struct cidr *c, const char *ip)
{
	unsigned char	 a[16], k[16];
	int		 fam, kfam, bits;

	if (c == NULL || c->family == 0 || (fam = cidr_ip(ip, a)) == 0)
		return 0;
	kfam = block_key(c, k, &bits);
	return fam == kfam && prefix_equal(a, k, bits);
}

int
cidr_within(const struct cidr *outer, const struct cidr *inner)
{
	unsigned char	 o[16], i[16];
	int		 of, inf, ob, ib;

	if (outer == NULL || inner == NULL || outer->family == 0 ||
	    inner->family == 0)
		return 0;
	of = block_key(outer, o, &ob);
	inf = block_key(inner, i, &ib);
	return of == inf && ib >= ob && prefix_equal(o, i, ob);
}

void
cidr_format(const struct cidr *c, char *out, size_t outlen)
{
	char	 a[INET6_ADDRSTRLEN];

	if (c->family != 4 && c->family != 6) {
		snprintf(out, outlen, "%s", "");
		return;
	}
	if (inet_ntop(c->family == 4 ? AF_INET : AF_INET6, c->addr, a,
	    sizeof(a)) == NULL)
		a[0] = '\0';
	/* go-sockaddr writes a full-length prefix as the bare address. */
	if (c->host || c->bits == (c->family == 4 ? 32 : 128))
		snprintf(out, outlen, "%s", a);
	else
		snprintf(out, outlen, "%s/%d", a, c->bits);
}
