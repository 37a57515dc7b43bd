/*
 * conf_listener.c -- the listener "tcp" blocks of the configuration:
 * parsed and checked one by one as a file is walked (keys, the address
 * civetweb can bind, X-Forwarded-For addresses, telemetry), and checked
 * together once every file is merged (conf_listener_check()).
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "cidr.h"
#include "conf_listener.h"
#include "conf_walk.h"
#include "err.h"
#include "hcl.h"

void
conf_listener_free(struct conf_listener *l)
{
	free(l->address);
	free(l->tls_cert_file);
	free(l->tls_key_file);
	free(l->xff_addrs);
	free(l->where);
}

/*
 * What civetweb 1.15 on Debian binds: [host:]port, the host an IPv4
 * address or a name, the port 0 to 65535.  It has no IPv6, and a comma
 * or a trailing "s" or "r" would open other ports than the one written.
 * NULL if addr is fine, else why not.
 */
static const char *
address_check(const char *addr)
{
	const char	*colon, *p, *errstr;
	char		 port[8];
	size_t		 hlen;
	int		 dots = 0, digits = 1;

	if (addr[0] == '[' || strchr(addr, ':') != strrchr(addr, ':'))
		return "IPv6 addresses are not supported";
	colon = strrchr(addr, ':');
	p = colon != NULL ? colon + 1 : addr;
	if (*p == '\0' || strlen(p) >= sizeof(port) ||
	    strspn(p, "0123456789") != strlen(p))
		return "the port must be a number from 0 to 65535";
	strlcpy(port, p, sizeof(port));
	(void)strtonum(port, 0, 65535, &errstr);
	if (errstr != NULL)
		return "the port must be a number from 0 to 65535";
	if (colon == NULL)
		return NULL;
	if ((hlen = (size_t)(colon - addr)) == 0)
		return "the host before the port is empty";
	for (p = addr; p < colon; p++) {
		if (*p == '.')
			dots++;
		else if (*p < '0' || *p > '9')
			digits = 0;
		if (!(*p == '.' || *p == '-' || (*p >= '0' && *p <= '9') ||
		    (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
			return "the host must be an IPv4 address or a name";
	}
	if (digits) {
		struct in_addr	 in;
		char		 host[16];

		if (hlen >= sizeof(host) || dots != 3)
			return "not an IPv4 address";
		memcpy(host, addr, hlen);
		host[hlen] = '\0';
		if (inet_pton(AF_INET, host, &in) != 1)
			return "not an IPv4 address";
	}
	return NULL;
}

/*
 * x_forwarded_for_authorized_addrs: a list of CIDR blocks or addresses,
 * or one comma-separated string of them, as Vault takes it.
 */
static void
get_xff_addrs(struct conf_walk *w, struct conf_listener *l,
    const struct hcl_node *k)
{
	const struct hcl_node	*e;
	struct cidr		*nc;
	char			*copy = NULL, *p, *tok, why[256];
	size_t			 n = 0;

	free(l->xff_addrs);
	l->xff_addrs = NULL;
	l->nxff_addrs = 0;
	if (k->type == HCL_STRING) {
		if ((copy = strdup(k->str)) == NULL) {
			conf_walk_error(w, k->line, "out of memory");
			return;
		}
		for (p = copy; (tok = strsep(&p, ",")) != NULL; )
			n++;
		free(copy);
		copy = NULL;
	} else if (k->type == HCL_LIST) {
		for (e = k->child; e != NULL; e = e->next)
			n++;
	} else {
		conf_walk_error(w, k->line, "%s must be a string or a list, "
		    "not a %s", k->key, hcl_type_name(k->type));
		return;
	}
	if (n == 0)
		return;
	if ((l->xff_addrs = calloc(n, sizeof(*l->xff_addrs))) == NULL) {
		conf_walk_error(w, k->line, "out of memory");
		return;
	}
	if (k->type == HCL_STRING) {
		if ((copy = strdup(k->str)) == NULL) {
			conf_walk_error(w, k->line, "out of memory");
			return;
		}
		for (p = copy; (tok = strsep(&p, ",")) != NULL; ) {
			tok += strspn(tok, " \t");
			tok[strcspn(tok, " \t")] = '\0';
			if (*tok == '\0')
				continue;
			nc = &l->xff_addrs[l->nxff_addrs];
			if (cidr_parse(tok, nc, why, sizeof(why)) != CF_OK ||
			    nc->family == 0) {
				conf_walk_error(w, k->line, "%s: error parsing "
				    "address \"%s\"", k->key, tok);
				break;
			}
			l->nxff_addrs++;
		}
		free(copy);
		return;
	}
	for (e = k->child; e != NULL; e = e->next) {
		nc = &l->xff_addrs[l->nxff_addrs];
		if (e->type != HCL_STRING || cidr_parse(e->str, nc, why,
		    sizeof(why)) != CF_OK || nc->family == 0) {
			conf_walk_error(w, e->line, "%s: error parsing address "
			    "\"%s\"", k->key, e->type == HCL_STRING ?
			    e->str : hcl_type_name(e->type));
			return;
		}
		l->nxff_addrs++;
	}
}

/* A listener's telemetry { unauthenticated_metrics_access = bool }. */
static void
walk_telemetry(struct conf_walk *w, struct conf_listener *l,
    const struct hcl_node *blk)
{
	const struct hcl_node	*k;

	if (blk->type != HCL_OBJECT) {
		conf_walk_error(w, blk->line, "telemetry must be a block");
		return;
	}
	for (k = blk->child; k != NULL; k = k->next)
		if (strcmp(k->key, "unauthenticated_metrics_access") == 0)
			(void)conf_walk_bool(w, k, &l->unauth_metrics);
		else
			conf_walk_error(w, k->line, "unknown key \"%s\" in "
			    "telemetry", k->key);
}

void
conf_listener_walk(struct conf_walk *w, struct conf_listener **ls,
    size_t *nls, const struct hcl_node *blk)
{
	const struct hcl_node	*b, *k;
	struct conf_listener	*nl, *l;
	const char		*why;
	long long		 n;

	if (blk->type != HCL_OBJECT || blk->child == NULL) {
		conf_walk_error(w, blk->line, "listener needs a type: "
		    "listener \"tcp\" { ... }");
		return;
	}
	for (b = blk->child; b != NULL; b = b->next) {
		if (strcmp(b->key, "tcp") != 0) {
			conf_walk_error(w, b->line, "unknown listener type "
			    "\"%s\" (tcp)", b->key);
			continue;
		}
		if (b->type != HCL_OBJECT) {
			conf_walk_error(w, b->line, "listener \"tcp\" must be "
			    "a block");
			continue;
		}
		if ((nl = reallocarray(*ls, *nls + 1, sizeof(*nl))) == NULL) {
			conf_walk_error(w, b->line, "out of memory");
			return;
		}
		*ls = nl;
		l = &(*ls)[(*nls)++];
		memset(l, 0, sizeof(*l));
		l->line = b->line;
		l->max_request_size = CONF_DEFAULT_MAX_REQUEST;
		for (k = b->child; k != NULL; k = k->next) {
			if (strcmp(k->key, "address") == 0)
				(void)conf_walk_string(w, k, &l->address);
			else if (strcmp(k->key, "tls_disable") == 0)
				(void)conf_walk_bool(w, k, &l->tls_disable);
			else if (strcmp(k->key, "tls_cert_file") == 0)
				(void)conf_walk_string(w, k, &l->tls_cert_file);
			else if (strcmp(k->key, "tls_key_file") == 0)
				(void)conf_walk_string(w, k, &l->tls_key_file);
			else if (strcmp(k->key, "max_request_size") == 0) {
				if (conf_walk_int(w, k, LLONG_MIN, LLONG_MAX,
				    &n) == 0) {
					/* Vault: 0 is the default, < 0 none. */
					l->max_request_size = n == 0 ?
					    CONF_DEFAULT_MAX_REQUEST :
					    n < 0 ? LLONG_MAX : n;
				}
			} else if (strcmp(k->key, "telemetry") == 0)
				walk_telemetry(w, l, k);
			else if (strcmp(k->key,
			    "x_forwarded_for_authorized_addrs") == 0)
				get_xff_addrs(w, l, k);
			else if (strcmp(k->key,
			    "x_forwarded_for_hop_skips") == 0) {
				if (conf_walk_int(w, k, 0, INT_MAX, &n) == 0)
					l->xff_hop_skips = (int)n;
			} else if (strcmp(k->key,
			    "x_forwarded_for_reject_not_authorized") == 0)
				(void)conf_walk_bool(w, k,
				    &l->xff_reject_not_authorized);
			else if (strcmp(k->key,
			    "x_forwarded_for_reject_not_present") == 0)
				(void)conf_walk_bool(w, k,
				    &l->xff_reject_not_present);
			else
				conf_walk_error(w, k->line, "unknown key "
				    "\"%s\" in listener \"tcp\"", k->key);
		}
		if (asprintf(&l->where, "%s:%d", w->file, b->line) == -1) {
			l->where = NULL;
			conf_walk_error(w, b->line, "out of memory");
		}
		if (l->address == NULL &&
		    (l->address = strdup("127.0.0.1:8200")) == NULL)
			conf_walk_error(w, b->line, "out of memory");
		if (l->address != NULL &&
		    (why = address_check(l->address)) != NULL)
			conf_walk_error(w, b->line, "address \"%s\": %s",
			    l->address, why);
		if (!l->tls_disable && (l->tls_cert_file == NULL ||
		    l->tls_key_file == NULL))
			conf_walk_error(w, b->line, "listener \"tcp\" needs "
			    "tls_cert_file and tls_key_file, or "
			    "tls_disable = true");
	}
}

/* A file start opens for reading: 0, or -1 with the reason in errs. */
static int
check_readable(struct buf *errs, const char *where, const char *key,
    const char *path)
{
	struct stat	 sb;
	int		 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
	    fstat(fd, &sb) == -1) {
		(void)!buf_printf(errs, "%s: %s \"%s\": %s\n", where, key,
		    path, strerror(errno));
		if (fd != -1)
			close(fd);
		return -1;
	}
	close(fd);
	if (!S_ISREG(sb.st_mode)) {
		(void)!buf_printf(errs, "%s: %s \"%s\": not a file\n", where,
		    key, path);
		return -1;
	}
	return 0;
}

/*
 * What conf_finish() checks of the listeners: how many, no address
 * twice, one TLS certificate and key, TLS files that open.
 */
int
conf_listener_check(const struct conf_listener *ls, size_t n,
    struct buf *errs)
{
	const struct conf_listener	*l, *o;
	const char			*tls_cert = NULL, *tls_key = NULL;
	size_t				 i, j;
	int				 rc = CF_OK;

	if (n > CONF_MAX_LISTENERS) {
		(void)!buf_printf(errs, "%s: at most %d listeners are "
		    "supported\n", ls[CONF_MAX_LISTENERS].where !=
		    NULL ? ls[CONF_MAX_LISTENERS].where :
		    "configuration", CONF_MAX_LISTENERS);
		rc = CF_EINVAL;
	}
	for (i = 0; i < n; i++) {
		l = &ls[i];
		/* Port 0 binds a new free port each time. */
		for (j = 0; j < i; j++) {
			o = &ls[j];
			if (strcmp(l->address, o->address) == 0 &&
			    strcmp(strrchr(l->address, ':') != NULL ?
			    strrchr(l->address, ':') + 1 : l->address,
			    "0") != 0) {
				(void)!buf_printf(errs, "%s: address \"%s\" "
				    "is already used at %s\n", l->where,
				    l->address, o->where);
				rc = CF_EINVAL;
				break;
			}
		}
		if (l->tls_disable || l->tls_cert_file == NULL ||
		    l->tls_key_file == NULL)
			continue;
		/* civetweb has one certificate for all its ports. */
		if (tls_cert != NULL && (strcmp(tls_cert, l->tls_cert_file) !=
		    0 || strcmp(tls_key, l->tls_key_file) != 0)) {
			(void)!buf_printf(errs, "%s: every TLS listener must "
			    "use the same tls_cert_file and tls_key_file\n",
			    l->where);
			rc = CF_EINVAL;
		}
		if (tls_cert == NULL) {
			tls_cert = l->tls_cert_file;
			tls_key = l->tls_key_file;
		}
		if (check_readable(errs, l->where, "tls_cert_file",
		    l->tls_cert_file) != 0)
			rc = CF_EINVAL;
		if (check_readable(errs, l->where, "tls_key_file",
		    l->tls_key_file) != 0)
			rc = CF_EINVAL;
	}
	return rc;
}
