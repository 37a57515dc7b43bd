/*
 * audit.c -- the audit broker and its table of devices (one device:
 * audit_dev.c).
 *
 * The router hands every routed request to audit_log_request() before
 * the handler and to audit_log_response() after it (the raw sys/ routes
 * that check a token call them themselves).  Each describes the entry
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
 * Changes are serialised by chg_mu and stored before they are
 * published, as the mount table's are.
 */
#include "config.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "audit_dev.h"
#include "audit_entry.h"
#include "audit_headers.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "req.h"
#include "router.h"

#define AUDIT_TABLE	"core/audit"
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
 * Each request thread's memo of what its request entries wrote, per
 * device (struct audit_memo), for the response entries of the same
 * request (the router writes both on one thread).  Keyed by the
 * request's id and each device's serial, so a device enabled in between
 * is not given another's text.
 */
#define MEMO_DEVS	  8
struct memo_set {
	char		  req_id[64];	/* "": empty, nothing to wipe */
	unsigned long	  serial[MEMO_DEVS];	/* 0: free */
	struct audit_memo m[MEMO_DEVS];
};
/*
 * What a request thread keeps between entries: its entry buffer and its
 * memo.  Allocated on the thread's first audited request, so threads
 * that never log one (and every thread while no device is enabled) pay
 * no memory for it.
 */
struct tstate {
	struct buf	  b;
	struct memo_set	  memo;
};
static pthread_key_t	  tstate_key;
static pthread_once_t	  tstate_once = PTHREAD_ONCE_INIT;
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
tstate_free(void *p)
{
	struct tstate	*t = p;
	size_t		 i;

	buf_free(&t->b);
	for (i = 0; i < MEMO_DEVS; i++)
		buf_free(&t->memo.m[i].head);
	free(t);
}

static void
tstate_key_init(void)
{
	if (pthread_key_create(&tstate_key, tstate_free) != 0)
		abort();
}

/*
 * The calling thread's state, kept between entries (its buffer wiped
 * after each) so that writing one allocates nothing; NULL on ENOMEM.
 */
static struct tstate *
tstate_get(void)
{
	struct tstate	*t;

	if (pthread_once(&tstate_once, tstate_key_init) != 0)
		abort();
	if ((t = pthread_getspecific(tstate_key)) != NULL)
		return t;
	if ((t = calloc(1, sizeof(*t))) == NULL)
		return NULL;
	if (pthread_setspecific(tstate_key, t) != 0) {
		free(t);
		return NULL;
	}
	return t;
}

/* Done with one of the thread's buffers: wiped, and freed if it grew large. */
static void
tbuf_put(struct buf *b)
{
	if (b->cap > TBUF_KEEP)
		buf_free(b);
	else
		buf_reset(b);
}

/* The memo slot of device d for this thread's request, or NULL. */
static struct audit_memo *
memo_for(struct memo_set *ms, const struct audit_dev *d)
{
	size_t	 i;

	for (i = 0; i < MEMO_DEVS; i++)
		if (ms->serial[i] == d->serial)
			return &ms->m[i];
	for (i = 0; i < MEMO_DEVS; i++)
		if (ms->serial[i] == 0) {
			ms->serial[i] = d->serial;
			return &ms->m[i];
		}
	return NULL;
}

/* Wipe this thread's memo; a text that grew large is freed. */
static void
memo_clear(struct memo_set *ms)
{
	size_t	 i;

	for (i = 0; i < MEMO_DEVS; i++) {
		tbuf_put(&ms->m[i].head);
		ms->m[i].req_at = 0;
		ms->serial[i] = 0;
	}
	ms->req_id[0] = '\0';
}

/* Start this thread's memo afresh for req, or keep it if it is req's. */
static void
memo_begin(struct memo_set *ms, const struct request *req, int response)
{
	if (response && strcmp(ms->req_id, req->id) == 0)
		return;
	if (ms->req_id[0] != '\0')	/* left by a request-only entry */
		memo_clear(ms);
	strlcpy(ms->req_id, req->id, sizeof(ms->req_id));
}

/*
 * Log entry e to every device: CF_OK if none is enabled or at least one
 * wrote it, CF_EIO if every one failed (each failure logged).
 */
