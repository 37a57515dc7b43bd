/*
 * buf.c -- growable byte buffers and string vectors.
 *
 * Growth doubles the capacity.  Old allocations are wiped before they
 * are freed: a realloc() could leave a copy of a secret in the heap.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "err.h"

void
buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = b->cap = 0;
}

void
buf_free(struct buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	buf_init(b);
}

void
buf_reset(struct buf *b)
{
	if (b->data != NULL) {
		sodium_memzero(b->data, b->len);
		b->data[0] = '\0';
	}
	b->len = 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
	size_t	 ncap;
	char	*p;

	if (n > SIZE_MAX - b->len - 1)
		return CF_ENOMEM;
	if (b->len + n + 1 <= b->cap)
		return CF_OK;
	ncap = b->cap ? b->cap : 64;
	while (ncap < b->len + n + 1) {
		if (ncap > SIZE_MAX / 2)
			return CF_ENOMEM;
		ncap *= 2;
	}
	if ((p = malloc(ncap)) == NULL)
		return CF_ENOMEM;
	if (b->data != NULL) {
		memcpy(p, b->data, b->len);
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	p[b->len] = '\0';
	b->data = p;
	b->cap = ncap;
	return CF_OK;
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
	int	 rc;

	if ((rc = buf_reserve(b, n)) != CF_OK)
		return rc;
	if (n > 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return CF_OK;
}

int
buf_puts(struct buf *b, const char *s)
{
	return buf_append(b, s, strlen(s));
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list	 ap;
	int	 n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return CF_EINTERNAL;
	if ((rc = buf_reserve(b, (size_t)n)) != CF_OK)
		return rc;
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return CF_OK;
}

int
buf_vprintf_cut(struct buf *b, size_t cut, const char *fmt, va_list ap)
{
	int	 n, rc;

	if (cut == 0)
		return CF_OK;
	if ((rc = buf_reserve(b, cut - 1)) != CF_OK)
		return rc;
	n = vsnprintf(b->data + b->len, cut, fmt, ap);
	if (n < 0) {
		b->data[b->len] = '\0';
		return CF_EINTERNAL;
	}
	b->len += (size_t)n < cut ? (size_t)n : cut - 1;
	return CF_OK;
}

int
buf_set(struct buf *b, const void *p, size_t n)
{
	buf_reset(b);
	return buf_append(b, p, n);
}

void
strv_init(struct strv *sv)
{
	sv->v = NULL;
	sv->n = sv->cap = 0;
}

void
strv_free(struct strv *sv)
{
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		free(sv->v[i]);
	free(sv->v);
	strv_init(sv);
}

int
strv_pushn(struct strv *sv, const char *s, size_t len)
{
	char	**nv, *copy;
	size_t	  ncap;

	if (sv->n == sv->cap) {
		ncap = sv->cap ? sv->cap * 2 : 16;
		if ((nv = reallocarray(sv->v, ncap, sizeof(*nv))) == NULL)
			return CF_ENOMEM;
		sv->v = nv;
		sv->cap = ncap;
	}
	if ((copy = malloc(len + 1)) == NULL)
		return CF_ENOMEM;
	memcpy(copy, s, len);
	copy[len] = '\0';
	sv->v[sv->n++] = copy;
	return CF_OK;
}

int
strv_push(struct strv *sv, const char *s)
{
	return strv_pushn(sv, s, strlen(s));
}

static int
strv_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void
strv_sort(struct strv *sv)
{
	strv_sort_from(sv, 0);
}

void
strv_sort_from(struct strv *sv, size_t i)
{
	if (sv->n > i + 1)
		qsort(sv->v + i, sv->n - i, sizeof(*sv->v), strv_cmp);
}

int
strv_list_done(struct strv *sv, size_t n0, int rc)
{
	if (rc != CF_OK)
		strv_truncate(sv, n0);
	else
		strv_sort_from(sv, n0);
	return rc;
}

void
strv_truncate(struct strv *sv, size_t n)
{
	while (sv->n > n)
		free(sv->v[--sv->n]);
}

int
strv_has(const struct strv *sv, const char *s)
{
	size_t	 i;

	for (i = 0; i < sv->n; i++)
		if (strcmp(sv->v[i], s) == 0)
			return 1;
	return 0;
}
