/*
 * sys.h -- the sys/ mount: a table of handlers that modules fill.
 *
 * Each module registers its sys/ paths at startup with sys_route()
 * (authenticated, through the ACL like any logical path) or with
 * router_raw() (the seal family, answered in every state).  sys.c owns
 * the table, the "system" backend that dispatches it, and the handlers
 * that belong to no other module: sys/health and sys/leader.
 */
#ifndef COFFER_SERVER_SYS_H
#define COFFER_SERVER_SYS_H

#include <stdio.h>

#include "router.h"

/*
 * Register a logical sys/ handler: path is relative to "sys/"
 * ("policies/acl"); prefix: also matches "path/...".  With exists, the
 * ACL sees create or update for PUT/POST.  Called before any thread.
 */
void	 sys_route(const char *path, int prefix, router_fn fn);

/* Print the logical sys/ routes ("sys sys/policy", a prefix with "/\*"). */
void	 sys_dump(FILE *);
/* The "system" backend and the raw sys/health and sys/leader routes. */
void	 sys_register(void);
/* Mount sys/ in the router (an unseal hook). */
int	 sys_mount(void);

#endif /* COFFER_SERVER_SYS_H */
