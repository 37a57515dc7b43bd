/*
 * audit_entry.c -- an audit entry's JSON text, written in one pass.
 *
 * The writer walks the request, its answer and the token entry the
 * router resolved, and appends members in Vault's order to the buffer,
 * hashing on the way what Vault hashes: tokens, accessors (with
 * hmac_accessor), every string of the request's data and of the
 * response's data, and the numbers of the request's data (they came as
 * JSON text, which Vault keeps as json.Number strings).  Object keys
 * are kept.  A member that would be empty (absent, null, false, "", 0,
 * {} or []) is left out, as Vault's omitempty does.
 *
 * Errors are sticky in struct emit: every helper does nothing once one
 * failed, and audit_entry_emit returns the first.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "audit_entry.h"
#include "audit_headers.h"
#include "audit_jsonx.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "req.h"
#include "router.h"
#include "timeutil.h"
#include "token.h"

#define HASH_LEN	(12 + 64)
#define DEPTH_MAX	2048

enum hmode {
	H_NONE,		/* as it is */
	H_STR,		/* strings hashed */
	H_ALL		/* strings and numbers hashed */
};

struct emit {
	struct buf		*b;
	const struct audit_fmt	*f;
	int			 rc;		/* first error */
	int			 first;		/* no comma before a member */
	/* The caller's token and accessor, each hashed once per entry. */
	char			 tok[HASH_LEN + 1];
	char			 acc[HASH_LEN + 1];
};

void
audit_fmt_init(struct audit_fmt *f, const char *salt)
{
	hmac256_init(&f->key, salt, strlen(salt));
	audit_fmt_hash(f, "", 0, f->empty);
}

void
audit_fmt_wipe(struct audit_fmt *f)
{
	sodium_memzero(&f->key, sizeof(f->key));
	sodium_memzero(f->empty, sizeof(f->empty));
}

void
audit_fmt_hash(const struct audit_fmt *f, const char *s, size_t len,
    char *out)
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 mac[HMAC256_LEN];
	size_t			 i;

	hmac256(&f->key, s, len, mac);
	memcpy(out, "hmac-sha256:", 12);
	/*
	 * A table, not sodium_bin2hex: the MAC is what the log shows, so
	 * its hex needs no constant time, and this is several times faster.
	 */
	for (i = 0; i < sizeof(mac); i++) {
		out[12 + 2 * i] = hex[mac[i] >> 4];
		out[12 + 2 * i + 1] = hex[mac[i] & 0xf];
	}
	out[12 + 2 * sizeof(mac)] = '\0';
	sodium_memzero(mac, sizeof(mac));
}

void
audit_entry_init(struct audit_entry *e, const struct request *req,
    const struct response *resp, int err, int response)
{
	struct timespec	 ts;

	e->req = req;
	e->resp = resp;
	e->err = err;
	e->response = response;
	e->list = req->op == REQ_LIST;
	e->hdrs = NULL;
	e->memo = NULL;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(e->time, sizeof(e->time), (long long)ts.tv_sec,
	    ts.tv_nsec);
}

/*
 * An entry is written in many pieces of a few bytes: those that fit go
 * in place, without buf_append's calls (a sixth of an entry's cost).
 */
static void
put(struct emit *x, const char *s, size_t n)
{
	struct buf	*b = x->b;

	if (x->rc != CF_OK)
		return;
	if (n < b->cap - b->len) {		/* room for the NUL too */
		memcpy(b->data + b->len, s, n);
		b->len += n;
		b->data[b->len] = '\0';
		return;
	}
	x->rc = buf_append(b, s, n);
}

static void
puts_(struct emit *x, const char *s)
{
	put(x, s, strlen(s));
}

/* The key of a member: a literal, needing no escapes. */
static void
key(struct emit *x, const char *k)
{
	if (!x->first)
		put(x, ",", 1);
	put(x, "\"", 1);
	puts_(x, k);
	put(x, "\":", 2);
	x->first = 0;
}

static void
open_(struct emit *x, const char *k, const char *brace)
{
	if (k != NULL)
		key(x, k);
	puts_(x, brace);
	x->first = 1;
}

static void
close_(struct emit *x, const char *brace)
{
	puts_(x, brace);
	x->first = 0;
}

