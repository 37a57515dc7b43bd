/*
 * group_commit.h -- joins concurrent writers' batches into shared
 * transactions, for a backend whose commit costs about the same however
 * much it holds (a disk sync for LMDB, a round trip, a fence and a WAL
 * flush for PostgreSQL).
 *
 * A writer queues its batch.  While fewer than max_leaders groups are
 * being committed, the oldest queued writer becomes a leader: it takes
 * the queue from its head (up to max_ops operations, at least one
 * request), commits those requests as one transaction through the
 * backend's commit function and hands each its result.  A writer
 * returns only after the transaction holding its batch returned.  If a
 * group of several fails, nothing of it was applied and each writer
 * commits its own batch alone, so that none gets another's error;
 * unless the group was refused as a standby's (CF_ESTANDBY: fenced),
 * which is every writer's answer.
 *
 * Threads: mu guards the queue, the leader count and every request's
 * state; it is never held across a commit.  Each request waits on its
 * own condition variable: a leader wakes the members of its group and
 * the writer then at the head of the queue, no one else.
 */
#ifndef COFFER_BACKENDS_GROUP_COMMIT_H
#define COFFER_BACKENDS_GROUP_COMMIT_H

#include <pthread.h>
#include <stddef.h>

#include "storage.h"

/* One writer's batch; on the writer's stack. */
struct group_req {
	const struct storage_op	*ops;
	size_t			 n;
	int			 rc;
	int			 state;		/* GROUP_* in group_commit.c */
	pthread_cond_t		 cv;
	struct group_req	*next;
};

/*
 * Apply the batches of first, first->next, ... up to stop (exclusive)
 * in one transaction and commit it: all of them or none.  CF_OK or an
 * error for all of them.
 */
typedef int	(*group_commit_fn)(void *arg, const struct group_req *first,
		    const struct group_req *stop);

struct group_commit {
	pthread_mutex_t		 mu;
	struct group_req	*head, *tail;	/* queued, not taken; mu */
	int			 leaders;	/* groups committing; mu */
	int			 max_leaders;
	size_t			 max_ops;	/* per group; 0: no limit */
	group_commit_fn		 commit;
	void			*arg;
};

/* CF_OK or CF_EINTERNAL. */
int	group_commit_init(struct group_commit *, int max_leaders,
	    size_t max_ops, group_commit_fn, void *arg);
void	group_commit_destroy(struct group_commit *);
/* Commit ops (n of them) in a group; the commit function's result. */
int	group_commit_write(struct group_commit *,
	    const struct storage_op *ops, size_t n);

#endif
