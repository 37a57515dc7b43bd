/*
 * main.c -- cofferd: start-up, signals and shutdown.
 *
 * Order matters and is fixed here, before any thread exists: libsodium,
 * wiping allocators for jansson, the configuration, memory locking and
 * core dumps, storage, module registration, then civetweb's workers with
 * every signal blocked so that only this thread sees them in sigwait():
 * SIGTERM and SIGINT stop (civetweb finishes requests in flight), SIGHUP
 * re-reads log_level and reopens audit files, SIGPIPE is ignored.
 *
 * Storage belongs to this process alone unless ha_enabled: the backend
 * refuses to open a store another process holds, and cofferd exits
 * non-zero having written nothing.  HA nodes share an LMDB directory
 * and all listen; the HA thread (ha.c) makes the holder of the storage
 * HA lock active, and the others forward to it.  On SIGTERM an active
 * node steps down first, so that a standby takes over at once.
 */
#include "config.h"

#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>
#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "audit.h"
#include "buf.h"
#include "conf.h"
#include "core.h"
#include "err.h"
#include "ha.h"
#include "http.h"
#include "jsonmem.h"
#include "log.h"
#include "metrics.h"
#include "modules.h"
#include "mounts.h"
#include "req.h"
#include "seal.h"
#include "storage.h"
#include "sys.h"
#include "tokenapi.h"

#define MAX_CONFIGS	32

struct options {
	const char	*configs[MAX_CONFIGS];
	size_t		 nconfigs;
	int		 dev;
	const char	*dev_root_token;
	const char	*dev_listen;
	int		 check_only;
	int		 list_routes;
	int		 verbose;
	const char	*log_level;
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: cofferd [-hnv] [-version] [-config file] [-log-level=level]\n"
	    "       cofferd -dev [-v] [-dev-root-token-id=id] "
	    "[-dev-listen-address=addr]\n"
	    "                    [-log-level=level]\n"
	    "       cofferd -list-routes\n");
}

/* "-flag=value" or "-flag value" (also with "--"); NULL if not flag. */
static const char *
flag_value(int argc, char **argv, int *i, const char *flag)
{
	const char	*a = argv[*i];
	size_t		 len = strlen(flag);

	if (a[0] == '-' && a[1] == '-')
		a++;
	if (strncmp(a, flag, len) != 0)
		return NULL;
	if (a[len] == '=')
		return a + len + 1;
	if (a[len] == '\0' && *i + 1 < argc)
		return argv[++*i];
	return NULL;
}

static int
is_flag(const char *a, const char *flag)
{
	if (a[0] == '-' && a[1] == '-')
		a++;
	return strcmp(a, flag) == 0;
}

static void
parse_args(int argc, char **argv, struct options *o)
{
	const char	*v;
	int		 i;

	for (i = 1; i < argc; i++) {
		if (is_flag(argv[i], "-h") || is_flag(argv[i], "-help")) {
			usage(stdout);
			exit(0);
		} else if (is_flag(argv[i], "-version")) {
			printf("cofferd %s (Vault API %s)\n", COFFER_VERSION,
			    CORE_VAULT_VERSION);
			exit(0);
		} else if (is_flag(argv[i], "-dev"))
			o->dev = 1;
		else if (is_flag(argv[i], "-n"))
			o->check_only = 1;
		else if (is_flag(argv[i], "-list-routes"))
			o->list_routes = 1;	/* hidden: make check-routes */
		else if (is_flag(argv[i], "-v"))
			o->verbose = 1;
		else if ((v = flag_value(argc, argv, &i, "-config")) != NULL ||
		    (v = flag_value(argc, argv, &i, "-f")) != NULL) {
			if (o->nconfigs == MAX_CONFIGS)
				fatalx("too many -config flags");
			o->configs[o->nconfigs++] = v;
		} else if ((v = flag_value(argc, argv, &i,
		    "-dev-root-token-id")) != NULL)
			o->dev_root_token = v;
		else if ((v = flag_value(argc, argv, &i,
		    "-dev-listen-address")) != NULL)
			o->dev_listen = v;
		else if ((v = flag_value(argc, argv, &i, "-log-level")) !=
		    NULL)
			o->log_level = v;
		else {
			fprintf(stderr, "cofferd: unknown flag: %s\n", argv[i]);
			usage(stderr);
			exit(2);
		}
	}
	if (!o->dev && o->nconfigs == 0 && !o->list_routes) {
		fprintf(stderr, "cofferd: -config or -dev is required\n");
		usage(stderr);
		exit(2);
	}
}

