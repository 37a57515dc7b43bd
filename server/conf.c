/*
 * conf.c -- the cofferd configuration: Vault-style HCL or JSON.
 *
 * The text is parsed by hcl.c into a tree with line numbers; this file
 * reads the files, walks the top level and the storage block, and
 * reports every error of a file before giving up on it (the values are
 * read by conf_walk.c, the listener blocks by conf_listener.c).  Values
 * are first collected into a scratch struct conf and merged into the
 * caller's only when the file had no error; conf_finish() then checks
 * the merged whole.
 */
#include "config.h"

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "conf.h"
#include "conf_listener.h"
#include "conf_walk.h"
#include "err.h"
#include "hcl.h"
#include "log.h"
#include "storage.h"

#define CONF_MAX_FILE	(4 * 1024 * 1024)

static void
storage_opts_free(struct storage_kv *kv, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		/* A connection_url may hold a password. */
		if (kv[i].val != NULL)
			sodium_memzero((void *)(uintptr_t)kv[i].val,
			    strlen(kv[i].val));
		free((void *)(uintptr_t)kv[i].key);
		free((void *)(uintptr_t)kv[i].val);
	}
	free(kv);
}

void
conf_init(struct conf *c)
{
	memset(c, 0, sizeof(*c));
	c->log_level = LOG_LVL_INFO;
	c->default_lease_ttl = CONF_DEFAULT_LEASE_TTL;
	c->max_lease_ttl = CONF_DEFAULT_LEASE_TTL;
	c->worker_threads = 128;
}

void
conf_free(struct conf *c)
{
	size_t	 i;

	free(c->storage_type);
	free(c->storage_path);
	free(c->storage_where);
	storage_opts_free(c->storage_opts, c->nstorage_opts);
	for (i = 0; i < c->nlisteners; i++)
		conf_listener_free(&c->listeners[i]);
	free(c->listeners);
	free(c->api_addr);
	free(c->cluster_addr);
	free(c->cluster_name);
	free(c->pid_file);
	memset(c, 0, sizeof(*c));
}

/*
 * A key of the backend's own, handed to it as text (Vault writes
 * max_parallel = "128"; true and 128 unquoted mean the same) and checked
 * by the backend, so that an unknown key or a bad value is reported with
 * its line.
 */
static void
storage_opt(struct conf_walk *w, struct conf *c, const char *type,
    const struct hcl_node *k)
{
	struct storage_kv	*nkv;
	const char		*val;
	char			 why[256];

	if (k->type == HCL_STRING || k->type == HCL_NUMBER)
		val = k->str;
	else if (k->type == HCL_BOOL)
		val = k->boolean ? "true" : "false";
	else {
		conf_walk_error(w, k->line, "%s must be a string, not a %s",
		    k->key, hcl_type_name(k->type));
		return;
	}
	if (storage_conf_check(type, k->key, val, why, sizeof(why)) !=
	    CF_OK) {
		conf_walk_error(w, k->line, "%s", why);
		return;
	}
	nkv = reallocarray(c->storage_opts, c->nstorage_opts + 1,
	    sizeof(*nkv));
	if (nkv == NULL) {
		conf_walk_error(w, k->line, "out of memory");
		return;
	}
	c->storage_opts = nkv;
	nkv = &c->storage_opts[c->nstorage_opts];
	nkv->key = strdup(k->key);
	nkv->val = strdup(val);
	c->nstorage_opts++;
	if (nkv->key == NULL || nkv->val == NULL)
		conf_walk_error(w, k->line, "out of memory");
}

