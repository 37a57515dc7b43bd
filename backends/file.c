/*
 * file.c -- storage as one file per key under a directory.
 *
 * Layout.  Key "a/b/c" is the file "a/b/_c" under the storage path:
 * folders are directories and values are files with a '_' prefix, so
 * "a" can be a value ("_a") and a folder ("a") at once.  Each segment is
 * percent-encoded outside [A-Za-z0-9._-], and a leading '.' or '_' is
 * encoded too, so every key is a safe file name, none looks like one of
 * our own dot files, and no folder name starts with '_'.  A segment
 * whose encoding would pass FILE_SEG_MAX bytes becomes '~' and a hash
 * ('~' itself is always encoded, so such names cannot clash); the true
 * segment is kept in a ".name" file inside the folder, or in the value
 * file's header, so that list still returns true names.
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
 * Batches.  A batch is written to ".journal.tmp", fsynced and renamed to
 * ".journal" (the commit point), then applied key by key and removed.
 * open discards a ".journal.tmp" and replays a ".journal" left by a
 * crash; a journal whose replay failed is retried before the next write,
 * so a batch ends up applied whole or not at all.
 *
 * open also sweeps leftovers of a crash (temporary files, half-made
 * folders, empty folders), and first takes an exclusive flock(2) on
 * the directory, a lock of the open file description that the kernel
 * drops when the process dies: one process per store, always.  There is
 * no HA here (Vault's file backend has none either): the lock methods
 * answer CF_ENOTSUP and ha_enabled is refused.
 *
 * Threads: one rwlock; get and list read, put, del and batch write.
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
#include "log.h"
#include "storage.h"

#define FILE_SEG_MAX		200	/* encoded bytes; NAME_MAX is 255 */
#define FILE_HASH_LEN		16	/* crypto_generichash bytes */
#define FILE_MAGIC		"CFV1"
#define FILE_HDR_LEN		8	/* magic and key length */
#define FILE_JOURNAL		".journal"
#define FILE_JOURNAL_TMP	".journal.tmp"
#define FILE_NAME		".name"
#define FILE_TMP_PREFIX		".tmp"
#define FILE_MKDIR_PREFIX	".mkdir"

struct filestore {
	struct storage		 st;		/* must stay first */
	int			 rootfd;	/* holds the flock */
	pthread_rwlock_t	 lock;
	unsigned long		 seq;		/* temp names; write lock */
	int			 pending;	/* journal to retry; write lock */
};

static int	filestore_journal_replay(struct filestore *);

static struct filestore *
filestore_from(struct storage *st)
{
	if (st->ops != &storage_file_ops)
		CF_BUG("not a file storage");
	return (struct filestore *)st;
}

static void
filestore_rdlock(struct filestore *fs)
{
	if (pthread_rwlock_rdlock(&fs->lock) != 0)
		abort();
}

static void
filestore_wrlock(struct filestore *fs)
{
	if (pthread_rwlock_wrlock(&fs->lock) != 0)
		abort();
}

static void
filestore_unlock(struct filestore *fs)
{
	if (pthread_rwlock_unlock(&fs->lock) != 0)
		abort();
}

static void
filestore_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t
filestore_get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Bytes kept as they are in file names. */
static int
filestore_is_safe(unsigned char c, int first)
{
	if (first && (c == '.' || c == '_'))
		return 0;
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
}

/* Append the file name of one key segment to out. */
static int
filestore_encode(const char *seg, size_t len, struct buf *out)
{
	unsigned char	 h[FILE_HASH_LEN];
	char		 hex[FILE_HASH_LEN * 2 + 1];
	size_t		 i, start = out->len;
	int		 rc = CF_OK;

	for (i = 0; i < len && rc == CF_OK; i++) {
		if (filestore_is_safe((unsigned char)seg[i], i == 0))
			rc = buf_append(out, &seg[i], 1);
		else
			rc = buf_printf(out, "%%%02X", (unsigned char)seg[i]);
	}
	if (rc != CF_OK || out->len - start <= FILE_SEG_MAX)
		return rc;
	out->len = start;
	out->data[start] = '\0';
	crypto_generichash(h, sizeof(h), (const unsigned char *)seg, len,
	    NULL, 0);
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	return buf_printf(out, "~%s", hex);
}

static int
filestore_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Append the segment a plain file name encodes; CF_EINVAL if not ours. */
static int
filestore_decode(const char *name, struct buf *out)
{
	unsigned char	 c;
	int		 hi, lo, rc = CF_OK;

	for (; *name != '\0' && rc == CF_OK; name++) {
		if (*name != '%') {
			rc = buf_append(out, name, 1);
			continue;
		}
		if ((hi = filestore_hexval(name[1])) < 0 ||
		    (lo = filestore_hexval(name[2])) < 0)
			return CF_EINVAL;
		c = (unsigned char)(hi << 4 | lo);
		rc = buf_append(out, &c, 1);
		name += 2;
	}
	return rc;
}

