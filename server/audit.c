/*
 * audit.c -- the audit broker and the file audit device.
 *
 * The router hands every routed request to broker_request() before the
 * handler and to broker_response() after it.  Each builds the entry in
 * clear once, then, for each device, a copy with the sensitive fields
 * replaced by "hmac-sha256:<hex>" under the device's salt (unless the
 * device logs raw), serialises it and writes it with one write().
 *
 * Devices live in a sorted array under a rwlock: writers of entries
 * read-lock it, enable, disable and the seal drop write-lock it only to
 * publish a change.  A device's mutex serialises its writes and its
 * reopening (SIGHUP).  Changes are serialised by chg_mu and stored
 * before they are published, as the mount table's are.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "jsonutil.h"
#include "log.h"
#include "req.h"
#include "router.h"
#include "timeutil.h"
#include "token.h"
#include "uuid4.h"

#define AUDIT_TABLE	"core/audit"
#define SALT_LEN	36		/* UUID text */

enum dev_kind {
	DEV_FILE,
	DEV_STDOUT,
	DEV_DISCARD
};

struct audit_dev {
	char		*path;		/* "file/" */
	char		*type;		/* "file" */
	char		*description;
	json_t		*options;	/* strings, as enabled */
	int		 local;
	char		 salt[SALT_LEN + 1];
	int		 kind;		/* enum dev_kind */
	char		*file_path;
	mode_t		 mode;
	int		 chmod;		/* 1: chmod the file on open */
	int		 hmac_accessor;
	int		 log_raw;
	int		 elide;		/* elide_list_responses */
	char		*prefix;
	pthread_mutex_t	 mu;		/* fd and writes */
	int		 fd;		/* -1: closed */
};

static pthread_rwlock_t	  tab_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t	  chg_mu = PTHREAD_MUTEX_INITIALIZER;
static struct audit_dev	**devs;		/* sorted by path */
static size_t		  ndevs;
/*
 * ndevs as of the last unlock, read without the lock: with no device
 * a request builds no entry at all.  A device enabled meanwhile logs
 * from the next request on.
 */
static atomic_size_t	  ndevs_seen;

static void
rdlock(void)
{
	if (pthread_rwlock_rdlock(&tab_lock) != 0)
		abort();
}

static void
wrlock(void)
{
	if (pthread_rwlock_wrlock(&tab_lock) != 0)
		abort();
}

static void
unlock(void)
{
	atomic_store(&ndevs_seen, ndevs);
	if (pthread_rwlock_unlock(&tab_lock) != 0)
		abort();
}

static void
mu_lock(pthread_mutex_t *m)
{
	if (pthread_mutex_lock(m) != 0)
		abort();
}

static void
mu_unlock(pthread_mutex_t *m)
{
	if (pthread_mutex_unlock(m) != 0)
		abort();
}

static void
dev_free(struct audit_dev *d)
{
	if (d == NULL)
		return;
	if (d->fd >= 0)
		close(d->fd);
	pthread_mutex_destroy(&d->mu);
	free(d->path);
	free(d->type);
	free(d->description);
	json_decref(d->options);
	free(d->file_path);
	free(d->prefix);
	sodium_memzero(d->salt, sizeof(d->salt));
	free(d);
}

/* Go's strconv.ParseBool; -1 if s is none of its spellings. */
static int
parse_bool(const char *s)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true",
	    "True", NULL };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false",
	    "False", NULL };
	size_t	 i;

	for (i = 0; t[i] != NULL; i++)
		if (strcmp(s, t[i]) == 0)
			return 1;
	for (i = 0; f[i] != NULL; i++)
		if (strcmp(s, f[i]) == 0)
			return 0;
	return -1;
}

/* A boolean option (def if absent); CF_EINVAL with Go's text in why. */
static int
opt_bool(json_t *opts, const char *k, int def, int *out, char *why,
    size_t whylen)
{
	const char	*s = json_string_value(json_object_get(opts, k));

	*out = def;
	if (s == NULL)
		return CF_OK;
	if ((*out = parse_bool(s)) < 0) {
		snprintf(why, whylen, "strconv.ParseBool: parsing \"%s\": "
		    "invalid syntax", s);
		return CF_EINVAL;
	}
	return CF_OK;
}

/* "open /x: permission denied", the way Go words an os error. */
static void
os_error(char *why, size_t whylen, const char *pre, const char *op,
    const char *path, int errnum)
{
	char	 msg[128];

	strlcpy(msg, strerror(errnum), sizeof(msg));
	msg[0] = (char)tolower((unsigned char)msg[0]);
	snprintf(why, whylen, "%s%s %s: %s", pre, op, path, msg);
}

