/*
 * cmd_rekey.c -- operator rekey: new unseal keys from a quorum of the
 * current ones, with the optional verification round (cli.md §8.2).
 *
 * The recovery target's paths are sent as vault sends them; coffer
 * serves only the barrier.  PGP-encrypted shares are not offered by
 * coffer: -pgp-keys is refused before any request.  The keys are
 * collected and sent by keyshares.c.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "format.h"
#include "keyshares.h"
#include "request.h"
#include "util.h"

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
			    "nonce", fmt_jstr(d, "nonce"), "started",
			    json_is_true(json_object_get(d, "started")),
			    "t", json_integer_value(json_object_get(d, "t")),
			    "n", json_integer_value(json_object_get(d, "n")),
			    "progress", json_integer_value(json_object_get(d,
			    "progress")));
		else {
			doc = json_pack("{s:s,s:b,s:I,s:I,s:I,s:I,s:O,s:b,"
			    "s:b}", "nonce", fmt_jstr(d, "nonce"), "started",
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
			if (doc != NULL && *fmt_jstr(d, "verification_nonce") !=
			    '\0')
				json_object_set_new(doc, "verification_nonce",
				    json_string(fmt_jstr(d,
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
		fmt_row(rows, "Verification Nonce", fmt_jstr(d, "nonce"));
		snprintf(buf, sizeof(buf), "%lld/%lld",
		    (long long)json_integer_value(json_object_get(d,
		    "progress")),
		    (long long)json_integer_value(json_object_get(d, "t")));
		fmt_row(rows, "Verification Progress", buf);
	} else {
		fmt_row(rows, "Nonce", fmt_jstr(d, "nonce"));
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
			if (*fmt_jstr(d, "verification_nonce") != '\0')
				fmt_row(rows, "Verification Nonce", fmt_jstr(d,
				    "verification_nonce"));
		}
	}
	fmt_table(rows, 1);
	json_decref(rows);
	return 0;
}

/* GET the (verification) status into *st (owned); 0, or 2 shown. */
static int
rk_get(struct cli *cli, struct client *c, const char *target, int verify,
    json_t **st)
{
	return request_data(cli, &c, rk_path(target, verify ? "verify" :
	    "init"), st, "Error reading rekey status");
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
	printf("\nOperation nonce: %s\n", fmt_jstr(d, "nonce"));
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
		if ((rc = rk_get(cli, c, target, 1, &vst)) == 0)
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
	const char	*pgp = NULL;
	long long	 n = 5, t = 3;
	int		 init = 0, cancel = 0, status = 0, verify = 0;
	int		 backup = 0, bret = 0, bdel = 0;
	struct flag	 fl[] = { KEYSHARES_FLAGS(f, init, cancel, status),
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
	json_t		*st = NULL, *s = NULL, *body = NULL, *d;
	char		*line;
	char		 tg[16];
	int		 first, rc = 1;

	if (cli_parse(cli, fl, 1, argc, argv, &first) == -1 ||
	    cli_nargs_range(argc - first, 0, 1, "0-1") != 0)
		return 1;
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
		if (request(cli, &c, bdel ? "DELETE" : "GET", rk_path(target,
		    "backup"), NULL, NULL, 0, &s, "Error %s backed-up unseal "
		    "keys", bdel ? "deleting" : "retrieving") != 0)
			goto out;
		if (bdel) {
			printf("Success! Delete stored keys (if they "
			    "existed)\n");
			rc = 0;
		} else
			rc = s != NULL ? fmt_secret(cli, s) : 2;
		goto out;
	}
	if (cancel) {
		if (request(cli, &c, "DELETE", rk_path(target, verify ?
		    "verify" : "init"), NULL, NULL, 0, &s,
		    "Error canceling rekey") != 0)
			goto out;
		printf("Success! Canceled rekeying (if it was started)\n");
		rc = 0;
		goto out;
	}
	if (init) {
		body = json_pack("{s:I,s:I,s:i,s:n,s:b,s:b}", "secret_shares",
		    (json_int_t)n, "secret_threshold", (json_int_t)t,
		    "stored_shares", 0, "pgp_keys", "backup", backup,
		    "require_verification", verify);
		if (request(cli, &c, "PUT", rk_path(target, "init"), NULL,
		    body, 0, &s, "Error initializing rekey") != 0)
			goto out;
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
	if ((rc = rk_get(cli, c, target, verify, &st)) != 0)
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
	if ((rc = keyshares_submit(c, argc - first == 1 ? argv[first] : NULL,
	    nonce, st, "Rekey operation nonce", strcmp(target, "barrier") ==
	    0 ? "Unseal Key (will be hidden): " :
	    "Recovery Key (will be hidden): ", rk_path(target, verify ?
	    "verify" : "update"), &s)) != 0)
		goto out;
	d = json_object_get(s, "data");
	if (!json_is_true(json_object_get(d, "complete"))) {
		json_decref(st);
		if ((rc = rk_get(cli, c, target, verify, &st)) == 0)
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
	client_free(c);
	return rc;
}
