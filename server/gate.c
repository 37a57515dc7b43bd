/*
 * gate.c -- hold new connections until their request has arrived.
 *
 * One thread ("gate") owns the listening sockets once gate_start() ran:
 * it accepts every connection (non-blocking), watches it with epoll,
 * and peeks at what arrived without reading it, so civetweb later reads
 * the request as if it came straight from accept().  A connection whose
 * headers are complete moves to its listener's ready queue; civetweb's
 * accept loop finds it there through poll() and accept() below.
 *
 * Waiting connections live in a fixed table in arrival order (oldest
 * first); a full table, or an address over GATE_PER_ADDR, closes the
 * oldest waiting one, so a flood of idle sockets can neither lock out a
 * new client nor grow without bound.  Counts per address are kept in a
 * small hash of buckets (a rare collision only shares a cap).
 *
 * Threads: the gate thread alone touches the table; the ready queues
 * are shared with civetweb's accept thread under one mutex, a leaf lock.
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "gate.h"
#include "lock.h"
#include "log.h"

#define GATE_MAX_LISTENERS	16
#define GATE_PEEK		16384	/* civetweb's header buffer */
#define GATE_BUCKETS		65536
#define GATE_LISTENER_TAG	(1ULL << 40)

struct waiting {
	int			 fd;		/* -1: free slot */
	int			 lidx;
	time_t			 deadline;
	unsigned		 bucket;
	int			 prev, next;	/* arrival order */
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
};

struct ready {
	struct ready		*next;
	int			 fd;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
};

struct gate {
	int			 lfd[GATE_MAX_LISTENERS];
	int			 tls[GATE_MAX_LISTENERS];
	int			 n;
	int			 ep;
	pthread_t		 thread;
	atomic_int		 stop;
	/*
	 * Set when civetweb's accept thread first polls through the gate.
	 * Before, it may sit in a real poll() begun earlier, so the gate
	 * leaves the listening sockets to it.
	 */
	atomic_int		 armed;
	/* The gate thread's own. */
	struct waiting		*slots;
	int			 nwaiting, head, tail, free_hint;
	unsigned short		*per_bucket;
	/* Shared with civetweb's accept thread, under mu. */
	pthread_mutex_t		 mu;
	pthread_cond_t		 cv;
	struct ready		*rhead[GATE_MAX_LISTENERS];
	struct ready		*rtail[GATE_MAX_LISTENERS];
};

static struct gate *_Atomic	 active;
static struct gate		*retired;	/* stopped, not yet freed */

static int	(*real_poll)(struct pollfd *, nfds_t, int);
static int	(*real_accept)(int, struct sockaddr *, socklen_t *);

static void
lock(struct gate *g)
{
	lock_mutex(&g->mu, LOCK_LEAF);
}

static void
unlock(struct gate *g)
{
	unlock_mutex(&g->mu);
}

static unsigned
addr_bucket(const struct sockaddr_storage *sa)
{
	uint32_t	 a = 0;

	if (sa->ss_family == AF_INET)
		a = ((const struct sockaddr_in *)(const void *)sa)->
		    sin_addr.s_addr;
	a ^= a >> 16;
	a *= 0x45d9f3bU;
	a ^= a >> 16;
	return a % GATE_BUCKETS;
}

/* Unlink slot i from the arrival list and free it (fd not closed). */
static void
slot_release(struct gate *g, int i)
{
	struct waiting	*w = &g->slots[i];

	if (w->prev >= 0)
		g->slots[w->prev].next = w->next;
	else
		g->head = w->next;
	if (w->next >= 0)
		g->slots[w->next].prev = w->prev;
	else
		g->tail = w->prev;
	g->per_bucket[w->bucket]--;
	g->nwaiting--;
	w->fd = -1;
	g->free_hint = i;
}

static void
slot_close(struct gate *g, int i)
{
	int	 fd = g->slots[i].fd;

	(void)epoll_ctl(g->ep, EPOLL_CTL_DEL, fd, NULL);
	slot_release(g, i);
	close(fd);
}

static int
slot_alloc(struct gate *g)
{
	int	 i;

	for (i = 0; i < GATE_MAX_WAITING; i++) {
		int j = (g->free_hint + i) % GATE_MAX_WAITING;

		if (g->slots[j].fd == -1)
			return j;
	}
	return -1;
}

/* Hand slot i's connection to civetweb. */
static void
slot_ready(struct gate *g, int i)
{
	struct waiting	*w = &g->slots[i];
	struct ready	*r;
	int		 fd = w->fd, flags;

	(void)epoll_ctl(g->ep, EPOLL_CTL_DEL, fd, NULL);
	if ((r = malloc(sizeof(*r))) == NULL) {
		slot_release(g, i);
		close(fd);
		return;
	}
	/* civetweb expects what accept() gives: a blocking socket. */
	if ((flags = fcntl(fd, F_GETFL)) != -1)
		(void)fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
	r->next = NULL;
	r->fd = fd;
	r->sa = w->sa;
	r->salen = w->salen;
	lock(g);
	if (g->rtail[w->lidx] != NULL)
		g->rtail[w->lidx]->next = r;
	else
		g->rhead[w->lidx] = r;
	g->rtail[w->lidx] = r;
	pthread_cond_broadcast(&g->cv);
	unlock(g);
	slot_release(g, i);
}

