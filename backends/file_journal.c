/*
 * file_journal.c -- the file storage's batches, and the sweep of what a
 * crash leaves behind.
 *
 * Batches.  A batch is written to ".journal.tmp", fsynced and renamed to
 * ".journal" (the commit point), then applied key by key and removed.
 * open discards a ".journal.tmp" and replays a ".journal" left by a
 * crash; a journal whose replay failed is retried before the next write,
 * so a batch ends up applied whole or not at all.
 *
 *
 * open sweeps leftovers of a crash (temporary files, half-made
 * folders, empty folders), and first takes an exclusive flock(2) on
 * the directory, a lock of the open file description that the kernel
 * drops when the process dies: one process per store, always.  There is
 * no HA here (Vault's file backend has none either): the lock methods
 * answer CF_ENOTSUP and ha_enabled is refused.
 *
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "file.h"
#include "log.h"
#include "storage.h"

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
int
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

int
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
size_t
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
