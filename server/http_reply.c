/*
 * http_reply.c -- writing an answer as Vault does.
 *
 * Every answer carries exactly the headers Vault clients check:
 * "Content-Type: application/json" with no charset (hvac compares the
 * string before it reads "errors"), "Cache-Control: no-store", and one
 * JSON document followed by a newline.  The head and the body go out
 * in one write.  Response text is wiped after it is written: it may
 * hold secrets.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "err.h"
#include "http_reply.h"
#include "jsonutil.h"
#include "log.h"
#include "req.h"

/*
 * Close the connection after this answer.  The answer's Connection
 * header must say so, and civetweb 1.15 cannot be asked, so the worker
 * notes it (a worker serves one request at a time).
 */
static _Thread_local int	 closing;

void
http_close_after(struct mg_connection *conn)
{
	closing = 1;
	mg_disable_connection_keep_alive(conn);
}

void
http_reply_start(void)
{
	closing = 0;
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

const char *
http_reason_phrase(int status)
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
		http_close_after(conn);
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
	s = http_reason_phrase(status);
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

int
http_reply(struct mg_connection *conn, const struct request *req, int err,
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
		    resp->data != NULL || resp->text.len > 0 ? 200 : 204;
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
	    buf_puts(&body, "\n") != CF_OK)) || (resp->text.len > 0 &&
	    (buf_append(&body, resp->text.data, resp->text.len) != CF_OK ||
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
