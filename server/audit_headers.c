/*
 * audit_headers.c -- the request headers audit entries carry.
 *
 * sys/config/auditing/request-headers (root-protected, as Vault) names
 * the headers to copy into both entries of a request, each optionally
 * HMAC'd per device.  The configuration is stored behind the barrier
 * at AUDIT_HEADERS_KEY as {"<lower-cased name>": {"hmac": bool}}, read
 * when this node becomes active and forgotten when it stops being.
 *
 * Threads: the in-memory copy is under cfg_lock (LOCK_TABLE, taken
 * under the core read lock by requests); changes are serialised by
 * chg_mu (LOCK_CHANGE) and stored before they are published.  ncfg_seen lets every
 * request see "none configured" with one atomic load.
 */
#include "config.h"

#include <ctype.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "audit_headers.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "req.h"
#include "strutil.h"
#include "sys.h"

#define AUDIT_HEADERS_KEY	"core/audited-headers"
#define AUDIT_HEADERS_MAX	64
#define ROUTE			"config/auditing/request-headers"
#define UNSUPPORTED	"1 error occurred:\n\t* unsupported operation\n\n"

struct cfg {
	char	 name[AUDIT_HEADER_NAME_MAX];	/* lower-cased */
	int	 hmac;
};

static pthread_rwlock_t	 cfg_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t	 chg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct cfg	 cfg[AUDIT_HEADERS_MAX];
static size_t		 ncfg;
static atomic_size_t	 ncfg_seen;

static void
rdlock(void)
{
	lock_read(&cfg_lock, LOCK_TABLE);
}

static void
wrlock(void)
{
	lock_write(&cfg_lock, LOCK_TABLE);
}

static void
unlock(void)
{
	unlock_rw(&cfg_lock);
}

static void
lower(char *s)
{
	strutil_lower(s);
}

void
audit_headers_pick(const struct request *req, struct audit_hdrs *out)
{
	size_t	 i, k;

	out->n = 0;
	if (atomic_load(&ncfg_seen) == 0)
		return;
	rdlock();
	for (i = 0; i < (size_t)req->nheaders && out->n < REQ_HEADERS_MAX; i++)
		for (k = 0; k < ncfg; k++) {
			if (strcasecmp(req->headers[i].name, cfg[k].name) != 0)
				continue;
			strlcpy(out->h[out->n].name, cfg[k].name,
			    sizeof(out->h[out->n].name));
			out->h[out->n].value = req->headers[i].value;
			out->h[out->n].hmac = cfg[k].hmac;
			out->n++;
			break;
		}
	unlock();
}

/* Replace the in-memory copy (write lock held by the caller). */
static void
publish(const struct cfg *c, size_t n)
{
	if (n > 0)
		memcpy(cfg, c, n * sizeof(*c));
	ncfg = n;
	atomic_store(&ncfg_seen, n);
}

