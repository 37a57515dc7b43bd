/*
 * sys_hostinfo.c -- sys/host-info: the node's CPUs, CPU times, disks,
 * host and memory, read from /proc, statvfs(3) and uname(2) in the
 * shapes Vault's gopsutil gives them.
 *
 * A logical sys/ route (sys_tools.c registers it): the router has
 * checked the token and the ACL.  A section that cannot be read is left
 * out with a warning rather than failing the request.  Nothing here
 * holds a lock.
 */
#include "config.h"

#include <sys/statvfs.h>
#include <sys/utsname.h>

#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "err.h"
#include "req.h"
#include "sys_hostinfo.h"
#include "timeutil.h"

static char *
trim(char *s)
{
	size_t	 n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/*
 * Called for each line of a /proc file, with the array being built and
 * the reader's own state; CF_OK goes on, anything else stops the read.
 */
typedef int	(*proc_line_fn)(char *line, json_t *arr, void *arg);

/*
 * Read path line by line through fn into a new JSON array (*out, owned).
 * The one open/parse/close shape of the host-info readers: CF_EIO when
 * the file will not open, else fn's first failure, with the array freed.
 * Lines are read into 8 KiB, enough for /proc/cpuinfo's flags.
 */
static int
proc_lines(const char *path, proc_line_fn fn, void *arg, json_t **out)
{
	FILE	*f;
	json_t	*arr;
	char	 line[8192];
	int	 rc = CF_OK;

	if ((f = fopen(path, "re")) == NULL)
		return CF_EIO;
	if ((arr = json_array()) == NULL) {
		fclose(f);
		return CF_ENOMEM;
	}
	while (rc == CF_OK && fgets(line, sizeof(line), f) != NULL)
		rc = fn(line, arr, arg);
	fclose(f);
	if (rc != CF_OK) {
		json_decref(arr);
		return rc;
	}
	*out = arr;
	return CF_OK;
}

/* A /proc/cpuinfo line; *arg is the processor being filled, or NULL. */
static int
cpu_line(char *line, json_t *arr, void *arg)
{
	json_t	**curp = arg, *cur = *curp, *flags;
	char	 *k, *v, *tok, *save;

	if ((v = strchr(line, ':')) == NULL)
		return CF_OK;
	*v++ = '\0';
	k = trim(line);
	v = trim(v);
	if (strcmp(k, "processor") == 0) {
		*curp = cur = json_pack("{s:i, s:s, s:s, s:s, s:i, s:s, s:s, "
		    "s:i, s:s, s:f, s:i, s:[], s:s}", "cpu", atoi(v),
		    "vendorId", "", "family", "", "model", "",
		    "stepping", 0, "physicalId", "", "coreId", "",
		    "cores", 1, "modelName", "", "mhz", 0.0,
		    "cacheSize", 0, "flags", "microcode", "");
		if (cur == NULL || json_array_append_new(arr, cur))
			return CF_ENOMEM;
		return CF_OK;
	}
	if (cur == NULL)
		return CF_OK;
	if (strcmp(k, "vendor_id") == 0)
		json_object_set_new(cur, "vendorId", json_string(v));
	else if (strcmp(k, "cpu family") == 0)
		json_object_set_new(cur, "family", json_string(v));
	else if (strcmp(k, "model") == 0)
		json_object_set_new(cur, "model", json_string(v));
	else if (strcmp(k, "stepping") == 0)
		json_object_set_new(cur, "stepping", json_integer(atoi(v)));
	else if (strcmp(k, "physical id") == 0)
		json_object_set_new(cur, "physicalId", json_string(v));
	else if (strcmp(k, "core id") == 0)
		json_object_set_new(cur, "coreId", json_string(v));
	else if (strcmp(k, "model name") == 0)
		json_object_set_new(cur, "modelName", json_string(v));
	else if (strcmp(k, "cpu MHz") == 0)
		json_object_set_new(cur, "mhz", json_real(atof(v)));
	else if (strcmp(k, "cache size") == 0)
		json_object_set_new(cur, "cacheSize", json_integer(atoi(v)));
	else if (strcmp(k, "microcode") == 0)
		json_object_set_new(cur, "microcode", json_string(v));
	else if (strcmp(k, "flags") == 0) {
		flags = json_object_get(cur, "flags");
		for (tok = strtok_r(v, " ", &save); tok != NULL;
		    tok = strtok_r(NULL, " ", &save))
			json_array_append_new(flags, json_string(tok));
	}
	return CF_OK;
}

/* One array entry per processor in /proc/cpuinfo. */
static int
host_cpu(json_t **out)
{
	json_t	*cur = NULL;

	return proc_lines("/proc/cpuinfo", cpu_line, &cur, out);
}

/* A /proc/stat line; *arg is the clock ticks per second. */
static int
cpu_times_line(char *line, json_t *arr, void *arg)
{
	static const char *const names[] = { "user", "nice", "system",
	    "idle", "iowait", "irq", "softirq", "steal", "guest",
	    "guestNice" };
	const double	*tck = arg;
	json_t		*e;
	char		 name[32];
	unsigned long long v[10];
	int		 n, i;

	if (strncmp(line, "cpu", 3) != 0 || !isdigit((unsigned char)line[3]))
		return CF_OK;
	memset(v, 0, sizeof(v));
	n = sscanf(line, "%31s %llu %llu %llu %llu %llu %llu %llu %llu %llu "
	    "%llu", name, &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
	    &v[7], &v[8], &v[9]);
	if (n < 5)
		return CF_OK;
	if ((e = json_pack("{s:s}", "cpu", name)) == NULL ||
	    json_array_append_new(arr, e) != 0)
		return CF_ENOMEM;
	for (i = 0; i < 10; i++)
		json_object_set_new(e, names[i], json_real(v[i] / *tck));
	return CF_OK;
}

/* Per-CPU times from /proc/stat, in seconds. */
static int
host_cpu_times(json_t **out)
{
	double	 tck = (double)sysconf(_SC_CLK_TCK);

	if (tck <= 0)
		tck = 100;
	return proc_lines("/proc/stat", cpu_times_line, &tck, out);
}

struct disk_state {
	struct response	*resp;		/* for a warning per unreadable mount */
	int		 n;		/* block devices seen */
};

/* A /proc/self/mounts line: a block device's usage. */
static int
disk_line(char *line, json_t *arr, void *arg)
{
	struct disk_state	*ds = arg;
	struct statvfs		 sv;
	json_t			*e;
	char			 dev[256], path[512], fs[64];
	double			 total, avail, used, itotal, ifree;

	if (sscanf(line, "%255s %511s %63s", dev, path, fs) != 3 ||
	    dev[0] != '/')
		return CF_OK;
	if (statvfs(path, &sv) != 0)
		return resp_warn(ds->resp, "disk.%d: %s", ds->n++, path);
	ds->n++;
	total = (double)sv.f_blocks * sv.f_frsize;
	avail = (double)sv.f_bavail * sv.f_frsize;
	used = total - (double)sv.f_bfree * sv.f_frsize;
	itotal = (double)sv.f_files;
	ifree = (double)sv.f_ffree;
	e = json_pack("{s:s, s:s, s:I, s:I, s:I, s:f, s:I, s:I, s:I, s:f}",
	    "path", path, "fstype", fs,
	    "total", (json_int_t)total, "free", (json_int_t)avail,
	    "used", (json_int_t)used, "usedPercent",
	    used + avail > 0 ? used / (used + avail) * 100 : 0.0,
	    "inodesTotal", (json_int_t)itotal,
	    "inodesUsed", (json_int_t)(itotal - ifree),
	    "inodesFree", (json_int_t)ifree, "inodesUsedPercent",
	    itotal > 0 ? (itotal - ifree) / itotal * 100 : 0.0);
	if (e == NULL || json_array_append_new(arr, e) != 0)
		return CF_ENOMEM;
	return CF_OK;
}

/* Mounted block devices, as gopsutil's disk.Partitions(false). */
static int
host_disk(json_t **out, struct response *resp)
{
	struct disk_state	 ds = { resp, 0 };

	return proc_lines("/proc/self/mounts", disk_line, &ds, out);
}

/* A key's value from /etc/os-release, unquoted, into out. */
static void
os_release(const char *key, char *out, size_t len)
{
	FILE	*f;
	char	 line[512], *v;
	size_t	 klen = strlen(key), n;

	out[0] = '\0';
	if ((f = fopen("/etc/os-release", "re")) == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL) {
		if (strncmp(line, key, klen) != 0 || line[klen] != '=')
			continue;
		v = trim(line + klen + 1);
		n = strlen(v);
		if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
			v[n - 1] = '\0';
			v++;
		}
		strlcpy(out, v, len);
		break;
	}
	fclose(f);
}