/*
 * The path of key's value file, relative to the root: folders, then
 * '_' and the last segment.  *dirlen is the length of the folder part
 * including its last '/' (0 for a top-level key).
 */
static int
filestore_path(const char *key, struct buf *out, size_t *dirlen)
{
	const char	*seg = key, *slash;
	int		 rc = CF_OK;

	buf_reset(out);
	*dirlen = 0;
	while (rc == CF_OK && (slash = strchr(seg, '/')) != NULL) {
		if ((rc = filestore_encode(seg, (size_t)(slash - seg),
		    out)) == CF_OK)
			rc = buf_append(out, "/", 1);
		*dirlen = out->len;
		seg = slash + 1;
	}
	if (rc == CF_OK)
		rc = buf_append(out, "_", 1);
	if (rc == CF_OK)
		rc = filestore_encode(seg, strlen(seg), out);
	return rc;
}

/* fsync the directory rel ("" is the root). */
static int
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

static int
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

static int
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
static int
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
static int
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
static int
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

/* Read a hashed folder's ".name": its true segment. */
static int
filestore_read_name(int rootfd, const char *rel, struct buf *out)
{
	char	 seg[STORAGE_KEY_MAX + 1];
	ssize_t	 n;
	int	 fd;

	if ((fd = openat(rootfd, rel, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) ==
	    -1)
		return CF_EIO;
	while ((n = read(fd, seg, sizeof(seg))) == -1 && errno == EINTR)
		;
	close(fd);
	/* Never empty, never longer than a key, never with a '/'. */
	if (n <= 0 || (size_t)n > STORAGE_KEY_MAX ||
	    memchr(seg, '/', (size_t)n) != NULL)
		return CF_EIO;
	return buf_append(out, seg, (size_t)n);
}

/* The true name of directory entry name in folder dir. */
static int
filestore_entry_name(int rootfd, const char *dir, const char *name,
    int is_value, struct buf *out)
{
	struct buf	 path = BUF_INIT, key = BUF_INIT;
	const char	*seg = is_value ? name + 1 : name, *slash;
	int		 rc;

	buf_reset(out);
	if (seg[0] != '~')
		return filestore_decode(seg, out);
	if (is_value) {
		if ((rc = buf_printf(&path, "%s%s", dir, name)) != CF_OK ||
		    (rc = filestore_read(rootfd, path.data, &key, NULL)) !=
		    CF_OK)
			goto out;
		slash = strrchr(key.data, '/');
		rc = buf_puts(out, slash != NULL ? slash + 1 : key.data);
	} else {
		if ((rc = buf_printf(&path, "%s%s/%s", dir, name,
		    FILE_NAME)) != CF_OK)
			goto out;
		/* A ".name" is a value file of its own, without a header. */
		rc = filestore_read_name(rootfd, path.data, out);
	}
 out:
	buf_free(&path);
	buf_free(&key);
	return rc;
}

static int
filestore_list(struct storage *st, const char *prefix, struct strv *out)
{
	struct filestore	*fs = filestore_from(st);
	struct buf		 dir = BUF_INIT, name = BUF_INIT;
	struct dirent		*de;
	DIR			*d;
	const char		*p, *slash;
	size_t			 n0 = out->n;
	int			 fd, rc = CF_OK, is_value;

	/* The folder's directory: every segment of prefix, encoded. */
	for (p = prefix; (slash = strchr(p, '/')) != NULL; p = slash + 1)
		if ((rc = filestore_encode(p, (size_t)(slash - p), &dir)) !=
		    CF_OK || (rc = buf_append(&dir, "/", 1)) != CF_OK)
			goto out;
	filestore_rdlock(fs);
	if ((fd = openat(fs->rootfd, dir.len > 0 ? dir.data : ".", O_RDONLY |
	    O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) == -1) {
		/* No such folder: an empty list. */
		if (errno != ENOENT && errno != ENOTDIR) {
			log_warn("file: open directory \"%s\"", dir.data);
			rc = CF_EIO;
		}
		filestore_unlock(fs);
		goto out;
	}
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		filestore_unlock(fs);
		rc = CF_EIO;
		goto out;
	}
	for (;;) {
		errno = 0;
		if ((de = readdir(d)) == NULL) {
			if (errno != 0) {
				log_warn("file: readdir \"%s\"", dir.data);
				rc = CF_EIO;
			}
			break;
		}
		/* ".tmp-N", ".name", ".journal"...: ours, never keys. */
		if (de->d_name[0] == '.')
			continue;
		is_value = de->d_name[0] == '_';
		if (!is_value && de->d_type != DT_DIR &&
		    de->d_type != DT_UNKNOWN)
			continue;
		rc = filestore_entry_name(fs->rootfd, dir.len > 0 ? dir.data :
		    "", de->d_name, is_value, &name);
		if (rc == CF_ENOMEM)
			break;
		if (rc != CF_OK) {
			/* Not one of our names: skip it. */
			rc = CF_OK;
			continue;
		}
		if (!is_value && (rc = buf_append(&name, "/", 1)) != CF_OK)
			break;
		if ((rc = strv_pushn(out, name.data, name.len)) != CF_OK)
			break;
	}
	closedir(d);
	filestore_unlock(fs);
 out:
	if (rc != CF_OK)
		strv_truncate(out, n0);	/* leave out as we found it */
	else
		strv_sort_from(out, n0);
	buf_free(&dir);
	buf_free(&name);
	return rc;
}

/*
 * Journal format: [u32 n], then per op [u8 kind][u32 klen][key]
 * [u32 vlen][value], integers big endian, kind a storage_op_kind.
 * Written whole, fsynced, then renamed into place: the rename commits.
 */
static int
filestore_journal_write(struct filestore *fs, const struct storage_op *ops,
    size_t n)
{
	struct buf	 j = BUF_INIT;
	uint8_t		 b[5];
	size_t		 i, kl, vl;
	int		 fd = -1, rc = CF_OK;

	if (n > UINT32_MAX)
		return CF_ETOOBIG;
	filestore_put32(b, (uint32_t)n);
	rc = buf_append(&j, b, 4);
	for (i = 0; i < n && rc == CF_OK; i++) {
		kl = strlen(ops[i].key);
		vl = ops[i].kind == STORAGE_OP_PUT ? ops[i].len : 0;
		if (vl > UINT32_MAX) {
			rc = CF_ETOOBIG;
			break;
		}
		b[0] = (uint8_t)ops[i].kind;
		filestore_put32(b + 1, (uint32_t)kl);
		if ((rc = buf_append(&j, b, 5)) != CF_OK ||
		    (rc = buf_append(&j, ops[i].key, kl)) != CF_OK)
			break;
		filestore_put32(b, (uint32_t)vl);
		if ((rc = buf_append(&j, b, 4)) != CF_OK ||
		    (rc = buf_append(&j, ops[i].val, vl)) != CF_OK)
			break;
	}
	if (rc != CF_OK)
		goto out;
	if ((fd = openat(fs->rootfd, FILE_JOURNAL_TMP, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600)) == -1 ||
	    filestore_write_all(fd, j.data, j.len) != CF_OK ||
	    fsync(fd) == -1) {
		log_warn("file: writing the batch journal");
		rc = CF_EIO;
		goto out;
	}
	if (renameat(fs->rootfd, FILE_JOURNAL_TMP, fs->rootfd,
	    FILE_JOURNAL) == -1) {
		log_warn("file: committing the batch journal");
		rc = CF_EIO;
		goto out;
	}
	/* Committed: from here on the batch must be applied. */
	fs->pending = 1;
	rc = filestore_sync_dir(fs->rootfd, "");
 out:
	if (fd != -1)
		close(fd);
	if (!fs->pending)
		unlinkat(fs->rootfd, FILE_JOURNAL_TMP, 0);
	buf_free(&j);
	return rc;
}

/*
 * Walk a journal: check it when apply is 0, apply it when 1.  CF_EIO
 * for a malformed journal.
 */
static int
filestore_journal_walk(struct filestore *fs, const struct buf *j, int apply)
{
	const uint8_t	*p = (const uint8_t *)j->data, *end = p + j->len;
	char		 key[STORAGE_KEY_MAX + 1];
	uint32_t	 n, i, kl, vl;
	int		 kind, rc = CF_OK;

	if (j->len < 4)
		return CF_EIO;
	n = filestore_get32(p);
	p += 4;
	for (i = 0; i < n && rc == CF_OK; i++) {
		if (end - p < 5)
			return CF_EIO;
		kind = p[0];
		kl = filestore_get32(p + 1);
		p += 5;
		if (kl > STORAGE_KEY_MAX || (size_t)(end - p) < (size_t)kl + 4)
			return CF_EIO;
		memcpy(key, p, kl);
		key[kl] = '\0';
		p += kl;
		vl = filestore_get32(p);
		p += 4;
		if ((size_t)(end - p) < vl || !storage_key_is_valid(key) ||
		    (kind != STORAGE_OP_PUT && kind != STORAGE_OP_DEL))
			return CF_EIO;
		if (apply)
			rc = kind == STORAGE_OP_PUT ?
			    filestore_put_locked(fs, key, p, vl) :
			    filestore_del_locked(fs, key);
		p += vl;
	}
	if (rc == CF_OK && p != end)
		return CF_EIO;
	return rc;
}

/*
 * Apply the committed journal, if there is one, then remove it.  On
 * success nothing is pending.  Write lock held (or open running).
 */
static int
filestore_journal_replay(struct filestore *fs)
{
	struct buf	 j = BUF_INIT;
	struct stat	 sb;
	int		 fd, rc;

	if ((fd = openat(fs->rootfd, FILE_JOURNAL, O_RDONLY | O_NOFOLLOW |
	    O_CLOEXEC)) == -1) {
		if (errno != ENOENT) {
			log_warn("file: open the batch journal");
			return CF_EIO;
		}
		fs->pending = 0;
		return CF_OK;
	}
	fs->pending = 1;
	if (fstat(fd, &sb) == -1) {
		rc = CF_EIO;
		goto out;
	}
	if ((rc = buf_reserve(&j, (size_t)sb.st_size)) != CF_OK)
		goto out;
	if ((rc = filestore_read_all(fd, j.data, (size_t)sb.st_size)) !=
	    CF_OK)
		goto out;
	j.len = (size_t)sb.st_size;
	/* Check all of it before touching anything. */
	if ((rc = filestore_journal_walk(fs, &j, 0)) != CF_OK) {
		log_warnx("file: the batch journal is corrupt");
		goto out;
	}
	if ((rc = filestore_journal_walk(fs, &j, 1)) != CF_OK)
		goto out;
	if (unlinkat(fs->rootfd, FILE_JOURNAL, 0) == -1) {
		log_warn("file: removing the batch journal");
		rc = CF_EIO;
		goto out;
	}
	fs->pending = 0;
	rc = filestore_sync_dir(fs->rootfd, "");
 out:
	close(fd);
	buf_free(&j);
	return rc;
}

static int
filestore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct filestore	*fs = filestore_from(st);
	int			 rc = CF_OK;

	filestore_wrlock(fs);
	if (fs->pending)
		rc = filestore_journal_replay(fs);
	if (rc != CF_OK)
		goto out;
	if (n == 1) {
		/* One put or delete is atomic by itself. */
		rc = ops[0].kind == STORAGE_OP_PUT ?
		    filestore_put_locked(fs, ops[0].key, ops[0].val,
		    ops[0].len) : filestore_del_locked(fs, ops[0].key);
		goto out;
	}
	/*
	 * A failure after the commit point leaves the journal pending: the
	 * batch is then applied whole before any other write, or at open.
	 */
	if ((rc = filestore_journal_write(fs, ops, n)) == CF_OK ||
	    fs->pending)
		rc = filestore_journal_replay(fs);
 out:
	filestore_unlock(fs);
	return rc;
}

