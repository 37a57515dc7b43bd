/*
 * http.c -- the HTTP front: civetweb's setup and the one handler.
 *
 * One civetweb handler serves every URI.  For each request it builds a
 * struct request (the client address, the token, the path, the body
 * through http_body.c, the parameters), lets router_handle() fill a
 * struct response, and writes that through http_reply.c, which owns
 * the headers and envelopes Vault clients check.  civetfix.c fills
 * civetweb's gaps (the LIST method, worker stacks); gate.c holds idle
 * connections away from the workers.
 *
 * Secrets: the token header is copied and then overwritten inside
 * civetweb's request buffer; bodies live in a struct buf that is wiped
 * when freed; response text is wiped after it is written.
 *
 * Threads: civetweb's workers call http_handler() concurrently; nothing
 * here is shared but the server's configuration, fixed before the
 * workers start, and the count of kept-alive connections (an atomic).
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <malloc.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <jansson.h>
#include <openssl/ssl.h>
#include <sodium.h>

#include "buf.h"
#include "cidr.h"
#include "err.h"
#include "civetfix.h"
#include "gate.h"
#include "http_body.h"
#include "http_reply.h"
#include "http.h"
#include "jsonmem.h"
#include "jsonutil.h"
#include "log.h"
#include "ha.h"
#include "ha_forward.h"
#include "metrics.h"
#include "req.h"
#include "reqparse.h"
#include "router.h"
#include "token.h"
#include "uuid4.h"

#define HTTP_MAX_LISTENERS	16
/* The seal family's bodies hold a key or a PGP key at most. */
#define HTTP_RAW_BODY_MAX	(1LL << 20)
#define STRINGIFY_(x)		#x
#define STRINGIFY(x)		STRINGIFY_(x)

struct http_server {
	struct mg_context	*ctx;
	struct http_listener	 listeners[HTTP_MAX_LISTENERS];
	atomic_int		 ports[HTTP_MAX_LISTENERS];
	size_t			 n;
	const char		*cert_file;	/* one TLS identity for all */
	const char		*key_file;
	atomic_int		 stopped;
	int			 workers;
	int			 gated;
};

/*
 * Keep-alive connections waiting for their next request each hold a
 * worker; at most half the workers do, so new clients always find one.
 * A connection counted here carries &kept_mark as its user data.
 */
static atomic_int	 kept;
static char		 kept_mark;

static int	 http_handler(struct mg_connection *, void *);
static int	 method_to_op(const char *, int *);

/*
 * civetweb answers requests it cannot parse (a bad request line, headers
 * too large, an unknown method, a bad Content-Length) by itself, in
 * text/plain, and 1.15 copies the request's version text into its status
 * line.  Answer them here instead: Vault's envelope, a status line and
 * text of our own with nothing taken from the request, and the
 * connection closed, since its framing cannot be trusted.
 */
static int
http_error(struct mg_connection *conn, int status, const char *msg)
{
	const struct mg_request_info	*ri;
	char				 out[512];
	const char			*text;
	int				 n, op;

	(void)msg;			/* it may quote the request */
	if (status < 400 || status > 599)
		status = 400;
	/*
	 * An unknown method is refused as a 400 before a handler runs;
	 * the API answers 405.  The method text, if civetweb got that far,
	 * is in the connection's own buffer.
	 */
	ri = mg_get_request_info(conn);
	if (status == 400 && ri != NULL && ri->request_method != NULL &&
	    method_to_op(ri->request_method, &op) != CF_OK &&
	    strspn(ri->request_method, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") ==
	    strlen(ri->request_method) && ri->request_method[0] != '\0')
		status = 405;
	log_debug("http: refused a malformed request: %d", status);
	text = status == 405 ? "unsupported operation" :
	    http_reason_phrase(status);
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "Content-Length: %zu\r\n\r\n"
	    "{\"errors\":[\"%s\"]}\n", status, http_reason_phrase(status),
	    strlen(text) + 16, text);
	if (n > 0 && (size_t)n < sizeof(out))
		mg_write(conn, out, (size_t)n);
	return 0;
}

