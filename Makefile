# coffer -- build, run and test.  See README.md.
#
# Makefile.configure and config.h come from ./configure; make runs it
# when they are missing.  SANITIZE=1 rebuilds everything with
# AddressSanitizer and UndefinedBehaviorSanitizer; SANITIZE=thread with
# ThreadSanitizer (suppressions for uninstrumented civetweb: tests/tsan.supp).

include Makefile.configure

# Includes are by bare name ("buf.h"): one -I per folder, so a file
# compiles wherever it lives.  The layers: tests/layers.py.
CFLAGS += -I. -Iutil -Ibackends -Iseal -Icore -Iauth -Iengines -Iserver

# One line per module, so that changes to different modules do not meet.
LIB_OBJS = compat.o
LIB_OBJS += util/err.o
LIB_OBJS += util/buf.o
LIB_OBJS += util/log.o
LIB_OBJS += util/jsonutil.o
LIB_OBJS += util/jsondoc.o
LIB_OBJS += util/timeutil.o
LIB_OBJS += util/uuid4.o
LIB_OBJS += util/cidr.o
LIB_OBJS += util/lock.o
LIB_OBJS += util/strutil.o
LIB_OBJS += util/hmac256.o
LIB_OBJS += backends/storage.o
LIB_OBJS += core/req.o
LIB_OBJS += core/reqparse.o
LIB_OBJS += util/jsonmem.o
LIB_OBJS += server/gate.o
LIB_OBJS += server/http.o server/http_request.o server/http_body.o server/http_reply.o server/civetfix.o
LIB_OBJS += core/router.o
LIB_OBJS += core/paths.o
LIB_OBJS += core/core.o
LIB_OBJS += core/jsoncache.o
LIB_OBJS += server/sys.o
LIB_OBJS += server/modules.o
LIB_OBJS += auth/token.o
LIB_OBJS += auth/token_cache.o
LIB_OBJS += auth/token_cidrs.o
LIB_OBJS += backends/inmem.o
LIB_OBJS += util/hcl.o
LIB_OBJS += server/conf_walk.o server/conf_listener.o server/conf.o
LIB_OBJS += seal/shamir.o
LIB_OBJS += seal/barrier.o
LIB_OBJS += seal/shares.o
LIB_OBJS += auth/acl.o
LIB_OBJS += auth/acl_match.o
LIB_OBJS += server/keys.o
LIB_OBJS += server/seal.o
LIB_OBJS += server/body.o
LIB_OBJS += server/sys_seal.o
LIB_OBJS += server/sys_rekey.o
LIB_OBJS += backends/group_commit.o
LIB_OBJS += backends/lmdb.o backends/lmdb_read.o backends/lmdb_write.o backends/lmdb_ha.o
LIB_OBJS += backends/file.o backends/file_names.o backends/file_journal.o
LIB_OBJS += backends/postgresql.o backends/postgresql_pool.o backends/postgresql_ha.o
LIB_OBJS += auth/policy.o
LIB_OBJS += auth/policystore.o
LIB_OBJS += server/sys_policy.o
LIB_OBJS += auth/tokenapi.o
LIB_OBJS += auth/tokenapi_create.o
LIB_OBJS += auth/tokenapi_ops.o
LIB_OBJS += auth/tokenapi_roles.o
LIB_OBJS += server/mount_table.o server/mounts_tune.o server/mounts.o
LIB_OBJS += engines/kv.o engines/kv2.o engines/kv2_data.o engines/kv2_meta.o
LIB_OBJS += engines/cubbyhole.o
LIB_OBJS += engines/transit.o engines/transit_keys.o engines/transit_store.o engines/transit_data.o
LIB_OBJS += auth/userpass.o
LIB_OBJS += auth/approle.o
LIB_OBJS += auth/approle_role.o
LIB_OBJS += auth/approle_sid.o
LIB_OBJS += auth/loginfields.o
LIB_OBJS += auth/authz.o
LIB_OBJS += server/ha_node.o server/ha_forward.o server/ha_echo.o server/ha.o
LIB_OBJS += server/wrapping.o
LIB_OBJS += server/audit.o server/audit_dev.o server/audit_entry.o server/audit_headers.o server/audit_jsonx.o server/audit_sock.o server/sys_audit.o
LIB_OBJS += server/metrics.o
LIB_OBJS += server/sys_tools.o server/sys_hostinfo.o
LIB_OBJS += server/sys_leases.o
# --- end of LIB_OBJS

