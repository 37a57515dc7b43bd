/*
 * token_cidrs.c -- bound CIDR lists of tokens and of the login methods'
 * users and roles: reading them from requests as Vault echoes them,
 * and checking a client address against them.
 */
#include "config.h"

#include <stddef.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "cidr.h"
#include "err.h"
#include "req.h"
#include "token_cidrs.h"

int
token_cidrs_contain(const json_t *list, const char *ip)
{
	struct cidr	 c;
	json_t		*v;
	size_t		 i;

	/* Cast: the iteration reads only. */
	json_array_foreach((json_t *)list, i, v)
		if (cidr_parse(json_string_value(v), &c, NULL, 0) == CF_OK &&
		    cidr_contains(&c, ip))
			return 1;
	return 0;
}

int
token_cidrs_allow(json_t *e, const char *addr)
{
	json_t	*list;

	list = json_object_get(e, "bound_cidrs");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_integer_value(json_object_get(e, "expire_time")) == 0)
		return CF_OK;
	return addr != NULL && token_cidrs_contain(list, addr) ? CF_OK :
	    CF_EDENIED;
}

int
token_cidrs_read(struct request *req, struct response *resp, const char *key,
    const char *prefix, json_t **out, int *present)
{
	struct strv	 sv = STRV_INIT;
	struct cidr	 c;
	char		 why[512], txt[CIDR_TEXT_MAX];
	size_t		 i;
	int		 rc, p = 0;

	*out = NULL;
	if ((rc = req_strlist(req, resp, key, &sv, &p)) != CF_OK)
		goto out;
	if (present != NULL)
		*present = p;
	if (!p)
		goto out;
	if ((*out = json_array()) == NULL) {
		rc = CF_ENOMEM;
		goto out;
	}
	for (i = 0; i < sv.n; i++) {
		if (cidr_parse(sv.v[i], &c, why, sizeof(why)) != CF_OK) {
			rc = resp_fail(resp, CF_EINVAL, "%serror parsing "
			    "address \"%s\": %s", prefix, sv.v[i], why);
			goto out;
		}
		if (c.family == 0)	/* a unix socket keeps its text */
			strlcpy(txt, sv.v[i], sizeof(txt));
		else
			cidr_format(&c, txt, sizeof(txt));
		if (json_array_append_new(*out, json_string(txt)) != 0) {
			rc = CF_ENOMEM;
			goto out;
		}
	}
 out:
	if (rc != CF_OK) {
		json_decref(*out);
		*out = NULL;
	}
	strv_free(&sv);
	return rc;
}
