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

#include <errno.h>
#include <link.h>
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
#include "err.h"
#include "http.h"
#include "log.h"
#include "req.h"
#include "router.h"

#define HTTP_MAX_LISTENERS	16
#define HTTP_HEADER_BUF		16384	/* civetweb's request buffer */
#define STRINGIFY_(x)		#x
#define STRINGIFY(x)		STRINGIFY_(x)

struct http_server {
	struct mg_context	*ctx;
	struct http_listener	 listeners[HTTP_MAX_LISTENERS];
	int			 ports[HTTP_MAX_LISTENERS];
	size_t			 n;
	const char		*cert_file;	/* one TLS identity for all */
	const char		*key_file;
	atomic_int		 stopped;
};

static int	 http_handler(struct mg_connection *, void *);

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

static int
http_log_message(const struct mg_connection *conn, const char *msg)
{
	(void)conn;
	log_debug("civetweb: %s", msg);
	return 1;
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
		srv->ports[i] = -1;
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
	snprintf(threads, sizeof(threads), "%d", hc->worker_threads);
	opts[o++] = "listening_ports";
	opts[o++] = lp.data;
	opts[o++] = "num_threads";
	opts[o++] = threads;
	opts[o++] = "enable_keep_alive";
	opts[o++] = "yes";
	opts[o++] = "request_timeout_ms";
	opts[o++] = "30000";
	opts[o++] = "keep_alive_timeout_ms";
	opts[o++] = "60000";
	opts[o++] = "listen_backlog";
	opts[o++] = "1024";
	/* Headers and body go out in two writes: no Nagle delay between. */
	opts[o++] = "tcp_nodelay";
	opts[o++] = "1";
	opts[o++] = "max_request_size";
	opts[o++] = STRINGIFY(HTTP_HEADER_BUF);
	opts[o] = NULL;

	memset(&cb, 0, sizeof(cb));
	cb.log_message = http_log_message;
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
	np = mg_get_server_ports(srv->ctx, HTTP_MAX_LISTENERS, ports);
	for (i = 0; np > 0 && i < (size_t)np && i < srv->n; i++) {
		/* Workers already run: they read it in body_limit(). */
		__atomic_store_n(&srv->ports[i], ports[i].port,
		    __ATOMIC_RELEASE);
		log_info("listening on %.*s:%d%s",
		    (int)strcspn(srv->listeners[i].address, ":"),
		    srv->listeners[i].address, ports[i].port,
		    ports[i].is_ssl ? " (tls)" : "");
	}
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
	have_waker = pthread_create(&waker, NULL, wake_listeners, srv) == 0;
	mg_stop(srv->ctx);
	atomic_store(&srv->stopped, 1);
	if (have_waker)
		pthread_join(waker, NULL);
	free(srv);
}

int
http_port(const struct http_server *srv, size_t i)
{
	return i < srv->n ? srv->ports[i] : -1;
}

/* Body limit of the listener a request came in on. */
static long long
body_limit(const struct http_server *srv, int port)
{
	size_t	 i;

	for (i = 0; i < srv->n; i++)
		if (__atomic_load_n(&srv->ports[i], __ATOMIC_ACQUIRE) == port)
			return srv->listeners[i].max_request_size;
	return srv->listeners[0].max_request_size;
}

