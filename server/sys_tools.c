/*
 * sys_tools.c -- sys/metrics, sys/in-flight-req, sys/tools/random,
 * sys/tools/hash, sys/version-history, sys/internal/counters/requests
 * and the rekey backup paths; it also registers sys/host-info, whose
 * handler is sys_hostinfo.c's.
 *
 * All are logical sys/ routes: the router has checked the token and the
 * ACL (or, for sys/metrics on a listener with
 * unauthenticated_metrics_access, sys.c called the path open).  The
 * figures come from metrics.c; nothing here holds a lock of its own.
 */
#include "config.h"

#include <ctype.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "metrics.h"
#include "req.h"
#include "sys.h"
#include "sys_hostinfo.h"
#include "sys_tools.h"
#include "timeutil.h"

#define RANDOM_MAX_BYTES	131072
#define VERSIONS_PREFIX		"core/versions/"
/* When Vault built the release coffer answers as. */
#define BUILD_DATE		"2023-12-04T17:45:19Z"

/* A string field, or def when it is absent. */
static int
str_or(struct request *req, struct response *resp, const char *key,
    const char *def, const char **out)
{
	int	 rc;

	if ((rc = req_str(req, resp, key, out, NULL)) == CF_OK && *out == NULL)
		*out = def;
	return rc;
}

static int
method_not_allowed(struct response *resp)
{
	resp->err_empty = 1;
	return CF_EMETHOD;
}

/* A text/plain answer, written as it is (http.c's relay path). */
static int
text_reply(struct response *resp, int status, const char *ctype,
    const struct buf *body)
{
	resp->relay = 1;
	resp->status = status;
	if (buf_printf(&resp->relay_headers, "Content-Type: %s\n", ctype) !=
	    CF_OK || buf_append(&resp->relay_body, body->data, body->len) !=
	    CF_OK)
		return CF_ENOMEM;
	return CF_OK;
}

static const char *
header(const struct request *req, const char *name)
{
	int	 i;

	for (i = 0; i < req->nheaders; i++)
		if (strcasecmp(req->headers[i].name, name) == 0)
			return req->headers[i].value;
	return NULL;
}

/* Vault's choice when format is empty: what the scraper accepts. */
static int
accepts_prometheus(const struct request *req)
{
	const char	*a = header(req, "Accept");

	if (a == NULL)
		return 0;
	while (*a == ' ')
		a++;
	return strncmp(a, "application/openmetrics-text", 28) == 0 ||
	    strstr(a, "prometheus/telemetry") != NULL;
}

static int
sys_metrics(struct request *req, struct response *resp)
{
	struct buf	 b = BUF_INIT;
	json_t		*o;
	const char	*format = "";
	int		 rc;

	if (req->op != REQ_READ)
		return method_not_allowed(resp);
	if ((rc = str_or(req, resp, "format", "", &format)) != CF_OK)
		return rc;
	if (*format == '\0' && accepts_prometheus(req))
		format = "prometheus";
	if (strcmp(format, "prometheus") == 0) {
		if ((rc = metrics_prometheus(&b)) == CF_OK)
			rc = text_reply(resp, 200,
			    "text/plain; version=0.0.4; charset=utf-8", &b);
	} else if (*format != '\0') {
		if ((rc = buf_printf(&b, "metric response format \"%s\" "
		    "unknown", format)) == CF_OK)
			rc = text_reply(resp, 400, "text/plain", &b);
	} else if ((rc = metrics_json(&o)) == CF_OK) {
		resp->raw = 1;
		resp->data = o;
	}
	buf_free(&b);
	return rc;
}

static int
sys_in_flight_req(struct request *req, struct response *resp)
{
	json_t	*o;
	int	 rc;

	if (req->op != REQ_READ)
		return method_not_allowed(resp);
	if ((rc = metrics_inflight(&o)) != CF_OK)
		return rc;
	resp->raw = 1;
	resp->data = o;
	return CF_OK;
}

/* --- sys/tools/random and sys/tools/hash */

static int
encode(struct response *resp, const char *format, const unsigned char *p,
    size_t len, char **out)
{
	size_t	 cap;

	if (strcmp(format, "hex") == 0) {
		cap = len * 2 + 1;
		if ((*out = malloc(cap)) == NULL)
			return CF_ENOMEM;
		sodium_bin2hex(*out, cap, p, len);
	} else {
		cap = sodium_base64_ENCODED_LEN(len,
		    sodium_base64_VARIANT_ORIGINAL);
		if ((*out = malloc(cap)) == NULL)
			return CF_ENOMEM;
		sodium_bin2base64(*out, cap, p, len,
		    sodium_base64_VARIANT_ORIGINAL);
	}
	(void)resp;
	return CF_OK;
}

