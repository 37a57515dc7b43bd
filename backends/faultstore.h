/*
 * faultstore.h -- a test-only storage backend that fails the Nth call.
 *
 * A faultstore wraps another backend and passes every call through
 * until it is armed; from then on it counts the calls of the kinds it
 * was armed for and answers the Nth with CF_EIO, without calling the
 * backend below, so the failed call has no effect.  It exists so that
 * every error path above storage can be made to run.
 *
 * It is never part of cofferd: see faultstore.c for how it is kept out
 * of production builds.
 */
#ifndef COFFER_BACKENDS_FAULTSTORE_H
#define COFFER_BACKENDS_FAULTSTORE_H

#include <stddef.h>

struct storage;
struct storage_conf;
struct storage_ops;

/* The kinds of call a fault can count, as a mask. */
#define FAULTSTORE_GET		0x01
#define FAULTSTORE_PUT		0x02
#define FAULTSTORE_DEL		0x04
#define FAULTSTORE_LIST		0x08
#define FAULTSTORE_BATCH	0x10
#define FAULTSTORE_READS	(FAULTSTORE_GET | FAULTSTORE_LIST)
#define FAULTSTORE_WRITES	(FAULTSTORE_PUT | FAULTSTORE_DEL | \
				    FAULTSTORE_BATCH)
#define FAULTSTORE_ALL		(FAULTSTORE_READS | FAULTSTORE_WRITES)

/* Environment variable naming the arm file (see faultstore_open_env). */
#define FAULTSTORE_ENV		"COFFER_FAULT_ARM"

extern const struct storage_ops storage_fault_ops;

/*
 * Wrap inner, which the faultstore then owns (storage_close closes
 * both).  The faultstore starts unarmed.  armfile, if not NULL, is a
 * path checked before each call while unarmed: once a file is there,
 * it is read as a spec (faultstore_arm), removed, and arms the store;
 * counting starts with the next call.  CF_ENOMEM, leaving inner
 * untouched and *out unset.
 */
int	faultstore_wrap(struct storage *inner, const char *armfile,
	    struct storage **out) __attribute__((warn_unused_result));

/*
 * Open a backend with ops and conf, as storage_open does; if the
 * environment names an arm file (FAULTSTORE_ENV), wrap the store in a
 * faultstore that arms itself from that file.  The results of
 * ops->open, or CF_ENOMEM.
 */
int	faultstore_open_env(const struct storage_ops *,
	    const struct storage_conf *, struct storage **)
	    __attribute__((warn_unused_result));

/*
 * Parse a spec: "KINDS:N" or "KINDS:N+".  KINDS is "all", "reads",
 * "writes" or a comma-separated list of get, put, del, list and batch;
 * N (1 or more) picks the call to fail, counting calls of those kinds
 * from the moment of arming; "+" fails that call and every later one of
 * those kinds (a store that went away).  CF_EINVAL for anything else.
 */
int	faultstore_parse(const char *, unsigned int *mask, unsigned long *n,
	    int *sticky) __attribute__((warn_unused_result));

/*
 * Arm st (a faultstore) with a spec as above, restarting the count.
 * CF_EINVAL for a bad spec, which leaves the old arming.  Thread-safe.
 */
int	faultstore_arm(struct storage *, const char *)
	    __attribute__((warn_unused_result));

/* Stop failing calls; pass everything through again.  Thread-safe. */
void	faultstore_disarm(struct storage *);

/* Calls counted since arming, and calls failed since arming. */
unsigned long	faultstore_counted(struct storage *);
unsigned long	faultstore_failed(struct storage *);

#endif /* COFFER_BACKENDS_FAULTSTORE_H */
