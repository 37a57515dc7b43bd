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
 * A copy of key's document (the caller's), or NULL on a miss.  *ticket
 * says when and whether: hand it to jsoncache_put with what storage
 * returned.  A document is kept only on its key's second miss in a row
 * at its slot, so that keys read once (a scan of a million secrets) do
 * not each cost a copy that the next one evicts.
 */
json_t	*jsoncache_get(const char *key, unsigned long long *ticket);
/*
 * On a hit, call fn on key's document, read-only and under the slot's
 * mutex (fn copies what it keeps and calls nothing that locks), put its
 * result in *rc and return 1; on a miss return 0.  *ticket as
 * jsoncache_get's.
 */
int	 jsoncache_peek(const char *key, int (*fn)(const json_t *, void *),
	    void *arg, unsigned long long *ticket, int *rc);
/*
 * 1 if a miss's ticket admits its document: jsoncache_put may keep it.
 * On 0 the reader may parse only what it needs.  No lock, no cost.
 */
int	 jsoncache_admits(unsigned long long ticket);
/*
 * Keep a copy of doc (len bytes of text) if the ticket admits it and
 * key was not dropped since.
 */
void	 jsoncache_put(const char *key, const json_t *doc, size_t len,
	    unsigned long long ticket);
/*
 * jsoncache_get for a writer about to replace key: the cached document
 * itself (the caller's now, no copy), taken out of the cache, which
 * gets the new one back from the write (jsoncache_write admits it).
 * NULL on a miss.  *ticket as jsoncache_get's; after a take it is
 * current until something writes or drops key.
 */
json_t	*jsoncache_take(const char *key, unsigned long long *ticket);
/* Forget key: its storage changed (call after the write). */
void	 jsoncache_drop(const char *key);
/*
 * Write-through: key's storage now holds doc (len bytes of text).  Takes
 * the caller's reference to doc, which no one may touch afterwards: it
 * is kept as it is (no copy) in place of key's old one if nothing
 * wrote, dropped or cleared key's slot since ticket (taken with
 * jsoncache_peek before the write) and the slot holds key or the ticket
 * admits it (key missed there twice: read before it was written);
 * otherwise it is freed and the call is jsoncache_drop(key).
 */
void	 jsoncache_write(const char *key, json_t *doc, size_t len,
	    unsigned long long ticket);
/*
 * 1 if nothing wrote, dropped or cleared key's slot since ticket (from
 * jsoncache_get or jsoncache_peek, hit or miss): what was read then is
 * still key's document, or still its absence.  Costs a mutex, no copy.
 */
int	 jsoncache_is_current(const char *key, unsigned long long ticket);
/* Forget everything: a prefix delete, a change of role, a seal. */
void	 jsoncache_clear(void);

#endif
