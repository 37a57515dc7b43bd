/*
 * cmd_kv.c -- the kv commands on a secret's data, for KV version 1 and
 * 2 mounts: get, put, patch, delete, undelete, destroy, list and
 * metadata get.  cmd_kvadmin.c has the ones that change settings and
 * history.
 *
 * Each command first finds the mount holding the path and its version,
 * then rewrites the path for version 2 (kvmount.c).
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "kvdata.h"
#include "kvmount.h"
#include "request.h"
#include "util.h"

static void	 out_path(const char *, const char *);
static void	 map_header(const char *, json_t *);
static void	 kv_table(json_t *);
static json_t	*versions_body(json_t *);

static void
out_path(const char *title, const char *path)
{
	fmt_header(title, strlen(path));
	printf("%s\n\n", path);
}

static void
map_header(const char *title, json_t *obj)
{
	const char	*key;
	json_t		*v;
	size_t		 max = 0;

	json_object_foreach(obj, key, v)
		if (strlen(key) > max)
			max = strlen(key);
	fmt_header(title, max + 9);
}

static void
kv_table(json_t *obj)
{
	json_t	*rows = json_array();

	fmt_row(rows, "Key", "Value");
	fmt_objrows(rows, obj);
	fmt_table(rows, 1);
	json_decref(rows);
}

/* -versions values split on commas, sent as strings. */
static json_t *
versions_body(json_t *list)
{
	json_t	*out = json_array(), *e;
	char	*copy, *t, *save = NULL;
	size_t	 i;

	json_array_foreach(list, i, e) {
		copy = xstrdup(json_string_value(e));
		for (t = strtok_r(copy, ",", &save); t != NULL;
		    t = strtok_r(NULL, ",", &save))
			if (*trim(t) != '\0')
				json_array_append_new(out, json_string(t));
		free(copy);
	}
	return json_pack("{s:o}", "versions", out);
}

int
cmd_kv_get(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL, *mount = NULL;
	long long	 version = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 },
		{ "version", FLAG_INT, &version, 0 },
		{ "mount", FLAG_STR, &mount, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*s = NULL, *q = NULL, *d, *dd, *md, *fake;
	char		*path = NULL, vb[32];
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	if ((rc = kvmount_begin(cli, &k, argv[first], mount, 1)) != 0)
		goto out;
	rc = 2;
	path = k.v2 ? kvmount_rewrite(&k, "data") : xstrdup(k.path);
	if (k.v2 && version > 0) {
		snprintf(vb, sizeof(vb), "%lld", version);
		q = json_pack("{s:s}", "version", vb);
	}
	if (request_read(cli, &k.c, path, q, &s, "Error reading %s",
	    path) != 0)
		goto out;
	d = json_object_get(s, "data");
	dd = k.v2 ? json_object_get(d, "data") : d;
	if (field != NULL) {
		if (k.v2 && (dd == NULL || json_is_null(dd))) {
			cli_error("No data found at %s", path);
			goto out;
		}
		fake = json_pack("{s:O}", "data", k.v2 ? dd : d);
		rc = fmt_field(cli, fake, field);
		json_decref(fake);
		goto out;
	}
	if (strcmp(cli->format, "table") != 0) {
		rc = fmt_secret(cli, s);
		goto out;
	}
	fmt_warnings(cli, s);
	if (k.v2) {
		out_path("Secret Path", path);
		md = json_object_get(d, "metadata");
		if (md != NULL && !json_is_null(md)) {
			map_header("Metadata", md);
			kv_table(md);
		}
		if (dd != NULL && !json_is_null(dd)) {
			if (md != NULL && !json_is_null(md))
				putchar('\n');
			map_header("Data", dd);
			kv_table(dd);
		}
	} else {
		map_header("Data", d);
		kv_table(d);
	}
	rc = 0;
 out:
	json_decref(s);
	json_decref(q);
	free(path);
	kvmount_end(&k);
	return rc;
}