/*
 * Remove what a crash can leave under the directory dfd: temporary
 * files, half-made hashed folders, and folders holding no key.  Returns
 * how many entries stay (so the caller can drop an empty folder).
 */
static size_t
filestore_sweep(int dfd, int depth)
{
	struct dirent	*de;
	struct stat	 sb;
	DIR		*d;
	const char	*name;
	size_t		 kept = 0;
	int		 fd, sub, is_dir, scratch;

	if ((fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return 1;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 1;
	}
	while ((de = readdir(d)) != NULL) {
		name = de->d_name;
		if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 ||
		    strcmp(name, FILE_NAME) == 0)
			continue;
		if (strncmp(name, FILE_TMP_PREFIX,
		    strlen(FILE_TMP_PREFIX)) == 0) {
			unlinkat(dirfd(d), name, 0);
			continue;
		}
		scratch = strncmp(name, FILE_MKDIR_PREFIX,
		    strlen(FILE_MKDIR_PREFIX)) == 0;
		if (!scratch && (name[0] == '_' || name[0] == '.')) {
			kept++;		/* a value, or the journal */
			continue;
		}
		is_dir = de->d_type == DT_DIR;
		if (de->d_type == DT_UNKNOWN)
			is_dir = fstatat(dirfd(d), name, &sb,
			    AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(sb.st_mode);
		/* Keys have at most STORAGE_KEY_MAX / 2 + 1 segments. */
		if (!is_dir || depth > STORAGE_KEY_MAX / 2 + 1 ||
		    (sub = openat(dirfd(d), name, O_RDONLY | O_DIRECTORY |
		    O_NOFOLLOW | O_CLOEXEC)) == -1) {
			kept++;
			continue;
		}
		if (filestore_sweep(sub, depth + 1) == 0 || scratch) {
			unlinkat(sub, FILE_NAME, 0);
			if (unlinkat(dirfd(d), name, AT_REMOVEDIR) == -1 &&
			    !scratch)
				kept++;
		} else
			kept++;
		close(sub);
	}
	closedir(d);
	return kept;
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
