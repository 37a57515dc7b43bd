/*
 * wrapping.c -- response wrapping: X-Vault-Wrap-TTL and sys/wrapping/.
 *
 * A wrapping token is an ordinary stored service token with the one
 * policy "response-wrapping", no parent, num_uses 1 and TTL and
 * explicit max TTL both the wrap TTL.  Its own cubbyhole holds two
 * entries, as Vault's does:
 *   response    {"response": "<the original answer, as JSON text>"}
 *   wrapinfo    {"creation_path", "creation_time", "creation_ttl"}
 * so revoking or expiring the token destroys the answer with it.
 *
 * Single use: unwrap and rewrap check, read and revoke the wrapping
 * token under one mutex, so of two concurrent unwraps exactly one gets
 * the answer.  A wrapping token never goes through token_authenticate
 * on the wrapping paths (that would spend its use and, with it, the
 * cubbyhole before the handler could read it).
 */
#include "config.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "cubbyhole.h"
#include "err.h"
#include "jsonutil.h"
#include "lock.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "sys.h"
#include "timeutil.h"
#include "token.h"
#include "wrapping.h"

#define WRAP_POLICY	"response-wrapping"
#define PATH_LOOKUP	"sys/wrapping/lookup"
#define PATH_UNWRAP	"sys/wrapping/unwrap"
#define PATH_REWRAP	"sys/wrapping/rewrap"
#define PATH_CUBBY	"cubbyhole/response"
#define TEXT_INVALID	"wrapping token is not valid or does not exist"
#define TEXT_DENIED	"1 error occurred:\n\t* permission denied\n\n"
#define TEXT_BADOP	"1 error occurred:\n\t* unsupported operation\n\n"

/* Held from the check of a wrapping token to its revocation. */
static pthread_mutex_t	 use_mu = PTHREAD_MUTEX_INITIALIZER;

static void
use_lock(void)
{
	lock_mutex(&use_mu, LOCK_RECORD);
}

static void
use_unlock(void)
{
	unlock_mutex(&use_mu);
}

static int
is_write(const struct request *req)
{
	return req->op == REQ_UPDATE || req->op == REQ_CREATE;
}

/* Go's time.ParseDuration units. */
static int
go_unit(const char *u, size_t len)
{
	static const char	*units[] = { "ns", "us", "\xc2\xb5s",
	    "\xce\xbcs", "ms", "s", "m", "h" };
	size_t			 i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (strlen(units[i]) == len && strncmp(u, units[i], len) == 0)
			return 1;
	return 0;
}

/* The text Go's time.ParseDuration gives for a string it refuses. */
static int
duration_error(struct response *resp, const char *s)
{
	const char	*p = s;
	size_t		 n, ul;

	if (*p == '-' || *p == '+')
		p++;
	while (*p != '\0') {
		n = strspn(p, "0123456789.");
		if (n == 0 || (n == 1 && *p == '.'))
			break;
		p += n;
		ul = strcspn(p, "0123456789.");
		if (ul == 0)
			return resp_fail(resp, CF_EINVAL, "error parsing "
			    "X-Vault-Wrap-TTL header: time: missing unit in "
			    "duration \"%s\"", s);
		if (!go_unit(p, ul))
			return resp_fail(resp, CF_EINVAL, "error parsing "
			    "X-Vault-Wrap-TTL header: time: unknown unit "
			    "\"%.*s\" in duration \"%s\"", (int)ul, p, s);
		p += ul;
	}
	return resp_fail(resp, CF_EINVAL, "error parsing X-Vault-Wrap-TTL "
	    "header: time: invalid duration \"%s\"", s);
}

/* "[+-]digits": 1 and the value, or 0 if s is not that (or too long). */
static int
plain_int(const char *s, size_t len, long long *out)
{
	long long	 v = 0;
	size_t		 i = 0;
	int		 neg = 0;

	if (len > 0 && (s[0] == '-' || s[0] == '+')) {
		neg = s[0] == '-';
		i = 1;
	}
	if (i == len || len - i > 15)
		return 0;
	for (; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		v = v * 10 + (s[i] - '0');
	}
	*out = neg ? -v : v;
	return 1;
}

/*
 * Vault's parseutil.ParseDurationSecond: "<n>d" is days, a bare integer
 * seconds, anything else a Go duration.  A negative result is refused.
 */
