/*
 * sys_rekey.h -- the HTTP handlers of sys/generate-root/... and
 * sys/rekey/... (its verification included), with their share
 * collections.
 */
#ifndef COFFER_SERVER_SYS_REKEY_H
#define COFFER_SERVER_SYS_REKEY_H

/* Register the routes above.  Called once from seal_register. */
void	 sys_rekey_register(void);

/*
 * Forget a root generation and a rekey in progress, their OTP and the
 * rekey's new key (wiped); with release, free the share regions too
 * (on seal).  Takes keys_lock.
 */
void	 sys_rekey_forget(int);

#endif /* COFFER_SERVER_SYS_REKEY_H */
