/*
 * buf.h -- growable byte buffers and string vectors.
 *
 * A struct buf owns its bytes.  buf_free() and buf_reset() wipe them
 * with sodium_memzero() before releasing or reusing them, so a buffer
 * that held a body, a token or a plaintext never leaves a copy behind.
 * The data is always NUL-terminated past len, which makes text use easy
 * and costs one byte.  Not thread-safe: a buffer belongs to one thread.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#ifndef COFFER_UTIL_BUF_H
#define COFFER_UTIL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;		/* NULL until the first append */
	size_t	 len;		/* bytes used, excluding the NUL */
	size_t	 cap;		/* bytes allocated */
};

#define BUF_INIT	{ NULL, 0, 0 }

void	 buf_init(struct buf *);
/* Wipe and free the bytes; the buf is empty and reusable afterwards. */
void	 buf_free(struct buf *);
/* Wipe the used bytes and set len to 0, keeping the allocation. */
void	 buf_reset(struct buf *);
/* Make room for n more bytes.  CF_OK or CF_ENOMEM. */
int	 buf_reserve(struct buf *, size_t n)
	    __attribute__((warn_unused_result));
int	 buf_append(struct buf *, const void *, size_t)
	    __attribute__((warn_unused_result));
int	 buf_puts(struct buf *, const char *)
	    __attribute__((warn_unused_result));
int	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3), warn_unused_result));
/*
 * Append fmt's text cut to at most cut - 1 bytes, what vsnprintf() into
 * a char[cut] keeps: for messages that must stay bounded whatever the
 * arguments hold.  cut 0 appends nothing.
 */
int	 buf_vprintf_cut(struct buf *, size_t cut, const char *, va_list)
	    __attribute__((format(printf, 3, 0), warn_unused_result));
/* Replace the contents with a copy of the given bytes. */
int	 buf_set(struct buf *, const void *, size_t)
	    __attribute__((warn_unused_result));

/* A vector of owned, NUL-terminated strings. */
struct strv {
	char	**v;
	size_t	  n;
	size_t	  cap;
};

#define STRV_INIT	{ NULL, 0, 0 }

void	 strv_init(struct strv *);
void	 strv_free(struct strv *);
/* Append a copy of s (or of its first len bytes with strv_pushn). */
int	 strv_push(struct strv *, const char *)
	    __attribute__((warn_unused_result));
int	 strv_pushn(struct strv *, const char *, size_t)
	    __attribute__((warn_unused_result));
/* Sort bytewise (strcmp order); strv_sort_from only from element i on. */
void	 strv_sort(struct strv *);
void	 strv_sort_from(struct strv *, size_t i);
/*
 * End a listing that appended to sv from element n0 on: with rc CF_OK,
 * sort what it added; otherwise leave sv as it was found.  Returns rc.
 */
int	 strv_list_done(struct strv *sv, size_t n0, int rc);
/* Free the elements from i on, leaving n elements (i >= n: no-op). */
void	 strv_truncate(struct strv *, size_t n);
/* 1 if s is an element, else 0. */
int	 strv_has(const struct strv *, const char *);

#endif /* COFFER_UTIL_BUF_H */
