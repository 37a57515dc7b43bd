/*
 * cmd_root.c -- operator generate-root: a new root token from a quorum
 * of unseal keys.
 *
 * The token comes back encoded: unpadded base64 of token XOR OTP.
 * -decode with the OTP gives it back; -generate-otp makes an OTP of
 * the length the server asks for (cli.md §8.2).  As a coffer
 * extension, "-" may carry several keys, one a line, submitted in turn
 * until the generation completes (one line is vault's behaviour).
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
#include "prompt.h"
#include "util.h"

static int	 print_status(struct cli *, json_t *, int);
static int	 b64decode(const char *, unsigned char **, size_t *);
static int	 gen_otp(struct cli *, struct client *);
static int	 decode(struct cli *, struct client *, const char *,
		    const char *);
static int	 get_status(struct client *, json_t **);
static json_t	*status_doc(json_t *);

#define ATTEMPT	"sys/generate-root/attempt"

static const char *
jstr(json_t *o, const char *k)
{
	const char	*s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

/* GET the attempt; the status object (owned) or -1 with the error shown. */
static int
get_status(struct client *c, json_t **st)
{
	json_t	*s = NULL;
	char	*err = NULL;

	*st = NULL;
	if (client_logical(c, "GET", ATTEMPT, NULL, NULL, 0, &s,
	    &err) == -1) {
		cli_error("Error getting root generation status: %s", err);
		wipefree(err);
		return -1;
	}
	*st = json_incref(json_object_get(s, "data"));
	json_decref(s);
	if (!json_is_object(*st)) {
		json_decref(*st);
		*st = json_object();
	}
	return 0;
}

