/*
 * client.c -- libcurl requests and vault's reading of the answers.
 *
 * One easy handle per request: the client makes a handful of calls.
 * Response bodies hold secrets, so they live in an sbuf (wiped when
 * freed) and jansson frees through the wiping allocator (util.c).
 */
#include "config.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "client.h"
#include "tokenhelper.h"
#include "util.h"

struct client {
	char		*base;		/* scheme://host[:port] */
	char		*prefix;	/* the address's path, "" if none */
	char		*unixsock;	/* unix:// path or NULL */
	char		*addr;		/* as configured */
	char		*token;		/* owned, wiped */
	struct httpflags *hf;
	long		 timeout_ms;
	long		 retries;
};

static void	 path_clean(const char *, struct sbuf *);
static void	 escape_path(const char *, struct sbuf *);
static void	 form_escape(const char *, struct sbuf *);
static void	 build_query(json_t *, struct sbuf *);
static size_t	 on_data(char *, size_t, size_t, void *);
static int	 do_http(struct client *, const char *, const char *,
		    const char *, long *, struct sbuf *, char **);
static char	*api_error(const char *, const char *, long, const char *,
		    size_t);
static const char *gomethod(const char *);
static int	 is_envelope(json_t *);
static struct curl_slist *req_headers(struct client *, const char *, int);
static void	 shquote(const char *, struct sbuf *);
static void	 curl_string(struct client *, const char *, const char *,
		    const char *);

void
httpflags_init(struct httpflags *h)
{
	const char	*v;
	int		 b;
	size_t		 i = 0;

	memset(h, 0, sizeof(*h));
	h->address = getenv("VAULT_ADDR");
	h->agent_address = getenv("VAULT_AGENT_ADDR");
	h->ca_cert = getenv("VAULT_CACERT");
	h->ca_path = getenv("VAULT_CAPATH");
	h->ca_bytes = getenv("VAULT_CACERT_BYTES");
	h->client_cert = getenv("VAULT_CLIENT_CERT");
	h->client_key = getenv("VAULT_CLIENT_KEY");
	h->tls_server_name = getenv("VAULT_TLS_SERVER_NAME");
	h->namespace = getenv("VAULT_NAMESPACE");
	if ((v = getenv("VAULT_SKIP_VERIFY")) != NULL &&
	    (b = flags_bool(v)) != -1)
		h->skip_verify = b;
	if ((v = getenv("VAULT_DISABLE_REDIRECTS")) != NULL &&
	    (b = flags_bool(v)) != -1)
		h->disable_redirects = b;
	if ((v = getenv("VAULT_WRAP_TTL")) != NULL &&
	    flags_duration(v, &h->wrap_ttl) == -1)
		h->wrap_ttl = 0;
#define F(n, t, d)	h->set[i++] = (struct flag){ n, t, d, 0 }
	F("address", FLAG_STR, &h->address);
	F("agent-address", FLAG_STR, &h->agent_address);
	F("ca-cert", FLAG_STR, &h->ca_cert);
	F("ca-path", FLAG_STR, &h->ca_path);
	F("client-cert", FLAG_STR, &h->client_cert);
	F("client-key", FLAG_STR, &h->client_key);
	F("tls-server-name", FLAG_STR, &h->tls_server_name);
	F("tls-skip-verify", FLAG_BOOL, &h->skip_verify);
	F("namespace", FLAG_STR, &h->namespace);
	F("ns", FLAG_STR, &h->ns);
	F("disable-redirects", FLAG_BOOL, &h->disable_redirects);
	F("wrap-ttl", FLAG_DUR, &h->wrap_ttl);
	F("header", FLAG_MAP, &h->headers);
	F("output-curl-string", FLAG_BOOL, &h->output_curl);
#undef F
	h->set[i].name = NULL;
}

