/*
 * metrics.c -- request timing, barrier and token counters, process
 * gauges, and the requests in flight.
 *
 * The request path only adds to atomics and fills its own thread's
 * in-flight slot.  A slot's mutex is shared with nobody but a reader of
 * sys/in-flight-req; the list of slots is locked once per worker thread
 * (when it first serves a request) and by readers.  Slots are never
 * freed: a thread that exits gives its slot back for the next one.
 *
 * Timers are cumulative since the start (Vault's in-memory sink keeps
 * 10-second intervals); quantiles come from power-of-two buckets of
 * microseconds, so they are upper bounds within a factor of two.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/types.h>

#include <dirent.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <civetweb.h>
#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "core.h"
#include "err.h"
#include "lock.h"
#include "metrics.h"
#include "req.h"
#include "timeutil.h"
#include "uuid4.h"

#define NBUCKETS	40		/* 2^39 us: six days */
#define MAX_PORTS	16

struct timer {
	atomic_ullong	 n;
	atomic_ullong	 sum_us;
	atomic_ullong	 min_us;	/* ULLONG_MAX until the first */
	atomic_ullong	 max_us;
	atomic_ullong	 bucket[NBUCKETS];
};

struct slot {
	pthread_mutex_t	 mu;
	int		 busy;		/* under mu */
	int		 owned;		/* under slots_mu */
	unsigned char	 seed[16];
	unsigned long long seq;
	long long	 sec;		/* wall clock start */
	long		 nsec;
	/*
	 * As the request came: formatted only when sys/in-flight-req
	 * asks, so that a request pays for copies, not for printf.
	 */
	char		 xff[256];	/* "": none */
	char		 peer[64];
	int		 peer_port;
	char		 path[1024];
	char		 method[16];
	struct slot	*next;
};

static struct timer	 handle_request = { .min_us = ~0ULL };
static atomic_ullong	 token_creation;
static atomic_int	 ports[MAX_PORTS];
static atomic_int	 nports;

static pthread_mutex_t	 slots_mu = PTHREAD_MUTEX_INITIALIZER;
static struct slot	*slots;			/* under slots_mu */
static pthread_key_t	 slot_key;
static pthread_once_t	 slot_once = PTHREAD_ONCE_INIT;
static int		 slot_key_ok;

static _Thread_local struct slot	*self;
static _Thread_local struct timespec	 cur_t0;
static _Thread_local int		 cur_port;
static _Thread_local int		 cur_open;

static const char *const op_names[CORE_NOPS] = {
	"vault.barrier.get", "vault.barrier.put", "vault.barrier.delete",
	"vault.barrier.list"
};

static void
slot_release(void *arg)
{
	struct slot	*s = arg;

	lock_mutex(&slots_mu, LOCK_LEAF);
	s->owned = 0;
	unlock_mutex(&slots_mu);
}

static void
slot_key_init(void)
{
	slot_key_ok = pthread_key_create(&slot_key, slot_release) == 0;
}

/* This thread's slot, taken from the list or made; NULL without memory. */
static struct slot *
slot_get(void)
{
	struct slot	*s;

	if (self != NULL)
		return self;
	pthread_once(&slot_once, slot_key_init);
	if (!slot_key_ok)
		return NULL;
	lock_mutex(&slots_mu, LOCK_LEAF);
	for (s = slots; s != NULL; s = s->next)
		if (!s->owned)
			break;
	if (s == NULL && (s = calloc(1, sizeof(*s))) != NULL) {
		if (pthread_mutex_init(&s->mu, NULL) != 0) {
			free(s);
			s = NULL;
		} else {
			randombytes_buf(s->seed, sizeof(s->seed));
			s->next = slots;
			slots = s;
		}
	}
	if (s != NULL)
		s->owned = 1;
	unlock_mutex(&slots_mu);
	if (s != NULL && pthread_setspecific(slot_key, s) != 0) {
		slot_release(s);
		s = NULL;
	}
	return self = s;
}

/* A request's id: the slot's random seed with its count mixed in. */
static void
slot_id(const struct slot *s, char id[REQ_ID_LEN + 1])
{
	unsigned char	 u[16];
	int		 i;

	memcpy(u, s->seed, sizeof(u));
	for (i = 0; i < 8; i++)
		u[8 + i] ^= (unsigned char)(s->seq >> (8 * i));
	uuid4_format(u, id);
}

