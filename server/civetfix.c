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

static int	 list_enabled;

static int
is_str_at(const char *p, const char *s)
{
	return p != NULL && strcmp(p, s) == 0;
}

static int
patch_methods(struct dl_phdr_info *info, size_t size, void *arg)
{
	static const char	 list_name[] = "LIST";
	uintptr_t		 lo, hi, a, page;
	long			 pagesz = sysconf(_SC_PAGESIZE);
	int			 i, j;

	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, "civetweb") ==
	    NULL)
		return 0;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type != PT_LOAD || (ph->p_flags & PF_R) == 0)
			continue;
		lo = info->dlpi_addr + ph->p_vaddr;
		hi = lo + ph->p_memsz;
		lo = (lo + sizeof(void *) - 1) & ~(sizeof(void *) - 1);
		for (a = lo; a + 8 * sizeof(struct cw_method) <= hi;
		    a += sizeof(void *)) {
			struct cw_method *m = (struct cw_method *)a;
			uintptr_t	  p0 = (uintptr_t)m[0].name;

			/* Only follow pointers into this library. */
			if (p0 < info->dlpi_addr || p0 > hi + (1 << 24))
				continue;
			if (!is_str_at(m[0].name, "GET") ||
			    !is_str_at(m[1].name, "POST") ||
			    !is_str_at(m[2].name, "PUT"))
				continue;
			for (j = 0; j < 12 && m[j].name != NULL; j++) {
				if (!is_str_at(m[j].name, "CONNECT"))
					continue;
				page = (uintptr_t)&m[j] & ~((uintptr_t)pagesz - 1);
				if (mprotect((void *)page, (size_t)pagesz * 2,
				    PROT_READ | PROT_WRITE) == -1)
					return 0;
				m[j].name = list_name;
				mprotect((void *)page, (size_t)pagesz * 2,
				    PROT_READ);
				list_enabled = 1;
				return 1;
			}
			return 0;
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