struct client *
client_new(struct httpflags *h, int notoken)
{
	struct client	*c;
	const char	*v, *addr, *p, *key;
	char		*tok = NULL, *herr = NULL;
	int64_t		 d;
	long long	 n;
	char		*end;

	if ((v = getenv("VAULT_SKIP_VERIFY")) != NULL && *v != '\0' &&
	    flags_bool(v) == -1) {
		fputs("failed to read environment: could not parse "
		    "VAULT_SKIP_VERIFY\n", stderr);
		return NULL;
	}
	if ((v = getenv("VAULT_DISABLE_REDIRECTS")) != NULL && *v != '\0' &&
	    flags_bool(v) == -1) {
		fputs("failed to read environment: could not parse "
		    "VAULT_DISABLE_REDIRECTS\n", stderr);
		return NULL;
	}
	c = xmalloc(sizeof(*c));
	memset(c, 0, sizeof(*c));
	c->hf = h;
	c->timeout_ms = 60000;
	if ((v = getenv("VAULT_CLIENT_TIMEOUT")) != NULL && *v != '\0') {
		if (flags_duration(v, &d) == -1 || d < 0) {
			fputs("failed to read environment: could not parse "
			    "\"VAULT_CLIENT_TIMEOUT\"\n", stderr);
			goto fail;
		}
		c->timeout_ms = d / 1000000;
		if (c->timeout_ms == 0 && d > 0)
			c->timeout_ms = 1;
	}
	if ((v = getenv("VAULT_MAX_RETRIES")) != NULL && *v != '\0') {
		n = strtoll(v, &end, 10);
		if (*end != '\0' || n < 0) {
			fprintf(stderr, "failed to read environment: strconv."
			    "Atoi: parsing \"%s\": invalid syntax\n", v);
			goto fail;
		}
		c->retries = n;
	}
	if ((h->client_cert == NULL || *h->client_cert == '\0') !=
	    (h->client_key == NULL || *h->client_key == '\0')) {
		fputs("failed to setup TLS config: both client cert and "
		    "client key must be provided\n", stderr);
		goto fail;
	}
	addr = h->address;
	if (addr == NULL || *addr == '\0')
		addr = "https://127.0.0.1:8200";
	if (h->agent_address != NULL && *h->agent_address != '\0')
		addr = h->agent_address;
	c->addr = xstrdup(addr);
	if (strncmp(addr, "unix://", 7) == 0) {
		c->unixsock = xstrdup(addr + 7);
		c->base = xstrdup("http://localhost");
		c->prefix = xstrdup("");
	} else {
		if ((p = strstr(addr, "://")) == NULL || p == addr) {
			fprintf(stderr, "failed to create client: parse "
			    "\"%s\": missing protocol scheme\n", addr);
			goto fail;
		}
		p = strchr(p + 3, '/');
		if (p == NULL) {
			c->base = xstrdup(addr);
			c->prefix = xstrdup("");
		} else {
			c->base = xstrndup(addr, p - addr);
			c->prefix = xstrdup(p);
		}
	}
	if (!notoken) {
		if ((v = getenv("VAULT_TOKEN")) != NULL && *v != '\0')
			tok = xstrdup(v);
		else if (tokenhelper_get(&tok, &herr) == -1) {
			fprintf(stderr, "%s\n", herr);
			free(herr);
			goto fail;
		}
	}
	c->token = tok != NULL ? tok : xstrdup("");
	(void)key;
	return c;
 fail:
	client_free(c);
	return NULL;
}

void
client_free(struct client *c)
{
	if (c == NULL)
		return;
	free(c->base);
	free(c->prefix);
	free(c->unixsock);
	free(c->addr);
	wipefree(c->token);
	free(c);
}

const char *
client_token(struct client *c)
{
	return c->token;
}

void
client_set_token(struct client *c, const char *t)
{
	wipefree(c->token);
	c->token = xstrdup(t);
}

const char *
client_addr(struct client *c)
{
	return c->addr;
}

/* Go's path.Clean of an absolute path, without the trailing slash. */
static void
path_clean(const char *in, struct sbuf *out)
{
	char	*copy, *seg, *save = NULL;
	char	**segs;
	size_t	 n = 0, i;

	copy = xstrdup(in);
	segs = xmalloc(sizeof(*segs) * (strlen(in) + 1));
	for (seg = strtok_r(copy, "/", &save); seg != NULL;
	    seg = strtok_r(NULL, "/", &save)) {
		if (strcmp(seg, ".") == 0)
			continue;
		if (strcmp(seg, "..") == 0) {
			if (n > 0)
				n--;
			continue;
		}
		segs[n++] = seg;
	}
	if (n == 0)
		sbuf_puts(out, "/");
	for (i = 0; i < n; i++) {
		sbuf_puts(out, "/");
		sbuf_puts(out, segs[i]);
	}
	free(segs);
	free(copy);
}

