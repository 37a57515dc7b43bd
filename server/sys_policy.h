/*
 * sys_policy.h -- the sys/ endpoints of ACL policies (sys/policy,
 * sys/policies/acl, sys/capabilities*), over auth/policystore.
 */
#ifndef COFFER_SERVER_SYS_POLICY_H
#define COFFER_SERVER_SYS_POLICY_H

/* Register the routes on the sys/ mount; called once from modules.c. */
void	 sys_policy_register(void);

#endif /* COFFER_SERVER_SYS_POLICY_H */