void
metrics_http_begin(const struct mg_connection *conn)
{
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	struct slot			*s;
	struct timespec			 now;
	const char			*xff;
	int				 i;

	clock_gettime(CLOCK_MONOTONIC, &cur_t0);
	cur_port = ri->server_port;
	cur_open = 1;
	if ((s = slot_get()) == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &now);
	xff = NULL;
	for (i = 0; i < ri->num_headers; i++)
		if (strcasecmp(ri->http_headers[i].name,
		    "X-Forwarded-For") == 0) {
			xff = ri->http_headers[i].value;
			break;
		}
	lock_mutex(&s->mu, LOCK_LEAF_INNER);
	s->seq++;
	s->sec = now.tv_sec;
	s->nsec = now.tv_nsec;
	strlcpy(s->xff, xff != NULL ? xff : "", sizeof(s->xff));
	strlcpy(s->peer, ri->remote_addr, sizeof(s->peer));
	s->peer_port = ri->remote_port;
	strlcpy(s->path, ri->local_uri != NULL ? ri->local_uri :
	    ri->request_uri, sizeof(s->path));
	strlcpy(s->method, ri->request_method, sizeof(s->method));
	s->busy = 1;
	unlock_mutex(&s->mu);
}

static void
timer_add(struct timer *t, unsigned long long us)
{
	unsigned long long	 old;
	int			 b = 0;

	while (b < NBUCKETS - 1 && (us + 1) >> (b + 1) != 0)
		b++;
	atomic_fetch_add_explicit(&t->n, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->sum_us, us, memory_order_relaxed);
	atomic_fetch_add_explicit(&t->bucket[b], 1, memory_order_relaxed);
	old = atomic_load_explicit(&t->min_us, memory_order_relaxed);
	while (us < old && !atomic_compare_exchange_weak(&t->min_us, &old,
	    us))
		;
	old = atomic_load_explicit(&t->max_us, memory_order_relaxed);
	while (us > old && !atomic_compare_exchange_weak(&t->max_us, &old,
	    us))
		;
}

void
metrics_http_end(int status, const struct response *resp)
{
	struct timespec	 t1;
	long long	 us;

	if (!cur_open)
		return;
	cur_open = 0;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	us = (t1.tv_sec - cur_t0.tv_sec) * 1000000LL +
	    (t1.tv_nsec - cur_t0.tv_nsec) / 1000;
	timer_add(&handle_request, us < 0 ? 0 : (unsigned long long)us);
	/* A login or token creation answers 200 with an auth block. */
	if (status == 200 && resp != NULL && resp->auth != NULL)
		atomic_fetch_add_explicit(&token_creation, 1,
		    memory_order_relaxed);
	if (self != NULL) {
		lock_mutex(&self->mu, LOCK_LEAF_INNER);
		self->busy = 0;
		unlock_mutex(&self->mu);
	}
}

void
metrics_allow_port(int port)
{
	int	 n = atomic_load(&nports);

	if (port <= 0 || n == MAX_PORTS)
		return;
	atomic_store(&ports[n], port);
	atomic_store(&nports, n + 1);
}

int
metrics_unauth_here(void)
{
	int	 i, n = atomic_load(&nports);

	for (i = 0; i < n; i++)
		if (atomic_load(&ports[i]) == cur_port && cur_port > 0)
			return 1;
	return 0;
}

