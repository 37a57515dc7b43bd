/*
 * kvmount.h -- the KV mount a kv command's path lies in, its version,
 * and version 2's path rewriting; see kvmount.c.
 */
#ifndef COFFER_CLI_KVMOUNT_H
#define COFFER_CLI_KVMOUNT_H

#include "cli.h"

struct kvctx {
	struct client	*c;
	char		*mount;		/* "secret/" or "" */
	char		*path;		/* the argument, mount included */
	int		 v2;
};

/*
 * Build the client and find the mount of arg (under mountflag when
 * that is set), slashes trimmed (the trailing one kept when
 * keep_trailing).  0 when ready, else the exit status (printed); k is
 * for kvmount_end either way.
 */
int	 kvmount_begin(struct cli *, struct kvctx *k, const char *arg,
	    const char *mountflag, int keep_trailing);
/*
 * The start of a command on one path that -mount may stand in for:
 * parse fl, take at most one argument (none only with *mount set),
 * then kvmount_begin.  With v2only, a version 1 mount is refused with
 * "<v2only> not supported on KV Version 1".  0, or the exit status
 * (printed); k is for kvmount_end either way.
 */
int	 kvmount_one(struct cli *, struct flag *fl, const char *const *mount,
	    int argc, char **argv, const char *v2only, struct kvctx *k);
void	 kvmount_end(struct kvctx *);
/* <mount>/<seg>/<rest of path>, duplicate slashes removed; owned. */
char	*kvmount_rewrite(struct kvctx *, const char *seg);

#endif /* COFFER_CLI_KVMOUNT_H */
