/*
 * fuzz_conf.c -- libFuzzer target for the cofferd.hcl reader
 * (server/conf.c over util/hcl.c).
 *
 * The input is the configuration file, handed to conf_load() through a
 * memfd so the real file path is taken.  A file with an error must
 * leave the configuration as it was and say why; an accepted one must
 * hold only what conf.c promises (a known storage type with its path,
 * listeners with an address and either TLS files or tls_disable).
 * Loading the same file a second time checks the merge: a second
 * storage is refused and changes nothing, listeners accumulate.
 */
#include "config.h"

#include <sys/mman.h>

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "err.h"

#define FUZZ_SETUP	open_conf_file
#include "fuzz_driver.h"

static int	 fd = -1;
static char	 path[64];

static void
check_conf(const struct conf *c)
{
	size_t	 i;

	if (c->storage_type != NULL) {
		if (strcmp(c->storage_type, "lmdb") != 0 &&
		    strcmp(c->storage_type, "file") != 0 &&
		    strcmp(c->storage_type, "inmem") != 0)
			abort();
		if (strcmp(c->storage_type, "inmem") != 0 &&
		    c->storage_path == NULL)
			abort();
		if (c->storage_where == NULL)
			abort();
	}
	if ((c->nlisteners > 0) != (c->listeners != NULL))
		abort();
	for (i = 0; i < c->nlisteners; i++) {
		if (c->listeners[i].address == NULL)
			abort();
		if (!c->listeners[i].tls_disable &&
		    (c->listeners[i].tls_cert_file == NULL ||
		    c->listeners[i].tls_key_file == NULL))
			abort();
		if (c->listeners[i].max_request_size <= 0)
			abort();
	}
	if (c->default_lease_ttl < 0 || c->max_lease_ttl < 0)
		abort();
	if (c->worker_threads < 0 || c->worker_threads > 1024)
		abort();
}

/* The file every input is written to, and its path for conf_load(). */
static void
open_conf_file(void)
{
	if ((fd = memfd_create("cofferd.hcl", MFD_CLOEXEC)) == -1)
		abort();
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	 c;
	struct buf	 errs = BUF_INIT;
	size_t		 n;
	int		 rc;

	if (ftruncate(fd, 0) == -1 ||
	    (size > 0 && pwrite(fd, data, size, 0) != (ssize_t)size))
		abort();
	conf_init(&c);
	rc = conf_load(&c, path, &errs);
	if (rc != CF_OK) {
		/* Nothing taken from a file with an error. */
		if (rc != CF_EINVAL || errs.len == 0 || c.storage_type != NULL ||
		    c.nlisteners != 0 || c.api_addr != NULL)
			abort();
		goto out;
	}
	check_conf(&c);

	/* Again: storage twice is an error that changes nothing. */
	n = c.nlisteners;
	buf_reset(&errs);
	rc = conf_load(&c, path, &errs);
	if (c.storage_type != NULL) {
		if (rc != CF_EINVAL || errs.len == 0 || c.nlisteners != n)
			abort();
	} else if (rc != CF_OK || c.nlisteners != 2 * n)
		abort();
	check_conf(&c);

	buf_reset(&errs);
	rc = conf_finish(&c, &errs);
	if (rc != CF_OK && (rc != CF_EINVAL || errs.len == 0))
		abort();
	if (rc == CF_OK && (c.storage_type == NULL || c.nlisteners == 0 ||
	    c.default_lease_ttl > c.max_lease_ttl))
		abort();
 out:
	conf_free(&c);
	buf_free(&errs);
	return 0;
}
