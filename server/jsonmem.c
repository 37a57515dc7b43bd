/*
 * jsonmem.c -- jansson's allocator: wipe on free, note failures.
 *
 * Each block carries its size in a header so that freeing can wipe it.
 * Failures are noted in a thread-local flag: a request runs on one
 * worker thread from parse to reply, so the flag belongs to it.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "jsonmem.h"

#define JSONMEM_HDR	16		/* keeps blocks 16-byte aligned */

static _Thread_local int	 failed;
static _Thread_local long	 fail_at;	/* 0: never */

static void *
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

static void
jsonmem_free(void *ptr)
{
	unsigned char	*p;
	size_t		 n;

	if (ptr == NULL)
		return;
	p = (unsigned char *)ptr - JSONMEM_HDR;
	memcpy(&n, p, sizeof(n));
	sodium_memzero(ptr, n);
	free(p);
}

void
jsonmem_install(void)
{
	json_set_alloc_funcs(jsonmem_malloc, jsonmem_free);
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
