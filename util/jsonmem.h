/*
 * jsonmem.h -- jansson's, libcurl's and OpenSSL's allocator: blocks
 * wiped when freed or moved, and a note of every allocation that failed.
 *
 * Parsed bodies hold shares and tokens and emitted responses hold
 * secrets, so every block jansson frees is wiped first.  libcurl gets
 * the same (curl_global_init_mem in main): a standby's forwarded
 * requests carry tokens and bodies, and the answers secrets.  OpenSSL
 * too, whose record buffers hold the plaintext of https forwards and of
 * TLS listeners.  jansson's
 * mutators report a failed allocation only through their results, which
 * most callers building a response do not check; instead the allocator
 * itself notes the failure for the thread, and http.c answers 500 in
 * place of a response that may be missing members.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#ifndef COFFER_UTIL_JSONMEM_H
#define COFFER_UTIL_JSONMEM_H

#include <stddef.h>

/* Install the allocator (in main, before any thread and any JSON). */
void	 jsonmem_install(void);
/*
 * Make OpenSSL allocate here too: 0, or -1 when OpenSSL has allocated
 * already (call it first thing in main).
 */
int	 jsonmem_install_openssl(void);
/*
 * malloc, free, realloc, calloc and strdup with a size header: free
 * wipes the whole block; realloc copies to a new block and frees (so
 * wipes) the old one, and on failure leaves it as it was.  Blocks from
 * these are freed only by jsonmem_free.
 */
void	*jsonmem_malloc(size_t);
void	 jsonmem_free(void *);
void	*jsonmem_realloc(void *, size_t);
void	*jsonmem_calloc(size_t, size_t);
char	*jsonmem_strdup(const char *);
/* The size a block was asked with (0 for NULL). */
size_t	 jsonmem_size(const void *);
/* Tests: what returns a wiped block to the system (NULL: free). */
void	 jsonmem_set_release(void (*)(void *));
/* Forget this thread's failures (at the start of a request). */
void	 jsonmem_reset(void);
/* 1 if an allocation failed on this thread since jsonmem_reset(). */
int	 jsonmem_failed(void);
/*
 * Tests: make this thread's allocations fail from the n-th on (n > 0),
 * or never again (n == 0).
 */
void	 jsonmem_fail_after(long n);

#endif /* COFFER_UTIL_JSONMEM_H */
