/*
 * ceiling.c -- the fastest civetweb handler we can write: a fixed JSON
 * answer with the same headers as cofferd's.  Its throughput under wrk,
 * measured in the same run, is the ceiling of the HTTP stack on this
 * machine, against which cofferd's numbers are read.
 *
 * usage: ceiling port threads
 */
#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

static int
hello(struct mg_connection *conn, void *arg)
{
	static const char	 body[] = "{\"data\":{\"value\":\"x\"}}\n";

	(void)arg;
	mg_response_header_start(conn, 200);
	mg_response_header_add(conn, "Content-Type", "application/json", -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	mg_response_header_add(conn, "Content-Length", "23", -1);
	mg_response_header_send(conn);
	mg_write(conn, body, sizeof(body) - 1);
	return 200;
}

int
main(int argc, char **argv)
{
	struct mg_context	*ctx;
	const char		*opts[] = { "listening_ports", NULL,
	    "num_threads", NULL, "enable_keep_alive", "yes",
	    "listen_backlog", "1024", "tcp_nodelay", "1", NULL };
	char			 addr[64];
	sigset_t		 s;
	int			 sig;

	if (argc != 3) {
		fprintf(stderr, "usage: ceiling port threads\n");
		return 2;
	}
	snprintf(addr, sizeof(addr), "127.0.0.1:%s", argv[1]);
	opts[1] = addr;
	opts[3] = argv[2];
	sigemptyset(&s);
	sigaddset(&s, SIGTERM);
	sigaddset(&s, SIGINT);
	pthread_sigmask(SIG_BLOCK, &s, NULL);
	mg_init_library(0);
	if ((ctx = mg_start(NULL, NULL, opts)) == NULL) {
		fprintf(stderr, "ceiling: cannot listen on %s\n", addr);
		return 1;
	}
	mg_set_request_handler(ctx, "/", hello, NULL);
	sigwait(&s, &sig);
	mg_stop(ctx);
	return 0;
}
