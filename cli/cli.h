/*
 * cli.h -- what every coffer command receives, and the commands.
 *
 * main.c pre-scans the arguments for the output format, finds the
 * command and calls it with the words after the command name.  A
 * command returns its exit status: 0, 1 for local and usage errors,
 * 2 for anything that failed after the client was built (cli.md §7).
 */
#ifndef COFFER_CLI_CLI_H
#define COFFER_CLI_CLI_H

#include <stdio.h>

#include "client.h"

struct cli {
	const char	*format;	/* table, json, yaml, raw, pretty */
	int		 detailed;
	int		 color;		/* stdout is a terminal, colour allowed */
	const char	*argv0;
	struct httpflags hf;
};

typedef int	 cmd_fn(struct cli *, int, char **);

/* cmd_sys.c */
cmd_fn	 cmd_status, cmd_version, cmd_init, cmd_unseal, cmd_seal;
cmd_fn	 cmd_stepdown, cmd_keystatus, cmd_rotate;
/* cmd_token.c */
cmd_fn	 cmd_login, cmd_token_create, cmd_token_lookup, cmd_token_renew;
cmd_fn	 cmd_token_revoke, cmd_token_caps;
/* cmd_kv.c, cmd_kvadmin.c (metadata put and delete, rollback, versioning) */
cmd_fn	 cmd_kv_get, cmd_kv_put, cmd_kv_patch, cmd_kv_delete;
cmd_fn	 cmd_kv_undelete, cmd_kv_destroy, cmd_kv_list;
cmd_fn	 cmd_kv_mget, cmd_kv_mput, cmd_kv_mdelete;
cmd_fn	 cmd_kv_rollback, cmd_kv_versioning;
/* cmd_policy.c */
cmd_fn	 cmd_policy_list, cmd_policy_read, cmd_policy_write, cmd_policy_delete;
/* cmd_mount.c */
cmd_fn	 cmd_secrets_enable, cmd_secrets_disable, cmd_secrets_list;
cmd_fn	 cmd_secrets_tune, cmd_secrets_move;
cmd_fn	 cmd_auth_enable, cmd_auth_disable, cmd_auth_list, cmd_auth_tune;
/* cmd_genroot.c, cmd_rekey.c */
cmd_fn	 cmd_genroot, cmd_rekey;
/* cmd_generic.c */
cmd_fn	 cmd_read, cmd_write, cmd_list, cmd_delete, cmd_unwrap;
/* cmd_audit.c */
cmd_fn	 cmd_audit_enable, cmd_audit_disable, cmd_audit_list;
cmd_fn	 cmd_lease_lookup, cmd_lease_renew, cmd_lease_revoke;

/*
 * Shared steps of a command (main.c).  cli_parse parses flags (cmd
 * then, if http, the HTTP flags); on error it printed and returns -1.
 * It also prints the trailing-flag warning.  cli_client builds the
 * client or prints why not (NULL: exit 2).
 */
int		 cli_parse(struct cli *, struct flag *, int http, int, char **,
		    int *);
struct client	*cli_client(struct cli *, int notoken);
/*
 * "Error ...: <err>" on stderr; cli_warn for warnings.  Both are in
 * colour (bright red, bright yellow) only when stdout is a terminal,
 * NO_COLOR and VAULT_CLI_NO_COLOR are empty, TERM is not dumb and the
 * format is table (cli.md §5.3).
 */
void		 cli_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
void		 cli_warn(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* The escape that starts a warning or error (end: ends it), or "". */
const char	*cli_colour(int warn, int end);
/*
 * "Too many/Not enough arguments (expected spec, got n)": 1, else 0.
 * cli_nargs_range takes from min to max arguments (INT_MAX: no limit).
 */
int		 cli_nargs(int got, int want, const char *spec);
int		 cli_nargs_range(int got, int min, int max, const char *spec);
/* Paragraph wrapped at 78 columns, to the stream. */
void		 cli_para(FILE *, const char *);
/* The same on stderr as a warning (in colour where errors are). */
void		 cli_para_warn(const char *);

#endif /* COFFER_CLI_CLI_H */