static int
is_source(const char *s)
{
	return strcmp(s, "platform") == 0 || strcmp(s, "seal") == 0 ||
	    strcmp(s, "all") == 0;
}

/* Go's strconv.Atoi on a URL segment: digits with an optional sign. */
static int
atoi_go(const char *s, long long *out)
{
	const char	*p = s;
	long long	 v = 0;
	int		 neg = 0;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (*p == '\0')
		return -1;
	for (; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p) || v > (LLONG_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*p - '0');
	}
	*out = neg ? -v : v;
	return 0;
}

static int
sys_tools_random(struct request *req, struct response *resp)
{
	const char	*rest = req->rel + strlen("tools/random");
	const char	*format = "base64", *slash;
	char		 source[128] = "", ubytes[128] = "";
	unsigned char	*p;
	char		*enc = NULL;
	long long	 bytes = 32;
	int		 rc, given;

	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return method_not_allowed(resp);
	/* "/source", "/bytes" or "/source/bytes". */
	if (*rest == '/') {
		rest++;
		if ((slash = strchr(rest, '/')) != NULL) {
			snprintf(source, sizeof(source), "%.*s",
			    (int)(slash - rest), rest);
			strlcpy(ubytes, slash + 1, sizeof(ubytes));
		} else if (is_source(rest))
			strlcpy(source, rest, sizeof(source));
		else
			strlcpy(ubytes, rest, sizeof(ubytes));
	}
	if ((rc = req_int(req, resp, "bytes", &bytes, NULL)) != CF_OK ||
	    (rc = str_or(req, resp, "format", "base64", &format)) != CF_OK)
		return rc;
	/* The path's capture replaces the body's, as in Vault. */
	if (json_object_get(req->data, "source") != NULL &&
	    (rc = resp_warn(resp, "Endpoint replaced the value of these "
	    "parameters with the values captured from the endpoint's path: "
	    "[source]")) != CF_OK)
		return rc;
	if (ubytes[0] != '\0' && atoi_go(ubytes, &bytes) != 0)
		return resp_fail(resp, CF_EINVAL, "error parsing url-set byte "
		    "count: strconv.Atoi: parsing \"%s\": invalid syntax",
		    ubytes);
	if (bytes < 1)
		return resp_fail(resp, CF_EINVAL,
		    "\"bytes\" cannot be less than 1");
	if (bytes > RANDOM_MAX_BYTES)
		return resp_fail(resp, CF_EINVAL,
		    "\"bytes\" should be less than %d", RANDOM_MAX_BYTES);
	if (strcmp(format, "hex") != 0 && strcmp(format, "base64") != 0)
		return resp_fail(resp, CF_EINVAL, "unsupported encoding format "
		    "\"%s\"; must be \"hex\" or \"base64\"", format);
	if (source[0] != '\0' && !is_source(source))
		return resp_fail(resp, CF_EINVAL, "unsupported entropy source "
		    "\"%s\"; must be \"platform\" or \"seal\", or \"all\"",
		    source);
	/* A Shamir seal adds no entropy: the platform's is all there is. */
	if (strcmp(source, "seal") == 0 && (rc = resp_warn(resp,
	    "no seal/entropy augmentation available, using platform "
	    "entropy source")) != CF_OK)
		return rc;
	if ((p = malloc((size_t)bytes)) == NULL)
		return CF_ENOMEM;
	randombytes_buf(p, (size_t)bytes);
	rc = encode(resp, format, p, (size_t)bytes, &enc);
	sodium_memzero(p, (size_t)bytes);
	free(p);
	if (rc != CF_OK)
		return rc;
	given = resp_data(resp, json_pack("{s:s}", "random_bytes", enc));
	sodium_memzero(enc, strlen(enc));
	free(enc);
	return given;
}

static int
b64val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/*
 * Go's base64.StdEncoding.DecodeString: CR and LF skipped, padding
 * required; on failure *bad is the offset Go's CorruptInputError names.
 */
