/*
 * cmd_token.c -- login and the token commands.
 *
 * login stores the token through the token helper (tokenhelper.c)
 * unless -no-store; a set VAULT_TOKEN still wins afterwards, and a
 * warning says so, as vault does.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "kvdata.h"
#include "prompt.h"
#include "request.h"
#include "tokenhelper.h"
#include "util.h"

static json_t	*lookup_auth(json_t *);

/* A lookup-self answer turned into the auth block of a login. */
static json_t *
lookup_auth(json_t *s)
{
	json_t	*d = json_object_get(s, "data"), *a, *pol, *ip;

	pol = json_array();
	json_array_extend(pol, json_is_array(json_object_get(d, "policies")) ?
	    json_object_get(d, "policies") : json_array());
	ip = json_object_get(d, "identity_policies");
	if (json_is_array(ip))
		json_array_extend(pol, ip);
	a = json_object();
	json_object_set(a, "client_token", json_object_get(d, "id"));
	json_object_set(a, "accessor", json_object_get(d, "accessor"));
	json_object_set_new(a, "policies", pol);
	json_object_set(a, "token_policies", json_object_get(d, "policies"));
	json_object_set(a, "identity_policies", ip != NULL ? ip :
	    json_null());
	json_object_set(a, "metadata", json_object_get(d, "meta") ?
	    json_object_get(d, "meta") : json_null());
	if (json_object_get(d, "ttl") != NULL)
		json_object_set(a, "lease_duration", json_object_get(d, "ttl"));
	else
		json_object_set_new(a, "lease_duration", json_integer(0));
	json_object_set(a, "renewable", json_object_get(d, "renewable") ?
	    json_object_get(d, "renewable") : json_false());
	json_object_set_new(s, "auth", a);
	json_object_set_new(s, "data", json_null());
	return s;
}

