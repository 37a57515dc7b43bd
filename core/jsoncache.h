/*
 * jsoncache.h -- the active node's decoded JSON documents, by storage
 * key (see jsoncache.c).  Used by core.c only: core_get_json reads
 * through it, and core's writes drop what they change.
 */
#ifndef COFFER_CORE_JSONCACHE_H
#define COFFER_CORE_JSONCACHE_H

#include <stddef.h>

#include <jansson.h>

#define JSONCACHE_DOC_MAX	16384	/* bytes of JSON text */
/* The text of all kept documents together, which bounds their memory. */
#define JSONCACHE_BYTES_MAX	(8u * 1024 * 1024)

/*
 * A copy of key's document (the caller's), or NULL on a miss.  *gen is
 * the slot's generation either way: hand it to jsoncache_put with what
 * storage returned.
 */
json_t	*jsoncache_get(const char *key, unsigned long long *gen);
/* Keep a copy of doc (len bytes of text) unless key was dropped since gen. */
void	 jsoncache_put(const char *key, const json_t *doc, size_t len,
	    unsigned long long gen);
/* Forget key: its storage changed (call after the write). */
void	 jsoncache_drop(const char *key);
/* Forget everything: a prefix delete, a change of role, a seal. */
void	 jsoncache_clear(void);

#endif