static int
b64_decode_go(const char *s, struct buf *out, size_t *bad)
{
	size_t		 len = strlen(s), si = 0;
	unsigned char	 q[4], o[3];
	int		 j, v, n;

	while (si < len) {
		for (j = 0; j < 4; j++) {
			if (si == len) {
				if (j == 0)
					return CF_OK;
				*bad = si - j;
				return CF_EINVAL;
			}
			v = b64val((unsigned char)s[si++]);
			if (v >= 0) {
				q[j] = (unsigned char)v;
				continue;
			}
			if (s[si - 1] == '\n' || s[si - 1] == '\r') {
				j--;
				continue;
			}
			if (s[si - 1] != '=' || j < 2) {
				*bad = si - 1;
				return CF_EINVAL;
			}
			/* Padding: "xx==" or "xxx=". */
			if (j == 2) {
				while (si < len && (s[si] == '\n' ||
				    s[si] == '\r'))
					si++;
				if (si == len) {
					*bad = len;
					return CF_EINVAL;
				}
				if (s[si] != '=') {
					*bad = si - 1;
					return CF_EINVAL;
				}
				si++;
			}
			while (si < len && (s[si] == '\n' || s[si] == '\r'))
				si++;
			if (si < len) {
				*bad = si;
				return CF_EINVAL;
			}
			break;
		}
		n = j == 4 ? 3 : j - 1;
		o[0] = (unsigned char)(q[0] << 2 | q[1] >> 4);
		o[1] = (unsigned char)(q[1] << 4 | (j > 2 ? q[2] >> 2 : 0));
		o[2] = (unsigned char)(q[2] << 6 | (j > 3 ? q[3] : 0));
		if (buf_append(out, o, (size_t)n) != CF_OK)
			return CF_ENOMEM;
		if (j < 4)
			return CF_OK;
	}
	return CF_OK;
}

static const EVP_MD *
hash_md(const char *a)
{
	if (strcmp(a, "sha2-224") == 0)
		return EVP_sha224();
	if (strcmp(a, "sha2-256") == 0)
		return EVP_sha256();
	if (strcmp(a, "sha2-384") == 0)
		return EVP_sha384();
	if (strcmp(a, "sha2-512") == 0)
		return EVP_sha512();
	if (strcmp(a, "sha3-224") == 0)
		return EVP_sha3_224();
	if (strcmp(a, "sha3-256") == 0)
		return EVP_sha3_256();
	if (strcmp(a, "sha3-384") == 0)
		return EVP_sha3_384();
	if (strcmp(a, "sha3-512") == 0)
		return EVP_sha3_512();
	return NULL;
}

static int
sys_tools_hash(struct request *req, struct response *resp)
{
	const char	*rest = req->rel + strlen("tools/hash");
	const char	*input = "", *format = "hex", *alg = "sha2-256";
	const EVP_MD	*md;
	struct buf	 in = BUF_INIT;
	unsigned char	 sum[EVP_MAX_MD_SIZE];
	unsigned int	 sumlen;
	char		*enc = NULL;
	size_t		 bad = 0;
	int		 rc;

	if (req->op != REQ_UPDATE && req->op != REQ_CREATE)
		return method_not_allowed(resp);
	if ((rc = str_or(req, resp, "input", "", &input)) != CF_OK ||
	    (rc = str_or(req, resp, "format", "hex", &format)) != CF_OK ||
	    (rc = str_or(req, resp, "algorithm", "sha2-256", &alg)) != CF_OK)
		return rc;
	if (*rest == '/' && rest[1] != '\0')
		alg = rest + 1;
	if ((rc = b64_decode_go(input, &in, &bad)) != CF_OK) {
		buf_free(&in);
		if (rc == CF_EINVAL)
			return resp_fail(resp, rc, "unable to decode input as "
			    "base64: illegal base64 data at input byte %zu",
			    bad);
		return rc;
	}
	if (strcmp(format, "hex") != 0 && strcmp(format, "base64") != 0)
		rc = resp_fail(resp, CF_EINVAL, "unsupported encoding format "
		    "%s; must be \"hex\" or \"base64\"", format);
	else if ((md = hash_md(alg)) == NULL)
		rc = resp_fail(resp, CF_EINVAL, "unsupported algorithm %s",
		    alg);
	else if (EVP_Digest(in.len > 0 ? in.data : (void *)"", in.len, sum,
	    &sumlen, md, NULL) != 1)
		rc = CF_EINTERNAL;
	else if ((rc = encode(resp, format, sum, sumlen, &enc)) == CF_OK) {
		rc = resp_data(resp, json_pack("{s:s}", "sum", enc));
		free(enc);
	}
	buf_free(&in);
	return rc;
}

/* --- sys/version-history */

/* On becoming active: note this version the first time it runs here. */
static int
version_record(void)
{
	json_t		*o;
	char		 at[64];
	int		 rc;

	rc = core_get_json(VERSIONS_PREFIX CORE_VAULT_VERSION, &o);
	if (rc == CF_OK) {
		json_decref(o);
		return CF_OK;
	}
	if (rc != CF_ENOTFOUND)
		return rc;
	time_format_rfc3339(at, sizeof(at), time(NULL), 0);
	if ((o = json_pack("{s:s, s:s}", "timestamp_installed", at,
	    "build_date", BUILD_DATE)) == NULL)
		return CF_ENOMEM;
	rc = core_put_json(VERSIONS_PREFIX CORE_VAULT_VERSION, o);
	json_decref(o);
	/* A failed note is not worth staying sealed for. */
	return CF_OK;
}

