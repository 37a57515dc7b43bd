/*
 * flags.h -- per-command flag sets with Go's flag package rules.
 *
 * vault parses each command's flags with Go's "flag" package, and
 * scripts depend on its quirks: one or two dashes, -name=value or
 * -name value (not for booleans), parsing stops at the first
 * positional, "--" is consumed.  Errors print one line on stderr and
 * the command exits 1.
 */
#ifndef COFFER_CLI_FLAGS_H
#define COFFER_CLI_FLAGS_H

#include <stdint.h>

#include <jansson.h>

enum flag_type {
	FLAG_BOOL,	/* int *: 0 or 1 */
	FLAG_STR,	/* const char **: borrowed from argv */
	FLAG_INT,	/* long long * */
	FLAG_DUR,	/* int64_t *: nanoseconds; "system" is -1 s */
	FLAG_LIST,	/* json_t **: array of strings, one per use */
	FLAG_MAP	/* json_t **: object, k=v per use */
};

struct flag {
	const char	*name;
	enum flag_type	 type;
	void		*dst;
	int		 set;		/* out: the flag was given */
};

/*
 * Parse argv[0..argc) against sets (a NULL-terminated list of arrays,
 * each ended by an entry with a NULL name).  On success *first is the
 * index of the first positional and 0 is returned; otherwise the error
 * was printed and -1 is returned.  List and map results are owned by
 * the caller (json_decref).
 */
int	 flags_parse(struct flag **, int, char **, int *);

/* Go's strconv.ParseBool; -1 when s is not a boolean. */
int	 flags_bool(const char *);

/*
 * Parse a duration as vault does: bare integer = seconds, <n>d = days,
 * else Go syntax (1h30m, 1.5s, 300ms).  0 or -1.
 */
int	 flags_duration(const char *, int64_t *);

/* Go's time.Duration.String() of ns, into buf (>= 40 bytes). */
void	 flags_durfmt(int64_t, char *, size_t);

/* Seconds as vault's humanised table text (768h, 1m30s, 1h1s). */
void	 flags_human(long long, char *, size_t);

#endif /* COFFER_CLI_FLAGS_H */