/*
 * Look at what slot i sent so far.  Complete headers (or a full header
 * buffer, which civetweb refuses itself) make it ready; a closed or
 * failed connection is dropped.
 */
static void
slot_check(struct gate *g, int i)
{
	char	 buf[GATE_PEEK];
	ssize_t	 n;
	int	 ready;

	n = recv(g->slots[i].fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
	    errno != EINTR)) {
		slot_close(g, i);
		return;
	}
	/* TLS: the handshake has begun; civetweb's timeouts take over. */
	ready = n > 0 && (g->tls[g->slots[i].lidx] ||
	    n == (ssize_t)sizeof(buf) ||
	    memmem(buf, (size_t)n, "\r\n\r\n", 4) != NULL ||
	    memmem(buf, (size_t)n, "\n\n", 2) != NULL);
	/* What we peeked at holds tokens and the first body bytes. */
	if (n > 0)
		sodium_memzero(buf, (size_t)n);
	if (ready)
		slot_ready(g, i);
}

/* Close the oldest waiting connection (in bucket b, or any if b < 0). */
static void
evict_oldest(struct gate *g, long b)
{
	int	 i;

	for (i = g->head; i >= 0; i = g->slots[i].next)
		if (b < 0 || g->slots[i].bucket == (unsigned)b) {
			slot_close(g, i);
			return;
		}
}

static void
accept_all(struct gate *g, int lidx)
{
	struct epoll_event	 ev;
	struct waiting		*w;
	struct sockaddr_storage	 sa;
	socklen_t		 salen;
	unsigned		 b;
	int			 fd, i;

	for (;;) {
		salen = sizeof(sa);
		fd = accept4(g->lfd[lidx], (struct sockaddr *)&sa, &salen,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd == -1) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (errno == EMFILE || errno == ENFILE)
				evict_oldest(g, -1);
			return;
		}
		b = addr_bucket(&sa);
		while (g->per_bucket[b] >= GATE_PER_ADDR)
			evict_oldest(g, (long)b);
		if (g->nwaiting >= GATE_MAX_WAITING)
			evict_oldest(g, -1);
		if ((i = slot_alloc(g)) == -1) {
			close(fd);
			continue;
		}
		w = &g->slots[i];
		w->fd = fd;
		w->lidx = lidx;
		w->deadline = time(NULL) + GATE_HEADER_TIMEOUT;
		w->bucket = b;
		w->sa = sa;
		w->salen = salen;
		w->next = -1;
		w->prev = g->tail;
		if (g->tail >= 0)
			g->slots[g->tail].next = i;
		else
			g->head = i;
		g->tail = i;
		g->per_bucket[b]++;
		g->nwaiting++;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN | EPOLLRDHUP | EPOLLET;
		ev.data.u64 = (uint64_t)i;
		if (epoll_ctl(g->ep, EPOLL_CTL_ADD, fd, &ev) == -1) {
			slot_release(g, i);
			close(fd);
			continue;
		}
		/* The request may be there already. */
		slot_check(g, i);
	}
}

static void *
gate_run(void *arg)
{
	struct gate		*g = arg;
	struct epoll_event	 evs[256];
	time_t			 now;
	int			 n, k;

	while (!atomic_load(&g->stop)) {
		n = epoll_wait(g->ep, evs, 256, 250);
		for (k = 0; k < n; k++) {
			uint64_t d = evs[k].data.u64;

			if (d >= GATE_LISTENER_TAG)
				accept_all(g, (int)(d - GATE_LISTENER_TAG));
			else if (g->slots[d].fd != -1)
				slot_check(g, (int)d);
		}
		now = time(NULL);
		while (g->head >= 0 && g->slots[g->head].deadline <= now)
			slot_close(g, g->head);
	}
	return NULL;
}

/* 1 if fds are exactly the gate's listening sockets (civetweb's loop). */
static int
pollfd_is_gate(struct gate *g, const struct pollfd *fds, nfds_t nfds)
{
	nfds_t	 i;

	if (nfds != (nfds_t)g->n)
		return 0;
	for (i = 0; i < nfds; i++)
		if (fds[i].fd != g->lfd[i])
			return 0;
	return 1;
}

