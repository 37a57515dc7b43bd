/*
 * storage_harness.h -- what the files of tests/unit/test_storage share:
 * the fixture (a fresh store in a temporary directory), opening a
 * backend by name (plain, as an HA node, or wrapped in a faultstore),
 * the test database of the postgresql groups, bounded children, and
 * the checks most tests make.  The tests themselves are declared at the
 * end, by file, for test_storage.c's table.
 */
#ifndef COFFER_TESTS_STORAGE_HARNESS_H
#define COFFER_TESTS_STORAGE_HARNESS_H

#include <sys/types.h>

#include <stddef.h>

struct storage;
struct storage_conf;
struct storage_kv;

#define MIB		(1024 * 1024)

/* A backend name "fault:lmdb" is lmdb wrapped in a faultstore. */
#define FAULT_PREFIX	"fault:"

/* The test database (tests/pgtest.sh) and its shortest HA timeout. */
#define PG_URL_ENV	"COFFER_TEST_PG_URL"
#define PG_HA_TIMEOUT	"1000ms"
#define PG_HA_TIMEOUT_MS 1000

struct fixture {
	const char	*backend;	/* as given to open_store */
	char		 dir[64];
	struct storage	*st;
};

/*
 * The fixture of every backend test: setup opens backend in a new
 * directory under /tmp; teardown closes it and removes the directory
 * (and for postgresql the fixture's table).
 */
int	 setup(void **, const char *);
int	 teardown(void **);

/* The test table of a fixture directory: "t_" and its random tail. */
void	 pg_table(const char *, char *, size_t);
/* backend's configuration for dir; kv has room for two options. */
void	 make_conf(const char *, const char *, struct storage_conf *,
	    struct storage_kv *, char *, size_t);
/* One SQL command on the test database; 0 on success. */
int	 pg_exec(const char *);

/* Open backend (a "fault:" name wraps it) on dir; a CF_* code. */
int	 open_store(const char *, const char *, struct storage **);
/* Open as an HA node: the only way processes share a directory. */
int	 open_store_ha(const char *, const char *, struct storage **);
/* Close the fixture's store and open it again, plain or as HA node. */
void	 reopen(struct fixture *);
void	 reopen_ha(struct fixture *);

/*
 * fork() for a test: the child dies by alarm if it hangs.  wait_child
 * is waitpid(pid, status, 0) bounded: at the limit the child is killed
 * and -1 returned.  test_fork_ha closes the fixture's HA store across
 * the fork (no thread of it runs beside the child) and reopens it in
 * the parent.  expect_child_ok waits and expects exit status 0.
 */
pid_t	 test_fork(void);
pid_t	 wait_child(pid_t, int *);
pid_t	 test_fork_ha(struct fixture *);
void	 expect_child_ok(pid_t);
/*
 * A child that opens the fixture's store as an HA node, takes the lock
 * with record rec, writes one byte to fds[1] once it holds it, and
 * waits to be killed.
 */
pid_t	 spawn_holder(struct fixture *, const char *, int[2]);

/* What the fixture's backend is, and so which tests apply to it. */
int	 is_wrapped(const struct fixture *);
const char *inner_name(const struct fixture *);
int	 is_durable(const struct fixture *);
int	 is_backend(const struct fixture *, const char *);
int	 has_ha(const struct fixture *);

/* The checks: key holds exactly val; key is absent; list is want. */
void	 check_value(struct storage *, const char *, const void *, size_t);
void	 check_missing(struct storage *, const char *);
void	 expect_list(struct storage *, const char *, const char *const *,
	    size_t);
/* Every HA lock call on a store without HA: CF_ENOTSUP, nothing held. */
void	 expect_no_ha(struct storage *);
/* A byte pattern that differs per seed: catches swapped values. */
void	 fill(unsigned char *, size_t, unsigned int);
/* Milliseconds on the monotonic clock. */
long long now_ms(void);

/* test_storage_conform.c: what every backend does alike. */
void	 test_put_get_overwrite_delete(void **);
void	 test_list_semantics(void **);
void	 test_binary_and_sizes(void **);
void	 test_many_keys(void **);
void	 test_odd_keys(void **);
void	 test_invalid_keys(void **);
void	 test_batch(void **);
void	 test_threads(void **);
void	 test_batch_crossing(void **);
void	 test_open(void **);
void	 test_del_prefix(void **);
void	 test_conf_check(void **);
void	 test_key_rule(void **);

/* test_storage_crash.c: a writer killed mid-write loses nothing acked. */
void	 test_crash(void **);
void	 test_crash_batch(void **);

/* test_storage_lmdb.c: LMDB's processes and map. */
void	 test_two_processes(void **);
void	 test_map_growth(void **);
void	 test_lmdb_one_process(void **);
void	 test_lmdb_kept_reader(void **);

/* test_storage_file.c: the file backend's journal and lock. */
void	 test_file_recovery(void **);
void	 test_file_lock(void **);

/* test_storage_ha.c: the HA lock. */
void	 test_lock_unsupported(void **);
void	 test_ha_mutual_exclusion(void **);
void	 test_ha_holder_sigkill(void **);
void	 test_ha_wait_timeout(void **);
void	 test_ha_lock_lost(void **);

/* test_storage_fault.c: the faultstore, armed. */
void	 test_fault_each_kind(void **);
void	 test_fault_sticky(void **);
void	 test_fault_parse(void **);
void	 test_fault_armfile(void **);
void	 test_fault_threads(void **);

/* test_storage_pg.c: postgresql's settings, sessions and HA lock. */
void	 test_pg_open(void **);
void	 test_pg_reconnect(void **);
void	 test_pg_no_ha(void **);
void	 test_pg_ha_fence(void **);
void	 test_pg_ha_pause(void **);
void	 test_pg_ha_session_lost(void **);
void	 test_pg_ha_fence_inflight(void **);

#endif /* COFFER_TESTS_STORAGE_HARNESS_H */
