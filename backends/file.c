/*
 * file.c -- storage as one file per key under a directory.
 *
 * Layout (file_names.c).  Key "a/b/c" is the file "a/b/_c" under the
 * storage path: folders are directories and values are files with a '_'
 * prefix, so "a" can be a value ("_a") and a folder ("a") at once.
 * Each segment is percent-encoded outside [A-Za-z0-9._-], and a leading
 * '.' or '_' is encoded too, so every key is a safe file name, none
 * looks like one of our own dot files, and no folder name starts with
 * '_'.  A segment whose encoding would pass FILE_SEG_MAX bytes becomes
 * '~' and a hash ('~' itself is always encoded, so such names cannot
 * clash); the true segment is kept in a ".name" file inside the folder,
 * or in the value file's header, so that list still returns true names.
 *
 * A value file holds FILE_MAGIC, the key's length (4 bytes, big
 * endian), the key, then the value.  The key in the header also lets
 * get check that a file holds the key it was asked for.
 *
 * Durability.  A put writes "<dir>/.tmp-N", fsyncs it, renames it over
 * the target and fsyncs the directory; a new folder is fsynced into its
 * parent.  A hashed folder is made as ".mkdir-N" with its ".name"
 * inside, then renamed into place, so it never exists without its name.
 * A delete unlinks, fsyncs the directory, then removes the folders it
 * emptied (best effort).
 *
 * open also sweeps leftovers of a crash (temporary files, half-made
 * folders, empty folders), and first takes an exclusive flock(2) on
 * the directory, a lock of the open file description that the kernel
 * drops when the process dies: one process per store, always.  There is
 * no HA here (Vault's file backend has none either): the lock methods
 * answer CF_ENOTSUP and ha_enabled is refused.
 *
 * Threads: one rwlock; get and list read, put, del and batch write.
 *
 * File names are file_names.c; batches and the sweep of a crash's
 * leftovers are file_journal.c; file.h holds what the three share.
 */
#include "config.h"

#include <sys/file.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "lock.h"
#include "log.h"
#include "file.h"
#include "storage.h"

struct filestore *
filestore_from(struct storage *st)
{
	if (st->ops != &storage_file_ops)
		CF_BUG("not a file storage");
	return (struct filestore *)st;
}

void
filestore_rdlock(struct filestore *fs)
{
	lock_read(&fs->lock, LOCK_STORAGE);
}

void
filestore_wrlock(struct filestore *fs)
{
	lock_write(&fs->lock, LOCK_STORAGE);
}

void
filestore_unlock(struct filestore *fs)
{
	unlock_rw(&fs->lock);
}

/* fsync the directory rel ("" is the root). */
int
filestore_sync_dir(int rootfd, const char *rel)
{
	int	 fd, rc = CF_OK;

	if ((fd = openat(rootfd, rel[0] != '\0' ? rel : ".", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC)) == -1) {
		log_warn("file: open directory \"%s\"", rel);
		return CF_EIO;
	}
	if (fsync(fd) == -1) {
		log_warn("file: fsync directory \"%s\"", rel);
		rc = CF_EIO;
	}
	close(fd);
	return rc;
}