/* Go's URL.EscapedPath: these stay literal, the rest is %XX. */
static void
escape_path(const char *p, struct sbuf *out)
{
	static const char keep[] = "/-._~!$&'()*+,;=:@";
	unsigned char	 ch;

	for (; *p != '\0'; p++) {
		ch = (unsigned char)*p;
		if (isalnum(ch) || (ch != '\0' && strchr(keep, ch) != NULL))
			sbuf_add(out, p, 1);
		else
			sbuf_printf(out, "%%%02X", ch);
	}
}

static void
form_escape(const char *p, struct sbuf *out)
{
	unsigned char	 ch;

	for (; *p != '\0'; p++) {
		ch = (unsigned char)*p;
		if (isalnum(ch) || ch == '-' || ch == '.' || ch == '_' ||
		    ch == '~')
			sbuf_add(out, p, 1);
		else if (ch == ' ')
			sbuf_puts(out, "+");
		else
			sbuf_printf(out, "%%%02X", ch);
	}
}

static int
keycmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Parameters sorted by name, as Go's url.Values.Encode. */
static void
build_query(json_t *q, struct sbuf *out)
{
	const char	**keys, *k;
	json_t		*v, *e;
	size_t		 n = 0, i, j;
	int		 first = 1;

	if (q == NULL || json_object_size(q) == 0)
		return;
	keys = xmalloc(sizeof(*keys) * json_object_size(q));
	json_object_foreach(q, k, v)
		keys[n++] = k;
	qsort(keys, n, sizeof(*keys), keycmp);
	sbuf_puts(out, "?");
	for (i = 0; i < n; i++) {
		v = json_object_get(q, keys[i]);
		for (j = 0; j < (json_is_array(v) ? json_array_size(v) : 1);
		    j++) {
			e = json_is_array(v) ? json_array_get(v, j) : v;
			if (!first)
				sbuf_puts(out, "&");
			first = 0;
			form_escape(keys[i], out);
			sbuf_puts(out, "=");
			form_escape(json_is_string(e) ? json_string_value(e) :
			    "", out);
		}
	}
	free(keys);
}

static size_t
on_data(char *p, size_t sz, size_t n, void *arg)
{
	sbuf_add(arg, p, sz * n);
	return sz * n;
}

static const char *
gomethod(const char *m)
{
	if (strcmp(m, "GET") == 0)
		return "Get";
	if (strcmp(m, "PUT") == 0)
		return "Put";
	if (strcmp(m, "POST") == 0)
		return "Post";
	if (strcmp(m, "DELETE") == 0)
		return "Delete";
	if (strcmp(m, "PATCH") == 0)
		return "Patch";
	return m;
}

/*
 * The request headers, in the order they are sent; "Expect:" last
 * (it only suppresses libcurl's own header).
 */
static struct curl_slist *
req_headers(struct client *c, const char *method, int hasbody)
{
	struct curl_slist	*hdrs;
	struct sbuf		 line = { 0 };
	const char		*k;
	json_t			*v;
	char			 d[48];

	hdrs = curl_slist_append(NULL, "X-Vault-Request: true");
	if (*c->token != '\0') {
		sbuf_printf(&line, "X-Vault-Token: %s", c->token);
		hdrs = curl_slist_append(hdrs, sbuf_str(&line));
		sbuf_free(&line);
	}
	if (c->hf->ns != NULL && *c->hf->ns != '\0')
		sbuf_printf(&line, "X-Vault-Namespace: %s", c->hf->ns);
	else if (c->hf->namespace != NULL && *c->hf->namespace != '\0')
		sbuf_printf(&line, "X-Vault-Namespace: %s", c->hf->namespace);
	if (line.len > 0)
		hdrs = curl_slist_append(hdrs, sbuf_str(&line));
	sbuf_free(&line);
	if (c->hf->wrap_ttl > 0) {
		flags_durfmt(c->hf->wrap_ttl, d, sizeof(d));
		sbuf_printf(&line, "X-Vault-Wrap-TTL: %s", d);
		hdrs = curl_slist_append(hdrs, sbuf_str(&line));
		sbuf_free(&line);
	}
	if (c->hf->headers != NULL)
		json_object_foreach(c->hf->headers, k, v) {
			sbuf_printf(&line, "%s: %s", k, json_string_value(v));
			hdrs = curl_slist_append(hdrs, sbuf_str(&line));
			sbuf_free(&line);
		}
	if (strcmp(method, "PATCH") == 0)
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/merge-patch+json");
	else if (hasbody)
		hdrs = curl_slist_append(hdrs,
		    "Content-Type: application/json");
	return curl_slist_append(hdrs, "Expect:");
}