static void
walk_storage(struct conf_walk *w, struct conf *c, const struct hcl_node *blk)
{
	const struct hcl_node	*b, *k;
	const char		*type;
	int			 pg;

	if (blk->type != HCL_OBJECT || blk->child == NULL) {
		conf_walk_error(w, blk->line, "storage needs a type: "
		    "storage \"lmdb\" { ... }");
		return;
	}
	if (c->storage_type != NULL || blk->child->next != NULL) {
		conf_walk_error(w, blk->line, "only one storage block is "
		    "allowed");
		return;
	}
	b = blk->child;
	type = b->key;
	if (strcmp(type, "lmdb") != 0 && strcmp(type, "file") != 0 &&
	    strcmp(type, "inmem") != 0 && strcmp(type, "postgresql") != 0) {
		conf_walk_error(w, b->line, "unknown storage type \"%s\" "
		    "(lmdb, file, inmem or postgresql)", type);
		return;
	}
	if (b->type != HCL_OBJECT) {
		conf_walk_error(w, b->line, "storage \"%s\" must be a block",
		    type);
		return;
	}
	if ((c->storage_type = strdup(type)) == NULL)
		return;
	pg = strcmp(type, "postgresql") == 0;
	for (k = b->child; k != NULL; k = k->next) {
		if (strcmp(k->key, "path") == 0 && !pg)
			(void)conf_walk_string(w, k, &c->storage_path);
		else if (strcmp(k->key, "ha_enabled") == 0) {
			if (conf_walk_bool(w, k, &c->ha_enabled) == 0 &&
			    c->ha_enabled && strcmp(type, "lmdb") != 0 &&
			    !pg) {
				/* Vault's file backend has no HA either. */
				conf_walk_error(w, k->line,
				    "storage \"%s\" has no HA: ha_enabled "
				    "needs storage \"lmdb\" or \"postgresql\"",
				    type);
				c->ha_enabled = 0;
			}
		} else
			storage_opt(w, c, type, k);
	}
	if (strcmp(type, "inmem") != 0 && !pg && c->storage_path == NULL)
		conf_walk_error(w, b->line, "storage \"%s\" needs a path",
		    type);
	free(c->storage_where);
	c->storage_where = NULL;
	if (asprintf(&c->storage_where, "%s:%d", w->file, b->line) == -1)
		c->storage_where = NULL;
}

static void
walk_top(struct conf_walk *w, struct conf *c, const struct hcl_node *root)
{
	const struct hcl_node	*k;
	long long		 n;
	char			*s = NULL;
	int			 lvl;

	for (k = root->child; k != NULL; k = k->next) {
		if (strcmp(k->key, "storage") == 0 ||
		    strcmp(k->key, "backend") == 0)
			walk_storage(w, c, k);
		else if (strcmp(k->key, "listener") == 0)
			conf_listener_walk(w, &c->listeners, &c->nlisteners, k);
		else if (strcmp(k->key, "api_addr") == 0)
			(void)conf_walk_string(w, k, &c->api_addr);
		else if (strcmp(k->key, "cluster_addr") == 0)
			(void)conf_walk_string(w, k, &c->cluster_addr);
		else if (strcmp(k->key, "cluster_name") == 0)
			(void)conf_walk_string(w, k, &c->cluster_name);
		else if (strcmp(k->key, "pid_file") == 0)
			(void)conf_walk_string(w, k, &c->pid_file);
		else if (strcmp(k->key, "disable_mlock") == 0)
			(void)conf_walk_bool(w, k, &c->disable_mlock);
		else if (strcmp(k->key, "ui") == 0) {
			int	 ui;

			(void)conf_walk_bool(w, k, &ui);
		} else if (strcmp(k->key, "log_level") == 0) {
			if (conf_walk_string(w, k, &s) == 0) {
				if ((lvl = log_level_parse(s)) < 0)
					conf_walk_error(w, k->line, "log_level "
					    "must be trace, debug, info, warn "
					    "or error, not \"%s\"", s);
				else
					c->log_level = lvl;
			}
		} else if (strcmp(k->key, "log_format") == 0) {
			if (conf_walk_string(w, k, &s) == 0) {
				if (strcmp(s, "json") == 0)
					c->log_json = 1;
				else if (strcmp(s, "standard") == 0)
					c->log_json = 0;
				else
					conf_walk_error(w, k->line,
					    "log_format must be standard or "
					    "json, not \"%s\"", s);
			}
		} else if (strcmp(k->key, "default_lease_ttl") == 0)
			(void)conf_walk_duration(w, k, &c->default_lease_ttl);
		else if (strcmp(k->key, "max_lease_ttl") == 0)
			(void)conf_walk_duration(w, k, &c->max_lease_ttl);
		else if (strcmp(k->key, "worker_threads") == 0) {
			if (conf_walk_int(w, k, 1, 1024, &n) == 0)
				c->worker_threads = (int)n;
		} else
			conf_walk_error(w, k->line, "unknown key \"%s\"",
			    k->key);
	}
	free(s);
}