static void
hashed(struct emit *x, const char *s, size_t n)
{
	char	 h[HASH_LEN + 3];

	h[0] = '"';
	if (n == 0)
		memcpy(h + 1, x->f->empty, HASH_LEN);
	else
		audit_fmt_hash(x->f, s, n, h + 1);
	h[HASH_LEN + 1] = '"';
	put(x, h, HASH_LEN + 2);
}

/*
 * Member k, the string s, unless s is NULL (or "", unless always).  One
 * that is not valid UTF-8 is left out raw (jansson would not have held
 * it).  hash: written hashed, the hash cached in cache if given.
 */
static void
mem_str_(struct emit *x, const char *k, const char *s, int always,
    int hash, char *cache)
{
	size_t	 len, n;
	int	 first;

	if (x->rc != CF_OK || s == NULL || (*s == '\0' && !always))
		return;
	n = strlen(s);
	if (hash && !x->f->log_raw) {
		key(x, k);
		if (cache == NULL) {
			hashed(x, s, n);
			return;
		}
		if (cache[0] == '\0')
			audit_fmt_hash(x->f, s, n, cache);
		put(x, "\"", 1);
		put(x, cache, HASH_LEN);
		put(x, "\"", 1);
		return;
	}
	len = x->b->len;
	first = x->first;
	key(x, k);
	if (x->rc == CF_OK &&
	    (x->rc = jsonutil_emit_str(s, n, x->b)) == CF_EINVAL) {
		sodium_memzero(x->b->data + len, x->b->len - len);
		x->b->len = len;
		x->b->data[len] = '\0';
		x->first = first;
		x->rc = CF_OK;
	}
}

static void
mem_str(struct emit *x, const char *k, const char *s, int hash, char *cache)
{
	mem_str_(x, k, s, 0, hash, cache);
}

/* Member k, a literal string needing no escapes. */
static void
mem_lit(struct emit *x, const char *k, const char *s)
{
	key(x, k);
	put(x, "\"", 1);
	puts_(x, s);
	put(x, "\"", 1);
}

static void
mem_bool(struct emit *x, const char *k, int v)
{
	key(x, k);
	puts_(x, v ? "true" : "false");
}

/* 1 if v would be written: not absent, null, false, "", 0, {} or []. */
static int
is_some(const json_t *v)
{
	return !(v == NULL || json_is_null(v) || json_is_false(v) ||
	    (json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 0) ||
	    (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0));
}

/* v, hashed as mode says; with elide, v's keys and key_info counted. */
static void
value(struct emit *x, const json_t *v, int mode, int elide, int depth)
{
	const char	*k;
	json_t		*c;
	size_t		 i, n;
	char		 t[64];

	if (x->rc != CF_OK)
		return;
	if (depth > DEPTH_MAX) {
		x->rc = CF_ENOMEM;
		return;
	}
	if (mode == H_NONE && !elide) {
		x->rc = jsonutil_emit(v, x->b);
		return;
	}
	switch (json_typeof(v)) {
	case JSON_STRING:
		if (mode == H_NONE)
			break;
		hashed(x, json_string_value(v), json_string_length(v));
		return;
	case JSON_INTEGER:
		if (mode != H_ALL)
			break;
		n = (size_t)snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
		hashed(x, t, n);
		return;
	case JSON_REAL:
		if (mode != H_ALL)
			break;
		n = (size_t)snprintf(t, sizeof(t), "%.17g",
		    json_real_value(v));
		hashed(x, t, n);
		return;
	case JSON_OBJECT:
		put(x, "{", 1);
		n = 0;
		/* Cast: the iteration reads only. */
		json_object_foreach((json_t *)v, k, c) {
			if (n++ > 0)
				put(x, ",", 1);
			if (x->rc == CF_OK)
				x->rc = jsonutil_emit_str(k,
				    json_object_iter_key_len(
				    json_object_key_to_iter(k)), x->b);
			put(x, ":", 1);
			if (elide && strcmp(k, "keys") == 0 &&
			    json_is_array(c)) {
				snprintf(t, sizeof(t), "%zu",
				    json_array_size(c));
				puts_(x, t);
			} else if (elide && strcmp(k, "key_info") == 0 &&
			    json_is_object(c)) {
				snprintf(t, sizeof(t), "%zu",
				    json_object_size(c));
				puts_(x, t);
			} else
				value(x, c, mode, 0, depth + 1);
		}
		put(x, "}", 1);
		return;
	case JSON_ARRAY:
		put(x, "[", 1);
		for (i = 0; i < json_array_size(v); i++) {
			if (i > 0)
				put(x, ",", 1);
			value(x, json_array_get(v, i), mode, 0, depth + 1);
		}
		put(x, "]", 1);
		return;
	default:
		break;
	}
	if (x->rc == CF_OK)
		x->rc = jsonutil_emit(v, x->b);
}