/* s in single quotes for sh, each ' written as '"'"' (as vault). */
static void
shquote(const char *s, struct sbuf *out)
{
	sbuf_puts(out, "'");
	for (; *s != '\0'; s++)
		if (*s == '\'')
			sbuf_puts(out, "'\"'\"'");
		else
			sbuf_add(out, s, 1);
	sbuf_puts(out, "'");
}

/*
 * -output-curl-string: the request as a curl(1) command on stdout, in
 * vault's shape, the token replaced by a command substitution.
 */
static void
curl_string(struct client *c, const char *method, const char *url,
    const char *body)
{
	struct curl_slist	*hdrs, *h;
	struct sbuf		 b = { 0 };
	const char		*ca = NULL, *flag;
	size_t			 i;

	sbuf_puts(&b, "curl ");
	if (c->hf->skip_verify)
		sbuf_puts(&b, "--insecure ");
	if (strcmp(method, "GET") != 0)
		sbuf_printf(&b, "-X %s ", method);
	for (i = 0; i < 4; i++) {
		switch (i) {
		case 0:
			flag = "--cacert";
			ca = c->hf->ca_cert;
			break;
		case 1:
			flag = "--capath";
			ca = c->hf->ca_path;
			break;
		case 2:
			flag = "--cert";
			ca = c->hf->client_cert;
			break;
		default:
			flag = "--key";
			ca = c->hf->client_key;
			break;
		}
		if (ca != NULL && *ca != '\0') {
			sbuf_printf(&b, "%s ", flag);
			shquote(ca, &b);
			sbuf_puts(&b, " ");
		}
	}
	hdrs = req_headers(c, method, body != NULL);
	for (h = hdrs; h != NULL; h = h->next) {
		if (strcmp(h->data, "Expect:") == 0)
			continue;
		if (strncmp(h->data, "X-Vault-Token: ", 15) == 0)
			sbuf_puts(&b, "-H \"X-Vault-Token: $(vault print "
			    "token)\" ");
		else
			sbuf_printf(&b, "-H \"%s\" ", h->data);
	}
	curl_slist_free_all(hdrs);
	if (body != NULL && *body != '\0') {
		sbuf_puts(&b, "-d ");
		shquote(body, &b);
		sbuf_puts(&b, " ");
	}
	sbuf_puts(&b, url);
	printf("%s\n", sbuf_str(&b));
	fflush(stdout);
	sbuf_free(&b);
	c->hf->curl_printed = 1;
}

/*
 * One exchange, following one redirect and retrying as
 * VAULT_MAX_RETRIES allows.  0 with *status and body, or -1 with *err.
 */