int
wrapping_parse(struct request *req, struct response *resp)
{
	const char	*s = req->wrap_hdr;
	long long	 v;
	size_t		 len;
	int		 neg;

	if (req->wrap_set || s == NULL || *s == '\0')
		return CF_OK;
	len = strlen(s);
	if (s[len - 1] == 'd') {
		if (!plain_int(s, len - 1, &v))
			return resp_fail(resp, CF_EINVAL, "error parsing "
			    "X-Vault-Wrap-TTL header: strconv.ParseInt: "
			    "parsing \"%.*s\": invalid syntax", (int)(len - 1),
			    s);
		if (v > DURATION_MAX / 86400)
			return duration_error(resp, s);
		v *= 86400;
	} else if (!plain_int(s, len, &v)) {
		neg = *s == '-';
		if (duration_parse(s + (neg || *s == '+'), &v) != CF_OK)
			return duration_error(resp, s);
		if (neg)
			v = -v;
	}
	if (v < 0)
		return resp_fail(resp, CF_EINVAL, "error parsing "
		    "X-Vault-Wrap-TTL header: requested wrap ttl cannot be "
		    "negative");
	if (v > DURATION_MAX)
		return duration_error(resp, s);
	req->wrap_ttl = v;
	req->wrap_set = 1;
	return CF_OK;
}

int
wrapping_is_path(const char *path)
{
	return strcmp(path, PATH_LOOKUP) == 0 ||
	    strcmp(path, PATH_UNWRAP) == 0 || strcmp(path, PATH_REWRAP) == 0;
}

/*
 * The wrapping token a request names: its data's "token" (third party,
 * *third = 1), else its own token.  Vault's 403 texts otherwise.
 */
static int
token_of(struct request *req, struct response *resp, const char **tok,
    int *third)
{
	json_t	*v = json_object_get(req->data, "token");

	*tok = NULL;
	*third = 0;
	if (v != NULL && !json_is_null(v)) {
		if (!json_is_string(v))
			return resp_fail(resp, CF_EDENIED, "error validating "
			    "wrapping token: could not decode token in "
			    "request body");
		if (*json_string_value(v) == '\0')
			return resp_fail(resp, CF_EDENIED, "error validating "
			    "wrapping token: empty token in request body");
		*tok = json_string_value(v);
		*third = 1;
		return CF_OK;
	}
	if (req->token == NULL || *req->token == '\0')
		return resp_fail(resp, CF_EDENIED, "error validating wrapping "
		    "token: token is empty");
	*tok = req->token;
	return CF_OK;
}

/*
 * Hash (in hash) of tok if it is a live wrapping token; else Vault's
 * 400.  An expired one is revoked on the way.
 */
static int
token_valid(const char *tok, struct response *resp, char *hash)
{
	json_t		*e = NULL, *pols;
	const char	*p;
	long long	 exp;
	int		 rc;

	if (strlen(tok) > 4096 || strncmp(tok, "hvb.", 4) == 0)
		return resp_fail(resp, CF_EINVAL, TEXT_INVALID);
	if ((rc = token_hash(tok, hash)) != CF_OK)
		return rc;
	if ((rc = token_entry(hash, &e)) == CF_ENOTFOUND)
		return resp_fail(resp, CF_EINVAL, TEXT_INVALID);
	if (rc != CF_OK)
		return rc;
	pols = json_object_get(e, "policies");
	p = json_string_value(json_array_get(pols, 0));
	exp = json_integer_value(json_object_get(e, "expire_time"));
	if (json_array_size(pols) != 1 || p == NULL ||
	    strcmp(p, WRAP_POLICY) != 0)
		rc = resp_fail(resp, CF_EINVAL, TEXT_INVALID);
	else if (exp != 0 && exp <= (long long)time(NULL)) {
		if ((rc = token_revoke(hash, 0)) == CF_OK)
			rc = resp_fail(resp, CF_EINVAL, TEXT_INVALID);
	}
	json_decref(e);
	return rc;
}

/*
 * GET cubbyhole/response with the wrapping token itself, as clients from
 * before sys/wrapping/unwrap do: Vault answers the stored response as
 * JSON text in data.response, with its deprecation warning, and the
 * read spends the token's one use.  Any other token reads its own
 * cubbyhole as usual.
 */
