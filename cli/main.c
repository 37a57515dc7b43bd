/*
 * main.c -- the coffer command: global pre-scan, dispatch, exit codes.
 *
 * coffer speaks Vault's HTTP API and behaves as HashiCorp's vault
 * command does (see cli.md), so that scripts swap one name for the
 * other.  The command is found from the leading words; its flags are
 * parsed by the command itself (flags.c); -format and -detailed are
 * found anywhere before "--" first, as vault does.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "cli.h"
#include "jsonmem.h"
#include "util.h"

struct command {
	const char	*name;
	cmd_fn		*fn;
	const char	*synopsis;
};

static const struct command commands[] = {
	{ "status", cmd_status, "Print seal and HA status" },
	{ "version", cmd_version, "Print the coffer version" },
	{ "operator", NULL, "Perform operator-specific tasks" },
	{ "operator init", cmd_init, "Initializes a server" },
	{ "operator unseal", cmd_unseal, "Unseals the server" },
	{ "operator seal", cmd_seal, "Seals the server" },
	{ "operator step-down", cmd_stepdown, "Forces the server to step down" },
	{ "operator key-status", cmd_keystatus, "Provides information about the active encryption key" },
	{ "operator rotate", cmd_rotate, "Rotates the underlying encryption key" },
	{ "login", cmd_login, "Authenticate locally" },
	{ "token", NULL, "Interact with tokens" },
	{ "token create", cmd_token_create, "Create a new token" },
	{ "token lookup", cmd_token_lookup, "Display information about a token" },
	{ "token renew", cmd_token_renew, "Renew a token lease" },
	{ "token revoke", cmd_token_revoke, "Revoke a token and its children" },
	{ "token capabilities", cmd_token_caps, "Print capabilities of a token on a path" },
	{ "kv", NULL, "Interact with the key/value secrets engine" },
	{ "kv get", cmd_kv_get, "Retrieves data from the KV store" },
	{ "kv put", cmd_kv_put, "Sets or updates data in the KV store" },
	{ "kv patch", cmd_kv_patch, "Sets or updates data in the KV store without overwriting" },
	{ "kv delete", cmd_kv_delete, "Deletes versions in the KV store" },
	{ "kv undelete", cmd_kv_undelete, "Undeletes versions in the KV store" },
	{ "kv destroy", cmd_kv_destroy, "Permanently removes one or more versions" },
	{ "kv list", cmd_kv_list, "List data or secrets" },
	{ "kv rollback", cmd_kv_rollback, "Rolls back to a previous version of data" },
	{ "kv enable-versioning", cmd_kv_versioning, "Turns on versioning for a KV store" },
	{ "kv metadata", NULL, "Interact with KV metadata" },
	{ "kv metadata get", cmd_kv_mget, "Retrieves key metadata" },
	{ "kv metadata put", cmd_kv_mput, "Sets or updates key settings" },
	{ "kv metadata delete", cmd_kv_mdelete, "Deletes all versions and metadata for a key" },
	{ "operator generate-root", cmd_genroot, "Generates a new root token" },
	{ "operator rekey", cmd_rekey, "Generates new unseal keys" },
	{ "policy", NULL, "Interact with policies" },
	{ "policy list", cmd_policy_list, "Lists the installed policies" },
	{ "policy read", cmd_policy_read, "Prints the contents of a policy" },
	{ "policy write", cmd_policy_write, "Uploads a named policy from a file" },
	{ "policy delete", cmd_policy_delete, "Deletes a policy by name" },
	{ "secrets", NULL, "Interact with secrets engines" },
	{ "secrets enable", cmd_secrets_enable, "Enable a secrets engine" },
	{ "secrets disable", cmd_secrets_disable, "Disable a secrets engine" },
	{ "secrets list", cmd_secrets_list, "List enabled secrets engines" },
	{ "secrets tune", cmd_secrets_tune, "Tune a secrets engine configuration" },
	{ "secrets move", cmd_secrets_move, "Move a secrets engine to a new path" },
	{ "auth", NULL, "Interact with auth methods" },
	{ "auth enable", cmd_auth_enable, "Enables a new auth method" },
	{ "auth disable", cmd_auth_disable, "Disables an auth method" },
	{ "auth list", cmd_auth_list, "Lists enabled auth methods" },
	{ "auth tune", cmd_auth_tune, "Tunes an auth method configuration" },
	{ "audit", NULL, "Interact with audit devices" },
	{ "audit enable", cmd_audit_enable, "Enables an audit device" },
	{ "audit disable", cmd_audit_disable, "Disables an audit device" },
	{ "audit list", cmd_audit_list, "Lists enabled audit devices" },
	{ "lease", NULL, "Interact with leases" },
	{ "lease lookup", cmd_lease_lookup, "Lookup the lease of a secret" },
	{ "lease renew", cmd_lease_renew, "Renews the lease of a secret" },
	{ "lease revoke", cmd_lease_revoke, "Revokes leases and secrets" },
	{ "unwrap", cmd_unwrap, "Unwrap a wrapped secret" },
	{ "read", cmd_read, "Read data and retrieves secrets" },
	{ "write", cmd_write, "Write data, configuration, and secrets" },
	{ "list", cmd_list, "List data or secrets" },
	{ "delete", cmd_delete, "Delete secrets and configuration" },
	{ NULL, NULL, NULL }
};

static void	 usage_all(FILE *);
static void	 usage_cmd(FILE *, const struct command *);
static const struct command *find(int, char **, int *);
static void	 vmessage(int, const char *, va_list);

static char	 versionword[] = "version";
static int	 colour;	/* errors and warnings in colour (§5.3) */
/* -output-curl-string: once the command is printed, errors are not. */
static struct httpflags *curlhf;

