/*
 * bench_acl.c -- token lookup plus ACL check per second, in process.
 *
 * usage: bench_acl
 * Runs the path every authenticated request takes: hash the token, read
 * and decrypt its entry (inmem storage, real barrier), fetch the cached
 * ACL, check one path; and the ACL check alone.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "acl.h"
#include "barrier.h"
#include "buf.h"
#include "core.h"
#include "err.h"
#include "log.h"
#include "req.h"
#include "storage.h"
#include "token.h"
#include "../testutil.h"

int
main(void)
{
	static const char pol[] = "{\"name\":\"app\",\"policy\":"
	    "\"path \\\"secret/data/app/*\\\" { capabilities = [\\\"read\\\"] }"
	    "\\npath \\\"secret/+/x\\\" { capabilities = [\\\"list\\\"] }\"}";
	struct storage_conf	 sc = { NULL, 0, NULL, 0 };
	struct core_conf	 cc;
	struct storage		*st;
	struct barrier		*b;
	struct token_params	 tp;
	struct strv		 pols = STRV_INIT;
	struct auth_ctx		*ac;
	char			 token[TOKEN_MAX_LEN + 1];
	json_t			*e;
	double			 t0, el;
	long			 n;
	int			 sudo;

	if (sodium_init() < 0)
		return 1;
	log_setlevel(LOG_LVL_ERROR);
	memset(&cc, 0, sizeof(cc));
	cc.default_lease_ttl = cc.max_lease_ttl = 3600;
	if (storage_open("inmem", &sc, &st) != CF_OK || core_init(st, &cc) !=
	    CF_OK || barrier_new(&b) != CF_OK ||
	    barrier_keyring_init(b) != CF_OK)
		return 1;
	core_set_initialized();
	if (core_unseal(b) != CF_OK || token_store_load() != CF_OK ||
	    core_put("sys/policy/app", pol, strlen(pol)) != CF_OK ||
	    strv_push(&pols, "app") != CF_OK)
		return 1;
	memset(&tp, 0, sizeof(tp));
	tp.policies = &pols;
	tp.path = "auth/token/create";
	tp.display_name = "token";
	tp.ttl = 3600;
	if (token_create(&tp, token, &e) != CF_OK)
		return 1;
	json_decref(e);
	t0 = test_now();
	for (n = 0; (el = test_now() - t0) < 2.0; n++) {
		if (token_authenticate(token, "127.0.0.1", &ac) != CF_OK ||
		    acl_check(ac->acl, "secret/data/app/db", REQ_READ, NULL,
		    &sudo) != CF_OK)
			return 1;
		token_auth_ctx_free(ac);
	}
	printf("token lookup + ACL check  %9.0f ops/s (inmem storage, "
	    "barrier decrypt)\n", n / el);
	if (token_authenticate(token, "127.0.0.1", &ac) != CF_OK)
		return 1;
	t0 = test_now();
	for (n = 0; (el = test_now() - t0) < 1.0; n++)
		if (acl_check(ac->acl, "secret/data/app/db", REQ_READ, NULL,
		    &sudo) != CF_OK)
			return 1;
	printf("ACL check alone           %9.0f ops/s\n", n / el);
	token_auth_ctx_free(ac);
	strv_free(&pols);
	token_store_unload();
	core_fini();
	storage_close(st);
	return 0;
}