/* Member k, v as value() writes it, unless v is empty. */
static void
mem_json(struct emit *x, const char *k, const json_t *v, int mode)
{
	if (x->rc != CF_OK || !is_some(v))
		return;
	key(x, k);
	value(x, v, x->f->log_raw ? H_NONE : mode, 0, 0);
}

/* Member k of o, as mem_json; a string hashed if hash. */
static void
mem_get(struct emit *x, const char *k, const json_t *o, const char *ok,
    int hash)
{
	const json_t	*v = json_object_get(o, ok);

	mem_json(x, k, v, hash && json_is_string(v) ? H_STR : H_NONE);
}

static const char *
op_name(int op)
{
	switch (op) {
	case REQ_READ:
		return "read";
	case REQ_CREATE:
		return "create";
	case REQ_UPDATE:
		return "update";
	case REQ_DELETE:
		return "delete";
	case REQ_LIST:
		return "list";
	case REQ_PATCH:
		return "patch";
	default:
		return "header";
	}
}

/* The caller's "auth" block, from the token the router resolved. */
static void
caller_auth(struct emit *x, const struct request *req, int err)
{
	const json_t	*e, *v;
	char		 t[64];
	long long	 n;

	open_(x, "auth", "{");
	mem_str(x, "client_token", req->token, 1, x->tok);
	if (req->auth == NULL || (e = req->auth->entry) == NULL) {
		if (req->token != NULL || err != CF_OK) {
			open_(x, "policy_results", "{");
			mem_bool(x, "allowed", err == CF_OK);
			close_(x, "}");
		}
		mem_lit(x, "token_type", "default");
		close_(x, "}");
		return;
	}
	mem_str(x, "accessor", req->auth->accessor, x->f->hmac_accessor,
	    x->acc);
	mem_get(x, "display_name", e, "display_name", 0);
	mem_get(x, "policies", e, "policies", 0);
	mem_get(x, "token_policies", e, "policies", 0);
	open_(x, "policy_results", "{");
	mem_bool(x, "allowed", err == CF_OK);
	close_(x, "}");
	mem_get(x, "metadata", e, "meta", 0);
	mem_get(x, "remaining_uses", e, "num_uses", 0);
	v = json_object_get(e, "type");
	if (json_is_string(v)) {
		key(x, "token_type");
		if (x->rc == CF_OK)
			x->rc = jsonutil_emit(v, x->b);
	}
	else
		mem_lit(x, "token_type", "service");
	mem_get(x, "token_ttl", e, "creation_ttl", 0);
	if ((n = json_integer_value(json_object_get(e, "issue_time"))) > 0) {
		time_format_rfc3339(t, sizeof(t), n, 0);
		mem_lit(x, "token_issue_time", t);
	}
	close_(x, "}");
}

/* An "auth" block from a login's or token creation's answer. */
static void
resp_auth(struct emit *x, const json_t *ra)
{
	open_(x, "auth", "{");
	mem_get(x, "client_token", ra, "client_token", 1);
	mem_get(x, "accessor", ra, "accessor", x->f->hmac_accessor);
	mem_get(x, "policies", ra, "policies", 0);
	mem_get(x, "token_policies", ra, "token_policies", 0);
	mem_get(x, "metadata", ra, "metadata", 0);
	mem_get(x, "num_uses", ra, "num_uses", 0);
	mem_get(x, "entity_id", ra, "entity_id", 0);
	mem_get(x, "token_type", ra, "token_type", 0);
	mem_get(x, "token_ttl", ra, "lease_duration", 0);
	close_(x, "}");
}

