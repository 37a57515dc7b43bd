/*
 * modules.h -- wiring: which modules cofferd is made of.
 *
 * modules_register() calls every module's registration (routes,
 * backend types) and installs the unseal and seal hooks in their order.
 * It runs once from main, before any thread.
 */
#ifndef COFFER_SERVER_MODULES_H
#define COFFER_SERVER_MODULES_H

void	 modules_register(void);

#endif /* COFFER_SERVER_MODULES_H */