/* mkdir -p of path's directory, with mode; why names what failed. */
static int
make_parents(const char *path, mode_t mode, char *why, size_t whylen)
{
	char	*dir, *p;
	int	 rc = 0, last;

	if ((dir = strdup(path)) == NULL)
		return ENOMEM;
	if ((p = strrchr(dir, '/')) == NULL || p == dir) {
		free(dir);
		return 0;
	}
	*p = '\0';
	for (p = dir + 1; rc == 0; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		last = *p == '\0';
		*p = '\0';
		if (mkdir(dir, mode) == -1 && errno != EEXIST) {
			rc = errno;
			os_error(why, whylen, "", "mkdir", dir, rc);
		}
		if (last)
			break;
		*p = '/';
	}
	free(dir);
	return rc;
}

/* Open d's file (d->mu held); errno-style code, 0 on success. */
static int
dev_open(struct audit_dev *d, char *why, size_t whylen)
{
	int	 fd, e;

	if (d->kind != DEV_FILE || d->fd >= 0)
		return 0;
	if ((e = make_parents(d->file_path, d->mode, why, whylen)) != 0)
		return e;
	if ((fd = open(d->file_path, O_WRONLY | O_APPEND | O_CREAT |
	    O_CLOEXEC, d->mode)) == -1) {
		e = errno;
		os_error(why, whylen, "", "open", d->file_path, e);
		return e;
	}
	if (d->chmod && strcmp(d->file_path, "/dev/null") != 0 &&
	    fchmod(fd, d->mode) == -1) {
		e = errno;
		os_error(why, whylen, "", "chmod", d->file_path, e);
		close(fd);
		return e;
	}
	d->fd = fd;
	return 0;
}

static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * One entry to d: one write() under d's mutex.  A file that fails is
 * reopened once and written again, as Vault's file device does.
 */
static int
dev_write(struct audit_dev *d, const char *p, size_t len, char *why,
    size_t whylen)
{
	int	 e = 0;

	if (d->kind == DEV_DISCARD)
		return 0;
	mu_lock(&d->mu);
	if (d->kind == DEV_STDOUT) {
		if ((e = write_all(STDOUT_FILENO, p, len)) != 0)
			os_error(why, whylen, "", "write", "stdout", e);
		goto out;
	}
	if ((e = dev_open(d, why, whylen)) == 0 &&
	    (e = write_all(d->fd, p, len)) == 0)
		goto out;
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
		if ((e = dev_open(d, why, whylen)) == 0 &&
		    (e = write_all(d->fd, p, len)) != 0)
			os_error(why, whylen, "", "write", d->file_path, e);
	}
 out:
	mu_unlock(&d->mu);
	return e;
}

/*
 * A device from its options (borrowed, copied), not yet open.  Vault's
 * checks in Vault's order; CF_EINVAL with the text in why.
 */
