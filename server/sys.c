/*
 * sys.c -- the sys/ mount, sys/health and sys/leader.
 *
 * The route table is filled once at startup and read-only afterwards,
 * so dispatch takes no lock.  The longest registered path that matches
 * wins, so "policies/acl" and "policies/acl/" can have distinct handlers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "ha_echo.h"
#include "ha_node.h"
#include "jsonutil.h"
#include "metrics.h"
#include "req.h"
#include "router.h"
#include "sys.h"
#include "timeutil.h"

#define SYS_MAX_ROUTES	96

struct sys_route {
	const char	*path;
	int		 prefix;
	router_fn	 fn;
};

static struct sys_route	 routes[SYS_MAX_ROUTES];
static size_t		 nroutes;

void
sys_route(const char *path, int prefix, router_fn fn)
{
	if (nroutes == SYS_MAX_ROUTES)
		CF_BUG("too many sys routes");
	routes[nroutes].path = path;
	routes[nroutes].prefix = prefix;
	routes[nroutes].fn = fn;
	nroutes++;
}

static int
sys_handle(struct mount *m, struct request *req, struct response *resp)
{
	const struct sys_route	*best = NULL;
	size_t			 i, len, blen = 0;
	const char		*rel = req->rel;

	(void)m;
	for (i = 0; i < nroutes; i++) {
		len = strlen(routes[i].path);
		if (strcmp(rel, routes[i].path) == 0 ||
		    (routes[i].prefix && strncmp(rel, routes[i].path, len) == 0 &&
		    rel[len] == '/')) {
			if (best == NULL || len > blen) {
				best = &routes[i];
				blen = len;
			}
		}
	}
	if (best == NULL)
		return resp_fail(resp, CF_ENOTFOUND,
		    "1 error occurred:\n\t* unsupported path\n\n");
	return best->fn(req, resp);
}

/*
 * Vault serves sys/internal/ui/mounts without a token (the handler
 * looks at one if given), and sys/metrics on a listener with
 * unauthenticated_metrics_access; every other sys/ path on this mount
 * needs one (the seal family and the other open ones are raw routes).
 */
static int
sys_is_unauthenticated(const struct mount *m, const char *rel, int op)
{
	(void)m;
	(void)op;
	return strcmp(rel, "internal/ui/mounts") == 0 ||
	    strncmp(rel, "internal/ui/mounts/", 19) == 0 ||
	    (strcmp(rel, "metrics") == 0 && metrics_unauth_here());
}

static const struct backend_ops system_ops = {
	.type = "system",
	.handle = sys_handle,
	.is_unauthenticated = sys_is_unauthenticated,
};

int
sys_mount(void)
{
	struct mount	*m;
	char		 why[128];
	int		 rc;

	if ((m = router_mount_new("sys/", &system_ops)) == NULL)
		return CF_ENOMEM;
	m->builtin = 1;
	free(m->description);
	if ((m->description = strdup("system endpoints used for control, "
	    "policy and debugging")) == NULL) {
		mount_free(m);
		return CF_ENOMEM;
	}
	if ((rc = router_mount(m, why, sizeof(why))) != CF_OK)
		mount_free(m);
	return rc;
}

/* A query flag as sys/health reads it; -1 on a bad value. */
static int
health_bool(struct request *req, const char *key)
{
	json_t		*v;
	const char	*s;

	if ((v = json_object_get(req->data, key)) == NULL || !json_is_string(v))
		return 0;
	s = json_string_value(v);
	if (*s == '\0' || strcmp(s, "0") == 0 || strcmp(s, "f") == 0 ||
	    strcmp(s, "F") == 0 || strcmp(s, "false") == 0 ||
	    strcmp(s, "FALSE") == 0 || strcmp(s, "False") == 0)
		return 0;
	if (strcmp(s, "1") == 0 || strcmp(s, "t") == 0 ||
	    strcmp(s, "T") == 0 || strcmp(s, "true") == 0 ||
	    strcmp(s, "TRUE") == 0 || strcmp(s, "True") == 0)
		return 1;
	return -1;
}

/* A status code parameter (100..999); -1 on a bad value. */
static int
health_code(struct request *req, const char *key, int def)
{
	json_t		*v;
	const char	*err;
	long long	 n;

	if ((v = json_object_get(req->data, key)) == NULL || !json_is_string(v))
		return def;
	n = strtonum(json_string_value(v), 100, 999, &err);
	return err != NULL ? -1 : (int)n;
}

/* What a probe asks of sys/health: its query parameters, or defaults. */
struct health_ask {
	int	 standbyok;
	int	 uninit, sealed, active, standby;	/* status codes */
};

/* Fill ask from req's query; -1 if a parameter has a bad value. */
static int
health_ask(struct request *req, struct health_ask *ask)
{
	ask->standbyok = 0;
	ask->uninit = 501;
	ask->sealed = 503;
	ask->active = 200;
	ask->standby = 429;
	/* Most probes ask with no parameters: no lookup then. */
	if (json_object_size(req->data) == 0)
		return 0;
	ask->standbyok = health_bool(req, "standbyok");
	ask->uninit = health_code(req, "uninitcode", ask->uninit);
	ask->sealed = health_code(req, "sealedcode", ask->sealed);
	ask->active = health_code(req, "activecode", ask->active);
	ask->standby = health_code(req, "standbycode", ask->standby);
	/* Vault checks these too, though coffer has no such modes. */
	if (ask->standbyok < 0 || health_bool(req, "perfstandbyok") < 0 ||
	    ask->uninit < 0 || ask->sealed < 0 || ask->active < 0 ||
	    ask->standby < 0 ||
	    health_code(req, "drsecondarycode", 472) < 0 ||
	    health_code(req, "performancestandbycode", 473) < 0)
		return -1;
	return 0;
}

