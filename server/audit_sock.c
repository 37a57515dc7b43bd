/*
 * audit_sock.c -- the syslog and socket audit devices' transport.
 *
 * Sockets are non-blocking: connect and send wait in poll() for what
 * is left of the write's deadline, never longer.  The lock that
 * serialises writers is taken with the same deadline, so writers queued
 * behind a stalled one give up in time too.  Anything that goes wrong
 * closes the connection; the next write makes a new one.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <sys/un.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "audit_sock.h"
#include "err.h"
#include "lock.h"
#include "timeutil.h"

#define SYSLOG_PATH	"/dev/log"
#define LOG_INFO_SEV	6

struct audit_sock {
	int		 syslog;	/* 1: syslog, else socket */
	int		 family;	/* AF_UNIX, or AF_UNSPEC for tcp/udp */
	int		 type;		/* SOCK_STREAM or SOCK_DGRAM */
	char		*host;		/* tcp and udp */
	char		*port;
	char		*path;		/* unix and syslog */
	int		 pri;		/* syslog: facility * 8 + INFO */
	char		*tag;
	long long	 timeout_ms;
	char		 name[300];
	pthread_mutex_t	 mu;		/* fd and writes */
	int		 fd;		/* -1: not connected */
};

static const struct {
	const char	*name;
	int		 code;
} facilities[] = {
	{ "KERN", 0 }, { "USER", 1 }, { "MAIL", 2 }, { "DAEMON", 3 },
	{ "AUTH", 4 }, { "SYSLOG", 5 }, { "LPR", 6 }, { "NEWS", 7 },
	{ "UUCP", 8 }, { "CRON", 9 }, { "AUTHPRIV", 10 }, { "FTP", 11 },
	{ "LOCAL0", 16 }, { "LOCAL1", 17 }, { "LOCAL2", 18 },
	{ "LOCAL3", 19 }, { "LOCAL4", 20 }, { "LOCAL5", 21 },
	{ "LOCAL6", 22 }, { "LOCAL7", 23 }
};

static const char *
opt(json_t *opts, const char *k, const char *def)
{
	const char	*s = json_string_value(json_object_get(opts, k));

	return s != NULL && *s != '\0' ? s : def;
}

void
audit_sock_free(struct audit_sock *s)
{
	if (s == NULL)
		return;
	if (s->fd >= 0)
		close(s->fd);
	pthread_mutex_destroy(&s->mu);
	free(s->host);
	free(s->port);
	free(s->path);
	free(s->tag);
	free(s);
}

