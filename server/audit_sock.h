/*
 * audit_sock.h -- the syslog and socket audit devices' transport.
 *
 * A sink is a connection to the local syslog daemon (type "syslog":
 * options facility, default AUTH, and tag, default "vault"; each entry
 * one RFC 3164 datagram at severity INFO) or to a listener (type
 * "socket": address, socket_type tcp, udp or unix, default tcp, and
 * write_timeout, default 2s).  Each write has until the timeout to take
 * the sink's lock and hand the whole entry to the kernel; a write that
 * cannot fails and closes the connection, and the next write connects
 * again, so a peer that stops reading slows requests by at most the
 * timeout and never wedges the server.
 *
 * The syslog socket is /dev/log, or $COFFER_SYSLOG_SOCKET when set.
 */
#ifndef COFFER_SERVER_AUDIT_SOCK_H
#define COFFER_SERVER_AUDIT_SOCK_H

#include <stddef.h>

#include <jansson.h>

struct audit_sock;

/*
 * A sink of type ("syslog" or "socket") from options (borrowed), not
 * yet connected; CF_EINVAL with the reason in why, CF_ENOMEM.
 */
int	 audit_sock_new(const char *type, json_t *opts,
	    struct audit_sock **out, char *why, size_t whylen)
	    __attribute__((warn_unused_result));
void	 audit_sock_free(struct audit_sock *);
/* What the sink writes to, for messages: "tcp 127.0.0.1:9090". */
const char *audit_sock_name(const struct audit_sock *);
/* Connect if not connected: 0, or an errno value with why set. */
int	 audit_sock_open(struct audit_sock *, char *why, size_t whylen);
/* Write one entry whole: 0, or an errno value with why set. */
int	 audit_sock_write(struct audit_sock *, const char *p, size_t len,
	    char *why, size_t whylen);
/* Drop the connection; the next write connects again. */
void	 audit_sock_close(struct audit_sock *);

#endif /* COFFER_SERVER_AUDIT_SOCK_H */
