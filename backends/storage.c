/*
 * storage.c -- backend registry, key checks and dispatch.
 *
 * Keys are validated here, once, so that no backend has to: a key that
 * reaches a backend is non-empty, at most STORAGE_KEY_MAX bytes, free
 * of control bytes, of empty, "." and ".." segments, and of leading or
 * trailing slashes.
 *
 * COFFER_FAULTSTORE=1 compiles the copy of this file that only the test
 * binary bin/cofferd-fault links: there, storage_open hands every store
 * it opens to faultstore_open_env, which wraps it in a faultstore when
 * the environment asks for one (see faultstore.c).  The faultstore is
 * deliberately not in backends[]: it cannot be opened by name, only
 * around another backend.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "log.h"
#include "storage.h"
#if COFFER_FAULTSTORE
#include "faultstore.h"
#endif

static const struct storage_ops *const backends[] = {
	&storage_lmdb_ops,
	&storage_file_ops,
	&storage_inmem_ops,
	&storage_postgresql_ops,
	NULL
};

const struct storage_ops *
storage_ops_lookup(const char *name)
{
	size_t	 i;

	for (i = 0; backends[i] != NULL; i++)
		if (strcmp(backends[i]->name, name) == 0)
			return backends[i];
	return NULL;
}

/* Check every segment of s[0..len): none empty, ".", or "..". */
static int
segments_are_valid(const char *s, size_t len)
{
	size_t	 i, start = 0, seg;

	for (i = 0; i <= len; i++) {
		if (i < len && s[i] != '/')
			continue;
		seg = i - start;
		if (seg == 0)
			return 0;
		if (seg == 1 && s[start] == '.')
			return 0;
		if (seg == 2 && s[start] == '.' && s[start + 1] == '.')
			return 0;
		start = i + 1;
	}
	return 1;
}

/* Control bytes are refused: backends may use them as markers. */
static int
has_control(const char *s, size_t len)
{
	size_t	 i;

	for (i = 0; i < len; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return 1;
	return 0;
}

/*
 * No control byte, no empty, "." or ".." segment, 1..STORAGE_KEY_MAX
 * bytes.  Every read checks its key, so this is on the hot path: the
 * length in one strnlen, then one test for most bytes (above '/' and
 * not DEL), and the segment rules only at each '/' and at the end.
 */
int
storage_key_is_valid(const char *key)
{
	const unsigned char	*p, *seg;
	size_t			 n;

	if (key == NULL || (n = strnlen(key, STORAGE_KEY_MAX + 1)) == 0 ||
	    n > STORAGE_KEY_MAX)
		return 0;
	for (p = seg = (const unsigned char *)key;; p++) {
		if (*p > '/' && *p != 0x7f)
			continue;
		if (*p == '/' || *p == '\0') {
			n = (size_t)(p - seg);
			if (n == 0 || (n <= 2 && seg[0] == '.' &&
			    seg[n - 1] == '.'))
				return 0;
			if (*p == '\0')
				return 1;
			seg = p + 1;
		} else if (*p < 0x20 || *p == 0x7f)
			return 0;
	}
}

/* A list prefix is "" or a valid key followed by one '/'. */
static int
prefix_is_valid(const char *prefix)
{
	size_t	 len;

	if (prefix == NULL)
		return 0;
	len = strnlen(prefix, STORAGE_KEY_MAX + 1);
	if (len == 0)
		return 1;
	if (len > STORAGE_KEY_MAX || prefix[len - 1] != '/' ||
	    has_control(prefix, len))
		return 0;
	return segments_are_valid(prefix, len - 1);
}

int
storage_conf_check(const char *backend, const char *key, const char *val,
    char *why, size_t whylen)
{
	const struct storage_ops	*ops;

	if ((ops = storage_ops_lookup(backend)) == NULL) {
		snprintf(why, whylen, "unknown backend \"%s\"", backend);
		return CF_EINVAL;
	}
	return ops->conf_check(key, val, why, whylen);
}

const char *
storage_conf_get(const struct storage_conf *conf, const char *key)
{
	const char	*val = NULL;
	size_t		 i;

	for (i = 0; i < conf->nopts; i++)
		if (strcmp(conf->opts[i].key, key) == 0)
			val = conf->opts[i].val;
	return val;
}

int
storage_open(const char *name, const struct storage_conf *conf,
    struct storage **out)
{
	const struct storage_ops	*ops;

	if ((ops = storage_ops_lookup(name)) == NULL) {
		log_warnx("storage: unknown backend \"%s\"", name);
		return CF_EINVAL;
	}
	if (ops->version != STORAGE_OPS_VERSION)
		CF_BUG("storage backend built for another vtable version");
#if COFFER_FAULTSTORE
	return faultstore_open_env(ops, conf, out);
#else
	return ops->open(conf, out);
#endif
}

void
storage_close(struct storage *st)
{
	if (st != NULL)
		st->ops->close(st);
}

const char *
storage_name(const struct storage *st)
{
	return st->ops->name;
}

int
storage_get(struct storage *st, const char *key, struct buf *val)
{
	if (!storage_key_is_valid(key)) {
		buf_reset(val);
		return CF_EINVAL;
	}
	return storage_get_checked(st, key, val);
}

int
storage_get_checked(struct storage *st, const char *key, struct buf *val)
{
	buf_reset(val);
	return st->ops->get(st, key, val);
}

int
storage_put(struct storage *st, const char *key, const void *val, size_t len)
{
	if (!storage_key_is_valid(key) || (val == NULL && len > 0))
		return CF_EINVAL;
	return st->ops->put(st, key, val, len);
}

int
storage_del(struct storage *st, const char *key)
{
	if (!storage_key_is_valid(key))
		return CF_EINVAL;
	return st->ops->del(st, key);
}

int
storage_list(struct storage *st, const char *prefix, struct strv *out)
{
	if (!prefix_is_valid(prefix))
		return CF_EINVAL;
	return st->ops->list(st, prefix, out);
}

int
storage_batch(struct storage *st, const struct storage_op *ops, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++) {
		if (!storage_key_is_valid(ops[i].key))
			return CF_EINVAL;
		if (ops[i].kind != STORAGE_OP_PUT &&
		    ops[i].kind != STORAGE_OP_DEL)
			return CF_EINVAL;
		if (ops[i].kind == STORAGE_OP_PUT && ops[i].val == NULL &&
		    ops[i].len > 0)
			return CF_EINVAL;
	}
	if (n == 0)
		return CF_OK;
	return st->ops->batch(st, ops, n);
}

