/*
 * err.h -- the one error type of coffer.
 *
 * A function that can fail returns CF_OK (0) or a cf_err.  The range
 * starts well above errno values so the two are never confused.  The
 * HTTP layer maps each code to a status with cf_status(); cf_strerror()
 * gives text that is safe to show a client.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#ifndef COFFER_UTIL_ERR_H
#define COFFER_UTIL_ERR_H


enum cf_err {
	CF_OK = 0,
	CF_EINVAL = 1000,	/* 400: the caller's fault */
	CF_ENOTFOUND,		/* 404: not a failure for storage */
	CF_EDENIED,		/* 403: permission denied */
	CF_EMETHOD,		/* 405 */
	CF_ETOOBIG,		/* 413 */
	CF_ESEALED,		/* 503: Vault is sealed */
	CF_ESTANDBY,		/* never reaches a client: forwarded */
	CF_ECONFLICT,		/* 400: check-and-set mismatch and the like */
	CF_EUPSTREAM,		/* 502 */
	CF_ENOTSUP,		/* 500 */
	CF_EIO,			/* 500 */
	CF_ENOMEM,		/* 500 */
	CF_EINTERNAL,		/* 500 */
	CF_EUNAVAIL		/* 503 with its own text (not sealed) */
};

/* Client-safe text for an error code; never NULL, static storage. */
const char	*cf_strerror(int);

/* The symbolic name ("CF_EINVAL"), for logs. */
const char	*cf_errname(int);

/* The HTTP status a code maps to (CF_OK is 200). */
int		 cf_status(int);

/* A broken invariant: log where and abort.  Never for bad input. */
#define CF_BUG(msg)	cf_bug(__FILE__, __LINE__, (msg))
void		 cf_bug(const char *, int, const char *)
		    __attribute__((noreturn));

#endif /* COFFER_UTIL_ERR_H */
