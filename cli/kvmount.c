/*
 * kvmount.c -- which KV mount a kv command's path lies in, and the
 * paths version 2 wants.
 *
 * kvmount_begin asks sys/internal/ui/mounts/<path> for the mount and
 * its version (a 404 means version 1, as with an old server);
 * kvmount_rewrite puts data/, metadata/, delete/, undelete/ or
 * destroy/ after the mount (cli.md §8.8).  cmd_kv.c and cmd_kvadmin.c
 * are the callers.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "kvmount.h"
#include "util.h"

int
kvmount_begin(struct cli *cli, struct kvctx *k, const char *arg,
    const char *mountflag, int keep_trailing)
{
	struct sbuf	 b = { 0 };
	json_t		*s = NULL, *d;
	char		*err = NULL, *a;
	const char	*mp, *ver;
	int64_t		 wrap;
	int		 rc = 2, curl;

	memset(k, 0, sizeof(*k));
	a = pathtrim(arg != NULL ? arg : "", keep_trailing);
	if (mountflag != NULL && *mountflag != '\0') {
		char *m = pathtrim(mountflag, 0);

		sbuf_printf(&b, "%s/%s", m, a);
		free(m);
		free(a);
		k->path = sbuf_take(&b);
	} else
		k->path = a;
	if ((k->c = cli_client(cli, 0)) == NULL)
		goto out;
	sbuf_printf(&b, "sys/internal/ui/mounts/%s", mountflag != NULL &&
	    *mountflag != '\0' ? mountflag : k->path);
	/* The detection is sent as is: no wrapping, no curl string. */
	curl = cli->hf.output_curl;
	wrap = cli->hf.wrap_ttl;
	cli->hf.output_curl = 0;
	cli->hf.wrap_ttl = 0;
	if (client_logical(k->c, "GET", sbuf_str(&b), NULL, NULL, 1, &s,
	    &err) == -1) {
		cli->hf.output_curl = curl;
		cli->hf.wrap_ttl = wrap;
		cli_error("%s", err);
		goto out;
	}
	cli->hf.output_curl = curl;
	cli->hf.wrap_ttl = wrap;
	d = json_object_get(s, "data");
	mp = json_string_value(json_object_get(d, "path"));
	ver = json_string_value(json_object_get(json_object_get(d,
	    "options"), "version"));
	k->mount = xstrdup(mp != NULL ? mp : "");
	k->v2 = ver != NULL && strcmp(ver, "2") == 0;
	rc = 0;
 out:
	sbuf_free(&b);
	json_decref(s);
	free(err);
	return rc;
}

void
kvmount_end(struct kvctx *k)
{
	client_free(k->c);
	free(k->mount);
	free(k->path);
}

char *
kvmount_rewrite(struct kvctx *k, const char *seg)
{
	struct sbuf	 b = { 0 };
	const char	*rest = k->path;
	size_t		 ml = strlen(k->mount), n;
	char		*out, *p, *q;

	if (ml > 0 && strncmp(rest, k->mount, ml) == 0)
		rest += ml;
	else if (ml > 0 && strncmp(rest, k->mount, ml - 1) == 0 &&
	    rest[ml - 1] == '\0')
		rest += ml - 1;
	sbuf_printf(&b, "%s/%s/%s", k->mount, seg, rest);
	out = sbuf_take(&b);
	for (p = q = out; *p != '\0'; p++)
		if (!(*p == '/' && q > out && q[-1] == '/'))
			*q++ = *p;
	*q = '\0';
	n = strlen(out);
	while (n > 0 && out[n - 1] == '/')
		out[--n] = '\0';
	return out;
}

int
kvmount_one(struct cli *cli, struct flag *fl, const char *const *mount,
    int argc, char **argv, const char *v2only, struct kvctx *k)
{
	int	 first, rc;

	memset(k, 0, sizeof(*k));
	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	if (argc - first > 1 || (argc - first == 0 && *mount == NULL)) {
		cli_error("%s arguments (expected 1, got %d)", argc - first <
		    1 ? "Not enough" : "Too many", argc - first);
		return 1;
	}
	if ((rc = kvmount_begin(cli, k, argc > first ? argv[first] : "",
	    *mount, 0)) != 0)
		return rc;
	if (v2only != NULL && !k->v2) {
		cli_error("%s not supported on KV Version 1", v2only);
		return 1;
	}
	return 0;
}
