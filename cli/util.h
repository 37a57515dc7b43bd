/*
 * util.h -- growing strings and allocation for the coffer client.
 *
 * The client is a short-lived command: running out of memory ends it
 * with exit status 2 ("failed after the client was built"), which is
 * what a failed request would give.  Every sbuf is wiped when freed
 * because request and response bodies carry secrets.
 */
#ifndef COFFER_CLI_UTIL_H
#define COFFER_CLI_UTIL_H

#include <stdarg.h>
#include <stddef.h>

#include <jansson.h>

struct sbuf {
	char	*p;		/* NUL-terminated once anything was added */
	size_t	 len;
	size_t	 cap;
};

/* Allocation that exits(2) with a message on failure; never NULL. */
void	*xmalloc(size_t);
void	*xrealloc(void *, size_t);
char	*xstrdup(const char *);
char	*xstrndup(const char *, size_t);

/* Append to b; the buffer stays NUL-terminated. */
void	 sbuf_add(struct sbuf *, const void *, size_t);
void	 sbuf_puts(struct sbuf *, const char *);
void	 sbuf_printf(struct sbuf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
/* The string so far ("" when empty); borrowed until the next append. */
const char *sbuf_str(struct sbuf *);
/* Hand the string to the caller (owned, free with wipefree). */
char	*sbuf_take(struct sbuf *);
/* Wipe and release; the sbuf is empty and reusable afterwards. */
void	 sbuf_free(struct sbuf *);

/* Zero a string's bytes, then free it; NULL is fine. */
void	 wipefree(char *);
void	 wipe(void *, size_t);

/*
 * Leading slashes trimmed, and trailing ones unless keep_trailing (as
 * vault's sanitizePath); owned.
 */
char	*pathtrim(const char *, int keep_trailing);
/* Slashes trimmed, then one trailing slash (mount and audit paths). */
char	*mountpath(const char *);

/* Trim surrounding white space in place; returns s. */
char	*trim(char *);

/* Read all of a stream or file into an owned string; -1 with errno. */
int	 read_all_fd(int, struct sbuf *);
int	 read_file(const char *, struct sbuf *);

/*
 * curl_global_init with util/jsonmem's allocators, which wipe every
 * block they free or move; 0 or -1.
 */
int	 curlmem_wiping(long);
/* An object's keys in bytewise order (owned array, keys borrowed). */
const char **sorted_keys(json_t *, size_t *n);
/* Append the shortest %g text that reads back as the same double. */
void	 sbuf_real(struct sbuf *, double);
/* Free a string from json_dumps (jansson's allocator); NULL is fine. */
void	 json_strfree(char *);

#endif /* COFFER_CLI_UTIL_H */
