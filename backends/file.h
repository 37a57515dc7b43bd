/*
 * file.h -- what the file storage's three files share (file.c: the
 * store; file_names.c: names; file_journal.c: batches and the sweep).
 * Nothing outside backends/file*.c includes it.
 */
#ifndef COFFER_BACKENDS_FILE_H
#define COFFER_BACKENDS_FILE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
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

/* file.c */
struct filestore *filestore_from(struct storage *);
void	 filestore_rdlock(struct filestore *);
void	 filestore_wrlock(struct filestore *);
void	 filestore_unlock(struct filestore *);
/* fsync the directory rel ("" is the root) under rootfd. */
int	 filestore_sync_dir(int rootfd, const char *rel);
int	 filestore_write_all(int fd, const void *, size_t);
int	 filestore_read_all(int fd, void *, size_t);
/*
 * Read a value file: the key its header names into key, the value into
 * val (either may be NULL).  CF_ENOTFOUND if there is no such file.
 */
int	 filestore_read(int rootfd, const char *rel, struct buf *key,
	    struct buf *val);
/* A put and a delete, under the write lock. */
int	 filestore_put_locked(struct filestore *, const char *key,
	    const void *val, size_t len);
int	 filestore_del_locked(struct filestore *, const char *key);

/* file_names.c */
void	 filestore_put32(uint8_t *, uint32_t);
uint32_t filestore_get32(const uint8_t *);
/* One key segment as a file name, and back. */
int	 filestore_encode(const char *seg, size_t len, struct buf *out);
int	 filestore_decode(const char *name, struct buf *out);
/*
 * The path of key's value file, relative to the root; *dirlen is the
 * length of the folder part with its last '/' (0 for a top-level key).
 */
int	 filestore_path(const char *key, struct buf *out, size_t *dirlen);
/* The storage op: the true names under prefix (direct children). */
int	 filestore_list(struct storage *, const char *prefix,
	    struct strv *out);

/* file_journal.c */
/* Apply a journal a crash left (or a failed replay); under the write lock. */
int	 filestore_journal_replay(struct filestore *);
int	 filestore_batch(struct storage *, const struct storage_op *, size_t);
/*
 * Remove a crash's leftovers below dfd (depth: how deep we are); the
 * entries that stay.
 */
size_t	 filestore_sweep(int dfd, int depth);

#endif /* COFFER_BACKENDS_FILE_H */