/* The status in vault's typed order. */
static json_t *
status_doc(json_t *d)
{
	return json_pack("{s:s,s:b,s:I,s:I,s:b,s:s,s:s,s:s,s:s,s:I}",
	    "nonce", jstr(d, "nonce"),
	    "started", json_is_true(json_object_get(d, "started")),
	    "progress", json_integer_value(json_object_get(d, "progress")),
	    "required", json_integer_value(json_object_get(d, "required")),
	    "complete", json_is_true(json_object_get(d, "complete")),
	    "encoded_token", jstr(d, "encoded_token"),
	    "encoded_root_token", jstr(d, "encoded_root_token"),
	    "pgp_fingerprint", jstr(d, "pgp_fingerprint"),
	    "otp", jstr(d, "otp"),
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
	if (otpwarn && *jstr(d, "otp") != '\0') {
		cli_para_warn("A One-Time-Password has been generated for you "
		    "and is shown in the OTP field. You will need this value "
		    "to decode the resulting root token, so keep it safe.");
		putchar('\n');
	}
	rows = json_array();
	fmt_row(rows, "Nonce", jstr(d, "nonce"));
	fmt_row(rows, "Started", json_is_true(json_object_get(d, "started")) ?
	    "true" : "false");
	snprintf(buf, sizeof(buf), "%lld/%lld",
	    (long long)json_integer_value(json_object_get(d, "progress")),
	    (long long)json_integer_value(json_object_get(d, "required")));
	fmt_row(rows, "Progress", buf);
	fmt_row(rows, "Complete", json_is_true(json_object_get(d,
	    "complete")) ? "true" : "false");
	if (*jstr(d, "pgp_fingerprint") != '\0')
		fmt_row(rows, "PGP Fingerprint", jstr(d, "pgp_fingerprint"));
	if (*jstr(d, "encoded_token") != '\0')
		fmt_row(rows, "Encoded Token", jstr(d, "encoded_token"));
	else if (*jstr(d, "encoded_root_token") != '\0')
		fmt_row(rows, "Encoded Root Token",
		    jstr(d, "encoded_root_token"));
	if (*jstr(d, "otp") != '\0')
		fmt_row(rows, "OTP", jstr(d, "otp"));
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

	if (get_status(c, &st) == -1)
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
	if (get_status(c, &st) == -1) {
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
	const char	*pgp = NULL, *why;
	int		 init = 0, cancel = 0, status = 0, genotp = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "init", FLAG_BOOL, &init, 0 },
		{ "cancel", FLAG_BOOL, &cancel, 0 },
		{ "status", FLAG_BOOL, &status, 0 },
		{ "generate-otp", FLAG_BOOL, &genotp, 0 },
		{ "decode", FLAG_STR, &dec, 0 },
		{ "otp", FLAG_STR, &otp, 0 },
		{ "nonce", FLAG_STR, &nonce, 0 },
		{ "pgp-key", FLAG_STR, &pgp, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 in = { 0 };
	json_t		*st = NULL, *s = NULL, *body = NULL;
	char		*err = NULL, *key = NULL, *line, *save = NULL, buf[256];
	int		 first, rc = 1, sent = 0;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	if (argc - first > 1) {
		cli_error("Too many arguments (expected 0-1, got %d)",
		    argc - first);
		return 1;
	}
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
		if (client_logical(c, "DELETE", ATTEMPT, NULL, NULL, 0, &s,
		    &err) == -1) {
			cli_error("Error canceling root token generation: %s",
			    err);
			goto out;
		}
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
		if (client_logical(c, "PUT", ATTEMPT, NULL, body, 0, &s,
		    &err) == -1) {
			cli_error("Error initializing root generation: %s",
			    err);
			goto out;
		}
		rc = print_status(cli, json_object_get(s, "data"), 1);
		goto out;
	}
	if (get_status(c, &st) == -1)
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
	if (argc - first == 1) {
		if (nonce == NULL || *nonce == '\0') {
			cli_error("Missing nonce value: specify it via the "
			    "-nonce flag");
			rc = 1;
			goto out;
		}
		if (strcmp(argv[first], "-") == 0) {
			if (read_all_fd(STDIN_FILENO, &in) == -1) {
				cli_error("Failed to read from stdin: %s",
				    strerror(errno));
				rc = 1;
				goto out;
			}
		} else
			sbuf_puts(&in, argv[first]);
	} else {
		nonce = jstr(st, "nonce");
		printf("Operation nonce: %s\n", nonce);
		fflush(stdout);
		if (prompt_hidden(stdout, "Unseal Key (will be hidden): ",
		    &key, &why) == -1) {
			cli_para(stderr, "An error occurred attempting to ask "
			    "for the unseal key. The raw error message is shown "
			    "below, but usually this is because you attempted "
			    "to pipe a value into the command or you are "
			    "executing outside of a terminal (tty). If you "
			    "want to pipe the value, pass \"-\" as the argument "
			    "to read from stdin. The raw error was:");
			cli_error("\n%s", why);
			rc = 1;
			goto out;
		}
		sbuf_puts(&in, key);
	}
	for (line = strtok_r(in.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0')
			continue;
		json_decref(body);
		json_decref(s);
		s = NULL;
		body = json_pack("{s:s,s:s}", "key", line, "nonce", nonce);
		if (client_logical(c, "PUT", "sys/generate-root/update", NULL,
		    body, 0, &s, &err) == -1) {
			cli_error("Error posting unseal key: %s", err);
			goto out;
		}
		sent++;
		if (json_is_true(json_object_get(json_object_get(s, "data"),
		    "complete")))
			break;
	}
	if (sent == 0) {
		cli_error("Error posting unseal key: no unseal key given");
		rc = 1;
		goto out;
	}
	rc = print_status(cli, json_object_get(s, "data"), 0);
 out:
	json_decref(st);
	json_decref(s);
	json_decref(body);
	wipefree(err);
	wipefree(key);
	sbuf_free(&in);
	client_free(c);
	return rc;
}

/*
 * operator rekey: new unseal keys from a quorum of the current ones
 * (cli.md §8.2).  The recovery target's paths are sent as vault sends
 * them; coffer serves only the barrier.  PGP-encrypted shares are not
 * offered by coffer: -pgp-keys is refused before any request.
 */
static const char *
rk_path(const char *target, const char *what)
{
	static char	 buf[64];

	snprintf(buf, sizeof(buf), "sys/%s/%s", strcmp(target, "barrier") ==
	    0 ? "rekey" : "rekey-recovery-key", what);
	return buf;
}

static void
rk_rowi(json_t *rows, const char *k, json_t *d, const char *f)
{
	char	 buf[32];

	snprintf(buf, sizeof(buf), "%lld",
	    (long long)json_integer_value(json_object_get(d, f)));
	fmt_row(rows, k, buf);
}

/* The status (or, verify, the verification status) as vault shows it. */
static int
rk_status(struct cli *cli, json_t *d, int verify)
{
	json_t		*rows, *doc;
	char		 buf[96];
	long long	 p, r;
	int		 rc;

	if (strcmp(cli->format, "table") != 0) {
		if (verify)
			doc = json_pack("{s:s,s:b,s:I,s:I,s:I}",
			    "nonce", jstr(d, "nonce"), "started",
			    json_is_true(json_object_get(d, "started")),
			    "t", json_integer_value(json_object_get(d, "t")),
			    "n", json_integer_value(json_object_get(d, "n")),
			    "progress", json_integer_value(json_object_get(d,
			    "progress")));
		else {
			doc = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:O,s:b,"
			    "s:b}", "nonce", jstr(d, "nonce"), "started",
			    json_is_true(json_object_get(d, "started")),
			    "t", json_integer_value(json_object_get(d, "t")),
			    "n", json_integer_value(json_object_get(d, "n")),
			    "progress", json_integer_value(json_object_get(d,
			    "progress")),
			    "required", json_integer_value(json_object_get(d,
			    "required")),
			    "pgp_fingerprints", json_is_array(json_object_get(
			    d, "pgp_fingerprints")) ? json_object_get(d,
			    "pgp_fingerprints") : json_null(),
			    "backup", json_is_true(json_object_get(d,
			    "backup")),
			    "verification_required", json_is_true(
			    json_object_get(d, "verification_required")));
			if (doc != NULL && *jstr(d, "verification_nonce") !=
			    '\0')
				json_object_set_new(doc, "verification_nonce",
				    json_string(jstr(d,
				    "verification_nonce")));
		}
		rc = doc != NULL ? fmt_doc(cli, doc) : 1;
		json_decref(doc);
		return rc;
	}
	rows = json_array();
	fmt_row(rows, "Key", "Value");
	if (verify) {
		fmt_row(rows, "Started", json_is_true(json_object_get(d,
		    "started")) ? "true" : "false");
		rk_rowi(rows, "New Shares", d, "n");
		rk_rowi(rows, "New Threshold", d, "t");
		fmt_row(rows, "Verification Nonce", jstr(d, "nonce"));
		snprintf(buf, sizeof(buf), "%lld/%lld",
		    (long long)json_integer_value(json_object_get(d,
		    "progress")),
		    (long long)json_integer_value(json_object_get(d, "t")));
		fmt_row(rows, "Verification Progress", buf);
	} else {
		fmt_row(rows, "Nonce", jstr(d, "nonce"));
		fmt_row(rows, "Started", json_is_true(json_object_get(d,
		    "started")) ? "true" : "false");
		if (json_is_true(json_object_get(d, "started"))) {
			p = json_integer_value(json_object_get(d, "progress"));
			r = json_integer_value(json_object_get(d, "required"));
			snprintf(buf, sizeof(buf), "%lld/%lld%s", p, r,
			    p == r ? " (verification in progress)" : "");
			fmt_row(rows, "Rekey Progress", buf);
			rk_rowi(rows, "New Shares", d, "n");
			rk_rowi(rows, "New Threshold", d, "t");
			fmt_row(rows, "Verification Required", json_is_true(
			    json_object_get(d, "verification_required")) ?
			    "true" : "false");
			if (*jstr(d, "verification_nonce") != '\0')
				fmt_row(rows, "Verification Nonce", jstr(d,
				    "verification_nonce"));
		}
	}
	fmt_table(rows, 1);
	json_decref(rows);
	return 0;
}

/* GET the (verification) status into *st (owned); 0, or 2 shown. */
static int
rk_get(struct client *c, const char *target, int verify, json_t **st)
{
	json_t	*s = NULL;
	char	*err = NULL;

	*st = NULL;
	if (client_logical(c, "GET", rk_path(target, verify ? "verify" :
	    "init"), NULL, NULL, 0, &s, &err) == -1) {
		cli_error("Error reading rekey status: %s", err);
		wipefree(err);
		return 2;
	}
	*st = json_incref(json_object_get(s, "data"));
	json_decref(s);
	if (!json_is_object(*st)) {
		json_decref(*st);
		*st = json_object();
	}
	return 0;
}

/* The new shares once the quorum is in (table), or the raw answer. */
static int
rk_keys(struct cli *cli, struct client *c, const char *target, json_t *st,
    json_t *d)
{
	json_t		*keys, *b64, *e, *vst = NULL, *doc;
	char		 p[640];
	const char	*ks = strcmp(target, "barrier") == 0 ? "key" :
			    "recovery key";
	size_t		 i;
	int		 rc;

	if (strcmp(cli->format, "table") != 0) {
		doc = json_deep_copy(d);
		if (doc == NULL)
			return 1;
		if (json_object_get(doc, "pgp_fingerprints") == NULL)
			json_object_set_new(doc, "pgp_fingerprints",
			    json_null());
		rc = fmt_doc(cli, doc);
		json_decref(doc);
		return rc;
	}
	putchar('\n');
	keys = json_object_get(d, "keys");
	b64 = json_object_get(d, "keys_base64");
	json_array_foreach(keys, i, e)
		printf("Key %zu: %s\n", i + 1, json_string_value(
		    json_array_size(b64) == json_array_size(keys) ?
		    json_array_get(b64, i) : e));
	printf("\nOperation nonce: %s\n", jstr(d, "nonce"));
	if (json_is_true(json_object_get(d, "verification_required"))) {
		putchar('\n');
		snprintf(p, sizeof(p), "Vault has created a new %s, split into "
		    "%lld %ss. The %ss have been printed above. When you are "
		    "ready to proceed, use \"coffer operator rekey -verify\" "
		    "and supply at least %lld of the new %ss. Until then the "
		    "new %ss are not yet valid: they become valid only when "
		    "the verification completes.", ks, (long long)
		    json_integer_value(json_object_get(st, "n")), ks, ks,
		    (long long)json_integer_value(json_object_get(st, "t")),
		    ks, ks);
		cli_para_warn(p);
		putchar('\n');
		if ((rc = rk_get(c, target, 1, &vst)) == 0)
			rc = rk_status(cli, vst, 1);
		json_decref(vst);
		return rc;
	}
	putchar('\n');
	snprintf(p, sizeof(p), "Vault rekeyed with %lld key shares and a key "
	    "threshold of %lld. Please securely distribute the key shares "
	    "printed above. When Vault is re-sealed, restarted, or stopped, "
	    "you must supply at least %lld of these keys to unseal it before "
	    "it can start servicing requests.",
	    (long long)json_integer_value(json_object_get(st, "n")),
	    (long long)json_integer_value(json_object_get(st, "t")),
	    (long long)json_integer_value(json_object_get(st, "t")));
	cli_para(stdout, p);
	return 0;
}

int
cmd_rekey(struct cli *cli, int argc, char **argv)
{
	const char	*f = NULL, *nonce = NULL, *target = "barrier";
	const char	*pgp = NULL, *why, *upd;
	long long	 n = 5, t = 3;
	int		 init = 0, cancel = 0, status = 0, verify = 0;
	int		 backup = 0, bret = 0, bdel = 0;
	struct flag	 fl[] = { { "format", FLAG_STR, &f, 0 },
		{ "init", FLAG_BOOL, &init, 0 },
		{ "cancel", FLAG_BOOL, &cancel, 0 },
		{ "status", FLAG_BOOL, &status, 0 },
		{ "key-shares", FLAG_INT, &n, 0 },
		{ "n", FLAG_INT, &n, 0 },
		{ "key-threshold", FLAG_INT, &t, 0 },
		{ "t", FLAG_INT, &t, 0 },
		{ "nonce", FLAG_STR, &nonce, 0 },
		{ "target", FLAG_STR, &target, 0 },
		{ "verify", FLAG_BOOL, &verify, 0 },
		{ "pgp-keys", FLAG_STR, &pgp, 0 },
		{ "backup", FLAG_BOOL, &backup, 0 },
		{ "backup-retrieve", FLAG_BOOL, &bret, 0 },
		{ "backup-delete", FLAG_BOOL, &bdel, 0 },
		{ NULL, 0, NULL, 0 } };
	struct client	*c = NULL;
	struct sbuf	 in = { 0 };
	json_t		*st = NULL, *s = NULL, *body = NULL, *d;
	char		*err = NULL, *key = NULL, *line, *save = NULL;
	char		 tg[16];
	int		 first, rc = 1, sent = 0;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1)
		return 1;
	if (argc - first > 1) {
		cli_error("Too many arguments (expected 0-1, got %d)",
		    argc - first);
		return 1;
	}
	snprintf(tg, sizeof(tg), "%.15s", target);
	for (line = trim(tg); *line != '\0'; line++)
		*line = (char)(*line >= 'A' && *line <= 'Z' ? *line + 32 :
		    *line);
	line = trim(tg);
	if (strcmp(line, "barrier") == 0)
		target = "barrier";
	else if (strcmp(line, "recovery") == 0 || strcmp(line, "hsm") == 0)
		target = "recovery";
	else {
		cli_error("Unknown target: %s", target);
		return 1;
	}
	if (pgp != NULL && *pgp != '\0') {
		cli_error("Error initializing rekey: -pgp-keys is not "
		    "supported by coffer; omit it to receive the new shares "
		    "in clear");
		return 1;
	}
	rc = 2;
	if ((c = cli_client(cli, 0)) == NULL)
		goto out;
	if (bdel || bret) {
		if (client_logical(c, bdel ? "DELETE" : "GET", rk_path(target,
		    "backup"), NULL, NULL, 0, &s, &err) == -1) {
			cli_error("Error %s backed-up unseal keys: %s", bdel ?
			    "deleting" : "retrieving", err);
			goto out;
		}
		if (bdel) {
			printf("Success! Delete stored keys (if they "
			    "existed)\n");
			rc = 0;
		} else
			rc = s != NULL ? fmt_secret(cli, s) : 2;
		goto out;
	}
	if (cancel) {
		if (client_logical(c, "DELETE", rk_path(target, verify ?
		    "verify" : "init"), NULL, NULL, 0, &s, &err) == -1) {
			cli_error("Error canceling rekey: %s", err);
			goto out;
		}
		printf("Success! Canceled rekeying (if it was started)\n");
		rc = 0;
		goto out;
	}
	if (init) {
		body = json_pack("{s:I,s:I,s:i,s:n,s:b,s:b}", "secret_shares",
		    (json_int_t)n, "secret_threshold", (json_int_t)t,
		    "stored_shares", 0, "pgp_keys", "backup", backup,
		    "require_verification", verify);
		if (client_logical(c, "PUT", rk_path(target, "init"), NULL,
		    body, 0, &s, &err) == -1) {
			cli_error("Error initializing rekey: %s", err);
			goto out;
		}
		if (strcmp(cli->format, "table") == 0) {
			cli_para_warn("WARNING! If you lose the keys after "
			    "they are returned, there is no recovery. Keep "
			    "the new unseal keys safe as soon as they are "
			    "printed: coffer does not encrypt them with PGP "
			    "keys nor keep a backup of them.");
			putchar('\n');
		}
		rc = rk_status(cli, json_object_get(s, "data"), 0);
		goto out;
	}
	if ((rc = rk_get(c, target, verify, &st)) != 0)
		goto out;
	if (status) {
		rc = rk_status(cli, st, verify);
		goto out;
	}
	rc = 1;
	if (!json_is_true(json_object_get(st, "started"))) {
		cli_para(stderr, verify ? "No rekey verification is in "
		    "progress. Start a rekey with \"coffer operator rekey "
		    "-init -verify\" and provide the current keys first." :
		    "No rekey is in progress. Start a rekey process by running "
		    "\"coffer operator rekey -init\".");
		goto out;
	}
	if (argc - first == 1) {
		if (nonce == NULL || *nonce == '\0') {
			cli_error("Missing nonce value: specify it via the "
			    "-nonce flag");
			goto out;
		}
		if (strcmp(argv[first], "-") == 0) {
			if (read_all_fd(STDIN_FILENO, &in) == -1) {
				cli_error("Failed to read from stdin: %s",
				    strerror(errno));
				goto out;
			}
		} else
			sbuf_puts(&in, argv[first]);
	} else {
		nonce = jstr(st, "nonce");
		printf("Rekey operation nonce: %s\n", nonce);
		fflush(stdout);
		if (prompt_hidden(stdout, strcmp(target, "barrier") == 0 ?
		    "Unseal Key (will be hidden): " :
		    "Recovery Key (will be hidden): ", &key, &why) == -1) {
			cli_para(stderr, "An error occurred attempting to ask "
			    "for the unseal key. The raw error message is shown "
			    "below, but usually this is because you attempted "
			    "to pipe a value into the command or you are "
			    "executing outside of a terminal (tty). If you "
			    "want to pipe the value, pass \"-\" as the argument "
			    "to read from stdin. The raw error was:");
			cli_error("\n%s", why);
			goto out;
		}
		sbuf_puts(&in, key);
	}
	upd = rk_path(target, verify ? "verify" : "update");
	for (line = strtok_r(in.p, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		line = trim(line);
		if (*line == '\0')
			continue;
		json_decref(body);
		json_decref(s);
		s = NULL;
		body = json_pack("{s:s,s:s}", "key", line, "nonce", nonce);
		if (client_logical(c, "PUT", upd, NULL, body, 0, &s,
		    &err) == -1) {
			cli_error("Error posting unseal key: %s", err);
			rc = 2;
			goto out;
		}
		sent++;
		if (json_is_true(json_object_get(json_object_get(s, "data"),
		    "complete")))
			break;
	}
	if (sent == 0) {
		cli_error("Error posting unseal key: no unseal key given");
		goto out;
	}
	d = json_object_get(s, "data");
	if (!json_is_true(json_object_get(d, "complete"))) {
		json_decref(st);
		if ((rc = rk_get(c, target, verify, &st)) == 0)
			rc = rk_status(cli, st, verify);
	} else if (!verify)
		rc = rk_keys(cli, c, target, st, d);
	else if (strcmp(cli->format, "table") != 0)
		rc = fmt_doc(cli, d);
	else {
		cli_para(stdout, "Rekey verification successful. The rekey "
		    "operation is complete and the new keys are now active.");
		rc = 0;
	}
 out:
	json_decref(st);
	json_decref(s);
	json_decref(body);
	wipefree(err);
	wipefree(key);
	sbuf_free(&in);
	client_free(c);
	return rc;
}