static void
usage_all(FILE *fp)
{
	const struct command	*c;

	fputs("Usage: coffer <command> [args]\n\nCommands:\n", fp);
	for (c = commands; c->name != NULL; c++)
		if (strchr(c->name, ' ') == NULL)
			fprintf(fp, "    %-22s%s\n", c->name, c->synopsis);
}

static void
usage_cmd(FILE *fp, const struct command *cmd)
{
	const struct command	*c;
	size_t			 n = strlen(cmd->name);

	fprintf(fp, "Usage: coffer %s%s\n\n  %s.\n", cmd->name,
	    cmd->fn == NULL ? " <subcommand> [options] [args]" :
	    " [options] [args]", cmd->synopsis);
	if (cmd->fn == NULL) {
		fputs("\nSubcommands:\n", fp);
		for (c = commands; c->name != NULL; c++)
			if (strncmp(c->name, cmd->name, n) == 0 &&
			    c->name[n] == ' ' &&
			    strchr(c->name + n + 1, ' ') == NULL)
				fprintf(fp, "    %-14s%s\n", c->name + n + 1,
				    c->synopsis);
	} else
		fputs("\n  See coffer(1) for the options.\n", fp);
}

/* The longest command made of the leading words; *nw words used. */
static const struct command *
find(int argc, char **argv, int *nw)
{
	const struct command	*c, *best = NULL;
	struct sbuf		 b = { 0 };
	int			 i;

	*nw = 0;
	for (i = 0; i < argc; i++) {
		if (argv[i][0] == '-' || argv[i][0] == '\0' ||
		    strchr(argv[i], ' ') != NULL)
			break;
		if (i > 0)
			sbuf_puts(&b, " ");
		sbuf_puts(&b, argv[i]);
		for (c = commands; c->name != NULL; c++)
			if (strcmp(c->name, sbuf_str(&b)) == 0) {
				best = c;
				*nw = i + 1;
			}
	}
	sbuf_free(&b);
	return best;
}

/* One line on stderr, in the warning or error colour where allowed. */
static void
vmessage(int warn, const char *fmt, va_list ap)
{
	if (curlhf != NULL && curlhf->curl_printed)
		return;
	fputs(cli_colour(warn, 0), stderr);
	vfprintf(stderr, fmt, ap);
	fputs(cli_colour(warn, 1), stderr);
	fputc('\n', stderr);
}

void
cli_error(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmessage(0, fmt, ap);
	va_end(ap);
}

void
cli_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vmessage(1, fmt, ap);
	va_end(ap);
}

const char *
cli_colour(int warn, int end)
{
	if (!colour)
		return "";
	if (end)
		return "\033[0m";
	return warn ? "\033[93m" : "\033[91m";
}

int
cli_nargs(int got, int want, const char *spec)
{
	return cli_nargs_range(got, want, want, spec);
}

int
cli_nargs_range(int got, int min, int max, const char *spec)
{
	if (got > max) {
		cli_error("Too many arguments (expected %s, got %d)", spec,
		    got);
		return 1;
	}
	if (got < min) {
		cli_error("Not enough arguments (expected %s, got %d)", spec,
		    got);
		return 1;
	}
	return 0;
}

int
cli_parse(struct cli *cli, struct flag *cmd, int http, int argc,
    char **argv, int *first)
{
	struct flag	*sets[3];
	struct sbuf	 b = { 0 };
	int		 i, n = 0;

	sets[0] = cmd;
	sets[1] = http ? cli->hf.set : NULL;
	sets[2] = NULL;
	if (flags_parse(sets, argc, argv, first) == -1)
		return -1;
	for (i = *first; i < argc; i++) {
		const char *a = argv[i];

		if (a[0] != '-' || a[1] == '\0')
			continue;
		a += a[1] == '-' ? 2 : 1;
		if (strncmp(a, "format", 6) == 0 ||
		    strncmp(a, "detailed", 8) == 0 ||
		    strncmp(a, "output-curl-string", 18) == 0 ||
		    strncmp(a, "output-policy", 13) == 0)
			continue;
		sbuf_puts(&b, n++ == 0 ? "[" : ",");
		sbuf_puts(&b, argv[i]);
	}
	if (n > 0 && strcmp(cli->format, "table") == 0)
		fprintf(stderr, "Command flags must be provided before "
		    "positional arguments. The following arguments will not "
		    "be parsed as flags: %s]\n", sbuf_str(&b));
	sbuf_free(&b);
	return 0;
}

