/*
 * cmd_audit.c -- audit devices and leases: audit enable | disable |
 * list, lease lookup | renew | revoke (cli.md §8.10, §8.11).
 *
 * Messages and exit codes are vault's: "audit list" with no device is
 * exit 2 in a table and {} with exit 0 in JSON; lease lookup errors
 * start with a lower-case "error".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "kvdata.h"
#include "request.h"
#include "util.h"

static json_t	*audit_doc(json_t *);
static json_t	*audit_row(const char *, json_t *, int);
static char	*lease_id(int, char **, int, const char *);
static int	 lease_call(struct cli *, const char *, json_t *,
		    const char *, const char *);

int
cmd_audit_enable(struct cli *cli, int argc, char **argv)
{
	const char	*desc = NULL, *path = NULL;
	int		 local = 0;
	struct flag	 fl[] = { { "description", FLAG_STR, &desc, 0 },
		{ "path", FLAG_STR, &path, 0 },
		{ "local", FLAG_BOOL, &local, 0 }, { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 b = { 0 };
	json_t		*opts = NULL, *body = NULL, *s = NULL;
	char		*type = NULL, *err = NULL, *dev = NULL;
	size_t		 n;
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	if (argc - first < 1) {
		cli_error("Error enabling audit device: audit type missing. "
		    "Valid types include 'file', 'socket' and 'syslog'.");
		return 1;
	}
	type = trim(xstrdup(argv[first]));
	if (kvdata_parse(argc - first - 1, argv + first + 1, &opts,
	    &err) == -1 || kvdata_strings(opts, &err) == -1) {
		cli_error("Failed to parse K=V data: %s", err);
		goto out;
	}
	/* vault only appends the slash here: "-path=/x" stays "/x/". */
	sbuf_puts(&b, path != NULL && *path != '\0' ? path : type);
	n = b.len;
	if (n == 0 || b.p[n - 1] != '/')
		sbuf_puts(&b, "/");
	dev = sbuf_take(&b);
	body = json_pack("{s:s,s:s,s:O,s:b}", "type", type, "description",
	    desc != NULL ? desc : "", "options", opts, "local", local);
	sbuf_printf(&b, "sys/audit/%s", dev);
	if ((rc = request(cli, &c, "PUT", sbuf_str(&b), NULL, body, 0, &s,
	    "Error enabling audit device")) == 0)
		printf("Success! Enabled the %s audit device at: %s\n", type,
		    dev);
 out:
	json_decref(opts);
	json_decref(body);
	json_decref(s);
	sbuf_free(&b);
	free(type);
	free(dev);
	wipefree(err);
	client_free(c);
	return rc;
}

int
cmd_audit_disable(struct cli *cli, int argc, char **argv)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 b = { 0 };
	json_t		*s = NULL;
	char		*path;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	path = mountpath(argv[first]);
	sbuf_printf(&b, "sys/audit/%s", path);
	if ((rc = request(cli, &c, "DELETE", sbuf_str(&b), NULL, NULL, 0, &s,
	    "Error disabling audit device")) == 0)
		printf("Success! Disabled audit device (if it was enabled) "
		    "at: %s\n", path);
	json_decref(s);
	sbuf_free(&b);
	free(path);
	client_free(c);
	return rc;
}

/* One device as vault's api.Audit serialises it. */
static json_t *
audit_doc(json_t *dev)
{
	json_t		*o = json_object_get(dev, "options");
	const char	*t, *d, *p;

	t = json_string_value(json_object_get(dev, "type"));
	d = json_string_value(json_object_get(dev, "description"));
	p = json_string_value(json_object_get(dev, "path"));
	return json_pack("{s:s,s:s,s:o,s:b,s:s}", "type", t ? t : "",
	    "description", d ? d : "", "options", json_is_object(o) ?
	    fmt_sorted(o) : json_null(), "local",
	    json_is_true(json_object_get(dev, "local")), "path", p ? p : "");
}

/*
 * A table row.  As vault: the short table shows the device's "path"
 * field, the detailed one the key it is listed under.
 */
static json_t *
audit_row(const char *key, json_t *dev, int detailed)
{
	json_t		*row, *o = json_object_get(dev, "options");
	struct sbuf	 b = { 0 };
	const char	**keys, *t, *d, *p;
	size_t		 n, i;

	t = json_string_value(json_object_get(dev, "type"));
	d = json_string_value(json_object_get(dev, "description"));
	p = json_string_value(json_object_get(dev, "path"));
	row = json_pack("[s,s,s]", detailed ? key : p ? p : "", t ? t : "",
	    d ? d : "");
	if (!detailed)
		return row;
	json_array_append_new(row, json_string(json_is_true(
	    json_object_get(dev, "local")) ? "local" : "replicated"));
	keys = sorted_keys(json_is_object(o) ? o : NULL, &n);
	for (i = 0; i < n; i++) {
		t = json_string_value(json_object_get(o, keys[i]));
		sbuf_printf(&b, "%s%s=%s", i > 0 ? " " : "", keys[i],
		    t ? t : "");
	}
	json_array_append_new(row, json_string(sbuf_str(&b)));
	sbuf_free(&b);
	free(keys);
	return row;
}