static void
read_line(const char *path, char *out, size_t len)
{
	FILE	*f;

	out[0] = '\0';
	if ((f = fopen(path, "re")) == NULL)
		return;
	if (fgets(out, (int)len, f) == NULL)
		out[0] = '\0';
	fclose(f);
	memmove(out, trim(out), strlen(trim(out)) + 1);
}

static int
host_host(json_t **out)
{
	struct utsname	 u;
	DIR		*d;
	struct dirent	*de;
	json_t		*o;
	char		 host[256], id[128], plat[64], ver[64], like[64];
	double		 up = 0;
	long long	 procs = 0;
	FILE		*f;

	if (uname(&u) != 0)
		return CF_EIO;
	if (gethostname(host, sizeof(host)) != 0)
		strlcpy(host, u.nodename, sizeof(host));
	host[sizeof(host) - 1] = '\0';
	if ((f = fopen("/proc/uptime", "re")) != NULL) {
		if (fscanf(f, "%lf", &up) != 1)
			up = 0;
		fclose(f);
	}
	if ((d = opendir("/proc")) != NULL) {
		while ((de = readdir(d)) != NULL)
			if (isdigit((unsigned char)de->d_name[0]))
				procs++;
		closedir(d);
	}
	os_release("ID", plat, sizeof(plat));
	os_release("VERSION_ID", ver, sizeof(ver));
	os_release("ID_LIKE", like, sizeof(like));
	if (like[0] == '\0')
		strlcpy(like, plat, sizeof(like));
	/* Debian keeps its point release in /etc/debian_version. */
	if (strcmp(plat, "debian") == 0)
		read_line("/etc/debian_version", ver, sizeof(ver));
	read_line("/sys/class/dmi/id/product_uuid", id, sizeof(id));
	if (id[0] == '\0')
		read_line("/proc/sys/kernel/random/boot_id", id, sizeof(id));
	o = json_pack("{s:s, s:I, s:I, s:I, s:s, s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s, s:s}", "hostname", host, "uptime", (json_int_t)up,
	    "bootTime", (json_int_t)(time(NULL) - (time_t)up),
	    "procs", (json_int_t)procs, "os", "linux", "platform", plat,
	    "platformFamily", like, "platformVersion", ver,
	    "kernelVersion", u.release, "kernelArch", u.machine,
	    "virtualizationSystem", "", "virtualizationRole", "",
	    "hostid", id);
	if (o == NULL)
		return CF_ENOMEM;
	*out = o;
	return CF_OK;
}