static int
do_http(struct client *c, const char *method, const char *url0,
    const char *body, long *status, struct sbuf *resp, char **err)
{
	CURL			*h = NULL;
	struct curl_slist	*hdrs = NULL;
	struct sbuf		 line = { 0 };
	char			 ebuf[CURL_ERROR_SIZE];
	char			*url, *loc = NULL, *redir;
	CURLcode		 cc;
	long			 attempt = 0;
	int			 redirected = 0, rc = -1;

	url = xstrdup(url0);
	for (;;) {
		sbuf_free(resp);
		sbuf_add(resp, "", 0);
		if ((h = curl_easy_init()) == NULL) {
			*err = xstrdup("failed to create a curl handle");
			goto out;
		}
		ebuf[0] = '\0';
		hdrs = req_headers(c, method, body != NULL);
		curl_easy_setopt(h, CURLOPT_URL, url);
		curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
		curl_easy_setopt(h, CURLOPT_USERAGENT, "coffer/" COFFER_VERSION);
		curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
		curl_easy_setopt(h, CURLOPT_WRITEDATA, resp);
		curl_easy_setopt(h, CURLOPT_ERRORBUFFER, ebuf);
		curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
		curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, c->timeout_ms);
		curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
		curl_easy_setopt(h, CURLOPT_SSLVERSION,
		    (long)CURL_SSLVERSION_TLSv1_2);
		if (body != NULL) {
			curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
			curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE,
			    (long)strlen(body));
		}
		if (c->unixsock != NULL)
			curl_easy_setopt(h, CURLOPT_UNIX_SOCKET_PATH,
			    c->unixsock);
		if (c->hf->ca_cert != NULL && *c->hf->ca_cert != '\0')
			curl_easy_setopt(h, CURLOPT_CAINFO, c->hf->ca_cert);
		else if (c->hf->ca_bytes != NULL && *c->hf->ca_bytes != '\0') {
			struct curl_blob blob;

			blob.data = (void *)(uintptr_t)c->hf->ca_bytes;
			blob.len = strlen(c->hf->ca_bytes);
			blob.flags = CURL_BLOB_COPY;
			curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
			curl_easy_setopt(h, CURLOPT_CAPATH, NULL);
			curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
		} else if (c->hf->ca_path != NULL && *c->hf->ca_path != '\0') {
			curl_easy_setopt(h, CURLOPT_CAINFO, NULL);
			curl_easy_setopt(h, CURLOPT_CAPATH, c->hf->ca_path);
		}
		if (c->hf->client_cert != NULL && *c->hf->client_cert != '\0') {
			curl_easy_setopt(h, CURLOPT_SSLCERT, c->hf->client_cert);
			curl_easy_setopt(h, CURLOPT_SSLKEY, c->hf->client_key);
		}
		if (c->hf->skip_verify) {
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
			curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
		}
		cc = curl_easy_perform(h);
		if (cc == CURLE_OK)
			curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
		if (cc == CURLE_OK && !redirected && !c->hf->disable_redirects &&
		    (*status == 301 || *status == 302 || *status == 307) &&
		    curl_easy_getinfo(h, CURLINFO_REDIRECT_URL, &redir) ==
		    CURLE_OK && redir != NULL) {
			if (strncmp(url, "https:", 6) == 0 &&
			    strncmp(redir, "https:", 6) != 0) {
				sbuf_printf(&line, "%s \"%s\": redirect would "
				    "cause protocol downgrade",
				    gomethod(method), url);
				*err = sbuf_take(&line);
				goto out;
			}
			loc = xstrdup(redir);
			free(url);
			url = loc;
			loc = NULL;
			redirected = 1;
			curl_easy_cleanup(h);
			curl_slist_free_all(hdrs);
			h = NULL;
			hdrs = NULL;
			continue;
		}
		if (attempt < c->retries &&
		    ((cc != CURLE_OK && cc != CURLE_PEER_FAILED_VERIFICATION &&
		    cc != CURLE_SSL_CACERT_BADFILE) ||
		    (cc == CURLE_OK && (*status == 412 || *status == 429 ||
		    (*status >= 500 && *status != 501))))) {
			attempt++;
			curl_easy_cleanup(h);
			curl_slist_free_all(hdrs);
			h = NULL;
			hdrs = NULL;
			usleep(1000000 * attempt);
			continue;
		}
		if (cc != CURLE_OK) {
			sbuf_printf(&line, "%s \"%s\": %s", gomethod(method),
			    url, ebuf[0] != '\0' ? ebuf :
			    curl_easy_strerror(cc));
			*err = sbuf_take(&line);
			goto out;
		}
		break;
	}
	rc = 0;
 out:
	if (h != NULL)
		curl_easy_cleanup(h);
	curl_slist_free_all(hdrs);
	sbuf_free(&line);
	free(url);
	return rc;
}

/* Vault's api.ResponseError text. */
static char *
api_error(const char *method, const char *url, long status,
    const char *body, size_t len)
{
	struct sbuf	 b = { 0 };
	json_t		*j, *errs, *e;
	size_t		 i;

	sbuf_printf(&b, "Error making API request.\n\nURL: %s %s\n"
	    "Code: %ld. ", method, url, status);
	j = json_loadb(body, len, 0, NULL);
	errs = json_object_get(j, "errors");
	if (j == NULL || !json_is_object(j)) {
		sbuf_puts(&b, "Raw Message:\n\n");
		sbuf_add(&b, body, len);
	} else {
		sbuf_puts(&b, "Errors:\n\n");
		json_array_foreach(errs, i, e)
			if (json_is_string(e))
				sbuf_printf(&b, "* %s", json_string_value(e));
	}
	json_decref(j);
	return sbuf_take(&b);
}