/* "host:port", "[v6]:port": split into s->host and s->port. */
static int
split_hostport(struct audit_sock *s, const char *a, char *why,
    size_t whylen)
{
	const char	*c = strrchr(a, ':');
	const char	*h = a;
	size_t		 hl;

	if (c == NULL || c[1] == '\0') {
		snprintf(why, whylen, "address %s: missing port in address",
		    a);
		return CF_EINVAL;
	}
	hl = (size_t)(c - a);
	if (hl >= 2 && a[0] == '[' && a[hl - 1] == ']') {
		h++;
		hl -= 2;
	}
	if ((s->host = strndup(h, hl)) == NULL ||
	    (s->port = strdup(c + 1)) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

int
audit_sock_new(const char *type, json_t *opts, struct audit_sock **out,
    char *why, size_t whylen)
{
	struct audit_sock	*s;
	const char		*v, *st;
	long long		 secs;
	size_t			 i;
	int			 rc = CF_OK;

	*out = NULL;
	if ((s = calloc(1, sizeof(*s))) == NULL)
		return CF_ENOMEM;
	s->fd = -1;
	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		free(s);
		return CF_ENOMEM;
	}
	s->timeout_ms = 2000;
	if (strcmp(type, "syslog") == 0) {
		s->syslog = 1;
		s->family = AF_UNIX;
		s->type = SOCK_DGRAM;
		v = opt(opts, "facility", "AUTH");
		for (i = 0; i < sizeof(facilities) / sizeof(facilities[0]);
		    i++)
			if (strcasecmp(v, facilities[i].name) == 0)
				break;
		if (i == sizeof(facilities) / sizeof(facilities[0])) {
			snprintf(why, whylen, "invalid syslog facility \"%s\"",
			    v);
			rc = CF_EINVAL;
			goto out;
		}
		s->pri = facilities[i].code * 8 + LOG_INFO_SEV;
		v = getenv("COFFER_SYSLOG_SOCKET");
		if ((s->tag = strdup(opt(opts, "tag", "vault"))) == NULL ||
		    (s->path = strdup(v != NULL && *v != '\0' ? v :
		    SYSLOG_PATH)) == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
		snprintf(s->name, sizeof(s->name), "syslog %s", s->path);
		goto out;
	}
	if ((v = opt(opts, "address", NULL)) == NULL) {
		snprintf(why, whylen, "address is required");
		rc = CF_EINVAL;
		goto out;
	}
	st = opt(opts, "socket_type", "tcp");
	if ((v = opt(opts, "write_timeout", NULL)) != NULL) {
		if (duration_parse(v, &secs) != CF_OK) {
			snprintf(why, whylen, "time: invalid duration \"%s\"",
			    v);
			rc = CF_EINVAL;
			goto out;
		}
		/* Whole seconds, as every coffer duration; at least one. */
		s->timeout_ms = (secs > 0 ? (secs < 86400 ? secs : 86400) :
		    1) * 1000;
	}
	v = opt(opts, "address", NULL);
	if (strcmp(st, "tcp") == 0 || strcmp(st, "udp") == 0) {
		s->family = AF_UNSPEC;
		s->type = st[0] == 't' ? SOCK_STREAM : SOCK_DGRAM;
		if ((rc = split_hostport(s, v, why, whylen)) != CF_OK)
			goto out;
	} else if (strcmp(st, "unix") == 0) {
		s->family = AF_UNIX;
		s->type = SOCK_STREAM;
		if ((s->path = strdup(v)) == NULL) {
			rc = CF_ENOMEM;
			goto out;
		}
	} else {
		snprintf(why, whylen, "dial %s: unknown network %s", st, st);
		rc = CF_EINVAL;
		goto out;
	}
	snprintf(s->name, sizeof(s->name), "%s %s", st, v);
 out:
	if (rc != CF_OK)
		audit_sock_free(s);
	else
		*out = s;
	return rc;
}

const char *
audit_sock_name(const struct audit_sock *s)
{
	return s->name;
}

/* Wait for ev on fd until the monotonic deadline; 0 or ETIMEDOUT. */
static int
wait_fd(int fd, short ev, long long deadline)
{
	struct pollfd	 p;
	long long	 left;
	int		 n;

	for (;;) {
		if ((left = deadline - time_mono_ms()) <= 0)
			return ETIMEDOUT;
		p.fd = fd;
		p.events = ev;
		p.revents = 0;
		if ((n = poll(&p, 1, (int)left)) > 0)
			return 0;
		if (n == -1 && errno != EINTR)
			return errno;
	}
}

/* One connected, non-blocking socket to ai, within the deadline. */
static int
connect_one(int family, int type, const struct sockaddr *sa,
    socklen_t salen, long long deadline, int *out)
{
	socklen_t	 l = sizeof(int);
	int		 fd, e = 0;

	if ((fd = socket(family, type | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)) ==
	    -1)
		return errno;
	if (connect(fd, sa, salen) == -1) {
		if (errno != EINPROGRESS && errno != EAGAIN)
			e = errno;
		else if ((e = wait_fd(fd, POLLOUT, deadline)) == 0 &&
		    getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) == -1)
			e = errno;
	}
	if (e != 0) {
		close(fd);
		return e;
	}
	*out = fd;
	return 0;
}

/* Connect s (mu held) by the deadline; 0 or an errno value. */
static int
sock_connect(struct audit_sock *s, long long deadline, char *why,
    size_t whylen)
{
	struct addrinfo		 hints, *res = NULL, *ai;
	struct sockaddr_un	 sun;
	int			 e = 0, g;

	if (s->fd >= 0)
		return 0;
	if (s->family == AF_UNIX) {
		memset(&sun, 0, sizeof(sun));
		sun.sun_family = AF_UNIX;
		if (strlcpy(sun.sun_path, s->path, sizeof(sun.sun_path)) >=
		    sizeof(sun.sun_path))
			e = ENAMETOOLONG;
		else
			e = connect_one(AF_UNIX, s->type,
			    (struct sockaddr *)&sun, sizeof(sun), deadline,
			    &s->fd);
		goto out;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = s->type;
	if ((g = getaddrinfo(s->host, s->port, &hints, &res)) != 0) {
		snprintf(why, whylen, "dial %s: %s", s->name, gai_strerror(g));
		return EHOSTUNREACH;
	}
	e = EHOSTUNREACH;
	for (ai = res; ai != NULL; ai = ai->ai_next)
		if ((e = connect_one(ai->ai_family, ai->ai_socktype,
		    ai->ai_addr, ai->ai_addrlen, deadline, &s->fd)) == 0)
			break;
	freeaddrinfo(res);
 out:
	if (e != 0)
		snprintf(why, whylen, "dial %s: %s", s->name, strerror(e));
	return e;
}

/* Lock mu, waiting no later than the deadline (CLOCK_REALTIME ms). */
static int
lock_by(pthread_mutex_t *mu, long long deadline_rt)
{
	struct timespec	 ts;

	ts.tv_sec = deadline_rt / 1000;
	ts.tv_nsec = (deadline_rt % 1000) * 1000000;
	return lock_mutex_timed(mu, LOCK_LEAF_INNER, &ts);
}

int
audit_sock_open(struct audit_sock *s, char *why, size_t whylen)
{
	long long	 t = time_wall_ms() + s->timeout_ms;
	int		 e;

	if ((e = lock_by(&s->mu, t)) != 0) {
		snprintf(why, whylen, "%s: %s", s->name, strerror(e));
		return e;
	}
	e = sock_connect(s, time_mono_ms() + s->timeout_ms, why,
	    whylen);
	unlock_mutex(&s->mu);
	return e;
}

/* Send all of iov's bytes (mu held) by the deadline. */
static int
send_all(struct audit_sock *s, struct iovec *iov, int n, long long deadline)
{
	struct msghdr	 m;
	ssize_t		 w;
	int		 e;

	while (n > 0) {
		memset(&m, 0, sizeof(m));
		m.msg_iov = iov;
		m.msg_iovlen = (size_t)n;
		if ((w = sendmsg(s->fd, &m, MSG_NOSIGNAL)) == -1) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				return errno;
			if ((e = wait_fd(s->fd, POLLOUT, deadline)) != 0)
				return e;
			continue;
		}
		if (s->type == SOCK_DGRAM)
			return 0;	/* a datagram goes whole or not */
		while (n > 0 && (size_t)w >= iov->iov_len) {
			w -= (ssize_t)iov->iov_len;
			iov++;
			n--;
		}
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + w;
			iov->iov_len -= (size_t)w;
		}
	}
	return 0;
}

