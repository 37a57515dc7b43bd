/*
 * faultstore.c -- a test-only backend that fails the Nth storage call.
 *
 * A faultstore wraps another backend.  Unarmed, it passes every call
 * through.  Armed with a spec such as "writes:3" it counts the calls of
 * the named kinds and answers the third with CF_EIO without calling the
 * backend below, so nothing of that call happens; with "writes:3+" the
 * third and every later write fail, as when a disk goes away.  Tests
 * use it to run every error path above storage and to check that a
 * storage error becomes a 5xx with nothing half-written.
 *
 * Keeping it out of production.  No configuration can name it:
 * conf.c accepts only lmdb, file and inmem, and this file is not in
 * libcoffer.a, so bin/cofferd cannot even link it.  It reaches a server
 * only in bin/cofferd-fault, a separate test binary that make check
 * links from the same objects plus faultstore.o and a copy of
 * storage.c compiled with COFFER_FAULTSTORE=1; there, storage_open
 * wraps whatever the configuration opens, if and only if the
 * environment names an arm file (COFFER_FAULT_ARM).  Unit tests link
 * faultstore.o themselves and wrap stores with faultstore_wrap.
 *
 * Arming from outside.  init and unseal must work before faults start,
 * so the count cannot start at open.  While unarmed, every call first
 * looks for the arm file; once a test has created it (atomically, by
 * rename), the spec in it arms the store, the file is removed, and the
 * count starts with the next call.  Each fired fault is logged.
 *
 * Threads: the bookkeeping (arming, counting) is under one mutex, a
 * leaf lock taken before the backend's own and released before the
 * backend is called, so calls still run concurrently below it.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "storage.h"
#include "faultstore.h"

#define FAULTSTORE_SPEC_MAX	128

struct faultstore {
	struct storage	 st;		/* must stay first */
	struct storage	*inner;		/* owned */
	char		*armfile;	/* owned; NULL: armed only by API */
	pthread_mutex_t	 lock;		/* guards the fields below */
	int		 armed;
	unsigned int	 mask;		/* FAULTSTORE_* kinds counted */
	unsigned long	 at;		/* the call that fails, from 1 */
	int		 sticky;	/* every call from at on fails */
	unsigned long	 counted, failed;
};

static const struct {
	const char	*name;
	unsigned int	 mask;
} faultstore_kinds[] = {
	{ "get", FAULTSTORE_GET },
	{ "put", FAULTSTORE_PUT },
	{ "del", FAULTSTORE_DEL },
	{ "list", FAULTSTORE_LIST },
	{ "batch", FAULTSTORE_BATCH },
	{ "reads", FAULTSTORE_READS },
	{ "writes", FAULTSTORE_WRITES },
	{ "all", FAULTSTORE_ALL },
};

static struct faultstore *
faultstore_from(struct storage *st)
{
	if (st->ops != &storage_fault_ops)
		CF_BUG("not a fault storage");
	return (struct faultstore *)st;
}

static void
faultstore_lock(struct faultstore *fs)
{
	lock_mutex(&fs->lock, LOCK_STORAGE);
}

static void
faultstore_unlock(struct faultstore *fs)
{
	unlock_mutex(&fs->lock);
}

static const char *
faultstore_kind_name(unsigned int kind)
{
	size_t	 i;

	for (i = 0; i < sizeof(faultstore_kinds) /
	    sizeof(faultstore_kinds[0]); i++)
		if (faultstore_kinds[i].mask == kind)
			return faultstore_kinds[i].name;
	return "?";
}

int
faultstore_parse(const char *spec, unsigned int *mask, unsigned long *n,
    int *sticky)
{
	char		 s[FAULTSTORE_SPEC_MAX], *colon, *word, *next;
	const char	*errstr;
	size_t		 i, len;
	unsigned int	 m = 0;
	long long	 v;
	int		 plus = 0;

	if (strlcpy(s, spec, sizeof(s)) >= sizeof(s))
		return CF_EINVAL;
	/* The arm file may end in a newline. */
	len = strlen(s);
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' '))
		s[--len] = '\0';
	if ((colon = strchr(s, ':')) == NULL)
		return CF_EINVAL;
	*colon = '\0';
	for (word = s; word != NULL; word = next) {
		if ((next = strchr(word, ',')) != NULL)
			*next++ = '\0';
		for (i = 0; i < sizeof(faultstore_kinds) /
		    sizeof(faultstore_kinds[0]); i++)
			if (strcmp(word, faultstore_kinds[i].name) == 0)
				break;
		if (i == sizeof(faultstore_kinds) / sizeof(faultstore_kinds[0]))
			return CF_EINVAL;
		m |= faultstore_kinds[i].mask;
	}
	len = strlen(colon + 1);
	if (len > 0 && colon[len] == '+') {
		colon[len] = '\0';
		plus = 1;
	}
	v = strtonum(colon + 1, 1, 1000000000LL, &errstr);
	if (errstr != NULL)
		return CF_EINVAL;
	*mask = m;
	*n = (unsigned long)v;
	*sticky = plus;
	return CF_OK;
}

