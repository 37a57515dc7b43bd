/*
 * audit.c -- the audit broker and the file audit device.
 *
 * The router hands every routed request to broker_request() before the
 * handler and to broker_response() after it.  Each describes the entry
 * once (audit_entry.h) and, for each device, writes its text straight
 * into the thread's buffer, hashed under the device's salt unless the
 * device logs raw, then hands it to the device with one write().
 *
 * Devices live in a sorted array under a rwlock, counted: a writer of
 * entries takes a reference to each device under the read lock and
 * writes with no lock of the table's (nor the core's: the router calls
 * in without it), so a stalled device delays only its own writers.
 * Enable, disable and the seal drop write-lock the table only to
 * publish a change; a dropped device is freed by its last writer.
 * A file device's writers share its fd lock's read
 * side (O_APPEND keeps each entry whole); a reopen (SIGHUP, or after a
 * failed write) takes its write side.  Changes are serialised by chg_mu
 * and stored before they are published, as the mount table's are.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "audit_entry.h"
#include "audit_headers.h"
#include "audit_sock.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "timeutil.h"
#include "token.h"
#include "uuid4.h"

#define AUDIT_TABLE	"core/audit"
#define SALT_LEN	36		/* UUID text */

enum dev_kind {
	DEV_FILE,
	DEV_STDOUT,
	DEV_DISCARD,
	DEV_SOCK			/* syslog and socket */
};

struct audit_dev {
	char		*path;		/* "file/" */
	char		*type;		/* "file" */
	char		*description;
	json_t		*options;	/* strings, as enabled */
	int		 local;
	char		 salt[SALT_LEN + 1];
	int		 kind;		/* enum dev_kind */
	char		*file_path;
	mode_t		 mode;
	int		 chmod;		/* 1: chmod the file on open */
	struct audit_fmt fmt;		/* salt, options; prefix points in */
	char		*prefix;
	pthread_mutex_t	 mu;		/* serialises stdout writes */
	/*
	 * The file: writers hold fdlock's read side for their one write()
	 * (O_APPEND places each entry whole), opening and reopening its
	 * write side, so an fd is closed only when no writer uses it.
	 * gen counts opens and closes: a writer that failed reopens only
	 * if nobody did since it read fd.
	 */
	pthread_rwlock_t fdlock;
	int		 fd;		/* -1: closed */
	unsigned	 gen;
	struct audit_sock *sock;	/* DEV_SOCK: locks itself */
	/*
	 * Atomic: the table's reference and each writer's.  A writer holds
	 * one for its writes instead of the table lock, so a device that
	 * stalls (a socket peer that stops reading) never keeps enable,
	 * disable or the seal waiting.
	 */
	int		 refs;
	unsigned long	 serial;	/* unique, never reused: memo key */
};

static pthread_rwlock_t	  tab_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t	  chg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct audit_dev	**devs;		/* sorted by path */
static size_t		  ndevs;
/*
 * ndevs as of the last unlock, read without the lock: with no device
 * a request builds no entry at all.  A device enabled meanwhile logs
 * from the next request on.
 */
static atomic_size_t	  ndevs_seen;
/*
 * Each request thread's memo of the token's and accessor's hashes per
 * device, kept from a request's request entry for its response entry
 * (the router writes both on one thread).  Keyed by the request's id
 * and each device's serial, so a device enabled in between is not
 * given another's hashes.
 */
#define MEMO_DEVS	  8
struct memo_set {
	char		  req_id[64];
	unsigned long	  serial[MEMO_DEVS];	/* 0: free */
	struct audit_memo m[MEMO_DEVS];
};
static _Thread_local struct memo_set memo;
static atomic_ulong	  next_serial = 1;
/* Each request thread's entry buffer (tbuf_get). */
static pthread_key_t	  tbuf_key;
static pthread_once_t	  tbuf_once = PTHREAD_ONCE_INIT;
#define TBUF_KEEP	  65536	/* a larger buffer is freed after use */

static void
rdlock(void)
{
	lock_read(&tab_lock, LOCK_TABLE);
}

static void
wrlock(void)
{
	lock_write(&tab_lock, LOCK_TABLE);
}

static void
unlock(void)
{
	atomic_store(&ndevs_seen, ndevs);
	unlock_rw(&tab_lock);
}