SRV_OBJS = server/main.o

# The coffer client links libcurl, jansson and compat.o, and util/jsonmem.o
# (with libsodium and libcrypto) for the wiping allocator cofferd uses too.
CLI_OBJS = cli/main.o cli/util.o cli/flags.o cli/client.o cli/format.o
CLI_OBJS += cli/tokenhelper.o cli/prompt.o cli/kvdata.o cli/kvmount.o
CLI_OBJS += cli/cmd_sys.o cli/cmd_token.o cli/cmd_kv.o cli/cmd_generic.o
CLI_OBJS += cli/cmd_kvadmin.o
CLI_OBJS += cli/cmd_mount.o cli/cmd_policy.o cli/cmd_genroot.o cli/cmd_rekey.o
CLI_OBJS += cli/cmd_audit.o cli/keyshares.o cli/request.o cli/yaml.o
CLI_HEADERS = cli/cli.h cli/util.h cli/flags.h cli/client.h cli/format.h
CLI_HEADERS += cli/tokenhelper.h cli/prompt.h cli/kvdata.h cli/kvmount.h
CLI_HEADERS += cli/keyshares.h cli/request.h cli/yaml.h
LDADD_CLI = -lcurl -ljansson -lsodium -lcrypto
# cofferd.service goes where systemd looks under the prefix.
UNITDIR = $(PREFIX)/lib/systemd/system

# Test-only, never in libcoffer.a or bin/cofferd: see backends/faultstore.c.
FAULT_OBJS = backends/faultstore.o

HEADERS = util/err.h util/buf.h util/log.h core/req.h core/reqparse.h util/jsonmem.h
HEADERS += util/jsonutil.h util/timeutil.h util/uuid4.h
HEADERS += util/jsondoc.h
HEADERS += util/cidr.h
HEADERS += util/lock.h
HEADERS += util/strutil.h
HEADERS += util/hmac256.h
HEADERS += backends/storage.h backends/lmdbstore.h
HEADERS += core/paths.h core/jsoncache.h
HEADERS += server/gate.h server/http.h server/http_request.h server/http_body.h server/http_reply.h server/civetfix.h core/router.h core/core.h server/sys.h server/seal.h server/keys.h server/body.h server/sys_seal.h server/sys_rekey.h server/modules.h util/hcl.h auth/token.h
HEADERS += auth/token_cache.h auth/token_cidrs.h
HEADERS += seal/barrier.h seal/shamir.h seal/shares.h server/conf_walk.h server/conf_listener.h server/conf.h
HEADERS += auth/policy.h auth/acl.h
HEADERS += auth/acl_int.h
HEADERS += auth/policystore.h server/sys_policy.h
HEADERS += auth/tokenapi.h
HEADERS += auth/tokenapi_int.h
HEADERS += server/mount_table.h server/mounts_tune.h server/mounts.h engines/kv.h engines/kv2.h engines/kv2_priv.h
HEADERS += engines/cubbyhole.h
HEADERS += engines/transit.h engines/transit_keys.h engines/transit_store.h engines/transit_data.h
HEADERS += auth/userpass.h
HEADERS += auth/approle.h
HEADERS += auth/approle_int.h
HEADERS += auth/loginfields.h
HEADERS += auth/authz.h
HEADERS += server/ha.h server/ha_node.h server/ha_forward.h server/ha_echo.h
HEADERS += server/wrapping.h
HEADERS += server/audit.h server/audit_dev.h server/audit_entry.h server/audit_headers.h server/audit_jsonx.h server/audit_sock.h server/sys_audit.h
HEADERS += server/metrics.h server/sys_tools.h server/sys_leases.h
HEADERS += server/sys_hostinfo.h
# --- end of HEADERS