static int
by_installed(const void *a, const void *b)
{
	json_t *const	*x = a, *const *y = b;
	const char	*s = json_string_value(json_object_get(
			    json_array_get(*x, 1), "timestamp_installed"));
	const char	*t = json_string_value(json_object_get(
			    json_array_get(*y, 1), "timestamp_installed"));

	return strcmp(s != NULL ? s : "", t != NULL ? t : "");
}

static int
sys_version_history(struct request *req, struct response *resp)
{
	struct strv	 sv = STRV_INIT;
	json_t		**ent = NULL, *keys = NULL, *info = NULL, *v, *prev;
	char		 key[256];
	size_t		 i, n = 0;
	int		 rc;

	/* A list comes as "version-history/". */
	if (strcmp(req->rel, "version-history") != 0 &&
	    strcmp(req->rel, "version-history/") != 0)
		return resp_fail(resp, CF_ENOTFOUND,
		    "1 error occurred:\n\t* unsupported path\n\n");
	if (req->op != REQ_LIST)
		return method_not_allowed(resp);
	if ((rc = core_list(VERSIONS_PREFIX, &sv)) != CF_OK)
		return rc;
	if (sv.n > 0 && (ent = calloc(sv.n, sizeof(*ent))) == NULL) {
		strv_free(&sv);
		return CF_ENOMEM;
	}
	for (i = 0; i < sv.n && rc == CF_OK; i++) {
		snprintf(key, sizeof(key), "%s%s", VERSIONS_PREFIX, sv.v[i]);
		if ((rc = core_get_json(key, &v)) == CF_ENOTFOUND) {
			rc = CF_OK;
			continue;
		}
		if (rc == CF_OK && (ent[n] = json_pack("[s, o]", sv.v[i],
		    v)) == NULL)
			rc = CF_ENOMEM;
		if (rc == CF_OK)
			n++;
	}
	if (rc == CF_OK && n > 0)
		qsort(ent, n, sizeof(*ent), by_installed);
	if (rc == CF_OK && ((keys = json_array()) == NULL ||
	    (info = json_object()) == NULL))
		rc = CF_ENOMEM;
	prev = NULL;
	for (i = 0; i < n && rc == CF_OK; i++) {
		v = json_pack("{s:O, s:O, s:O}", "build_date",
		    json_object_get(json_array_get(ent[i], 1), "build_date"),
		    "previous_version", prev != NULL ? prev : json_null(),
		    "timestamp_installed", json_object_get(
		    json_array_get(ent[i], 1), "timestamp_installed"));
		prev = json_array_get(ent[i], 0);
		if (v == NULL || json_array_append(keys, prev) != 0 ||
		    json_object_set_new(info, json_string_value(prev), v) != 0)
			rc = CF_ENOMEM;
	}
	if (rc == CF_OK)
		rc = resp_data(resp, json_pack("{s:o, s:o}", "keys", keys,
		    "key_info", info));
	else {
		json_decref(keys);
		json_decref(info);
	}
	for (i = 0; i < n; i++)
		json_decref(ent[i]);
	free(ent);
	strv_free(&sv);
	return rc;
}

/* --- the rest */

/*
 * coffer keeps no backup of rekeyed shares (it encrypts none to PGP
 * keys for a backup), so there is never one to read, and a delete has
 * nothing to remove.
 */
static int
sys_rekey_backup(struct request *req, struct response *resp)
{
	if (req->op == REQ_DELETE) {
		resp->status = 204;
		return CF_OK;
	}
	if (req->op != REQ_READ)
		return method_not_allowed(resp);
	return resp_fail(resp, CF_EINVAL, "no backed-up keys found");
}

static int
sys_counters_requests(struct request *req, struct response *resp)
{
	if (req->op != REQ_READ)
		return method_not_allowed(resp);
	return resp_fail(resp, CF_ENOTFOUND,
	    "The functionality has been removed on this path");
}

void
sys_tools_register(void)
{
	sys_route("metrics", 0, sys_metrics);
	sys_route("host-info", 0, sys_hostinfo_get);
	sys_route("in-flight-req", 0, sys_in_flight_req);
	sys_route("tools/random", 1, sys_tools_random);
	sys_route("tools/hash", 1, sys_tools_hash);
	sys_route("version-history", 1, sys_version_history);
	sys_route("rekey/backup", 0, sys_rekey_backup);
	sys_route("rekey/recovery-key-backup", 0, sys_rekey_backup);
	sys_route("internal/counters/requests", 0, sys_counters_requests);
	core_on_active(version_record);
}