/* /proc/meminfo in gopsutil's names, bytes. */
static int
host_memory(json_t **out)
{
	static const char *const map[][2] = {
		{ "MemTotal", "total" }, { "MemFree", "free" },
		{ "MemAvailable", "available" }, { "Active", "active" },
		{ "Inactive", "inactive" }, { "Buffers", "buffers" },
		{ "Cached", "cached" }, { "Writeback", "writeback" },
		{ "Dirty", "dirty" }, { "WritebackTmp", "writebacktmp" },
		{ "Shmem", "shared" }, { "Slab", "slab" },
		{ "SReclaimable", "sreclaimable" },
		{ "SUnreclaim", "sunreclaim" }, { "PageTables", "pagetables" },
		{ "SwapCached", "swapcached" },
		{ "CommitLimit", "commitlimit" },
		{ "Committed_AS", "committedas" },
		{ "HighTotal", "hightotal" }, { "HighFree", "highfree" },
		{ "LowTotal", "lowtotal" }, { "LowFree", "lowfree" },
		{ "SwapTotal", "swaptotal" }, { "SwapFree", "swapfree" },
		{ "Mapped", "mapped" }, { "VmallocTotal", "vmalloctotal" },
		{ "VmallocUsed", "vmallocused" },
		{ "VmallocChunk", "vmallocchunk" },
		{ "HugePages_Total", "hugepagestotal" },
		{ "HugePages_Free", "hugepagesfree" },
		{ "Hugepagesize", "hugepagesize" },
	};
	FILE		*f;
	json_t		*o;
	char		 line[256], key[64], unit[16];
	long long	 v, total, freemem, buffers, cached, sreclaim, used;
	size_t		 i;
	int		 n;

	if ((f = fopen("/proc/meminfo", "re")) == NULL)
		return CF_EIO;
	o = json_pack("{s:I, s:I, s:I}", "wired", 0, "laundry", 0,
	    "used", 0);
	for (i = 0; o != NULL && i < sizeof(map) / sizeof(map[0]); i++)
		json_object_set_new(o, map[i][1], json_integer(0));
	while (o != NULL && fgets(line, sizeof(line), f) != NULL) {
		unit[0] = '\0';
		if ((n = sscanf(line, "%63[^:]: %lld %15s", key, &v, unit)) < 2)
			continue;
		if (strcmp(unit, "kB") == 0)
			v *= 1024;
		for (i = 0; i < sizeof(map) / sizeof(map[0]); i++)
			if (strcmp(key, map[i][0]) == 0)
				json_object_set_new(o, map[i][1],
				    json_integer(v));
	}
	fclose(f);
	if (o == NULL)
		return CF_ENOMEM;
	total = json_integer_value(json_object_get(o, "total"));
	freemem = json_integer_value(json_object_get(o, "free"));
	buffers = json_integer_value(json_object_get(o, "buffers"));
	cached = json_integer_value(json_object_get(o, "cached"));
	sreclaim = json_integer_value(json_object_get(o, "sreclaimable"));
	/* gopsutil counts reclaimable slab as cache. */
	used = total - freemem - buffers - cached - sreclaim;
	json_object_set_new(o, "used", json_integer(used));
	json_object_set_new(o, "usedPercent", json_real(total > 0 ?
	    (double)used / total * 100 : 0.0));
	*out = o;
	return CF_OK;
}