static void
http_connection_close(const struct mg_connection *conn)
{
	if (mg_get_user_connection_data(conn) == &kept_mark)
		atomic_fetch_sub(&kept, 1);
}

/* Count this connection as kept alive, or close it after this answer. */
static void
keepalive_decide(const struct http_server *srv, struct mg_connection *conn)
{
	if (atomic_fetch_add(&kept, 1) < srv->workers / 2) {
		mg_set_user_connection_data(conn, &kept_mark);
		return;
	}
	atomic_fetch_sub(&kept, 1);
	http_close_after(conn);
}

/* Load Vault-style separate certificate and key files. */
static int
http_init_ssl(void *ssl_ctx, void *user_data)
{
	struct http_server	*srv = user_data;
	SSL_CTX			*sc = ssl_ctx;

	if (SSL_CTX_use_certificate_chain_file(sc, srv->cert_file) != 1) {
		log_warnx("http: cannot load tls_cert_file %s", srv->cert_file);
		return -1;
	}
	if (SSL_CTX_use_PrivateKey_file(sc, srv->key_file,
	    SSL_FILETYPE_PEM) != 1 || SSL_CTX_check_private_key(sc) != 1) {
		log_warnx("http: cannot load tls_key_file %s", srv->key_file);
		return -1;
	}
	SSL_CTX_set_min_proto_version(sc, TLS1_2_VERSION);
	return 1;
}

/*
 * Every request is ours to authorize (by its token, in the router).
 * Without this handler civetweb 1.15 looks for a ".htpasswd" file
 * before each request: one failed stat per request.
 */
static int
http_authorize(struct mg_connection *conn, void *arg)
{
	(void)conn;
	(void)arg;
	return 1;
}

static int
http_log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	log_debug("civetweb: %s", msg);
	return 1;
}

/*
 * Find civetweb's listening sockets by their ports and put the gate in
 * front of them (see gate.h).  Without it, idle connections can hold
 * every worker; that is logged, not fatal.
 */
static void
gate_listeners(struct http_server *srv)
{
	struct sockaddr_in	 sin;
	socklen_t		 len;
	int			 fds[HTTP_MAX_LISTENERS], tls[HTTP_MAX_LISTENERS];
	int			 fd, on, found = 0;
	size_t			 i;

	for (i = 0; i < srv->n; i++)
		fds[i] = -1;
	for (fd = 0; fd < 4096 && found < (int)srv->n; fd++) {
		len = sizeof(on);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) ==
		    -1 || !on)
			continue;
		len = sizeof(sin);
		if (getsockname(fd, (struct sockaddr *)&sin, &len) == -1 ||
		    sin.sin_family != AF_INET)
			continue;
		for (i = 0; i < srv->n; i++)
			if (fds[i] == -1 && atomic_load(&srv->ports[i]) ==
			    ntohs(sin.sin_port)) {
				fds[i] = fd;
				tls[i] = srv->listeners[i].tls;
				found++;
				break;
			}
	}
	if (found != (int)srv->n || gate_start(fds, tls, found) != CF_OK) {
		log_warnx("http: connections are not gated; idle clients "
		    "can hold workers");
		return;
	}
	srv->gated = 1;
}

/* The port in "host:port", or -1 for port 0 or none. */
static int
listener_port(const struct http_listener *l)
{
	const char	*colon = strrchr(l->address, ':'), *errstr;
	long long	 port;

	if (colon == NULL)
		return -1;
	port = strtonum(colon + 1, 1, 65535, &errstr);
	return port > 0 ? (int)port : -1;
}

/*
 * civetweb accepts as soon as mg_start2 has started its threads, before
 * http_start can register the handler; a request taken in between
 * would get civetweb's own 404.  Each request waits here until the
 * handler is in place (a few microseconds at most, once per process).
 */
static atomic_int	 handler_ready;

static int
http_begin_request(struct mg_connection *conn)
{
	(void)conn;
	while (!atomic_load(&handler_ready))
		(void)usleep(100);
	return 0;			/* go on to the handler */
}

