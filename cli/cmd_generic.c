/*
 * cmd_generic.c -- read, write, list and delete on any API path.
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
#include "request.h"
#include "util.h"

/*
 * write and delete: send, then "Success! <done>: <path>" (table) when
 * nothing came back, else the answer (or its -field).  A 404 that
 * carried data is printed after the error.
 */
static int
send_show(struct cli *cli, const char *method, const char *path,
    json_t *q, json_t *body, const char *field, const char *what,
    const char *done)
{
	struct client	*c = NULL;
	json_t		*s = NULL;
	int		 rc;

	if ((rc = request(cli, &c, method, path, q, body, 0, &s, "%s %s",
	    what, path)) != 0) {
		if (s != NULL)
			(void)fmt_secret(cli, s);
	} else if (s == NULL) {
		if (strcmp(cli->format, "table") == 0)
			printf("Success! %s: %s\n", done, path);
	} else
		rc = field != NULL ? fmt_field(cli, s, field) :
		    fmt_secret(cli, s);
	json_decref(s);
	client_free(c);
	return rc;
}

int
cmd_read(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 }, { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*q = NULL, *s = NULL;
	char		*path = NULL, *err = NULL, *raw = NULL;
	long		 status;
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 1, INT_MAX, "1") != 0)
		return 1;
	if (kvdata_parse(argc - first - 1, argv + first + 1, &q, &err) == -1) {
		cli_error("Failed to parse K=V data: %s", err);
		goto out;
	}
	path = pathtrim(argv[first], 0);
	rc = 2;
	if (strcmp(cli->format, "raw") != 0) {
		if ((rc = request_read(cli, &c, path, q, &s,
		    "Error reading %s", path)) == 0)
			rc = field != NULL ? fmt_field(cli, s, field) :
			    fmt_secret(cli, s);
		goto out;
	}
	if ((c = cli_client(cli, 0)) == NULL)
		goto out;
	if (client_raw(c, "GET", path, q, NULL, &status, &raw, &err) == -1 ||
	    status >= 400) {
		cli_error("Error reading: %s: %s", path, err);
		goto out;
	}
	printf("%s\n", raw);
	rc = 0;
 out:
	json_decref(q);
	json_decref(s);
	free(path);
	wipefree(err);
	wipefree(raw);
	client_free(c);
	return rc;
}

int
cmd_write(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL;
	int		 force = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 },
		{ "force", FLAG_BOOL, &force, 0 },
		{ "f", FLAG_BOOL, &force, 0 }, { NULL, 0, NULL, 0 } };
	json_t		*body = NULL;
	char		*path = NULL, *err = NULL;
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 1, INT_MAX, "1") != 0)
		return 1;
	if (argc - first == 1 && !force) {
		cli_error("Must supply data or use -force");
		return 1;
	}
	if (kvdata_parse(argc - first - 1, argv + first + 1, &body,
	    &err) == -1) {
		cli_error("Failed to parse K=V data: %s", err);
		goto out;
	}
	if (json_object_size(body) == 0) {
		json_decref(body);
		body = json_null();
	}
	path = pathtrim(argv[first], 0);
	rc = send_show(cli, "PUT", path, NULL, body, field,
	    "Error writing data to", "Data written to");
 out:
	json_decref(body);
	free(path);
	wipefree(err);
	return rc;
}

int
cmd_list(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "detailed", FLAG_BOOL, &cli->detailed, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	char		*path;
	int		 first, rc, keep = cli->detailed;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	cli->detailed = keep;	/* only the pre-scan decides (cli.md §1.3) */
	if (cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	path = pathtrim(argv[first], 0);
	rc = request_list(cli, &c, path, 1);
	free(path);
	client_free(c);
	return rc;
}

int
cmd_delete(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 }, { NULL, 0, NULL, 0 } };
	json_t		*q = NULL;
	char		*path = NULL, *err = NULL;
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 1, INT_MAX, "at least 1") != 0)
		return 1;
	if (kvdata_parse(argc - first - 1, argv + first + 1, &q, &err) == -1) {
		cli_error("Failed to parse string list data: %s", err);
		goto out;
	}
	path = pathtrim(argv[first], 0);
	rc = send_show(cli, "DELETE", path, q, NULL, field,
	    "Error deleting", "Data deleted (if it existed) at");
 out:
	json_decref(q);
	free(path);
	free(err);
	return rc;
}

/*
 * unwrap [TOKEN]: the token becomes the request's token when none is
 * set; a different token goes in the body.  Otherwise vault sends the
 * body "null"; coffer sends none, which cofferd (it refuses a null
 * body today) and vault both read as no data.
 */
int
cmd_unwrap(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 }, { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*body = NULL, *s = NULL;
	char		*tok = NULL, *err = NULL;
	int		 first, rc = 2;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 0, 1, "0-1") != 0)
		return 1;
	if (argc - first == 1)
		tok = trim(xstrdup(argv[first]));
	if ((c = cli_client(cli, 0)) == NULL)
		goto out;
	if (tok != NULL && *tok != '\0' && *client_token(c) == '\0')
		client_set_token(c, tok);
	else if (tok != NULL && *tok != '\0' &&
	    strcmp(tok, client_token(c)) != 0)
		body = json_pack("{s:s}", "token", tok);
	if (client_logical(c, "PUT", "sys/wrapping/unwrap", NULL, body, 0,
	    &s, &err) == -1 &&
	    s == NULL) {
		cli_error("Error unwrapping: %s", err);
		goto out;
	}
	if (s == NULL) {
		if (strcmp(cli->format, "table") == 0)
			puts("Successfully unwrapped. There was no data in "
			    "the wrapped secret.");
		rc = 0;
	} else if (field != NULL)
		rc = fmt_field(cli, s, field);
	else if (json_is_array(json_object_get(json_object_get(s, "data"),
	    "keys")))
		rc = fmt_list(cli, s, "sys/wrapping/unwrap");
	else
		rc = fmt_secret(cli, s);
 out:
	json_decref(body);
	json_decref(s);
	wipefree(tok);
	wipefree(err);
	client_free(c);
	return rc;
}