UNIT_TESTS = tests/unit/test_buf
UNIT_TESTS += tests/unit/test_req
UNIT_TESTS += tests/unit/test_jsonmem
UNIT_TESTS += tests/unit/test_storage
UNIT_TESTS += tests/unit/test_group_commit
UNIT_TESTS += tests/unit/test_shamir
UNIT_TESTS += tests/unit/test_barrier
UNIT_TESTS += tests/unit/test_shares
UNIT_TESTS += tests/unit/test_hcl
UNIT_TESTS += tests/unit/test_policy
UNIT_TESTS += tests/unit/test_acl
UNIT_TESTS += tests/unit/test_paths
UNIT_TESTS += tests/unit/test_jsonutil
UNIT_TESTS += tests/unit/test_jsoncache
UNIT_TESTS += tests/unit/test_jsondoc
UNIT_TESTS += tests/unit/test_cidr
UNIT_TESTS += tests/unit/test_transit_keys
UNIT_TESTS += tests/unit/test_audit_entry
UNIT_TESTS += tests/unit/test_router
UNIT_TESTS += tests/unit/test_tokenstore
UNIT_TESTS += tests/unit/test_core
UNIT_TESTS += tests/unit/test_lock
UNIT_TESTS += tests/unit/test_strutil
UNIT_TESTS += tests/unit/test_hmac256
# --- end of UNIT_TESTS

BENCH_PROGS =
BENCH_PROGS += tests/bench/ceiling
BENCH_PROGS += tests/bench/bench_storage tests/bench/bench_barrier
BENCH_PROGS += tests/bench/bench_acl
# --- end of BENCH_PROGS

# libFuzzer targets: NAME is tests/fuzz/fuzz_NAME.c, seeds in
# tests/fuzz/corpus/NAME/ (see tests/fuzz/run.sh).  One line each.
FUZZ_TARGETS = hcl
FUZZ_TARGETS += conf
FUZZ_TARGETS += policy
FUZZ_TARGETS += shamir
FUZZ_TARGETS += storage_key
FUZZ_TARGETS += duration
FUZZ_TARGETS += request
FUZZ_TARGETS += router
FUZZ_TARGETS += jsondoc
# --- end of FUZZ_TARGETS
FUZZ_SECONDS = 60

all: bin/cofferd lib/tls/libssl.so bin/coffer

# See server/tlsshim.c: lets Debian 12's civetweb load OpenSSL 3.
lib/tls/libssl.so: server/tlsshim.c
	@mkdir -p lib/tls
	$(CC) -shared -fPIC -O2 -Wall -Wextra -Werror -o $@ server/tlsshim.c \
	    -Wl,--no-as-needed -lssl

Makefile.configure config.h: configure probes.c
	./configure --install-deps $(CONFIGURE_ARGS)

# Rebuild everything when the compiler flags change (SANITIZE=1 or not).
.flags: FORCE
	@echo '$(CC) $(CFLAGS) $(LDFLAGS) $(SANITIZE)' | cmp -s - $@ || \
	    echo '$(CC) $(CFLAGS) $(LDFLAGS) $(SANITIZE)' > $@

SANFLAGS_1 = -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=all -U_FORTIFY_SOURCE
SANFLAGS_thread = -fsanitize=thread -fno-omit-frame-pointer -U_FORTIFY_SOURCE
SANFLAGS = $(SANFLAGS_$(SANITIZE))
ALL_CFLAGS = $(CFLAGS) $(SANFLAGS)
ALL_LDFLAGS = $(LDFLAGS) $(SANFLAGS)

$(LIB_OBJS) $(SRV_OBJS): config.h $(HEADERS) .flags
$(FAULT_OBJS) backends/storage_fault.o: config.h $(HEADERS) \
    backends/faultstore.h .flags

.SUFFIXES: .c .o
.c.o:
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

lib/libcoffer.a: $(LIB_OBJS)
	@mkdir -p lib
	rm -f $@
	ar rcs $@ $(LIB_OBJS)

bin/cofferd: $(SRV_OBJS) lib/libcoffer.a
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(SRV_OBJS) lib/libcoffer.a $(LDADD)