int
http_start(const struct http_conf *hc, struct http_server **out)
{
	struct http_server	*srv = NULL;
	struct mg_callbacks	 cb;
	struct mg_init_data	 init;
	struct mg_error_data	 errd;
	struct mg_server_port	 ports[HTTP_MAX_LISTENERS];
	char			 errtxt[256], threads[16];
	struct buf		 lp = BUF_INIT;
	const char		*opts[24];
	size_t			 i;
	long long		 want;
	int			 np, rc = CF_EINVAL, o = 0, tls = 0;

	if (hc->nlisteners == 0 || hc->nlisteners > HTTP_MAX_LISTENERS) {
		log_warnx("http: between 1 and %d listeners are supported",
		    HTTP_MAX_LISTENERS);
		return CF_EINVAL;
	}
	if ((srv = calloc(1, sizeof(*srv))) == NULL)
		return CF_ENOMEM;
	srv->n = hc->nlisteners;
	for (i = 0; i < hc->nlisteners; i++) {
		srv->listeners[i] = hc->listeners[i];
		/* Known before the workers start, unless it is port 0. */
		atomic_init(&srv->ports[i], listener_port(&hc->listeners[i]));
		/* Room for two of the largest bodies ("no limit": no budget). */
		want = hc->listeners[i].max_request_size > (1LL << 40) ?
		    (1LL << 60) :
		    2 * HTTP_BODY_COST * hc->listeners[i].max_request_size;
		http_body_budget_at_least(want);
		if (i > 0 && buf_puts(&lp, ",") != CF_OK)
			goto nomem;
		if (buf_puts(&lp, hc->listeners[i].address) != CF_OK ||
		    (hc->listeners[i].tls && buf_puts(&lp, "s") != CF_OK))
			goto nomem;
		if (hc->listeners[i].tls) {
			if (tls && (strcmp(srv->cert_file,
			    hc->listeners[i].cert_file) != 0 ||
			    strcmp(srv->key_file,
			    hc->listeners[i].key_file) != 0)) {
				log_warnx("http: all TLS listeners must use "
				    "the same certificate and key");
				goto out;
			}
			tls = 1;
			srv->cert_file = hc->listeners[i].cert_file;
			srv->key_file = hc->listeners[i].key_file;
		}
	}
	if (tls && !mg_check_feature(2)) {
		log_warnx("http: this civetweb was built without TLS");
		goto out;
	}
	/* Read by workers from their first request: set before they run. */
	srv->workers = hc->worker_threads;
	snprintf(threads, sizeof(threads), "%d", hc->worker_threads);
	opts[o++] = "listening_ports";
	opts[o++] = lp.data;
	opts[o++] = "num_threads";
	opts[o++] = threads;
	opts[o++] = "enable_keep_alive";
	opts[o++] = "yes";
	/* The gate gives headers 10 s; this bounds each read after. */
	opts[o++] = "request_timeout_ms";
	opts[o++] = "30000";
	opts[o++] = "keep_alive_timeout_ms";
	opts[o++] = "5000";
	opts[o++] = "listen_backlog";
	opts[o++] = "1024";
	/* An answer is one write; no Nagle delay behind the one before. */
	opts[o++] = "tcp_nodelay";
	opts[o++] = "1";
	opts[o++] = "max_request_size";
	opts[o++] = STRINGIFY(HTTP_HEADER_BUF);
	opts[o] = NULL;

	memset(&cb, 0, sizeof(cb));
	cb.begin_request = http_begin_request;
	cb.log_message = http_log_message;
	cb.http_error = http_error;
	cb.connection_close = http_connection_close;
	if (tls)
		cb.init_ssl = http_init_ssl;
	memset(&init, 0, sizeof(init));
	init.callbacks = &cb;
	init.user_data = srv;
	init.configuration_options = opts;
	memset(&errd, 0, sizeof(errd));
	errtxt[0] = '\0';
	errd.text = errtxt;
	errd.text_buffer_size = sizeof(errtxt);

	civetfix_enable_list();
	/*
	 * Large bodies straight from mmap, and back to the system when
	 * freed: otherwise glibc keeps each worker's freed bodies in that
	 * worker's arena, and the budget above would not bound the
	 * process's memory.
	 */
	if (mallopt(M_MMAP_THRESHOLD, 1 << 20) != 1)
		log_warnx("http: cannot set malloc's mmap threshold");
	/* civetweb 1.15 leaves errd.code at 0 on port failures: test ctx. */
	if ((srv->ctx = mg_start2(&init, &errd)) == NULL) {
		log_warnx("http: cannot start listeners %s: %s", lp.data,
		    errtxt[0] != '\0' ? errtxt : "unknown error");
		/* See server/tlsshim.c: without it, this is the symptom. */
		if (tls)
			log_warnx("http: civetweb could not load OpenSSL; is "
			    "lib/coffer/tls/libssl.so installed beside "
			    "cofferd?");
		goto out;
	}
	mg_set_request_handler(srv->ctx, "/", http_handler, srv);
	mg_set_auth_handler(srv->ctx, "/", http_authorize, NULL);
	atomic_store(&handler_ready, 1);
	np = mg_get_server_ports(srv->ctx, HTTP_MAX_LISTENERS, ports);
	for (i = 0; np > 0 && i < (size_t)np && i < srv->n; i++) {
		atomic_store(&srv->ports[i], ports[i].port);
		log_info("listening on %.*s:%d%s",
		    (int)strcspn(srv->listeners[i].address, ":"),
		    srv->listeners[i].address, ports[i].port,
		    ports[i].is_ssl ? " (tls)" : "");
	}
	gate_listeners(srv);
	*out = srv;
	srv = NULL;
	rc = CF_OK;
	goto out;
 nomem:
	rc = CF_ENOMEM;
 out:
	buf_free(&lp);
	if (srv != NULL) {
		if (srv->ctx != NULL)
			mg_stop(srv->ctx);
		free(srv);
	}
	return rc;
}

