/*
 * audit_dev.c -- one audit device (audit_dev.h): its options as Vault
 * checks them, its file (opened with its parents, reopened after a
 * failed write or on SIGHUP), stdout, or syslog/socket sink
 * (audit_sock.c), and the write of one entry.
 *
 * A file device's writers share its fd lock's read side (O_APPEND keeps
 * each entry whole); opening and reopening take its write side, so an
 * fd is closed only when no writer uses it.
 */
#include "config.h"

#include <sys/stat.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_dev.h"
#include "audit_entry.h"
#include "audit_sock.h"
#include "buf.h"
#include "err.h"
#include "lock.h"
#include "req.h"
#include "uuid4.h"

static atomic_ulong	 next_serial = 1;

/*
 * A device's fdlock, preferring its writer where the platform can: a
 * reopen on SIGHUP must not wait for a pause in the traffic.
 */
static int
fdlock_init(pthread_rwlock_t *l)
{
	pthread_rwlockattr_t	 a;
	int			 rc;

	if (pthread_rwlockattr_init(&a) != 0)
		return -1;
#if defined(__GLIBC__)
	pthread_rwlockattr_setkind_np(&a,
	    PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
#endif
	rc = pthread_rwlock_init(l, &a);
	pthread_rwlockattr_destroy(&a);
	return rc;
}

void
audit_dev_free(struct audit_dev *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	pthread_mutex_destroy(&d->mu);
	pthread_rwlock_destroy(&d->fdlock);
	audit_sock_free(d->sock);
	audit_fmt_wipe(&d->fmt);
	free(d->path);
	free(d->type);
	free(d->description);
	json_decref(d->options);
	free(d->file_path);
	free(d->prefix);
	sodium_memzero(d->salt, sizeof(d->salt));
	free(d);
}

struct audit_dev *
audit_dev_ref(struct audit_dev *d)
{
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

/* Drop a reference; the last one frees d. */
void
audit_dev_unref(struct audit_dev *d)
{
	if (d != NULL && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) ==
	    0)
		audit_dev_free(d);
}

/* Go's strconv.ParseBool; -1 if s is none of its spellings. */
static int
parse_bool(const char *s)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
	    "True", NULL };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
	    "False", NULL };
	size_t	 i;

	for (i = 0; t[i] != NULL; i++)
		if (strcmp(s, t[i]) == 0)
			return 1;
	for (i = 0; f[i] != NULL; i++)
		if (strcmp(s, f[i]) == 0)
			return 0;
	return -1;
}

/* A boolean option (def if absent); CF_EINVAL with Go's text in why. */
static int
opt_bool(json_t *opts, const char *k, int def, int *out, char *why,
    size_t whylen)
{
	const char	*s = json_string_value(json_object_get(opts, k));

	*out = def;
	if (s == NULL)
		return CF_OK;
	if ((*out = parse_bool(s)) < 0) {
		snprintf(why, whylen, "strconv.ParseBool: parsing \"%s\": "
		    "invalid syntax", s);
		return CF_EINVAL;
	}
	return CF_OK;
}

/* "open /x: permission denied", the way Go words an os error. */
static void
os_error(char *why, size_t whylen, const char *pre, const char *op,
    const char *path, int errnum)
{
	char	 msg[128];

	strlcpy(msg, strerror(errnum), sizeof(msg));
	msg[0] = (char)tolower((unsigned char)msg[0]);
	snprintf(why, whylen, "%s%s %s: %s", pre, op, path, msg);
}

/* mkdir -p of path's directory, with mode; why names what failed. */
static int
make_parents(const char *path, mode_t mode, char *why, size_t whylen)
{
	char	*dir, *p;
	int	 rc = 0, last;

	if ((dir = strdup(path)) == NULL)
		return ENOMEM;
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(dir, mode) == -1 && errno != EEXIST) {
			rc = errno;
			os_error(why, whylen, "", "mkdir", dir, rc);
		}
		if (last)
			break;
		*p = '/';
	}
	free(dir);
	return rc;
}

/*
 * Open d's file (fdlock's write side held, or d not yet published);
 * errno-style code, 0 on success.
 */