int
sys_hostinfo_get(struct request *req, struct response *resp)
{
	static const struct {
		const char	*name;
		int		 disk;
		int		(*fn)(json_t **);
	} sections[] = {
		{ "cpu", 0, host_cpu }, { "cpu_times", 0, host_cpu_times },
		{ "disk", 1, NULL }, { "host", 0, host_host },
		{ "memory", 0, host_memory },
	};
	struct timespec	 now;
	json_t		*o, *v;
	char		 at[64];
	size_t		 i;
	int		 rc;

	if (req->op != REQ_READ) {
		resp->err_empty = 1;	/* 405 with no body */
		return CF_EMETHOD;
	}
	clock_gettime(CLOCK_REALTIME, &now);
	time_format_rfc3339(at, sizeof(at), now.tv_sec, now.tv_nsec);
	if ((o = json_pack("{s:s}", "timestamp", at)) == NULL)
		return CF_ENOMEM;
	for (i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		v = NULL;
		rc = sections[i].disk ? host_disk(&v, resp) :
		    sections[i].fn(&v);
		if (rc == CF_ENOMEM) {
			json_decref(o);
			return rc;
		}
		/* What cannot be read is left out with a warning. */
		if (rc != CF_OK)
			rc = resp_warn(resp, "%s: %s", sections[i].name,
			    cf_strerror(rc));
		else
			rc = json_object_set_new(o, sections[i].name, v) == 0 ?
			    CF_OK : CF_ENOMEM;
		if (rc != CF_OK) {
			json_decref(o);
			return rc;
		}
	}
	return resp_data(resp, o);
}