/*
 * civetweb's accept loop polls its sockets in 2-second quanta before it
 * looks at the stop flag; a connection to each of our ports wakes it at
 * once, so stopping takes milliseconds instead of up to two seconds.
 */
static void *
wake_listeners(void *arg)
{
	struct http_server	*srv = arg;
	struct sockaddr_in	 sin;
	size_t			 i;
	int			 s, round;

	for (round = 0; round < 50 && !atomic_load(&srv->stopped); round++) {
		usleep(10000);
		for (i = 0; i < srv->n; i++) {
			if (srv->ports[i] <= 0 ||
			    (s = socket(AF_INET, SOCK_STREAM, 0)) == -1)
				continue;
			memset(&sin, 0, sizeof(sin));
			sin.sin_family = AF_INET;
			sin.sin_port = htons((uint16_t)srv->ports[i]);
			sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
			(void)connect(s, (struct sockaddr *)&sin, sizeof(sin));
			close(s);
		}
	}
	return NULL;
}

void
http_stop(struct http_server *srv)
{
	pthread_t	 waker;
	int		 have_waker;

	if (srv == NULL)
		return;
	if (srv->gated)
		gate_stop();
	have_waker = pthread_create(&waker, NULL, wake_listeners, srv) == 0;
	mg_stop(srv->ctx);
	gate_free();
	atomic_store(&srv->stopped, 1);
	if (have_waker)
		pthread_join(waker, NULL);
	free(srv);
}

int
http_port(const struct http_server *srv, size_t i)
{
	return i < srv->n ? atomic_load(&srv->ports[i]) : -1;
}

/* Body limit of the listener a request came in on. */
static long long
body_limit(const struct http_server *srv, int port)
{
	size_t	 i;

	for (i = 0; i < srv->n; i++)
		if (atomic_load(&srv->ports[i]) == port)
			return srv->listeners[i].max_request_size;
	return srv->listeners[0].max_request_size;
}

