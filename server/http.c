/*
 * http.c -- the HTTP front: civetweb, request parsing, Vault's envelopes.
 *
 * One civetweb handler serves every URI.  For each request it builds a
 * struct request, lets router_handle() fill a struct response, and
 * writes that with exactly the headers Vault clients check:
 * "Content-Type: application/json" with no charset (hvac compares the
 * string before it reads "errors"), "Cache-Control: no-store", and one
 * JSON document followed by a newline.
 *
 * Secrets: the token header is copied and then overwritten inside
 * civetweb's request buffer; bodies live in a struct buf that is wiped
 * when freed; response text is wiped after it is written.  Body bytes
 * that civetweb read ahead into its own per-connection buffer are not
 * reachable from here and stay there until the next request overwrites
 * them (documented in cofferd(8)).
 *
 * Threads: civetweb's workers call http_handler() concurrently; nothing
 * here is shared except the immutable server configuration.
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
#include "gate.h"
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
#define HTTP_HEADER_BUF		16384	/* civetweb's request buffer */
/* The seal family's bodies hold a key or a PGP key at most. */
#define HTTP_RAW_BODY_MAX	(1LL << 20)
/* A refused body up to this size is drained to keep the connection. */
#define HTTP_DRAIN_MAX		16384
/*
 * Memory for request bodies in flight together, unless a listener allows
 * more.  A body is charged HTTP_BODY_COST times its size: its text, the
 * parsed JSON, and what a handler derives from it (the stored copy and
 * its ciphertext for a KV write).
 */
#define HTTP_BODY_BUDGET	(512LL << 20)
#define HTTP_BODY_COST		4
#define HTTP_BUDGET_WAIT_MS	10000
/*
 * Worker stacks.  Debian's civetweb is built with 100 KiB stacks; every
 * client document nests at most REQ_JSON_MAX_DEPTH deep, and each level
 * costs the JSON walkers well under 1 KiB (several under the
 * sanitizers), so 512 KiB leaves a wide margin.
 */
#define HTTP_WORKER_STACK	(512 * 1024)
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
static const char *reason_phrase(int);

/*
 * Request bodies being read and parsed share one budget, so a burst of
 * large requests cannot take memory without bound: a request waits up
 * to HTTP_BUDGET_WAIT_MS for room, then gets a 503.  The fast path is
 * one atomic add; the mutex and condition are for waiters only.
 */
static atomic_llong	 budget_used;
static long long	 budget_max = HTTP_BODY_BUDGET;	/* set at start */
static atomic_int	 budget_waiters;
static pthread_mutex_t	 budget_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 budget_cv = PTHREAD_COND_INITIALIZER;

/*
 * civetweb 1.15 refuses any method missing from its own table before a
 * handler can see the request, and Vault clients (hvac, node-vault, the
 * vault CLI) send "LIST".  The table is a static array of
 * { name, flags } in the library's relocated read-only data; we find it
 * by its first entries ("GET", "POST", "PUT") and rename the "CONNECT"
 * slot, a method no Vault API uses, to "LIST".  The flags are unused
 * for requests that reach a handler.  If the table is not found (a
 * different civetweb), LIST stays refused and clients can use
 * "GET ?list=true"; we log that.
 */
struct cw_method {
	const char	*name;
	int		 flags[5];
};

static int	 list_enabled;

static int
is_str_at(const char *p, const char *s)
{
	return p != NULL && strcmp(p, s) == 0;
}

static int
patch_methods(struct dl_phdr_info *info, size_t size, void *arg)
{
	static const char	 list_name[] = "LIST";
	uintptr_t		 lo, hi, a, page;
	long			 pagesz = sysconf(_SC_PAGESIZE);
	int			 i, j;

	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, "civetweb") ==
	    NULL)
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_R) == 0)
			continue;
		lo = info->dlpi_addr + ph->p_vaddr;
		hi = lo + ph->p_memsz;
		lo = (lo + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
		for (a = lo; a + 8 * sizeof(struct cw_method) <= hi;
		    a += sizeof(void *)) {
			struct cw_method *m = (struct cw_method *)a;
			uintptr_t	  p0 = (uintptr_t)m[0].name;

			/* Only follow pointers into this library. */
			if (p0 < info->dlpi_addr || p0 > hi + (1 << 24))
				continue;
			if (!is_str_at(m[0].name, "GET") ||
			    !is_str_at(m[1].name, "POST") ||
			    !is_str_at(m[2].name, "PUT"))
				continue;
			for (j = 0; j < 12 && m[j].name != NULL; j++) {
				if (!is_str_at(m[j].name, "CONNECT"))
					continue;
				page = (uintptr_t)&m[j] & ~((uintptr_t)pagesz - 1);
				if (mprotect((void *)page, (size_t)pagesz * 2,
				    PROT_READ | PROT_WRITE) == -1)
					return 0;
				m[j].name = list_name;
				mprotect((void *)page, (size_t)pagesz * 2,
				    PROT_READ);
				list_enabled = 1;
				return 1;
			}
			return 0;
		}
	}
	return 0;
}

