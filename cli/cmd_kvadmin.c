/*
 * cmd_kvadmin.c -- the kv commands that change a secret's settings or
 * history rather than its data: kv metadata put and delete, kv
 * rollback and kv enable-versioning.
 *
 * Each but enable-versioning finds the mount first (kvmount.c) and
 * works on version 2 mounts only.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "kvmount.h"
#include "request.h"
#include "util.h"

int
cmd_kv_mput(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *mount = NULL;
	long long	 maxv = -1;
	int		 casreq = 0;
	int64_t		 dva = -1;
	json_t		*custom = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "mount", FLAG_STR, &mount, 0 },
		{ "max-versions", FLAG_INT, &maxv, 0 },
		{ "cas-required", FLAG_BOOL, &casreq, 0 },
		{ "delete-version-after", FLAG_DUR, &dva, 0 },
		{ "custom-metadata", FLAG_MAP, &custom, 0 },
		{ NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*body, *s = NULL;
	char		*path = NULL, d[48];
	int		 rc = 1;

	body = json_object();
	if ((rc = kvmount_one(cli, fl, &mount, argc, argv, "Metadata",
	    &k)) != 0)
		goto out;
	if (maxv >= 0)
		json_object_set_new(body, "max_versions", json_integer(maxv));
	if (fl[3].set)
		json_object_set_new(body, "cas_required",
		    json_boolean(casreq));
	if (dva >= 0) {
		flags_durfmt(dva, d, sizeof(d));
		json_object_set_new(body, "delete_version_after",
		    json_string(d));
	}
	if (custom != NULL)
		json_object_set(body, "custom_metadata", custom);
	path = kvmount_rewrite(&k, "metadata");
	if ((rc = request(cli, &k.c, "PUT", path, NULL, body, 0, &s,
	    "Error writing data to %s", path)) == 0)
		printf("Success! Data written to: %s\n", path);
 out:
	json_decref(body);
	json_decref(custom);
	json_decref(s);
	free(path);
	kvmount_end(&k);
	return rc;
}

int
cmd_kv_mdelete(struct cli *cli, int argc, char **argv)
{
	const char	*mount = NULL;
	struct flag	 fl[] = { { "mount", FLAG_STR, &mount, 0 },
		{ NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*s = NULL;
	char		*path;
	int		 rc;

	if ((rc = kvmount_one(cli, fl, &mount, argc, argv, "Metadata",
	    &k)) == 0) {
		path = kvmount_rewrite(&k, "metadata");
		if ((rc = request(cli, &k.c, "DELETE", path, NULL, NULL, 0,
		    &s, "Error deleting %s", path)) == 0)
			printf("Success! Data deleted (if it existed) at: "
			    "%s\n", path);
		json_decref(s);
		free(path);
	}
	kvmount_end(&k);
	return rc;
}

/*
 * kv rollback's pre-read: the secret at path (version q), which must
 * have metadata and, when wantdata, data.  0, or the exit status.
 */
static int
rollback_read(struct cli *cli, struct kvctx *k, const char *path, json_t *q,
    int wantdata, json_t **out)
{
	json_t		*s = NULL, *d, *md;
	const char	*dt;

	*out = NULL;
	if (request(cli, &k->c, "GET", path, q, NULL, 1, &s,
	    "Error doing pre-read at %s", path) != 0)
		return 2;
	d = json_object_get(s, "data");
	md = json_object_get(d, "metadata");
	if (!json_is_object(d)) {
		cli_error("No value found at %s", path);
		goto fail;
	}
	if (md == NULL || json_is_null(md)) {
		cli_error("No metadata found at %s; rollback only works on "
		    "existing data", path);
		goto fail;
	}
	if (!json_is_object(md)) {
		cli_error("Metadata found at %s is not the expected type "
		    "(JSON object)", path);
		goto fail;
	}
	if (wantdata) {
		dt = json_string_value(json_object_get(md, "deletion_time"));
		if (dt != NULL && *dt != '\0') {
			cli_error("Cannot roll back to a version that has been "
			    "deleted");
			goto fail;
		}
		if (json_is_true(json_object_get(md, "destroyed"))) {
			cli_error("Cannot roll back to a version that has been "
			    "destroyed");
			goto fail;
		}
		if (!json_is_object(json_object_get(d, "data"))) {
			cli_error("No data found at %s; rollback only works on "
			    "existing data", path);
			goto fail;
		}
	}
	*out = s;
	return 0;
 fail:
	json_decref(s);
	return 2;
}

int
cmd_kv_rollback(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *mount = NULL;
	long long	 version = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "version", FLAG_INT, &version, 0 },
		{ "mount", FLAG_STR, &mount, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*cur = NULL, *old = NULL, *q = NULL, *body = NULL;
	json_t		*s = NULL;
	char		*path = NULL, *err = NULL, vb[32];
	int		 first, rc = 1;

	memset(&k, 0, sizeof(k));
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	if (argc - first != 1) {
		cli_error("Invalid number of arguments (expected 1, got %d)",
		    argc - first);
		return 1;
	}
	if (!fl[1].set) {
		cli_error("Version flag must be specified");
		return 1;
	}
	if (version <= 0) {
		cli_error("Invalid value %lld for the version flag", version);
		return 1;
	}
	if ((rc = kvmount_begin(cli, &k, argv[first], mount, 0)) != 0)
		goto out;
	rc = 2;
	if (!k.v2) {
		cli_error("K/V engine mount must be version 2 for rollback "
		    "support");
		goto out;
	}
	path = kvmount_rewrite(&k, "data");
	if ((rc = rollback_read(cli, &k, path, NULL, 0, &cur)) != 0)
		goto out;
	snprintf(vb, sizeof(vb), "%lld", version);
	q = json_pack("{s:s}", "version", vb);
	if ((rc = rollback_read(cli, &k, path, q, 1, &old)) != 0)
		goto out;
	rc = 2;
	body = json_pack("{s:O,s:{s:O}}", "data", json_object_get(
	    json_object_get(old, "data"), "data"), "options", "cas",
	    json_object_get(json_object_get(json_object_get(cur, "data"),
	    "metadata"), "version"));
	if (body == NULL ||
	    client_logical(k.c, "PUT", path, NULL, body, 0, &s, &err) == -1) {
		cli_error("Error writing data to %s: %s", path, err != NULL ?
		    err : "cannot build the request");
		goto out;
	}
	if (s == NULL) {
		if (strcmp(cli->format, "table") == 0)
			printf("Success! Data written to: %s\n", path);
		rc = 0;
	} else
		rc = fmt_secret(cli, s);
 out:
	json_decref(cur);
	json_decref(old);
	json_decref(q);
	json_decref(body);
	json_decref(s);
	free(path);
	wipefree(err);
	kvmount_end(&k);
	return rc;
}

/* No version detection: the mount is tuned to options.version 2. */
int
cmd_kv_versioning(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*body, *s = NULL;
	char		*path, *api;
	struct sbuf	 b = { 0 };
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	path = mountpath(argv[first]);
	sbuf_printf(&b, "sys/mounts/%stune", path);
	api = sbuf_take(&b);
	body = json_pack("{s:{s:s},s:s,s:s,s:b}", "options", "version", "2",
	    "default_lease_ttl", "", "max_lease_ttl", "", "force_no_cache", 0);
	if ((rc = request(cli, &c, "POST", api, NULL, body, 0, &s,
	    "Error tuning secrets engine %s", path)) == 0)
		printf("Success! Tuned the secrets engine at: %s\n", path);
	json_decref(body);
	json_decref(s);
	free(path);
	free(api);
	client_free(c);
	return rc;
}
