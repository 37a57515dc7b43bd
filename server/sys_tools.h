/*
 * sys_tools.h -- introspection and utility endpoints of sys/:
 * sys/metrics, sys/host-info, sys/in-flight-req, sys/tools/random,
 * sys/tools/hash, sys/version-history, sys/internal/counters/requests
 * and the rekey backup paths.
 */
#ifndef COFFER_SERVER_SYS_TOOLS_H
#define COFFER_SERVER_SYS_TOOLS_H

/*
 * Register the routes above and the hook that records this version in
 * sys/version-history when a node becomes active.  Called once from
 * modules_register.
 */
void	 sys_tools_register(void);

#endif /* COFFER_SERVER_SYS_TOOLS_H */