static int
faultstore_arm_locked(struct faultstore *fs, const char *spec)
{
	unsigned long	 n;
	unsigned int	 mask;
	int		 sticky;

	if (faultstore_parse(spec, &mask, &n, &sticky) != CF_OK)
		return CF_EINVAL;
	fs->armed = 1;
	fs->mask = mask;
	fs->at = n;
	fs->sticky = sticky;
	fs->counted = 0;
	fs->failed = 0;
	log_info("faultstore: armed: %s", spec);
	return CF_OK;
}

/* Unarmed with an arm file: arm from it if it is there. */
static void
faultstore_check_armfile(struct faultstore *fs)
{
	char	 spec[FAULTSTORE_SPEC_MAX];
	ssize_t	 n;
	int	 fd;

	if ((fd = open(fs->armfile, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno != ENOENT)
			log_warn("faultstore: %s", fs->armfile);
		return;
	}
	n = read(fd, spec, sizeof(spec) - 1);
	close(fd);
	if (unlink(fs->armfile) == -1)
		log_warn("faultstore: unlink %s", fs->armfile);
	if (n < 0) {
		log_warn("faultstore: read %s", fs->armfile);
		return;
	}
	spec[n] = '\0';
	if (faultstore_arm_locked(fs, spec) != CF_OK)
		log_warnx("faultstore: bad spec in %s", fs->armfile);
}

/* 1 if this call (of kind) must fail; counts it. */
static int
faultstore_fires(struct faultstore *fs, unsigned int kind, const char *key)
{
	int	 fire = 0;

	faultstore_lock(fs);
	if (!fs->armed && fs->armfile != NULL)
		faultstore_check_armfile(fs);
	if (fs->armed && (fs->mask & kind) != 0) {
		fs->counted++;
		if (fs->counted == fs->at ||
		    (fs->sticky && fs->counted > fs->at)) {
			fire = 1;
			fs->failed++;
			log_warnx("faultstore: failing call %lu (%s %s)",
			    fs->counted, faultstore_kind_name(kind), key);
		} else
			log_debug("faultstore: call %lu (%s %s)", fs->counted,
			    faultstore_kind_name(kind), key);
	}
	faultstore_unlock(fs);
	return fire;
}

int
faultstore_wrap(struct storage *inner, const char *armfile,
    struct storage **out)
{
	struct faultstore	*fs;

	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return CF_ENOMEM;
	if (armfile != NULL && (fs->armfile = strdup(armfile)) == NULL) {
		free(fs);
		return CF_ENOMEM;
	}
	if (pthread_mutex_init(&fs->lock, NULL) != 0) {
		free(fs->armfile);
		free(fs);
		return CF_ENOMEM;
	}
	fs->st.ops = &storage_fault_ops;
	fs->inner = inner;
	*out = &fs->st;
	return CF_OK;
}

int
faultstore_open_env(const struct storage_ops *ops,
    const struct storage_conf *conf, struct storage **out)
{
	struct storage	*inner = NULL;
	const char	*armfile;
	int		 rc;

	if ((rc = ops->open(conf, &inner)) != CF_OK)
		return rc;
	if ((armfile = getenv(FAULTSTORE_ENV)) == NULL || *armfile == '\0') {
		*out = inner;
		return CF_OK;
	}
	if ((rc = faultstore_wrap(inner, armfile, out)) != CF_OK) {
		storage_close(inner);
		return rc;
	}
	log_warnx("faultstore: %s storage wrapped; arm file %s", ops->name,
	    armfile);
	return CF_OK;
}

int
faultstore_arm(struct storage *st, const char *spec)
{
	struct faultstore	*fs = faultstore_from(st);
	int			 rc;

	faultstore_lock(fs);
	rc = faultstore_arm_locked(fs, spec);
	faultstore_unlock(fs);
	return rc;
}

void
faultstore_disarm(struct storage *st)
{
	struct faultstore	*fs = faultstore_from(st);

	faultstore_lock(fs);
	fs->armed = 0;
	faultstore_unlock(fs);
}

/* A counter of fs read under its lock. */
static unsigned long
counter_get(struct faultstore *fs, const unsigned long *counter)
{
	unsigned long	 n;

	faultstore_lock(fs);
	n = *counter;
	faultstore_unlock(fs);
	return n;
}

unsigned long
faultstore_counted(struct storage *st)
{
	struct faultstore	*fs = faultstore_from(st);

	return counter_get(fs, &fs->counted);
}

unsigned long
faultstore_failed(struct storage *st)
{
	struct faultstore	*fs = faultstore_from(st);

	return counter_get(fs, &fs->failed);
}

/* Never opened by name: there is no inner backend to open. */
static int
faultstore_open(const struct storage_conf *conf, struct storage **out)
{
	(void)conf;
	(void)out;
	return CF_ENOTSUP;
}

static void
faultstore_close(struct storage *st)
{
	struct faultstore	*fs = faultstore_from(st);

	storage_close(fs->inner);
	pthread_mutex_destroy(&fs->lock);
	free(fs->armfile);
	free(fs);
}

/*
 * The methods below call the inner backend's ops directly: the
 * storage_*() wrappers already checked the keys once.
 */
static int
faultstore_get(struct storage *st, const char *key, struct buf *val)
{
	struct faultstore	*fs = faultstore_from(st);

	if (faultstore_fires(fs, FAULTSTORE_GET, key))
		return CF_EIO;
	return fs->inner->ops->get(fs->inner, key, val);
}

static int
faultstore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct faultstore	*fs = faultstore_from(st);

	if (faultstore_fires(fs, FAULTSTORE_PUT, key))
		return CF_EIO;
	return fs->inner->ops->put(fs->inner, key, val, len);
}

