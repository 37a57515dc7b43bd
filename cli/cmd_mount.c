/*
 * cmd_mount.c -- secrets and auth: enabling, disabling, listing,
 * tuning and moving mounts (policies are cmd_policy.c).
 *
 * Request bodies carry every field vault's structs serialise, with the
 * "not set" values it sends ("0s" TTLs on enable, "" on tune, null
 * options); the messages are vault's (cli.md §8.5-§8.7).
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "request.h"
#include "util.h"

/* What differs between "secrets" and "auth". */
struct mountkind {
	int		 auth;
	const char	*api;		/* sys/mounts/ or sys/auth/ */
	const char	*tune;		/* sys/mounts/ or sys/mounts/auth/ */
};

static const struct mountkind secrets_kind = { 0, "sys/mounts/",
    "sys/mounts/" };
static const struct mountkind auth_kind = { 1, "sys/auth/",
    "sys/mounts/auth/" };

/* Flags shared by enable and tune; the order of the body's fields. */
struct mountflags {
	const char	*description, *path, *plugin_name, *plugin_version;
	const char	*listing_visibility, *token_type;
	int64_t		 default_ttl, max_ttl;
	int		 force_no_cache, local, seal_wrap, entropy;
	long long	 version;
	json_t		*options, *req_keys, *resp_keys, *passthrough;
	json_t		*allowed_resp, *managed_keys;
};

static int	 isset(struct flag *, const char *);
static void	 config_lists(json_t *, struct flag *, struct mountflags *);
static void	 mountflags_free(struct mountflags *);
static int	 mount_enable(struct cli *, const struct mountkind *, int,
		    char **);
static int	 mount_disable(struct cli *, const struct mountkind *, int,
		    char **);
static int	 mount_list(struct cli *, const struct mountkind *, int,
		    char **);
static int	 mount_tune(struct cli *, const struct mountkind *, int,
		    char **);
static json_t	*mount_doc(json_t *);
static void	 ttlcell(json_t *, const char *, json_t *, const char *);

static int
isset(struct flag *fl, const char *name)
{
	for (; fl->name != NULL; fl++)
		if (strcmp(fl->name, name) == 0)
			return fl->set;
	return 0;
}

/* The optional config fields, only where their flag was given. */
static void
config_lists(json_t *cfg, struct flag *fl, struct mountflags *m)
{
	if (isset(fl, "audit-non-hmac-request-keys"))
		json_object_set(cfg, "audit_non_hmac_request_keys",
		    m->req_keys);
	if (isset(fl, "audit-non-hmac-response-keys"))
		json_object_set(cfg, "audit_non_hmac_response_keys",
		    m->resp_keys);
	if (isset(fl, "listing-visibility"))
		json_object_set_new(cfg, "listing_visibility",
		    json_string(m->listing_visibility));
	if (isset(fl, "passthrough-request-headers"))
		json_object_set(cfg, "passthrough_request_headers",
		    m->passthrough);
	if (isset(fl, "allowed-response-headers"))
		json_object_set(cfg, "allowed_response_headers",
		    m->allowed_resp);
	if (isset(fl, "token-type"))
		json_object_set_new(cfg, "token_type",
		    json_string(m->token_type));
	if (isset(fl, "allowed-managed-keys"))
		json_object_set(cfg, "allowed_managed_keys", m->managed_keys);
	if (isset(fl, "plugin-version"))
		json_object_set_new(cfg, "plugin_version",
		    json_string(m->plugin_version));
}

static void
mountflags_free(struct mountflags *m)
{
	json_decref(m->options);
	json_decref(m->req_keys);
	json_decref(m->resp_keys);
	json_decref(m->passthrough);
	json_decref(m->allowed_resp);
	json_decref(m->managed_keys);
}

#define MOUNT_FLAGS(m)							\
	{ "description", FLAG_STR, &(m).description, 0 },		\
	{ "default-lease-ttl", FLAG_DUR, &(m).default_ttl, 0 },	\
	{ "max-lease-ttl", FLAG_DUR, &(m).max_ttl, 0 },			\
	{ "options", FLAG_MAP, &(m).options, 0 },			\
	{ "version", FLAG_INT, &(m).version, 0 },			\
	{ "plugin-version", FLAG_STR, &(m).plugin_version, 0 },		\
	{ "audit-non-hmac-request-keys", FLAG_LIST, &(m).req_keys, 0 }, \
	{ "audit-non-hmac-response-keys", FLAG_LIST, &(m).resp_keys, 0 }, \
	{ "listing-visibility", FLAG_STR, &(m).listing_visibility, 0 }, \
	{ "passthrough-request-headers", FLAG_LIST, &(m).passthrough, 0 }, \
	{ "allowed-response-headers", FLAG_LIST, &(m).allowed_resp, 0 }, \
	{ "allowed-managed-keys", FLAG_LIST, &(m).managed_keys, 0 }

