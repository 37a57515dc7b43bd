/*
 * cmd_genroot.c -- operator generate-root: a new root token from a quorum
 * of unseal keys.
 *
 * The token comes back encoded: unpadded base64 of token XOR OTP.
 * -decode with the OTP gives it back; -generate-otp makes an OTP of
 * the length the server asks for (cli.md §8.2).  The keys are
 * collected and sent by keyshares.c; operator rekey is cmd_rekey.c.
 */
#include "config.h"

#include <sys/random.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "keyshares.h"
#include "request.h"
#include "util.h"

static int	 print_status(struct cli *, json_t *, int);
static int	 b64decode(const char *, unsigned char **, size_t *);
static int	 gen_otp(struct cli *, struct client *);
static int	 decode(struct cli *, struct client *, const char *,
		    const char *);
static int	 get_status(struct cli *, struct client *, json_t **);
static json_t	*status_doc(json_t *);

#define ATTEMPT	"sys/generate-root/attempt"

/* GET the attempt; the status object (owned) or 2 with the error shown. */
static int
get_status(struct cli *cli, struct client *c, json_t **st)
{
	return request_data(cli, &c, ATTEMPT, st,
	    "Error getting root generation status");
}

/* The status in vault's typed order. */
static json_t *
status_doc(json_t *d)
{
	return json_pack("{s:s,s:b,s:I,s:I,s:b,s:s,s:s,s:s,s:s,s:I}",
	    "nonce", fmt_jstr(d, "nonce"),
	    "started", json_is_true(json_object_get(d, "started")),
	    "progress", json_integer_value(json_object_get(d, "progress")),
	    "required", json_integer_value(json_object_get(d, "required")),
	    "complete", json_is_true(json_object_get(d, "complete")),
	    "encoded_token", fmt_jstr(d, "encoded_token"),
	    "encoded_root_token", fmt_jstr(d, "encoded_root_token"),
	    "pgp_fingerprint", fmt_jstr(d, "pgp_fingerprint"),
	    "otp", fmt_jstr(d, "otp"),
	    "otp_length", json_integer_value(json_object_get(d,
	    "otp_length")));
}

/* Table without a header, or the JSON/YAML document. */
static int
print_status(struct cli *cli, json_t *d, int otpwarn)
{
	json_t	*rows, *doc;
	char	 buf[64];
	int	 rc;

	if (strcmp(cli->format, "table") != 0) {
		doc = status_doc(d);
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		return rc;
	}
	if (otpwarn && *fmt_jstr(d, "otp") != '\0') {
		cli_para_warn("A One-Time-Password has been generated for you "
		    "and is shown in the OTP field. You will need this value "
		    "to decode the resulting root token, so keep it safe.");
		putchar('\n');
	}
	rows = json_array();
	fmt_row(rows, "Nonce", fmt_jstr(d, "nonce"));
	fmt_row(rows, "Started", json_is_true(json_object_get(d, "started")) ?
	    "true" : "false");
	snprintf(buf, sizeof(buf), "%lld/%lld",
	    (long long)json_integer_value(json_object_get(d, "progress")),
	    (long long)json_integer_value(json_object_get(d, "required")));
	fmt_row(rows, "Progress", buf);
	fmt_row(rows, "Complete", json_is_true(json_object_get(d,
	    "complete")) ? "true" : "false");
	if (*fmt_jstr(d, "pgp_fingerprint") != '\0')
		fmt_row(rows, "PGP Fingerprint", fmt_jstr(d, "pgp_fingerprint"));
	if (*fmt_jstr(d, "encoded_token") != '\0')
		fmt_row(rows, "Encoded Token", fmt_jstr(d, "encoded_token"));
	else if (*fmt_jstr(d, "encoded_root_token") != '\0')
		fmt_row(rows, "Encoded Root Token",
		    fmt_jstr(d, "encoded_root_token"));
	if (*fmt_jstr(d, "otp") != '\0')
		fmt_row(rows, "OTP", fmt_jstr(d, "otp"));
	if (json_integer_value(json_object_get(d, "otp_length")) != 0) {
		snprintf(buf, sizeof(buf), "%lld", (long long)
		    json_integer_value(json_object_get(d, "otp_length")));
		fmt_row(rows, "OTP Length", buf);
	}
	fmt_table(rows, 0);
	json_decref(rows);
	return 0;
}

