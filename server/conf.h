/*
 * conf.h -- the cofferd configuration: Vault-style HCL or JSON.
 *
 * conf_load() reads a file, or every *.hcl and *.json file of a
 * directory in name order, and merges it into a struct conf: later
 * scalars win, listeners accumulate, storage may be given once.  Every
 * error is reported as "FILE:LINE: message\n" into the caller's buffer;
 * a file with any error changes nothing.  conf_finish() checks the
 * merged result.  Not thread-safe; used from main only.
 */
#ifndef COFFER_SERVER_CONF_H
#define COFFER_SERVER_CONF_H

#include <stddef.h>

#include "conf_listener.h"

struct buf;
struct storage_kv;

#define CONF_DEFAULT_LEASE_TTL		(768LL * 3600)

struct conf {
	char			*storage_type;	/* "lmdb", ..., "postgresql" */
	char			*storage_path;
	int			 ha_enabled;
	/* The backend's own keys, checked by it; strings owned. */
	struct storage_kv	*storage_opts;
	size_t			 nstorage_opts;
	char			*storage_where;	/* "FILE:LINE" of the block */
	struct conf_listener	*listeners;
	size_t			 nlisteners;
	char			*api_addr;
	char			*cluster_addr;
	char			*cluster_name;
	char			*pid_file;
	int			 disable_mlock;
	int			 log_level;	/* enum log_level */
	int			 log_json;
	long long		 default_lease_ttl;	/* seconds */
	long long		 max_lease_ttl;
	int			 worker_threads;
};

/* Defaults; conf_free() releases what loading added. */
void	 conf_init(struct conf *);
void	 conf_free(struct conf *);
/* Read a file or directory into c.  CF_EINVAL with errs filled. */
int	 conf_load(struct conf *, const char *path, struct buf *errs)
	    __attribute__((warn_unused_result));
/*
 * Check the merged configuration as starting would: storage and a
 * listener present, at most CONF_MAX_LISTENERS, no address twice, one
 * TLS certificate and key, readable TLS files, a storage path that is
 * or can be made a directory.  Reads the file system, changes nothing;
 * every error is "FILE:LINE: message\n" in errs.
 */
int	 conf_finish(struct conf *, struct buf *errs)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_CONF_H */
