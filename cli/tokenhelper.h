/*
 * tokenhelper.h -- where the client keeps its token between commands.
 *
 * The internal helper is vault's: $HOME/.vault-token, mode 0600,
 * written to .vault-token.tmp and renamed over the old file, so a
 * reader never sees half a token.  An external helper named by
 * token_helper in VAULT_CONFIG_PATH (default ~/.vault) is run through
 * $SHELL -c "<path> get|store|erase".  The file is shared with vault.
 */
#ifndef COFFER_CLI_TOKENHELPER_H
#define COFFER_CLI_TOKENHELPER_H

/*
 * Read the stored token into *tok (owned, wipefree; NULL when none).
 * 0, or -1 with *err the full message (owned).
 */
int	 tokenhelper_get(char **tok, char **err);

/* Store tok.  0, or -1 with *err (owned). */
int	 tokenhelper_store(const char *tok, char **err);

#endif /* COFFER_CLI_TOKENHELPER_H */