/* From now on the gate thread accepts on the listening sockets. */
static void
arm(struct gate *g)
{
	struct epoll_event	 ev;
	int			 i;

	for (i = 0; i < g->n; i++) {
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u64 = GATE_LISTENER_TAG + (uint64_t)i;
		if (epoll_ctl(g->ep, EPOLL_CTL_ADD, g->lfd[i], &ev) == -1)
			log_warn("gate: epoll_ctl");
	}
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	struct gate	*g = atomic_load(&active);
	struct timespec	 until;
	nfds_t		 i;
	int		 ready = 0, rc = 0;

	if (g == NULL || !pollfd_is_gate(g, fds, nfds))
		return real_poll != NULL ? real_poll(fds, nfds, timeout) :
		    (errno = ENOSYS, -1);
	if (!atomic_exchange(&g->armed, 1))
		arm(g);
	if (timeout < 0)
		timeout = 3600 * 1000;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout / 1000;
	until.tv_nsec += (long)(timeout % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	lock(g);
	for (;;) {
		for (i = 0; i < nfds; i++) {
			fds[i].revents = g->rhead[i] != NULL ? POLLIN : 0;
			ready += fds[i].revents != 0;
		}
		if (ready > 0 || rc != 0 || atomic_load(&g->stop) ||
		    timeout == 0)
			break;
		rc = cond_timedwait(&g->cv, &g->mu, &until);
	}
	unlock(g);
	return ready;
}

int
accept(int fd, struct sockaddr *sa, socklen_t *salen)
{
	struct gate	*g = atomic_load(&active);
	struct ready	*r = NULL;
	int		 i, out;

	for (i = 0; g != NULL && i < g->n; i++)
		if (g->lfd[i] == fd)
			break;
	if (g == NULL || i == g->n || !atomic_load(&g->armed))
		return real_accept != NULL ? real_accept(fd, sa, salen) :
		    (errno = ENOSYS, -1);
	lock(g);
	if ((r = g->rhead[i]) != NULL) {
		g->rhead[i] = r->next;
		if (g->rhead[i] == NULL)
			g->rtail[i] = NULL;
	}
	unlock(g);
	if (r == NULL) {
		errno = EAGAIN;
		return -1;
	}
	if (sa != NULL && salen != NULL) {
		memcpy(sa, &r->sa, *salen < r->salen ? *salen : r->salen);
		*salen = r->salen;
	}
	out = r->fd;
	free(r);
	return out;
}

/* Bind the real functions before any thread runs. */
static void __attribute__((constructor))
gate_bind(void)
{
	*(void **)&real_poll = dlsym(RTLD_NEXT, "poll");
	*(void **)&real_accept = dlsym(RTLD_NEXT, "accept");
}

int
gate_start(const int *fds, const int *tls, int n)
{
	struct gate		*g;
	int			 i, flags;

	if (n <= 0 || n > GATE_MAX_LISTENERS || real_poll == NULL ||
	    real_accept == NULL)
		return CF_EINVAL;
	if ((g = calloc(1, sizeof(*g))) == NULL)
		return CF_ENOMEM;
	g->ep = -1;
	g->head = g->tail = -1;
	if ((g->slots = calloc(GATE_MAX_WAITING, sizeof(*g->slots))) == NULL ||
	    (g->per_bucket = calloc(GATE_BUCKETS,
	    sizeof(*g->per_bucket))) == NULL ||
	    (g->ep = epoll_create1(EPOLL_CLOEXEC)) == -1)
		goto fail;
	for (i = 0; i < GATE_MAX_WAITING; i++)
		g->slots[i].fd = -1;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv, NULL);
	g->n = n;
	for (i = 0; i < n; i++) {
		g->lfd[i] = fds[i];
		g->tls[i] = tls[i];
		if ((flags = fcntl(fds[i], F_GETFL)) == -1 ||
		    fcntl(fds[i], F_SETFL, flags | O_NONBLOCK) == -1)
			goto fail;
	}
	if (pthread_create(&g->thread, NULL, gate_run, g) != 0)
		goto fail;
	pthread_setname_np(g->thread, "gate");
	atomic_store(&active, g);
	return CF_OK;
 fail:
	log_warn("gate: cannot start");
	if (g->ep != -1)
		close(g->ep);
	free(g->slots);
	free(g->per_bucket);
	free(g);
	return CF_EINTERNAL;
}

void
gate_stop(void)
{
	struct gate	*g = atomic_exchange(&active, NULL);
	struct ready	*r;
	int		 i;

	if (g == NULL)
		return;
	atomic_store(&g->stop, 1);
	lock(g);
	pthread_cond_broadcast(&g->cv);
	unlock(g);
	pthread_join(g->thread, NULL);
	while (g->head >= 0)
		slot_close(g, g->head);
	for (i = 0; i < g->n; i++)
		while ((r = g->rhead[i]) != NULL) {
			g->rhead[i] = r->next;
			close(r->fd);
			free(r);
		}
	close(g->ep);
	retired = g;
}

void
gate_free(void)
{
	struct gate	*g = retired;

	if (g == NULL)
		return;
	retired = NULL;
	pthread_mutex_destroy(&g->mu);
	pthread_cond_destroy(&g->cv);
	free(g->slots);
	free(g->per_bucket);
	free(g);
}
