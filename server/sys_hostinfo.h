/*
 * sys_hostinfo.h -- sys/host-info: the node's CPUs, disks, host and
 * memory as Vault reports them; see sys_hostinfo.c.
 */
#ifndef COFFER_SERVER_SYS_HOSTINFO_H
#define COFFER_SERVER_SYS_HOSTINFO_H

struct request;
struct response;

/*
 * Answer a read of sys/host-info in resp (other operations: 405).
 * Sections that cannot be read become warnings; CF_ENOMEM fails.
 */
int	 sys_hostinfo_get(struct request *, struct response *);

#endif /* COFFER_SERVER_SYS_HOSTINFO_H */
