/*
 * jsonmem.c -- jansson's, libcurl's and OpenSSL's allocator: wipe on
 * free, note failures.
 *
 * Each block carries its size in a header so that freeing can wipe it;
 * realloc moves the contents to a new block and wipes the old one, so
 * no copy of a secret stays behind in freed memory.  Failures are noted
 * in a thread-local flag: a request runs on one worker thread from
 * parse to reply, so the flag belongs to it.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/crypto.h>
#include <sodium.h>

#include "jsonmem.h"

#define JSONMEM_HDR	16		/* keeps blocks 16-byte aligned */

static _Thread_local int	 failed;
static _Thread_local long	 fail_at;	/* 0: never */
static void			(*release)(void *) = free;

void *
jsonmem_malloc(size_t n)
{
	unsigned char	*p = NULL;

	if (fail_at > 0 && --fail_at == 0)
		fail_at = 1;		/* every later one fails too */
	else if (n <= SIZE_MAX - JSONMEM_HDR)
		p = malloc(n + JSONMEM_HDR);
	if (p == NULL) {
		failed = 1;
		return NULL;
	}
	memcpy(p, &n, sizeof(n));
	return p + JSONMEM_HDR;
}

/* The size the caller asked for (from the header). */
static size_t
block_size(const void *ptr)
{
	size_t	 n;

	memcpy(&n, (const unsigned char *)ptr - JSONMEM_HDR, sizeof(n));
	return n;
}

void
jsonmem_free(void *ptr)
{
	unsigned char	*p;

	if (ptr == NULL)
		return;
	p = (unsigned char *)ptr - JSONMEM_HDR;
	sodium_memzero(p, JSONMEM_HDR + block_size(ptr));
	release(p);
}

void *
jsonmem_realloc(void *ptr, size_t n)
{
	void	*q;
	size_t	 old;

	if (ptr == NULL)
		return jsonmem_malloc(n);
	if ((q = jsonmem_malloc(n)) == NULL)
		return NULL;		/* ptr stays valid, as realloc */
	old = block_size(ptr);
	memcpy(q, ptr, old < n ? old : n);
	jsonmem_free(ptr);
	return q;
}

void *
jsonmem_calloc(size_t nmemb, size_t size)
{
	void	*p;

	if (size != 0 && nmemb > SIZE_MAX / size) {
		failed = 1;
		return NULL;
	}
	if ((p = jsonmem_malloc(nmemb * size)) != NULL)
		memset(p, 0, nmemb * size);
	return p;
}

char *
jsonmem_strdup(const char *s)
{
	size_t	 n = strlen(s) + 1;
	char	*p;

	if ((p = jsonmem_malloc(n)) != NULL)
		memcpy(p, s, n);
	return p;
}

size_t
jsonmem_size(const void *ptr)
{
	return ptr != NULL ? block_size(ptr) : 0;
}

void
jsonmem_set_release(void (*fn)(void *))
{
	release = fn != NULL ? fn : free;
}

void
jsonmem_install(void)
{
	json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
}

/* OpenSSL's signatures; its file and line are of no use here. */
static void *
ossl_malloc(size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	return jsonmem_malloc(n);
}

static void *
ossl_realloc(void *ptr, size_t n, const char *file, int line)
{
	(void)file;
	(void)line;
	if (n == 0) {
		jsonmem_free(ptr);
		return NULL;
	}
	return jsonmem_realloc(ptr, n);
}

static void
ossl_free(void *ptr, const char *file, int line)
{
	(void)file;
	(void)line;
	jsonmem_free(ptr);
}

int
jsonmem_install_openssl(void)
{
	return CRYPTO_set_mem_functions(ossl_malloc, ossl_realloc,
	    ossl_free) == 1 ? 0 : -1;
}

void
jsonmem_reset(void)
{
	failed = 0;
}

int
jsonmem_failed(void)
{
	return failed;
}

void
jsonmem_fail_after(long n)
{
	fail_at = n > 0 ? n : 0;
}
