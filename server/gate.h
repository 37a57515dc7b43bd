/*
 * gate.h -- hold new connections until their request has arrived.
 *
 * civetweb 1.15 gives each connection a worker thread from accept()
 * until it closes, so a few hundred clients that connect and send
 * nothing, or send half a request and stall, hold every worker and
 * the server stops answering.  The gate accepts connections itself and
 * hands one to civetweb only once its request headers are complete (a
 * TLS connection: once its first bytes arrived).  Until then it costs
 * a descriptor and nothing else; it is closed after GATE_HEADER_TIMEOUT
 * seconds, and one client address holds at most GATE_PER_ADDR of them.
 *
 * How: civetweb's accept loop polls its listening sockets, then calls
 * accept().  This program defines poll() and accept(), so the dynamic
 * linker binds civetweb's calls here; for the listening sockets the
 * gate answers them from its queue of ready connections, and passes
 * every other call straight through.
 */
#ifndef COFFER_SERVER_GATE_H
#define COFFER_SERVER_GATE_H

#define GATE_HEADER_TIMEOUT	10	/* seconds to send the headers */
#define GATE_PER_ADDR		256	/* waiting connections per address */
#define GATE_MAX_WAITING	16384	/* waiting connections in all */

/*
 * Put the gate in front of civetweb's listening sockets: the descriptors
 * of the n listeners (tls[i] set for TLS ones).  Call after civetweb
 * started; CF_OK, or a cf_err (logged) and nothing changed.
 */
int	 gate_start(const int *fds, const int *tls, int n)
	    __attribute__((warn_unused_result));
/*
 * Close every waiting connection and hand the sockets back to civetweb
 * (before mg_stop); gate_free() after mg_stop, when civetweb's accept
 * thread has left poll().
 */
void	 gate_stop(void);
void	 gate_free(void);

#endif /* COFFER_SERVER_GATE_H */