static void
mu_lock(pthread_mutex_t *m, int level)
{
	lock_mutex(m, level);
}

static void
mu_unlock(pthread_mutex_t *m)
{
	unlock_mutex(m);
}

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

static void
dev_free(struct audit_dev *d)
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

static struct audit_dev *
dev_ref(struct audit_dev *d)
{
	__atomic_add_fetch(&d->refs, 1, __ATOMIC_RELAXED);
	return d;
}

/* Drop a reference; the last one frees d. */
static void
dev_unref(struct audit_dev *d)
{
	if (d != NULL && __atomic_sub_fetch(&d->refs, 1, __ATOMIC_ACQ_REL) ==
	    0)
		dev_free(d);
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
static int
dev_write(struct audit_dev *d, const char *p, size_t len, char *why,
    size_t whylen)
{
	unsigned	 gen;
	int		 e;

	switch (d->kind) {
	case DEV_DISCARD:
		return 0;
	case DEV_STDOUT:
		mu_lock(&d->mu, LOCK_LEAF);
		if ((e = write_all(STDOUT_FILENO, p, len)) != 0)
			os_error(why, whylen, "", "write", "stdout", e);
		mu_unlock(&d->mu);
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
static int
dev_new(const char *path, const char *type, const char *desc,
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
		dev_free(d);
	else
		*out = d;
	return rc;
}

static void
tbuf_free(void *p)
{
	buf_free(p);
	free(p);
}

static void
tbuf_key_init(void)
{
	if (pthread_key_create(&tbuf_key, tbuf_free) != 0)
		abort();
}

/*
 * The calling thread's entry buffer, kept between entries (wiped after
 * each) so that writing one allocates nothing; NULL on ENOMEM.
 */
static struct buf *
tbuf_get(void)
{
	struct buf	*b;

	if (pthread_once(&tbuf_once, tbuf_key_init) != 0)
		abort();
	if ((b = pthread_getspecific(tbuf_key)) != NULL)
		return b;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	if (pthread_setspecific(tbuf_key, b) != 0) {
		free(b);
		return NULL;
	}
	return b;
}

/* Done with the thread's buffer: wiped, and freed if an entry grew it. */
static void
tbuf_put(struct buf *b)
{
	if (b->cap > TBUF_KEEP)
		buf_free(b);
	else
		buf_reset(b);
}

/*
 * Log entry e to every device: CF_OK if none is enabled or at least one
 * wrote it, CF_EIO if every one failed (each failure logged).
 */
/* The memo slot of device d for this thread's request, or NULL. */
static struct audit_memo *
memo_for(const struct audit_dev *d)
{
	size_t	 i;

	for (i = 0; i < MEMO_DEVS; i++)
		if (memo.serial[i] == d->serial)
			return &memo.m[i];
	for (i = 0; i < MEMO_DEVS; i++)
		if (memo.serial[i] == 0) {
			memo.serial[i] = d->serial;
			return &memo.m[i];
		}
	return NULL;
}

/* Start this thread's memo afresh for req, or keep it if it is req's. */
static void
memo_begin(const struct request *req, int response)
{
	if (response && strcmp(memo.req_id, req->id) == 0)
		return;
	sodium_memzero(&memo, sizeof(memo));
	strlcpy(memo.req_id, req->id, sizeof(memo.req_id));
}

static int
broker_log(const struct audit_entry *e)
{
	struct audit_entry	 de = *e;
	struct audit_dev	*few[8], **use = few;
	struct buf		*b;
	char			 why[512];
	size_t			 i, n, ok = 0;
	int			 rc;

	if ((b = tbuf_get()) == NULL) {
		log_warnx("audit: request %s: %s", e->req->id,
		    cf_strerror(CF_ENOMEM));
		return CF_EIO;
	}
	/* Take the devices, then write with no table lock held. */
	rdlock();
	n = ndevs;
	if (n > sizeof(few) / sizeof(few[0]) &&
	    (use = calloc(n, sizeof(*use))) == NULL) {
		unlock();
		tbuf_put(b);
		log_warnx("audit: request %s: %s", e->req->id,
		    cf_strerror(CF_ENOMEM));
		return CF_EIO;
	}
	for (i = 0; i < n; i++)
		use[i] = dev_ref(devs[i]);
	unlock();
	for (i = 0; i < n; i++) {
		buf_reset(b);
		why[0] = '\0';
		de.memo = memo_for(use[i]);
		if ((rc = audit_entry_emit(&use[i]->fmt, &de, b)) != CF_OK)
			log_warnx("audit: request %s: device %s: %s",
			    e->req->id, use[i]->path, cf_strerror(rc));
		else if (dev_write(use[i], b->data, b->len, why,
		    sizeof(why)) != 0)
			log_warnx("audit: request %s: device %s cannot "
			    "write: %s", e->req->id, use[i]->path, why);
		else
			ok++;
		dev_unref(use[i]);
	}
	if (use != few)
		free(use);
	tbuf_put(b);
	/* None enabled (any more): nothing to log, nothing failed. */
	return ok > 0 || n == 0 ? CF_OK : CF_EIO;
}

/* Vault's answer when an entry could not be logged: a bare 500. */
static int
audit_failed(struct request *req, struct response *resp, const char *what)
{
	log_warnx("audit: request %s: no audit device logged the %s; the "
	    "request fails", req->id, what);
	resp_fini(resp);
	resp_init(resp);
	return resp_fail(resp, CF_EINTERNAL, "internal error");
}

static int
broker_request(struct request *req, struct response *resp, int err)
{
	struct audit_entry	 e;
	struct audit_hdrs	 hdrs;

	if (atomic_load(&ndevs_seen) == 0)
		return CF_OK;
	audit_entry_init(&e, req, resp, err, 0);
	memo_begin(req, 0);
	audit_headers_pick(req, &hdrs);
	e.hdrs = &hdrs;
	return broker_log(&e) == CF_OK ? CF_OK :
	    audit_failed(req, resp, "request");
}

static int
broker_response(struct request *req, struct response *resp, int err)
{
	struct audit_entry	 e;
	struct audit_hdrs	 hdrs;
	int			 rc;

	if (atomic_load(&ndevs_seen) == 0)
		return CF_OK;
	audit_entry_init(&e, req, resp, err, 1);
	memo_begin(req, 1);
	audit_headers_pick(req, &hdrs);
	e.hdrs = &hdrs;
	rc = broker_log(&e);
	sodium_memzero(&memo, sizeof(memo));	/* the request is done */
	return rc == CF_OK ? CF_OK : audit_failed(req, resp, "response");
}

/* The stored form of the table, with d added (or NULL) and skip left out. */
static json_t *
table_emit(const struct audit_dev *add, const char *skip)
{
	json_t			*arr, *o;
	const struct audit_dev	*d;
	size_t			 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i <= ndevs; i++) {
		d = i < ndevs ? devs[i] : add;
		if (d == NULL || (skip != NULL && strcmp(d->path, skip) == 0))
			continue;
		o = json_pack("{s:s, s:s, s:s, s:O, s:b, s:s}", "path",
		    d->path, "type", d->type, "description", d->description,
		    "options", d->options, "local", d->local, "salt",
		    d->salt);
		if (json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int
table_store(const struct audit_dev *add, const char *skip)
{
	json_t	*arr;
	int	 rc;

	rdlock();
	arr = table_emit(add, skip);
	unlock();
	if (arr == NULL)
		return CF_ENOMEM;
	rc = core_put_json(AUDIT_TABLE, arr);
	json_decref(arr);
	return rc;
}

/* Put d in the table, keeping it sorted (write lock held). */
static int
table_insert(struct audit_dev *d)
{
	struct audit_dev	**nd;
	size_t			  i;

	if ((nd = reallocarray(devs, ndevs + 1, sizeof(*nd))) == NULL)
		return CF_ENOMEM;
	devs = nd;
	for (i = 0; i < ndevs && strcmp(devs[i]->path, d->path) < 0; i++)
		;
	memmove(&devs[i + 1], &devs[i], (ndevs - i) * sizeof(*devs));
	devs[i] = d;
	ndevs++;
	return CF_OK;
}

/* 1 if a and b overlap: one is a prefix of the other. */
static int
paths_nest(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	return strncmp(a, b, la < lb ? la : lb) == 0;
}

/* Vault's test entry, hashed with a throwaway salt. */
static int
dev_test(struct audit_dev *d, char *why, size_t whylen)
{
	struct buf		 b = BUF_INIT;
	struct request		 req;
	struct response		 resp;
	struct audit_entry	 e;
	struct audit_fmt	 f;
	char			 path[] = "sys/audit/test";
	char			 salt[SALT_LEN + 1], err[400];
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
		if (dev_write(d, b.data, b.len, err, sizeof(err)) != 0) {
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

int
audit_enable(const char *path, const char *type, const char *desc,
    json_t *options, int local, char *why, size_t whylen)
{
	struct audit_dev	*d = NULL;
	const char		*skip;
	char			 err[400];
	size_t			 i;
	int			 rc, e;

	mu_lock(&chg_mu, LOCK_CHANGE);
	rdlock();
	for (i = 0, rc = CF_OK; i < ndevs; i++)
		if (paths_nest(devs[i]->path, path))
			rc = CF_EINVAL;
	unlock();
	if (rc != CF_OK) {
		snprintf(why, whylen, "path already in use");
		goto out;
	}
	if ((rc = dev_new(path, type, desc, options, local, &d, why,
	    whylen)) != CF_OK)
		goto out;
	err[0] = '\0';
	fd_wrlock(d);
	e = dev_open(d, err, sizeof(err));
	fd_unlock(d);
	if (e != 0 && d->kind == DEV_SOCK) {
		snprintf(why, whylen, "sanity check failed; unable to "
		    "connect: %s", err);
		rc = CF_EINVAL;
		goto out;
	}
	if (e != 0) {
		snprintf(why, whylen, "sanity check failed; unable to open "
		    "\"%s\" for writing: %s", d->file_path, err);
		rc = CF_EINVAL;
		goto out;
	}
	skip = json_string_value(json_object_get(options, "skip_test"));
	if ((skip == NULL || strcmp(skip, "true") != 0) &&
	    (rc = dev_test(d, why, whylen)) != CF_OK)
		goto out;
	if ((rc = table_store(d, NULL)) != CF_OK) {
		log_warnx("audit: cannot store the audit table: %s",
		    cf_strerror(rc));
		snprintf(why, whylen, "failed to update audit table");
		rc = CF_EINVAL;
		goto out;
	}
	wrlock();
	rc = table_insert(d);
	unlock();
	if (rc == CF_OK) {
		log_info("audit: enabled %s device at %s", d->type, d->path);
		d = NULL;
	}
 out:
	mu_unlock(&chg_mu);
	dev_free(d);
	return rc;
}

int
audit_disable(const char *path)
{
	struct audit_dev	*d = NULL;
	size_t			 i;
	int			 rc = CF_OK;

	mu_lock(&chg_mu, LOCK_CHANGE);
	rdlock();
	for (i = 0; i < ndevs; i++)
		if (strcmp(devs[i]->path, path) == 0)
			d = devs[i];
	unlock();
	if (d == NULL)
		goto out;		/* 204 also when nothing is there */
	if ((rc = table_store(NULL, path)) != CF_OK)
		goto out;
	wrlock();
	for (i = 0; i < ndevs; i++)
		if (devs[i] == d) {
			memmove(&devs[i], &devs[i + 1],
			    (ndevs - i - 1) * sizeof(*devs));
			ndevs--;
			break;
		}
	unlock();
	log_info("audit: disabled device at %s", path);
	dev_unref(d);
 out:
	mu_unlock(&chg_mu);
	return rc;
}

int
audit_list(json_t **out)
{
	json_t	*o, *e;
	size_t	 i;

	if ((o = json_object()) == NULL)
		return CF_ENOMEM;
	rdlock();
	for (i = 0; i < ndevs; i++) {
		e = json_pack("{s:s, s:b, s:O, s:s, s:s}", "description",
		    devs[i]->description, "local", devs[i]->local, "options",
		    devs[i]->options, "path", devs[i]->path, "type",
		    devs[i]->type);
		if (json_object_set_new(o, devs[i]->path, e) != 0) {
			unlock();
			json_decref(o);
			return CF_ENOMEM;
		}
	}
	unlock();
	*out = o;
	return CF_OK;
}

int
audit_hash(const char *path, const char *input, char *out)
{
	size_t	 i;
	int	 rc = CF_ENOTFOUND;

	rdlock();
	for (i = 0; i < ndevs; i++)
		if (strcmp(devs[i]->path, path) == 0) {
			audit_fmt_hash(&devs[i]->fmt, input, strlen(input),
			    out);
			rc = CF_OK;
		}
	unlock();
	return rc;
}

/*
 * SIGHUP: every file device opens its file again (logrotate), every
 * syslog and socket device connects again.  The devices are taken as a
 * writer takes them, so a stalled peer delays only this.
 */
void
audit_reopen(void)
{
	struct audit_dev	**use;
	char			  why[400];
	size_t			  i, n;
	int			  e;

	rdlock();
	n = ndevs;
	if ((use = calloc(n > 0 ? n : 1, sizeof(*use))) == NULL) {
		unlock();
		log_warnx("audit: cannot reopen devices: %s",
		    cf_strerror(CF_ENOMEM));
		return;
	}
	for (i = 0; i < n; i++)
		use[i] = dev_ref(devs[i]);
	unlock();
	for (i = 0; i < n; i++) {
		why[0] = '\0';
		e = 0;
		if (use[i]->kind == DEV_FILE) {
			fd_wrlock(use[i]);
			dev_close(use[i]);
			e = dev_open(use[i], why, sizeof(why));
			fd_unlock(use[i]);
		} else if (use[i]->kind == DEV_SOCK) {
			audit_sock_close(use[i]->sock);
			e = audit_sock_open(use[i]->sock, why, sizeof(why));
		}
		if (e != 0)
			log_warnx("audit: device %s cannot reopen: %s",
			    use[i]->path, why);
		dev_unref(use[i]);
	}
	free(use);
}

/* Drop every device (leaving active, sealing). */
static int
audit_unload(void)
{
	struct audit_dev	**old;
	size_t			  i, n;

	wrlock();
	old = devs;
	n = ndevs;
	devs = NULL;
	ndevs = 0;
	unlock();
	for (i = 0; i < n; i++)
		dev_unref(old[i]);
	free(old);
	return CF_OK;
}

/*
 * Becoming active: every stored device, with its stored salt.  One that
 * cannot open is kept (its writes fail and are logged) unless all fail:
 * then, as Vault, the node does not become active.
 */
static int
audit_load(void)
{
	struct audit_dev	*d;
	json_t			*arr = NULL, *e;
	const char		*salt;
	char			 why[400];
	size_t			 i, opened = 0;
	int			 rc;

	if ((rc = core_get_json(AUDIT_TABLE, &arr)) == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	json_array_foreach(arr, i, e) {
		why[0] = '\0';
		rc = dev_new(json_string_value(json_object_get(e, "path")),
		    json_string_value(json_object_get(e, "type")),
		    json_string_value(json_object_get(e, "description")),
		    json_object_get(e, "options"),
		    json_is_true(json_object_get(e, "local")), &d, why,
		    sizeof(why));
		if (rc != CF_OK) {
			log_warnx("audit: stored device %zu: %s", i, why);
			rc = CF_OK;
			continue;
		}
		if ((salt = json_string_value(json_object_get(e, "salt"))) !=
		    NULL) {
			strlcpy(d->salt, salt, sizeof(d->salt));
			audit_fmt_init(&d->fmt, d->salt);
		}
		fd_wrlock(d);
		if (dev_open(d, why, sizeof(why)) != 0)
			log_warnx("audit: device %s cannot open: %s", d->path,
			    why);
		else
			opened++;
		fd_unlock(d);
		wrlock();
		rc = table_insert(d);
		unlock();
		if (rc != CF_OK) {
			dev_free(d);
			break;
		}
	}
	if (rc == CF_OK && json_array_size(arr) > 0 && opened == 0) {
		log_warnx("audit: failed to setup audit table: no device "
		    "can write");
		rc = CF_EIO;
	}
	json_decref(arr);
	if (rc != CF_OK)
		audit_unload();
	return rc;
}

void
audit_register(void)
{
	static const struct router_audit_ops ops = {
		.request = broker_request,
		.response = broker_response,
	};

	router_auditing(&ops);
	core_on_active(audit_load);
	core_on_standby(audit_unload);
}
