/*
 * audit.h -- the audit broker: audit devices and the entries they log.
 *
 * Every routed request is logged twice, in Vault's JSON shape: a
 * request entry before the handler runs and a response entry after it
 * (the router calls through struct router_audit_ops, which
 * audit_register installs).  Tokens, accessors and the values of
 * request and response data are HMAC-SHA256'd with each device's salt,
 * a UUID kept with the device table behind the barrier.  With devices
 * enabled, an entry no device could write fails the request with 500:
 * nothing is served that was not logged.
 *
 * Devices are of type "file": a path, "stdout" or "discard".  The table
 * is stored at core/audit, loaded on becoming active and dropped on
 * leaving it.  Writers hold the table's read lock and, for a file, the
 * read side of the device's fd lock for one O_APPEND write() each (no
 * lock between writers); enable and disable take the table's write
 * lock, a reopen the fd lock's write side.  Lock order: core lock,
 * then the table lock, then a device's lock.
 */
#ifndef COFFER_SERVER_AUDIT_H
#define COFFER_SERVER_AUDIT_H

#include <stddef.h>

#include <jansson.h>

/*
 * Enable a device at path (normalised: "file/"), options an object of
 * strings (borrowed).  Opens the device and, unless skip_test is
 * "true", writes a test entry.  CF_EINVAL with Vault's text in why for
 * a bad request; CF_OK once the table is stored and the device live.
 */
int	 audit_enable(const char *path, const char *type, const char *desc,
	    json_t *options, int local, char *why, size_t whylen)
	    __attribute__((warn_unused_result));
/* Disable the device at path (normalised); CF_OK also if none is. */
int	 audit_disable(const char *path) __attribute__((warn_unused_result));
/* The listing, device path -> entry, as sys/audit shows it (owned). */
int	 audit_list(json_t **out) __attribute__((warn_unused_result));
/*
 * "hmac-sha256:<hex>" of input with the salt of the device at path
 * (normalised), into out (at least AUDIT_HASH_LEN + 1 bytes);
 * CF_ENOTFOUND if no device is there.
 */
#define AUDIT_HASH_LEN	(12 + 64)
int	 audit_hash(const char *path, const char *input, char *out)
	    __attribute__((warn_unused_result));
/* Close and reopen every file device (SIGHUP: log rotation). */
void	 audit_reopen(void);
/* Install the router hook and the become-active/leave-active hooks. */
void	 audit_register(void);

#endif /* COFFER_SERVER_AUDIT_H */