int
cmd_login(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL, *method = "token";
	const char	*mpath = NULL, *why, *v;
	int		 nostore = 0, noprint = 0, tonly = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 },
		{ "method", FLAG_STR, &method, 0 },
		{ "path", FLAG_STR, &mpath, 0 },
		{ "no-store", FLAG_BOOL, &nostore, 0 },
		{ "no-print", FLAG_BOOL, &noprint, 0 },
		{ "token-only", FLAG_BOOL, &tonly, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 b = { 0 }, in = { 0 };
	json_t		*conf = NULL, *s = NULL, *body = NULL;
	char		*m = NULL, *mount = NULL, *err = NULL, *tok = NULL;
	char		*pw = NULL, **args = NULL;
	int		 first, rc = 1, i, nargs, lookup = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	if (tonly) {
		field = "token";
		nostore = 1;
	}
	if (nostore && noprint) {
		cli_error("-no-store and -no-print cannot be used together");
		return 1;
	}
	m = pathtrim(method, 0);
	if (strcmp(m, "token") != 0 && strcmp(m, "userpass") != 0 &&
	    strcmp(m, "radius") != 0 && strcmp(m, "approle") != 0) {
		sbuf_printf(&b, "Unknown auth method: %s. Use \"%s auth "
		    "list\" to see the complete list of auth methods. "
		    "Additionally, some auth methods are only available via "
		    "the HTTP API.", m, cli->argv0);
		cli_para(stderr, sbuf_str(&b));
		goto out;
	}
	nargs = argc - first;
	args = xmalloc(sizeof(*args) * (nargs + 1));
	for (i = 0; i < nargs; i++)
		args[i] = argv[first + i];
	if (strcmp(m, "token") == 0 && nargs > 0 &&
	    strchr(args[0], '=') == NULL) {
		sbuf_printf(&in, "token=%s", args[0]);
		args[0] = in.p;
	}
	if (kvdata_parse(nargs, args, &conf, &err) == -1) {
		cli_error("Error parsing configuration: %s", err);
		goto out;
	}
	v = json_string_value(json_object_get(conf, "mount"));
	mount = pathtrim(v != NULL ? v : mpath != NULL ? mpath :
	    strcmp(m, "radius") == 0 ? "radius" : m, 0);
	rc = 2;
	if ((c = cli_client(cli, strcmp(m, "token") != 0)) == NULL)
		goto out;
	sbuf_free(&b);
	if (strcmp(m, "token") == 0) {
		v = json_string_value(json_object_get(conf, "token"));
		if ((v = json_string_value(json_object_get(conf,
		    "lookup"))) != NULL && (lookup = flags_bool(v)) == -1) {
			cli_error("Failed to parse \"lookup\" as boolean: "
			    "strconv.ParseBool: parsing \"%s\": invalid "
			    "syntax", v);
			rc = 1;
			goto out;
		}
		v = json_string_value(json_object_get(conf, "token"));
		if (v == NULL) {
			if (prompt_hidden(stderr, "Token (will be hidden): ",
			    &tok, &why) == -1) {
				cli_para(stderr, "An error occurred attempting "
				    "to ask for a token. The raw error message "
				    "is shown below, but usually this is "
				    "because you attempted to pipe a value "
				    "into the command or you are executing "
				    "outside of a terminal (tty). If you want "
				    "to pipe the value, pass \"-\" as the "
				    "argument to read from stdin.");
				cli_error("\n%s", why);
				goto out;
			}
		} else
			tok = xstrdup(v);
		trim(tok);
		if (*tok == '\0') {
			cli_error("Error authenticating: a token must be "
			    "passed to auth, please view the help for more "
			    "information");
			goto out;
		}
		client_set_token(c, tok);
		if (!lookup) {
			s = json_pack("{s:{s:s}}", "auth", "client_token",
			    tok);
		} else {
			if (request(cli, &c, "GET", "auth/token/lookup-self",
			    NULL, NULL, 0, &s, "Error authenticating: error "
			    "looking up token") != 0)
				goto out;
			if (s == NULL) {
				cli_error("Error authenticating: empty "
				    "response from lookup-self");
				goto out;
			}
			s = lookup_auth(s);
		}
	} else if (strcmp(m, "approle") == 0) {
		body = json_object();
		if (json_object_get(conf, "role_id") != NULL)
			json_object_set(body, "role_id",
			    json_object_get(conf, "role_id"));
		else
			json_object_set_new(body, "role_id", json_string(""));
		if (json_object_get(conf, "secret_id") != NULL)
			json_object_set(body, "secret_id",
			    json_object_get(conf, "secret_id"));
		sbuf_printf(&b, "auth/%s/login", mount);
	} else {
		const char *user = json_string_value(json_object_get(conf,
		    "username"));

		if (user == NULL || *user == '\0') {
			cli_error("Error authenticating: 'username' must be "
			    "specified");
			goto out;
		}
		v = json_string_value(json_object_get(conf, "password"));
		if (v == NULL) {
			if (prompt_hidden(stderr, "Password (will be hidden): ",
			    &pw, &why) == -1) {
				cli_error("Error authenticating: error reading "
				    "password: %s", why);
				goto out;
			}
			v = pw;
		}
		body = json_pack("{s:s}", "password", v);
		sbuf_printf(&b, "auth/%s/login/%s", mount, user);
	}
	if (body != NULL && request(cli, &c, "PUT", sbuf_str(&b), NULL, body,
	    0, &s, "Error authenticating") != 0)
		goto out;
	if (!json_is_object(json_object_get(s, "auth")) ||
	    json_string_value(json_object_get(json_object_get(s, "auth"),
	    "client_token")) == NULL) {
		cli_para(stderr, "Vault returned a secret, but the secret has "
		    "no authentication information attached. This should "
		    "never happen and is likely a bug.");
		goto out;
	}
	if (!nostore) {
		if (tokenhelper_store(json_string_value(json_object_get(
		    json_object_get(s, "auth"), "client_token")), &err) == -1) {
			cli_error("Error storing token: %s", err);
			cli_para(stderr, "Authentication was successful, but "
			    "the token was not persisted. The resulting token "
			    "is shown below for your records.");
			(void)fmt_secret(cli, s);
			goto out;
		}
		if ((v = getenv("VAULT_TOKEN")) != NULL && *v != '\0')
			cli_para(stderr, "WARNING! The VAULT_TOKEN environment "
			    "variable is set! The value of this variable will "
			    "take precedence; if this is unwanted please unset "
			    "VAULT_TOKEN or update its value accordingly.");
	} else if (!tonly)
		cli_para(stderr, "The token was not stored in token helper. "
		    "Set the VAULT_TOKEN environment variable or pass the "
		    "token below with each request to Vault.");
	if (noprint) {
		rc = 0;
		goto out;
	}
	if (field != NULL) {
		rc = fmt_field(cli, s, field);
		goto out;
	}
	if (strcmp(cli->format, "table") == 0) {
		cli_para(stdout, "Success! You are now authenticated. The "
		    "token information displayed below is already stored in "
		    "the token helper. You do NOT need to run \"coffer "
		    "login\" again. Future Vault requests will automatically "
		    "use this token.");
		putchar('\n');
	}
	rc = fmt_secret(cli, s);
 out:
	json_decref(conf);
	json_decref(s);
	json_decref(body);
	sbuf_free(&b);
	sbuf_free(&in);
	free(args);
	free(m);
	free(mount);
	wipefree(err);
	wipefree(tok);
	wipefree(pw);
	client_free(c);
	return rc;
}

