/*
 * modules.c -- wiring: which modules cofferd is made of.
 *
 * Become-active hooks run in the order given here (the token salt before
 * any mount, since mounts may hold tokens' data); leave-active hooks run
 * in reverse.  Everything loaded from behind the barrier is loaded on
 * becoming active and dropped on leaving: a standby forwards every
 * request, so it needs none of it and nothing goes stale.
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
#include "sys_policy.h"
#include "tokenapi.h"
#include "mounts.h"
#include "kv.h"
#include "cubbyhole.h"
#include "transit.h"
#include "userpass.h"
#include "approle.h"
#include "wrapping.h"
#include "sys_audit.h"
#include "authz.h"
#include "sys_tools.h"
#include "sys_leases.h"
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
	core_on_active(token_store_load);
	core_on_standby(token_store_unload);
	core_on_active(sys_mount);
	core_on_standby(unmount_all);
	policystore_register();
	sys_policy_register();
	tokenapi_register();
	kv_register();
	cubbyhole_register();
	transit_register();
	userpass_register();
	approle_register();
	mounts_register();
	wrapping_register();
	sys_audit_register();
	authz_register();
	sys_tools_register();
	sys_leases_register();
	/* --- end of registrations */
}
