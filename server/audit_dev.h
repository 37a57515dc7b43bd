/*
 * audit_dev.h -- one audit device, private to the audit broker
 * (audit.c): its options, its file, stdout or socket sink, and the
 * writing of one entry to it.
 *
 * A device is counted (refs): the broker's table holds one reference
 * and every writer its own, so a device dropped from the table is
 * freed by its last writer.
 */
#ifndef COFFER_SERVER_AUDIT_DEV_H
#define COFFER_SERVER_AUDIT_DEV_H

#include <sys/types.h>

#include <pthread.h>
#include <stddef.h>

#include <jansson.h>

#include "audit_entry.h"

struct audit_sock;

#define AUDIT_SALT_LEN	36		/* UUID text */

enum dev_kind {
	DEV_FILE,
	DEV_STDOUT,
	DEV_DISCARD,
	DEV_SOCK			/* syslog and socket */
};

struct audit_dev {
	char		*path;		/* "file/" */
	char		*type;		/* "file" */
	char		*description;
	json_t		*options;	/* strings, as enabled */
	int		 local;
	char		 salt[AUDIT_SALT_LEN + 1];
	int		 kind;		/* enum dev_kind */
	char		*file_path;
	mode_t		 mode;
	int		 chmod;		/* 1: chmod the file on open */
	struct audit_fmt fmt;		/* salt, options; prefix points in */
	char		*prefix;
	pthread_mutex_t	 mu;		/* serialises stdout writes */
	/*
	 * The file: writers hold fdlock's read side for their one write()
	 * (O_APPEND places each entry whole), opening and reopening its
	 * write side, so an fd is closed only when no writer uses it.
	 * gen counts opens and closes: a writer that failed reopens only
	 * if nobody did since it read fd.
	 */
	pthread_rwlock_t fdlock;
	int		 fd;		/* -1: closed */
	unsigned	 gen;
	struct audit_sock *sock;	/* DEV_SOCK: locks itself */
	/*
	 * Atomic: the table's reference and each writer's.  A writer holds
	 * one for its writes instead of the table lock, so a device that
	 * stalls (a socket peer that stops reading) never keeps enable,
	 * disable or the seal waiting.
	 */
	int		 refs;
	unsigned long	 serial;	/* unique, never reused: memo key */
};

/*
 * A device from its options (borrowed, copied), not yet open.  Vault's
 * checks in Vault's order; CF_EINVAL with the text in why.
 */
int	 audit_dev_new(const char *path, const char *type, const char *desc,
	    json_t *opts, int local, struct audit_dev **out, char *why,
	    size_t whylen) __attribute__((warn_unused_result));
/* Free d now (never published); audit_dev_unref for a shared one. */
void	 audit_dev_free(struct audit_dev *);
struct audit_dev *audit_dev_ref(struct audit_dev *);
/* Drop a reference; the last one frees d. */
void	 audit_dev_unref(struct audit_dev *);
/* Open d's file or connect its socket: 0, or an errno value, why set. */
int	 audit_dev_open(struct audit_dev *, char *why, size_t whylen);
/* SIGHUP: open the file again, or connect again; as audit_dev_open. */
int	 audit_dev_reopen(struct audit_dev *, char *why, size_t whylen);
/* Write one entry whole: 0, or an errno value with why set. */
int	 audit_dev_write(struct audit_dev *, const char *p, size_t len,
	    char *why, size_t whylen);
/* Vault's test entry, written when the device is enabled. */
int	 audit_dev_test(struct audit_dev *, char *why, size_t whylen)
	    __attribute__((warn_unused_result));

#endif /* COFFER_SERVER_AUDIT_DEV_H */
