/*
 * sys_audit.h -- the sys/ endpoints of audit devices (sys/audit,
 * sys/audit-hash), over server/audit.c.
 */
#ifndef COFFER_SERVER_SYS_AUDIT_H
#define COFFER_SERVER_SYS_AUDIT_H

/*
 * Register the routes on the sys/ mount and the audit broker's hooks;
 * called once from sys_register().
 */
void	 sys_audit_register(void);

#endif /* COFFER_SERVER_SYS_AUDIT_H */