static void
mount_fields(struct emit *x, const struct mount *m, int response)
{
	if (m == NULL)
		return;
	mem_str(x, "mount_point", m->path, 0, NULL);
	mem_str(x, "mount_type", m->type, 0, NULL);
	mem_str(x, "mount_accessor", m->accessor, 0, NULL);
	mem_lit(x, response ? "mount_running_plugin_version" :
	    "mount_running_version", strcmp(m->type, "kv") == 0 ?
	    "v0.15.0+builtin" : "v" CORE_VAULT_VERSION "+builtin.vault");
	mem_lit(x, "mount_class", m->ops->is_auth ? "auth" : "secret");
}

/*
 * "headers": each configured header once, lower-cased, with every value
 * it came with, hashed where the configuration says.
 */
static void
headers_obj(struct emit *x, const struct audit_hdrs *h)
{
	const char	*v;
	size_t		 i, k, len;

	if (h == NULL || h->n == 0)
		return;
	open_(x, "headers", "{");
	for (i = 0; i < h->n && x->rc == CF_OK; i++) {
		for (k = 0; k < i && strcmp(h->h[k].name, h->h[i].name) != 0;
		    k++)
			;
		if (k < i)
			continue;		/* written with its first */
		if (!x->first)
			put(x, ",", 1);
		if (x->rc == CF_OK)
			x->rc = jsonutil_emit_str(h->h[i].name,
			    strlen(h->h[i].name), x->b);
		put(x, ":[", 2);
		x->first = 1;
		for (k = i; k < h->n && x->rc == CF_OK; k++) {
			if (strcmp(h->h[k].name, h->h[i].name) != 0)
				continue;
			if (!x->first)
				put(x, ",", 1);
			x->first = 0;
			v = h->h[k].value;
			len = strlen(v);
			if (h->h[k].hmac && !x->f->log_raw)
				hashed(x, v, len);
			else if ((x->rc = jsonutil_emit_str(v, len, x->b)) ==
			    CF_EINVAL) {
				x->rc = CF_OK;	/* not UTF-8: hashed instead */
				hashed(x, v, len);
			}
		}
		close_(x, "]");
	}
	close_(x, "}");
}

static void
request_obj(struct emit *x, const struct request *req,
    const struct audit_hdrs *hdrs)
{
	char	 t[32];

	open_(x, "request", "{");
	mem_str_(x, "id", req->id, 1, 0, NULL);
	mem_lit(x, "operation", op_name(req->op));
	mount_fields(x, req->mount, 0);
	mem_str(x, "client_token", req->token, 1, x->tok);
	if (req->token != NULL && req->auth != NULL)
		mem_str(x, "client_token_accessor", req->auth->accessor,
		    x->f->hmac_accessor, x->acc);
	open_(x, "namespace", "{");
	mem_lit(x, "id", "root");
	close_(x, "}");
	mem_str_(x, "path", req->path, 1, 0, NULL);
	mem_json(x, "data", req->data, H_ALL);
	mem_str(x, "remote_address", req->remote_addr, 0, NULL);
	if (req->wrap_set && req->wrap_ttl > 0) {
		key(x, "wrap_ttl");
		snprintf(t, sizeof(t), "%lld", req->wrap_ttl);
		puts_(x, t);
	}
	headers_obj(x, hdrs);
	close_(x, "}");
}

/* Text of a failure, and whether it is an internal error or a reply. */
static const char *
fail_text(const struct response *resp, int err)
{
	return resp->err[0] != '\0' ? resp->err : cf_strerror(err);
}

static int
is_internal(const struct response *resp, int err)
{
	int	 st = resp->status != 0 ? resp->status : cf_status(err);

	return err == CF_EDENIED || st >= 500;
}

