/*
 * transit_data.h -- the transit engine's operations on a client's data:
 * per item and over batch_input, plus datakey, hash and random.
 *
 * transit.c (the path table and key lookup) is the only caller; see
 * transit_data.c.
 */
#ifndef COFFER_ENGINES_TRANSIT_DATA_H
#define COFFER_ENGINES_TRANSIT_DATA_H

struct mount;
struct request;
struct response;
struct tkey;

enum tdata_op {
	TDATA_ENCRYPT,
	TDATA_DECRYPT,
	TDATA_REWRAP,
	TDATA_HMAC,
	TDATA_SIGN,
	TDATA_VERIFY
};

/*
 * Run what with k once over the request's fields, or over each item of
 * its batch_input, and answer in resp (data, a 400 reason, or Vault's
 * batch_results and status).  algo names the hash of hmac and verify
 * (sha2-256 or sha2-512) and is NULL otherwise.  The caller keeps its
 * reference to k.
 */
int	 tdata_run(struct request *, struct response *, struct tkey *k,
	    const char *algo, enum tdata_op what);

/*
 * datakey/<kind>/<name>: a new data key encrypted with name, and its
 * plaintext too when kind is "plaintext" ("wrapped" omits it).
 */
int	 tdata_datakey(struct mount *, struct request *, struct response *,
	    const char *kind, const char *name);

/* hash[/<algo>]: algo from the URL or NULL (then the body's or sha2-256). */
int	 tdata_hash(struct request *, struct response *, const char *algo);

/* random[/<a>[/<b>]]: a is a source or a byte count, b a byte count. */
int	 tdata_random(struct request *, struct response *, const char *a,
	    const char *b);

#endif /* COFFER_ENGINES_TRANSIT_DATA_H */
