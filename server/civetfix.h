/*
 * civetfix.h -- civetweb 1.15's gaps, filled from outside (see
 * civetfix.c): the LIST method and the worker stack size.
 */
#ifndef COFFER_SERVER_CIVETFIX_H
#define COFFER_SERVER_CIVETFIX_H

/*
 * Rename civetweb's CONNECT method to LIST in its method table, so
 * Vault clients' LIST requests reach the handler; logged when the table
 * is not found.  Before mg_start.
 */
void	 civetfix_enable_list(void);

#endif /* COFFER_SERVER_CIVETFIX_H */
