/*
 * ceiling.c -- the fastest civetweb handler we can write: a fixed JSON
 * answer with the same head as cofferd's (status line, Content-Type,
 * Cache-Control, Content-Length, Date, Connection), written whole with
 * one mg_write() as cofferd writes its answers.  Its throughput under
 * wrk, measured in the same run, is the ceiling of the HTTP stack on
 * this machine, against which cofferd's numbers are read.  It runs with
 * cofferd's civetweb options.
 *
 * usage: ceiling port threads
 */
#include "config.h"

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

static const char	 body[] = "{\"data\":{\"value\":\"x\"}}\n";

/* The whole answer for this second, per thread, and its two lengths. */
struct answer {
	time_t	 when;
	char	 text[2][512];
	int	 len[2];
};

static _Thread_local struct answer	 ans = { -1, { "", "" }, { 0, 0 } };

static void
answer_make(time_t now)
{
	static const char	 days[] = "SunMonTueWedThuFriSat";
	static const char	 months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	struct tm		 tm;
	int			 k;

	if (gmtime_r(&now, &tm) == NULL)
		return;
	for (k = 0; k < 2; k++)
		ans.len[k] = snprintf(ans.text[k], sizeof(ans.text[k]),
		    "HTTP/1.1 200 OK\r\n"
		    "Content-Type: application/json\r\n"
		    "Cache-Control: no-store\r\n"
		    "Content-Length: %zu\r\n"
		    "Date: %.3s, %02d %.3s %04d %02d:%02d:%02d GMT\r\n"
		    "Connection: %s\r\n\r\n%s", sizeof(body) - 1,
		    days + 3 * tm.tm_wday, tm.tm_mday, months + 3 * tm.tm_mon,
		    tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec,
		    k ? "keep-alive" : "close", body);
	ans.when = now;
}

static int
hello(struct mg_connection *conn, void *arg)
{
	const struct mg_request_info	*ri = mg_get_request_info(conn);
	const char			*c = mg_get_header(conn, "Connection");
	time_t				 now = time(NULL);
	int				 keep;

	(void)arg;
	if (now != ans.when)
		answer_make(now);
	/* As cofferd decides it (server/http.c keepalive_final). */
	if (c != NULL)
		keep = strcasecmp(c, "keep-alive") == 0;
	else
		keep = strcmp(ri->http_version, "1.1") == 0;
	if (!keep)
		mg_disable_connection_keep_alive(conn);
	mg_write(conn, ans.text[keep], (size_t)ans.len[keep]);
	return 200;
}

/* As cofferd: no ".htpasswd" lookup (a stat) before each request. */
static int
grant(struct mg_connection *conn, void *arg)
{
	(void)conn;
	(void)arg;
	return 1;
}

int
main(int argc, char **argv)
{
	struct mg_context	*ctx;
	const char		*opts[] = { "listening_ports", NULL,
	    "num_threads", NULL, "enable_keep_alive", "yes",
	    "keep_alive_timeout_ms", "5000", "listen_backlog", "1024",
	    "tcp_nodelay", "1", NULL };
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
	mg_set_auth_handler(ctx, "/", grant, NULL);
	sigwait(&s, &sig);
	mg_stop(ctx);
	return 0;
}
