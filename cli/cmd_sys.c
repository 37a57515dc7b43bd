/*
 * cmd_sys.c -- status, version and the operator commands.
 *
 * status exits 2 when the server is sealed (or not initialized), 1 on
 * any error: health checks depend on both (cli.md §8.1, §9.1).
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "prompt.h"
#include "request.h"
#include "util.h"

static int	 print_status(struct cli *, struct client *, json_t *);
static int	 key_status(struct cli *, struct client **, int);
static json_t	*data_of(json_t *);
static int	 format_only(struct cli *, int, char **);

#define FORMAT_FLAG(v)	{ "format", FLAG_STR, &(v), 0 }

static json_t *
data_of(json_t *secret)
{
	json_t	*d = json_object_get(secret, "data");

	return json_is_object(d) ? d : NULL;
}

/* A command that takes -format and no argument: 0, or 1 shown. */
static int
format_only(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	struct flag	 fl[] = { FORMAT_FLAG(f), { NULL, 0, NULL, 0 } };
	int		 first;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		return 1;
	return 0;
}

static void
addrow(json_t *rows, const char *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
addrow(json_t *rows, const char *k, const char *fmt, ...)
{
	va_list	 ap;
	char	 buf[512];

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	fmt_row(rows, k, buf);
}

/* GET sys/leader, then print seal status ss the way status does. */
static int
print_status(struct cli *cli, struct client *c, json_t *ss)
{
	json_t		*ls = NULL, *ld, *doc, *rows, *v;
	const char	*rec;
	char		*err = NULL;
	int		 sealed, ha = 0, self = 0, rc = 1;
	static const char *opt[] = { "cluster_name", "cluster_id", NULL };

	if (client_logical(c, "GET", "sys/leader", NULL, NULL, 0, &ls,
	    &err) == -1) {
		if (strstr(err, "Vault is sealed") != NULL)
			ha = 1;
		else {
			cli_error("Error checking leader status: %s", err);
			goto out;
		}
	}
	ld = data_of(ls);
	if (ld != NULL) {
		ha = json_is_true(json_object_get(ld, "ha_enabled"));
		self = json_is_true(json_object_get(ld, "is_self"));
	}
	sealed = json_is_true(json_object_get(ss, "sealed"));
	rec = json_is_true(json_object_get(ss, "recovery_seal")) ?
	    "Recovery " : "";
	if (strcmp(cli->format, "table") != 0) {
		static const char *keys[] = { "type", "initialized", "sealed",
		    "t", "n", "progress", "nonce", "version", "build_date",
		    "migration", NULL };
		size_t	 i;

		doc = json_object();
		for (i = 0; keys[i] != NULL; i++) {
			v = json_object_get(ss, keys[i]);
			if (v == NULL)
				v = strcmp(keys[i], "t") == 0 ||
				    strcmp(keys[i], "n") == 0 ||
				    strcmp(keys[i], "progress") == 0 ?
				    json_integer(0) : (strcmp(keys[i],
				    "initialized") == 0 || strcmp(keys[i],
				    "sealed") == 0 || strcmp(keys[i],
				    "migration") == 0) ? json_false() :
				    json_string("");
			else
				json_incref(v);
			json_object_set_new(doc, keys[i], v);
		}
		for (i = 0; opt[i] != NULL; i++)
			if (*fmt_jstr(ss, opt[i]) != '\0')
				json_object_set_new(doc, opt[i],
				    json_string(fmt_jstr(ss, opt[i])));
		json_object_set_new(doc, "recovery_seal", json_boolean(
		    json_is_true(json_object_get(ss, "recovery_seal"))));
		if (*fmt_jstr(ss, "storage_type") != '\0')
			json_object_set_new(doc, "storage_type",
			    json_string(fmt_jstr(ss, "storage_type")));
		json_object_set_new(doc, "ha_enabled", json_boolean(ha));
		if (self)
			json_object_set_new(doc, "is_self", json_true());
		json_object_set_new(doc, "active_time", json_string(
		    *fmt_jstr(ld, "active_time") != '\0' ? fmt_jstr(ld,
		    "active_time") : "0001-01-01T00:00:00Z"));
		if (*fmt_jstr(ld, "leader_address") != '\0')
			json_object_set_new(doc, "leader_address",
			    json_string(fmt_jstr(ld, "leader_address")));
		if (*fmt_jstr(ld, "leader_cluster_address") != '\0')
			json_object_set_new(doc, "leader_cluster_address",
			    json_string(fmt_jstr(ld, "leader_cluster_address")));
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		if (rc == 0)
			rc = sealed ? 2 : 0;
		goto out;
	}
	rows = json_array();
	fmt_row(rows, "Key", "Value");
	addrow(rows, rec[0] ? "Recovery Seal Type" : "Seal Type", "%s",
	    fmt_jstr(ss, "type"));
	addrow(rows, "Initialized", "%s", json_is_true(json_object_get(ss,
	    "initialized")) ? "true" : "false");
	addrow(rows, "Sealed", "%s", sealed ? "true" : "false");
	addrow(rows, rec[0] ? "Total Recovery Shares" : "Total Shares",
	    "%lld", (long long)json_integer_value(json_object_get(ss, "n")));
	addrow(rows, "Threshold", "%lld",
	    (long long)json_integer_value(json_object_get(ss, "t")));
	if (sealed) {
		addrow(rows, "Unseal Progress", "%lld/%lld",
		    (long long)json_integer_value(json_object_get(ss,
		    "progress")),
		    (long long)json_integer_value(json_object_get(ss, "t")));
		addrow(rows, "Unseal Nonce", "%s", fmt_jstr(ss, "nonce"));
	}
	if (json_is_true(json_object_get(ss, "migration")))
		fmt_row(rows, "Seal Migration in Progress", "true");
	addrow(rows, "Version", "%s", fmt_jstr(ss, "version"));
	addrow(rows, "Build Date", "%s", fmt_jstr(ss, "build_date"));
	addrow(rows, "Storage Type", "%s", fmt_jstr(ss, "storage_type"));
	if (*fmt_jstr(ss, "cluster_name") != '\0' &&
	    *fmt_jstr(ss, "cluster_id") != '\0') {
		addrow(rows, "Cluster Name", "%s", fmt_jstr(ss, "cluster_name"));
		addrow(rows, "Cluster ID", "%s", fmt_jstr(ss, "cluster_id"));
	}
	addrow(rows, "HA Enabled", "%s", ha ? "true" : "false");
	if (ha && !sealed && ld != NULL) {
		addrow(rows, "HA Cluster", "%s",
		    fmt_jstr(ld, "leader_cluster_address"));
		addrow(rows, "HA Mode", "%s", self ? "active" : "standby");
		if (self && *fmt_jstr(ld, "active_time") != '\0' &&
		    strncmp(fmt_jstr(ld, "active_time"), "0001-01-01", 10) != 0)
			addrow(rows, "Active Since", "%s",
			    fmt_jstr(ld, "active_time"));
		if (!self)
			addrow(rows, "Active Node Address", "%s",
			    *fmt_jstr(ld, "leader_address") != '\0' ?
			    fmt_jstr(ld, "leader_address") : "<none>");
	}
	fmt_table(rows, 1);
	json_decref(rows);
	rc = sealed ? 2 : 0;
 out:
	json_decref(ls);
	free(err);
	return rc;
}

int
cmd_status(struct cli *cli, int argc, char **argv)
{
	struct client	*c = NULL;
	json_t		*ss = NULL;
	int		 rc = 1;

	if (format_only(cli, argc, argv) != 0)
		return 1;
	if (request(cli, &c, "GET", "sys/seal-status", NULL, NULL, 0, &ss,
	    "Error checking seal status") == 0)
		rc = print_status(cli, c, data_of(ss));
	json_decref(ss);
	client_free(c);
	return rc;
}

int
cmd_version(struct cli *cli, int argc, char **argv)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	int		 first;

	if (cli_parse(cli, fl, 0, argc, argv, &first) == -1)
		return 1;
	printf("Coffer v%s, built %s\n", COFFER_VERSION, COFFER_BUILD_DATE);
	return 0;
}