static void
load_config(const struct options *o, struct conf *c)
{
	struct buf	 errs = BUF_INIT;
	size_t		 i;
	int		 rc = CF_OK;

	conf_init(c);
	for (i = 0; i < o->nconfigs; i++)
		if (conf_load(c, o->configs[i], &errs) != CF_OK)
			rc = CF_EINVAL;
	if (rc == CF_OK && !o->dev && conf_finish(c, &errs) != CF_OK)
		rc = CF_EINVAL;
	if (rc != CF_OK) {
		fprintf(stderr, "%s", errs.data != NULL ? errs.data :
		    "cofferd: invalid configuration\n");
		buf_free(&errs);
		exit(1);
	}
	buf_free(&errs);
}

/*
 * Debian 12's civetweb cannot load OpenSSL 3 on its own (see
 * server/tlsshim.c).  With a TLS listener, start again once with the
 * shim's directory first on the library path, which the dynamic loader
 * reads only at exec.  Nothing has started yet, so exec is harmless.
 */
static void
use_tls_shim(const struct conf *c, char **argv)
{
	static const char *const where[] = { "../lib/tls",
	    "../lib/coffer/tls" };
	char		 exe[4096], dir[4600], lib[4700], *slash, *path = NULL;
	const char	*old;
	size_t		 i;
	ssize_t		 n;
	int		 tls = 0;

	for (i = 0; i < c->nlisteners; i++)
		tls |= !c->listeners[i].tls_disable;
	if (!tls || getenv("COFFER_TLS_SHIM") != NULL)
		return;
	if ((n = readlink("/proc/self/exe", exe, sizeof(exe) - 1)) <= 0)
		return;
	exe[n] = '\0';
	if ((slash = strrchr(exe, '/')) == NULL)
		return;
	*slash = '\0';
	for (i = 0; i < sizeof(where) / sizeof(where[0]); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", exe, where[i]);
		snprintf(lib, sizeof(lib), "%s/libssl.so", dir);
		if (access(lib, R_OK) == 0)
			break;
	}
	if (i == sizeof(where) / sizeof(where[0]))
		return;
	old = getenv("LD_LIBRARY_PATH");
	if (asprintf(&path, "%s%s%s", dir, old != NULL ? ":" : "",
	    old != NULL ? old : "") == -1)
		return;
	setenv("LD_LIBRARY_PATH", path, 1);
	setenv("COFFER_TLS_SHIM", "1", 1);
	free(path);
	*slash = '/';
	execv(exe, argv);
	log_warn("cannot restart with the TLS shim");
}

/*
 * Keep secrets out of core files, swap and other processes.  The
 * process is made non-dumpable: no core file whatever RLIMIT_CORE
 * says, and only root may ptrace it or read its /proc memory.  Unless
 * disable_mlock is set, all of its memory is locked, now and later
 * (request bodies and decrypted values too, not only the sodium_malloc
 * pages); MCL_ONFAULT locks pages as they are touched, so thread stacks
 * cost what they use.  sodium_malloc() treats a failed mlock as "not a
 * hard error"; we refuse to run.
 */
static void
protect_memory(int disable_mlock)
{
	struct rlimit	 rl = { 0, 0 };

	if (setrlimit(RLIMIT_CORE, &rl) == -1)
		log_warn("setrlimit RLIMIT_CORE");
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) == -1)
		fatal("cannot make the process non-dumpable");
	if (disable_mlock)
		return;
	if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) == -1)
		fatal("cannot lock memory: raise RLIMIT_MEMLOCK (ulimit -l "
		    "unlimited, LimitMEMLOCK=infinity under systemd) or run "
		    "with CAP_IPC_LOCK, or set disable_mlock = true");
	if (getrlimit(RLIMIT_MEMLOCK, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && geteuid() != 0)
		log_warnx("memory is locked with RLIMIT_MEMLOCK at %llu "
		    "bytes: allocations beyond it fail", (unsigned long long)
		    rl.rlim_cur);
}