/* The listener a request came in on, by its local port. */
static const struct http_listener *
listener_for(const struct http_server *srv, int port)
{
	size_t	 i;

	for (i = 0; i < srv->n; i++)
		if (atomic_load(&srv->ports[i]) == port)
			return &srv->listeners[i];
	return &srv->listeners[0];
}

/*
 * The client address, once per request, as Vault's listener decides
 * it: the TCP peer, unless the listener trusts the peer for
 * X-Forwarded-For.  Then every header line, split on commas and
 * trimmed, is one chain; the entry x_forwarded_for_hop_skips from its
 * end replaces the host, and the peer's port is kept.  The entry is
 * not checked to be an IP: a name there fails every CIDR check later.
 * CF_EINVAL with a 400 in resp where the listener says to reject.
 */
static int
client_address(const struct http_server *srv,
    const struct mg_request_info *ri, struct request *req,
    struct response *resp)
{
	const struct http_listener	*l;
	const char			*v, *p, *q, *pick = NULL;
	unsigned char			 a[16];
	size_t				 i, k, lines = 0, count = 0, plen = 0;
	long long			 idx;
	int				 found = 0;

	req->remote_addr = ri->remote_addr;
	req->remote_port = ri->remote_port;
	l = listener_for(srv, ri->server_port);
	if (l->nxff_addrs == 0)
		return CF_OK;
	for (i = 0; i < (size_t)ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") == 0)
			lines++;
	if (lines == 0) {
		if (!l->xff_reject_not_present)
			return CF_OK;
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "missing x-forwarded-for "
		    "header and configured to reject when not present");
	}
	if (cidr_ip(ri->remote_addr, a) == 0) {
		if (!l->xff_reject_not_present)
			return CF_OK;
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "error parsing client "
		    "address: %s", ri->remote_addr);
	}
	for (k = 0; k < l->nxff_addrs && !found; k++)
		found = cidr_contains(&l->xff_addrs[k], ri->remote_addr);
	if (!found) {
		if (!l->xff_reject_not_authorized)
			return CF_OK;
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "client address not "
		    "authorized for x-forwarded-for and configured to reject "
		    "connection");
	}
	for (i = 0; i < (size_t)ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") == 0)
			for (v = ri->http_headers[i].value; v != NULL;
			    v = strchr(v, ',') != NULL ? strchr(v, ',') + 1 :
			    NULL)
				count++;
	idx = (long long)count - 1 - l->xff_hop_skips;
	if (idx < 0) {
		resp->status = 400;
		return resp_fail(resp, CF_EINVAL, "malformed x-forwarded-for "
		    "configuration or request, hops to skip (%d) would skip "
		    "before earliest chain link (chain length %zu)",
		    l->xff_hop_skips, lines);
	}
	count = 0;
	for (i = 0; i < (size_t)ri->num_headers && pick == NULL; i++) {
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") != 0)
			continue;
		for (v = ri->http_headers[i].value; v != NULL; v = q) {
			p = strchr(v, ',');
			q = p != NULL ? p + 1 : NULL;
			if ((long long)count++ != idx)
				continue;
			plen = p != NULL ? (size_t)(p - v) : strlen(v);
			while (plen > 0 && (*v == ' ' || *v == '\t')) {
				v++;
				plen--;
			}
			while (plen > 0 && (v[plen - 1] == ' ' ||
			    v[plen - 1] == '\t'))
				plen--;
			pick = v;
			break;
		}
	}
	if (pick == NULL)
		return CF_OK;
	if (plen >= sizeof(req->remote_buf))
		plen = sizeof(req->remote_buf) - 1;
	memcpy(req->remote_buf, pick, plen);
	req->remote_buf[plen] = '\0';
	req->remote_addr = req->remote_buf;
	return CF_OK;
}

/*
 * Take the token from X-Vault-Token, else "Authorization: Bearer".  The
 * header value inside civetweb's buffer is overwritten after the copy:
 * that buffer is reused without wiping (our one const cast).
 */