int
cmd_init(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL;
	long long	 shares = 0, thr = 0;
	int		 status = 0;
	struct flag	 fl[] = { FORMAT_FLAG(f),
		{ "key-shares", FLAG_INT, &shares, 0 },
		{ "n", FLAG_INT, &shares, 0 },
		{ "key-threshold", FLAG_INT, &thr, 0 },
		{ "t", FLAG_INT, &thr, 0 },
		{ "status", FLAG_BOOL, &status, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*s = NULL, *body = NULL, *d, *keys, *b64, *doc, *e;
	char		*err = NULL;
	size_t		 i;
	int		 first, rc = 2, useb64;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		return 1;
	if ((c = cli_client(cli, 0)) == NULL)
		return 2;
	if (client_logical(c, "GET", "sys/seal-status", NULL, NULL, 0, &s,
	    &err) == -1) {
		cli_error("%s", err);
		goto out;
	}
	json_decref(s);
	s = NULL;
	if (status) {
		if (request(cli, &c, "GET", "sys/init", NULL, NULL, 0, &s,
		    "Error checking init status") != 0) {
			rc = 1;
			goto out;
		}
		i = json_is_true(json_object_get(data_of(s), "initialized"));
		if (strcmp(cli->format, "table") == 0)
			printf("Vault is %sinitialized\n", i ? "" : "not ");
		else {
			doc = json_pack("{s:b}", "Initialized", (int)i);
			rc = fmt_doc(cli, doc);
			json_decref(doc);
			if (rc != 0)
				goto out;
		}
		rc = i ? 0 : 2;
		goto out;
	}
	if (shares == 0)
		shares = 5;
	if (thr == 0)
		thr = 3;
	body = json_pack("{s:I,s:I,s:i,s:n,s:i,s:i,s:n,s:s}",
	    "secret_shares", (json_int_t)shares, "secret_threshold",
	    (json_int_t)thr, "stored_shares", 0, "pgp_keys",
	    "recovery_shares", 0, "recovery_threshold", 0,
	    "recovery_pgp_keys", "root_token_pgp_key", "");
	if (request(cli, &c, "PUT", "sys/init", NULL, body, 0, &s,
	    "Error initializing") != 0)
		goto out;
	d = data_of(s);
	keys = json_object_get(d, "keys");
	b64 = json_object_get(d, "keys_base64");
	useb64 = json_array_size(b64) == json_array_size(keys);
	if (strcmp(cli->format, "table") != 0) {
		doc = json_object();
		json_object_set_new(doc, "unseal_keys_b64", b64 ?
		    json_incref(b64) : json_array());
		json_object_set_new(doc, "unseal_keys_hex", keys ?
		    json_incref(keys) : json_array());
		json_object_set_new(doc, "unseal_shares", json_integer(
		    json_array_size(keys) ? (json_int_t)shares : 1));
		json_object_set_new(doc, "unseal_threshold", json_integer(
		    json_array_size(keys) ? (json_int_t)thr : 1));
		json_object_set_new(doc, "recovery_keys_b64", json_array());
		json_object_set_new(doc, "recovery_keys_hex", json_array());
		json_object_set_new(doc, "recovery_keys_shares",
		    json_integer(0));
		json_object_set_new(doc, "recovery_keys_threshold",
		    json_integer(0));
		json_object_set_new(doc, "root_token",
		    json_string(fmt_jstr(d, "root_token")));
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		goto out;
	}
	json_array_foreach(keys, i, e)
		printf("Unseal Key %zu: %s\n", i + 1, json_string_value(
		    useb64 ? json_array_get(b64, i) : e));
	printf("\nInitial Root Token: %s\n\n", fmt_jstr(d, "root_token"));
	if (json_array_size(keys) == 0)
		puts("Success! Vault is initialized");
	else {
		char	 p[512];

		snprintf(p, sizeof(p), "Vault initialized with %lld key "
		    "shares and a key threshold of %lld. Please securely "
		    "distribute the key shares printed above. When the Vault "
		    "is re-sealed, restarted, or stopped, you must supply at "
		    "least %lld of these keys to unseal it before it can "
		    "start servicing requests.", shares, thr, thr);
		cli_para(stdout, p);
		putchar('\n');
		snprintf(p, sizeof(p), "Vault does not store the generated "
		    "root key. Without at least %lld keys to reconstruct "
		    "the root key, Vault will remain permanently sealed!",
		    thr);
		cli_para(stdout, p);
		putchar('\n');
		cli_para(stdout, "It is possible to generate new unseal keys, "
		    "provided you have a quorum of existing unseal keys "
		    "shares. See \"coffer operator rekey\" for more "
		    "information.");
	}
	rc = 0;
 out:
	json_decref(s);
	json_decref(body);
	free(err);
	client_free(c);
	return rc;
}

/*
 * coffer extension: "-" reads keys from standard input, one per line,
 * and submits them in turn until the server is unsealed.
 */
int
cmd_unseal(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *why;
	int		 reset = 0, migrate = 0;
	struct flag	 fl[] = { FORMAT_FLAG(f),
		{ "reset", FLAG_BOOL, &reset, 0 },
		{ "migrate", FLAG_BOOL, &migrate, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 in = { 0 };
	json_t		*s = NULL, *body = NULL;
	char		*key = NULL, *line, *save = NULL;
	int		 first, rc = 2, sent = 0;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 0, 1, "1") != 0)
		return 1;
	if ((c = cli_client(cli, 0)) == NULL)
		return 2;
	if (reset) {
		body = json_pack("{s:b}", "reset", 1);
		if (request(cli, &c, "PUT", "sys/unseal", NULL, body, 0, &s,
		    "Error resetting unseal process") != 0)
			goto out;
		goto print;
	}
	if (argc - first == 1 && strcmp(argv[first], "-") == 0) {
		if (read_all_fd(STDIN_FILENO, &in) == -1) {
			cli_error("Error reading keys from stdin: %s",
			    strerror(errno));
			rc = 1;
			goto out;
		}
	} else if (argc - first == 1)
		sbuf_puts(&in, argv[first]);
	else {
		if (prompt_hidden(stdout, "Unseal Key (will be hidden): ",
		    &key, &why) == -1) {
			cli_para(stderr, "An error occurred attempting to ask "
			    "for an unseal key. The raw error message is shown "
			    "below, but usually this is because you attempted "
			    "to pipe a value into the unseal command or you "
			    "are executing outside of a terminal (tty). You "
			    "should run the unseal command from a terminal "
			    "for maximum security. If this is not an option, "
			    "the unseal key can be provided as the first "
			    "argument to the unseal command, or \"-\" to read "
			    "it from standard input.");
			cli_error("\n%s", why);
			rc = 1;
			goto out;
		}
		sbuf_puts(&in, key);
		wipefree(key);
		key = NULL;
	}
	for (line = strtok_r(in.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0')
			continue;
		json_decref(body);
		json_decref(s);
		s = NULL;
		body = json_pack("{s:s,s:b,s:b}", "key", line, "reset", 0,
		    "migrate", migrate);
		if (request(cli, &c, "PUT", "sys/unseal", NULL, body, 0, &s,
		    "Error unsealing") != 0)
			goto out;
		sent++;
		if (!json_is_true(json_object_get(data_of(s), "sealed")))
			break;
	}
	if (sent == 0) {
		cli_error("Error unsealing: no unseal key given");
		rc = 1;
		goto out;
	}
 print:
	rc = print_status(cli, c, data_of(s));
	if (rc == 2)
		rc = 0;
 out:
	json_decref(s);
	json_decref(body);
	sbuf_free(&in);
	client_free(c);
	return rc;
}

static int
simple_put(struct cli *cli, int argc, char **argv, const char *path,
    const char *ok, const char *prefix, int method_post)
{
	struct flag	 fl[] = { { NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*s = NULL;
	int		 first, rc;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs(argc - first, 0, "0") != 0)
		return 1;
	if ((rc = request(cli, &c, method_post ? "POST" : "PUT", path, NULL,
	    NULL, 0, &s, "%s", prefix)) == 0)
		printf("%s%s\n", ok, strcmp(path, "sys/step-down") == 0 ?
		    client_addr(c) : "");
	json_decref(s);
	client_free(c);
	return rc;
}

int
cmd_seal(struct cli *cli, int argc, char **argv)
{
	return simple_put(cli, argc, argv, "sys/seal",
	    "Success! Vault is sealed.", "Error sealing", 0);
}

int
cmd_stepdown(struct cli *cli, int argc, char **argv)
{
	return simple_put(cli, argc, argv, "sys/step-down",
	    "Success! Stepped down: ", "Error stepping down", 0);
}

/*
 * GET sys/key-status and print it (after "Success! Rotated key");
 * *cp is built when unset, as request() does.
 */
static int
key_status(struct cli *cli, struct client **cp, int rotated)
{
	json_t		*s = NULL, *d, *term, *enc, *rows, *doc;
	const char	*it;
	char		 buf[64];
	struct tm	 tm;
	time_t		 t;
	int		 rc = 2;

	if (request(cli, cp, "GET", "sys/key-status", NULL, NULL, 0, &s,
	    "Error reading key status") != 0)
		goto out;
	d = data_of(s);
	term = json_object_get(d, "term");
	it = json_string_value(json_object_get(d, "install_time"));
	enc = json_object_get(d, "encryptions");
	memset(&tm, 0, sizeof(tm));
	if (!json_is_integer(term) || it == NULL ||
	    strptime(it, "%Y-%m-%dT%H:%M:%S", &tm) == NULL) {
		cli_error("Error reading key status: missing or invalid "
		    "term or install_time");
		goto out;
	}
	if (strcmp(cli->format, "table") != 0) {
		doc = json_object();
		json_object_set(doc, "term", term);
		json_object_set_new(doc, "install_time", json_string(it));
		json_object_set_new(doc, "encryptions", json_integer(
		    json_integer_value(enc)));
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		goto out;
	}
	/* Offsets other than Z are rare here; coffer always sends UTC. */
	t = timegm(&tm);
	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%d %b %y %H:%M UTC", &tm);
	if (rotated)
		printf("Success! Rotated key\n\n");
	rows = json_array();
	addrow(rows, "Key Term", "%lld", (long long)json_integer_value(term));
	fmt_row(rows, "Install Time", buf);
	if (enc != NULL)
		addrow(rows, "Encryption Count", "%lld",
		    (long long)json_integer_value(enc));
	fmt_table(rows, 0);
	json_decref(rows);
	rc = 0;
 out:
	json_decref(s);
	return rc;
}

int
cmd_keystatus(struct cli *cli, int argc, char **argv)
{
	struct client	*c = NULL;
	int		 rc;

	if (format_only(cli, argc, argv) != 0)
		return 1;
	rc = key_status(cli, &c, 0);
	client_free(c);
	return rc;
}

int
cmd_rotate(struct cli *cli, int argc, char **argv)
{
	struct client	*c = NULL;
	json_t		*s = NULL;
	int		 rc;

	if (format_only(cli, argc, argv) != 0)
		return 1;
	if ((rc = request(cli, &c, "POST", "sys/rotate", NULL, NULL, 0, &s,
	    "Error rotating key")) == 0)
		rc = key_status(cli, &c, 1);
	json_decref(s);
	client_free(c);
	return rc;
}