/* kv put and the read-then-write half of kv patch. */
static int
kv_write(struct cli *cli, struct kvctx *k, const char *method,
    json_t *data, long long cas, int withcas, const char *field)
{
	json_t		*body, *opts, *s = NULL;
	char		*path;
	int		 rc = 2;

	path = k->v2 ? kvmount_rewrite(k, "data") : xstrdup(k->path);
	if (k->v2) {
		opts = json_object();
		if (withcas)
			json_object_set_new(opts, "cas", json_integer(cas));
		body = json_pack("{s:O,s:o}", "data", data, "options", opts);
	} else
		body = json_incref(data);
	if (request(cli, &k->c, method, path, NULL, body, 0, &s,
	    "Error writing data to %s", path) != 0)
		goto out;
	if (s == NULL) {
		if (strcmp(cli->format, "table") == 0)
			printf("Success! Data written to: %s\n", path);
		rc = 0;
		goto out;
	}
	if (field != NULL)
		rc = fmt_field(cli, s, field);
	else if (strcmp(cli->format, "table") != 0)
		rc = fmt_secret(cli, s);
	else {
		fmt_warnings(cli, s);
		out_path("Secret Path", path);
		map_header("Metadata", json_object_get(s, "data"));
		kv_table(json_object_get(s, "data"));
		rc = 0;
	}
 out:
	json_decref(body);
	json_decref(s);
	free(path);
	return rc;
}

int
cmd_kv_put(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL, *mount = NULL;
	long long	 cas = -1;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 },
		{ "cas", FLAG_INT, &cas, 0 },
		{ "mount", FLAG_STR, &mount, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*data = NULL;
	char		*err = NULL;
	int		 first, rc = 1;

	memset(&k, 0, sizeof(k));
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 1, INT_MAX, ">1") != 0)
		return 1;
	if (argc - first == 1) {
		cli_error("Must supply data");
		return 1;
	}
	if (kvdata_parse(argc - first - 1, argv + first + 1, &data,
	    &err) == -1) {
		cli_error("Failed to parse K=V data: %s", err);
		goto out;
	}
	if ((rc = kvmount_begin(cli, &k, argv[first], mount, 0)) != 0)
		goto out;
	rc = kv_write(cli, &k, "PUT", data, cas, cas >= 0, field);
 out:
	json_decref(data);
	free(err);
	kvmount_end(&k);
	return rc;
}

