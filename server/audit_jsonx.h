/*
 * audit_jsonx.h -- an audit entry's JSON text rendered as JSONx.
 */
#ifndef COFFER_SERVER_AUDIT_JSONX_H
#define COFFER_SERVER_AUDIT_JSONX_H

#include <stddef.h>

struct buf;

/*
 * Append the members of the entry's JSON text (json, len bytes) as
 * JSONx to out: CF_OK, or CF_ENOMEM (out may hold part of it).
 */
int	 audit_jsonx(const char *json, size_t len, struct buf *out)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_AUDIT_JSONX_H */