/* Room for sys/health's body, cluster name and id included. */
#define HEALTH_BODY_MAX	512

static const char *
tf(int v)
{
	return v ? "true" : "false";
}

static int
sys_health(struct request *req, struct response *resp)
{
	struct health_ask ask;
	struct buf	*b;
	const char	*part[9];
	char		 name[128], id[64], now[24];
	size_t		 i;
	int		 st, code, standby, rc;

	if (req->op != REQ_READ && req->op != REQ_HEAD) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	if (health_ask(req, &ask) < 0) {
		resp->err_empty = 1;
		return CF_EINVAL;
	}
	/* Atomics only: a probe never waits behind a drain. */
	st = core_state();
	standby = st == CORE_UNSEALED && core_conf()->ha_enabled &&
	    !core_is_active();
	code = st == CORE_UNINITIALIZED ? ask.uninit :
	    st == CORE_SEALED ? ask.sealed :
	    standby && !ask.standbyok ? ask.standby : ask.active;
	/*
	 * Written as text: load balancers ask this many times a second,
	 * and building and freeing a jansson object cost more than the
	 * rest of the request.
	 */
	snprintf(now, sizeof(now), "%lld", (long long)time(NULL));
	part[0] = "{\"initialized\":";
	part[1] = tf(st != CORE_UNINITIALIZED);
	part[2] = ",\"sealed\":";
	part[3] = tf(st != CORE_UNSEALED);
	part[4] = ",\"standby\":";
	part[5] = tf(st != CORE_UNSEALED || standby);
	part[6] = ",\"performance_standby\":false,"
	    "\"replication_performance_mode\":\"disabled\","
	    "\"replication_dr_mode\":\"disabled\",\"server_time_utc\":";
	part[7] = now;
	part[8] = ",\"version\":\"" CORE_VAULT_VERSION "\"";
	b = &resp->text;
	if ((rc = buf_reserve(b, HEALTH_BODY_MAX)) != CF_OK)
		return rc;
	for (i = 0; i < sizeof(part) / sizeof(part[0]); i++)
		if ((rc = buf_puts(b, part[i])) != CF_OK)
			return rc;
	if (st == CORE_UNSEALED) {
		core_cluster(name, sizeof(name), id, sizeof(id));
		if ((rc = buf_puts(b, ",\"cluster_name\":")) != CF_OK ||
		    (rc = jsonutil_emit_str(name, strlen(name), b)) != CF_OK ||
		    (rc = buf_puts(b, ",\"cluster_id\":")) != CF_OK ||
		    (rc = jsonutil_emit_str(id, strlen(id), b)) != CF_OK)
			return rc;
	}
	if ((rc = buf_puts(b, "}")) != CF_OK)
		return rc;
	resp->raw = 1;
	resp->status = code;
	return CF_OK;
}

/*
 * From the role and the storage lock's holder record, without the core
 * lock.  HA and not unsealed: 503, as Vault.
 */
static int
sys_leader(struct request *req, struct response *resp)
{
	json_t		*o;
	char		 api[HA_ADDR_MAX], cluster[HA_ADDR_MAX], at[64];
	long long	 sec;
	long		 nsec;
	int		 ha = core_conf()->ha_enabled, self = 0;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	api[0] = cluster[0] = '\0';
	strlcpy(at, "0001-01-01T00:00:00Z", sizeof(at));
	if (ha) {
		if (core_state() != CORE_UNSEALED)
			return resp_fail(resp, CF_ESEALED, "Vault is sealed");
		core_active_time(&sec, &nsec);
		if ((self = core_is_active()) && sec != 0)
			time_format_rfc3339(at, sizeof(at), sec, nsec);
		if (ha_leader(api, sizeof(api), cluster, sizeof(cluster)) ==
		    CF_EIO)
			return CF_EIO;
	}
	o = json_pack("{s:b, s:b, s:s, s:s, s:s, s:b, s:i}",
	    "ha_enabled", ha,
	    "is_self", self,
	    "active_time", at,
	    "leader_address", api,
	    "leader_cluster_address", cluster,
	    "performance_standby", 0,
	    "performance_standby_last_remote_wal", 0);
	if (o == NULL)
		return CF_ENOMEM;
	resp->raw = 1;
	resp->data = o;
	return CF_OK;
}

/* Every node: this one, and the standbys that echo to it (ha.c). */
static int
sys_ha_status(struct request *req, struct response *resp)
{
	json_t	*arr, *o;
	int	 rc;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;
		return CF_EMETHOD;
	}
	if ((rc = ha_status(&arr)) != CF_OK)
		return rc;
	if ((o = json_pack("{s:o}", "nodes", arr)) == NULL)
		return CF_ENOMEM;
	resp->inject = 1;
	return resp_data(resp, o);
}

void
sys_dump(FILE *f)
{
	size_t	 i;

	for (i = 0; i < nroutes; i++)
		fprintf(f, "sys sys/%s%s\n", routes[i].path,
		    routes[i].prefix ? "/*" : "");
}

void
sys_register(void)
{
	sys_route("ha-status", 0, sys_ha_status);
	router_raw("sys/health", 0, sys_health);
	router_raw("sys/leader", 0, sys_leader);
	router_register(&system_ops);
}
