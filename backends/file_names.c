/*
 * file_names.c -- the file storage's names: keys to file paths and
 * back, and list, which reads names back from a folder.
 *
 * Key "a/b/c" is the file "a/b/_c" under the storage path:
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

void
filestore_put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

uint32_t
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
int
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
int
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
int
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

int
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
	(void)strv_list_done(out, n0, rc);
	buf_free(&dir);
	buf_free(&name);
	return rc;
}