int
metrics_inflight(json_t **out)
{
	struct slot	*s;
	json_t		*o, *e;
	char		 at[64], id[REQ_ID_LEN + 1], addr[320];
	int		 rc = CF_OK;

	if ((o = json_object()) == NULL)
		return CF_ENOMEM;
	lock_mutex(&slots_mu, LOCK_LEAF);
	for (s = slots; s != NULL && rc == CF_OK; s = s->next) {
		lock_mutex(&s->mu, LOCK_LEAF_INNER);
		if (s->busy) {
			time_format_rfc3339(at, sizeof(at), s->sec, s->nsec);
			slot_id(s, id);
			/* Vault shows the first X-Forwarded-For line as it came. */
			if (s->xff[0] != '\0')
				strlcpy(addr, s->xff, sizeof(addr));
			else
				snprintf(addr, sizeof(addr), strchr(s->peer,
				    ':') != NULL ? "[%s]:%d" : "%s:%d",
				    s->peer, s->peer_port);
			e = json_pack("{s:s, s:s, s:s, s:s, s:s}",
			    "start_time", at,
			    "client_remote_address", addr,
			    "request_path", s->path,
			    "request_method", s->method,
			    "client_id", "");
			if (e == NULL || json_object_set_new(o, id, e) != 0)
				rc = CF_ENOMEM;
		}
		unlock_mutex(&s->mu);
	}
	unlock_mutex(&slots_mu);
	if (rc != CF_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return CF_OK;
}

/* Process figures from /proc/self; each is -1 when unknown. */
struct proc_stat {
	long long	 rss;		/* bytes */
	long long	 vsize;		/* bytes */
	long long	 threads;
	long long	 fds;
	long long	 max_fds;
	double		 cpu;		/* seconds, user + system */
};

static void
proc_read(struct proc_stat *p)
{
	FILE		*f;
	DIR		*d;
	struct dirent	*de;
	struct rlimit	 rl;
	struct rusage	 ru;
	char		 line[256];
	long long	 v;

	p->rss = p->vsize = p->threads = p->fds = p->max_fds = -1;
	p->cpu = -1;
	if ((f = fopen("/proc/self/status", "re")) != NULL) {
		while (fgets(line, sizeof(line), f) != NULL) {
			if (sscanf(line, "VmRSS: %lld kB", &v) == 1)
				p->rss = v * 1024;
			else if (sscanf(line, "VmSize: %lld kB", &v) == 1)
				p->vsize = v * 1024;
			else if (sscanf(line, "Threads: %lld", &v) == 1)
				p->threads = v;
		}
		fclose(f);
	}
	if ((d = opendir("/proc/self/fd")) != NULL) {
		/* Less the directory's own descriptor. */
		p->fds = -1;
		while ((de = readdir(d)) != NULL)
			if (de->d_name[0] != '.')
				p->fds++;
		closedir(d);
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0)
		p->max_fds = rl.rlim_cur == RLIM_INFINITY ? -1 :
		    (long long)rl.rlim_cur;
	if (getrusage(RUSAGE_SELF, &ru) == 0)
		p->cpu = ru.ru_utime.tv_sec + ru.ru_stime.tv_sec +
		    (ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* A consistent enough copy of a timer, in milliseconds. */
struct tsnap {
	unsigned long long n;
	double		 sum, min, max;
	double		 q[3];		/* 0.5, 0.9, 0.99 */
};

static const double	 quantiles[3] = { 0.5, 0.9, 0.99 };

static void
timer_snap(struct timer *t, struct tsnap *s)
{
	unsigned long long	 b[NBUCKETS], total = 0, seen, want, min, max;
	int			 i, j;

	memset(s, 0, sizeof(*s));
	for (i = 0; i < NBUCKETS; i++) {
		b[i] = atomic_load_explicit(&t->bucket[i],
		    memory_order_relaxed);
		total += b[i];
	}
	s->n = atomic_load_explicit(&t->n, memory_order_relaxed);
	s->sum = atomic_load_explicit(&t->sum_us, memory_order_relaxed) /
	    1000.0;
	min = atomic_load_explicit(&t->min_us, memory_order_relaxed);
	max = atomic_load_explicit(&t->max_us, memory_order_relaxed);
	s->min = s->n == 0 ? 0 : min / 1000.0;
	s->max = max / 1000.0;
	for (j = 0; j < 3; j++) {
		if (total == 0) {
			s->q[j] = -1;
			continue;
		}
		want = (unsigned long long)(quantiles[j] * total + 0.999999);
		for (i = 0, seen = 0; i < NBUCKETS - 1; i++)
			if ((seen += b[i]) >= want)
				break;
		/* The bucket's upper bound, no more than the maximum. */
		s->q[j] = ((1ULL << (i + 1)) - 1) / 1000.0;
		if (s->q[j] > s->max)
			s->q[j] = s->max;
	}
}

/* One metric of the snapshot, in the order both formats print them. */
enum mkind { M_GAUGE, M_COUNTER, M_SUMMARY };

struct metric {
	const char	*name;		/* Vault's, with dots */
	const char	*help;
	enum mkind	 kind;
	double		 value;		/* gauge or counter */
	struct tsnap	 t;		/* summary */
	int		 quantiles;	/* summary: quantiles known */
};

#define NMETRICS	(8 + CORE_NOPS)

static size_t
collect(struct metric *m)
{
	unsigned long long	 n[CORE_NOPS], ns[CORE_NOPS];
	struct proc_stat	 p;
	struct slot		*s;
	size_t			 k = 0;
	int			 i, st, busy = 0;

	memset(m, 0, NMETRICS * sizeof(*m));
	st = core_state();
	m[k].name = "vault.core.unsealed";
	m[k].help = "1 if the server is unsealed";
	m[k++].value = st == CORE_UNSEALED;
	m[k].name = "vault.core.active";
	m[k].help = "1 if the server is the active node";
	m[k++].value = st == CORE_UNSEALED && (!core_conf()->ha_enabled ||
	    core_is_active());
	lock_mutex(&slots_mu, LOCK_LEAF);
	for (s = slots; s != NULL; s = s->next) {
		lock_mutex(&s->mu, LOCK_LEAF_INNER);
		busy += s->busy;
		unlock_mutex(&s->mu);
	}
	unlock_mutex(&slots_mu);
	m[k].name = "vault.core.in_flight_requests";
	m[k].help = "requests being served";
	m[k++].value = busy;
	proc_read(&p);
	m[k].name = "vault.process.resident_memory_bytes";
	m[k].help = "resident memory of the process in bytes";
	m[k++].value = (double)p.rss;
	m[k].name = "vault.process.threads";
	m[k].help = "threads of the process";
	m[k++].value = (double)p.threads;
	m[k].name = "vault.process.open_fds";
	m[k].help = "open file descriptors of the process";
	m[k++].value = (double)p.fds;
	m[k].name = "vault.token.creation";
	m[k].help = "tokens created by logins and token creation";
	m[k].kind = M_COUNTER;
	m[k++].value = (double)atomic_load(&token_creation);
	m[k].name = "vault.core.handle_request";
	m[k].help = "time to handle a request in milliseconds";
	m[k].kind = M_SUMMARY;
	m[k].quantiles = 1;
	timer_snap(&handle_request, &m[k++].t);
	core_op_stats(n, ns);
	for (i = 0; i < CORE_NOPS; i++) {
		m[k].name = op_names[i];
		m[k].help = "time of a barrier operation in milliseconds";
		m[k].kind = M_SUMMARY;
		m[k].t.n = n[i];
		m[k++].t.sum = ns[i] / 1e6;
	}
	return k;
}

int
metrics_json(json_t **out)
{
	struct metric	 m[NMETRICS];
	struct tm	 tm;
	json_t		*o, *g, *c, *s, *e;
	time_t		 now = time(NULL);
	char		 ts[64];
	size_t		 i, n;
	int		 bad = 0;

	n = collect(m);
	now -= now % 10;		/* the interval's start */
	if (gmtime_r(&now, &tm) == NULL ||
	    strftime(ts, sizeof(ts), "%Y-%m-%d %H:%M:%S +0000 UTC", &tm) == 0)
		return CF_EINTERNAL;
	g = json_array();
	c = json_array();
	s = json_array();
	o = json_pack("{s:s, s:o, s:[], s:o, s:o}", "Timestamp", ts,
	    "Gauges", g, "Points", "Counters", c, "Samples", s);
	if (o == NULL)
		return CF_ENOMEM;
	for (i = 0; i < n; i++) {
		if (m[i].kind == M_GAUGE)
			bad |= json_array_append_new(g, e = json_pack(
			    "{s:s, s:f, s:{}}", "Name", m[i].name,
			    "Value", m[i].value, "Labels"));
		else if (m[i].kind == M_COUNTER)
			bad |= json_array_append_new(c, e = json_pack(
			    "{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:{}}",
			    "Name", m[i].name, "Count",
			    (json_int_t)m[i].value, "Rate", m[i].value / 10,
			    "Sum", m[i].value, "Min", m[i].value > 0 ? 1.0 :
			    0.0, "Max", m[i].value > 0 ? 1.0 : 0.0,
			    "Mean", m[i].value > 0 ? 1.0 : 0.0,
			    "Stddev", 0.0, "Labels"));
		else
			bad |= json_array_append_new(s, e = json_pack(
			    "{s:s, s:I, s:f, s:f, s:f, s:f, s:f, s:f, s:{}}",
			    "Name", m[i].name, "Count", (json_int_t)m[i].t.n,
			    "Rate", m[i].t.sum / 10, "Sum", m[i].t.sum,
			    "Min", m[i].t.min, "Max", m[i].t.max,
			    "Mean", m[i].t.n > 0 ? m[i].t.sum / m[i].t.n : 0.0,
			    "Stddev", 0.0, "Labels"));
		bad |= e == NULL;
	}
	if (bad) {
		json_decref(o);
		return CF_ENOMEM;
	}
	*out = o;
	return CF_OK;
}

/* A Prometheus name: what is not [a-zA-Z0-9_:] becomes '_'. */
static void
prom_name(const char *in, char *out, size_t len)
{
	size_t	 i;

	for (i = 0; in[i] != '\0' && i + 1 < len; i++)
		out[i] = (in[i] >= 'a' && in[i] <= 'z') ||
		    (in[i] >= 'A' && in[i] <= 'Z') ||
		    (in[i] >= '0' && in[i] <= '9') || in[i] == ':' ?
		    in[i] : '_';
	out[i] = '\0';
}

static int
prom_family(struct buf *b, const char *name, const char *help,
    const char *type)
{
	return buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

int
metrics_prometheus(struct buf *b)
{
	struct metric		 m[NMETRICS];
	struct proc_stat	 p;
	char			 name[128];
	size_t			 i, n;
	int			 j, rc = CF_OK;

	n = collect(m);
	for (i = 0; i < n && rc == CF_OK; i++) {
		prom_name(m[i].name, name, sizeof(name));
		if (m[i].kind != M_SUMMARY) {
			if ((rc = prom_family(b, name, m[i].help,
			    m[i].kind == M_GAUGE ? "gauge" : "counter")) ==
			    CF_OK)
				rc = buf_printf(b, "%s %.17g\n", name,
				    m[i].value);
			continue;
		}
		rc = prom_family(b, name, m[i].help, "summary");
		for (j = 0; m[i].quantiles && j < 3 && rc == CF_OK; j++) {
			if (m[i].t.q[j] < 0)
				rc = buf_printf(b, "%s{quantile=\"%g\"} NaN\n",
				    name, quantiles[j]);
			else
				rc = buf_printf(b, "%s{quantile=\"%g\"} "
				    "%.17g\n", name, quantiles[j],
				    m[i].t.q[j]);
		}
		if (rc == CF_OK)
			rc = buf_printf(b, "%s_sum %.17g\n%s_count %llu\n",
			    name, m[i].t.sum, name, m[i].t.n);
	}
	/* The process family Prometheus clients export by default. */
	proc_read(&p);
	if (rc == CF_OK && p.cpu >= 0 && (rc = prom_family(b,
	    "process_cpu_seconds_total", "Total user and system CPU time "
	    "spent in seconds.", "counter")) == CF_OK)
		rc = buf_printf(b, "process_cpu_seconds_total %.17g\n", p.cpu);
	if (rc == CF_OK && p.rss >= 0 && (rc = prom_family(b,
	    "process_resident_memory_bytes", "Resident memory size in bytes.",
	    "gauge")) == CF_OK)
		rc = buf_printf(b, "process_resident_memory_bytes %lld\n",
		    p.rss);
	if (rc == CF_OK && p.vsize >= 0 && (rc = prom_family(b,
	    "process_virtual_memory_bytes", "Virtual memory size in bytes.",
	    "gauge")) == CF_OK)
		rc = buf_printf(b, "process_virtual_memory_bytes %lld\n",
		    p.vsize);
	if (rc == CF_OK && p.fds >= 0 && (rc = prom_family(b,
	    "process_open_fds", "Number of open file descriptors.",
	    "gauge")) == CF_OK)
		rc = buf_printf(b, "process_open_fds %lld\n", p.fds);
	if (rc == CF_OK && p.max_fds >= 0 && (rc = prom_family(b,
	    "process_max_fds", "Maximum number of open file descriptors.",
	    "gauge")) == CF_OK)
		rc = buf_printf(b, "process_max_fds %lld\n", p.max_fds);
	return rc;
}
