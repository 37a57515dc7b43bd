/*
 * log.h -- logging to stderr, as text or JSON lines.
 *
 * The names follow OpenBSD's daemons: log_warn() appends strerror(errno),
 * log_warnx() does not; fatal() and fatalx() are for start-up only.
 * Every call is thread-safe (one write(2) per line) and saves errno.
 * Never pass a token, share, key or request body to these functions.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#ifndef COFFER_UTIL_LOG_H
#define COFFER_UTIL_LOG_H

#include <stdarg.h>

enum log_level {
	LOG_LVL_ERROR = 0,
	LOG_LVL_WARN,
	LOG_LVL_INFO,
	LOG_LVL_DEBUG,
	LOG_LVL_TRACE
};

/* Parse "trace".."error" (also "warning", "err"); -1 if unknown. */
int	 log_level_parse(const char *);
const char *log_level_name(int);
void	 log_setlevel(int);
int	 log_getlevel(void);
/* 1: one JSON object per line; 0: "2026-01-01T00:00:00.000Z [INFO]  msg". */
void	 log_setjson(int);
/* 1 if messages at this level are written (to skip costly formatting). */
int	 log_enabled(int);

void	 log_warn(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_warnx(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_error(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_info(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_debug(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 log_trace(const char *, ...) __attribute__((format(printf, 1, 2)));
void	 vlog(int, const char *, va_list) __attribute__((format(printf, 2, 0)));
void	 fatal(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));
void	 fatalx(const char *, ...)
	    __attribute__((format(printf, 1, 2), noreturn));

#endif /* COFFER_UTIL_LOG_H */