int
cmd_kv_patch(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL, *mount = NULL;
	const char	*method = NULL, *key;
	long long	 cas = 0;
	json_t		*remove = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 },
		{ "cas", FLAG_INT, &cas, 0 },
		{ "method", FLAG_STR, &method, 0 },
		{ "remove-data", FLAG_LIST, &remove, 0 },
		{ "mount", FLAG_STR, &mount, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*data = NULL, *cur = NULL, *e, *merged;
	char		*err = NULL, *path = NULL;
	size_t		 i;
	int		 first, rc = 1, rw = 0;

	memset(&k, 0, sizeof(k));
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 1, INT_MAX, ">1") != 0)
		goto out;
	if (argc - first == 1 && remove == NULL) {
		cli_error("Must supply data");
		goto out;
	}
	if (method != NULL && strcmp(method, "patch") != 0 &&
	    strcmp(method, "rw") != 0) {
		cli_error("Unsupported method provided to -method flag: %s",
		    method);
		rc = 2;
		goto out;
	}
	if (kvdata_parse(argc - first - 1, argv + first + 1, &data,
	    &err) == -1) {
		cli_error("Failed to parse K=V data: %s", err);
		goto out;
	}
	json_array_foreach(remove, i, e)
		json_object_set_new(data, json_string_value(e), json_null());
	if ((rc = kvmount_begin(cli, &k, argv[first], mount, 0)) != 0)
		goto out;
	rc = 2;
	if (!k.v2) {
		cli_error("K/V engine mount must be version 2 for patch "
		    "support");
		goto out;
	}
	rw = method != NULL && strcmp(method, "rw") == 0;
	if (!rw) {
		json_t	*body, *opts = json_object(), *s = NULL;

		if (cas > 0)
			json_object_set_new(opts, "cas", json_integer(cas));
		body = json_pack("{s:O,s:o}", "data", data, "options", opts);
		path = kvmount_rewrite(&k, "data");
		if (client_logical(k.c, "PATCH", path, NULL, body, 0, &s,
		    &err) == -1) {
			json_decref(body);
			if (method == NULL && strstr(err,
			    "\nCode: 405.") != NULL)
				rw = 1;
			else if (method == NULL && strstr(err,
			    "\nCode: 403.") != NULL) {
				cli_para(stderr, "Data was written to the "
				    "path but a patch was refused; coffer "
				    "falls back to reading and rewriting the "
				    "secret. Grant the \"patch\" capability "
				    "on this path to avoid the extra request.");
				rw = 1;
			} else {
				cli_error("Error writing data to %s: %s",
				    path, err);
				goto out;
			}
			wipefree(err);
			err = NULL;
		} else {
			json_decref(body);
			if (field != NULL)
				rc = fmt_field(cli, s, field);
			else if (strcmp(cli->format, "table") != 0)
				rc = fmt_secret(cli, s);
			else {
				out_path("Secret Path", path);
				map_header("Metadata",
				    json_object_get(s, "data"));
				kv_table(json_object_get(s, "data"));
				rc = 0;
			}
			json_decref(s);
			goto out;
		}
	}
	/* Read, merge locally, write back with cas = current version. */
	free(path);
	path = kvmount_rewrite(&k, "data");
	if (request_read(cli, &k.c, path, NULL, &cur,
	    "Error doing pre-read at %s", path) != 0)
		goto out;
	merged = json_deep_copy(json_object_get(json_object_get(cur, "data"),
	    "data"));
	if (!json_is_object(merged)) {
		json_decref(merged);
		merged = json_object();
	}
	json_object_foreach(data, key, e)
		if (json_is_null(e))
			json_object_del(merged, key);
		else
			json_object_set(merged, key, e);
	rc = kv_write(cli, &k, "PUT", merged, json_integer_value(
	    json_object_get(json_object_get(json_object_get(cur, "data"),
	    "metadata"), "version")), 1, field);
	json_decref(merged);
 out:
	json_decref(remove);
	json_decref(data);
	json_decref(cur);
	free(path);
	wipefree(err);
	kvmount_end(&k);
	return rc;
}

/* delete (DELETE data/), undelete and destroy (PUT seg/ + versions). */
static int
kv_versions(struct cli *cli, int argc, char **argv, const char *seg)
{
	const char	*f = NULL, *mount = NULL;
	json_t		*vers = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "versions", FLAG_LIST, &vers, 0 },
		{ "mount", FLAG_STR, &mount, 0 },
		{ "field", FLAG_STR, &f, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*body = NULL, *s = NULL;
	char		*path = NULL, *shown = NULL;
	int		 first, rc = 1, del = strcmp(seg, "delete") == 0;

	memset(&k, 0, sizeof(k));
	if (!del)
		fl[3].name = NULL;	/* -field is kv delete's only */
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		goto out;
	if (argc - first != 1 && !(argc - first == 0 && mount != NULL)) {
		cli_error("%s arguments (expected 1, got %d)", argc - first <
		    1 ? "Not enough" : "Too many", argc - first);
		goto out;
	}
	if (!del && vers == NULL) {
		cli_error("No versions provided, use the \"-versions\" flag "
		    "to specify the version to %s.", seg);
		goto out;
	}
	if ((rc = kvmount_begin(cli, &k, argc > first ? argv[first] : "",
	    mount, 0)) != 0)
		goto out;
	if (!k.v2 && !del) {
		cli_error("%c%s not supported on KV Version 1",
		    seg[0] - 'a' + 'A', seg + 1);
		rc = 1;
		goto out;
	}
	rc = 2;
	if (!k.v2) {
		path = xstrdup(k.path);
		shown = xstrdup(k.path);
	} else if (del && vers == NULL) {
		path = kvmount_rewrite(&k, "data");
		shown = xstrdup(path);
	} else {
		path = kvmount_rewrite(&k, seg);
		shown = del ? kvmount_rewrite(&k, "data") : xstrdup(path);
		body = versions_body(vers);
	}
	if (request(cli, &k.c, body != NULL ? "PUT" : "DELETE", path, NULL,
	    body, 0, &s, "Error %s %s", del ? "deleting" : "writing data to",
	    shown) != 0)
		goto out;
	if (del)
		printf("Success! Data deleted (if it existed) at: %s\n",
		    shown);
	else
		printf("Success! Data written to: %s\n", shown);
	rc = 0;
 out:
	json_decref(vers);
	json_decref(body);
	json_decref(s);
	free(path);
	free(shown);
	kvmount_end(&k);
	return rc;
}

