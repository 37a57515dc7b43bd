/*
 * wrapping.h -- response wrapping: X-Vault-Wrap-TTL and sys/wrapping/.
 *
 * A request asking for a wrapped response gets, instead of its answer,
 * a single-use wrapping token (policy "response-wrapping", orphan, TTL
 * the wrap TTL) whose own cubbyhole holds the answer, as Vault 1.14
 * does.  The router calls the hooks below in this order:
 *   wrapping_parse      before any token work: the header, or a 400;
 *   wrapping_precheck   for sys/wrapping/{lookup,unwrap,rewrap}: the
 *                       wrapping token is checked before the caller's;
 *   wrapping_finish     after the handler: wrap what it answered.
 * If a response that was asked to be wrapped cannot be, the request
 * fails: an answer is never sent in clear instead.
 *
 * Threads: any worker, under the core read lock (except parse).
 */
#ifndef COFFER_SERVER_WRAPPING_H
#define COFFER_SERVER_WRAPPING_H

struct request;
struct response;

/*
 * Parse req->wrap_hdr into req->wrap_ttl and req->wrap_set.  CF_OK, or
 * CF_EINVAL with Vault's 400 text ("error parsing X-Vault-Wrap-TTL
 * header: ...") in resp.  Calling it again does nothing more.
 */
int	 wrapping_parse(struct request *, struct response *)
	    __attribute__((warn_unused_result));

/*
 * 1 if path is one of sys/wrapping/{lookup,unwrap,rewrap}, whose
 * wrapping token is validated before (or instead of) the caller's.
 */
int	 wrapping_is_path(const char *path);

/*
 * For those paths: validate the wrapping token (body "token", else the
 * request's own token), with Vault's 403 and 400 texts.  *skip_auth is
 * set when the router must not check the request's token: for lookup
 * (unauthenticated) and when the wrapping token is the caller (first
 * party).  A first-party call that is not an unwrap uses the token up
 * and is denied, as Vault does.  Other paths: CF_OK, *skip_auth 0.
 */
int	 wrapping_precheck(struct request *, struct response *,
	    int *skip_auth) __attribute__((warn_unused_result));

/*
 * After a handler answered CF_OK: if the request asked for wrapping
 * (and the handler did not wrap itself), replace the response with a
 * wrapping token's wrap_info.  A 204 stays a 204; an empty LIST
 * becomes 404 "unsupported path".  CF_OK or a cf_err (the caller then
 * answers with the error only).
 */
int	 wrapping_finish(struct request *, struct response *)
	    __attribute__((warn_unused_result));

/* Register sys/wrapping/{wrap,lookup,unwrap,rewrap} (at startup). */
void	 wrapping_register(void);

#endif /* COFFER_SERVER_WRAPPING_H */
