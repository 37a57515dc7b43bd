/*
 * audit_entry.h -- the text of one audit entry, as a device logs it.
 *
 * An entry is described once per request and phase (struct
 * audit_entry: borrowed pointers to the request and its answer, the
 * time) and written as JSON text straight into a buffer for each
 * device, in Vault's shape, with the fields Vault hashes replaced by
 * "hmac-sha256:<hex>" under the device's salt (struct audit_fmt)
 * unless the device logs raw.  No JSON tree is built or copied.
 */
#ifndef COFFER_SERVER_AUDIT_ENTRY_H
#define COFFER_SERVER_AUDIT_ENTRY_H

#include <stddef.h>

#include <sodium.h>

#include "buf.h"
#include "hmac256.h"

struct audit_hdrs;
struct request;
struct response;

/* How one device formats: its keyed HMAC and its options. */
struct audit_fmt {
	struct hmac256_key key;		/* keyed with the salt */
	int		 log_raw;	/* 1: nothing hashed */
	int		 hmac_accessor;	/* 1: accessors hashed too */
	int		 elide;		/* elide_list_responses */
	int		 jsonx;		/* format "jsonx": XML, no newline */
	const char	*prefix;	/* borrowed; written before the JSON */
	/* The hash of "", which every KV v2 read's deletion_time needs. */
	char		 empty[12 + 64 + 1];
};

/*
 * What one device's request entry wrote of the request ("auth" and
 * "request", as JSON text, "request" from req_at on) for its response
 * entry to copy (empty: not yet).  Wiped with buf_reset or buf_free.
 */
struct audit_memo {
	struct buf	 head;
	size_t		 req_at;
};

/* One entry: borrowed for the duration of audit_entry_emit. */
struct audit_entry {
	const struct request	*req;
	const struct response	*resp;
	int			 err;		/* the handler's result */
	int			 response;	/* 0: request entry */
	int			 list;		/* the request is a LIST */
	/* The configured request headers it carries (NULL: none). */
	const struct audit_hdrs	*hdrs;
	struct audit_memo	*memo;		/* or NULL; see above */
	char			 time[64];	/* RFC 3339, set by _init */
};

/* Key f's HMAC with salt (NUL-terminated); wipe with audit_fmt_wipe. */
void	 audit_fmt_init(struct audit_fmt *f, const char *salt);
void	 audit_fmt_wipe(struct audit_fmt *f);
/*
 * "hmac-sha256:<hex>" of s (len bytes) under f's salt, into out (at
 * least 12 + 64 + 1 bytes).
 */
void	 audit_fmt_hash(const struct audit_fmt *f, const char *s,
	    size_t len, char *out);

/* Describe an entry, stamped with the current time. */
void	 audit_entry_init(struct audit_entry *e, const struct request *req,
	    const struct response *resp, int err, int response);
/*
 * Append f's prefix and e's JSON text with a newline (or, for jsonx,
 * its JSONx rendering without one) to out.  CF_OK or
 * CF_ENOMEM; on failure out may hold part of an entry (reset it).
 */
int	 audit_entry_emit(const struct audit_fmt *f,
	    const struct audit_entry *e, struct buf *out)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_AUDIT_ENTRY_H */
