/*
 * jsonutil.c -- JSON text out of jansson values, into a wiped buffer.
 *
 * jansson's callback writer appends straight into the struct buf, so
 * the text never sits in a buffer that is freed without a wipe.
 */
#include "config.h"

#include <stddef.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "jsonutil.h"

static int
emit_cb(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == CF_OK ? 0 : -1;
}

int
jsonutil_emit(const json_t *j, struct buf *out)
{
	if (json_dump_callback(j, emit_cb, out, JSON_COMPACT |
	    JSON_ENCODE_ANY) != 0)
		return CF_ENOMEM;
	return CF_OK;
}
