/*
 * log.c -- logging to stderr, as text or JSON lines.
 *
 * Each message is formatted into a stack buffer and written with one
 * write(2), so lines from worker threads never interleave.  The level is
 * an atomic so SIGHUP can change it while requests run.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static atomic_int	log_level = LOG_LVL_INFO;
static atomic_int	log_json;

static const char *const level_names[] = {
	"error", "warn", "info", "debug", "trace"
};

int
log_level_parse(const char *s)
{
	size_t	 i;

	for (i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "warning") == 0)
		return LOG_LVL_WARN;
	if (strcasecmp(s, "err") == 0)
		return LOG_LVL_ERROR;
	return -1;
}

const char *
log_level_name(int lvl)
{
	if (lvl < 0 || lvl > LOG_LVL_TRACE)
		return "info";
	return level_names[lvl];
}

void
log_setlevel(int lvl)
{
	atomic_store(&log_level, lvl);
}

int
log_getlevel(void)
{
	return atomic_load(&log_level);
}

void
log_setjson(int on)
{
	atomic_store(&log_json, on);
}

int
log_enabled(int lvl)
{
	return lvl <= atomic_load(&log_level);
}

/* Append s to out as the inside of a JSON string. */
static size_t
json_escape(char *out, size_t cap, const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0' && n + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\') {
			out[n++] = '\\';
			out[n++] = (char)c;
		} else if (c < 0x20) {
			n += (size_t)snprintf(out + n, cap - n, "\\u%04x", c);
		} else
			out[n++] = (char)c;
	}
	out[n] = '\0';
	return n;
}

void
vlog(int lvl, const char *fmt, va_list ap)
{
	char		 msg[2048], line[4500], ts[40];
	struct timespec	 now;
	struct tm	 tm;
	int		 saved = errno, n;

	if (!log_enabled(lvl))
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	n = (int)strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(ts + n, sizeof(ts) - (size_t)n, ".%03ldZ",
	    now.tv_nsec / 1000000);
	if (atomic_load(&log_json)) {
		char	 esc[4200];

		json_escape(esc, sizeof(esc), msg);
		n = snprintf(line, sizeof(line),
		    "{\"@timestamp\":\"%s\",\"@level\":\"%s\","
		    "\"@module\":\"cofferd\",\"@message\":\"%s\"}\n",
		    ts, log_level_name(lvl), esc);
	} else
		n = snprintf(line, sizeof(line), "%s [%-5s] %s\n", ts,
		    log_level_name(lvl), msg);
	if (n > (int)sizeof(line) - 1) {
		n = (int)sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	(void)!write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
}

static void
log_at(int lvl, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(lvl, fmt, ap);
	va_end(ap);
}

#define LOG_FN(name, lvl)					\
void								\
name(const char *fmt, ...)					\
{								\
	va_list	 ap;						\
								\
	va_start(ap, fmt);					\
	vlog(lvl, fmt, ap);					\
	va_end(ap);						\
}

LOG_FN(log_warnx, LOG_LVL_WARN)
LOG_FN(log_error, LOG_LVL_ERROR)
LOG_FN(log_info, LOG_LVL_INFO)
LOG_FN(log_debug, LOG_LVL_DEBUG)
LOG_FN(log_trace, LOG_LVL_TRACE)

/* Format fmt and append ": strerror(errno)". */
static void
vlog_errno(int lvl, const char *fmt, va_list ap)
{
	char	 msg[2048];
	int	 saved = errno;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (saved != 0)
		log_at(lvl, "%s: %s", msg, strerror(saved));
	else
		log_at(lvl, "%s", msg);
	errno = saved;
}

void
log_warn(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_LVL_WARN, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog_errno(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}

void
fatalx(const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vlog(LOG_LVL_ERROR, fmt, ap);
	va_end(ap);
	exit(1);
}
