/*
 * kv.h -- the KV secrets engine, version 1 (plain) and 2 (versioned).
 */
#ifndef COFFER_ENGINES_KV_H
#define COFFER_ENGINES_KV_H

/* Register the "kv" backend type; called once from modules.c. */
void	 kv_register(void);

#endif /* COFFER_ENGINES_KV_H */