static int
take_token(struct mg_connection *conn, struct request *req)
{
	const char	*v;
	size_t		 len;

	v = mg_get_header(conn, "X-Vault-Token");
	if (v == NULL || *v == '\0') {
		v = mg_get_header(conn, "Authorization");
		if (v != NULL && strncasecmp(v, "Bearer ", 7) == 0) {
			sodium_memzero((char *)(uintptr_t)v, 7);
			v += 7;
		} else
			v = NULL;
	}
	if (v == NULL)
		return CF_OK;
	len = strlen(v);
	if (len > 0) {
		if ((req->token = malloc(len + 1)) == NULL)
			return CF_ENOMEM;
		memcpy(req->token, v, len + 1);
	}
	sodium_memzero((char *)(uintptr_t)v, len);
	return CF_OK;
}

static int
method_to_op(const char *m, int *op)
{
	if (strcmp(m, "GET") == 0)
		*op = REQ_READ;
	else if (strcmp(m, "HEAD") == 0)
		*op = REQ_HEAD;
	else if (strcmp(m, "PUT") == 0 || strcmp(m, "POST") == 0)
		*op = REQ_UPDATE;
	else if (strcmp(m, "DELETE") == 0)
		*op = REQ_DELETE;
	else if (strcmp(m, "LIST") == 0)
		*op = REQ_LIST;
	else if (strcmp(m, "PATCH") == 0)
		*op = REQ_PATCH;
	else
		return CF_EMETHOD;
	return CF_OK;
}

static void
request_fini(struct request *req)
{
	if (req->token != NULL) {
		sodium_memzero(req->token, strlen(req->token));
		free(req->token);
	}
	free(req->path);
	json_decref(req->data);
	buf_free(&req->body);
}

/*
 * A request id: a random (version 4) UUID, as uuid4_random() makes,
 * but with its bytes taken from a per-thread pool refilled every 64
 * requests, so a request costs no getrandom() call.  Request ids are
 * not secrets; what was used is wiped all the same.
 */
#define REQ_ID_POOL	(16 * 64)

static void
request_id(char *out)
{
	static _Thread_local unsigned char	 pool[REQ_ID_POOL];
	static _Thread_local size_t		 used = REQ_ID_POOL;

	if (used == REQ_ID_POOL) {
		randombytes_buf(pool, sizeof(pool));
		used = 0;
	}
	uuid4_format(pool + used, out);
	sodium_memzero(pool + used, 16);
	used += 16;
}

