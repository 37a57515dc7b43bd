/*
 * bench_barrier.c -- barrier encryption and decryption per second.
 *
 * usage: bench_barrier
 * Prints "barrier encrypt|decrypt SIZE N ops/s (MiB/s)" for 64 B, 4 KiB
 * and 1 MiB values, each measured for about a second.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "barrier.h"
#include "buf.h"
#include "err.h"
#include "../testutil.h"

int
main(void)
{
	static const size_t	 sizes[] = { 64, 4096, 1024 * 1024 };
	static const char *const labels[] = { "64B", "4KiB", "1MiB" };
	struct barrier		*b;
	struct buf		 ct = BUF_INIT, pt = BUF_INIT;
	unsigned char		*v;
	double			 t0, el;
	size_t			 i;
	long			 n;

	if (sodium_init() < 0 || barrier_new(&b) != CF_OK ||
	    barrier_keyring_init(b) != CF_OK)
		return 1;
	if ((v = malloc(sizes[2])) == NULL)
		return 1;
	randombytes_buf(v, sizes[2]);
	for (i = 0; i < 3; i++) {
		t0 = test_now();
		for (n = 0; (el = test_now() - t0) < 1.0; n++)
			if (barrier_encrypt(b, "bench/key", v, sizes[i], &ct) !=
			    CF_OK)
				return 1;
		printf("barrier encrypt %-5s %9.0f ops/s %8.1f MiB/s\n",
		    labels[i], n / el, n * (double)sizes[i] / el / 1048576);
		t0 = test_now();
		for (n = 0; (el = test_now() - t0) < 1.0; n++)
			if (barrier_decrypt(b, "bench/key", ct.data, ct.len,
			    &pt) != CF_OK)
				return 1;
		printf("barrier decrypt %-5s %9.0f ops/s %8.1f MiB/s\n",
		    labels[i], n / el, n * (double)sizes[i] / el / 1048576);
	}
	buf_free(&ct);
	buf_free(&pt);
	barrier_free(b);
	free(v);
	return 0;
}