int
cmd_audit_list(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, **keys = NULL;
	int		 detailed = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "detailed", FLAG_BOOL, &detailed, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*s = NULL, *d, *rows = NULL, *doc;
	size_t		 n = 0, i;
	int		 first, rc = 2;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		return 1;
	if (request(cli, &c, "GET", "sys/audit", NULL, NULL, 0, &s,
	    "Error listing audits") != 0)
		goto out;
	d = json_object_get(s, "data");
	if (!json_is_object(d)) {
		cli_error("Error listing audits: data from server response is "
		    "empty");
		goto out;
	}
	keys = sorted_keys(d, &n);
	if (strcmp(cli->format, "table") != 0) {
		doc = json_object();
		for (i = 0; i < n; i++)
			json_object_set_new(doc, keys[i], audit_doc(
			    json_object_get(d, keys[i])));
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		goto out;
	}
	if (n == 0) {
		puts("No audit devices are enabled.");
		goto out;
	}
	rows = json_array();
	json_array_append_new(rows, detailed ? json_pack("[s,s,s,s,s]",
	    "Path", "Type", "Description", "Replication", "Options") :
	    json_pack("[s,s,s]", "Path", "Type", "Description"));
	for (i = 0; i < n; i++)
		json_array_append_new(rows, audit_row(keys[i],
		    json_object_get(d, keys[i]), detailed));
	fmt_table(rows, 1);
	rc = 0;
 out:
	json_decref(rows);
	json_decref(s);
	free(keys);
	client_free(c);
	return rc;
}

/* The one lease id argument, trimmed; NULL after printing why. */
static char *
lease_id(int argc, char **argv, int first, const char *spec)
{
	if (argc - first == 0) {
		cli_error("Missing ID!");
		return NULL;
	}
	if (argc - first > 1) {
		cli_error("Too many arguments (expected %s, got %d)", spec,
		    argc - first);
		return NULL;
	}
	return trim(xstrdup(argv[first]));
}

/* PUT path with body; the secret printed, or "<prefix> <id>: <err>". */
static int
lease_call(struct cli *cli, const char *path, json_t *body,
    const char *prefix, const char *id)
{
	struct client	*c = NULL;
	json_t		*s = NULL;
	int		 rc;

	if ((rc = request(cli, &c, "PUT", path, NULL, body, 0, &s, "%s %s",
	    prefix, id)) == 0)
		rc = fmt_secret(cli, s);
	json_decref(s);
	client_free(c);
	return rc;
}

int
cmd_lease_lookup(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ NULL, 0, NULL, 0 } };
	json_t		*body;
	char		*id;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    (id = lease_id(argc, argv, first, "1")) == NULL)
		return 1;
	body = json_pack("{s:s}", "lease_id", id);
	rc = lease_call(cli, "sys/leases/lookup", body,
	    "error looking up lease id", id);
	json_decref(body);
	free(id);
	return rc;
}

int
cmd_lease_renew(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	int64_t		 inc = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "increment", FLAG_DUR, &inc, 0 }, { NULL, 0, NULL, 0 } };
	json_t		*body;
	char		*id;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    (id = lease_id(argc, argv, first, "1-2")) == NULL)
		return 1;
	body = json_pack("{s:I,s:s}", "increment",
	    (json_int_t)(inc / 1000000000), "lease_id", id);
	rc = lease_call(cli, "sys/leases/renew", body, "Error renewing", id);
	json_decref(body);
	free(id);
	return rc;
}

int
cmd_lease_revoke(struct cli *cli, int argc, char **argv)
{
	int		 prefix = 0, force = 0, sync = 0;
	struct flag	 fl[] = { { "prefix", FLAG_BOOL, &prefix, 0 },
		{ "force", FLAG_BOOL, &force, 0 },
		{ "f", FLAG_BOOL, &force, 0 },
		{ "sync", FLAG_BOOL, &sync, 0 }, { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 b = { 0 };
	json_t		*body = NULL, *s = NULL;
	char		*id = NULL;
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	if (force && !prefix) {
		cli_error("Specifying -force requires also specifying -prefix");
		return 1;
	}
	rc = 2;
	if ((c = cli_client(cli, 0)) == NULL)
		goto out;
	id = trim(xstrdup(argv[first]));
	sbuf_printf(&b, "sys/leases/%s/%s", force ? "revoke-force" : prefix ?
	    "revoke-prefix" : "revoke", id);
	if (!force)
		body = json_pack("{s:b}", "sync", sync);
	else
		cli_para_warn("Warning! Force-removing leases can cause the "
		    "server to become out of sync with secret engines!");
	if (request(cli, &c, "PUT", sbuf_str(&b), NULL, body, 0, &s,
	    "Error %s %s", force ? "force revoking leases with prefix" :
	    prefix ? "revoking leases with prefix" : "revoking lease",
	    id) != 0)
		goto out;
	if (force)
		printf("Success! Force revoked any leases with prefix: %s\n",
		    id);
	else if (sync && prefix)
		printf("Success! Revoked any leases with prefix: %s\n", id);
	else if (sync)
		printf("Success! Revoked lease: %s\n", id);
	else
		puts("All revocation operations queued successfully!");
	rc = 0;
 out:
	json_decref(body);
	json_decref(s);
	sbuf_free(&b);
	free(id);
	client_free(c);
	return rc;
}
