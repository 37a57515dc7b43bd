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
/* cmd_kv.c */
cmd_fn	 cmd_kv_get, cmd_kv_put, cmd_kv_patch, cmd_kv_delete;
cmd_fn	 cmd_kv_undelete, cmd_kv_destroy, cmd_kv_list;
cmd_fn	 cmd_kv_mget, cmd_kv_mput, cmd_kv_mdelete;
/* cmd_generic.c */
cmd_fn	 cmd_read, cmd_write, cmd_list, cmd_delete;

/*
 * Shared steps of a command (main.c).  cli_parse parses flags (cmd
 * then, if http, the HTTP flags); on error it printed and returns -1.
 * It also prints the trailing-flag warning.  cli_client builds the
 * client or prints why not (NULL: exit 2).
 */
int		 cli_parse(struct cli *, struct flag *, int http, int, char **,
		    int *);
struct client	*cli_client(struct cli *, int notoken);
/* "Error ...: <err>" on stderr. */
void		 cli_error(const char *, ...)
		    __attribute__((format(printf, 1, 2)));
/* Paragraph wrapped at 78 columns, to the stream. */
void		 cli_para(FILE *, const char *);

#endif /* COFFER_CLI_CLI_H */