/* Move what a file set into the merged configuration. */
static void
merge(struct conf *dst, struct conf *src, const struct conf *defaults)
{
	struct conf_listener	*nl;

#define TAKE(f)	do { if (src->f != NULL) { free(dst->f); \
	dst->f = src->f; src->f = NULL; } } while (0)
	TAKE(storage_type);
	TAKE(storage_path);
	TAKE(storage_where);
	TAKE(api_addr);
	TAKE(cluster_addr);
	TAKE(cluster_name);
	TAKE(pid_file);
#undef TAKE
	if (src->storage_opts != NULL) {
		storage_opts_free(dst->storage_opts, dst->nstorage_opts);
		dst->storage_opts = src->storage_opts;
		dst->nstorage_opts = src->nstorage_opts;
		src->storage_opts = NULL;
		src->nstorage_opts = 0;
	}
#define SCALAR(f) do { if (src->f != defaults->f) dst->f = src->f; } while (0)
	SCALAR(ha_enabled);
	SCALAR(disable_mlock);
	SCALAR(log_level);
	SCALAR(log_json);
	SCALAR(default_lease_ttl);
	SCALAR(max_lease_ttl);
	SCALAR(worker_threads);
#undef SCALAR
	if (src->nlisteners > 0 && (nl = reallocarray(dst->listeners,
	    dst->nlisteners + src->nlisteners, sizeof(*nl))) != NULL) {
		memcpy(nl + dst->nlisteners, src->listeners,
		    src->nlisteners * sizeof(*nl));
		dst->listeners = nl;
		dst->nlisteners += src->nlisteners;
		free(src->listeners);
		src->listeners = NULL;
		src->nlisteners = 0;
	}
}

static int
read_file(const char *path, struct buf *out, struct buf *errs)
{
	char	 chunk[8192];
	ssize_t	 n;
	int	 fd, rc = CF_OK;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		(void)!buf_printf(errs, "%s: %s\n", path, strerror(errno));
		return CF_EINVAL;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (out->len + (size_t)n > CONF_MAX_FILE) {
			(void)!buf_printf(errs, "%s: file too large\n", path);
			rc = CF_EINVAL;
			break;
		}
		if ((rc = buf_append(out, chunk, (size_t)n)) != CF_OK)
			break;
	}
	if (n < 0) {
		(void)!buf_printf(errs, "%s: %s\n", path, strerror(errno));
		rc = CF_EINVAL;
	}
	close(fd);
	return rc;
}

static int
load_file(struct conf *c, const char *path, struct buf *errs)
{
	struct buf	 text = BUF_INIT, perr = BUF_INIT;
	struct hcl_node	*root = NULL;
	struct conf	 scratch, defaults;
	struct conf_walk	 w;
	int		 rc;

	if ((rc = read_file(path, &text, errs)) != CF_OK)
		goto out;
	if (hcl_parse(text.data != NULL ? text.data : "", text.len, path,
	    &root, &perr) != CF_OK) {
		(void)!buf_printf(errs, "%s\n", perr.data != NULL ? perr.data :
		    "parse error");
		rc = CF_EINVAL;
		goto out;
	}
	conf_init(&scratch);
	conf_init(&defaults);
	w.file = path;
	w.errs = errs;
	w.nerr = 0;
	if (c->storage_type != NULL)
		scratch.storage_type = NULL;
	walk_top(&w, &scratch, root);
	if (scratch.storage_type != NULL && c->storage_type != NULL)
		conf_walk_error(&w, 1, "storage is already configured at %s",
		    c->storage_where != NULL ? c->storage_where : "?");
	if (w.nerr == 0)
		merge(c, &scratch, &defaults);
	conf_free(&scratch);
	rc = w.nerr == 0 ? CF_OK : CF_EINVAL;
 out:
	hcl_free(root);
	buf_free(&text);
	buf_free(&perr);
	return rc;
}

static int
has_suffix(const char *s, const char *suf)
{
	size_t	 ls = strlen(s), lf = strlen(suf);

	return ls > lf && strcmp(s + ls - lf, suf) == 0;
}

