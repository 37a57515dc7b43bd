/*
 * test_storage_file.c -- the file backend's journal, replayed or
 * refused when damaged, and its lock: one handle per directory.  Other
 * backends skip.
 */
#include "config.h"

#include <sys/stat.h>

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "err.h"
#include "storage.h"
#include "storage_harness.h"

/* Write a file under dir with the given bytes. */
static void
write_raw(const char *dir, const char *rel, const void *p, size_t len)
{
	char	 path[256];
	int	 fd;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd != -1);
	assert_int_equal(write(fd, p, len), (ssize_t)len);
	close(fd);
}

/* Append one journal op: [u8 kind][u32 klen][key][u32 vlen][val]. */
static void
journal_op(struct buf *j, int kind, const char *key, const char *val)
{
	uint8_t	 b[5];
	size_t	 kl = strlen(key), vl = val != NULL ? strlen(val) : 0;

	b[0] = (uint8_t)kind;
	b[1] = 0;
	b[2] = 0;
	b[3] = (uint8_t)(kl >> 8);
	b[4] = (uint8_t)kl;
	assert_int_equal(buf_append(j, b, 5), CF_OK);
	assert_int_equal(buf_append(j, key, kl), CF_OK);
	b[0] = 0;
	b[1] = 0;
	b[2] = (uint8_t)(vl >> 8);
	b[3] = (uint8_t)vl;
	assert_int_equal(buf_append(j, b, 4), CF_OK);
	assert_int_equal(buf_append(j, val, vl), CF_OK);
}

/*
 * The file backend after a crash: a committed journal (".journal") is
 * replayed at open, an uncommitted one (".journal.tmp") is dropped, and
 * temporary files and the folders they alone kept are swept.
 */
void
test_file_recovery(void **state)
{
	struct fixture	*fx = *state;
	struct buf	 j = BUF_INIT, t = BUF_INIT;
	char		 path[256];

	if (!is_backend(fx, "file"))
		skip();
	assert_int_equal(storage_put(fx->st, "j/old", "old", 3), CF_OK);
	assert_int_equal(storage_put(fx->st, "j/keep", "keep", 4), CF_OK);
	assert_int_equal(storage_put(fx->st, "gone/x", "x", 1), CF_OK);
	storage_close(fx->st);
	fx->st = NULL;

	assert_int_equal(buf_append(&j, "\0\0\0\3", 4), CF_OK);
	journal_op(&j, STORAGE_OP_PUT, "j/a", "1");
	journal_op(&j, STORAGE_OP_DEL, "j/old", NULL);
	journal_op(&j, STORAGE_OP_PUT, "j/new/deep", "2");
	write_raw(fx->dir, ".journal", j.data, j.len);
	assert_int_equal(buf_append(&t, "\0\0\0\1", 4), CF_OK);
	journal_op(&t, STORAGE_OP_PUT, "j/never", "3");
	write_raw(fx->dir, ".journal.tmp", t.data, t.len);
	/* A crash mid-put, and a folder kept alive by leftovers only. */
	write_raw(fx->dir, "j/.tmp-7", "junk", 4);
	snprintf(path, sizeof(path), "%s/stale", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_raw(fx->dir, "stale/.tmp-1", "junk", 4);
	snprintf(path, sizeof(path), "%s/.mkdir-3", fx->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	write_raw(fx->dir, ".mkdir-3/.name", "half", 4);

	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
	check_value(fx->st, "j/a", "1", 1);
	check_missing(fx->st, "j/old");
	check_value(fx->st, "j/new/deep", "2", 1);
	check_value(fx->st, "j/keep", "keep", 4);
	check_missing(fx->st, "j/never");
	expect_list(fx->st, "", (const char *const[]){ "gone/", "j/" }, 2);
	expect_list(fx->st, "j/", (const char *const[]){ "a", "keep",
	    "new/" }, 3);
	snprintf(path, sizeof(path), "%s/.journal", fx->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/.journal.tmp", fx->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/j/.tmp-7", fx->dir);
	assert_int_equal(access(path, F_OK), -1);
	snprintf(path, sizeof(path), "%s/.mkdir-3", fx->dir);
	assert_int_equal(access(path, F_OK), -1);

	/* A committed journal that cannot be read stops open. */
	storage_close(fx->st);
	fx->st = NULL;
	write_raw(fx->dir, ".journal", j.data, j.len - 1);
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_EIO);
	assert_null(fx->st);
	write_raw(fx->dir, ".journal", j.data, j.len);
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
	check_value(fx->st, "j/a", "1", 1);
	buf_free(&j);
	buf_free(&t);
}

/* A file store belongs to one handle: a second open is refused. */
void
test_file_lock(void **state)
{
	struct fixture	*fx = *state;
	struct storage	*st2 = NULL;

	if (!is_backend(fx, "file"))
		skip();
	assert_int_equal(open_store("file", fx->dir, &st2), CF_EIO);
	assert_null(st2);
	storage_close(fx->st);
	fx->st = NULL;
	assert_int_equal(open_store("file", fx->dir, &st2), CF_OK);
	storage_close(st2);
	assert_int_equal(open_store(fx->backend, fx->dir, &fx->st), CF_OK);
}