static int
cubby_response(struct request *req, struct response *resp, int *skip)
{
	struct response	 scratch;
	char		 hash[TOKEN_HASH_LEN + 1];
	json_t		*stored = NULL;
	const char	*s;
	int		 rc;

	if (req->token == NULL || *req->token == '\0')
		return CF_OK;
	resp_init(&scratch);
	use_lock();
	if ((rc = token_valid(req->token, &scratch, hash)) == CF_OK) {
		rc = cubbyhole_get(hash, "response", &stored);
		if (rc == CF_OK || rc == CF_ENOTFOUND) {
			int	 rrc = token_revoke(hash, 0);

			if (rrc != CF_OK)
				rc = rrc;
		}
		*skip = 2;
	} else if (rc == CF_EINVAL)
		rc = CF_OK;		/* not a wrapping token */
	use_unlock();
	resp_fini(&scratch);
	sodium_memzero(hash, sizeof(hash));
	if (*skip != 2 || rc != CF_OK)
		goto out;
	s = json_string_value(json_object_get(stored, "response"));
	resp->wipe = 1;
	if ((rc = resp_data(resp, json_pack("{s:s}", "response",
	    s != NULL ? s : ""))) == CF_OK)
		rc = resp_warn(resp, "Reading from 'cubbyhole/response' is "
		    "deprecated. Please use sys/wrapping/unwrap to unwrap "
		    "responses, as it provides additional security checks "
		    "and other benefits.");
 out:
	json_decref(stored);
	return rc;
}

int
wrapping_precheck(struct request *req, struct response *resp, int *skip)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*tok;
	int		 rc, third;

	*skip = 0;
	if (req->op == REQ_READ && strcmp(req->path, PATH_CUBBY) == 0)
		return cubby_response(req, resp, skip);
	if (!wrapping_is_path(req->path))
		return CF_OK;
	if ((rc = token_of(req, resp, &tok, &third)) != CF_OK ||
	    (rc = token_valid(tok, resp, hash)) != CF_OK)
		goto out;
	if (strcmp(req->path, PATH_LOOKUP) == 0)
		*skip = 1;		/* unauthenticated */
	else if (!third) {
		/*
		 * The wrapping token is the caller.  Its one use is spent
		 * by this request, and its policy allows only an unwrap.
		 */
		*skip = 1;
		if (strcmp(req->path, PATH_UNWRAP) != 0 || !is_write(req)) {
			use_lock();
			rc = token_revoke(hash, 0);
			use_unlock();
			if (rc == CF_OK)
				rc = resp_fail(resp, CF_EDENIED, TEXT_DENIED);
		}
	}
 out:
	sodium_memzero(hash, sizeof(hash));
	return rc;
}

/*
 * Store resp's answer as JSON text in out, as unwrap gives it back:
 * Vault's envelope with this request's id and no wrap_info.  A raw or
 * relayed answer is kept as Vault keeps raw ones, in data's
 * http_status_code, http_content_type and http_raw_body (base64).
 */
static int
stored_emit(const struct request *req, const struct response *resp,
    struct buf *out)
{
	struct buf	 rawb = BUF_INIT;
	json_t		*env = NULL, *raw = NULL, *data = resp->data;
	char		*b64 = NULL;
	size_t		 cap;
	int		 rc = CF_ENOMEM;

