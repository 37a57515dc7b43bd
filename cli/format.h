/*
 * format.h -- table, JSON and YAML output as vault prints them.
 *
 * Tables follow columnize as vault configures it: cells trimmed, empty
 * cells shown as n/a, columns padded to the widest cell plus four
 * spaces, the last column unpadded.  JSON documents are rebuilt in a
 * fixed key order (vault re-serialises typed structs); YAML sorts every
 * mapping.  -field prints one value with no newline unless stdout is
 * a terminal.
 */
#ifndef COFFER_CLI_FORMAT_H
#define COFFER_CLI_FORMAT_H

#include <jansson.h>

#include "cli.h"

/* The string member k of o, borrowed; "" when absent or not a string. */
const char *fmt_jstr(json_t *o, const char *k);
/* Go's %v of a JSON value; humanised if key names a duration. */
char	*fmt_value(const char *key, json_t *);
/* rows: array of arrays of strings; headed adds the --- row. */
void	 fmt_table(json_t *rows, int headed);
/* Append the row {k, v} to rows (both copied). */
void	 fmt_row(json_t *rows, const char *k, const char *v);
/* Key/value rows of an object, keys sorted bytewise. */
void	 fmt_objrows(json_t *rows, json_t *obj);
/* Warnings block on stderr (table format only). */
void	 fmt_warnings(struct cli *, json_t *secret);
/* The envelope in vault's key order (new reference). */
json_t	*fmt_envelope(json_t *secret);
/* A document as JSON or YAML per the format; returns the exit code. */
int	 fmt_doc(struct cli *, json_t *);
/* A secret in the current format (table: warnings + secret table). */
int	 fmt_secret(struct cli *, json_t *secret);
/* -field lookup and print; the exit code. */
int	 fmt_field(struct cli *, json_t *secret, const char *);
/* The value of -field name, borrowed, or NULL (cli.md §6.9). */
json_t	*fmt_field_value(json_t *secret, const char *, json_t **tmp);
/* A list answer: Keys table or the keys array. */
int	 fmt_list(struct cli *, json_t *secret, const char *path);
/* A copy with every object's keys in bytewise order (Go's maps). */
json_t	*fmt_sorted(json_t *);
/* Vault's section header pad(title, total). */
void	 fmt_header(const char *title, size_t total);

#endif /* COFFER_CLI_FORMAT_H */