static void
reload_log_level(const struct options *o)
{
	struct conf	 c;
	struct buf	 errs = BUF_INIT;
	size_t		 i;
	int		 ok = 1;

	conf_init(&c);
	for (i = 0; i < o->nconfigs; i++)
		if (conf_load(&c, o->configs[i], &errs) != CF_OK)
			ok = 0;
	if (ok && o->log_level == NULL) {
		/* Said before the change, so that "error" still shows it. */
		log_info("SIGHUP: log level %s", log_level_name(c.log_level));
		log_setlevel(o->verbose && c.log_level < LOG_LVL_DEBUG ?
		    LOG_LVL_DEBUG : c.log_level);
	} else if (!ok)
		log_warnx("SIGHUP: configuration has errors, not reloaded");
	buf_free(&errs);
	conf_free(&c);
}

int
main(int argc, char **argv)
{
	struct options		 o;
	struct conf		 c;
	struct storage		*st = NULL;
	struct storage_conf	 sc;
	struct core_conf	 cc;
	struct http_listener	 hl[16];
	struct http_conf	 hc;
	struct http_server	*srv = NULL;
	struct buf		 key = BUF_INIT, tok = BUF_INIT;
	sigset_t		 sigs;
	size_t			 i;
	int			 sig, lvl;

	memset(&o, 0, sizeof(o));
	memset(hl, 0, sizeof(hl));
	parse_args(argc, argv, &o);
	if (sodium_init() < 0)
		fatalx("libsodium cannot start");
	jsonmem_install();
	/* Before libcurl or civetweb's TLS makes OpenSSL allocate. */
	if (jsonmem_install_openssl() != 0)
		fatalx("OpenSSL allocated before its wiping allocator was set");
	if (o.list_routes) {
		/* Registration only: no storage, no thread, nothing served. */
		modules_register();
		ha_register(1, NULL, NULL);
		router_dump(stdout);
		sys_dump(stdout);
		return fflush(stdout) == 0 ? 0 : 1;
	}
	load_config(&o, &c);
	if (!o.check_only && !o.dev)
		use_tls_shim(&c, argv);
	/* -n refuses what starting would: the flags are checked too. */
	lvl = c.log_level;
	if (o.log_level != NULL && (lvl = log_level_parse(o.log_level)) < 0) {
		fprintf(stderr, "cofferd: -log-level must be trace, debug, "
		    "info, warn or error, not \"%s\"\n", o.log_level);
		conf_free(&c);
		return 1;
	}
	if (o.check_only) {
		printf("configuration OK\n");
		conf_free(&c);
		return 0;
	}
	if (o.verbose && lvl < LOG_LVL_DEBUG)
		lvl = LOG_LVL_DEBUG;
	log_setlevel(lvl);
	log_setjson(c.log_json);
	protect_memory(o.dev ? 1 : c.disable_mlock);
	/*
	 * Only an HA node forwards, through libcurl; left alone, libcurl
	 * and the TLS library it starts stay out of memory.  Forwarded
	 * requests carry tokens and secrets: wipe as jansson.
	 */
	if (!o.dev && c.ha_enabled && curl_global_init_mem(CURL_GLOBAL_DEFAULT,
	    jsonmem_malloc, jsonmem_free, jsonmem_realloc, jsonmem_strdup,
	    jsonmem_calloc) != CURLE_OK)
		fatalx("libcurl cannot start");
	mg_init_library(0);

	memset(&sc, 0, sizeof(sc));
	sc.path = o.dev ? NULL : c.storage_path;
	sc.ha_enabled = o.dev ? 0 : c.ha_enabled;
	sc.opts = o.dev ? NULL : c.storage_opts;
	sc.nopts = o.dev ? 0 : c.nstorage_opts;
	/* A store another process holds is refused here, nothing written. */
	if (storage_open(o.dev ? "inmem" : c.storage_type, &sc, &st) !=
	    CF_OK)
		fatalx("cannot open %s storage%s%s", o.dev ? "inmem" :
		    c.storage_type, sc.path ? " at " : "",
		    sc.path ? sc.path : "");

	/* Block signals before any thread starts; they inherit the mask. */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGHUP);
	sigaddset(&sigs, SIGUSR1);
	signal(SIGPIPE, SIG_IGN);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	modules_register();
	ha_register(sc.ha_enabled, c.api_addr, c.cluster_addr);
	memset(&cc, 0, sizeof(cc));
	cc.default_lease_ttl = c.default_lease_ttl;
	cc.max_lease_ttl = c.max_lease_ttl;
	cc.cluster_name = c.cluster_name;
	cc.api_addr = c.api_addr;
	cc.ha_enabled = c.ha_enabled;
	if (core_init(st, &cc) != CF_OK || seal_load() != CF_OK)
		fatalx("cannot read seal state from storage");

	if (o.dev) {
		if (seal_dev_init(o.dev_root_token, &key, &tok) != CF_OK)
			fatalx("dev mode: cannot initialize");
		core_rdlock();
		if (mounts_dev_setup() != CF_OK)
			fatalx("dev mode: cannot mount secret/");
		core_unlock();
		hl[0].address = o.dev_listen ? o.dev_listen :
		    "127.0.0.1:8200";
		hl[0].tls = 0;
		hl[0].cert_file = hl[0].key_file = NULL;
		hl[0].max_request_size = 32 * 1024 * 1024;
		hc.nlisteners = 1;
	} else {
		hc.nlisteners = c.nlisteners < 16 ? c.nlisteners : 16;
		for (i = 0; i < hc.nlisteners; i++) {
			hl[i].address = c.listeners[i].address;
			hl[i].tls = !c.listeners[i].tls_disable;
			hl[i].cert_file = c.listeners[i].tls_cert_file;
			hl[i].key_file = c.listeners[i].tls_key_file;
			hl[i].max_request_size =
			    c.listeners[i].max_request_size;
			hl[i].xff_addrs = c.listeners[i].xff_addrs;
			hl[i].nxff_addrs = c.listeners[i].nxff_addrs;
			hl[i].xff_hop_skips = c.listeners[i].xff_hop_skips;
			hl[i].xff_reject_not_authorized =
			    c.listeners[i].xff_reject_not_authorized;
			hl[i].xff_reject_not_present =
			    c.listeners[i].xff_reject_not_present;
		}
	}
	hc.listeners = hl;
	hc.worker_threads = c.worker_threads;
	/* The credentials are out before anyone can connect. */
	if (o.dev) {
		printf("cofferd is running in dev mode: in memory, "
		    "initialized and unsealed.\n\n"
		    "    export VAULT_ADDR='http://%s'\n\n"
		    "Unseal Key: %s\nRoot Token: %s\n\n"
		    "Development mode should NOT be used in production.\n",
		    hl[0].address, key.data, tok.data);
		fflush(stdout);
		buf_free(&key);
		buf_free(&tok);
	}
	/* Before the workers: sys/init reads what ha_start sets. */
	if (ha_start(st) != CF_OK)
		fatalx("cannot start the HA thread");
	if (http_start(&hc, &srv) != CF_OK)
		fatalx("cannot start the HTTP listeners");
	for (i = 0; !o.dev && i < hc.nlisteners; i++)
		if (c.listeners[i].unauth_metrics)
			metrics_allow_port(http_port(srv, i));
	tokenapi_tidy_start();
	log_info("cofferd %s started (storage %s)", COFFER_VERSION,
	    storage_name(st));

	for (;;) {
		if (sigwait(&sigs, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			if (!o.dev)
				reload_log_level(&o);
			audit_reopen();
			continue;
		}
		if (sig == SIGTERM || sig == SIGINT)
			break;
	}
	log_info("shutting down");
	/* Active: step down first, so that a standby takes over now. */
	ha_stop();
	http_stop(srv);
	tokenapi_tidy_stop();
	core_fini();
	/* Releases the HA lock after every write of ours is done. */
	storage_close(st);
	mg_exit_library();
	if (!o.dev && c.ha_enabled)
		curl_global_cleanup();
	conf_free(&c);
	log_info("stopped");
	return 0;
}
