/*
 * cmd_policy.c -- policy list, read, write and delete: the ACL
 * policies under sys/policies/acl, named as vault names them
 * (trimmed, lower-cased; cli.md §8.5).
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

#define POLICY_API	"sys/policies/acl/"

/*
 * The API path of the policy named arg, sys/policies/acl/<name>, with
 * the name as vault sends it: trimmed and lower-cased.  Owned; *name
 * points at the name inside it.
 */
static char *
policy_api(const char *arg, const char **name)
{
	char	*s, *api, *p;
	size_t	 len;

	s = trim(xstrdup(arg));
	len = sizeof(POLICY_API) + strlen(s);
	api = xmalloc(len);
	snprintf(api, len, POLICY_API "%s", s);
	free(s);
	*name = api + sizeof(POLICY_API) - 1;
	for (p = api + sizeof(POLICY_API) - 1; *p != '\0'; p++)
		*p = (char)tolower((unsigned char)*p);
	return api;
}

int
cmd_policy_list(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*q = NULL, *s = NULL, *keys, *e;
	size_t		 i;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		return 1;
	q = json_pack("{s:s}", "list", "true");
	if ((rc = request(cli, &c, "GET", "sys/policies/acl", q, NULL, 0, &s,
	    "Error listing policies")) != 0)
		goto out;
	keys = json_object_get(json_object_get(s, "data"), "keys");
	if (strcmp(cli->format, "table") != 0) {
		rc = fmt_doc(cli, keys != NULL ? keys : json_null());
		goto out;
	}
	json_array_foreach(keys, i, e)
		if (json_is_string(e))
			printf("%s\n", json_string_value(e));
 out:
	json_decref(q);
	json_decref(s);
	client_free(c);
	return rc;
}

int
cmd_policy_read(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *text, *name;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*s = NULL, *doc;
	char		*api, *t;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	api = policy_api(argv[first], &name);
	if ((rc = request(cli, &c, "GET", api, NULL, NULL, 1, &s,
	    "Error reading policy named %s", name)) != 0)
		goto out;
	text = json_string_value(json_object_get(json_object_get(s, "data"),
	    "policy"));
	if (s == NULL || text == NULL) {
		cli_error("No policy named: %s", name);
		rc = 2;
		goto out;
	}
	if (strcmp(cli->format, "table") != 0) {
		doc = json_pack("{s:s}", "policy", text);
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		goto out;
	}
	t = trim(xstrdup(text));
	printf("%s\n", t);
	free(t);
 out:
	json_decref(s);
	free(api);
	client_free(c);
	return rc;
}

int
cmd_policy_write(struct cli *cli, int argc, char **argv)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 text = { 0 };
	json_t		*body = NULL, *s = NULL;
	const char	*name;
	char		*api;
	int		 first, rc = 1, r;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 2, "2") != 0)
		return 1;
	api = policy_api(argv[first], &name);
	if (strcmp(argv[first + 1], "-") == 0)
		r = read_all_fd(STDIN_FILENO, &text);
	else
		r = read_file(argv[first + 1], &text);
	if (r == -1) {
		/* Go's *PathError text: "open <path>: <lower-case reason>" */
		char	 why[128];

		strlcpy(why, strerror(errno), sizeof(why));
		why[0] = (char)tolower((unsigned char)why[0]);
		cli_error("Error opening policy file: open %s: %s",
		    argv[first + 1], why);
		rc = 2;
		goto out;
	}
	if (strcmp(name, argv[first]) != 0)
		cli_warn("Policy name was converted from \"%s\" to \"%s\"",
		    argv[first], name);
	body = json_pack("{s:s}", "policy", sbuf_str(&text));
	if (body == NULL) {
		cli_error("Error uploading policy: the policy is not UTF-8");
		goto out;
	}
	if ((rc = request(cli, &c, "PUT", api, NULL, body, 0, &s,
	    "Error uploading policy")) == 0)
		printf("Success! Uploaded policy: %s\n", name);
 out:
	json_decref(body);
	json_decref(s);
	sbuf_free(&text);
	free(api);
	client_free(c);
	return rc;
}

int
cmd_policy_delete(struct cli *cli, int argc, char **argv)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*s = NULL;
	const char	*name;
	char		*api;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 1, "1") != 0)
		return 1;
	api = policy_api(argv[first], &name);
	if ((rc = request(cli, &c, "DELETE", api, NULL, NULL, 0, &s,
	    "Error deleting %s", name)) == 0)
		printf("Success! Deleted policy: %s\n", name);
	json_decref(s);
	free(api);
	client_free(c);
	return rc;
}
