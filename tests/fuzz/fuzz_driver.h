/*
 * fuzz_driver.h -- the libFuzzer side that every target in tests/fuzz/
 * shares: the two entry points' prototypes and LLVMFuzzerInitialize(),
 * which makes libsodium ready (the library's allocator and random bytes
 * need it) or aborts.
 *
 * A target includes this header once, from its fuzz_NAME.c, and
 * defines LLVMFuzzerTestOneInput().  One with more to set up before the
 * first input (a store, a file, a parsed policy) names a
 * static void function of no arguments in FUZZ_SETUP before the
 * include; it runs after sodium_init() and aborts on any failure.
 *
 * Unlike a library header, this one defines a function: each target is
 * one translation unit, built alone by tests/fuzz/run.sh.
 */
#ifndef COFFER_TESTS_FUZZ_DRIVER_H
#define COFFER_TESTS_FUZZ_DRIVER_H

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <sodium.h>

int	LLVMFuzzerInitialize(int *, char ***);
int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#ifdef FUZZ_SETUP
static void	FUZZ_SETUP(void);
#endif

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
#ifdef FUZZ_SETUP
	FUZZ_SETUP();
#endif
	return 0;
}

#endif /* COFFER_TESTS_FUZZ_DRIVER_H */