int
filestore_write_all(int fd, const void *p, size_t n)
{
	const char	*c = p;
	ssize_t		 w;

	while (n > 0) {
		if ((w = write(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return CF_EIO;
		}
		c += w;
		n -= (size_t)w;
	}
	return CF_OK;
}

int
filestore_read_all(int fd, void *p, size_t n)
{
	char	*c = p;
	ssize_t	 r;

	while (n > 0) {
		if ((r = read(fd, c, n)) == -1) {
			if (errno == EINTR)
				continue;
			return CF_EIO;
		}
		if (r == 0)
			return CF_EIO;		/* shorter than it said */
		c += r;
		n -= (size_t)r;
	}
	return CF_OK;
}

/*
 * Create the file rel (relative to the root) with the given bytes,
 * durably and atomically: a temporary file in the same directory,
 * fsync, rename, fsync of the directory.  dirlen as filestore_path.
 */
static int
filestore_write_file(struct filestore *fs, char *rel, size_t dirlen,
    const void *a, size_t alen, const void *b, size_t blen)
{
	struct buf	 tmp = BUF_INIT;
	int		 fd = -1, rc;
	char		 c;

	if ((rc = buf_printf(&tmp, "%.*s%s-%lu", (int)dirlen, rel,
	    FILE_TMP_PREFIX, fs->seq++)) != CF_OK)
		goto out;
	if ((fd = openat(fs->rootfd, tmp.data, O_WRONLY | O_CREAT | O_TRUNC |
	    O_NOFOLLOW | O_CLOEXEC, 0600)) == -1) {
		log_warn("file: create %s", tmp.data);
		rc = CF_EIO;
		goto out;
	}
	if ((rc = filestore_write_all(fd, a, alen)) != CF_OK ||
	    (rc = filestore_write_all(fd, b, blen)) != CF_OK) {
		log_warn("file: write %s", tmp.data);
		goto out;
	}
	if (fsync(fd) == -1) {
		log_warn("file: fsync %s", tmp.data);
		rc = CF_EIO;
		goto out;
	}
	close(fd);
	fd = -1;
	if (renameat(fs->rootfd, tmp.data, fs->rootfd, rel) == -1) {
		log_warn("file: rename to %s", rel);
		rc = CF_EIO;
		goto out;
	}
	buf_reset(&tmp);		/* renamed: nothing to unlink */
	c = rel[dirlen];
	rel[dirlen] = '\0';
	rc = filestore_sync_dir(fs->rootfd, rel);
	rel[dirlen] = c;
 out:
	if (fd != -1)
		close(fd);
	if (rc != CF_OK && tmp.len > 0)
		unlinkat(fs->rootfd, tmp.data, 0);
	buf_free(&tmp);
	return rc;
}

/*
 * Make the hashed folder rel (its parent exists) holding ".name" with
 * the true segment: built as ".mkdir-N" and renamed into place.
 */
static int
filestore_mkdir_hashed(struct filestore *fs, char *rel, size_t plen,
    const char *seg, size_t seglen)
{
	struct buf	 tmp = BUF_INIT, name = BUF_INIT;
	int		 rc;

	if ((rc = buf_printf(&tmp, "%.*s%s-%lu", (int)plen, rel,
	    FILE_MKDIR_PREFIX, fs->seq++)) != CF_OK)
		goto out;
	if (mkdirat(fs->rootfd, tmp.data, 0700) == -1) {
		log_warn("file: mkdir %s", tmp.data);
		rc = CF_EIO;
		buf_reset(&tmp);
		goto out;
	}
	if ((rc = buf_printf(&name, "%s/%s", tmp.data, FILE_NAME)) != CF_OK ||
	    (rc = filestore_write_file(fs, name.data, tmp.len + 1, seg,
	    seglen, NULL, 0)) != CF_OK)
		goto out;
	if (renameat(fs->rootfd, tmp.data, fs->rootfd, rel) == -1) {
		log_warn("file: rename to %s", rel);
		rc = CF_EIO;
		goto out;
	}
	buf_reset(&tmp);
 out:
	if (rc != CF_OK && tmp.len > 0) {
		if (name.len > 0)
			unlinkat(fs->rootfd, name.data, 0);
		unlinkat(fs->rootfd, tmp.data, AT_REMOVEDIR);
	}
	buf_free(&tmp);
	buf_free(&name);
	return rc;
}

/* Give an existing hashed folder its ".name" again if it lost it. */
static int
filestore_fix_name(struct filestore *fs, const char *rel, const char *seg,
    size_t seglen)
{
	struct buf	 name = BUF_INIT;
	int		 rc;

	if ((rc = buf_printf(&name, "%s/%s", rel, FILE_NAME)) != CF_OK)
		goto out;
	if (faccessat(fs->rootfd, name.data, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
		goto out;
	rc = filestore_write_file(fs, name.data, strlen(rel) + 1, seg, seglen,
	    NULL, 0);
 out:
	buf_free(&name);
	return rc;
}

/*
 * Make every folder of rel[0..dirlen) that is missing, durably; key
 * supplies the true segments for hashed names.
 */
static int
filestore_mkdirs(struct filestore *fs, const char *key, char *rel,
    size_t dirlen)
{
	struct stat	 sb;
	const char	*kseg = key, *kslash;
	size_t		 i, start = 0;
	int		 rc = CF_OK;

	if (dirlen == 0)
		return CF_OK;
	/* The common case: the folder is there and has no hashed part. */
	rel[dirlen - 1] = '\0';
	if (rel[0] != '~' && strstr(rel, "/~") == NULL &&
	    fstatat(fs->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0 &&
	    S_ISDIR(sb.st_mode)) {
		rel[dirlen - 1] = '/';
		return CF_OK;
	}
	rel[dirlen - 1] = '/';
	for (i = 0; i < dirlen && rc == CF_OK; i++) {
		if (rel[i] != '/')
			continue;
		kslash = strchr(kseg, '/');
		rel[i] = '\0';
		if (fstatat(fs->rootfd, rel, &sb, AT_SYMLINK_NOFOLLOW) == 0) {
			if (!S_ISDIR(sb.st_mode)) {
				log_warnx("file: %s is not a directory", rel);
				rc = CF_EIO;
			} else if (rel[start] == '~')
				rc = filestore_fix_name(fs, rel, kseg,
				    (size_t)(kslash - kseg));
		} else if (errno != ENOENT) {
			log_warn("file: %s", rel);
			rc = CF_EIO;
		} else {
			if (rel[start] == '~')
				rc = filestore_mkdir_hashed(fs, rel, start,
				    kseg, (size_t)(kslash - kseg));
			else if (mkdirat(fs->rootfd, rel, 0700) == -1) {
				log_warn("file: mkdir %s", rel);
				rc = CF_EIO;
			}
			/* The parent has a new entry: make it durable. */
			if (rc == CF_OK) {
				char	 c = rel[start];

				rel[start] = '\0';
				rc = filestore_sync_dir(fs->rootfd, rel);
				rel[start] = c;
			}
		}
		rel[i] = '/';
		start = i + 1;
		kseg = kslash + 1;
	}
	return rc;
}

/* 1 if the directory rel holds nothing, or nothing but ".name". */
static int
filestore_is_empty(int rootfd, const char *rel)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, empty = 1;

	if ((fd = openat(rootfd, rel, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while (empty && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, FILE_NAME) != 0)
			empty = 0;
	closedir(d);
	return empty;
}

/*
 * Remove the folders of rel[0..dirlen) that are empty, deepest first
 * (best effort: a folder left behind is swept at the next open).
 */
static void
filestore_prune(struct filestore *fs, char *rel, size_t dirlen)
{
	struct buf	 name = BUF_INIT;
	size_t		 end = dirlen;

	while (end > 0) {
		rel[end - 1] = '\0';
		if (unlinkat(fs->rootfd, rel, AT_REMOVEDIR) == -1) {
			/* A hashed folder holds its ".name" to the end. */
			if ((errno != ENOTEMPTY && errno != EEXIST) ||
			    !filestore_is_empty(fs->rootfd, rel) ||
			    buf_printf(&name, "%s/%s", rel, FILE_NAME) !=
			    CF_OK ||
			    unlinkat(fs->rootfd, name.data, 0) == -1 ||
			    unlinkat(fs->rootfd, rel, AT_REMOVEDIR) == -1) {
				rel[end - 1] = '/';
				break;
			}
			buf_reset(&name);
		}
		rel[end - 1] = '/';
		while (--end > 0 && rel[end - 1] != '/')
			;
	}
	buf_free(&name);
}

/* Write one value durably.  Write lock held. */
int
filestore_put_locked(struct filestore *fs, const char *key, const void *val,
    size_t len)
{
	struct buf	 rel = BUF_INIT, hdr = BUF_INIT;
	uint8_t		 h[FILE_HDR_LEN];
	size_t		 dirlen, klen = strlen(key);
	int		 rc;

	memcpy(h, FILE_MAGIC, 4);
	filestore_put32(h + 4, (uint32_t)klen);
	if ((rc = buf_append(&hdr, h, sizeof(h))) != CF_OK ||
	    (rc = buf_append(&hdr, key, klen)) != CF_OK ||
	    (rc = filestore_path(key, &rel, &dirlen)) != CF_OK)
		goto out;
	if ((rc = filestore_mkdirs(fs, key, rel.data, dirlen)) == CF_OK)
		rc = filestore_write_file(fs, rel.data, dirlen, hdr.data,
		    hdr.len, val, len);
	if (rc != CF_OK)
		filestore_prune(fs, rel.data, dirlen);
 out:
	buf_free(&rel);
	buf_free(&hdr);
	return rc;
}

/* Delete one key durably; a missing key is fine.  Write lock held. */
int
filestore_del_locked(struct filestore *fs, const char *key)
{
	struct buf	 rel = BUF_INIT;
	size_t		 dirlen;
	int		 rc;
	char		 c;

	if ((rc = filestore_path(key, &rel, &dirlen)) != CF_OK)
		goto out;
	if (unlinkat(fs->rootfd, rel.data, 0) == -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			rc = CF_OK;
		else {
			log_warn("file: unlink %s", rel.data);
			rc = CF_EIO;
		}
		goto out;
	}
	c = rel.data[dirlen];
	rel.data[dirlen] = '\0';
	rc = filestore_sync_dir(fs->rootfd, rel.data);
	rel.data[dirlen] = c;
	if (rc == CF_OK)
		filestore_prune(fs, rel.data, dirlen);
 out:
	buf_free(&rel);
	return rc;
}

/*
 * Read a value file: the key its header names into key, the value into
 * val (either may be NULL).  CF_ENOTFOUND if there is no such file.
 */
int
filestore_read(int rootfd, const char *rel, struct buf *key, struct buf *val)
{
	struct stat	 sb;
	uint8_t		 h[FILE_HDR_LEN];
	char		 k[STORAGE_KEY_MAX];
	size_t		 klen, vlen;
	int		 fd, rc;

	if ((fd = openat(rootfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1) {
		if (errno == ENOENT || errno == ENOTDIR)
			return CF_ENOTFOUND;
		log_warn("file: open %s", rel);
		return CF_EIO;
	}
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    (size_t)sb.st_size < sizeof(h) ||
	    filestore_read_all(fd, h, sizeof(h)) != CF_OK ||
	    memcmp(h, FILE_MAGIC, 4) != 0 ||
	    (klen = filestore_get32(h + 4)) > sizeof(k) ||
	    klen > (size_t)sb.st_size - sizeof(h) ||
	    filestore_read_all(fd, k, klen) != CF_OK) {
		log_warnx("file: %s: not a value file", rel);
		rc = CF_EIO;
		goto out;
	}
	vlen = (size_t)sb.st_size - sizeof(h) - klen;
	if (key != NULL && (rc = buf_set(key, k, klen)) != CF_OK)
		goto out;
	rc = CF_OK;
	if (val == NULL)
		goto out;
	/* Straight into the caller's buffer: no second copy to wipe. */
	buf_reset(val);
	if ((rc = buf_reserve(val, vlen)) != CF_OK)
		goto out;
	if ((rc = filestore_read_all(fd, val->data, vlen)) != CF_OK) {
		sodium_memzero(val->data, vlen);
		log_warnx("file: %s: short read", rel);
		goto out;
	}
	val->len = vlen;
	val->data[vlen] = '\0';
 out:
	close(fd);
	return rc;
}

static int
filestore_get(struct storage *st, const char *key, struct buf *val)
{
	struct filestore	*fs = filestore_from(st);
	struct buf		 rel = BUF_INIT, hkey = BUF_INIT;
	size_t			 dirlen;
	int			 rc;

	if ((rc = filestore_path(key, &rel, &dirlen)) != CF_OK)
		goto out;
	filestore_rdlock(fs);
	rc = filestore_read(fs->rootfd, rel.data, &hkey, val);
	filestore_unlock(fs);
	/* A hashed name could collide, or a file be misplaced. */
	if (rc == CF_OK && (hkey.len != strlen(key) ||
	    memcmp(hkey.data, key, hkey.len) != 0)) {
		log_warnx("file: %s holds another key", rel.data);
		rc = CF_EIO;
	}
 out:
	if (rc != CF_OK)
		buf_reset(val);
	buf_free(&rel);
	buf_free(&hkey);
	return rc;
}

static int
filestore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct filestore	*fs = filestore_from(st);
	int			 rc;

	filestore_wrlock(fs);
	rc = CF_OK;
	if (fs->pending)	/* a batch first: see filestore_batch */
		rc = filestore_journal_replay(fs);
	if (rc == CF_OK)
		rc = filestore_put_locked(fs, key, val, len);
	filestore_unlock(fs);
	return rc;
}

static int
filestore_del(struct storage *st, const char *key)
{
	struct filestore	*fs = filestore_from(st);
	int			 rc;

	filestore_wrlock(fs);
	rc = CF_OK;
	if (fs->pending)
		rc = filestore_journal_replay(fs);
	if (rc == CF_OK)
		rc = filestore_del_locked(fs, key);
	filestore_unlock(fs);
	return rc;
}

/* fsync the directory holding path (after creating path in it). */
static void
filestore_sync_parent(const char *path)
{
	char	*copy, *slash;
	int	 fd;

	if ((copy = strdup(path)) == NULL)
		return;
	if ((slash = strrchr(copy, '/')) == NULL) {
		copy[0] = '.';		/* path is never "" here */
		copy[1] = '\0';
	} else if (slash == copy)
		slash[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		fsync(fd);
		close(fd);
	}
	free(copy);
}

static int
filestore_open(const struct storage_conf *conf, struct storage **out)
{
	struct filestore	*fs;
	int			 created = 0;

	if (conf->path == NULL || conf->path[0] == '\0') {
		log_warnx("file: storage needs a path");
		return CF_EINVAL;
	}
	if (conf->ha_enabled) {
		log_warnx("file: storage has no HA; use lmdb for HA nodes");
		return CF_EINVAL;
	}
	if (mkdir(conf->path, 0700) == 0)
		created = 1;
	else if (errno != EEXIST) {
		log_warn("file: mkdir %s", conf->path);
		return CF_EIO;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return CF_ENOMEM;
	fs->st.ops = &storage_file_ops;
	if ((fs->rootfd = open(conf->path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_warn("file: %s", conf->path);
		free(fs);
		return CF_EIO;
	}
	if (created)
		filestore_sync_parent(conf->path);
	/* Writers in two processes would undo each other's batches. */
	if (flock(fs->rootfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			log_warnx("file: %s is in use by another process",
			    conf->path);
		else
			log_warn("file: flock %s", conf->path);
		close(fs->rootfd);
		free(fs);
		return CF_EIO;
	}
	if (pthread_rwlock_init(&fs->lock, NULL) != 0) {
		close(fs->rootfd);
		free(fs);
		return CF_EINTERNAL;
	}
	/* A journal never renamed into place was never committed. */
	unlinkat(fs->rootfd, FILE_JOURNAL_TMP, 0);
	filestore_sweep(fs->rootfd, 0);
	if (filestore_journal_replay(fs) != CF_OK) {
		log_warnx("file: %s: cannot replay the batch journal",
		    conf->path);
		close(fs->rootfd);
		pthread_rwlock_destroy(&fs->lock);
		free(fs);
		return CF_EIO;
	}
	*out = &fs->st;
	return CF_OK;
}

static void
filestore_close(struct storage *st)
{
	struct filestore	*fs = filestore_from(st);

	close(fs->rootfd);		/* drops the flock */
	pthread_rwlock_destroy(&fs->lock);
	free(fs);
}

/* Append every key under prefix to keys, folder by folder. */
static int
filestore_collect(struct storage *st, const char *prefix, struct strv *keys)
{
	struct strv	 sv = STRV_INIT;
	char		*k = NULL;
	size_t		 i, len;
	int		 rc;

	if ((rc = filestore_list(st, prefix, &sv)) != CF_OK)
		goto out;
	for (i = 0; i < sv.n && rc == CF_OK; i++) {
		if (asprintf(&k, "%s%s", prefix, sv.v[i]) == -1) {
			k = NULL;
			rc = CF_ENOMEM;
			break;
		}
		len = strlen(k);
		rc = k[len - 1] == '/' ? filestore_collect(st, k, keys) :
		    strv_push(keys, k);
		free(k);
		k = NULL;
	}
 out:
	strv_free(&sv);
	return rc;
}

/*
 * The keys are gathered first, then deleted as one batch, which the
 * journal makes all or nothing.  A key written under prefix between the
 * two survives; callers (unmount) have stopped writing there already.
 */
static int
filestore_del_prefix(struct storage *st, const char *prefix)
{
	struct strv		 keys = STRV_INIT;
	struct storage_op	*ops = NULL;
	size_t			 i;
	int			 rc;

	if ((rc = filestore_collect(st, prefix, &keys)) != CF_OK ||
	    keys.n == 0)
		goto out;
	if ((ops = calloc(keys.n, sizeof(*ops))) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < keys.n; i++) {
		ops[i].kind = STORAGE_OP_DEL;
		ops[i].key = keys.v[i];
	}
	rc = filestore_batch(st, ops, keys.n);
 out:
	free(ops);
	strv_free(&keys);
	return rc;
}

/* Nothing to configure beyond path and ha_enabled. */
static int
filestore_conf_check(const char *key, const char *val, char *why,
    size_t whylen)
{
	(void)val;
	snprintf(why, whylen, "unknown key \"%s\" in storage \"file\"",
	    key);
	return CF_EINVAL;
}

/*
 * No HA: a file store belongs to one process (configuration refuses
 * ha_enabled here), so there is no lock to share.
 */
static int
filestore_lock_try(struct storage *st, const char *holder, int *got)
{
	(void)st;
	(void)holder;
	*got = 0;
	return CF_ENOTSUP;
}

static int
filestore_lock_wait(struct storage *st, const char *holder, int ms, int *got)
{
	(void)st;
	(void)holder;
	(void)ms;
	*got = 0;
	return CF_ENOTSUP;
}

static int
filestore_lock_release(struct storage *st)
{
	(void)st;
	return CF_ENOTSUP;
}

static int
filestore_lock_holder(struct storage *st, struct buf *holder)
{
	(void)st;
	(void)holder;
	return CF_ENOTSUP;
}

static int
filestore_lock_check(struct storage *st)
{
	(void)st;
	return CF_ENOTSUP;
}

const struct storage_ops storage_file_ops = {
	.name = "file",
	.version = STORAGE_OPS_VERSION,
	.open = filestore_open,
	.close = filestore_close,
	.get = filestore_get,
	.put = filestore_put,
	.del = filestore_del,
	.list = filestore_list,
	.batch = filestore_batch,
	.lock_try = filestore_lock_try,
	.lock_wait = filestore_lock_wait,
	.lock_release = filestore_lock_release,
	.lock_holder = filestore_lock_holder,
	.lock_check = filestore_lock_check,
	.conf_check = filestore_conf_check,
	.del_prefix = filestore_del_prefix,
};