int
cmd_token_create(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *field = NULL, *role = NULL, *id = NULL;
	const char	*dname = "", *type = "service", *alias = "";
	json_t		*pol = NULL, *meta = NULL;
	int64_t		 ttl = 0, emax = 0, period = 0;
	long long	 uses = 0;
	int		 renew = 1, orphan = 0, nodef = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "field", FLAG_STR, &field, 0 },
		{ "policy", FLAG_LIST, &pol, 0 },
		{ "ttl", FLAG_DUR, &ttl, 0 },
		{ "explicit-max-ttl", FLAG_DUR, &emax, 0 },
		{ "period", FLAG_DUR, &period, 0 },
		{ "renewable", FLAG_BOOL, &renew, 0 },
		{ "orphan", FLAG_BOOL, &orphan, 0 },
		{ "no-default-policy", FLAG_BOOL, &nodef, 0 },
		{ "use-limit", FLAG_INT, &uses, 0 },
		{ "display-name", FLAG_STR, &dname, 0 },
		{ "metadata", FLAG_MAP, &meta, 0 },
		{ "type", FLAG_STR, &type, 0 },
		{ "role", FLAG_STR, &role, 0 },
		{ "id", FLAG_STR, &id, 0 },
		{ "entity-alias", FLAG_STR, &alias, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 p = { 0 };
	json_t		*body = NULL, *s = NULL;
	char		 d[48];
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		goto out;
	if (strcmp(type, "batch") == 0)
		renew = 0;
	body = json_object();
	if (id != NULL && *id != '\0')
		json_object_set_new(body, "id", json_string(id));
	if (pol != NULL)
		json_object_set(body, "policies", pol);
	if (meta != NULL)
		json_object_set(body, "meta", meta);
	flags_durfmt(ttl, d, sizeof(d));
	json_object_set_new(body, "ttl", json_string(d));
	flags_durfmt(emax, d, sizeof(d));
	json_object_set_new(body, "explicit_max_ttl", json_string(d));
	flags_durfmt(period, d, sizeof(d));
	json_object_set_new(body, "period", json_string(d));
	if (orphan)
		json_object_set_new(body, "no_parent", json_true());
	if (nodef)
		json_object_set_new(body, "no_default_policy", json_true());
	json_object_set_new(body, "display_name", json_string(dname));
	json_object_set_new(body, "num_uses", json_integer(uses));
	json_object_set_new(body, "renewable", json_boolean(renew));
	json_object_set_new(body, "type", json_string(type));
	json_object_set_new(body, "entity_alias", json_string(alias));
	if (role != NULL && *role != '\0')
		sbuf_printf(&p, "auth/token/create/%s", role);
	else
		sbuf_puts(&p, "auth/token/create");
	if ((rc = request(cli, &c, "POST", sbuf_str(&p), NULL, body, 0, &s,
	    "Error creating token")) == 0)
		rc = field != NULL ? fmt_field(cli, s, field) :
		    fmt_secret(cli, s);
 out:
	json_decref(pol);
	json_decref(meta);
	json_decref(body);
	json_decref(s);
	sbuf_free(&p);
	client_free(c);
	return rc;
}

/*
 * Send body (consumed; NULL for none) to path and print the token the
 * answer carries, as lookup and renew do; what heads the error.
 */
static int
token_secret_request(struct cli *cli, const char *method, const char *path,
    json_t *body, const char *what)
{
	struct client	*c = NULL;
	json_t		*s = NULL;
	int		 rc;

	if ((rc = request(cli, &c, method, path, NULL, body, 0, &s, "%s",
	    what)) == 0 && s != NULL)
		rc = fmt_secret(cli, s);
	json_decref(body);
	json_decref(s);
	client_free(c);
	return rc;
}

int
cmd_token_lookup(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	int		 acc = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "accessor", FLAG_BOOL, &acc, 0 }, { NULL, 0, NULL, 0 } };
	json_t		*body = NULL;
	const char	*path = "auth/token/lookup-self";
	int		 first, n;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(n = argc - first, 0, 1, "0-1") != 0)
		return 1;
	if (acc && n == 0) {
		cli_error("Not enough arguments with -accessor (expected 1, "
		    "got 0)");
		return 1;
	}
	if (n > 0) {
		path = acc ? "auth/token/lookup-accessor" :
		    "auth/token/lookup";
		body = json_pack("{s:s}", acc ? "accessor" : "token",
		    argv[first]);
	}
	return token_secret_request(cli, n > 0 ? "POST" : "GET", path, body,
	    "Error looking up token");
}

