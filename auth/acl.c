/*
 * acl.c -- ACL checks (interim: root or nothing).
 */
#include "config.h"

#include <stdlib.h>
#include <string.h>

#include "acl.h"
#include "buf.h"
#include "err.h"

struct acl {
	int	 is_root;
};

int
acl_new(struct policy *const *p, size_t n, int is_root, struct acl **out)
{
	struct acl	*a;

	(void)p;
	(void)n;
	if ((a = calloc(1, sizeof(*a))) == NULL)
		return CF_ENOMEM;
	a->is_root = is_root;
	*out = a;
	return CF_OK;
}

void
acl_free(struct acl *a)
{
	free(a);
}

unsigned
acl_capabilities(const struct acl *a, const char *path)
{
	(void)path;
	return a != NULL && a->is_root ? ~0u : ACL_CAP_DENY;
}

int
acl_check(const struct acl *a, const char *path, int op, json_t *params,
    int *sudo)
{
	(void)path;
	(void)op;
	(void)params;
	if (sudo != NULL)
		*sudo = a != NULL && a->is_root;
	return a != NULL && a->is_root ? CF_OK : CF_EDENIED;
}

int
acl_path_needs_sudo(const char *path)
{
	(void)path;
	return 0;
}

int
acl_capability_names(unsigned caps, int is_root, struct strv *out)
{
	(void)caps;
	return strv_push(out, is_root ? "root" : "deny");
}
