/*
 * reqparse.h -- the parts of a request a client controls, checked and
 * parsed before anything else sees them: the path, the query string
 * and the body.
 *
 * Everything here is bounded: a path is refused when it hides a NUL, a
 * bad escape, a control character or a dot segment; a body is scanned
 * without recursion for its nesting depth and element count before the
 * JSON parser (which recurses) runs, so no client document can be deeper
 * than REQ_JSON_MAX_DEPTH anywhere in the server.  Errors are 400s with
 * the reason in the response.  No civetweb here, so the fuzzers and unit
 * tests drive these functions directly.
 *
 * In core/, the request pipeline under auth/ and engines/
 * (tests/layers.py): it includes util/, backends/ and seal/ headers,
 * never those of the layers that register with it.
 */
#ifndef COFFER_CORE_REQPARSE_H
#define COFFER_CORE_REQPARSE_H

#include <stddef.h>

struct request;
struct response;

/*
 * Nesting limit for request bodies.  Every place that walks or dumps
 * client JSON (the parser, jsonutil_emit, deep copies, merge patches, ACL
 * parameter checks) recurses once per level; 64 levels stay far inside
 * a worker's stack (see http.c), sanitizers included.
 */
#define REQ_JSON_MAX_DEPTH	64
/* Values (containers, members, elements) in one body. */
#define REQ_JSON_MAX_ELEMENTS	200000

/*
 * Check the decoded URI civetweb hands over and set req->path to what
 * follows "/v1/" (owned by req).  decoded is civetweb's in-place decoded
 * text; rawlen is how many bytes the raw URI took in the same buffer, so
 * a NUL that an escape ("%00") put inside the path is found after the
 * first NUL.  CF_ENOTFOUND (empty errors) outside /v1/; CF_EINVAL with
 * a reason for a hidden NUL, a '%' that is not an escape, control
 * characters, invalid UTF-8, or "." and ".." segments.
 */
int	 reqparse_path(struct request *, struct response *,
	    const char *decoded, size_t rawlen)
	    __attribute__((warn_unused_result));

/*
 * Query parameters into req->data (strings; a repeated key keeps its
 * first value).  "list" is consumed here: *as_list is set for a true
 * value.  CF_EINVAL for bad escapes, NULs, or a "list" value that is
 * neither true nor false.
 */
int	 reqparse_query(struct request *, struct response *, int *as_list)
	    __attribute__((warn_unused_result));

/*
 * req->body into req->data: a JSON object (within the limits above, no
 * NUL characters), or "a=b&c=d" with a form Content-Type.  An empty or
 * blank body sets req->body_empty.  CF_EINVAL with a reason otherwise.
 */
int	 reqparse_body(struct request *, struct response *)
	    __attribute__((warn_unused_result));

/*
 * The scan reqparse_body runs before parsing: CF_OK if buf nests at most
 * REQ_JSON_MAX_DEPTH deep with at most REQ_JSON_MAX_ELEMENTS values;
 * else CF_EINVAL with the reason in why.  It does not validate JSON.
 */
int	 reqparse_json_limits(const char *buf, size_t len, char *why,
	    size_t whylen);

#endif /* COFFER_CORE_REQPARSE_H */
