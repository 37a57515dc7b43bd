/*
 * body.h -- the JSON body of a raw sys/ request, read as Vault's Go
 * handlers decode it.
 */
#ifndef COFFER_SERVER_BODY_H
#define COFFER_SERVER_BODY_H

#include <stddef.h>

struct request;
struct response;

/* A 400 "EOF" when the body is empty, as Go's decoder answers. */
int	 body_need(struct request *, struct response *);
/* A 405 unless the request is a PUT or POST. */
int	 body_need_update(struct request *, struct response *);

/*
 * Members of the body, matched ignoring case, with Go's messages for a
 * wrong type.  Absent: 0, false, "", an empty list (*n is the list's
 * length).
 */
int	 body_int(struct request *, struct response *, const char *,
	    long long *);
int	 body_bool(struct request *, struct response *, const char *, int *);
int	 body_str(struct request *, struct response *, const char *,
	    const char **);
int	 body_strlist(struct request *, struct response *, const char *,
	    size_t *);

#endif /* COFFER_SERVER_BODY_H */
