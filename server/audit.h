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
 * Devices are of type "file" (a path, "stdout" or "discard"), "syslog"
 * and "socket".  The table is stored at core/audit, loaded on becoming
 * active and dropped on leaving it.  Entries are written with no core
 * lock held and no lock of the table's: a writer takes a counted
 * reference to each device (audit.c says how).
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
struct request;
struct response;
/*
 * Log req's request entry (audit_log_response: its response entry, the
 * last of the request) to every device, with req->auth, req->mount and
 * err as they are; called without the core lock.  CF_OK when no device
 * is enabled or one wrote it; when none could, CF_EINTERNAL with
 * Vault's bare "internal error" in resp.  The router calls these for
 * every routed request; the raw sys/ routes that check a token call
 * them themselves.
 */
int	 audit_log_request(struct request *, struct response *, int err);
int	 audit_log_response(struct request *, struct response *, int err);
/* SIGHUP: reopen every file device, reconnect syslog and socket ones. */
void	 audit_reopen(void);
/* Install the router hook and the become-active/leave-active hooks. */
void	 audit_register(void);

#endif /* COFFER_SERVER_AUDIT_H */
