/*
 * group_commit.c -- the queue that joins concurrent writers' batches
 * into shared transactions; see group_commit.h.
 */
#include "config.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "group_commit.h"
#include "lock.h"

enum {
	GROUP_QUEUED,		/* waiting to be taken by a leader */
	GROUP_TAKEN,		/* in a group being committed */
	GROUP_DONE,		/* rc is the group's result */
	GROUP_ALONE		/* the group failed: commit alone */
};

int
group_commit_init(struct group_commit *gc, int max_leaders, size_t max_ops,
    group_commit_fn commit, void *arg)
{
	memset(gc, 0, sizeof(*gc));
	if (pthread_mutex_init(&gc->mu, NULL) != 0)
		return CF_EINTERNAL;
	gc->max_leaders = max_leaders > 0 ? max_leaders : 1;
	gc->max_ops = max_ops;
	gc->commit = commit;
	gc->arg = arg;
	return CF_OK;
}

void
group_commit_destroy(struct group_commit *gc)
{
	pthread_mutex_destroy(&gc->mu);
}

static void
wake(struct group_req *r)
{
	if (pthread_cond_signal(&r->cv) != 0)
		abort();
}

/*
 * Take a group from the head of the queue: whole requests while their
 * operations stay within max_ops, and at least one.  Under mu.
 */
static struct group_req *
take_group(struct group_commit *gc)
{
	struct group_req	*first = gc->head, *last = first;
	size_t			 ops = first->n;

	first->state = GROUP_TAKEN;
	while (last->next != NULL && (gc->max_ops == 0 ||
	    ops + last->next->n <= gc->max_ops)) {
		last = last->next;
		ops += last->n;
		last->state = GROUP_TAKEN;
	}
	gc->head = last->next;
	if (gc->head == NULL)
		gc->tail = NULL;
	last->next = NULL;
	return first;
}

/* Commit one group as its leader, then hand out the result.  Under mu. */
static void
lead(struct group_commit *gc)
{
	struct group_req	*group, *r, *next;
	int			 rc, state;

	gc->leaders++;
	group = take_group(gc);
	unlock_mutex(&gc->mu);
	rc = gc->commit(gc->arg, group, NULL);
	lock_mutex(&gc->mu, LOCK_STORAGE);
	/* Fenced (no longer the writer) is every request's answer. */
	state = rc != CF_OK && rc != CF_ESTANDBY && group->next != NULL ?
	    GROUP_ALONE : GROUP_DONE;
	/* Once its state is set a writer may return: read next first. */
	for (r = group; r != NULL; r = next) {
		next = r->next;
		r->rc = rc;
		r->state = state;
		wake(r);
	}
	gc->leaders--;
	if (gc->head != NULL)
		wake(gc->head);		/* a leader's place is free */
}

int
group_commit_write(struct group_commit *gc, const struct storage_op *ops,
    size_t n)
{
	struct group_req	 me;
	int			 rc;

	memset(&me, 0, sizeof(me));
	me.ops = ops;
	me.n = n;
	me.state = GROUP_QUEUED;
	if (pthread_cond_init(&me.cv, NULL) != 0)
		return CF_EINTERNAL;
	lock_mutex(&gc->mu, LOCK_STORAGE);
	if (gc->tail != NULL)
		gc->tail->next = &me;
	else
		gc->head = &me;
	gc->tail = &me;
	for (;;) {
		if (me.state == GROUP_DONE || me.state == GROUP_ALONE)
			break;
		if (me.state == GROUP_QUEUED && gc->leaders < gc->max_leaders)
			/* May commit others only: then wait for ours. */
			lead(gc);
		else
			cond_wait(&me.cv, &gc->mu);
	}
	unlock_mutex(&gc->mu);
	rc = me.rc;
	if (me.state == GROUP_ALONE) {
		me.next = NULL;
		rc = gc->commit(gc->arg, &me, NULL);
	}
	pthread_cond_destroy(&me.cv);
	return rc;
}