static int
dev_new(const char *path, const char *type, const char *desc,
    json_t *opts, int local, struct audit_dev **out, char *why,
    size_t whylen)
{
	struct audit_dev	*d = NULL;
	struct stat		 st;
	const char		*fp, *s;
	unsigned long		 m;
	char			*end;
	int			 rc = CF_OK;

	*out = NULL;
	if (strcmp(type, "file") != 0) {
		snprintf(why, whylen, "unknown backend type: \"%s\"", type);
		return CF_EINVAL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return CF_ENOMEM;
	d->fd = -1;
	if (pthread_mutex_init(&d->mu, NULL) != 0) {
		free(d);
		return CF_ENOMEM;
	}
	if ((d->path = strdup(path)) == NULL ||
	    (d->type = strdup(type)) == NULL ||
	    (d->description = strdup(desc != NULL ? desc : "")) == NULL ||
	    (d->options = json_deep_copy(opts)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	d->local = local;
	uuid4_random(d->salt);
	if ((fp = json_string_value(json_object_get(opts, "file_path"))) ==
	    NULL && (fp = json_string_value(json_object_get(opts, "path"))) ==
	    NULL) {
		snprintf(why, whylen, "file_path is required");
		rc = CF_EINVAL;
		goto out;
	}
	d->kind = strcasecmp(fp, "stdout") == 0 ? DEV_STDOUT :
	    strcasecmp(fp, "discard") == 0 ? DEV_DISCARD : DEV_FILE;
	if ((d->file_path = strdup(fp)) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	s = json_string_value(json_object_get(opts, "format"));
	if (s != NULL && strcmp(s, "json") != 0) {
		/* jsonx is Vault's too, but coffer writes JSON only. */
		snprintf(why, whylen, "unknown format type \"%s\"", s);
		rc = CF_EINVAL;
		goto out;
	}
	if ((rc = opt_bool(opts, "hmac_accessor", 1, &d->hmac_accessor, why,
	    whylen)) != CF_OK ||
	    (rc = opt_bool(opts, "log_raw", 0, &d->log_raw, why, whylen)) !=
	    CF_OK ||
	    (rc = opt_bool(opts, "elide_list_responses", 0, &d->elide, why,
	    whylen)) != CF_OK)
		goto out;
	s = json_string_value(json_object_get(opts, "prefix"));
	if ((d->prefix = strdup(s != NULL ? s : "")) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	d->mode = 0600;
	d->chmod = 1;
	if ((s = json_string_value(json_object_get(opts, "mode"))) != NULL) {
		errno = 0;
		m = strtoul(s, &end, 8);
		if (*s == '\0' || *end != '\0' || errno != 0 || *s == '-' ||
		    *s == '+' || isspace((unsigned char)*s) || m > 0xffffffffUL) {
			snprintf(why, whylen, "strconv.ParseUint: parsing "
			    "\"%s\": invalid syntax", s);
			rc = CF_EINVAL;
			goto out;
		}
		d->mode = (mode_t)(m & 07777);
		if (m == 0 && d->kind == DEV_FILE) {
			/* "0000": keep the file's own mode. */
			if (stat(d->file_path, &st) == -1) {
				os_error(why, whylen, "", "stat",
				    d->file_path, errno);
				rc = CF_EINVAL;
				goto out;
			}
			d->mode = st.st_mode & 07777;
			d->chmod = 0;
		}
	}
 out:
	if (rc != CF_OK)
		dev_free(d);
	else
		*out = d;
	return rc;
}

/* "hmac-sha256:<hex>" of s (len bytes) under salt, into out. */
static void
hmac_hex(const char *salt, const char *s, size_t len, char *out)
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, (const unsigned char *)salt,
	    strlen(salt));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)s, len);
	crypto_auth_hmacsha256_final(&st, mac);
	memcpy(out, "hmac-sha256:", 12);
	sodium_bin2hex(out + 12, 2 * sizeof(mac) + 1, mac, sizeof(mac));
	sodium_memzero(&st, sizeof(st));
}

/* Replace the string at o[k] (if any) with its hash. */
static int
hash_key(json_t *o, const char *k, const char *salt)
{
	json_t		*v = json_object_get(o, k);
	char		 h[AUDIT_HASH_LEN + 1];

	if (v == NULL || !json_is_string(v))
		return CF_OK;
	hmac_hex(salt, json_string_value(v), json_string_length(v), h);
	return json_object_set_new(o, k, json_string(h)) == 0 ? CF_OK :
	    CF_ENOMEM;
}

/*
 * The hashed form of v: every string at any depth, and numbers too
 * when nums (they came as JSON text), hashed; keys kept.  New reference.
 */
static json_t *
hash_value(json_t *v, const char *salt, int nums)
{
	json_t		*o, *x;
	const char	*k;
	size_t		 i;
	char		 h[AUDIT_HASH_LEN + 1], t[64];

	switch (json_typeof(v)) {
	case JSON_STRING:
		hmac_hex(salt, json_string_value(v), json_string_length(v), h);
		return json_string(h);
	case JSON_INTEGER:
	case JSON_REAL:
		if (!nums)
			return json_incref(v);
		if (json_is_integer(v))
			snprintf(t, sizeof(t), "%" JSON_INTEGER_FORMAT,
			    json_integer_value(v));
		else
			snprintf(t, sizeof(t), "%.17g", json_real_value(v));
		hmac_hex(salt, t, strlen(t), h);
		return json_string(h);
	case JSON_OBJECT:
		if ((o = json_object()) == NULL)
			return NULL;
		json_object_foreach(v, k, x) {
			if (json_object_set_new(o, k, hash_value(x, salt,
			    nums)) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	case JSON_ARRAY:
		if ((o = json_array()) == NULL)
			return NULL;
		json_array_foreach(v, i, x) {
			if (json_array_append_new(o, hash_value(x, salt,
			    nums)) != 0) {
				json_decref(o);
				return NULL;
			}
		}
		return o;
	default:
		return json_incref(v);
	}
}

/* Replace o[k] by its hashed form. */
static int
hash_tree(json_t *o, const char *k, const char *salt, int nums)
{
	json_t	*v = json_object_get(o, k);

	if (v == NULL)
		return CF_OK;
	return json_object_set_new(o, k, hash_value(v, salt, nums)) == 0 ?
	    CF_OK : CF_ENOMEM;
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

static void
now_rfc3339(char *out, size_t cap)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	time_format_rfc3339(out, cap, (long long)ts.tv_sec, ts.tv_nsec);
}

/* Set o[k] = a copy of v unless v is absent, empty or false. */
static void
set_some(json_t *o, const char *k, json_t *v)
{
	if (v == NULL || json_is_null(v) || json_is_false(v) ||
	    (json_is_string(v) && json_string_length(v) == 0) ||
	    (json_is_integer(v) && json_integer_value(v) == 0) ||
	    (json_is_object(v) && json_object_size(v) == 0) ||
	    (json_is_array(v) && json_array_size(v) == 0))
		return;
	json_object_set_new(o, k, json_deep_copy(v));
}

static void
set_str(json_t *o, const char *k, const char *s)
{
	if (s != NULL && *s != '\0')
		json_object_set_new(o, k, json_string(s));
}

/* The caller's "auth" block, from the token the router resolved. */
static json_t *
caller_auth(const struct request *req, int err)
{
	json_t		*a, *e, *v;
	char		 t[64];
	long long	 n;

	if ((a = json_object()) == NULL)
		return NULL;
	set_str(a, "client_token", req->token);
	if (req->auth == NULL || (e = req->auth->entry) == NULL) {
		if (req->token != NULL || err != CF_OK)
			json_object_set_new(a, "policy_results", json_pack(
			    "{s:b}", "allowed", err == CF_OK));
		json_object_set_new(a, "token_type", json_string("default"));
		return a;
	}
	set_str(a, "accessor", req->auth->accessor);
	set_some(a, "display_name", json_object_get(e, "display_name"));
	set_some(a, "policies", json_object_get(e, "policies"));
	set_some(a, "token_policies", json_object_get(e, "policies"));
	json_object_set_new(a, "policy_results", json_pack("{s:b}",
	    "allowed", err == CF_OK));
	set_some(a, "metadata", json_object_get(e, "meta"));
	set_some(a, "remaining_uses", json_object_get(e, "num_uses"));
	v = json_object_get(e, "type");
	json_object_set_new(a, "token_type", json_string(json_is_string(v) ?
	    json_string_value(v) : "service"));
	set_some(a, "token_ttl", json_object_get(e, "creation_ttl"));
	if ((n = json_integer_value(json_object_get(e, "issue_time"))) > 0) {
		time_format_rfc3339(t, sizeof(t), n, 0);
		json_object_set_new(a, "token_issue_time", json_string(t));
	}
	return a;
}

/* An "auth" block from a login's or token creation's answer. */
static json_t *
resp_auth(const json_t *ra)
{
	json_t	*a;

	if ((a = json_object()) == NULL)
		return NULL;
	set_some(a, "client_token", json_object_get(ra, "client_token"));
	set_some(a, "accessor", json_object_get(ra, "accessor"));
	set_some(a, "policies", json_object_get(ra, "policies"));
	set_some(a, "token_policies", json_object_get(ra, "token_policies"));
	set_some(a, "metadata", json_object_get(ra, "metadata"));
	set_some(a, "num_uses", json_object_get(ra, "num_uses"));
	set_some(a, "entity_id", json_object_get(ra, "entity_id"));
	set_some(a, "token_type", json_object_get(ra, "token_type"));
	set_some(a, "token_ttl", json_object_get(ra, "lease_duration"));
	return a;
}

static void
mount_fields(json_t *o, const struct mount *m, int response)
{
	if (m == NULL)
		return;
	set_str(o, "mount_point", m->path);
	set_str(o, "mount_type", m->type);
	set_str(o, "mount_accessor", m->accessor);
	json_object_set_new(o, response ? "mount_running_plugin_version" :
	    "mount_running_version", json_string(strcmp(m->type, "kv") == 0 ?
	    "v0.15.0+builtin" : "v" CORE_VAULT_VERSION "+builtin.vault"));
	json_object_set_new(o, "mount_class", json_string(m->ops->is_auth ?
	    "auth" : "secret"));
}

static json_t *
request_obj(const struct request *req)
{
	json_t	*r;

	if ((r = json_object()) == NULL)
		return NULL;
	json_object_set_new(r, "id", json_string(req->id));
	json_object_set_new(r, "operation", json_string(op_name(req->op)));
	mount_fields(r, req->mount, 0);
	set_str(r, "client_token", req->token);
	if (req->token != NULL && req->auth != NULL)
		set_str(r, "client_token_accessor", req->auth->accessor);
	json_object_set_new(r, "namespace", json_pack("{s:s}", "id", "root"));
	json_object_set_new(r, "path", json_string(req->path));
	set_some(r, "data", req->data);
	set_str(r, "remote_address", req->remote_addr);
	if (req->wrap_set && req->wrap_ttl > 0)
		json_object_set_new(r, "wrap_ttl",
		    json_integer((json_int_t)req->wrap_ttl));
	return r;
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

/* The entry in clear; NULL on ENOMEM. */
static json_t *
entry_new(const struct request *req, const struct response *resp,
    int err, int response)
{
	json_t	*e, *r = NULL, *w;
	char	 t[64];

	now_rfc3339(t, sizeof(t));
	if ((e = json_object()) == NULL)
		return NULL;
	json_object_set_new(e, "time", json_string(t));
	json_object_set_new(e, "type", json_string(response ? "response" :
	    "request"));
	json_object_set_new(e, "auth", response && resp->auth != NULL ?
	    resp_auth(resp->auth) : caller_auth(req, err));
	json_object_set_new(e, "request", request_obj(req));
	if (response) {
		if ((r = json_object()) == NULL) {
			json_decref(e);
			return NULL;
		}
		mount_fields(r, req->mount, 1);
		if (resp->auth != NULL)
			json_object_set_new(r, "auth", resp_auth(resp->auth));
		if (resp->lease_id[0] != '\0')
			json_object_set_new(r, "secret", json_pack("{s:s}",
			    "lease_id", resp->lease_id));
		if (err != CF_OK && !is_internal(resp, err))
			json_object_set_new(r, "data", json_pack("{s:s}",
			    "error", fail_text(resp, err)));
		else if (err == CF_OK)
			set_some(r, "data", resp->data);
		if (err == CF_OK)
			set_some(r, "warnings", resp->warnings);
		if (resp->wrap_info != NULL) {
			w = json_object();
			set_some(w, "token", json_object_get(resp->wrap_info,
			    "token"));
			set_some(w, "accessor", json_object_get(
			    resp->wrap_info, "accessor"));
			set_some(w, "ttl", json_object_get(resp->wrap_info,
			    "ttl"));
			set_some(w, "creation_time", json_object_get(
			    resp->wrap_info, "creation_time"));
			set_some(w, "creation_path", json_object_get(
			    resp->wrap_info, "creation_path"));
			set_some(w, "wrapped_accessor", json_object_get(
			    resp->wrap_info, "wrapped_accessor"));
			json_object_set_new(r, "wrap_info", w);
		}
		json_object_set_new(e, "response", r);
	}
	if (err != CF_OK && is_internal(resp, err))
		json_object_set_new(e, "error", json_string(fail_text(resp,
		    err)));
	return e;
}

/* LIST answers with elide_list_responses: keys and key_info counted. */
static void
elide(json_t *data)
{
	json_t	*v;

	if ((v = json_object_get(data, "keys")) != NULL && json_is_array(v))
		json_object_set_new(data, "keys",
		    json_integer((json_int_t)json_array_size(v)));
	if ((v = json_object_get(data, "key_info")) != NULL &&
	    json_is_object(v))
		json_object_set_new(data, "key_info",
		    json_integer((json_int_t)json_object_size(v)));
}

/* d's form of entry e (borrowed), serialised with prefix and newline. */
static int
dev_format(const struct audit_dev *d, const char *s, json_t *e, int list,
    struct buf *out)
{
	json_t		*c, *a, *r, *rs, *x;
	int		 rc = CF_OK;

	if ((c = json_deep_copy(e)) == NULL)
		return CF_ENOMEM;
	a = json_object_get(c, "auth");
	r = json_object_get(c, "request");
	rs = json_object_get(c, "response");
	if (list && d->elide && (x = json_object_get(rs, "data")) != NULL)
		elide(x);
	if (!d->log_raw) {
		if ((rc = hash_key(a, "client_token", s)) != CF_OK ||
		    (rc = hash_key(r, "client_token", s)) != CF_OK ||
		    (rc = hash_tree(r, "data", s, 1)) != CF_OK ||
		    (rc = hash_tree(rs, "data", s, 0)) != CF_OK ||
		    (rc = hash_key(json_object_get(rs, "auth"),
		    "client_token", s)) != CF_OK ||
		    (rc = hash_key(json_object_get(rs, "wrap_info"), "token",
		    s)) != CF_OK)
			goto out;
		if (d->hmac_accessor &&
		    ((rc = hash_key(a, "accessor", s)) != CF_OK ||
		    (rc = hash_key(r, "client_token_accessor", s)) != CF_OK ||
		    (rc = hash_key(json_object_get(rs, "auth"), "accessor",
		    s)) != CF_OK ||
		    (rc = hash_key(json_object_get(rs, "wrap_info"),
		    "accessor", s)) != CF_OK ||
		    (rc = hash_key(json_object_get(rs, "wrap_info"),
		    "wrapped_accessor", s)) != CF_OK))
			goto out;
	}
	if ((rc = buf_puts(out, d->prefix)) != CF_OK ||
	    (rc = jsonutil_emit(c, out)) != CF_OK)
		goto out;
	rc = buf_puts(out, "\n");
 out:
	json_decref(c);
	return rc;
}

/*
 * Log entry e to every device: CF_OK if none is enabled or at least one
 * wrote it, CF_EIO if every one failed (each failure logged).
 */
static int
broker_log(json_t *e, const char *id, int list)
{
	struct buf	 b = BUF_INIT;
	char		 why[512];
	size_t		 i, ok = 0;
	int		 rc;

	rdlock();
	if (ndevs == 0) {
		unlock();
		return CF_OK;
	}
	for (i = 0; i < ndevs; i++) {
		buf_reset(&b);
		why[0] = '\0';
		if ((rc = dev_format(devs[i], devs[i]->salt, e, list, &b)) !=
		    CF_OK)
			log_warnx("audit: request %s: device %s: %s", id,
			    devs[i]->path, cf_strerror(rc));
		else if (dev_write(devs[i], b.data, b.len, why,
		    sizeof(why)) != 0)
			log_warnx("audit: request %s: device %s cannot "
			    "write: %s", id, devs[i]->path, why);
		else
			ok++;
	}
	unlock();
	buf_free(&b);
	return ok > 0 ? CF_OK : CF_EIO;
}

/* Vault's answer when an entry could not be logged: a bare 500. */
static int
audit_failed(struct request *req, struct response *resp, const char *what)
{
	log_warnx("audit: request %s: no audit device logged the %s; the "
	    "request fails", req->id, what);
	resp_fini(resp);
	resp_init(resp);
	return resp_fail(resp, CF_EINTERNAL, "internal error");
}

static int
broker_request(struct request *req, struct response *resp, int err)
{
	json_t	*e;
	int	 rc;

	if (atomic_load(&ndevs_seen) == 0)
		return CF_OK;
	if ((e = entry_new(req, resp, err, 0)) == NULL)
		return audit_failed(req, resp, "request");
	rc = broker_log(e, req->id, 0);
	json_decref(e);
	return rc == CF_OK ? CF_OK : audit_failed(req, resp, "request");
}

static int
broker_response(struct request *req, struct response *resp, int err)
{
	json_t	*e;
	int	 rc;

	if (atomic_load(&ndevs_seen) == 0)
		return CF_OK;
	if ((e = entry_new(req, resp, err, 1)) == NULL)
		return audit_failed(req, resp, "response");
	rc = broker_log(e, req->id, req->op == REQ_LIST);
	json_decref(e);
	return rc == CF_OK ? CF_OK : audit_failed(req, resp, "response");
}

/* The stored form of the table, with d added (or NULL) and skip left out. */
static json_t *
table_emit(const struct audit_dev *add, const char *skip)
{
	json_t			*arr, *o;
	const struct audit_dev	*d;
	size_t			 i;

	if ((arr = json_array()) == NULL)
		return NULL;
	for (i = 0; i <= ndevs; i++) {
		d = i < ndevs ? devs[i] : add;
		if (d == NULL || (skip != NULL && strcmp(d->path, skip) == 0))
			continue;
		o = json_pack("{s:s, s:s, s:s, s:O, s:b, s:s}", "path",
		    d->path, "type", d->type, "description", d->description,
		    "options", d->options, "local", d->local, "salt",
		    d->salt);
		if (json_array_append_new(arr, o) != 0) {
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

static int
table_store(const struct audit_dev *add, const char *skip)
{
	json_t	*arr;
	int	 rc;

	rdlock();
	arr = table_emit(add, skip);
	unlock();
	if (arr == NULL)
		return CF_ENOMEM;
	rc = core_put_json(AUDIT_TABLE, arr);
	json_decref(arr);
	return rc;
}

/* Put d in the table, keeping it sorted (write lock held). */
static int
table_insert(struct audit_dev *d)
{
	struct audit_dev	**nd;
	size_t			  i;

	if ((nd = reallocarray(devs, ndevs + 1, sizeof(*nd))) == NULL)
		return CF_ENOMEM;
	devs = nd;
	for (i = 0; i < ndevs && strcmp(devs[i]->path, d->path) < 0; i++)
		;
	memmove(&devs[i + 1], &devs[i], (ndevs - i) * sizeof(*devs));
	devs[i] = d;
	ndevs++;
	return CF_OK;
}

/* 1 if a and b overlap: one is a prefix of the other. */
static int
paths_nest(const char *a, const char *b)
{
	size_t	 la = strlen(a), lb = strlen(b);

	return strncmp(a, b, la < lb ? la : lb) == 0;
}

/* Vault's test entry, hashed with a throwaway salt. */
static int
dev_test(struct audit_dev *d, char *why, size_t whylen)
{
	struct buf		 b = BUF_INIT;
	json_t			*e;
	char			 t[64], id[REQ_ID_LEN + 1], err[400];
	char			 salt[SALT_LEN + 1];
	int			 rc;

	now_rfc3339(t, sizeof(t));
	uuid4_random(id);
	e = json_pack("{s:s, s:s, s:{s:s}, s:{s:s, s:s, s:{s:s}, s:s}}",
	    "time", t, "type", "request", "auth", "token_type", "default",
	    "request", "id", id, "operation", "update", "namespace", "id",
	    "root", "path", "sys/audit/test");
	if (e == NULL)
		return CF_ENOMEM;
	uuid4_random(salt);
	if ((rc = dev_format(d, salt, e, 0, &b)) == CF_OK) {
		err[0] = '\0';
		if (dev_write(d, b.data, b.len, err, sizeof(err)) != 0) {
			snprintf(why, whylen, "audit backend failed test "
			    "message: %s", err);
			rc = CF_EINVAL;
		}
	}
	json_decref(e);
	buf_free(&b);
	return rc;
}

int
audit_enable(const char *path, const char *type, const char *desc,
    json_t *options, int local, char *why, size_t whylen)
{
	struct audit_dev	*d = NULL;
	const char		*skip;
	char			 err[400];
	size_t			 i;
	int			 rc, e;

	mu_lock(&chg_mu);
	rdlock();
	for (i = 0, rc = CF_OK; i < ndevs; i++)
		if (paths_nest(devs[i]->path, path))
			rc = CF_EINVAL;
	unlock();
	if (rc != CF_OK) {
		snprintf(why, whylen, "path already in use");
		goto out;
	}
	if ((rc = dev_new(path, type, desc, options, local, &d, why,
	    whylen)) != CF_OK)
		goto out;
	mu_lock(&d->mu);
	err[0] = '\0';
	e = dev_open(d, err, sizeof(err));
	mu_unlock(&d->mu);
	if (e != 0) {
		snprintf(why, whylen, "sanity check failed; unable to open "
		    "\"%s\" for writing: %s", d->file_path, err);
		rc = CF_EINVAL;
		goto out;
	}
	skip = json_string_value(json_object_get(options, "skip_test"));
	if ((skip == NULL || strcmp(skip, "true") != 0) &&
	    (rc = dev_test(d, why, whylen)) != CF_OK)
		goto out;
	if ((rc = table_store(d, NULL)) != CF_OK) {
		log_warnx("audit: cannot store the audit table: %s",
		    cf_strerror(rc));
		snprintf(why, whylen, "failed to update audit table");
		rc = CF_EINVAL;
		goto out;
	}
	wrlock();
	rc = table_insert(d);
	unlock();
	if (rc == CF_OK) {
		log_info("audit: enabled %s device at %s", d->type, d->path);
		d = NULL;
	}
 out:
	mu_unlock(&chg_mu);
	dev_free(d);
	return rc;
}

int
audit_disable(const char *path)
{
	struct audit_dev	*d = NULL;
	size_t			 i;
	int			 rc = CF_OK;

	mu_lock(&chg_mu);
	rdlock();
	for (i = 0; i < ndevs; i++)
		if (strcmp(devs[i]->path, path) == 0)
			d = devs[i];
	unlock();
	if (d == NULL)
		goto out;		/* 204 also when nothing is there */
	if ((rc = table_store(NULL, path)) != CF_OK)
		goto out;
	wrlock();
	for (i = 0; i < ndevs; i++)
		if (devs[i] == d) {
			memmove(&devs[i], &devs[i + 1],
			    (ndevs - i - 1) * sizeof(*devs));
			ndevs--;
			break;
		}
	unlock();
	log_info("audit: disabled device at %s", path);
	dev_free(d);
 out:
	mu_unlock(&chg_mu);
	return rc;
}

int
audit_list(json_t **out)
{
	json_t	*o, *e;
	size_t	 i;

	if ((o = json_object()) == NULL)
		return CF_ENOMEM;
	rdlock();
	for (i = 0; i < ndevs; i++) {
		e = json_pack("{s:s, s:b, s:O, s:s, s:s}", "description",
		    devs[i]->description, "local", devs[i]->local, "options",
		    devs[i]->options, "path", devs[i]->path, "type",
		    devs[i]->type);
		if (json_object_set_new(o, devs[i]->path, e) != 0) {
			unlock();
			json_decref(o);
			return CF_ENOMEM;
		}
	}
	unlock();
	*out = o;
	return CF_OK;
}

int
audit_hash(const char *path, const char *input, char *out)
{
	size_t	 i;
	int	 rc = CF_ENOTFOUND;

	rdlock();
	for (i = 0; i < ndevs; i++)
		if (strcmp(devs[i]->path, path) == 0) {
			hmac_hex(devs[i]->salt, input, strlen(input), out);
			rc = CF_OK;
		}
	unlock();
	return rc;
}

void
audit_reopen(void)
{
	char	 why[400];
	size_t	 i;

	rdlock();
	for (i = 0; i < ndevs; i++) {
		if (devs[i]->kind != DEV_FILE)
			continue;
		mu_lock(&devs[i]->mu);
		if (devs[i]->fd >= 0)
			close(devs[i]->fd);
		devs[i]->fd = -1;
		if (dev_open(devs[i], why, sizeof(why)) != 0)
			log_warnx("audit: device %s cannot reopen: %s",
			    devs[i]->path, why);
		mu_unlock(&devs[i]->mu);
	}
	unlock();
}

/* Drop every device (leaving active, sealing). */
static int
audit_unload(void)
{
	struct audit_dev	**old;
	size_t			  i, n;

	wrlock();
	old = devs;
	n = ndevs;
	devs = NULL;
	ndevs = 0;
	unlock();
	for (i = 0; i < n; i++)
		dev_free(old[i]);
	free(old);
	return CF_OK;
}

/*
 * Becoming active: every stored device, with its stored salt.  One that
 * cannot open is kept (its writes fail and are logged) unless all fail:
 * then, as Vault, the node does not become active.
 */
static int
audit_load(void)
{
	struct audit_dev	*d;
	json_t			*arr = NULL, *e;
	const char		*salt;
	char			 why[400];
	size_t			 i, opened = 0;
	int			 rc;

	if ((rc = core_get_json(AUDIT_TABLE, &arr)) == CF_ENOTFOUND)
		return CF_OK;
	if (rc != CF_OK)
		return rc;
	json_array_foreach(arr, i, e) {
		why[0] = '\0';
		rc = dev_new(json_string_value(json_object_get(e, "path")),
		    json_string_value(json_object_get(e, "type")),
		    json_string_value(json_object_get(e, "description")),
		    json_object_get(e, "options"),
		    json_is_true(json_object_get(e, "local")), &d, why,
		    sizeof(why));
		if (rc != CF_OK) {
			log_warnx("audit: stored device %zu: %s", i, why);
			rc = CF_OK;
			continue;
		}
		if ((salt = json_string_value(json_object_get(e, "salt"))) !=
		    NULL)
			strlcpy(d->salt, salt, sizeof(d->salt));
		mu_lock(&d->mu);
		if (dev_open(d, why, sizeof(why)) != 0)
			log_warnx("audit: device %s cannot open: %s", d->path,
			    why);
		else
			opened++;
		mu_unlock(&d->mu);
		wrlock();
		rc = table_insert(d);
		unlock();
		if (rc != CF_OK) {
			dev_free(d);
			break;
		}
	}
	if (rc == CF_OK && json_array_size(arr) > 0 && opened == 0) {
		log_warnx("audit: failed to setup audit table: no device "
		    "can write");
		rc = CF_EIO;
	}
	json_decref(arr);
	if (rc != CF_OK)
		audit_unload();
	return rc;
}

void
audit_register(void)
{
	static const struct router_audit_ops ops = {
		.request = broker_request,
		.response = broker_response,
	};

	router_auditing(&ops);
	core_on_active(audit_load);
	core_on_standby(audit_unload);
}
