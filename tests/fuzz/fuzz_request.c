/*
 * fuzz_request.c -- libFuzzer target for what a client controls in a
 * request (core/reqparse.c): the path as civetweb hands it over, the
 * query string, and the body, JSON or form.
 *
 * The input is "path\nquery\ncontent-type\nbody".  Whatever it holds,
 * each step answers CF_OK or a 4xx code with a reason, never crashes,
 * and a body it accepts is a JSON object no deeper than the limit.
 */
#include "config.h"

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "req.h"
#include "reqparse.h"

#include "fuzz_driver.h"

/* Split off the next '\n'-terminated field of [*p, end) as a string. */
static char *
field(const uint8_t **p, const uint8_t *end, size_t *len)
{
	const uint8_t	*nl = memchr(*p, '\n', (size_t)(end - *p));
	char		*s;

	*len = (size_t)((nl != NULL ? nl : end) - *p);
	if ((s = malloc(*len + 1)) == NULL)
		abort();
	memcpy(s, *p, *len);
	s[*len] = '\0';
	*p = nl != NULL ? nl + 1 : end;
	return s;
}

static int
is_client_error(int rc)
{
	return rc == CF_OK || rc == CF_EINVAL || rc == CF_ENOTFOUND;
}

static size_t
depth(const json_t *j)
{
	const char	*k;
	json_t		*v;
	size_t		 i, d = 0, e;

	if (json_is_object(j)) {
		json_object_foreach((json_t *)(uintptr_t)j, k, v)
			if ((e = depth(v)) > d)
				d = e;
		return d + 1;
	}
	if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			if ((e = depth(v)) > d)
				d = e;
		return d + 1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t	*p = data, *end = data + size;
	struct request	 req;
	struct response	 resp;
	char		*path, *query, *ctype;
	size_t		 plen, qlen, clen;
	int		 rc, as_list;

	if (size > 1 << 16)
		return 0;
	memset(&req, 0, sizeof(req));
	resp_init(&resp);
	buf_init(&req.body);
	path = field(&p, end, &plen);
	query = field(&p, end, &qlen);
	ctype = field(&p, end, &clen);
	if ((req.data = json_object()) == NULL ||
	    buf_append(&req.body, p, (size_t)(end - p)) != CF_OK)
		abort();
	/* The raw span as civetweb would report it: the whole field. */
	rc = reqparse_path(&req, &resp, path, plen);
	if (!is_client_error(rc))
		abort();
	req.query = query;
	req.content_type = clen > 0 ? ctype : NULL;
	rc = reqparse_query(&req, &resp, &as_list);
	if (!is_client_error(rc))
		abort();
	rc = reqparse_body(&req, &resp);
	if (!is_client_error(rc))
		abort();
	if (rc == CF_OK && (!json_is_object(req.data) ||
	    depth(req.data) > REQ_JSON_MAX_DEPTH))
		abort();
	free(req.path);
	json_decref(req.data);
	buf_free(&req.body);
	resp_fini(&resp);
	free(path);
	free(query);
	free(ctype);
	return 0;
}
