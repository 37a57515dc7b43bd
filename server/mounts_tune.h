/*
 * mounts_tune.h -- tuning and moving a mount already in the table:
 * sys/mounts/<path>/tune, sys/auth/<path>/tune (routed by mounts.c) and
 * sys/remount.
 */
#ifndef COFFER_SERVER_MOUNTS_TUNE_H
#define COFFER_SERVER_MOUNTS_TUNE_H

#include <jansson.h>

struct mount;
struct request;
struct response;

/*
 * A TTL field k of cfg as enable and tune take it: seconds, a duration
 * or "system" (0).  *present is 0 if it is absent, null or "".
 * CF_EINVAL if it is malformed or negative.
 */
int	 mounts_tune_ttl_parse(json_t *cfg, const char *k, long long *out,
	    int *present) __attribute__((warn_unused_result));
/* GET .../tune of mount m. */
int	 mounts_tune_read(struct response *, struct mount *m);
/* POST .../tune of mount m; auth is m's kind. */
int	 mounts_tune_write(struct request *, struct response *,
	    struct mount *m, int auth);
/* sys/remount: a secrets engine to a new path, its data kept. */
int	 mounts_tune_remount(struct request *, struct response *);

#endif /* COFFER_SERVER_MOUNTS_TUNE_H */