/* Standard base64 without padding (a trailing "=" is tolerated). */
static int
b64decode(const char *in, unsigned char **out, size_t *len)
{
	static const char	 al[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz0123456789+/";
	unsigned char		*o;
	const char		*p;
	unsigned long		 acc = 0;
	size_t			 n = 0, bits = 0, i;

	o = xmalloc(strlen(in) + 1);
	for (i = 0; in[i] != '\0'; i++) {
		if (in[i] == '\r' || in[i] == '\n')
			continue;
		if (in[i] == '=') {
			while (in[i] == '=' || in[i] == '\r' || in[i] == '\n')
				i++;
			if (in[i] != '\0')
				goto bad;
			break;
		}
		if ((p = strchr(al, in[i])) == NULL)
			goto bad;
		acc = (acc << 6) | (unsigned long)(p - al);
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			o[n++] = (unsigned char)(acc >> bits);
			acc &= (1UL << bits) - 1;
		}
	}
	if (bits >= 6)
		goto bad;
	*out = o;
	*len = n;
	return 0;
 bad:
	wipe(o, strlen(in) + 1);
	free(o);
	return -1;
}

static int
gen_otp(struct cli *cli, struct client *c)
{
	static const char	 al[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	    "abcdefghijklmnopqrstuvwxyz";
	json_t			*st = NULL, *doc;
	unsigned char		 b;
	char			*otp = NULL;
	long long		 len, i;
	int			 rc = 2;

	if (get_status(cli, c, &st) != 0)
		goto out;
	len = json_integer_value(json_object_get(st, "otp_length"));
	if (len <= 0 || len > 1024) {
		cli_error("Error generating OTP: the server asks for an OTP "
		    "length of %lld", len);
		goto out;
	}
	otp = xmalloc((size_t)len + 1);
	for (i = 0; i < len; ) {
		if (getrandom(&b, 1, 0) != 1) {
			cli_error("Error generating OTP: %s", strerror(errno));
			goto out;
		}
		if (b >= 248)		/* 248 = 4 * 62: uniform */
			continue;
		otp[i++] = al[b % 62];
	}
	otp[len] = '\0';
	if (strcmp(cli->format, "table") == 0) {
		fputs(otp, stdout);
		if (cli->color)
			putchar('\n');
		rc = 0;
	} else {
		doc = json_pack("{s:s,s:I}", "otp", otp, "otp_length",
		    (json_int_t)len);
		rc = fmt_doc(cli, doc);
		json_decref(doc);
	}
 out:
	json_decref(st);
	wipefree(otp);
	return rc;
}

static int
decode(struct cli *cli, struct client *c, const char *enc, const char *otp)
{
	struct sbuf	 in = { 0 };
	unsigned char	*x = NULL;
	json_t		*st = NULL, *doc;
	char		*tok = NULL, *e;
	size_t		 n = 0, i;
	int		 rc = 1;

	if (strcmp(enc, "-") == 0) {
		if (read_all_fd(STDIN_FILENO, &in) == -1) {
			cli_error("Failed to read from stdin: %s",
			    strerror(errno));
			goto out;
		}
		e = trim(in.p != NULL ? in.p : (char *)"");
	} else
		e = (char *)enc;
	if (*e == '\0') {
		cli_error("Missing encoded value: use -decode=<string> to "
		    "supply it");
		goto out;
	}
	if (otp == NULL || *otp == '\0') {
		cli_error("Missing otp: use -otp to supply it");
		goto out;
	}
	if (get_status(cli, c, &st) != 0) {
		rc = 2;
		goto out;
	}
	if (b64decode(e, &x, &n) == -1) {
		cli_error("Error decoding root token: error decoding base64'd "
		    "token: illegal base64 data");
		goto out;
	}
	if (n != strlen(otp)) {
		cli_error("Error decoding root token: error xoring token: "
		    "length of byte slices is not equivalent: %zu != %zu", n,
		    strlen(otp));
		goto out;
	}
	tok = xmalloc(n + 1);
	for (i = 0; i < n; i++)
		tok[i] = (char)(x[i] ^ (unsigned char)otp[i]);
	tok[n] = '\0';
	if (strcmp(cli->format, "table") == 0) {
		fputs(tok, stdout);
		if (cli->color)
			putchar('\n');
		rc = 0;
	} else {
		doc = json_pack("{s:s}", "token", tok);
		rc = doc != NULL ? fmt_doc(cli, doc) : 1;
		json_decref(doc);
	}
 out:
	if (x != NULL) {
		wipe(x, n);
		free(x);
	}
	wipefree(tok);
	sbuf_free(&in);
	json_decref(st);
	return rc;
}

int
cmd_genroot(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *dec = NULL, *otp = NULL, *nonce = NULL;
	const char	*pgp = NULL;
	int		 init = 0, cancel = 0, status = 0, genotp = 0;
	struct flag	 fl[] = { KEYSHARES_FLAGS(f, init, cancel, status),
		{ "generate-otp", FLAG_BOOL, &genotp, 0 },
		{ "decode", FLAG_STR, &dec, 0 },
		{ "otp", FLAG_STR, &otp, 0 },
		{ "nonce", FLAG_STR, &nonce, 0 },
		{ "pgp-key", FLAG_STR, &pgp, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	json_t		*st = NULL, *s = NULL, *body = NULL;
	char		 buf[256];
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 0, 1, "0-1") != 0)
		return 1;
	rc = 2;
	if ((c = cli_client(cli, 0)) == NULL)
		goto out;
	if (genotp) {
		rc = gen_otp(cli, c);
		goto out;
	}
	if (fl[5].set) {
		rc = decode(cli, c, dec, otp);
		goto out;
	}
	if (cancel) {
		if (request(cli, &c, "DELETE", ATTEMPT, NULL, NULL, 0, &s,
		    "Error canceling root token generation") != 0)
			goto out;
		printf("Success! Root token generation canceled (if it was "
		    "started)\n");
		rc = 0;
		goto out;
	}
	if (init) {
		if (otp != NULL && *otp != '\0' && pgp != NULL &&
		    *pgp != '\0') {
			cli_error("Error initializing: cannot specify both "
			    "-otp and -pgp-key");
			rc = 1;
			goto out;
		}
		body = json_pack("{s:s,s:s}", "otp", otp != NULL ? otp : "",
		    "pgp_key", pgp != NULL ? pgp : "");
		if (request(cli, &c, "PUT", ATTEMPT, NULL, body, 0, &s,
		    "Error initializing root generation") != 0)
			goto out;
		rc = print_status(cli, json_object_get(s, "data"), 1);
		goto out;
	}
	if (get_status(cli, c, &st) != 0)
		goto out;
	if (status) {
		rc = print_status(cli, st, 0);
		goto out;
	}
	if (!json_is_true(json_object_get(st, "started"))) {
		cli_para(stderr, "No root generation is in progress. Start a "
		    "root generation by running \"coffer operator "
		    "generate-root -init\".");
		snprintf(buf, sizeof(buf), "If starting root generation using "
		    "the OTP method and generating your own OTP, the length of "
		    "the OTP string needs to be %lld characters in length.",
		    (long long)json_integer_value(json_object_get(st,
		    "otp_length")));
		cli_para_warn(buf);
		rc = 1;
		goto out;
	}
	if ((rc = keyshares_submit(c, argc - first == 1 ? argv[first] : NULL,
	    nonce, st, "Operation nonce", "Unseal Key (will be hidden): ",
	    "sys/generate-root/update", &s)) == 0)
		rc = print_status(cli, json_object_get(s, "data"), 0);
 out:
	json_decref(st);
	json_decref(s);
	json_decref(body);
	client_free(c);
	return rc;
}