static void
response_obj(struct emit *x, const struct audit_entry *e)
{
	const struct response	*resp = e->resp;
	const json_t		*w;
	int			 mode;

	open_(x, "response", "{");
	mount_fields(x, e->req->mount, 1);
	if (resp->auth != NULL)
		resp_auth(x, resp->auth);
	if (resp->lease_id[0] != '\0') {
		open_(x, "secret", "{");
		mem_str(x, "lease_id", resp->lease_id, 0, NULL);
		close_(x, "}");
	}
	if (e->err != CF_OK && !is_internal(resp, e->err)) {
		open_(x, "data", "{");
		mem_str(x, "error", fail_text(resp, e->err), 1, NULL);
		close_(x, "}");
	} else if (e->err == CF_OK && is_some(resp->data)) {
		key(x, "data");
		mode = x->f->log_raw ? H_NONE : H_STR;
		value(x, resp->data, mode, e->list && x->f->elide, 0);
	}
	if (e->err == CF_OK)
		mem_json(x, "warnings", resp->warnings, H_NONE);
	if ((w = resp->wrap_info) != NULL) {
		open_(x, "wrap_info", "{");
		mem_get(x, "token", w, "token", 1);
		mem_get(x, "accessor", w, "accessor", x->f->hmac_accessor);
		mem_get(x, "ttl", w, "ttl", 0);
		mem_get(x, "creation_time", w, "creation_time", 0);
		mem_get(x, "creation_path", w, "creation_path", 0);
		mem_get(x, "wrapped_accessor", w, "wrapped_accessor",
		    x->f->hmac_accessor);
		close_(x, "}");
	}
	close_(x, "}");
}

/*
 * The "auth" and "request" members.  The request entry writes them and
 * keeps their text in the memo; the response entry, written for the
 * same request and device, copies it instead of writing (and hashing)
 * them again -- a login's or token creation's keeps only "request",
 * since its "auth" is the answer's.  So both entries show the request
 * as it came and the caller's policy result as the router decided it.
 */
static void
head_members(struct emit *x, const struct audit_entry *e)
{
	struct audit_memo	*m = e->memo;
	size_t			 at = x->b->len, req_at;

	if (e->response && m != NULL && m->head.len > 0) {
		if (e->resp->auth == NULL)
			put(x, m->head.data, m->head.len);
		else {
			resp_auth(x, e->resp->auth);
			put(x, m->head.data + m->req_at,
			    m->head.len - m->req_at);
		}
		x->first = 0;
		return;
	}
	if (e->response && e->resp->auth != NULL)
		resp_auth(x, e->resp->auth);
	else
		caller_auth(x, e->req, e->err);
	req_at = x->b->len - at;
	request_obj(x, e->req, e->hdrs);
	if (!e->response && m != NULL && x->rc == CF_OK) {
		buf_reset(&m->head);
		if ((x->rc = buf_append(&m->head, x->b->data + at,
		    x->b->len - at)) == CF_OK)
			m->req_at = req_at;
	}
}

static int
emit_json(const struct audit_fmt *f, const struct audit_entry *e,
    struct buf *out, int framed)
{
	struct emit	 x;

	memset(&x, 0, sizeof(x));
	x.b = out;
	x.f = f;
	x.rc = buf_reserve(out, 4096);
	if (framed)
		puts_(&x, f->prefix != NULL ? f->prefix : "");
	open_(&x, NULL, "{");
	mem_lit(&x, "time", e->time);
	mem_lit(&x, "type", e->response ? "response" : "request");
	head_members(&x, e);
	if (e->response)
		response_obj(&x, e);
	if (e->err != CF_OK && is_internal(e->resp, e->err)) {
		key(&x, "error");
		if (x.rc == CF_OK && (x.rc = jsonutil_emit_str(fail_text(
		    e->resp, e->err), strlen(fail_text(e->resp, e->err)),
		    x.b)) == CF_EINVAL)
			x.rc = CF_ENOMEM;
	}
	close_(&x, "}");
	if (framed)
		put(&x, "\n", 1);
	sodium_memzero(x.tok, sizeof(x.tok));
	sodium_memzero(x.acc, sizeof(x.acc));
	return x.rc == CF_EINVAL ? CF_ENOMEM : x.rc;
}

int
audit_entry_emit(const struct audit_fmt *f, const struct audit_entry *e,
    struct buf *out)
{
	struct buf	 json = BUF_INIT;
	int		 rc;

	if (!f->jsonx)
		return emit_json(f, e, out, 1);
	if ((rc = emit_json(f, e, &json, 0)) == CF_OK &&
	    (rc = buf_puts(out, f->prefix != NULL ? f->prefix : "")) ==
	    CF_OK)
		rc = audit_jsonx(json.data, json.len, out);
	buf_free(&json);		/* wipes: it may hold secrets */
	return rc;
}