static void
enable_list_method(void)
{
	dl_iterate_phdr(patch_methods, NULL);
	if (!list_enabled)
		log_warnx("http: civetweb refuses the LIST method; "
		    "clients must use GET ?list=true");
}

/*
 * civetweb 1.15 sizes its threads' stacks with a compile-time constant
 * (100 KiB in Debian's build) and has no option for it.  It sets that
 * size with pthread_attr_setstacksize(), which this program defines, so
 * the dynamic linker binds civetweb's call here: no thread in the
 * process gets less than HTTP_WORKER_STACK.
 */
int
pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
	static int	(*real)(pthread_attr_t *, size_t);
	int		(*fn)(pthread_attr_t *, size_t);

	if ((fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE)) == NULL) {
		*(void **)&fn = dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
		if (fn == NULL)
			return EINVAL;
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	return fn(attr, size < HTTP_WORKER_STACK ? HTTP_WORKER_STACK : size);
}

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
	    reason_phrase(status);
	n = snprintf(out, sizeof(out), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n"
	    "Connection: close\r\n"
	    "Content-Length: %zu\r\n\r\n"
	    "{\"errors\":[\"%s\"]}\n", status, reason_phrase(status),
	    strlen(text) + 16, text);
	if (n > 0 && (size_t)n < sizeof(out))
		mg_write(conn, out, (size_t)n);
	return 0;
}

/*
 * Close the connection after this answer.  The answer's Connection
 * header must say so, and civetweb 1.15 cannot be asked, so the worker
 * notes it (a worker serves one request at a time).
 */
static _Thread_local int	 closing;