int
cmd_kv_delete(struct cli *cli, int argc, char **argv)
{
	return kv_versions(cli, argc, argv, "delete");
}

int
cmd_kv_undelete(struct cli *cli, int argc, char **argv)
{
	return kv_versions(cli, argc, argv, "undelete");
}

int
cmd_kv_destroy(struct cli *cli, int argc, char **argv)
{
	return kv_versions(cli, argc, argv, "destroy");
}

int
cmd_kv_list(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *mount = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "mount", FLAG_STR, &mount, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	char		*path;
	int		 rc;

	if ((rc = kvmount_one(cli, fl, &mount, argc, argv, NULL, &k)) == 0) {
		path = k.v2 ? kvmount_rewrite(&k, "metadata") :
		    xstrdup(k.path);
		rc = request_list(cli, &k.c, path, 0);
		free(path);
	}
	kvmount_end(&k);
	return rc;
}

static int
vcmp(const void *a, const void *b)
{
	long long x = atoll(*(const char *const *)a);
	long long y = atoll(*(const char *const *)b);

	return (x > y) - (x < y);
}

int
cmd_kv_mget(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *mount = NULL, *key, **vk;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "mount", FLAG_STR, &mount, 0 }, { NULL, 0, NULL, 0 } };
	struct kvctx	 k;
	json_t		*s = NULL, *d, *vers, *md, *v;
	struct sbuf	 t = { 0 };
	char		*path = NULL;
	size_t		 n = 0, i;
	int		 rc = 1;

	if ((rc = kvmount_one(cli, fl, &mount, argc, argv, "Metadata",
	    &k)) != 0)
		goto out;
	rc = 2;
	path = kvmount_rewrite(&k, "metadata");
	if (request_read(cli, &k.c, path, NULL, &s, "Error reading %s",
	    path) != 0)
		goto out;
	if (strcmp(cli->format, "table") != 0) {
		rc = fmt_secret(cli, s);
		goto out;
	}
	d = json_object_get(s, "data");
	vers = json_object_get(d, "versions");
	md = json_deep_copy(d);
	json_object_del(md, "versions");
	out_path("Metadata Path", path);
	map_header("Metadata", md);
	kv_table(md);
	json_decref(md);
	if (!json_is_object(vers)) {
		cli_error("No value found at %s", path);
		goto out;
	}
	vk = xmalloc(sizeof(*vk) * (json_object_size(vers) + 1));
	json_object_foreach(vers, key, v)
		vk[n++] = key;
	qsort(vk, n, sizeof(*vk), vcmp);
	for (i = 0; i < n; i++) {
		v = json_object_get(vers, vk[i]);
		putchar('\n');
		sbuf_printf(&t, "Version %s", vk[i]);
		map_header(sbuf_str(&t), v);
		sbuf_free(&t);
		kv_table(v);
	}
	free(vk);
	rc = 0;
 out:
	json_decref(s);
	free(path);
	kvmount_end(&k);
	return rc;
}