static long long
elapsed_us(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000LL +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

/*
 * How many bytes the raw URI took in civetweb's buffer: up to the '?'
 * of the query, else up to the space before "HTTP/".  civetweb decodes
 * the URI in place there, so reqparse_path can find a NUL an escape
 * hid.  Falls back to the decoded length when the layout is not that.
 */
static size_t
raw_uri_len(const struct mg_request_info *ri)
{
	const char	*u = ri->request_uri, *end = NULL;
	size_t		 len = strlen(u);

	if (ri->query_string != NULL && ri->query_string > u)
		end = ri->query_string - 1;
	else if (ri->http_version != NULL && ri->http_version > u + 6 &&
	    strncmp(ri->http_version - 5, "HTTP/", 5) == 0)
		end = ri->http_version - 6;
	if (end == NULL || end < u + len || end - u > HTTP_HEADER_BUF)
		return len;
	return (size_t)(end - u);
}

static int
http_handler(struct mg_connection *conn, void *arg)
{
	const struct http_server	*srv = arg;
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	struct request			 req;
	struct response			 resp;
	struct timespec			 t0;
	const char			*v;
	long long			 limit, held = 0;
	int				 rc, status, as_list = 0, raw = 0, i;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	metrics_http_begin(conn);
	http_reply_start();
	/* A kept connection is busy again. */
	if (mg_get_user_connection_data(conn) == &kept_mark) {
		mg_set_user_connection_data(conn, NULL);
		atomic_fetch_sub(&kept, 1);
	}
	jsonmem_reset();
	memset(&req, 0, sizeof(req));
	resp_init(&resp);
	buf_init(&req.body);
	request_id(req.id);
	req.method = ri->request_method;
	req.query = ri->query_string;
	req.content_type = mg_get_header(conn, "Content-Type");
	req.ns = mg_get_header(conn, "X-Vault-Namespace");
	req.no_forward = (v = mg_get_header(conn,
	    "X-Vault-No-Request-Forwarding")) != NULL && *v != '\0';
	req.forwarded = mg_get_header(conn, REQ_FORWARDED_HEADER) != NULL;
	for (i = 0; i < ri->num_headers && i < REQ_HEADERS_MAX; i++) {
		req.headers[i].name = ri->http_headers[i].name;
		req.headers[i].value = ri->http_headers[i].value;
	}
	req.nheaders = i;
	req.wrap_hdr = mg_get_header(conn, "X-Vault-Wrap-TTL");

	rc = client_address(srv, ri, &req, &resp);
	if (rc != CF_OK)
		goto done;
	if ((rc = take_token(conn, &req)) != CF_OK)
		goto done;
	if ((rc = reqparse_path(&req, &resp, ri->request_uri,
	    raw_uri_len(ri))) != CF_OK)
		goto done;
	if (req.forwarded && (v = mg_get_header(conn, HA_CLIENT_HEADER)) !=
	    NULL)
		ha_forwarded_client(&req, v);
	if ((rc = method_to_op(req.method, &req.op)) != CF_OK) {
		resp.err_empty = 1;
		goto done;
	}
	if ((req.data = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto done;
	}
	limit = body_limit(srv, ri->server_port);
	if (http_has_body(conn, ri)) {
		/* What cannot succeed is refused before its body is read. */
		if ((rc = router_precheck(&req, &resp, &raw)) != CF_OK)
			goto done;
		if (raw && limit > HTTP_RAW_BODY_MAX)
			limit = HTTP_RAW_BODY_MAX;
		if ((rc = http_read_body(conn, ri, &req, limit, &held,
		    &resp)) != CF_OK)
			goto done;
		http_wipe_body_remnant(ri, &req.body);
		if ((rc = reqparse_body(&req, &resp)) != CF_OK)
			goto done;
	} else
		req.body_empty = 1;
	if (req.op == REQ_READ || req.op == REQ_HEAD ||
	    req.op == REQ_DELETE || req.op == REQ_LIST) {
		if ((rc = reqparse_query(&req, &resp, &as_list)) != CF_OK)
			goto done;
		if (as_list && req.op == REQ_READ)
			req.op = REQ_LIST;
	}
	if (req.op == REQ_PATCH && (req.content_type == NULL ||
	    strncasecmp(req.content_type, "application/merge-patch+json",
	    28) != 0)) {
		resp.status = 415;
		rc = resp_fail(&resp, CF_EINVAL, "PATCH requires Content-Type "
		    "of application/merge-patch+json, provided %s",
		    req.content_type != NULL ? req.content_type : "");
		goto done;
	}
	rc = router_handle(&req, &resp);
 done:
	/* A JSON allocation failed: what was built may lack members. */
	if (jsonmem_failed() && rc != CF_ENOMEM) {
		resp_fini(&resp);
		resp_init(&resp);
		rc = CF_ENOMEM;
	}
	/* A body left unread is not drained: the connection closes. */
	if (rc != CF_OK && http_has_body(conn, ri) && req.body.len == 0 &&
	    (ri->content_length < 0 || ri->content_length > HTTP_DRAIN_MAX))
		http_close_after(conn);
	else
		keepalive_decide(srv, conn);
	status = http_reply(conn, &req, rc, &resp);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("request %s %s %s%s %d %lldus", req.id, req.method,
		    req.path != NULL ? "/v1/" : "-",
		    req.path != NULL ? req.path : "", status,
		    elapsed_us(&t0));
	metrics_http_end(status, &resp);
	request_fini(&req);
	resp_fini(&resp);
	http_body_give(held);
	return status;
}
