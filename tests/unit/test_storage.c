/*
 * test_storage.c -- one conformance suite, run unchanged against every
 * storage backend: lmdb, file and inmem, each plain and wrapped in an
 * unarmed faultstore (whose wrapping must change nothing).  The fault
 * tests then arm it and check that the Nth call fails with CF_EIO and
 * has no effect, and that the calls around it are untouched.
 *
 * Each test opens a fresh store in a new temporary directory under /tmp
 * and removes it afterwards.  Tests that need durability (reopen, crash)
 * or a backend's own machinery (two LMDB processes, map growth, the file
 * backend's journal and lock) skip the backends they do not apply to.
 *
 * postgresql runs the same suite when COFFER_TEST_PG_URL names a test
 * database (make check starts one with tests/pgtest.sh); each fixture
 * gets a table of its own, named after its directory, dropped at
 * teardown.  Without the variable the postgresql groups are skipped,
 * saying so.
 *
 * This file is the table: every test runs in every backend's group.
 * The tests live by concern in test_storage_conform.c (every backend
 * alike), test_storage_crash.c (SIGKILL mid-write), test_storage_lmdb.c,
 * test_storage_file.c, test_storage_ha.c (the HA lock),
 * test_storage_fault.c (the faultstore armed) and test_storage_pg.c;
 * storage_harness.c holds the fixture and the helpers they share.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "log.h"
#include "storage_harness.h"

static int setup_lmdb(void **s) { return setup(s, "lmdb"); }
static int setup_file(void **s) { return setup(s, "file"); }
static int setup_inmem(void **s) { return setup(s, "inmem"); }
static int setup_fault_lmdb(void **s) { return setup(s, "fault:lmdb"); }
static int setup_fault_file(void **s) { return setup(s, "fault:file"); }
static int setup_fault_inmem(void **s) { return setup(s, "fault:inmem"); }
static int setup_pg(void **s) { return setup(s, "postgresql"); }
static int setup_fault_pg(void **s) { return setup(s, "fault:postgresql"); }

#define T(fn, setupfn)	cmocka_unit_test_setup_teardown(fn, setupfn, teardown)
#define BACKEND_TESTS(s)						\
	T(test_put_get_overwrite_delete, s),				\
	T(test_list_semantics, s),					\
	T(test_binary_and_sizes, s),					\
	T(test_many_keys, s),						\
	T(test_odd_keys, s),						\
	T(test_invalid_keys, s),					\
	T(test_batch, s),						\
	T(test_threads, s),						\
	T(test_batch_crossing, s),					\
	T(test_open, s),						\
	T(test_two_processes, s),					\
	T(test_map_growth, s),						\
	T(test_file_recovery, s),					\
	T(test_file_lock, s),						\
	T(test_crash, s),						\
	T(test_crash_batch, s),						\
	T(test_lmdb_one_process, s),					\
	T(test_lmdb_kept_reader, s),					\
	T(test_lock_unsupported, s),					\
	T(test_ha_mutual_exclusion, s),					\
	T(test_ha_holder_sigkill, s),					\
	T(test_ha_wait_timeout, s),					\
	T(test_ha_lock_lost, s),					\
	T(test_fault_each_kind, s),					\
	T(test_fault_sticky, s),					\
	T(test_fault_parse, s),						\
	T(test_fault_armfile, s),					\
	T(test_fault_threads, s),					\
	T(test_del_prefix, s),						\
	T(test_pg_open, s),						\
	T(test_pg_reconnect, s),					\
	T(test_pg_no_ha, s),						\
	T(test_pg_ha_fence, s),						\
	T(test_pg_ha_pause, s),						\
	T(test_pg_ha_session_lost, s),					\
	T(test_pg_ha_fence_inflight, s)

int
main(void)
{
	const struct CMUnitTest lmdb_tests[] = { BACKEND_TESTS(setup_lmdb) };
	const struct CMUnitTest file_tests[] = { BACKEND_TESTS(setup_file) };
	const struct CMUnitTest inmem_tests[] = {
	    BACKEND_TESTS(setup_inmem) };
	const struct CMUnitTest fault_lmdb_tests[] = {
	    BACKEND_TESTS(setup_fault_lmdb) };
	const struct CMUnitTest fault_file_tests[] = {
	    BACKEND_TESTS(setup_fault_file) };
	const struct CMUnitTest fault_inmem_tests[] = {
	    BACKEND_TESTS(setup_fault_inmem) };
	const struct CMUnitTest pg_tests[] = { BACKEND_TESTS(setup_pg) };
	const struct CMUnitTest fault_pg_tests[] = {
	    BACKEND_TESTS(setup_fault_pg) };
	const struct CMUnitTest conf_tests[] = {
	    cmocka_unit_test(test_conf_check),
	    cmocka_unit_test(test_key_rule) };
	int	 failed = 0;

	if (sodium_init() < 0)
		return 1;
	/* Expected failures (a refused open) would clutter the output. */
	log_setlevel(LOG_LVL_ERROR);
	srand((unsigned int)time(NULL) ^ (unsigned int)getpid());
	failed += cmocka_run_group_tests_name("lmdb", lmdb_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("file", file_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("inmem", inmem_tests, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("fault:lmdb", fault_lmdb_tests,
	    NULL, NULL);
	failed += cmocka_run_group_tests_name("fault:file", fault_file_tests,
	    NULL, NULL);
	failed += cmocka_run_group_tests_name("fault:inmem",
	    fault_inmem_tests, NULL, NULL);
	failed += cmocka_run_group_tests_name("conf", conf_tests, NULL, NULL);
	if (getenv(PG_URL_ENV) == NULL || *getenv(PG_URL_ENV) == '\0') {
		printf("[ SKIPPED  ] postgresql: %s is not set (make check "
		    "starts a test database with tests/pgtest.sh)\n",
		    PG_URL_ENV);
		return failed != 0;
	}
	failed += cmocka_run_group_tests_name("postgresql", pg_tests, NULL,
	    NULL);
	failed += cmocka_run_group_tests_name("fault:postgresql",
	    fault_pg_tests, NULL, NULL);
	return failed != 0;
}
