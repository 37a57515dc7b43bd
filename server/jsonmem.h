/*
 * jsonmem.h -- jansson's allocator: blocks wiped when freed, and a note
 * of every allocation that failed.
 *
 * Parsed bodies hold shares and tokens and emitted responses hold
 * secrets, so every block jansson frees is wiped first.  jansson's
 * mutators report a failed allocation only through their results, which
 * most callers building a response do not check; instead the allocator
 * itself notes the failure for the thread, and http.c answers 500 in
 * place of a response that may be missing members.
 */
#ifndef COFFER_SERVER_JSONMEM_H
#define COFFER_SERVER_JSONMEM_H

/* Install the allocator (in main, before any thread and any JSON). */
void	 jsonmem_install(void);
/* Forget this thread's failures (at the start of a request). */
void	 jsonmem_reset(void);
/* 1 if an allocation failed on this thread since jsonmem_reset(). */
int	 jsonmem_failed(void);
/*
 * Tests: make this thread's allocations fail from the n-th on (n > 0),
 * or never again (n == 0).
 */
void	 jsonmem_fail_after(long n);

#endif /* COFFER_SERVER_JSONMEM_H */
