/*
 * yaml.h -- JSON values as YAML text, as vault's -format=yaml writes
 * them (Go's yaml.v2); see yaml.c.
 */
#ifndef COFFER_CLI_YAML_H
#define COFFER_CLI_YAML_H

#include <jansson.h>

#include "util.h"

/* Append doc as a YAML document (no leading "---") to b. */
void	 yaml_doc(json_t *doc, struct sbuf *b);

#endif /* COFFER_CLI_YAML_H */