$(CLI_OBJS) compat.o: config.h $(CLI_HEADERS) .flags

bin/coffer: $(CLI_OBJS) compat.o util/jsonmem.o
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(CLI_OBJS) compat.o util/jsonmem.o $(LDADD_CLI)

# The fault build: the same objects, storage.c with the faultstore hook.
backends/storage_fault.o: backends/storage.c
	$(CC) $(ALL_CFLAGS) -DCOFFER_FAULTSTORE=1 -c -o $@ backends/storage.c

bin/cofferd-fault: $(SRV_OBJS) $(FAULT_OBJS) backends/storage_fault.o \
    lib/libcoffer.a
	@mkdir -p bin
	$(CC) $(ALL_LDFLAGS) -o $@ $(SRV_OBJS) $(FAULT_OBJS) \
	    backends/storage_fault.o lib/libcoffer.a $(LDADD)

# Unit tests: one cmocka program per module.
# Each links the library; the linker takes only the modules it uses.
$(UNIT_TESTS) $(BENCH_PROGS): lib/libcoffer.a config.h $(HEADERS) .flags
# The helpers they share (tests/testutil.h).
$(UNIT_TESTS) $(BENCH_PROGS): tests/testutil.h
.c:
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $< lib/libcoffer.a \
	    $(LDADD) $(LDADD_CMOCKA)

# The conformance suite also runs every backend wrapped in faultstore.
# One program from several files: test_storage.c is its table.
STORAGE_TEST_SRCS = tests/unit/test_storage.c tests/unit/storage_harness.c
STORAGE_TEST_SRCS += tests/unit/test_storage_conform.c
STORAGE_TEST_SRCS += tests/unit/test_storage_crash.c
STORAGE_TEST_SRCS += tests/unit/test_storage_lmdb.c
STORAGE_TEST_SRCS += tests/unit/test_storage_file.c
STORAGE_TEST_SRCS += tests/unit/test_storage_ha.c
STORAGE_TEST_SRCS += tests/unit/test_storage_fault.c
STORAGE_TEST_SRCS += tests/unit/test_storage_pg.c
tests/unit/test_storage: $(STORAGE_TEST_SRCS) tests/unit/storage_harness.h \
    $(FAULT_OBJS) backends/faultstore.h
	$(CC) $(ALL_CFLAGS) $(ALL_LDFLAGS) -o $@ $(STORAGE_TEST_SRCS) \
	    $(FAULT_OBJS) lib/libcoffer.a $(LDADD) $(LDADD_CMOCKA)

need-cmocka:
	@if [ "$(HAVE_CMOCKA)" != 1 ]; then \
	    echo "make: cmocka is missing: apt-get install libcmocka-dev"; \
	    exit 1; fi

deps-run:
	@./configure --deps-only

deps-check:
	@./configure --deps-only --with-tests

run: deps-run
	@$(MAKE) all
	@mkdir -p data
	@echo "cofferd: http://127.0.0.1:8200 (LMDB in ./data)."
	@echo "Next: curl -s -X PUT -d '{\"secret_shares\":1,\"secret_threshold\":1}' http://127.0.0.1:8200/v1/sys/init"
	./bin/cofferd -config cofferd.hcl

dev: all
	./bin/cofferd -dev

check: deps-check
	@$(MAKE) all $(UNIT_TESTS) bin/cofferd-fault
	@$(MAKE) check-unit check-integration lint check-clang check-routes
	@$(MAKE) check-systemd

# A hung test fails, with its name, instead of stalling the run: each
# unit program has TEST_TIMEOUT seconds, each integration test
# pytest-timeout's --timeout.
TEST_TIMEOUT = 1200
PYTEST = /usr/bin/python3 -m pytest -q -p no:cacheprovider --timeout=600

# tests/pgtest.sh runs them with a private PostgreSQL for test_storage,
# with the lock-order check on (util/lock.h).
check-unit: need-cmocka $(UNIT_TESTS)
	@COFFER_LOCK_CHECK=1 tests/pgtest.sh run sh -c 'fail=0; for t in $(UNIT_TESTS); do \
	    echo "== $$t"; timeout -k 10 $(TEST_TIMEOUT) ./$$t || \
	    { fail=1; echo "FAILED: $$t"; }; \
	done; exit $$fail'

