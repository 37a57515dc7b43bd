/*
 * metrics.h -- counters, timers and the requests in flight, for
 * sys/metrics and sys/in-flight-req.
 *
 * http.c calls metrics_http_begin() when a request arrives and
 * metrics_http_end() when its answer is written.  Each worker thread
 * owns one in-flight slot, found through a thread-local pointer and
 * locked only by that thread and by a reader of sys/in-flight-req, so
 * the request path takes no shared lock; the counters are C11 atomics.
 * Names follow Vault's telemetry ("vault.core.handle_request"), with
 * dots turned into underscores in Prometheus text, as Vault's
 * Prometheus sink does.
 */
#ifndef COFFER_SERVER_METRICS_H
#define COFFER_SERVER_METRICS_H

#include <jansson.h>

#include "buf.h"

struct mg_connection;
struct response;

/* A request arrived on conn: note it in flight and start its clock. */
void	 metrics_http_begin(const struct mg_connection *);
/*
 * Its answer is written (status, the response it came from): count it
 * and its handling time, and take it out of flight.
 */
void	 metrics_http_end(int status, const struct response *);

/*
 * Let requests arriving on this local port read sys/metrics without a
 * token (the listener's telemetry { unauthenticated_metrics_access }).
 * At most 16 ports; safe while requests are served.
 */
void	 metrics_allow_port(int port);
/* 1 if the current thread's request came on such a port. */
int	 metrics_unauth_here(void);

/* Vault's JSON snapshot (Timestamp, Gauges, Points, Counters, Samples). */
int	 metrics_json(json_t **out) __attribute__((warn_unused_result));
/* The same metrics in Prometheus text exposition format 0.0.4. */
int	 metrics_prometheus(struct buf *) __attribute__((warn_unused_result));
/*
 * The requests in flight as sys/in-flight-req answers them: an object
 * keyed by a per-request UUID.
 */
int	 metrics_inflight(json_t **out) __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_METRICS_H */