static int
is_envelope(json_t *j)
{
	static const char *keys[] = { "request_id", "lease_id",
	    "lease_duration", "renewable", "data", "warnings", "auth",
	    "wrap_info", NULL };
	size_t	 i;

	for (i = 0; keys[i] != NULL; i++)
		if (json_object_get(j, keys[i]) != NULL)
			return 1;
	return 0;
}

static void
make_url(struct client *c, const char *path, json_t *query, struct sbuf *u)
{
	struct sbuf	 p = { 0 }, cl = { 0 };

	sbuf_printf(&p, "%s/v1/%s", c->prefix, path);
	path_clean(sbuf_str(&p), &cl);
	sbuf_puts(u, c->base);
	escape_path(sbuf_str(&cl), u);
	build_query(query, u);
	sbuf_free(&p);
	sbuf_free(&cl);
}

int
client_raw(struct client *c, const char *method, const char *path,
    json_t *query, json_t *body, long *status, char **rawbody, char **err)
{
	struct sbuf	 u = { 0 }, r = { 0 };
	char		*b = NULL;
	const char	*t;
	int		 rc = -1;

	for (t = c->token; *t != '\0'; t++)
		if ((unsigned char)*t < 0x20 || *t == 0x7f) {
			*err = xstrdup("configured Vault token contains "
			    "non-printable characters and cannot be used");
			return -1;
		}
	if (c->hf->curl_printed) {
		*err = xstrdup("output a string, please");
		return -1;
	}
	make_url(c, path, query, &u);
	if (body != NULL &&
	    (b = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
	    JSON_PRESERVE_ORDER)) == NULL) {
		*err = xstrdup("cannot encode the request body");
		goto out;
	}
	if (c->hf->output_curl) {
		curl_string(c, method, sbuf_str(&u), b);
		*err = xstrdup("output a string, please");
		goto out;
	}
	if (do_http(c, method, sbuf_str(&u), b, status, &r, err) == -1)
		goto out;
	*rawbody = sbuf_take(&r);
	if (*status >= 400)
		*err = api_error(method, sbuf_str(&u), *status, *rawbody,
		    strlen(*rawbody));
	rc = 0;
 out:
	json_strfree(b);
	sbuf_free(&u);
	sbuf_free(&r);
	return rc;
}

int
client_logical(struct client *c, const char *method, const char *path,
    json_t *query, json_t *body, int read, json_t **secret, char **err)
{
	char		*raw = NULL, *apierr = NULL;
	long		 status = 0;
	json_t		*j = NULL, *d, *w, *e;
	struct sbuf	 m = { 0 };
	size_t		 i;
	int		 rc = -1, hasdata;

	*secret = NULL;
	*err = NULL;
	if (client_raw(c, method, path, query, body, &status, &raw,
	    &apierr) == -1) {
		*err = apierr;
		return -1;
	}
	if (*raw != '\0')
		j = json_loads(raw, JSON_DECODE_ANY, NULL);
	if (j != NULL && !json_is_object(j)) {
		json_decref(j);
		j = NULL;
	}
	if (j != NULL && !is_envelope(j)) {
		if (json_object_size(j) == 1 &&
		    json_object_get(j, "errors") != NULL) {
			json_decref(j);
			j = NULL;
		} else if (json_object_get(j, "errors") != NULL &&
		    status < 400) {
			json_array_foreach(json_object_get(j, "errors"), i, e) {
				if (i > 0)
					sbuf_puts(&m, " ");
				sbuf_puts(&m, json_string_value(e) ?
				    json_string_value(e) : "");
			}
			*err = sbuf_take(&m);
			goto out;
		} else {
			d = json_object();
			json_object_set_new(d, "data", j);
			j = d;
		}
	}
	d = json_object_get(j, "data");
	w = json_object_get(j, "warnings");
	hasdata = (json_is_object(d) && json_object_size(d) > 0) ||
	    (json_is_array(w) && json_array_size(w) > 0);
	if (status == 404 && read) {
		if (hasdata)
			*secret = json_incref(j);
		rc = 0;
		goto out;
	}
	if (status >= 400) {
		*err = apierr;
		apierr = NULL;
		if (status == 404 && hasdata)
			*secret = json_incref(j);
		goto out;
	}
	*secret = json_incref(j);
	rc = 0;
 out:
	json_decref(j);
	wipefree(raw);
	wipefree(apierr);
	return rc;
}
