/*
 * file.c -- storage as one file per key under a directory.
 *
 * Key "a/b/c" is the file "a/b/_c" under the storage path: folders are
 * directories, values are files with a '_' prefix, so "a" can be both a
 * value and a folder.  Every segment is percent-encoded outside
 * [A-Za-z0-9.-] (and '_'), so any key is a safe file name; a segment
 * whose encoding would pass SEG_MAX bytes is stored as '~' + a hash,
 * with the true segment kept beside it in a ".name" file (folders) or in
 * the value file's header, so list still returns true names.
 *
 * Value files hold a header (the magic, the key's length and the key)
 * followed by the value.  A write goes to a temporary file that is
 * fsynced, renamed over the target, then the directory is fsynced: a
 * put that returned survives kill -9 and power loss.
 *
 * A batch is first written to a journal that is fsynced and renamed to
 * ".journal" (the commit point), then applied, then removed; open
 * replays a journal left by a crash, so a batch is all or nothing.
 *
 * One mutex serializes writers; readers take the rwlock for reading.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"

#define SEG_MAX		200
#define FILE_MAGIC	"CFV1"
#define JOURNAL		".journal"
#define JOURNAL_TMP	".journal.tmp"

struct filestore {
	struct storage		 st;		/* must stay first */
	char			*root;
	int			 rootfd;
	pthread_rwlock_t	 lock;
	unsigned long		 tmpseq;
};

static struct filestore *
filestore_from(struct storage *st)
{
	if (st->ops != &storage_file_ops)
		CF_BUG("not a file storage");
	return (struct filestore *)st;
}

static void
lk_rd(struct filestore *fs)
{
	if (pthread_rwlock_rdlock(&fs->lock) != 0)
		abort();
}

static void
lk_wr(struct filestore *fs)
{
	if (pthread_rwlock_wrlock(&fs->lock) != 0)
		abort();
}

static void
lk_un(struct filestore *fs)
{
	if (pthread_rwlock_unlock(&fs->lock) != 0)
		abort();
}

static int
safe_char(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
	    (c == '.');
}

/* Encode one segment into out (a relative name without prefix). */
static int
encode_seg(const char *seg, size_t len, struct buf *out)
{
	unsigned char	 h[crypto_generichash_BYTES_MIN];
	char		 hex[sizeof(h) * 2 + 1];
	size_t		 i, start = out->len;
	int		 rc = CF_OK;

	for (i = 0; i < len && rc == CF_OK; i++) {
		unsigned char c = (unsigned char)seg[i];

		/* A leading '.' or '~' would clash with our own files. */
		if (safe_char(c) && !(i == 0 && (c == '.' || c == '_')))
			rc = buf_append(out, &seg[i], 1);
		else
			rc = buf_printf(out, "%%%02X", c);
	}
	if (rc == CF_OK && out->len - start > SEG_MAX) {
		out->len = start;
		crypto_generichash(h, sizeof(h), (const unsigned char *)seg,
		    len, NULL, 0);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		rc = buf_printf(out, "~%s", hex);
	}
	return rc;
}

/* Decode a file name back to its segment; CF_EINVAL if not ours. */
static int
decode_seg(const char *name, struct buf *out)
{
	unsigned int	 v;
	size_t		 i;
	int		 rc = CF_OK;

	for (i = 0; name[i] != '\0' && rc == CF_OK; i++) {
		if (name[i] == '%') {
			if (sscanf(name + i + 1, "%2X", &v) != 1)
				return CF_EINVAL;
			unsigned char c = (unsigned char)v;
			rc = buf_append(out, &c, 1);
			i += 2;
		} else
			rc = buf_append(out, &name[i], 1);
	}
	return rc;
}

/*
 * Relative path of key: folders plain, the last segment '_'-prefixed.
 * *dirlen is the length of the folder part (0 for top-level keys).
 */
static int
key_path(const char *key, struct buf *out, size_t *dirlen)
{
	const char	*seg = key, *slash;
	int		 rc = CF_OK;

	buf_reset(out);
	*dirlen = 0;
	while ((slash = strchr(seg, '/')) != NULL && rc == CF_OK) {
		rc = encode_seg(seg, (size_t)(slash - seg), out);
		if (rc == CF_OK)
			rc = buf_append(out, "/", 1);
		*dirlen = out->len;
		seg = slash + 1;
	}
	if (rc == CF_OK)
		rc = buf_append(out, "_", 1);
	if (rc == CF_OK)
		rc = encode_seg(seg, strlen(seg), out);
	return rc;
}

