/*
 * cubbyhole.c -- per-token private storage, mounted at cubbyhole/.
 *
 * Each token's secrets live under <view><token hash>/, so no other
 * token can name them, root included, and revoking the token removes
 * them (token.c calls back on every revocation).  Reads, writes, lists
 * and deletes behave as KV version 1.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "core.h"
#include "cubbyhole.h"
#include "err.h"
#include "paths.h"
#include "req.h"
#include "router.h"
#include "storage.h"
#include "token.h"

/* The one cubbyhole mount's view, for revocations ("" until mounted). */
static char	 cubby_view[64];

static char *
ckey(const struct mount *m, const struct request *req, const char *rel)
{
	char	*k = NULL;

	if (asprintf(&k, "%s%s/%s", m->view, req->auth->hash, rel) == -1)
		return NULL;
	return k;
}

static int
cubby_handle(struct mount *m, struct request *req, struct response *resp)
{
	struct strv	 sv = STRV_INIT;
	json_t		*j, *keys;
	char		*key;
	size_t		 i;
	int		 rc;

	if ((key = ckey(m, req, req->rel)) == NULL)
		return CF_ENOMEM;
	switch (req->op) {
	case REQ_LIST:
		if ((rc = core_list(key, &sv)) == CF_OK && sv.n > 0) {
			keys = json_array();
			for (i = 0; i < sv.n; i++)
				json_array_append_new(keys,
				    json_string(sv.v[i]));
			rc = resp_data(resp, json_pack("{s:o}", "keys", keys));
		}
		strv_free(&sv);
		break;
	case REQ_READ:
		if (*req->rel == '\0') {
			rc = CF_OK;
			break;
		}
		if ((rc = core_get_json(key, &j)) == CF_ENOTFOUND)
			rc = CF_OK;
		else if (rc == CF_OK)
			rc = resp_data(resp, j);
		break;
	case REQ_CREATE:
	case REQ_UPDATE:
		if (*req->rel == '\0')
			rc = resp_fail(resp, CF_EINVAL, "missing key");
		else if (json_object_size(req->data) == 0)
			rc = resp_fail(resp, CF_EINVAL, "missing data fields");
		else
			rc = core_put_json(key, req->data);
		break;
	case REQ_DELETE:
		rc = *req->rel == '\0' ? CF_OK : core_del(key);
		break;
	default:
		rc = resp_fail(resp, CF_EMETHOD,
		    "1 error occurred:\n\t* unsupported operation\n\n");
	}
	free(key);
	return rc;
}

static int
cubby_any(struct mount *m, struct request *req, struct response *resp,
    const struct path_args *a)
{
	(void)a;
	return cubby_handle(m, req, resp);
}

static const struct path_entry cubby_entries[] = {
	{ "*", PATH_READ | PATH_WRITE | PATH_DELETE | PATH_LIST, cubby_any },
	{ NULL, 0, NULL }
};

static const struct path_table cubby_paths = {
	.entries = cubby_entries,
};

static int
cubby_exists(struct mount *m, struct request *req, int *exists)
{
	struct buf	 b = BUF_INIT;
	char		*key;
	int		 rc;

	*exists = 0;
	if ((key = ckey(m, req, req->rel)) == NULL)
		return CF_ENOMEM;
	rc = storage_key_is_valid(key) ? core_get(key, &b) : CF_ENOTFOUND;
	*exists = rc == CF_OK;
	free(key);
	buf_free(&b);
	return rc == CF_OK || rc == CF_ENOTFOUND ? CF_OK : rc;
}

static int
cubby_open(struct mount *m)
{
	strlcpy(cubby_view, m->view, sizeof(cubby_view));
	return CF_OK;
}

static int
on_revoke(const char *hash)
{
	char	*prefix;
	int	 rc;

	if (cubby_view[0] == '\0')
		return CF_OK;
	if (asprintf(&prefix, "%s%s/", cubby_view, hash) == -1)
		return CF_ENOMEM;
	rc = core_del_prefix(prefix);
	free(prefix);
	return rc;
}

/*
 * The storage key of a token's entry rel into *out: CF_EINTERNAL while
 * no cubbyhole is mounted, CF_ENOMEM.
 */
static int
own_key(const char *hash, const char *rel, char **out)
{
	*out = NULL;
	if (cubby_view[0] == '\0')
		return CF_EINTERNAL;
	if (asprintf(out, "%s%s/%s", cubby_view, hash, rel) == -1) {
		*out = NULL;
		return CF_ENOMEM;
	}
	return CF_OK;
}

int
cubbyhole_put(const char *hash, const char *rel, const json_t *v)
{
	char	*key;
	int	 rc;

	if ((rc = own_key(hash, rel, &key)) != CF_OK)
		return rc;
	rc = core_put_json(key, v);
	free(key);
	return rc;
}

int
cubbyhole_get(const char *hash, const char *rel, json_t **out)
{
	char	*key;
	int	 rc;

	*out = NULL;
	if ((rc = own_key(hash, rel, &key)) != CF_OK)
		return rc;
	rc = core_get_json(key, out);
	free(key);
	return rc;
}

static const struct backend_ops cubby_ops = {
	.type = "cubbyhole",
	.open = cubby_open,
	.table = &cubby_paths,
	.exists = cubby_exists,
};

void
cubbyhole_register(void)
{
	router_register(&cubby_ops);
	token_on_revoke(on_revoke);
}