int
audit_sock_write(struct audit_sock *s, const char *p, size_t len,
    char *why, size_t whylen)
{
	struct iovec	 iov[2];
	struct tm	 tm;
	time_t		 now;
	long long	 dl_rt, dl;
	char		 hdr[512], ts[32];
	int		 e, n = 0;

	dl_rt = time_wall_ms() + s->timeout_ms;
	dl = time_mono_ms() + s->timeout_ms;
	if ((e = lock_by(&s->mu, dl_rt)) != 0) {
		snprintf(why, whylen, "write %s: %s", s->name, strerror(e));
		return e;
	}
	if ((e = sock_connect(s, dl, why, whylen)) != 0)
		goto out;
	if (s->syslog) {
		now = time(NULL);
		localtime_r(&now, &tm);
		strftime(ts, sizeof(ts), "%b %e %H:%M:%S", &tm);
		snprintf(hdr, sizeof(hdr), "<%d>%s %s[%ld]: ", s->pri, ts,
		    s->tag, (long)getpid());
		iov[n].iov_base = hdr;
		iov[n++].iov_len = strlen(hdr);
	}
	iov[n].iov_base = (void *)(uintptr_t)p;	/* sendmsg only reads */
	iov[n++].iov_len = len;
	if ((e = send_all(s, iov, n, dl)) != 0) {
		snprintf(why, whylen, "write %s: %s", s->name, strerror(e));
		close(s->fd);
		s->fd = -1;
	}
 out:
	unlock_mutex(&s->mu);
	return e;
}

void
audit_sock_close(struct audit_sock *s)
{
	lock_mutex(&s->mu, LOCK_LEAF_INNER);
	if (s->fd >= 0) {
		close(s->fd);
		s->fd = -1;
	}
	unlock_mutex(&s->mu);
}