	if (resp->raw || resp->relay) {
		if (resp->relay)
			rc = buf_set(&rawb, resp->relay_body.data,
			    resp->relay_body.len);
		else
			rc = jsonutil_emit(resp->data, &rawb);
		if (rc != CF_OK)
			goto out;
		rc = CF_ENOMEM;
		cap = sodium_base64_ENCODED_LEN(rawb.len,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((b64 = malloc(cap)) == NULL)
			goto out;
		sodium_bin2base64(b64, cap, (const unsigned char *)
		    (rawb.data != NULL ? rawb.data : ""), rawb.len,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((raw = json_pack("{s:s, s:s, s:i}", "http_content_type",
		    "application/json", "http_raw_body", b64,
		    "http_status_code", resp->status != 0 ? resp->status :
		    200)) == NULL)
			goto out;
		data = raw;
	}
	env = json_pack("{s:s, s:s, s:b, s:I, s:O?, s:n, s:O?, s:O?}",
	    "request_id", req->id, "lease_id", resp->lease_id,
	    "renewable", resp->renewable,
	    "lease_duration", (json_int_t)resp->lease_duration,
	    "data", data, "wrap_info", "warnings", resp->warnings,
	    "auth", resp->auth);
	if (env == NULL)
		goto out;
	rc = jsonutil_emit(env, out);
 out:
	if (b64 != NULL) {
		sodium_memzero(b64, strlen(b64));
		free(b64);
	}
	buf_free(&rawb);
	json_decref(raw);
	json_decref(env);
	return rc;
}

/*
 * Make a wrapping token holding stored (JSON text) and turn resp into
 * its wrap_info.  path: the token's own path; cpath: creation_path.
 * On failure nothing is left behind and resp is untouched.
 */
static int
wrap_store(struct response *resp, long long ttl, const char *path,
    const char *cpath, const char *stored, const char *wrapped_acc)
{
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	struct timespec		 ts;
	char			 hash[TOKEN_HASH_LEN + 1], when[64];
	char			*tok = NULL;
	json_t			*entry = NULL, *cub = NULL, *info = NULL;
	json_t			*wi = NULL;
	int			 rc, made = 0;

	hash[0] = '\0';
	if ((rc = strv_push(&pols, WRAP_POLICY)) != CF_OK)
		goto out;
	if ((tok = sodium_malloc(TOKEN_MAX_LEN + 1)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	memset(&tp, 0, sizeof(tp));
	tp.policies = &pols;
	tp.path = path;
	tp.display_name = "";
	tp.ttl = ttl;
	tp.explicit_max_ttl = ttl;
	tp.num_uses = 1;
	if ((rc = token_create(&tp, tok, &entry)) != CF_OK)
		goto out;
	made = 1;
	if ((rc = token_hash(tok, hash)) != CF_OK)
		goto out;
	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(when, sizeof(when), (long long)ts.tv_sec,
	    ts.tv_nsec);
	if ((cub = json_pack("{s:s}", "response", stored)) == NULL ||
	    (info = json_pack("{s:s, s:s, s:I}", "creation_path", cpath,
	    "creation_time", when, "creation_ttl", (json_int_t)ttl)) ==
	    NULL ||
	    (wi = json_pack("{s:s, s:s, s:I, s:s, s:s}", "token", tok,
	    "accessor", json_string_value(json_object_get(entry,
	    "accessor")), "ttl", (json_int_t)ttl, "creation_time", when,
	    "creation_path", cpath)) == NULL ||
	    (wrapped_acc != NULL && *wrapped_acc != '\0' &&
	    json_object_set_new(wi, "wrapped_accessor",
	    json_string(wrapped_acc)) != 0)) {
		rc = CF_ENOMEM;
		goto out;
	}
	if ((rc = cubbyhole_put(hash, "response", cub)) != CF_OK ||
	    (rc = cubbyhole_put(hash, "wrapinfo", info)) != CF_OK)
		goto out;
	/* Only wrap_info goes out: the answer lives in the cubbyhole. */
	json_decref(resp->data);
	json_decref(resp->auth);
	json_decref(resp->warnings);
	resp->data = resp->auth = resp->warnings = NULL;
	resp->lease_id[0] = '\0';
	resp->renewable = 0;
	resp->lease_duration = 0;
	resp->raw = resp->inject = resp->relay = 0;
	resp->status = 0;
	resp->wipe = 1;
	buf_free(&resp->relay_headers);
	buf_free(&resp->relay_body);
	resp->wrap_info = wi;
	wi = NULL;
	made = 0;
 out:
	if (made && hash[0] != '\0' && token_revoke(hash, 0) != CF_OK)
		log_warnx("wrapping: a wrapping token could not be revoked "
		    "after a failed wrap");
	if (rc != CF_OK && rc != CF_ENOMEM)
		log_warnx("wrapping: %s", cf_errname(rc));
	if (tok != NULL)
		sodium_free(tok);
	sodium_memzero(hash, sizeof(hash));
	json_decref(entry);
	json_decref(cub);
	json_decref(info);
	json_decref(wi);
	strv_free(&pols);
	return rc;
}

/* Wrap resp for req, as asked, with ttl seconds. */
static int
wrap_response(struct request *req, struct response *resp, long long ttl)
{
	struct buf	 b = BUF_INIT;
	char		 acc[128];
	const char	*a = NULL;
	int		 rc;

	if (resp->auth != NULL)
		a = json_string_value(json_object_get(resp->auth,
		    "accessor"));
	else if (req->mount != NULL && strcmp(req->mount->type,
	    "approle") == 0)
		a = json_string_value(json_object_get(resp->data,
		    "secret_id_accessor"));
	strlcpy(acc, a != NULL ? a : "", sizeof(acc));
	if ((rc = stored_emit(req, resp, &b)) == CF_OK)
		rc = wrap_store(resp, ttl, req->path, req->path,
		    b.data, acc);
	buf_free(&b);
	return rc;
}

int
wrapping_finish(struct request *req, struct response *resp)
{
	json_t	*keys;

	if (resp->wrap_info != NULL || !req->wrap_set || req->wrap_ttl <= 0)
		return CF_OK;
	if (resp->status >= 400)
		return CF_OK;
	if (resp->raw || resp->relay) {
		if (resp->raw && resp->data == NULL)
			return CF_OK;
		return wrap_response(req, resp, req->wrap_ttl);
	}
	keys = json_object_get(resp->data, "keys");
	if (req->op == REQ_LIST && resp->auth == NULL &&
	    ((resp->data == NULL && resp->warnings == NULL) ||
	    (keys != NULL && json_array_size(keys) == 0)))
		return resp_fail(resp, CF_ENOTFOUND, "unsupported path");
	if (resp->data == NULL && resp->auth == NULL && resp->warnings == NULL)
		return CF_OK;		/* a 204 (or 404): nothing to wrap */
	return wrap_response(req, resp, req->wrap_ttl);
}

/*
 * With use_mu held: check the wrapping token req names and read what
 * its cubbyhole holds (*wrapinfo may be NULL if not wanted).  hash is
 * set for the caller to revoke it.
 */
static int
take(struct request *req, struct response *resp, char *hash,
    json_t **response, json_t **wrapinfo)
{
	const char	*tok;
	int		 rc, third;

	*response = NULL;
	if (wrapinfo != NULL)
		*wrapinfo = NULL;
	if ((rc = token_of(req, resp, &tok, &third)) != CF_OK ||
	    (rc = token_valid(tok, resp, hash)) != CF_OK)
		return rc;
	if ((rc = cubbyhole_get(hash, "response", response)) == CF_OK &&
	    wrapinfo != NULL)
		rc = cubbyhole_get(hash, "wrapinfo", wrapinfo);
	if (rc == CF_ENOTFOUND)
		rc = resp_fail(resp, CF_EINVAL, TEXT_INVALID);
	if (rc != CF_OK) {
		json_decref(*response);
		*response = NULL;
	}
	return rc;
}

/*
 * The answer unwrap gives: the stored text byte for byte, or a stored
 * raw answer with its own status, content type and body.
 */
static int
unwrap_reply(const char *s, struct response *resp)
{
	json_t		*j = NULL, *data;
	const char	*ct, *b64;
	size_t		 len, n;
	int		 rc = CF_OK;

	if (s == NULL || *s == '\0')
		return CF_OK;		/* 204 */
	if ((j = json_loads(s, 0, NULL)) == NULL)
		return CF_EINTERNAL;
	data = json_object_get(j, "data");
	resp->relay = 1;
	resp->status = 200;
	if (json_is_integer(json_object_get(data, "http_status_code"))) {
		resp->status = (int)json_integer_value(json_object_get(data,
		    "http_status_code"));
		ct = json_string_value(json_object_get(data,
		    "http_content_type"));
		b64 = json_string_value(json_object_get(data,
		    "http_raw_body"));
		if (ct == NULL)
			ct = "application/json";
		if (b64 == NULL)
			b64 = "";
		len = strlen(b64);
		if ((rc = buf_printf(&resp->relay_headers,
		    "Content-Type: %s\n", ct)) != CF_OK ||
		    (rc = buf_reserve(&resp->relay_body, len + 1)) != CF_OK)
			goto out;
		if (sodium_base642bin((unsigned char *)resp->relay_body.data,
		    len + 1, b64, len, NULL, &n, NULL,
		    sodium_base64_VARIANT_ORIGINAL) == 0)
			resp->relay_body.len = n;
		else
			rc = buf_set(&resp->relay_body, b64, len);
		goto out;
	}
	if ((rc = buf_puts(&resp->relay_headers,
	    "Content-Type: application/json\n")) != CF_OK)
		goto out;
	rc = buf_set(&resp->relay_body, s, strlen(s));
 out:
	json_decref(j);
	return rc;
}

static int
sys_wrap(struct request *req, struct response *resp)
{
	struct buf	 b = BUF_INIT;
	int		 rc;

	if (!is_write(req))
		return resp_fail(resp, CF_EMETHOD, TEXT_BADOP);
	if (!req->wrap_set || req->wrap_ttl <= 0)
		return resp_fail(resp, CF_EINVAL,
		    "endpoint requires response wrapping to be used");
	if (!req->body_empty && (resp->data = json_deep_copy(req->data)) ==
	    NULL)
		return CF_ENOMEM;
	if ((rc = stored_emit(req, resp, &b)) == CF_OK)
		rc = wrap_store(resp, req->wrap_ttl, req->path, req->path,
		    b.data, NULL);
	buf_free(&b);
	return rc;
}

static int
sys_lookup(struct request *req, struct response *resp)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	const char	*tok;
	json_t		*info = NULL;
	int		 rc, third;

	if (!is_write(req) && req->op != REQ_READ)
		return resp_fail(resp, CF_EMETHOD, TEXT_BADOP);
	if ((rc = token_of(req, resp, &tok, &third)) != CF_OK ||
	    (rc = token_valid(tok, resp, hash)) != CF_OK)
		goto out;
	if ((rc = cubbyhole_get(hash, "wrapinfo", &info)) == CF_ENOTFOUND)
		rc = resp_fail(resp, CF_EINVAL, TEXT_INVALID);
	else if (rc == CF_OK) {
		rc = resp_data(resp, info);
		info = NULL;
	}
 out:
	sodium_memzero(hash, sizeof(hash));
	json_decref(info);
	return rc;
}

static int
sys_unwrap(struct request *req, struct response *resp)
{
	char	 hash[TOKEN_HASH_LEN + 1];
	json_t	*stored = NULL;
	int	 rc;

	if (!is_write(req))
		return resp_fail(resp, CF_EMETHOD, TEXT_BADOP);
	use_lock();
	if ((rc = take(req, resp, hash, &stored, NULL)) == CF_OK)
		rc = token_revoke(hash, 0);
	use_unlock();
	if (rc == CF_OK)
		rc = unwrap_reply(json_string_value(json_object_get(stored,
		    "response")), resp);
	sodium_memzero(hash, sizeof(hash));
	json_decref(stored);
	return rc;
}

static int
sys_rewrap(struct request *req, struct response *resp)
{
	char		 hash[TOKEN_HASH_LEN + 1];
	json_t		*stored = NULL, *info = NULL;
	const char	*s, *cpath;
	long long	 ttl;
	int		 rc;

	if (!is_write(req))
		return resp_fail(resp, CF_EMETHOD, TEXT_BADOP);
	use_lock();
	if ((rc = take(req, resp, hash, &stored, &info)) != CF_OK)
		goto out;
	s = json_string_value(json_object_get(stored, "response"));
	cpath = json_string_value(json_object_get(info, "creation_path"));
	ttl = json_integer_value(json_object_get(info, "creation_ttl"));
	if (req->wrap_set && req->wrap_ttl > 0 && req->wrap_ttl < ttl)
		ttl = req->wrap_ttl;
	if (s == NULL || cpath == NULL || ttl <= 0) {
		rc = CF_EINTERNAL;
		goto out;
	}
	/* The new token first: a failure leaves the old one usable. */
	if ((rc = wrap_store(resp, ttl, PATH_REWRAP, cpath, s, NULL)) ==
	    CF_OK)
		rc = token_revoke(hash, 0);
 out:
	use_unlock();
	sodium_memzero(hash, sizeof(hash));
	json_decref(stored);
	json_decref(info);
	return rc;
}

void
wrapping_register(void)
{
	static const struct router_wrap_ops ops = {
		.parse = wrapping_parse,
		.token_path = wrapping_is_path,
		.begin = wrapping_precheck,
		.finish = wrapping_finish,
	};

	router_wrapping(&ops);
	sys_route("wrapping/wrap", 0, sys_wrap);
	sys_route("wrapping/lookup", 0, sys_lookup);
	sys_route("wrapping/unwrap", 0, sys_unwrap);
	sys_route("wrapping/rewrap", 0, sys_rewrap);
}