# ThreadSanitizer where threads meet, not the whole suite again (the
# plain and ASan runs cover the rest): the unit programs that start
# threads -- storage (every backend's conformance, crash and HA lock
# tests), group commit, the JSON allocator -- and the integration tests
# written for concurrency: the mixed load of test_races.py, HA
# takeovers and forwarding, PostgreSQL HA, audit devices that stall,
# hostile and idle connections, the token cache, the metrics counters.
# test_lock stays out: it takes locks out of order on purpose, which
# TSan's deadlock detector reports.
TSAN_UNIT = tests/unit/test_storage tests/unit/test_group_commit
TSAN_UNIT += tests/unit/test_jsonmem
TSAN_INTEGRATION = test_races.py test_ha.py test_postgresql_ha.py
TSAN_INTEGRATION += test_audit.py test_hostile.py test_token_cache.py
TSAN_INTEGRATION += test_metrics.py
check-tsan: deps-check
	@$(MAKE) SANITIZE=thread all bin/cofferd-fault $(TSAN_UNIT)
	@TSAN_OPTIONS="second_deadlock_stack=1:suppressions=$(CURDIR)/tests/tsan.supp" \
	    tests/pgtest.sh run sh -c 'fail=0; for t in $(TSAN_UNIT); do \
	    echo "== $$t (tsan)"; timeout -k 10 $(TEST_TIMEOUT) ./$$t || \
	    { fail=1; echo "FAILED: $$t"; }; \
	done; exit $$fail'
	COFFER_SANITIZE=thread $(PYTEST) $(TSAN_INTEGRATION:%=tests/integration/%)

check-integration: bin/cofferd bin/cofferd-fault bin/coffer
	COFFER_SANITIZE=$(SANITIZE) $(PYTEST) tests/integration

# The same warnings, as errors, from the other compiler.
check-clang:
	@command -v clang >/dev/null || { \
	    echo "make: clang is missing: apt-get install clang"; exit 1; }
	@for f in $(LIB_OBJS:.o=.c) $(SRV_OBJS:.o=.c) $(UNIT_TESTS:=.c) \
	    $(STORAGE_TEST_SRCS) \
	    $(FAULT_OBJS:.o=.c) $(CLI_OBJS:.o=.c) \
	    $(BENCH_PROGS:=.c); do \
	    clang $(CFLAGS) -fsyntax-only $$f || exit 1; done
	@echo "clang: no warnings"