static void
close_after(struct mg_connection *conn)
{
	closing = 1;
	mg_disable_connection_keep_alive(conn);
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
	close_after(conn);
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
		if (want > budget_max)
			budget_max = want;
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

	enable_list_method();
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

static void
body_budget_give(long long n)
{
	if (n <= 0)
		return;
	atomic_fetch_sub(&budget_used, n);
	if (atomic_load(&budget_waiters) > 0) {
		if (pthread_mutex_lock(&budget_mu) != 0)
			abort();
		pthread_cond_broadcast(&budget_cv);
		if (pthread_mutex_unlock(&budget_mu) != 0)
			abort();
	}
}

static int
body_budget_try(long long n)
{
	if (atomic_fetch_add(&budget_used, n) + n <= budget_max)
		return 1;
	atomic_fetch_sub(&budget_used, n);
	return 0;
}

static int
body_budget_take(long long n)
{
	struct timespec	 until;
	int		 ok, rc = 0;

	if (body_budget_try(n))
		return 1;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += HTTP_BUDGET_WAIT_MS / 1000;
	if (pthread_mutex_lock(&budget_mu) != 0)
		abort();
	atomic_fetch_add(&budget_waiters, 1);
	while (!(ok = body_budget_try(n)) && rc == 0)
		rc = pthread_cond_timedwait(&budget_cv, &budget_mu, &until);
	atomic_fetch_sub(&budget_waiters, 1);
	if (pthread_mutex_unlock(&budget_mu) != 0)
		abort();
	return ok;
}

/*
 * Read the whole body into req->body, up to limit bytes, holding *held
 * bytes of the budget (the caller gives them back).
 */
static int
read_body(struct mg_connection *conn, const struct mg_request_info *ri,
    struct request *req, long long limit, long long *held,
    struct response *resp)
{
	char		 chunk[16384];
	long long	 more;
	int		 n, rc = CF_OK;

	if (ri->content_length > limit) {
		/* Keep-alive off, or civetweb drains a body we refused. */
		close_after(conn);
		return resp_fail(resp, CF_ETOOBIG,
		    "http: request body too large");
	}
	more = HTTP_BODY_COST * (ri->content_length > 0 ?
	    ri->content_length : 65536);
	if (!body_budget_take(more)) {
		close_after(conn);
		return resp_fail(resp, CF_EUNAVAIL, "server is busy with other "
		    "large requests; retry later");
	}
	*held = more;
	if (ri->content_length > 0 &&
	    buf_reserve(&req->body, (size_t)ri->content_length) != CF_OK)
		return CF_ENOMEM;
	for (;;) {
		n = mg_read(conn, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if ((long long)(req->body.len + (size_t)n) > limit) {
			close_after(conn);
			rc = resp_fail(resp, CF_ETOOBIG,
			    "http: request body too large");
			break;
		}
		/* A chunked body takes its budget as it grows. */
		if (HTTP_BODY_COST * (long long)(req->body.len + (size_t)n) >
		    *held) {
			more = *held;
			if (!body_budget_take(more)) {
				close_after(conn);
				rc = resp_fail(resp, CF_EUNAVAIL, "server is busy "
				    "with other large requests; retry later");
				break;
			}
			*held += more;
		}
		if ((rc = buf_append(&req->body, chunk, (size_t)n)) != CF_OK)
			break;
	}
	sodium_memzero(chunk, sizeof(chunk));
	if (rc == CF_OK && n < 0)
		rc = resp_fail(resp, CF_EINVAL, "error reading body");
	return rc;
}

/*
 * civetweb 1.15 reads the first body bytes into its per-worker request
 * buffer together with the headers, and never wipes that buffer.  The
 * header pointers it hands out point into that buffer, so we can reach
 * it: the body starts right after the last header line.  Wipe the bytes
 * there that match the body we read, staying inside the buffer, whose
 * size is the "max_request_size" option we set (HTTP_HEADER_BUF).
 */
static void
wipe_body_remnant(const struct mg_request_info *ri, const struct buf *body)
{
	const char	*start = ri->request_method, *end = start, *v, *limit;
	char		*p;
	size_t		 n, i;
	int		 h;

	if (body->len == 0 || start == NULL)
		return;
	limit = start + HTTP_HEADER_BUF - 16;
	for (h = 0; h < ri->num_headers; h++) {
		v = ri->http_headers[h].value;
		if (v != NULL && v >= start && v < limit &&
		    v + strlen(v) > end)
			end = v + strlen(v);
	}
	/* Past the line ends civetweb left as NULs or CR/LF. */
	for (i = 0; i < 4 && end < limit && (*end == '\0' || *end == '\r' ||
	    *end == '\n'); i++)
		end++;
	p = (char *)(uintptr_t)end;
	for (n = 0; n < body->len && p + n < limit &&
	    p[n] == body->data[n]; n++)
		;
	sodium_memzero(p, n);
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

/* Copy data's members to the top of env (sys/mounts and friends). */
static int
inject_data(json_t *env, json_t *data)
{
	const char	*k;
	json_t		*v;

	json_object_foreach(data, k, v)
		if (json_object_set(env, k, v) != 0)
			return CF_ENOMEM;
	return CF_OK;
}

static json_t *
envelope(const struct request *req, struct response *resp)
{
	json_t	*env;

	if ((env = json_object()) == NULL)
		return NULL;
	if (resp->inject && resp->data != NULL &&
	    inject_data(env, resp->data) != CF_OK)
		goto fail;
	/* A wrapped answer has no request id (Vault's). */
	if (json_object_set_new(env, "request_id",
	    json_string(resp->wrap_info != NULL ? "" : req->id)) ||
	    json_object_set_new(env, "lease_id",
	    json_string(resp->lease_id)) ||
	    json_object_set_new(env, "renewable",
	    json_boolean(resp->renewable)) ||
	    json_object_set_new(env, "lease_duration",
	    json_integer(resp->lease_duration)) ||
	    json_object_set(env, "data",
	    resp->data != NULL ? resp->data : json_null()) ||
	    json_object_set(env, "wrap_info",
	    resp->wrap_info != NULL ? resp->wrap_info : json_null()) ||
	    json_object_set(env, "warnings",
	    resp->warnings != NULL ? resp->warnings : json_null()) ||
	    json_object_set(env, "auth",
	    resp->auth != NULL ? resp->auth : json_null()))
		goto fail;
	return env;
 fail:
	json_decref(env);
	return NULL;
}

/*
 * Responses go out in one write: the status line, the headers and the
 * body from one buffer.  The body is emitted HTTP_HEAD_ROOM bytes (plus
 * the namespace's length) into its struct buf; the head is then written
 * into that room, ending where the body starts, so nothing is copied
 * and a large body goes out from where it was emitted.  buf_free()
 * wipes the whole buffer, head and body.
 *
 * civetweb 1.15 does not look at what a handler writes with mg_write():
 * it keeps the connection if should_keep_alive() holds (keep-alive not
 * disabled, and the client's Connection header asks for it, or HTTP/1.1
 * without one) and the request was read to its end, which it ensures by
 * draining an unread body unless keep-alive was disabled.  The head
 * says keep-alive only when that is certain; every other answer says
 * close and disables keep-alive, so the header and what civetweb does
 * agree.  The status line is our own: "HTTP/1.1" and a fixed reason,
 * nothing from the request.
 */
#define HTTP_HEAD_ROOM	256	/* the head without X-Vault-Namespace */

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200:
		return "OK";
	case 201:
		return "Created";
	case 202:
		return "Accepted";
	case 204:
		return "No Content";
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 405:
		return "Method Not Allowed";
	case 408:
		return "Request Timeout";
	case 409:
		return "Conflict";
	case 411:
		return "Length Required";
	case 412:
		return "Precondition Failed";
	case 413:
		return "Request Entity Too Large";
	case 414:
		return "URI Too Long";
	case 415:
		return "Unsupported Media Type";
	case 417:
		return "Expectation Failed";
	case 421:
		return "Misdirected Request";
	case 429:
		return "Too Many Requests";
	case 431:
		return "Request Header Fields Too Large";
	case 500:
		return "Internal Server Error";
	case 501:
		return "Not Implemented";
	case 502:
		return "Bad Gateway";
	case 503:
		return "Service Unavailable";
	case 505:
		return "HTTP Version Not Supported";
	}
	switch (status / 100) {
	case 1:
		return "Information";
	case 2:
		return "Success";
	case 3:
		return "Redirection";
	case 4:
		return "Client Error";
	case 5:
		return "Server Error";
	default:
		return "";
	}
}

/* RFC 9110's IMF-fixdate for now, formatted once a second per thread. */
static const char *
http_date(void)
{
	static const char		 days[] = "SunMonTueWedThuFriSat";
	static const char		 months[] =
	    "JanFebMarAprMayJunJulAugSepOctNovDec";
	static _Thread_local time_t	 last = -1;
	static _Thread_local char	 text[64];
	struct tm			 tm;
	time_t				 now = time(NULL);

	if (now == last || gmtime_r(&now, &tm) == NULL)
		return text;
	snprintf(text, sizeof(text), "%.3s, %02d %.3s %04d %02d:%02d:%02d GMT",
	    days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
	    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
	last = now;
	return text;
}

/* 1 if the comma-separated list s has the token tok, in any case. */
static int
has_token(const char *s, const char *tok)
{
	size_t	 len, tlen = strlen(tok);

	while (*s != '\0') {
		s += strspn(s, " \t,");
		len = strcspn(s, ",");
		while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
			len--;
		if (len == tlen && strncasecmp(s, tok, tlen) == 0)
			return 1;
		s += strcspn(s, ",");
	}
	return 0;
}

/*
 * Whether civetweb keeps this connection after the answer; if it might
 * not, make sure it does not.
 */
static int
keepalive_final(struct mg_connection *conn)
{
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	const char			*c = mg_get_header(conn, "Connection");
	int				 keep = !closing;

	if (keep) {
		if (c != NULL)
			keep = has_token(c, "keep-alive") &&
			    !has_token(c, "close");
		else
			keep = ri->http_version != NULL &&
			    strcmp(ri->http_version, "1.1") == 0;
	}
	if (!keep)
		close_after(conn);
	return keep;
}

static char *
head_put(char *p, const char *s, size_t len)
{
	memcpy(p, s, len);
	return p + len;
}

#define HEAD_PUTS(p, s)	head_put((p), (s), sizeof(s) - 1)

/*
 * Write the head for a body of blen bytes into dst, which has room for
 * HTTP_HEAD_ROOM bytes and the namespace; its length.
 */
static size_t
head_emit(char *dst, int status, const char *ns, size_t nslen, int keep,
    size_t blen)
{
	char		 num[24], *p = dst, *q;
	const char	*s;

	if (status < 100 || status > 999)
		status = 500;
	p = HEAD_PUTS(p, "HTTP/1.1 ");
	*p++ = (char)('0' + status / 100);
	*p++ = (char)('0' + status / 10 % 10);
	*p++ = (char)('0' + status % 10);
	*p++ = ' ';
	s = reason_phrase(status);
	p = head_put(p, s, strlen(s));
	p = HEAD_PUTS(p, "\r\nContent-Type: application/json\r\n"
	    "Cache-Control: no-store\r\n");
	if (ns != NULL) {
		p = HEAD_PUTS(p, "X-Vault-Namespace: ");
		p = head_put(p, ns, nslen);
		p = HEAD_PUTS(p, "\r\n");
	}
	p = HEAD_PUTS(p, "Content-Length: ");
	q = num + sizeof(num);
	do {
		*--q = (char)('0' + blen % 10);
		blen /= 10;
	} while (blen > 0);
	p = head_put(p, q, (size_t)(num + sizeof(num) - q));
	p = HEAD_PUTS(p, "\r\nDate: ");
	s = http_date();
	p = head_put(p, s, strlen(s));
	if (keep)
		p = HEAD_PUTS(p, "\r\nConnection: keep-alive\r\n\r\n");
	else
		p = HEAD_PUTS(p, "\r\nConnection: close\r\n\r\n");
	return (size_t)(p - dst);
}

/*
 * The namespace header echoes the client's, which civetweb ends at the
 * line's end; one holding a control character is not echoed.
 */
static size_t
reply_nslen(const struct request *req)
{
	const unsigned char	*s = (const unsigned char *)req->ns;
	size_t			 i;

	if (s == NULL)
		return 0;
	for (i = 0; s[i] != '\0'; i++)
		if (s[i] < 0x20 || s[i] == 0x7f)
			return 0;
	return i;
}

/* Leave room for the head at the start of an empty buf. */
static int
reply_begin(const struct request *req, struct buf *b)
{
	size_t	 room = HTTP_HEAD_ROOM + reply_nslen(req);

	if (buf_reserve(b, room + 512) != CF_OK)
		return CF_ENOMEM;
	memset(b->data, 0, room);
	b->len = room;
	b->data[room] = '\0';
	return CF_OK;
}

/* Send b, which reply_begin() prepared and a body followed, in one write. */
static void
send_reply(struct mg_connection *conn, const struct request *req,
    int status, struct buf *b)
{
	size_t		 nslen = reply_nslen(req), room, hlen, blen;
	const char	*ns = nslen > 0 ? req->ns : NULL;
	char		*start;

	room = HTTP_HEAD_ROOM + nslen;
	blen = b->len - room;
	hlen = head_emit(b->data, status, ns, nslen, keepalive_final(conn),
	    blen);
	start = b->data + room - hlen;
	memmove(start, b->data, hlen);
	if (req->op == REQ_HEAD)
		blen = 0;
	mg_write(conn, start, hlen + blen);
}

/* With no memory for a buffer: a fixed 500 from the stack, and close. */
static void
send_nomem(struct mg_connection *conn, const struct request *req)
{
	static const char	 body[] = "{\"errors\":[]}\n";
	char			 out[HTTP_HEAD_ROOM + sizeof(body)];
	size_t			 n;

	n = head_emit(out, 500, NULL, 0, keepalive_final(conn),
	    sizeof(body) - 1);
	memcpy(out + n, body, sizeof(body) - 1);
	mg_write(conn, out, n + (req->op == REQ_HEAD ? 0 : sizeof(body) - 1));
}

/* The error envelope; 500s get generic text, details go to the log. */
static int
reply_error(struct mg_connection *conn, const struct request *req,
    int err, struct response *resp)
{
	const char	*text;
	struct buf	 body = BUF_INIT;
	json_t		*env, *arr;
	int		 status;

	status = resp->status != 0 ? resp->status : cf_status(err);
	text = resp->err[0] != '\0' ? resp->err : cf_strerror(err);
	if (strstr(text, "Vault is sealed") != NULL)
		status = 503;
	if (status >= 500 && status != 502 && status != 503 &&
	    !resp->err_public) {
		log_warnx("request %s: %s: %s", req->id, cf_errname(err),
		    text);
		text = "internal error";
	}
	env = json_object();
	arr = json_array();
	if (arr != NULL && !resp->err_empty)
		json_array_append_new(arr, json_string(text));
	if (env == NULL || arr == NULL ||
	    json_object_set_new(env, "errors", arr) != 0 ||
	    reply_begin(req, &body) != CF_OK ||
	    jsonutil_emit(env, &body) != CF_OK ||
	    buf_puts(&body, "\n") != CF_OK) {
		json_decref(env);
		buf_free(&body);
		send_nomem(conn, req);
		return 500;
	}
	json_decref(env);
	send_reply(conn, req, status, &body);
	buf_free(&body);
	return status;
}

/*
 * A standby relays the active node's answer as it came: its status,
 * its headers less the hop-by-hop ones (ha.c dropped those), its body.
 */
static int
reply_relay(struct mg_connection *conn, const struct request *req,
    struct response *resp)
{
	char	*line, *next, *colon, *v, clen[32];

	mg_response_header_start(conn, resp->status);
	for (line = resp->relay_headers.data; line != NULL && *line != '\0';
	    line = next) {
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		else
			next = line + strlen(line);
		if ((colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		for (v = colon + 1; *v == ' ' || *v == '\t'; v++)
			;
		mg_response_header_add(conn, line, v, -1);
	}
	snprintf(clen, sizeof(clen), "%zu", resp->relay_body.len);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_send(conn);
	if (resp->relay_body.len > 0 && req->op != REQ_HEAD)
		mg_write(conn, resp->relay_body.data, resp->relay_body.len);
	return resp->status;
}

static int
reply(struct mg_connection *conn, const struct request *req, int err,
    struct response *resp)
{
	json_t		*env = NULL;
	const json_t	*doc = NULL;
	struct buf	 body = BUF_INIT;
	int		 status;

	if (err == CF_OK && resp->relay)
		return reply_relay(conn, req, resp);
	if (err != CF_OK)
		return reply_error(conn, req, err, resp);
	if (resp->raw) {
		status = resp->status ? resp->status :
		    resp->data != NULL ? 200 : 204;
		doc = resp->data;
	} else if (resp->data == NULL && resp->auth == NULL &&
	    resp->warnings == NULL && resp->wrap_info == NULL) {
		if (req->op == REQ_READ || req->op == REQ_HEAD ||
		    req->op == REQ_LIST) {
			resp->err_empty = 1;
			return reply_error(conn, req, CF_ENOTFOUND, resp);
		}
		status = resp->status ? resp->status : 204;
	} else {
		status = resp->status ? resp->status : 200;
		if ((env = envelope(req, resp)) == NULL)
			return reply_error(conn, req, CF_ENOMEM, resp);
		doc = env;
	}
	if (reply_begin(req, &body) != CF_OK || (doc != NULL &&
	    (jsonutil_emit(doc, &body) != CF_OK ||
	    buf_puts(&body, "\n") != CF_OK))) {
		json_decref(env);
		buf_free(&body);
		return reply_error(conn, req, CF_ENOMEM, resp);
	}
	json_decref(env);
	send_reply(conn, req, status, &body);
	buf_free(&body);		/* wipes: the body may hold secrets */
	return status;
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

/*
 * A body follows: a Content-Length above 0, or chunked encoding.
 * civetweb reports -1 both for chunked and for no length at all, which
 * on a request means no body.
 */
static int
has_body(const struct mg_connection *conn, const struct mg_request_info *ri)
{
	const char	*te;

	if (ri->content_length >= 0)
		return ri->content_length > 0;
	te = mg_get_header(conn, "Transfer-Encoding");
	return te != NULL && strcasestr(te, "chunked") != NULL;
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
	closing = 0;
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
	if (has_body(conn, ri)) {
		/* What cannot succeed is refused before its body is read. */
		if ((rc = router_precheck(&req, &resp, &raw)) != CF_OK)
			goto done;
		if (raw && limit > HTTP_RAW_BODY_MAX)
			limit = HTTP_RAW_BODY_MAX;
		if ((rc = read_body(conn, ri, &req, limit, &held,
		    &resp)) != CF_OK)
			goto done;
		wipe_body_remnant(ri, &req.body);
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
	if (rc != CF_OK && has_body(conn, ri) && req.body.len == 0 &&
	    (ri->content_length < 0 || ri->content_length > HTTP_DRAIN_MAX))
		close_after(conn);
	else
		keepalive_decide(srv, conn);
	status = reply(conn, &req, rc, &resp);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("request %s %s %s%s %d %lldus", req.id, req.method,
		    req.path != NULL ? "/v1/" : "-",
		    req.path != NULL ? req.path : "", status,
		    elapsed_us(&t0));
	metrics_http_end(status, &resp);
	request_fini(&req);
	resp_fini(&resp);
	body_budget_give(held);
	return status;
}