static int
broker_log(const struct audit_entry *e, struct tstate *t)
{
	struct audit_entry	 de = *e;
	struct audit_dev	*few[8], **use = few;
	struct buf		*b = &t->b;
	char			 why[512];
	size_t			 i, n, ok = 0;
	int			 rc;

	/* Take the devices, then write with no table lock held. */
	rdlock();
	n = ndevs;
	if (n > sizeof(few) / sizeof(few[0]) &&
	    (use = calloc(n, sizeof(*use))) == NULL) {
		unlock();
		log_warnx("audit: request %s: %s", e->req->id,
		    cf_strerror(CF_ENOMEM));
		return CF_EIO;
	}
	for (i = 0; i < n; i++)
		use[i] = audit_dev_ref(devs[i]);
	unlock();
	for (i = 0; i < n; i++) {
		buf_reset(b);
		why[0] = '\0';
		de.memo = memo_for(&t->memo, use[i]);
		if ((rc = audit_entry_emit(&use[i]->fmt, &de, b)) != CF_OK)
			log_warnx("audit: request %s: device %s: %s",
			    e->req->id, use[i]->path, cf_strerror(rc));
		else if (audit_dev_write(use[i], b->data, b->len, why,
		    sizeof(why)) != 0)
			log_warnx("audit: request %s: device %s cannot "
			    "write: %s", e->req->id, use[i]->path, why);
		else
			ok++;
		audit_dev_unref(use[i]);
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
broker_enabled(void)
{
	return atomic_load(&ndevs_seen) != 0;
}

/*
 * One entry of req to every device, with this thread's memo: CF_OK if
 * no device is enabled or one wrote it, else the request fails.
 */
static int
broker_entry(struct request *req, struct response *resp, int err,
    int response)
{
	struct audit_entry	 e;
	struct audit_hdrs	 hdrs;
	struct tstate		*t;
	int			 rc = CF_EIO;

	if (atomic_load(&ndevs_seen) == 0)
		return CF_OK;
	if ((t = tstate_get()) == NULL)
		log_warnx("audit: request %s: %s", req->id,
		    cf_strerror(CF_ENOMEM));
	else {
		audit_entry_init(&e, req, resp, err, response);
		memo_begin(&t->memo, req, response);
		audit_headers_pick(req, &hdrs);
		e.hdrs = &hdrs;
		rc = broker_log(&e, t);
		if (response)	/* the request is done */
			memo_clear(&t->memo);
	}
	return rc == CF_OK ? CF_OK : audit_failed(req, resp,
	    response ? "response" : "request");
}

int
audit_log_request(struct request *req, struct response *resp, int err)
{
	return broker_entry(req, resp, err, 0);
}

int
audit_log_response(struct request *req, struct response *resp, int err)
{
	return broker_entry(req, resp, err, 1);
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

int
audit_enable(const char *path, const char *type, const char *desc,
    json_t *options, int local, char *why, size_t whylen)
{
	struct audit_dev	*d = NULL;
	const char		*skip;
	char			 err[400];
	size_t			 i;
	int			 rc, e;

	lock_mutex(&chg_mu, LOCK_CHANGE);
	rdlock();
	for (i = 0, rc = CF_OK; i < ndevs; i++)
		if (paths_nest(devs[i]->path, path))
			rc = CF_EINVAL;
	unlock();
	if (rc != CF_OK) {
		snprintf(why, whylen, "path already in use");
		goto out;
	}
	if ((rc = audit_dev_new(path, type, desc, options, local, &d, why,
	    whylen)) != CF_OK)
		goto out;
	err[0] = '\0';
	e = audit_dev_open(d, err, sizeof(err));
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
	    (rc = audit_dev_test(d, why, whylen)) != CF_OK)
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
	unlock_mutex(&chg_mu);
	audit_dev_free(d);
	return rc;
}

int
audit_disable(const char *path)
{
	struct audit_dev	*d = NULL;
	size_t			 i;
	int			 rc = CF_OK;

	lock_mutex(&chg_mu, LOCK_CHANGE);
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
	audit_dev_unref(d);
 out:
	unlock_mutex(&chg_mu);
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

	rdlock();
	n = ndevs;
	if ((use = calloc(n > 0 ? n : 1, sizeof(*use))) == NULL) {
		unlock();
		log_warnx("audit: cannot reopen devices: %s",
		    cf_strerror(CF_ENOMEM));
		return;
	}
	for (i = 0; i < n; i++)
		use[i] = audit_dev_ref(devs[i]);
	unlock();
	for (i = 0; i < n; i++) {
		why[0] = '\0';
		if (audit_dev_reopen(use[i], why, sizeof(why)) != 0)
			log_warnx("audit: device %s cannot reopen: %s",
			    use[i]->path, why);
		audit_dev_unref(use[i]);
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
		audit_dev_unref(old[i]);
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
		rc = audit_dev_new(json_string_value(json_object_get(e, "path")),
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
		if (audit_dev_open(d, why, sizeof(why)) != 0)
			log_warnx("audit: device %s cannot open: %s", d->path,
			    why);
		else
			opened++;
		wrlock();
		rc = table_insert(d);
		unlock();
		if (rc != CF_OK) {
			audit_dev_free(d);
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
		.enabled = broker_enabled,
		.request = audit_log_request,
		.response = audit_log_response,
	};

	router_auditing(&ops);
	core_on_active(audit_load);
	core_on_standby(audit_unload);
}
