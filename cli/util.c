/*
 * util.c -- growing strings and wiping for the client; its allocator
 * for jansson and libcurl is util/jsonmem's.
 *
 * Single-threaded: the coffer client runs one command and exits.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "jsonmem.h"
#include "util.h"

static void	 oom(void) __attribute__((noreturn));

static void
oom(void)
{
	fputs("coffer: out of memory\n", stderr);
	exit(2);
}

void *
xmalloc(size_t n)
{
	void	*p;

	if ((p = malloc(n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

void *
xrealloc(void *p, size_t n)
{
	if ((p = realloc(p, n == 0 ? 1 : n)) == NULL)
		oom();
	return p;
}

char *
xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *
xstrndup(const char *s, size_t n)
{
	char	*p = xmalloc(n + 1);

	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void
wipe(void *p, size_t n)
{
#if HAVE_EXPLICIT_BZERO
	explicit_bzero(p, n);
#else
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
#endif
}

void
wipefree(char *s)
{
	if (s == NULL)
		return;
	wipe(s, strlen(s));
	free(s);
}

/*
 * Growing copies the old bytes to a new block, so the old block is
 * wiped by hand rather than handed to realloc.
 */
void
sbuf_add(struct sbuf *b, const void *p, size_t n)
{
	char	*np;
	size_t	 ncap;

	if (b->len + n + 1 > b->cap) {
		ncap = b->cap == 0 ? 256 : b->cap;
		while (ncap < b->len + n + 1)
			ncap *= 2;
		np = xmalloc(ncap);
		if (b->p != NULL) {
			memcpy(np, b->p, b->len);
			wipe(b->p, b->cap);
			free(b->p);
		}
		b->p = np;
		b->cap = ncap;
	}
	if (n > 0)
		memcpy(b->p + b->len, p, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void
sbuf_puts(struct sbuf *b, const char *s)
{
	sbuf_add(b, s, strlen(s));
}

void
sbuf_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list	 ap;
	char	 small[256], *big;
	int	 n;

	va_start(ap, fmt);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		sbuf_add(b, small, n);
		wipe(small, sizeof(small));
		return;
	}
	big = xmalloc(n + 1);
	va_start(ap, fmt);
	vsnprintf(big, n + 1, fmt, ap);
	va_end(ap);
	sbuf_add(b, big, n);
	wipe(big, n);
	free(big);
}

const char *
sbuf_str(struct sbuf *b)
{
	return b->p == NULL ? "" : b->p;
}

char *
sbuf_take(struct sbuf *b)
{
	char	*s;

	s = b->p == NULL ? xstrdup("") : b->p;
	b->p = NULL;
	b->len = b->cap = 0;
	return s;
}

void
sbuf_free(struct sbuf *b)
{
	if (b->p != NULL) {
		wipe(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

char *
trim(char *s)
{
	size_t	 n;
	char	*p = s;

	while (*p != '\0' && isspace((unsigned char)*p))
		p++;
	n = strlen(p);
	while (n > 0 && isspace((unsigned char)p[n - 1]))
		n--;
	memmove(s, p, n);
	s[n] = '\0';
	return s;
}

int
read_all_fd(int fd, struct sbuf *b)
{
	char	 tmp[4096];
	ssize_t	 n;

	sbuf_add(b, "", 0);
	for (;;) {
		n = read(fd, tmp, sizeof(tmp));
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1) {
			wipe(tmp, sizeof(tmp));
			return -1;
		}
		if (n == 0)
			break;
		sbuf_add(b, tmp, n);
	}
	wipe(tmp, sizeof(tmp));
	return 0;
}

int
read_file(const char *path, struct sbuf *b)
{
	int	 fd, rc, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	rc = read_all_fd(fd, b);
	saved = errno;
	close(fd);
	errno = saved;
	return rc;
}

/*
 * libcurl copies the token into its header lists and keeps request and
 * response bodies in its buffers; util/jsonmem's allocator, which
 * jansson uses too (jsonmem_install), wipes them when they are freed or
 * moved.
 */
int
curlmem_wiping(long flags)
{
	return curl_global_init_mem(flags, jsonmem_malloc, jsonmem_free,
	    jsonmem_realloc, jsonmem_strdup, jsonmem_calloc) == CURLE_OK ?
	    0 : -1;
}

void
json_strfree(char *s)
{
	json_malloc_t	 m;
	json_free_t	 f;

	if (s == NULL)
		return;
	json_get_alloc_funcs(&m, &f);
	wipe(s, strlen(s));
	f(s);
}

char *
pathtrim(const char *p, int keep_trailing)
{
	size_t	 n;

	while (*p == '/')
		p++;
	n = strlen(p);
	while (!keep_trailing && n > 0 && p[n - 1] == '/')
		n--;
	return xstrndup(p, n);
}

char *
mountpath(const char *p)
{
	char	*t = pathtrim(p, 0), *s;
	size_t	 n = strlen(t);

	s = xmalloc(n + 2);
	memcpy(s, t, n);
	s[n] = '/';
	s[n + 1] = '\0';
	free(t);
	return s;
}

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

const char **
sorted_keys(json_t *o, size_t *n)
{
	const char	**keys, *k;
	json_t		*v;

	*n = 0;
	keys = xmalloc(sizeof(*keys) * (json_object_size(o) + 1));
	json_object_foreach(o, k, v)
		keys[(*n)++] = k;
	qsort(keys, *n, sizeof(*keys), keycmp);
	return keys;
}

/* The shortest %g text that reads back as the same double. */
void
sbuf_real(struct sbuf *b, double d)
{
	char	 t[64];
	int	 p;

	for (p = 1; p <= 17; p++) {
		snprintf(t, sizeof(t), "%.*g", p, d);
		if (strtod(t, NULL) == d)
			break;
	}
	sbuf_puts(b, t);
}