static int
fsync_dir(int rootfd, const char *rel)
{
	int	 fd, rc = CF_OK;

	if ((fd = openat(rootfd, rel[0] != '\0' ? rel : ".",
	    O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return CF_EIO;
	if (fsync(fd) == -1)
		rc = CF_EIO;
	close(fd);
	return rc;
}

/* mkdir -p for the folder part of rel, writing ".name" for hashed ones. */
static int
make_dirs(struct filestore *fs, const char *key, const char *rel,
    size_t dirlen)
{
	char		*p;
	const char	*kseg = key, *kslash;
	size_t		 i;
	int		 rc = CF_OK, fd;

	if (dirlen == 0)
		return CF_OK;
	if ((p = strndup(rel, dirlen)) == NULL)
		return CF_ENOMEM;
	for (i = 0; i < dirlen && rc == CF_OK; i++) {
		if (p[i] != '/')
			continue;
		kslash = strchr(kseg, '/');
		p[i] = '\0';
		if (mkdirat(fs->rootfd, p, 0700) == 0) {
			char	*slash = strrchr(p, '/');
			char	*name = NULL;

			if ((slash != NULL ? slash[1] : p[0]) == '~') {
				if (asprintf(&name, "%s/.name", p) == -1) {
					rc = CF_ENOMEM;
					break;
				}
				fd = openat(fs->rootfd, name, O_WRONLY |
				    O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
				if (fd == -1 || write(fd, kseg,
				    (size_t)(kslash - kseg)) !=
				    (ssize_t)(kslash - kseg) || fsync(fd) == -1)
					rc = CF_EIO;
				if (fd != -1)
					close(fd);
				free(name);
			}
			/* The parent directory now has a new entry. */
			if (slash != NULL)
				*slash = '\0';
			if (rc == CF_OK)
				rc = fsync_dir(fs->rootfd, slash != NULL ? p : "");
			if (slash != NULL)
				*slash = '/';
		} else if (errno != EEXIST)
			rc = CF_EIO;
		p[i] = '/';
		kseg = kslash + 1;
	}
	free(p);
	return rc;
}

static int
write_all(int fd, const void *p, size_t n)
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

/* Write one value durably.  Writer lock held. */
static int
put_locked(struct filestore *fs, const char *key, const void *val,
    size_t len)
{
	struct buf	 rel = BUF_INIT, tmp = BUF_INIT;
	uint8_t		 hdr[8];
	size_t		 dirlen, klen = strlen(key);
	int		 fd = -1, rc;

	if ((rc = key_path(key, &rel, &dirlen)) != CF_OK ||
	    (rc = make_dirs(fs, key, rel.data, dirlen)) != CF_OK)
		goto out;
	if ((rc = buf_printf(&tmp, "%.*s.tmp%lu", (int)dirlen, rel.data,
	    fs->tmpseq++)) != CF_OK)
		goto out;
	fd = openat(fs->rootfd, tmp.data, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);
	if (fd == -1) {
		log_warn("file: create %s", tmp.data);
		rc = CF_EIO;
		goto out;
	}
	memcpy(hdr, FILE_MAGIC, 4);
	hdr[4] = (uint8_t)(klen >> 24);
	hdr[5] = (uint8_t)(klen >> 16);
	hdr[6] = (uint8_t)(klen >> 8);
	hdr[7] = (uint8_t)klen;
	if ((rc = write_all(fd, hdr, sizeof(hdr))) != CF_OK ||
	    (rc = write_all(fd, key, klen)) != CF_OK ||
	    (rc = write_all(fd, val, len)) != CF_OK)
		goto out;
	if (fsync(fd) == -1) {
		rc = CF_EIO;
		goto out;
	}
	close(fd);
	fd = -1;
	if (renameat(fs->rootfd, tmp.data, fs->rootfd, rel.data) == -1) {
		log_warn("file: rename %s", rel.data);
		rc = CF_EIO;
		goto out;
	}
	rel.data[dirlen] = '\0';
	rc = fsync_dir(fs->rootfd, rel.data);
 out:
	if (fd != -1) {
		close(fd);
		unlinkat(fs->rootfd, tmp.data, 0);
	}
	buf_free(&rel);
	buf_free(&tmp);
	return rc;
}

/* 1 if dir holds nothing but its ".name" file. */
static int
holds_only_name(int rootfd, const char *dir)
{
	struct dirent	*de;
	DIR		*d;
	int		 fd, only = 1;

	if ((fd = openat(rootfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1)
		return 0;
	if ((d = fdopendir(fd)) == NULL) {
		close(fd);
		return 0;
	}
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0 &&
		    strcmp(de->d_name, ".name") != 0)
			only = 0;
	closedir(d);
	return only;
}

/* Remove empty folders upwards from dir (best effort). */
static void
prune_dirs(struct filestore *fs, char *dir)
{
	char	*slash, *name;

	while (dir[0] != '\0') {
		size_t	 len = strlen(dir);

		if (len > 0 && dir[len - 1] == '/')
			dir[--len] = '\0';
		if (asprintf(&name, "%s/.name", dir) == -1)
			break;
		/* A hashed folder keeps its name file until it is empty. */
		if (unlinkat(fs->rootfd, dir, AT_REMOVEDIR) == -1) {
			if (!holds_only_name(fs->rootfd, dir) ||
			    unlinkat(fs->rootfd, name, 0) == -1 ||
			    unlinkat(fs->rootfd, dir, AT_REMOVEDIR) == -1) {
				free(name);
				break;
			}
		}
		free(name);
		if ((slash = strrchr(dir, '/')) == NULL)
			break;
		slash[1] = '\0';
	}
}

static int
del_locked(struct filestore *fs, const char *key)
{
	struct buf	 rel = BUF_INIT;
	size_t		 dirlen;
	int		 rc;

	if ((rc = key_path(key, &rel, &dirlen)) != CF_OK)
		goto out;
	if (unlinkat(fs->rootfd, rel.data, 0) == -1) {
		rc = errno == ENOENT || errno == ENOTDIR ? CF_OK : CF_EIO;
		goto out;
	}
	rel.data[dirlen] = '\0';
	rc = fsync_dir(fs->rootfd, rel.data);
	if (dirlen > 0)
		prune_dirs(fs, rel.data);
 out:
	buf_free(&rel);
	return rc;
}

/* Read a value file; its header names the key it holds. */
static int
read_value(int rootfd, const char *rel, struct buf *key, struct buf *val)
{
	struct buf	 all = BUF_INIT;
	char		 chunk[8192];
	ssize_t		 n;
	size_t		 klen;
	int		 fd, rc = CF_OK;
	const uint8_t	*p;

	if ((fd = openat(rootfd, rel, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT || errno == ENOTDIR ? CF_ENOTFOUND :
		    CF_EIO;
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		if ((rc = buf_append(&all, chunk, (size_t)n)) != CF_OK)
			break;
	if (n < 0)
		rc = CF_EIO;
	close(fd);
	sodium_memzero(chunk, sizeof(chunk));
	if (rc != CF_OK)
		goto out;
	p = (const uint8_t *)all.data;
	if (all.len < 8 || memcmp(p, FILE_MAGIC, 4) != 0) {
		rc = CF_EIO;
		goto out;
	}
	klen = (size_t)p[4] << 24 | (size_t)p[5] << 16 | (size_t)p[6] << 8 |
	    p[7];
	if (klen > all.len - 8) {
		rc = CF_EIO;
		goto out;
	}
	if (key != NULL)
		rc = buf_set(key, all.data + 8, klen);
	if (rc == CF_OK && val != NULL)
		rc = buf_set(val, all.data + 8 + klen, all.len - 8 - klen);
 out:
	buf_free(&all);
	return rc;
}

static int
filestore_get(struct storage *st, const char *key, struct buf *val)
{
	struct filestore	*fs = filestore_from(st);
	struct buf		 rel = BUF_INIT;
	size_t			 dirlen;
	int			 rc;

	if ((rc = key_path(key, &rel, &dirlen)) != CF_OK)
		return rc;
	lk_rd(fs);
	rc = read_value(fs->rootfd, rel.data, NULL, val);
	lk_un(fs);
	buf_free(&rel);
	if (rc != CF_OK)
		buf_reset(val);
	return rc;
}

static int
filestore_put(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct filestore	*fs = filestore_from(st);
	int			 rc;

	lk_wr(fs);
	rc = put_locked(fs, key, val, len);
	lk_un(fs);
	return rc;
}

static int
filestore_del(struct storage *st, const char *key)
{
	struct filestore	*fs = filestore_from(st);
	int			 rc;

	lk_wr(fs);
	rc = del_locked(fs, key);
	lk_un(fs);
	return rc;
}

/* The true name of a directory entry. */
static int
entry_name(int rootfd, const char *dir, const char *name, int is_value,
    struct buf *out)
{
	struct buf	 path = BUF_INIT, key = BUF_INIT;
	const char	*seg = is_value ? name + 1 : name;
	char		*slash;
	int		 rc, fd;
	ssize_t		 n;
	char		 tmp[STORAGE_KEY_MAX + 1];

	buf_reset(out);
	if (seg[0] != '~')
		return decode_seg(seg, out);
	if ((rc = buf_printf(&path, "%s%s%s", dir, name, is_value ? "" :
	    "/.name")) != CF_OK)
		goto out;
	if (is_value) {
		if ((rc = read_value(rootfd, path.data, &key, NULL)) != CF_OK)
			goto out;
		slash = strrchr(key.data, '/');
		rc = buf_puts(out, slash != NULL ? slash + 1 : key.data);
	} else {
		if ((fd = openat(rootfd, path.data, O_RDONLY | O_CLOEXEC)) ==
		    -1) {
			rc = CF_EIO;
			goto out;
		}
		n = read(fd, tmp, sizeof(tmp));
		close(fd);
		rc = n > 0 ? buf_append(out, tmp, (size_t)n) : CF_EIO;
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
	DIR			*d = NULL;
	const char		*p, *slash;
	int			 fd, rc = CF_OK, isdir;

	/* The folder's directory: every segment of prefix, encoded. */
	for (p = prefix; (slash = strchr(p, '/')) != NULL; p = slash + 1)
		if ((rc = encode_seg(p, (size_t)(slash - p), &dir)) != CF_OK ||
		    (rc = buf_append(&dir, "/", 1)) != CF_OK)
			goto out;
	lk_rd(fs);
	fd = openat(fs->rootfd, dir.len > 0 ? dir.data : ".", O_RDONLY |
	    O_DIRECTORY | O_CLOEXEC);
	if (fd == -1 || (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		rc = errno == ENOENT || errno == ENOTDIR ? CF_OK : CF_EIO;
		lk_un(fs);
		goto out;
	}
	while ((de = readdir(d)) != NULL && rc == CF_OK) {
		/* ".tmpN", ".name", ".journal": ours, never keys. */
		if (de->d_name[0] == '.')
			continue;
		isdir = de->d_name[0] != '_';
		if ((rc = entry_name(fs->rootfd, dir.len > 0 ? dir.data : "",
		    de->d_name, !isdir, &name)) != CF_OK) {
			rc = CF_OK;	/* a half-made entry: skip it */
			continue;
		}
		if (isdir)
			rc = buf_append(&name, "/", 1);
		if (rc == CF_OK)
			rc = strv_pushn(out, name.data, name.len);
	}
	closedir(d);
	lk_un(fs);
	strv_sort(out);
 out:
	buf_free(&dir);
	buf_free(&name);
	return rc;
}

/* Journal: [u32 n] then per op [u8 kind][u32 klen][key][u32 vlen][val]. */
static int
journal_write(struct filestore *fs, const struct storage_op *ops, size_t n)
{
	struct buf	 j = BUF_INIT;
	uint8_t		 b[5];
	size_t		 i, kl;
	int		 fd = -1, rc = CF_OK;

#define U32(p, v) do { (p)[0] = (uint8_t)((v) >> 24); \
	(p)[1] = (uint8_t)((v) >> 16); (p)[2] = (uint8_t)((v) >> 8); \
	(p)[3] = (uint8_t)(v); } while (0)
	U32(b, n);
	rc = buf_append(&j, b, 4);
	for (i = 0; i < n && rc == CF_OK; i++) {
		kl = strlen(ops[i].key);
		b[0] = (uint8_t)ops[i].kind;
		U32(b + 1, kl);
		if ((rc = buf_append(&j, b, 5)) != CF_OK ||
		    (rc = buf_append(&j, ops[i].key, kl)) != CF_OK)
			break;
		U32(b, ops[i].len);
		if ((rc = buf_append(&j, b, 4)) != CF_OK ||
		    (rc = buf_append(&j, ops[i].val, ops[i].len)) != CF_OK)
			break;
	}
#undef U32
	if (rc != CF_OK)
		goto out;
	fd = openat(fs->rootfd, JOURNAL_TMP, O_WRONLY | O_CREAT | O_TRUNC |
	    O_CLOEXEC, 0600);
	if (fd == -1 || write_all(fd, j.data, j.len) != CF_OK ||
	    fsync(fd) == -1) {
		rc = CF_EIO;
		goto out;
	}
	/* The rename is the commit point. */
	if (renameat(fs->rootfd, JOURNAL_TMP, fs->rootfd, JOURNAL) == -1 ||
	    fsync_dir(fs->rootfd, "") != CF_OK)
		rc = CF_EIO;
 out:
	if (fd != -1)
		close(fd);
	buf_free(&j);
	return rc;
}

static uint32_t
rd32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

/* Apply a committed journal (after a crash, or right after writing). */
static int
journal_replay(struct filestore *fs)
{
	struct buf	 j = BUF_INIT, key = BUF_INIT;
	const uint8_t	*p, *end;
	char		 chunk[8192];
	uint32_t	 n, i, kl, vl;
	ssize_t		 r;
	int		 fd, rc = CF_OK, kind;

	if ((fd = openat(fs->rootfd, JOURNAL, O_RDONLY | O_CLOEXEC)) == -1)
		return errno == ENOENT ? CF_OK : CF_EIO;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		if ((rc = buf_append(&j, chunk, (size_t)r)) != CF_OK)
			break;
	close(fd);
	if (rc != CF_OK || j.len < 4)
		goto out;
	p = (const uint8_t *)j.data;
	end = p + j.len;
	n = rd32(p);
	p += 4;
	for (i = 0; i < n && rc == CF_OK; i++) {
		if (end - p < 5) {
			rc = CF_EIO;
			break;
		}
		kind = p[0];
		kl = rd32(p + 1);
		p += 5;
		if ((size_t)(end - p) < (size_t)kl + 4) {
			rc = CF_EIO;
			break;
		}
		if ((rc = buf_set(&key, p, kl)) != CF_OK)
			break;
		p += kl;
		vl = rd32(p);
		p += 4;
		if ((size_t)(end - p) < vl) {
			rc = CF_EIO;
			break;
		}
		rc = kind == STORAGE_OP_PUT ? put_locked(fs, key.data, p, vl) :
		    del_locked(fs, key.data);
		p += vl;
	}
	if (rc == CF_OK) {
		unlinkat(fs->rootfd, JOURNAL, 0);
		rc = fsync_dir(fs->rootfd, "");
	}
 out:
	sodium_memzero(chunk, sizeof(chunk));
	buf_free(&j);
	buf_free(&key);
	return rc;
}

static int
filestore_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	struct filestore	*fs = filestore_from(st);
	int			 rc;

	lk_wr(fs);
	if ((rc = journal_write(fs, ops, n)) == CF_OK)
		rc = journal_replay(fs);
	lk_un(fs);
	return rc;
}

static int
filestore_open(const struct storage_conf *conf, struct storage **out)
{
	struct filestore	*fs;

	if (conf->path == NULL) {
		log_warnx("file: storage needs a path");
		return CF_EINVAL;
	}
	if (mkdir(conf->path, 0700) == -1 && errno != EEXIST) {
		log_warn("file: %s", conf->path);
		return CF_EIO;
	}
	if ((fs = calloc(1, sizeof(*fs))) == NULL)
		return CF_ENOMEM;
	fs->st.ops = &storage_file_ops;
	if ((fs->root = strdup(conf->path)) == NULL ||
	    (fs->rootfd = open(conf->path, O_RDONLY | O_DIRECTORY |
	    O_CLOEXEC)) == -1) {
		log_warn("file: %s", conf->path);
		free(fs->root);
		free(fs);
		return CF_EIO;
	}
	pthread_rwlock_init(&fs->lock, NULL);
	unlinkat(fs->rootfd, JOURNAL_TMP, 0);	/* never committed */
	if (journal_replay(fs) != CF_OK) {
		log_warnx("file: %s: cannot replay the batch journal",
		    conf->path);
		close(fs->rootfd);
		pthread_rwlock_destroy(&fs->lock);
		free(fs->root);
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

	close(fs->rootfd);
	pthread_rwlock_destroy(&fs->lock);
	free(fs->root);
	free(fs);
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
};