int
cmd_token_renew(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	int64_t		 inc = 0;
	int		 acc = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "increment", FLAG_DUR, &inc, 0 },
		{ "i", FLAG_DUR, &inc, 0 },
		{ "accessor", FLAG_BOOL, &acc, 0 }, { NULL, 0, NULL, 0 } };
	json_t		*body;
	const char	*path;
	int		 first, n;
	json_int_t	 secs;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(n = argc - first, 0, 1, "0-1") != 0)
		return 1;
	secs = (json_int_t)(inc / 1000000000LL);
	if (n == 0) {
		path = "auth/token/renew-self";
		body = json_pack("{s:I}", "increment", secs);
	} else if (acc) {
		path = "auth/token/renew-accessor";
		body = json_pack("{s:s,s:I}", "accessor", argv[first],
		    "increment", secs);
	} else {
		path = "auth/token/renew";
		body = json_pack("{s:s,s:I}", "token", argv[first],
		    "increment", secs);
	}
	return token_secret_request(cli, acc ? "POST" : "PUT", path, body,
	    "Error renewing token");
}

int
cmd_token_revoke(struct cli *cli, int argc, char **argv)
{
	const char	*mode = "";
	int		 self = 0, acc = 0;
	struct flag	 fl[] = { { "self", FLAG_BOOL, &self, 0 },
		{ "accessor", FLAG_BOOL, &acc, 0 },
		{ "mode", FLAG_STR, &mode, 0 }, { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 p = { 0 };
	json_t		*body = NULL, *s = NULL;
	const char	*method = "PUT";
	int		 first, rc = 1, n;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	n = argc - first;
	if (*mode != '\0' && strcmp(mode, "orphan") != 0 &&
	    strcmp(mode, "path") != 0) {
		cli_error("Invalid mode: %s", mode);
		return 1;
	}
	if (self && acc) {
		cli_error("Cannot use -self with -accessor!");
		return 1;
	}
	if (self && *mode != '\0') {
		cli_error("Cannot use -self with -mode!");
		return 1;
	}
	if (acc && *mode != '\0') {
		cli_error("Cannot use -accessor with -mode=%s!", mode);
		return 1;
	}
	if (self && n > 0) {
		cli_error("Too many arguments with -self (expected 0, got %d)",
		    n);
		return 1;
	}
	if (!self && n != 1) {
		cli_error("%s arguments (expected 1 or -self, got %d)",
		    n < 1 ? "Not enough" : "Too many", n);
		return 1;
	}
	if (self)
		sbuf_puts(&p, "auth/token/revoke-self");
	else if (acc) {
		method = "POST";
		sbuf_puts(&p, "auth/token/revoke-accessor");
		body = json_pack("{s:s}", "accessor", argv[first]);
	} else if (strcmp(mode, "orphan") == 0) {
		sbuf_puts(&p, "auth/token/revoke-orphan");
		body = json_pack("{s:s}", "token", argv[first]);
	} else if (strcmp(mode, "path") == 0)
		sbuf_printf(&p, "sys/leases/revoke-prefix/%s", argv[first]);
	else {
		sbuf_puts(&p, "auth/token/revoke");
		body = json_pack("{s:s}", "token", argv[first]);
	}
	if ((rc = request(cli, &c, method, sbuf_str(&p), NULL, body, 0, &s,
	    "Error revoking token")) == 0)
		puts("Success! Revoked token (if it existed)");
	json_decref(body);
	json_decref(s);
	sbuf_free(&p);
	client_free(c);
	return rc;
}

static int
cmpcap(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int
cmd_token_caps(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *tok = NULL, *path, **caps;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*body = NULL, *s = NULL, *d, *list, *e;
	size_t		 i, n = 0;
	int		 first, rc = 1, na;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(na = argc - first, 1, 2, "1-2") != 0)
		return 1;
	path = argv[first + na - 1];
	if (na == 2)
		tok = argv[first];
	rc = 2;
	if ((c = cli_client(cli, 0)) == NULL)
		goto out;
	if (tok == NULL || strcmp(tok, client_token(c)) == 0)
		tok = NULL;
	body = json_pack("{s:s,s:s}", "token", tok != NULL ? tok :
	    client_token(c), "path", path);
	if (request(cli, &c, "POST", tok != NULL ? "sys/capabilities" :
	    "sys/capabilities-self", NULL, body, 0, &s,
	    "Error listing capabilities") != 0)
		goto out;
	d = json_object_get(s, "data");
	if ((list = json_object_get(d, path)) == NULL)
		list = json_object_get(d, "capabilities");
	if (json_array_size(list) == 0) {
		cli_error("No capabilities found");
		rc = 1;
		goto out;
	}
	if (strcmp(cli->format, "table") != 0) {
		rc = fmt_doc(cli, list);
		goto out;
	}
	caps = xmalloc(sizeof(*caps) * json_array_size(list));
	json_array_foreach(list, i, e)
		if (json_is_string(e))
			caps[n++] = json_string_value(e);
	qsort(caps, n, sizeof(*caps), cmpcap);
	for (i = 0; i < n; i++)
		printf("%s%s", i > 0 ? ", " : "", caps[i]);
	putchar('\n');
	free(caps);
	rc = 0;
 out:
	json_decref(body);
	json_decref(s);
	client_free(c);
	return rc;
}