int
conf_load(struct conf *c, const char *path, struct buf *errs)
{
	struct dirent	**ents = NULL;
	struct stat	  sb;
	char		 *p;
	int		  n, i, rc = CF_OK;

	if (stat(path, &sb) == -1) {
		(void)!buf_printf(errs, "%s: %s\n", path, strerror(errno));
		return CF_EINVAL;
	}
	if (!S_ISDIR(sb.st_mode))
		return load_file(c, path, errs);
	if ((n = scandir(path, &ents, NULL, alphasort)) == -1) {
		(void)!buf_printf(errs, "%s: %s\n", path, strerror(errno));
		return CF_EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (ents[i]->d_name[0] != '.' &&
		    (has_suffix(ents[i]->d_name, ".hcl") ||
		    has_suffix(ents[i]->d_name, ".json"))) {
			if (asprintf(&p, "%s/%s", path, ents[i]->d_name) ==
			    -1)
				rc = CF_ENOMEM;
			else {
				if (load_file(c, p, errs) != CF_OK)
					rc = CF_EINVAL;
				free(p);
			}
		}
		free(ents[i]);
	}
	free(ents);
	return rc;
}

/*
 * The storage directory must exist, or its parent must, for the backend
 * to make it (with mode 0700) at start.  Nothing is created here.
 */
static int
check_storage_dir(struct buf *errs, const char *where, const char *path)
{
	struct stat	 sb;
	char		*parent = NULL, *slash;
	int		 rc = 0;

	if (stat(path, &sb) == 0) {
		if (!S_ISDIR(sb.st_mode)) {
			(void)!buf_printf(errs, "%s: path \"%s\": not a "
			    "directory\n", where, path);
			rc = -1;
		}
		goto out;
	}
	if (errno != ENOENT) {
		(void)!buf_printf(errs, "%s: path \"%s\": %s\n", where, path,
		    strerror(errno));
		rc = -1;
		goto out;
	}
	if ((parent = strdup(path)) == NULL) {
		rc = -1;
		goto out;
	}
	while ((slash = strrchr(parent, '/')) != NULL && slash[1] == '\0' &&
	    slash != parent)
		*slash = '\0';			/* "a/b/" is "a/b" */
	if ((slash = strrchr(parent, '/')) == NULL)
		strlcpy(parent, ".", strlen(parent) + 1);
	else if (slash == parent)
		slash[1] = '\0';
	else
		*slash = '\0';
	if (stat(parent, &sb) == -1 || !S_ISDIR(sb.st_mode)) {
		(void)!buf_printf(errs, "%s: path \"%s\": %s does not exist "
		    "to create it in\n", where, path, parent);
		rc = -1;
	}
 out:
	free(parent);
	return rc;
}

int
conf_finish(struct conf *c, struct buf *errs)
{
	int	 rc = CF_OK;

	if (c->storage_type == NULL) {
		(void)!buf_printf(errs, "configuration: no storage block, "
		    "e.g. storage \"lmdb\" { path = \"./data\" }\n");
		rc = CF_EINVAL;
	}
	if (c->nlisteners == 0) {
		(void)!buf_printf(errs, "configuration: no listener block, "
		    "e.g. listener \"tcp\" { address = \"127.0.0.1:8200\" "
		    "tls_disable = true }\n");
		rc = CF_EINVAL;
	}
	/* Standbys send clients to the active node's api_addr. */
	if (c->ha_enabled && (c->api_addr == NULL || c->api_addr[0] == '\0')) {
		(void)!buf_printf(errs, "%s: ha_enabled needs api_addr, the "
		    "address other nodes send clients to, e.g. api_addr = "
		    "\"http://10.0.0.1:8200\"\n", c->storage_where != NULL ?
		    c->storage_where : "configuration");
		rc = CF_EINVAL;
	}
	if (c->storage_path != NULL && c->storage_type != NULL &&
	    strcmp(c->storage_type, "inmem") != 0 &&
	    check_storage_dir(errs, c->storage_where != NULL ?
	    c->storage_where : "configuration", c->storage_path) != 0)
		rc = CF_EINVAL;
	if (conf_listener_check(c->listeners, c->nlisteners, errs) != CF_OK)
		rc = CF_EINVAL;
	if (c->default_lease_ttl > c->max_lease_ttl) {
		(void)!buf_printf(errs, "configuration: default_lease_ttl "
		    "(%llds) is longer than max_lease_ttl (%llds)\n",
		    c->default_lease_ttl, c->max_lease_ttl);
		rc = CF_EINVAL;
	}
	return rc;
}