static int
faultstore_del(struct storage *st, const char *key)
{
	struct faultstore	*fs = faultstore_from(st);

	if (faultstore_fires(fs, FAULTSTORE_DEL, key))
		return CF_EIO;
	return fs->inner->ops->del(fs->inner, key);
}

static int
faultstore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct faultstore	*fs = faultstore_from(st);

	if (faultstore_fires(fs, FAULTSTORE_LIST, prefix))
		return CF_EIO;
	return fs->inner->ops->list(fs->inner, prefix, out);
}

static int
faultstore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct faultstore	*fs = faultstore_from(st);

	if (faultstore_fires(fs, FAULTSTORE_BATCH, ops[0].key))
		return CF_EIO;
	return fs->inner->ops->batch(fs->inner, ops, n);
}

/* The HA lock is not a fault target: it passes straight through. */
static int
faultstore_lock_try(struct storage *st, const char *holder, int *got)
{
	struct faultstore	*fs = faultstore_from(st);

	return fs->inner->ops->lock_try(fs->inner, holder, got);
}

static int
faultstore_lock_wait(struct storage *st, const char *holder, int ms,
    int *got)
{
	struct faultstore	*fs = faultstore_from(st);

	return fs->inner->ops->lock_wait(fs->inner, holder, ms, got);
}

static int
faultstore_lock_release(struct storage *st)
{
	struct faultstore	*fs = faultstore_from(st);

	return fs->inner->ops->lock_release(fs->inner);
}

static int
faultstore_lock_holder(struct storage *st, struct buf *holder)
{
	struct faultstore	*fs = faultstore_from(st);

	return fs->inner->ops->lock_holder(fs->inner, holder);
}

static int
faultstore_lock_check(struct storage *st)
{
	struct faultstore	*fs = faultstore_from(st);

	return fs->inner->ops->lock_check(fs->inner);
}

static int
faultstore_conf_check(const char *key, const char *val, char *why,
    size_t whylen)
{
	(void)key;
	(void)val;
	snprintf(why, whylen, "the faultstore has no configuration");
	return CF_EINVAL;
}

/* Not a fault target either: unmount's one call passes through. */
static int
faultstore_del_prefix(struct storage *st, const char *prefix)
{
	struct faultstore	*fs = faultstore_from(st);

	return fs->inner->ops->del_prefix(fs->inner, prefix);
}

const struct storage_ops storage_fault_ops = {
	.name = "fault",
	.version = STORAGE_OPS_VERSION,
	.open = faultstore_open,
	.close = faultstore_close,
	.get = faultstore_get,
	.put = faultstore_put,
	.del = faultstore_del,
	.list = faultstore_list,
	.batch = faultstore_batch,
	.lock_try = faultstore_lock_try,
	.lock_wait = faultstore_lock_wait,
	.lock_release = faultstore_lock_release,
	.lock_holder = faultstore_lock_holder,
	.lock_check = faultstore_lock_check,
	.conf_check = faultstore_conf_check,
	.del_prefix = faultstore_del_prefix,
};
