/*
 * conf_walk.h -- reading values from a parsed configuration tree.
 *
 * A struct conf_walk is one file's walk: its name for messages, the
 * caller's error buffer and how many errors were written.  Each reader
 * writes "FILE:LINE: message\n" and counts it on a bad value, and then
 * returns -1 and leaves *out alone; 0 on success.
 */
#ifndef COFFER_SERVER_CONF_WALK_H
#define COFFER_SERVER_CONF_WALK_H

struct buf;
struct hcl_node;

struct conf_walk {
	const char	*file;
	struct buf	*errs;
	int		 nerr;
};

/* Report one error at line (the message cut at 511 bytes) and count it. */
void	 conf_walk_error(struct conf_walk *, int line, const char *, ...)
	    __attribute__((format(printf, 3, 4)));
/* A string: *out replaced by a copy. */
int	 conf_walk_string(struct conf_walk *, const struct hcl_node *,
	    char **out);
/* true, "true", 1 and "1"; false, "false", 0 and "0". */
int	 conf_walk_bool(struct conf_walk *, const struct hcl_node *, int *out);
/* A number or numeric string from min to max. */
int	 conf_walk_int(struct conf_walk *, const struct hcl_node *,
	    long long min, long long max, long long *out);
/* A duration ("768h", "30m") or a number of seconds. */
int	 conf_walk_duration(struct conf_walk *, const struct hcl_node *,
	    long long *out);

#endif /* COFFER_SERVER_CONF_WALK_H */
