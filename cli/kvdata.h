/*
 * kvdata.h -- positional K=V arguments folded into one JSON object.
 *
 * vault's kv-builder rules (cli.md §1.5): k=v, k=@file, k=-, a lone
 * "-" or "@file" merges a JSON object, a repeated key becomes an
 * array, and stdin is read at most once.
 */
#ifndef COFFER_CLI_KVDATA_H
#define COFFER_CLI_KVDATA_H

#include <jansson.h>

/*
 * Parse argv[0..argc) into *out (new object, owned).  0, or -1 with
 * *err the message (owned).  Values are JSON strings unless they came
 * from a JSON object.
 */
int	 kvdata_parse(int, char **, json_t **out, char **err);

/*
 * Values made strings in place, as vault's weak decoding into a string
 * map (audit enable): numbers as text, booleans "1"/"0", null "".  0,
 * or -1 with *err (owned) for an array or object.
 */
int	 kvdata_strings(json_t *, char **err);

#endif /* COFFER_CLI_KVDATA_H */
