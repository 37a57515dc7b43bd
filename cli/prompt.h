/*
 * prompt.h -- secrets typed at a terminal, never echoed.
 */
#ifndef COFFER_CLI_PROMPT_H
#define COFFER_CLI_PROMPT_H

#include <stdio.h>

/*
 * Write prompt to fp, read one line from standard input with echo off,
 * then write a newline to fp.  Standard input must be a terminal.
 * 0 with *out (owned, wipefree), or -1 with *why the raw reason
 * (static text).
 */
int	 prompt_hidden(FILE *fp, const char *prompt, char **out,
	    const char **why);

#endif /* COFFER_CLI_PROMPT_H */