static int
mount_enable(struct cli *cli, const struct mountkind *k, int argc,
    char **argv)
{
	struct mountflags m;
	struct flag	 fl[] = { MOUNT_FLAGS(m),
		{ "path", FLAG_STR, &m.path, 0 },
		{ "local", FLAG_BOOL, &m.local, 0 },
		{ "seal-wrap", FLAG_BOOL, &m.seal_wrap, 0 },
		{ "external-entropy-access", FLAG_BOOL, &m.entropy, 0 },
		{ "plugin-name", FLAG_STR, &m.plugin_name, 0 },
		{ k->auth ? "token-type" : "force-no-cache",
		  k->auth ? FLAG_STR : FLAG_BOOL, k->auth ?
		  (void *)&m.token_type : (void *)&m.force_no_cache, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*body = NULL, *cfg, *s = NULL;
	char		*type = NULL, *path = NULL, *api = NULL;
	char		 ttl[40], mttl[40], ver[32];
	int		 first, rc = 1;

	memset(&m, 0, sizeof(m));
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		goto out;
	type = trim(xstrdup(argv[first]));
	if (strcmp(type, "plugin") == 0) {
		free(type);
		type = xstrdup(m.plugin_name != NULL ? m.plugin_name : "");
	}
	path = mountpath(m.path != NULL && *m.path != '\0' ? m.path : type);
	flags_durfmt(m.default_ttl, ttl, sizeof(ttl));
	flags_durfmt(m.max_ttl, mttl, sizeof(mttl));
	cfg = json_pack("{s:n,s:s,s:s,s:b}", "options", "default_lease_ttl",
	    ttl, "max_lease_ttl", mttl, "force_no_cache", m.force_no_cache);
	config_lists(cfg, fl, &m);
	if (m.version > 0) {
		if (m.options == NULL)
			m.options = json_object();
		snprintf(ver, sizeof(ver), "%lld", m.version);
		json_object_set_new(m.options, "version", json_string(ver));
	}
	body = json_pack("{s:s,s:s,s:o,s:b,s:b,s:b,s:O}", "type", type,
	    "description", m.description != NULL ? m.description : "",
	    "config", cfg, "local", m.local, "seal_wrap", m.seal_wrap,
	    "external_entropy_access", m.entropy, "options",
	    m.options != NULL ? m.options : json_null());
	api = xmalloc(strlen(k->api) + strlen(path) + 1);
	strcpy(api, k->api);
	strcat(api, path);
	if ((rc = request(cli, &c, "POST", api, NULL, body, 0, &s,
	    "Error enabling%s%s%s", k->auth ? " " : "", k->auth ? type : "",
	    k->auth ? " auth" : "")) != 0)
		goto out;
	if (k->auth)
		printf("Success! Enabled %s%s%s auth method at: %s\n", type,
		    m.plugin_version != NULL ? " version " : "",
		    m.plugin_version != NULL ? m.plugin_version : "", path);
	else
		printf("Success! Enabled the %s%s%s secrets engine at: %s\n",
		    type, m.plugin_version != NULL ? " version " : "",
		    m.plugin_version != NULL ? m.plugin_version : "", path);
	rc = 0;
 out:
	json_decref(body);
	json_decref(s);
	mountflags_free(&m);
	free(type);
	free(path);
	free(api);
	client_free(c);
	return rc;
}

static int
mount_disable(struct cli *cli, const struct mountkind *k, int argc,
    char **argv)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*s = NULL;
	char		*path, *api;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	path = mountpath(argv[first]);
	api = xmalloc(strlen(k->api) + strlen(path) + 1);
	strcpy(api, k->api);
	strcat(api, path);
	if ((rc = request(cli, &c, "DELETE", api, NULL, NULL, 0, &s,
	    "Error disabling %s at %s", k->auth ? "auth method" :
	    "secrets engine", path)) == 0)
		printf("Success! Disabled the %s (if it existed) at: %s\n",
		    k->auth ? "auth method" : "secrets engine", path);
	json_decref(s);
	free(path);
	free(api);
	client_free(c);
	return rc;
}

/* One mount as vault's typed MountOutput serialises it. */
static json_t *
mount_doc(json_t *mo)
{
	static const char *opt[] = { "audit_non_hmac_request_keys",
	    "audit_non_hmac_response_keys", "listing_visibility",
	    "passthrough_request_headers", "allowed_response_headers",
	    "token_type", "allowed_managed_keys", "user_lockout_config",
	    "plugin_name", NULL };
	static const char *strs[] = { "plugin_version",
	    "running_plugin_version", "running_sha256", "deprecation_status",
	    NULL };
	json_t		*d, *cfg, *src, *v;
	const char	*s;
	size_t		 i;

	src = json_object_get(mo, "config");
	cfg = json_object();
	for (i = 0; i < 2; i++) {
		s = i == 0 ? "default_lease_ttl" : "max_lease_ttl";
		v = json_object_get(src, s);
		json_object_set_new(cfg, s, json_is_integer(v) ?
		    json_incref(v) : json_integer(0));
	}
	json_object_set_new(cfg, "force_no_cache", json_boolean(
	    json_is_true(json_object_get(src, "force_no_cache"))));
	for (i = 0; opt[i] != NULL; i++) {
		v = json_object_get(src, opt[i]);
		if (v == NULL || json_is_null(v) ||
		    (json_is_string(v) && json_string_length(v) == 0) ||
		    (json_is_array(v) && json_array_size(v) == 0) ||
		    (json_is_object(v) && json_object_size(v) == 0))
			continue;
		json_object_set(cfg, opt[i], v);
	}
	d = json_object();
	for (i = 0; i < 4; i++) {
		static const char *h[] = { "uuid", "type", "description",
		    "accessor" };
		s = json_string_value(json_object_get(mo, h[i]));
		json_object_set_new(d, h[i], json_string(s != NULL ? s : ""));
	}
	json_object_set_new(d, "config", cfg);
	v = json_object_get(mo, "options");
	json_object_set(d, "options", json_is_object(v) ? v : json_null());
	json_object_set_new(d, "local", json_boolean(json_is_true(
	    json_object_get(mo, "local"))));
	json_object_set_new(d, "seal_wrap", json_boolean(json_is_true(
	    json_object_get(mo, "seal_wrap"))));
	json_object_set_new(d, "external_entropy_access", json_boolean(
	    json_is_true(json_object_get(mo, "external_entropy_access"))));
	for (i = 0; strs[i] != NULL; i++) {
		s = json_string_value(json_object_get(mo, strs[i]));
		json_object_set_new(d, strs[i], json_string(s != NULL ? s :
		    ""));
	}
	return d;
}

/* A TTL cell of -detailed: blank, the seconds, or "system". */
static void
ttlcell(json_t *row, const char *type, json_t *cfg, const char *key)
{
	char		 buf[32];
	json_int_t	 v = json_integer_value(json_object_get(cfg, key));

	if (strcmp(type, "system") == 0 || strcmp(type, "cubbyhole") == 0)
		buf[0] = '\0';
	else if (v != 0)
		snprintf(buf, sizeof(buf), "%lld", (long long)v);
	else
		strlcpy(buf, "system", sizeof(buf));
	json_array_append_new(row, json_string(buf));
}

static int
cmpstr(const void *a, const void *b)
{
	return strcmp(*(const char * const *)a, *(const char * const *)b);
}

static int
mount_list(struct cli *cli, const struct mountkind *k, int argc,
    char **argv)
{
	const char	*f = NULL, **paths = NULL, *s;
	int		 detailed = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "detailed", FLAG_BOOL, &detailed, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*sec = NULL, *d, *mo, *rows = NULL, *row, *doc, *cfg;
	const char	*key, *what = k->auth ?
			    "Error listing enabled authentications" :
			    "Error listing secrets engines";
	char		*v;
	size_t		 n = 0, i;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		return 1;
	if ((rc = request(cli, &c, "GET", k->auth ? "sys/auth" :
	    "sys/mounts", NULL, NULL, 0, &sec, "%s", what)) != 0)
		goto out;
	rc = 2;
	d = json_object_get(sec, "data");
	if (!json_is_object(d)) {
		cli_error("%s: data from server response is empty", what);
		goto out;
	}
	paths = xmalloc(sizeof(*paths) * (json_object_size(d) + 1));
	json_object_foreach(d, key, mo)
		if (json_is_object(mo))
			paths[n++] = key;
	qsort(paths, n, sizeof(*paths), cmpstr);
	if (strcmp(cli->format, "table") != 0) {
		doc = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(doc, paths[i],
			    mount_doc(json_object_get(d, paths[i])));
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		goto out;
	}
	rows = json_array();
	if (detailed)
		row = json_pack("[s,s,s,s,s,s,s,s,s,s,s,s,s,s,s,s]", "Path",
		    "Plugin", "Accessor", "Default TTL", "Max TTL",
		    k->auth ? "Token Type" : "Force No Cache", "Replication",
		    "Seal Wrap", "External Entropy Access", "Options",
		    "Description", "UUID", "Version", "Running Version",
		    "Running SHA256", "Deprecation Status");
	else if (k->auth)
		row = json_pack("[s,s,s,s,s]", "Path", "Type", "Accessor",
		    "Description", "Version");
	else
		row = json_pack("[s,s,s,s]", "Path", "Type", "Accessor",
		    "Description");
	json_array_append_new(rows, row);
	for (i = 0; i < n; i++) {
		const char *type;

		mo = json_object_get(d, paths[i]);
		cfg = json_object_get(mo, "config");
		type = json_string_value(json_object_get(mo, "type"));
		if (type == NULL)
			type = "";
		row = json_array();
		json_array_append_new(row, json_string(paths[i]));
		s = type;
		if (detailed && strcmp(type, "plugin") == 0 &&
		    json_string_value(json_object_get(cfg, "plugin_name")))
			s = json_string_value(json_object_get(cfg,
			    "plugin_name"));
		json_array_append_new(row, json_string(s));
		s = json_string_value(json_object_get(mo, "accessor"));
		json_array_append_new(row, json_string(s ? s : ""));
		if (detailed) {
			ttlcell(row, type, cfg, "default_lease_ttl");
			ttlcell(row, type, cfg, "max_lease_ttl");
			if (k->auth) {
				s = json_string_value(json_object_get(cfg,
				    "token_type"));
				json_array_append_new(row,
				    json_string(s ? s : ""));
			} else
				json_array_append_new(row, json_string(
				    json_is_true(json_object_get(cfg,
				    "force_no_cache")) ? "true" : "false"));
			json_array_append_new(row, json_string(json_is_true(
			    json_object_get(mo, "local")) ? "local" :
			    "replicated"));
			json_array_append_new(row, json_string(json_is_true(
			    json_object_get(mo, "seal_wrap")) ? "true" :
			    "false"));
			json_array_append_new(row, json_string(json_is_true(
			    json_object_get(mo, "external_entropy_access")) ?
			    "true" : "false"));
			if (json_is_object(json_object_get(mo, "options")))
				v = fmt_value(NULL, json_object_get(mo,
				    "options"));
			else
				v = xstrdup("map[]");
			json_array_append_new(row, json_string(v));
			free(v);
		}
		s = json_string_value(json_object_get(mo, "description"));
		json_array_append_new(row, json_string(s ? s : ""));
		if (detailed) {
			static const char *tail[] = { "uuid", "plugin_version",
			    "running_plugin_version", "running_sha256",
			    "deprecation_status", NULL };
			size_t	 j;

			for (j = 0; tail[j] != NULL; j++) {
				s = json_string_value(json_object_get(mo,
				    tail[j]));
				json_array_append_new(row,
				    json_string(s ? s : ""));
			}
		} else if (k->auth) {
			s = json_string_value(json_object_get(mo,
			    "plugin_version"));
			json_array_append_new(row, json_string(s ? s : ""));
		}
		json_array_append_new(rows, row);
	}
	fmt_table(rows, 1);
	rc = 0;
 out:
	json_decref(rows);
	json_decref(sec);
	free(paths);
	client_free(c);
	return rc;
}

/* "" when not given, "system" when negative, else Go duration text. */
static json_t *
tunettl(int set, int64_t ns)
{
	char	 buf[40];

	if (!set)
		return json_string("");
	if (ns < 0)
		return json_string("system");
	flags_durfmt(ns, buf, sizeof(buf));
	return json_string(buf);
}

static int
mount_tune(struct cli *cli, const struct mountkind *k, int argc,
    char **argv)
{
	struct mountflags m;
	struct flag	 fl[] = { MOUNT_FLAGS(m),
		{ k->auth ? "token-type" : NULL, FLAG_STR, &m.token_type, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*body = NULL, *s = NULL;
	char		*path = NULL, *api = NULL, ver[32];
	int		 first, rc = 1;

	memset(&m, 0, sizeof(m));
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		goto out;
	path = mountpath(argv[first]);
	if (m.version > 0) {
		if (m.options == NULL)
			m.options = json_object();
		snprintf(ver, sizeof(ver), "%lld", m.version);
		json_object_set_new(m.options, "version", json_string(ver));
	}
	body = json_object();
	json_object_set(body, "options", m.options != NULL ? m.options :
	    json_null());
	json_object_set_new(body, "default_lease_ttl",
	    tunettl(isset(fl, "default-lease-ttl"), m.default_ttl));
	if (isset(fl, "description"))
		json_object_set_new(body, "description",
		    json_string(m.description));
	json_object_set_new(body, "max_lease_ttl",
	    tunettl(isset(fl, "max-lease-ttl"), m.max_ttl));
	json_object_set_new(body, "force_no_cache", json_false());
	config_lists(body, fl, &m);
	api = xmalloc(strlen(k->tune) + strlen(path) + 6);
	strcpy(api, k->tune);
	strcat(api, path);
	strcat(api, "tune");
	if ((rc = request(cli, &c, "POST", api, NULL, body, 0, &s,
	    "Error tuning %s %s", k->auth ? "auth method" : "secrets engine",
	    path)) == 0)
		printf("Success! Tuned the %s at: %s\n", k->auth ?
		    "auth method" : "secrets engine", path);
 out:
	json_decref(body);
	json_decref(s);
	mountflags_free(&m);
	free(path);
	free(api);
	client_free(c);
	return rc;
}

/* cmd_secrets_<verb> and cmd_auth_<verb>: mount_<verb> of each kind. */
#define MOUNT_CMDS(verb)						\
int									\
cmd_secrets_##verb(struct cli *cli, int argc, char **argv)		\
{									\
	return mount_##verb(cli, &secrets_kind, argc, argv);		\
}									\
int									\
cmd_auth_##verb(struct cli *cli, int argc, char **argv)			\
{									\
	return mount_##verb(cli, &auth_kind, argc, argv);		\
}

MOUNT_CMDS(enable)
MOUNT_CMDS(disable)
MOUNT_CMDS(list)
MOUNT_CMDS(tune)

/*
 * secrets move: sys/remount.  A server that moves at once (coffer)
 * answers without a migration id; otherwise the status is polled.
 */
int
cmd_secrets_move(struct cli *cli, int argc, char **argv)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*body = NULL, *s = NULL;
	char		*src = NULL, *dst = NULL, *sp = NULL;
	const char	*id, *st;
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 2, "2") != 0)
		return 1;
	src = mountpath(argv[first]);
	dst = mountpath(argv[first + 1]);
	body = json_pack("{s:s,s:s}", "from", src, "to", dst);
	if ((rc = request(cli, &c, "POST", "sys/remount", NULL, body, 0, &s,
	    "Error moving secrets engine %s to %s", src, dst)) != 0)
		goto out;
	id = json_string_value(json_object_get(json_object_get(s, "data"),
	    "migration_id"));
	if (id == NULL || *id == '\0') {
		printf("Success! Finished moving secrets engine %s to %s\n",
		    src, dst);
		goto out;
	}
	printf("Started moving secrets engine %s to %s, with migration ID "
	    "%s\n", src, dst, id);
	sp = xmalloc(strlen(id) + 20);
	snprintf(sp, strlen(id) + 20, "sys/remount/status/%s", id);
	for (;;) {
		json_t	*r = NULL;

		if ((rc = request(cli, &c, "GET", sp, NULL, NULL, 0, &r,
		    "Error checking migration status of secrets engine %s "
		    "to %s", src, dst)) != 0)
			goto out;
		st = json_string_value(json_object_get(json_object_get(
		    json_object_get(r, "data"), "migration_info"), "status"));
		if (st != NULL && strcmp(st, "success") == 0) {
			printf("Success! Finished moving secrets engine %s to "
			    "%s, with migration ID %s\n", src, dst, id);
			json_decref(r);
			break;
		}
		if (st != NULL && strcmp(st, "failure") == 0) {
			cli_error("Failure! Error encountered moving secrets "
			    "engine %s to %s, with migration ID %s", src, dst,
			    id);
			json_decref(r);
			break;
		}
		json_decref(r);
		printf("Waiting for terminal status in migration of secrets "
		    "engine %s to %s, with migration ID %s\n", src, dst, id);
		fflush(stdout);
		sleep(10);
	}
 out:
	json_decref(body);
	json_decref(s);
	free(src);
	free(dst);
	free(sp);
	client_free(c);
	return rc;
}