struct client *
cli_client(struct cli *cli, int notoken)
{
	return client_new(&cli->hf, notoken);
}

int
main(int argc, char *argv[])
{
	const struct command	*cmd;
	struct cli		 cli;
	const char		*env, *term;
	static char		 fmtbuf[16];
	int			 i, nw, rc, dashdash = 0, before = -1;
	int			 curl = 0;

	jsonmem_install();	/* jansson's blocks are wiped when freed */
	if (curlmem_wiping(CURL_GLOBAL_DEFAULT) == -1) {
		fputs("coffer: cannot initialise libcurl\n", stderr);
		return 2;
	}
	memset(&cli, 0, sizeof(cli));
	cli.argv0 = "coffer";
	argc--;
	argv++;
	if (argc == 1 && (strcmp(argv[0], "-v") == 0 ||
	    strcmp(argv[0], "-version") == 0 ||
	    strcmp(argv[0], "--version") == 0))
		argv[0] = versionword;

	/* Pre-scan: -format and -detailed anywhere before "--". */
	cli.format = NULL;
	env = getenv("VAULT_DETAILED");
	cli.detailed = env != NULL && *env != '\0' && flags_bool(env) == 1;
	for (i = 0; i < argc && !dashdash; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--") == 0) {
			dashdash = 1;
			break;
		}
		if (a[0] != '-')
			continue;
		a += a[1] == '-' ? 2 : 1;
		if (strncmp(a, "format=", 7) == 0)
			cli.format = a + 7;
		else if (strcmp(a, "format") == 0 && i + 1 < argc)
			cli.format = argv[i + 1];
		else if (strcmp(a, "detailed") == 0)
			cli.detailed = 1;
		else if (strncmp(a, "detailed=", 9) == 0)
			cli.detailed = 0;
		else if (strcmp(a, "output-curl-string") == 0)
			curl = 1;
	}
	if (cli.format == NULL)
		cli.format = getenv("VAULT_FORMAT");
	if (cli.format == NULL || *cli.format == '\0')
		cli.format = "table";
	for (i = 0; cli.format[i] != '\0' && i < 15; i++)
		fmtbuf[i] = (char)tolower((unsigned char)cli.format[i]);
	fmtbuf[i] = '\0';
	cli.format = fmtbuf;

	term = getenv("TERM");
	env = getenv("NO_COLOR");
	cli.color = isatty(STDOUT_FILENO) && (env == NULL || *env == '\0') &&
	    (term == NULL || strcmp(term, "dumb") != 0);
	env = getenv("VAULT_CLI_NO_COLOR");
	colour = cli.color && (env == NULL || *env == '\0') &&
	    strcmp(cli.format, "table") == 0;
	httpflags_init(&cli.hf);
	cli.hf.output_curl = curl;
	curlhf = &cli.hf;

	if (argc > 0 && argv[0][0] == '-' && strcmp(argv[0], "-h") != 0 &&
	    strcmp(argv[0], "-help") != 0 && strcmp(argv[0], "--help") != 0)
		before = 0;
	for (i = 0; before == 0 && i < argc && argv[i][0] == '-'; i++)
		;
	cmd = find(argc - (before == 0 ? i : 0), argv + (before == 0 ? i :
	    0), &nw);
	if (before == 0) {
		fputs("Global flags must be provided after the subcommand.\n\n",
		    stderr);
		if (cmd != NULL)
			usage_cmd(stderr, cmd);
		else
			usage_all(stderr);
		rc = 1;
		goto out;
	}
	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "-help") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			if (cmd == NULL)
				usage_all(stdout);
			else
				usage_cmd(stdout, cmd);
			rc = 0;
			goto out;
		}
	}
	if (cmd == NULL) {
		usage_all(stderr);
		rc = 127;
		goto out;
	}
	if (cmd->fn == NULL) {
		usage_cmd(stderr, cmd);
		rc = 1;
		goto out;
	}
	if (strcmp(cli.format, "table") != 0 &&
	    strcmp(cli.format, "json") != 0 &&
	    strcmp(cli.format, "yaml") != 0 &&
	    strcmp(cli.format, "yml") != 0 &&
	    strcmp(cli.format, "pretty") != 0 &&
	    strcmp(cli.format, "raw") != 0) {
		fprintf(stderr, "Invalid output format: %s\n", cli.format);
		rc = 1;
		goto out;
	}
	if (strcmp(cli.format, "raw") == 0 && cmd->fn != cmd_read) {
		fputs("This command does not support the -format=raw "
		    "option.\n", stderr);
		rc = 1;
		goto out;
	}
	rc = cmd->fn(&cli, argc - nw, argv + nw);
	if (cli.hf.curl_printed)
		rc = 0;
	else if (cli.hf.output_curl && rc == 0) {
		fputs("Could not generate cURL command\n", stderr);
		rc = 1;
	}
 out:
	json_decref(cli.hf.headers);
	curl_global_cleanup();
	return rc;
}
