/*
 * transit.h -- the transit secrets engine: encryption as a service.
 */
#ifndef COFFER_ENGINES_TRANSIT_H
#define COFFER_ENGINES_TRANSIT_H

/* Register the "transit" backend type; called once from modules.c. */
void	 transit_register(void);

#endif /* COFFER_ENGINES_TRANSIT_H */