static int
dev_open(struct audit_dev *d, char *why, size_t whylen)
{
	int	 fd, e;

	if (d->kind == DEV_SOCK)
		return audit_sock_open(d->sock, why, whylen);
	if (d->kind != DEV_FILE || d->fd >= 0)
		return 0;
	if ((e = make_parents(d->file_path, d->mode, why, whylen)) != 0)
		return e;
	if ((fd = open(d->file_path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, d->mode)) == -1) {
		e = errno;
		os_error(why, whylen, "", "open", d->file_path, e);
		return e;
	}
	if (d->chmod && strcmp(d->file_path, "/dev/null") != 0 &&
	    fchmod(fd, d->mode) == -1) {
		e = errno;
		os_error(why, whylen, "", "chmod", d->file_path, e);
		close(fd);
		return e;
	}
	d->fd = fd;
	d->gen++;
	return 0;
}

/* Close d's file (fdlock's write side held). */
static void
dev_close(struct audit_dev *d)
{
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
		d->gen++;
	}
}

static void
fd_rdlock(struct audit_dev *d)
{
	lock_read(&d->fdlock, LOCK_LEAF);
}

static void
fd_wrlock(struct audit_dev *d)
{
	lock_write(&d->fdlock, LOCK_LEAF);
}

static void
fd_unlock(struct audit_dev *d)
{
	unlock_rw(&d->fdlock);
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One entry to d.  A file takes one write() under fdlock's read side,
 * with no lock between writers; one that fails is reopened once and
 * written again, as Vault's file device does.
 */
int
audit_dev_write(struct audit_dev *d, const char *p, size_t len, char *why,
    size_t whylen)
{
	unsigned	 gen;
	int		 e;

	switch (d->kind) {
	case DEV_DISCARD:
		return 0;
	case DEV_STDOUT:
		lock_mutex(&d->mu, LOCK_LEAF);
		if ((e = write_all(STDOUT_FILENO, p, len)) != 0)
			os_error(why, whylen, "", "write", "stdout", e);
		unlock_mutex(&d->mu);
		return e;
	case DEV_SOCK:
		return audit_sock_write(d->sock, p, len, why, whylen);
	default:
		break;
	}
	fd_rdlock(d);
	gen = d->gen;
	e = d->fd >= 0 ? write_all(d->fd, p, len) : EBADF;
	fd_unlock(d);
	if (e == 0)
		return 0;
	fd_wrlock(d);
	if (d->gen == gen)
		dev_close(d);
	if ((e = dev_open(d, why, whylen)) == 0 &&
	    (e = write_all(d->fd, p, len)) != 0)
		os_error(why, whylen, "", "write", d->file_path, e);
	fd_unlock(d);
	return e;
}

/*
 * A device from its options (borrowed, copied), not yet open.  Vault's
 * checks in Vault's order; CF_EINVAL with the text in why.
 */
int
audit_dev_new(const char *path, const char *type, const char *desc,
    json_t *opts, int local, struct audit_dev **out, char *why,
    size_t whylen)
{
	struct audit_dev	*d = NULL;
	struct stat		 st;
	const char		*fp, *s;
	unsigned long		 m;
	char			*end;
	int			 rc = CF_OK;

	*out = NULL;
	if (strcmp(type, "file") != 0 && strcmp(type, "syslog") != 0 &&
	    strcmp(type, "socket") != 0) {
		snprintf(why, whylen, "unknown backend type: \"%s\"", type);
		return CF_EINVAL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CF_ENOMEM;
	d->fd = -1;
	d->refs = 1;
	d->serial = atomic_fetch_add(&next_serial, 1);
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		return CF_ENOMEM;
	}
	if (fdlock_init(&d->fdlock) != 0) {
		pthread_mutex_destroy(&d->mu);
		free(d);
		return CF_ENOMEM;
	}
	if ((d->path = strdup(path)) == NULL ||
	    (d->type = strdup(type)) == NULL ||
	    (d->description = strdup(desc != NULL ? desc : "")) == NULL ||
	    (d->options = json_deep_copy(opts)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	d->local = local;
	uuid4_random(d->salt);
	audit_fmt_init(&d->fmt, d->salt);
	if (strcmp(type, "file") != 0) {
		if ((rc = audit_sock_new(type, opts, &d->sock, why, whylen)) !=
		    CF_OK)
			goto out;
		d->kind = DEV_SOCK;
		goto common;
	}
	if ((fp = json_string_value(json_object_get(opts, "file_path"))) ==
	    NULL && (fp = json_string_value(json_object_get(opts, "path"))) ==
	    NULL) {
		snprintf(why, whylen, "file_path is required");
		rc = CF_EINVAL;
		goto out;
	}
	d->kind = strcasecmp(fp, "stdout") == 0 ? DEV_STDOUT :
	    strcasecmp(fp, "discard") == 0 ? DEV_DISCARD : DEV_FILE;
	if ((d->file_path = strdup(fp)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
 common:
	s = json_string_value(json_object_get(opts, "format"));
	if (s != NULL && strcmp(s, "json") != 0 && strcmp(s, "jsonx") != 0) {
		snprintf(why, whylen, "unknown format type \"%s\"", s);
		rc = CF_EINVAL;
		goto out;
	}
	d->fmt.jsonx = s != NULL && strcmp(s, "jsonx") == 0;
	if ((rc = opt_bool(opts, "hmac_accessor", 1, &d->fmt.hmac_accessor,
	    why, whylen)) != CF_OK ||
	    (rc = opt_bool(opts, "log_raw", 0, &d->fmt.log_raw, why,
	    whylen)) != CF_OK ||
	    (rc = opt_bool(opts, "elide_list_responses", 0, &d->fmt.elide,
	    why, whylen)) != CF_OK)
		goto out;
	s = json_string_value(json_object_get(opts, "prefix"));
	if ((d->prefix = strdup(s != NULL ? s : "")) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	d->fmt.prefix = d->prefix;
	d->mode = 0600;
	d->chmod = 1;
	if (d->kind != DEV_SOCK &&
	    (s = json_string_value(json_object_get(opts, "mode"))) != NULL) {
		errno = 0;
		m = strtoul(s, &end, 8);
		if (*s == '\0' || *end != '\0' || errno != 0 || *s == '-' ||
		    *s == '+' || isspace((unsigned char)*s) || m > 0xffffffffUL) {
			snprintf(why, whylen, "strconv.ParseUint: parsing "
			    "\"%s\": invalid syntax", s);
			rc = CF_EINVAL;
			goto out;
		}
		d->mode = (mode_t)(m & 07777);
		if (m == 0 && d->kind == DEV_FILE) {
			/* "0000": keep the file's own mode. */
			if (stat(d->file_path, &st) == -1) {
				os_error(why, whylen, "", "stat",
				    d->file_path, errno);
				rc = CF_EINVAL;
				goto out;
			}
			d->mode = st.st_mode & 07777;
			d->chmod = 0;
		}
	}
 out:
	if (rc != CF_OK)
		audit_dev_free(d);
	else
		*out = d;
	return rc;
}

int
audit_dev_open(struct audit_dev *d, char *why, size_t whylen)
{
	int	 e;

	fd_wrlock(d);
	e = dev_open(d, why, whylen);
	fd_unlock(d);
	return e;
}

int
audit_dev_reopen(struct audit_dev *d, char *why, size_t whylen)
{
	int	 e = 0;

	if (d->kind == DEV_FILE) {
		fd_wrlock(d);
		dev_close(d);
		e = dev_open(d, why, whylen);
		fd_unlock(d);
	} else if (d->kind == DEV_SOCK) {
		audit_sock_close(d->sock);
		e = audit_sock_open(d->sock, why, whylen);
	}
	return e;
}

/* Vault's test entry, hashed with a throwaway salt. */
int
audit_dev_test(struct audit_dev *d, char *why, size_t whylen)
{
	struct buf		 b = BUF_INIT;
	struct request		 req;
	struct response		 resp;
	struct audit_entry	 e;
	struct audit_fmt	 f;
	char			 path[] = "sys/audit/test";
	char			 salt[AUDIT_SALT_LEN + 1], err[400];
	int			 rc;

	memset(&req, 0, sizeof(req));
	memset(&resp, 0, sizeof(resp));
	uuid4_random(req.id);
	req.op = REQ_UPDATE;
	req.path = path;
	f = d->fmt;
	uuid4_random(salt);
	audit_fmt_init(&f, salt);
	audit_entry_init(&e, &req, &resp, CF_OK, 0);
	if ((rc = audit_entry_emit(&f, &e, &b)) == CF_OK) {
		err[0] = '\0';
		if (audit_dev_write(d, b.data, b.len, err, sizeof(err)) != 0) {
			snprintf(why, whylen, "audit backend failed test "
			    "message: %s", err);
			rc = CF_EINVAL;
		}
	}
	audit_fmt_wipe(&f);
	sodium_memzero(salt, sizeof(salt));
	buf_free(&b);
	return rc;
}
