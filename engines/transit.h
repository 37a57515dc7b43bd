/*
 * transit.h -- the transit secrets engine: encryption as a service.
 *
 * Only the registration is public; mounts reach the engine through its
 * struct backend_ops (router.h).  Its keys are cached per mount and
 * wiped when the mount closes (unmount, seal, stop); see transit.c.
 */
#ifndef COFFER_ENGINES_TRANSIT_H
#define COFFER_ENGINES_TRANSIT_H

/*
 * Register the "transit" backend type; called once from
 * modules.c at startup, before any thread.
 */
void	 transit_register(void);

#endif /* COFFER_ENGINES_TRANSIT_H */
