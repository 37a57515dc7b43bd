/*
 * civetfix.c -- what civetweb 1.15 cannot be configured to do, done
 * from outside: accept Vault's LIST method, and give its threads stacks
 * deep enough for the JSON walkers.  Both are process-wide and happen
 * before civetweb starts (http_start).
 */
#include "config.h"

#include <sys/mman.h>

#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include "civetfix.h"
#include "log.h"

/*
 * Worker stacks.  Debian's civetweb is built with 100 KiB stacks; every
 * client document nests at most REQ_JSON_MAX_DEPTH deep, and each level
 * costs the JSON walkers well under 1 KiB (several under the
 * sanitizers), so 512 KiB leaves a wide margin.
 */
#define CIVETFIX_WORKER_STACK	(512 * 1024)

/*
 * civetweb 1.15 refuses any method missing from its own table before a
 * handler can see the request, and Vault clients (hvac, node-vault, the
 * vault CLI) send "LIST".  The table is a static array of
 * { name, flags } in the library's relocated read-only data; we find it
 * by its first entries ("GET", "POST", "PUT") and rename the "CONNECT"
 * slot, a method no Vault API uses, to "LIST".  The flags are unused
 * for requests that reach a handler.  If the table is not found (a
 * different civetweb), LIST stays refused and clients can use
 * "GET ?list=true"; we log that.
 */
struct cw_method {
	const char	*name;
	int		 flags[5];
};
#define CIVETFIX_SCAN	12	/* table entries looked at from "GET" */

static int	 list_enabled;

/* The library's readable segments: only memory inside them is read. */
#define CIVETFIX_SEGS	16
struct cw_segs {
	uintptr_t	 lo[CIVETFIX_SEGS], hi[CIVETFIX_SEGS];
	int		 n;
};

/* 1 if the len bytes at p lie inside one readable segment. */
static int
in_segs(const struct cw_segs *sg, uintptr_t p, size_t len)
{
	int	 i;

	for (i = 0; i < sg->n; i++)
		if (p >= sg->lo[i] && p < sg->hi[i] && len <= sg->hi[i] - p)
			return 1;
	return 0;
}

/*
 * 1 if p points at the string s.  The scan reads arbitrary words as
 * pointers, so p is followed only if all of s's bytes would lie in one
 * of the library's segments: anything else may be unmapped.
 */
static int
is_str_at(const struct cw_segs *sg, const char *p, const char *s)
{
	size_t	 len = strlen(s) + 1;

	return p != NULL && in_segs(sg, (uintptr_t)p, len) &&
	    memcmp(p, s, len) == 0;
}

/* The CONNECT slot among the table's first entries at m, or -1. */
static int
connect_slot(const struct cw_segs *sg, const struct cw_method *m)
{
	int	 j;

	if (!is_str_at(sg, m[0].name, "GET") ||
	    !is_str_at(sg, m[1].name, "POST") ||
	    !is_str_at(sg, m[2].name, "PUT"))
		return -1;
	for (j = 0; j < CIVETFIX_SCAN && m[j].name != NULL; j++)
		if (is_str_at(sg, m[j].name, "CONNECT"))
			return j;
	return -1;
}

static int
patch_methods(struct dl_phdr_info *info, size_t size, void *arg)
{
	static const char	 list_name[] = "LIST";
	struct cw_segs		 sg;
	struct cw_method	*m;
	uintptr_t		 a, page;
	long			 pagesz = sysconf(_SC_PAGESIZE);
	int			 i, j;

	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, "civetweb") ==
	    NULL)
		return 0;
	sg.n = 0;
	for (i = 0; i < info->dlpi_phnum && sg.n < CIVETFIX_SEGS; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_R) == 0)
			continue;
		sg.lo[sg.n] = info->dlpi_addr + ph->p_vaddr;
		sg.hi[sg.n] = sg.lo[sg.n] + ph->p_memsz;
		sg.n++;
	}
	for (i = 0; i < sg.n; i++) {
		a = (sg.lo[i] + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
		for (; a + CIVETFIX_SCAN * sizeof(*m) <= sg.hi[i];
		    a += sizeof(void *)) {
			m = (struct cw_method *)a;
			if ((j = connect_slot(&sg, m)) < 0)
				continue;
			page = (uintptr_t)&m[j] & ~((uintptr_t)pagesz - 1);
			if (mprotect((void *)page, (size_t)pagesz * 2,
			    PROT_READ | PROT_WRITE) == -1)
				return 0;
			m[j].name = list_name;
			mprotect((void *)page, (size_t)pagesz * 2, PROT_READ);
			list_enabled = 1;
			return 1;
		}
	}
	return 0;
}

void
civetfix_enable_list(void)
{
	dl_iterate_phdr(patch_methods, NULL);
	if (!list_enabled)
		log_warnx("http: civetweb refuses the LIST method; "
		    "clients must use GET ?list=true");
}

/*
 * civetweb 1.15 sizes its threads' stacks with a compile-time constant
 * (100 KiB in Debian's build) and has no option for it.  It sets that
 * size with pthread_attr_setstacksize(), which this program defines, so
 * the dynamic linker binds civetweb's call here: no thread in the
 * process gets less than CIVETFIX_WORKER_STACK.
 */
int
pthread_attr_setstacksize(pthread_attr_t *attr, size_t size)
{
	static int	(*real)(pthread_attr_t *, size_t);
	int		(*fn)(pthread_attr_t *, size_t);

	if ((fn = __atomic_load_n(&real, __ATOMIC_ACQUIRE)) == NULL) {
		*(void **)&fn = dlsym(RTLD_NEXT, "pthread_attr_setstacksize");
		if (fn == NULL)
			return EINVAL;
		__atomic_store_n(&real, fn, __ATOMIC_RELEASE);
	}
	return fn(attr, size < CIVETFIX_WORKER_STACK ? CIVETFIX_WORKER_STACK : size);
}