lint:
	/usr/bin/python3 tests/layers.py
	mandoc -Tlint -Wwarning man/*.[1-9]
	@for f in man/*.[1-9]; do \
	    out=$$(groff -ww -z -mandoc $$f 2>&1); \
	    if [ -n "$$out" ]; then echo "$$out"; exit 1; fi; done
	@echo "groff: no warnings"

# cofferd(8)'s table of served paths comes from the router.
check-routes: bin/cofferd
	sh tests/routes.sh check bin/cofferd man/cofferd.8

routes: bin/cofferd
	sh tests/routes.sh update bin/cofferd man/cofferd.8

# cofferd.service as make install writes it, where systemd is present:
# its man pages and cofferd must exist for systemd-analyze, so both
# point into this tree.
check-systemd: bin/cofferd
	@if ! command -v systemd-analyze >/dev/null; then \
	    echo "systemd-analyze: missing, cofferd.service not checked"; \
	    exit 0; fi; \
	d=$$(mktemp -d) && mkdir -p $$d/man5 $$d/man8 && \
	ln -s $$PWD/man/cofferd.8 $$d/man8/ && \
	ln -s $$PWD/man/cofferd.hcl.5 $$d/man5/ && \
	sed "s|/usr/local/sbin/cofferd|$$PWD/bin/cofferd|" cofferd.service \
	    >$$d/cofferd.service && \
	out=$$(MANPATH=$$d systemd-analyze verify $$d/cofferd.service 2>&1); \
	rc=$$?; rm -rf $$d; \
	if [ $$rc -ne 0 ] || [ -n "$$out" ]; then echo "$$out"; exit 1; fi; \
	echo "systemd-analyze: cofferd.service verified"

bench: all $(BENCH_PROGS)
	sh tests/bench/run.sh

# Built with clang into tests/fuzz/build/, apart from these objects.
FUZZ_ENV = CFLAGS='$(CFLAGS)' LDADD='$(LDADD)' \
	LIB_SRCS='$(LIB_OBJS:.o=.c)' FUZZ_SECONDS='$(FUZZ_SECONDS)'

fuzz: config.h
	@$(FUZZ_ENV) sh tests/fuzz/run.sh fuzz $(FUZZ_TARGETS)

fuzz-regress: config.h
	@$(FUZZ_ENV) sh tests/fuzz/run.sh regress $(FUZZ_TARGETS)

install: all
	mkdir -p $(DESTDIR)$(SBINDIR) $(DESTDIR)$(MANDIR)/man5 \
	    $(DESTDIR)$(MANDIR)/man8
	$(INSTALL_PROGRAM) bin/cofferd $(DESTDIR)$(SBINDIR)
	mkdir -p $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MANDIR)/man1
	$(INSTALL_PROGRAM) bin/coffer $(DESTDIR)$(PREFIX)/bin
	$(INSTALL_MAN) man/coffer.1 $(DESTDIR)$(MANDIR)/man1
	mkdir -p $(DESTDIR)$(PREFIX)/lib/coffer/tls
	$(INSTALL) -m 0444 lib/tls/libssl.so $(DESTDIR)$(PREFIX)/lib/coffer/tls
	$(INSTALL_MAN) man/cofferd.8 $(DESTDIR)$(MANDIR)/man8
	$(INSTALL_MAN) man/cofferd.hcl.5 $(DESTDIR)$(MANDIR)/man5
	$(INSTALL_MAN) man/coffer-policy.5 $(DESTDIR)$(MANDIR)/man5
	mkdir -p $(DESTDIR)$(UNITDIR)
	sed 's|/usr/local/sbin/cofferd|$(SBINDIR)/cofferd|' cofferd.service \
	    >$(DESTDIR)$(UNITDIR)/cofferd.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/cofferd.service
	@if [ -z "$(DESTDIR)" ] && ! getent passwd coffer >/dev/null; then \
	    if [ "$$(id -u)" -eq 0 ]; then \
	    useradd --system --user-group --home-dir /var/lib/coffer \
	        --no-create-home --shell /usr/sbin/nologin coffer; \
	    else echo "make: create the system user coffer (cofferd(8))"; \
	    fi; fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/cofferd $(DESTDIR)$(MANDIR)/man8/cofferd.8 \
	    $(DESTDIR)$(MANDIR)/man5/cofferd.hcl.5 \
	    $(DESTDIR)$(MANDIR)/man5/coffer-policy.5 \
	    $(DESTDIR)$(PREFIX)/lib/coffer/tls/libssl.so
	rm -f $(DESTDIR)$(PREFIX)/bin/coffer $(DESTDIR)$(MANDIR)/man1/coffer.1
	rm -f $(DESTDIR)$(UNITDIR)/cofferd.service

clean:
	rm -f $(LIB_OBJS) $(SRV_OBJS) lib/libcoffer.a bin/cofferd \
	    $(FAULT_OBJS) backends/storage_fault.o bin/cofferd-fault \
	    lib/tls/libssl.so $(CLI_OBJS) bin/coffer \
	    $(UNIT_TESTS) $(BENCH_PROGS) .flags
	rm -rf tests/integration/__pycache__
	rm -rf tests/fuzz/build

distclean: clean
	rm -f config.h config.log Makefile.configure config.apt.log

FORCE:

.PHONY: all run dev check check-unit check-integration check-clang lint bench \
	install uninstall clean distclean need-cmocka deps-run deps-check FORCE \
	fuzz fuzz-regress check-tsan check-routes routes check-systemd