/* 1 if s is valid UTF-8 without control characters. */
static int
path_is_printable(const unsigned char *s)
{
	while (*s != '\0') {
		if (*s < 0x20 || *s == 0x7f)
			return 0;
		if (*s < 0x80) {
			s++;
			continue;
		}
		int n = (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 :
		    (*s & 0xf8) == 0xf0 ? 3 : -1;
		if (n < 0 || (*s == 0xc0 || *s == 0xc1 || *s > 0xf4))
			return 0;
		for (s++; n > 0; n--, s++)
			if ((*s & 0xc0) != 0x80)
				return 0;
	}
	return 1;
}

static int
has_dot_segment(const char *p)
{
	const char	*seg = p;

	for (;; p++) {
		if (*p == '/' || *p == '\0') {
			size_t	 len = (size_t)(p - seg);

			if ((len == 1 && seg[0] == '.') ||
			    (len == 2 && seg[0] == '.' && seg[1] == '.'))
				return 1;
			if (*p == '\0')
				return 0;
			seg = p + 1;
		}
	}
}

static int
is_true_value(const char *v)
{
	return strcmp(v, "1") == 0 || strcmp(v, "t") == 0 ||
	    strcmp(v, "T") == 0 || strcmp(v, "TRUE") == 0 ||
	    strcmp(v, "true") == 0 || strcmp(v, "True") == 0;
}

static int
is_false_value(const char *v)
{
	return strcmp(v, "0") == 0 || strcmp(v, "f") == 0 ||
	    strcmp(v, "F") == 0 || strcmp(v, "FALSE") == 0 ||
	    strcmp(v, "false") == 0 || strcmp(v, "False") == 0;
}

/*
 * Query parameters into data (strings; a repeated key keeps its first
 * value).  "list" is consumed here: a true value turns GET into LIST.
 */
static int
parse_query(struct request *req, struct response *resp, int *as_list)
{
	const char	*q = req->query, *amp, *eq;
	char		*key = NULL, *val = NULL;
	size_t		 klen, vlen;
	int		 rc = CF_OK;

	*as_list = 0;
	while (q != NULL && *q != '\0') {
		amp = strchr(q, '&');
		if (amp == NULL)
			amp = q + strlen(q);
		eq = memchr(q, '=', (size_t)(amp - q));
		klen = (size_t)((eq != NULL ? eq : amp) - q);
		vlen = eq != NULL ? (size_t)(amp - eq - 1) : 0;
		if (klen > 0) {
			if ((key = malloc(klen + 1)) == NULL ||
			    (val = malloc(vlen + 1)) == NULL) {
				rc = CF_ENOMEM;
				goto out;
			}
			if (mg_url_decode(q, (int)klen, key, (int)klen + 1, 1) <
			    0 || (eq != NULL && mg_url_decode(eq + 1,
			    (int)vlen, val, (int)vlen + 1, 1) < 0)) {
				rc = resp_fail(resp, CF_EINVAL,
				    "invalid query string");
				goto out;
			}
			if (eq == NULL)
				val[0] = '\0';
			if (strcmp(key, "list") == 0) {
				if (is_true_value(val))
					*as_list = 1;
				else if (!is_false_value(val)) {
					resp->err_empty = 1;
					rc = CF_EINVAL;
					goto out;
				}
			} else if (json_object_get(req->data, key) == NULL &&
			    json_object_set_new(req->data, key,
			    json_string(val)) != 0) {
				rc = resp_fail(resp, CF_EINVAL,
				    "invalid query string");
				goto out;
			}
			free(key);
			free(val);
			key = val = NULL;
		}
		q = *amp == '&' ? amp + 1 : amp;
	}
 out:
	free(key);
	if (val != NULL) {
		sodium_memzero(val, strlen(val));
		free(val);
	}
	return rc;
}

/* Read the whole body into req->body, up to limit bytes. */
static int
read_body(struct mg_connection *conn, const struct mg_request_info *ri,
    struct request *req, long long limit, struct response *resp)
{
	char	 chunk[16384];
	int	 n, rc;

	if (ri->content_length > limit) {
		/* Keep-alive off, or civetweb drains a body we refused. */
		mg_disable_connection_keep_alive(conn);
		return resp_fail(resp, CF_ETOOBIG,
		    "http: request body too large");
	}
	if (ri->content_length > 0 &&
	    buf_reserve(&req->body, (size_t)ri->content_length) != CF_OK)
		return CF_ENOMEM;
	for (;;) {
		n = mg_read(conn, chunk, sizeof(chunk));
		if (n <= 0)
			break;
		if ((long long)(req->body.len + (size_t)n) > limit) {
			sodium_memzero(chunk, sizeof(chunk));
			mg_disable_connection_keep_alive(conn);
			return resp_fail(resp, CF_ETOOBIG,
			    "http: request body too large");
		}
		rc = buf_append(&req->body, chunk, (size_t)n);
		if (rc != CF_OK)
			break;
	}
	sodium_memzero(chunk, sizeof(chunk));
	return n < 0 ? resp_fail(resp, CF_EINVAL, "error reading body") :
	    CF_OK;
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

/* "a=b&c=d" bodies (Content-Type: application/x-www-form-urlencoded). */
static int
parse_form(struct request *req, struct response *resp)
{
	const char	*saved = req->query;
	int		 as_list, rc;

	req->query = req->body.data;
	rc = parse_query(req, resp, &as_list);
	req->query = saved;
	return rc;
}

static int
parse_body(struct request *req, struct response *resp)
{
	json_error_t	 jerr;
	json_t		*j;
	size_t		 i;

	for (i = 0; i < req->body.len; i++)
		if (req->body.data[i] != ' ' && req->body.data[i] != '\t' &&
		    req->body.data[i] != '\r' && req->body.data[i] != '\n')
			break;
	if (i == req->body.len) {
		req->body_empty = 1;
		return CF_OK;
	}
	if (req->content_type != NULL && strncasecmp(req->content_type,
	    "application/x-www-form-urlencoded", 33) == 0 &&
	    req->body.data[i] != '{' && req->body.data[i] != '[')
		return parse_form(req, resp);
	j = json_loadb(req->body.data, req->body.len,
	    JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
	if (j == NULL || !json_is_object(j)) {
		json_decref(j);
		return resp_fail(resp, CF_EINVAL, "error parsing JSON");
	}
	json_decref(req->data);
	req->data = j;
	req->data_json = 1;
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
	if (json_object_set_new(env, "request_id", json_string(req->id)) ||
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

static void
send_reply(struct mg_connection *conn, const struct request *req,
    int status, const char *body, size_t len)
{
	char	 clen[32];

	mg_response_header_start(conn, status);
	mg_response_header_add(conn, "Content-Type", "application/json", -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	if (req->ns != NULL)
		mg_response_header_add(conn, "X-Vault-Namespace", req->ns, -1);
	snprintf(clen, sizeof(clen), "%zu", body != NULL ? len : 0);
	mg_response_header_add(conn, "Content-Length", clen, -1);
	mg_response_header_send(conn);
	if (body != NULL && len > 0 && req->op != REQ_HEAD)
		mg_write(conn, body, len);
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
	if (status >= 500 && status != 502 && status != 503) {
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
	    json_emit(env, &body) != CF_OK || buf_puts(&body, "\n") != CF_OK) {
		json_decref(env);
		buf_free(&body);
		send_reply(conn, req, 500, "{\"errors\":[]}\n", 14);
		return 500;
	}
	json_decref(env);
	send_reply(conn, req, status, body.data, body.len);
	buf_free(&body);
	return status;
}

static int
reply(struct mg_connection *conn, const struct request *req, int err,
    struct response *resp)
{
	json_t		*env = NULL;
	const json_t	*doc = NULL;
	struct buf	 body = BUF_INIT;
	int		 status;

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
	if (doc != NULL && (json_emit(doc, &body) != CF_OK ||
	    buf_puts(&body, "\n") != CF_OK)) {
		json_decref(env);
		buf_free(&body);
		return reply_error(conn, req, CF_ENOMEM, resp);
	}
	json_decref(env);
	send_reply(conn, req, status, body.data, body.len);
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

static long long
elapsed_us(const struct timespec *t0)
{
	struct timespec	 t1;

	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) * 1000000LL +
	    (t1.tv_nsec - t0->tv_nsec) / 1000;
}

static int
http_handler(struct mg_connection *conn, void *arg)
{
	const struct http_server	*srv = arg;
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	struct request			 req;
	struct response			 resp;
	struct timespec			 t0;
	const char			*uri;
	int				 rc, status, as_list = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	memset(&req, 0, sizeof(req));
	resp_init(&resp);
	buf_init(&req.body);
	uuid_generate(req.id);
	req.method = ri->request_method;
	req.query = ri->query_string;
	req.remote_addr = ri->remote_addr;
	req.content_type = mg_get_header(conn, "Content-Type");
	req.ns = mg_get_header(conn, "X-Vault-Namespace");
	uri = ri->local_uri_raw != NULL ? ri->local_uri_raw : ri->local_uri;

	if ((rc = take_token(conn, &req)) != CF_OK)
		goto done;
	if (uri == NULL || strncmp(uri, "/v1/", 4) != 0) {
		resp.err_empty = 1;
		rc = CF_ENOTFOUND;
		goto done;
	}
	if ((rc = method_to_op(req.method, &req.op)) != CF_OK) {
		resp.err_empty = 1;
		goto done;
	}
	if (!path_is_printable((const unsigned char *)uri) ||
	    has_dot_segment(uri + 4)) {
		rc = resp_fail(&resp, CF_EINVAL, "invalid path: %s",
		    "must be printable UTF-8 without '.' or '..' segments");
		goto done;
	}
	if ((req.path = strdup(uri + 4)) == NULL ||
	    (req.data = json_object()) == NULL) {
		rc = CF_ENOMEM;
		goto done;
	}
	if ((rc = read_body(conn, ri, &req, body_limit(srv, ri->server_port),
	    &resp)) != CF_OK)
		goto done;
	wipe_body_remnant(ri, &req.body);
	if ((rc = parse_body(&req, &resp)) != CF_OK)
		goto done;
	if (req.op == REQ_READ || req.op == REQ_HEAD ||
	    req.op == REQ_DELETE || req.op == REQ_LIST) {
		if ((rc = parse_query(&req, &resp, &as_list)) != CF_OK)
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
	status = reply(conn, &req, rc, &resp);
	if (log_enabled(LOG_LVL_DEBUG))
		log_debug("request %s %s %s %d %lldus", req.id, req.method,
		    uri != NULL ? uri : "-", status, elapsed_us(&t0));
	request_fini(&req);
	resp_fini(&resp);
	return status;
}