int
storage_put_by_batch(struct storage *st, const char *key, const void *val,
    size_t len)
{
	struct storage_op	 op = { STORAGE_OP_PUT, key, val, len };

	return st->ops->batch(st, &op, 1);
}

int
storage_del_by_batch(struct storage *st, const char *key)
{
	struct storage_op	 op = { STORAGE_OP_DEL, key, NULL, 0 };

	return st->ops->batch(st, &op, 1);
}

int
storage_del_prefix(struct storage *st, const char *prefix)
{
	/* "" would be every key: no caller means that. */
	if (!prefix_is_valid(prefix) || prefix[0] == '\0')
		return CF_EINVAL;
	return st->ops->del_prefix(st, prefix);
}

static int
holder_is_valid(const char *holder)
{
	size_t	 len;

	if (holder == NULL)
		return 0;
	len = strnlen(holder, STORAGE_HOLDER_MAX + 1);
	return len > 0 && len <= STORAGE_HOLDER_MAX;
}

int
storage_lock_try(struct storage *st, const char *holder, int *got)
{
	*got = 0;
	if (!holder_is_valid(holder))
		return CF_EINVAL;
	return st->ops->lock_try(st, holder, got);
}

int
storage_lock_wait(struct storage *st, const char *holder, int ms, int *got)
{
	*got = 0;
	if (!holder_is_valid(holder))
		return CF_EINVAL;
	return st->ops->lock_wait(st, holder, ms, got);
}

int
storage_lock_release(struct storage *st)
{
	return st->ops->lock_release(st);
}

int
storage_lock_holder(struct storage *st, struct buf *holder)
{
	int	 rc;

	buf_reset(holder);
	if ((rc = st->ops->lock_holder(st, holder)) != CF_OK)
		buf_reset(holder);
	return rc;
}

int
storage_lock_check(struct storage *st)
{
	return st->ops->lock_check(st);
}
