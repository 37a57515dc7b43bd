/*
 * modules.c -- wiring: which modules cofferd is made of.
 *
 * Unseal hooks run in the order given here (the token salt before any
 * mount, since mounts may hold tokens' data); seal hooks run in reverse.
 */
#include "config.h"

#include "core.h"
#include "err.h"
#include "modules.h"
#include "router.h"
#include "seal.h"
#include "sys.h"
#include "token.h"
#include "policystore.h"
#include "tokenapi.h"
#include "mounts.h"
#include "kv.h"
#include "cubbyhole.h"
#include "transit.h"
#include "userpass.h"
#include "approle.h"
/* --- end of includes */

static int
unmount_all(void)
{
	router_clear();
	return CF_OK;
}

void
modules_register(void)
{
	sys_register();
	seal_register();
	core_on_unseal(token_store_load);
	core_on_seal(token_store_unload);
	core_on_unseal(sys_mount);
	core_on_seal(unmount_all);
	policystore_register();
	tokenapi_register();
	kv_register();
	cubbyhole_register();
	transit_register();
	userpass_register();
	approle_register();
	mounts_register();
	/* --- end of registrations */
}