/* The stored form of c[0..n). */
static json_t *
stored(const struct cfg *c, size_t n)
{
	json_t	*o;
	size_t	 i;

	if ((o = json_object()) == NULL)
		return NULL;
	for (i = 0; i < n; i++)
		if (json_object_set_new(o, c[i].name, json_pack("{s:b}",
		    "hmac", c[i].hmac)) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

/*
 * Set (hmac >= 0) or remove (hmac < 0) the lower-cased name: stored,
 * then published.
 */
static int
change(const char *name, int hmac)
{
	struct cfg	 next[AUDIT_HEADERS_MAX];
	json_t		*o;
	size_t		 n, i;
	int		 rc;

	lock_mutex(&chg_mu, LOCK_CHANGE);
	rdlock();
	n = ncfg;
	if (n > 0)
		memcpy(next, cfg, n * sizeof(*cfg));
	unlock();
	for (i = 0; i < n && strcmp(next[i].name, name) != 0; i++)
		;
	rc = CF_OK;
	if (hmac < 0 && i < n)
		next[i] = next[--n];
	else if (hmac >= 0 && i < n)
		next[i].hmac = hmac;
	else if (hmac >= 0 && n == AUDIT_HEADERS_MAX)
		rc = CF_ETOOBIG;
	else if (hmac >= 0) {
		strlcpy(next[n].name, name, sizeof(next[n].name));
		next[n++].hmac = hmac;
	}
	if (rc == CF_OK) {
		if ((o = stored(next, n)) == NULL)
			rc = CF_ENOMEM;
		else {
			rc = n == 0 ? core_del(AUDIT_HEADERS_KEY) :
			    core_put_json(AUDIT_HEADERS_KEY, o);
			if (rc == CF_ENOTFOUND)
				rc = CF_OK;
			json_decref(o);
		}
	}
	if (rc == CF_OK) {
		wrlock();
		publish(next, n);
		unlock();
	}
	unlock_mutex(&chg_mu);
	return rc;
}

/* GET request-headers: {"headers": {name: {"hmac": bool}}}. */
static int
list_headers(struct response *resp)
{
	json_t	*h, *o;
	size_t	 i;

	if ((h = json_object()) == NULL)
		return CF_ENOMEM;
	rdlock();
	for (i = 0; i < ncfg; i++)
		if (json_object_set_new(h, cfg[i].name, json_pack("{s:b}",
		    "hmac", cfg[i].hmac)) != 0)
			break;
	unlock();
	if (i < ncfg || (o = json_pack("{s:o}", "headers", h)) == NULL) {
		json_decref(h);
		return CF_ENOMEM;
	}
	resp->inject = 1;
	return resp_data(resp, o);
}

/* GET request-headers/<name>: the name as asked, matched ignoring case. */
static int
read_header(struct response *resp, const char *asked, const char *name)
{
	size_t	 i;
	int	 found = 0, hmac = 0;

	rdlock();
	for (i = 0; i < ncfg && !found; i++)
		if (strcmp(cfg[i].name, name) == 0) {
			found = 1;
			hmac = cfg[i].hmac;
		}
	unlock();
	if (!found)
		return resp_fail(resp, CF_EINVAL,
		    "Could not find header in config");
	resp->inject = 1;
	return resp_data(resp, json_pack("{s:{s:b}}", asked, "hmac", hmac));
}

static int
sys_request_headers(struct request *req, struct response *resp)
{
	const char	*rest = req->rel + strlen(ROUTE), *asked;
	char		 name[AUDIT_HEADER_NAME_MAX];
	int		 hmac = 0, rc;

	if (*rest == '\0' || strcmp(rest, "/") == 0) {
		if (req->op != REQ_READ)
			return resp_fail(resp, CF_EMETHOD, UNSUPPORTED);
		return list_headers(resp);
	}
	if (*rest != '/')
		return CF_ENOTFOUND;
	asked = rest + 1;
	if (strlen(asked) >= sizeof(name))
		return resp_fail(resp, CF_EINVAL, "header name is longer than "
		    "%d bytes", AUDIT_HEADER_NAME_MAX - 1);
	strlcpy(name, asked, sizeof(name));
	lower(name);
	switch (req->op) {
	case REQ_READ:
		return read_header(resp, asked, name);
	case REQ_CREATE:
	case REQ_UPDATE:
		if ((rc = req_bool(req, resp, "hmac", &hmac, NULL)) != CF_OK)
			return rc;
		if ((rc = change(name, hmac)) == CF_ETOOBIG)
			return resp_fail(resp, CF_EINVAL, "at most %d headers "
			    "can be audited", AUDIT_HEADERS_MAX);
		return rc;
	case REQ_DELETE:
		return change(name, -1);
	default:
		return resp_fail(resp, CF_EMETHOD, UNSUPPORTED);
	}
}

/* Core hook (active): read the stored configuration. */
static int
load(void)
{
	struct cfg	 next[AUDIT_HEADERS_MAX];
	const char	*k;
	json_t		*o = NULL, *v;
	size_t		 n = 0;
	int		 rc;

	if ((rc = core_get_json(AUDIT_HEADERS_KEY, &o)) == CF_ENOTFOUND)
		rc = CF_OK;
	else if (rc == CF_OK && json_is_object(o))
		json_object_foreach(o, k, v) {
			if (n == AUDIT_HEADERS_MAX ||
			    strlen(k) >= sizeof(next[n].name))
				continue;
			strlcpy(next[n].name, k, sizeof(next[n].name));
			lower(next[n].name);
			next[n++].hmac = json_is_true(json_object_get(v,
			    "hmac"));
		}
	json_decref(o);
	wrlock();
	publish(next, n);
	unlock();
	return rc;
}

/* Core hook (standby, seal): forget it. */
static int
unload(void)
{
	wrlock();
	publish(NULL, 0);
	unlock();
	return CF_OK;
}

void
audit_headers_register(void)
{
	sys_route(ROUTE, 1, sys_request_headers);
	core_on_active(load);
	core_on_standby(unload);
}
