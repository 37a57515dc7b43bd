/*
 * test_req.c -- typed request fields, durations, UUIDs and timestamps.
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <limits.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "buf.h"
#include "err.h"
#include "jsonutil.h"
#include "req.h"
#include "timeutil.h"
#include "uuid4.h"

static void
test_duration(void **state)
{
	static const struct {
		const char	*in;
		long long	 secs;
	} ok[] = {
		{ "90", 90 }, { "0", 0 }, { "30s", 30 }, { "30m", 1800 },
		{ "768h", 2764800 }, { "1h30m", 5400 }, { "1.5h", 5400 },
		{ "1500ms", 1 }, { "2h0m10s", 7210 }, { " 5", 5 },
	};
	static const char *const bad[] = {
		"", "abc", "10x", "-5s", "1d", "h", "1h-3m", "5 s",
	};
	long long	 v;
	size_t		 i;

	(void)state;
	for (i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(duration_parse(ok[i].in, &v), CF_OK);
		assert_int_equal(v, ok[i].secs);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(duration_parse(bad[i], &v), CF_EINVAL);
}

static void
setup_req(struct request *req, const char *json)
{
	json_error_t	 e;

	memset(req, 0, sizeof(*req));
	req->data = json_loads(json, 0, &e);
	assert_non_null(req->data);
}

static void
test_fields(void **state)
{
	struct request	 req;
	struct response	 resp;
	const char	*s;
	long long	 n;
	int		 b, present;
	struct strv	 sv = STRV_INIT;

	(void)state;
	setup_req(&req, "{\"s\":\"x\",\"i\":5,\"is\":\"12\",\"b\":true,"
	    "\"bs\":\"false\",\"d\":\"1h\",\"di\":60,\"l\":[\"a\",\" b \"],"
	    "\"ls\":\"c, d,,e\",\"n\":null,\"bad\":[1]}");
	resp_init(&resp);
	assert_int_equal(req_str(&req, &resp, "s", &s, &present), CF_OK);
	assert_true(present);
	assert_string_equal(s, "x");
	assert_int_equal(req_str(&req, &resp, "missing", &s, &present), CF_OK);
	assert_false(present);
	assert_null(s);
	assert_int_equal(req_str(&req, &resp, "n", &s, &present), CF_OK);
	assert_false(present);
	assert_int_equal(req_str(&req, &resp, "i", &s, &present), CF_EINVAL);
	assert_non_null(strstr(resp.err, "\"i\""));
	assert_int_equal(req_int(&req, &resp, "i", &n, NULL), CF_OK);
	assert_int_equal(n, 5);
	assert_int_equal(req_int(&req, &resp, "is", &n, NULL), CF_OK);
	assert_int_equal(n, 12);
	assert_int_equal(req_int(&req, &resp, "s", &n, NULL), CF_EINVAL);
	assert_int_equal(req_bool(&req, &resp, "b", &b, NULL), CF_OK);
	assert_true(b);
	assert_int_equal(req_bool(&req, &resp, "bs", &b, NULL), CF_OK);
	assert_false(b);
	assert_int_equal(req_bool(&req, &resp, "s", &b, NULL), CF_EINVAL);
	assert_int_equal(req_duration(&req, &resp, "d", &n, NULL), CF_OK);
	assert_int_equal(n, 3600);
	assert_int_equal(req_duration(&req, &resp, "di", &n, NULL), CF_OK);
	assert_int_equal(n, 60);
	assert_int_equal(req_duration(&req, &resp, "s", &n, NULL), CF_EINVAL);
	assert_int_equal(req_strlist(&req, &resp, "l", &sv, NULL), CF_OK);
	assert_int_equal(req_strlist(&req, &resp, "ls", &sv, NULL), CF_OK);
	assert_int_equal(sv.n, 5);
	assert_string_equal(sv.v[1], "b");
	assert_string_equal(sv.v[2], "c");
	assert_string_equal(sv.v[4], "e");
	assert_int_equal(req_strlist(&req, &resp, "bad", &sv, NULL), CF_EINVAL);
	strv_free(&sv);
	json_decref(req.data);
	resp_fini(&resp);
}

static void
test_resp(void **state)
{
	struct response	 resp;

	(void)state;
	resp_init(&resp);
	assert_int_equal(resp_fail(&resp, CF_EINVAL, "bad %s", "thing"),
	    CF_EINVAL);
	assert_string_equal(resp.err, "bad thing");
	assert_int_equal(resp_warn(&resp, "w%d", 1), CF_OK);
	assert_int_equal(json_array_size(resp.warnings), 1);
	assert_int_equal(resp_data(&resp, json_object()), CF_OK);
	assert_int_equal(resp_data(&resp, NULL), CF_ENOMEM);
	resp_fini(&resp);
}

static void
test_uuid_and_time(void **state)
{
	char		 a[REQ_ID_LEN + 1], b[REQ_ID_LEN + 1], t[64];
	struct buf	 out = BUF_INIT;
	json_t		*j;

	(void)state;
	uuid4_random(a);
	uuid4_random(b);
	assert_int_equal(strlen(a), 36);
	assert_int_equal(a[14], '4');
	assert_int_equal(a[8], '-');
	assert_string_not_equal(a, b);
	time_format_rfc3339(t, sizeof(t), 1700000000, 123456000);
	assert_string_equal(t, "2023-11-14T22:13:20.123456Z");
	time_format_rfc3339(t, sizeof(t), 1700000000, 0);
	assert_string_equal(t, "2023-11-14T22:13:20Z");
	j = json_pack("{s:s}", "k", "v");
	assert_int_equal(jsonutil_emit(j, &out), CF_OK);
	assert_string_equal(out.data, "{\"k\":\"v\"}");
	json_decref(j);
	buf_free(&out);
}

/* Durations stop at Go's time.Duration range, so time + ttl fits. */
static void
test_duration_bounds(void **state)
{
	static const char *const range[] = {
		"9223372037", "9223372036854775807", "99999999999999999999",
		"2562048h", "153722868m", "9223372037s", "1e5s", "0x10s",
	};
	long long	 v;
	size_t		 i;

	(void)state;
	assert_int_equal(duration_parse("9223372036", &v), CF_OK);
	assert_int_equal(v, DURATION_MAX);
	assert_int_equal(duration_parse("2562047h", &v), CF_OK);
	assert_int_equal(v, 2562047LL * 3600);
	for (i = 0; i < sizeof(range) / sizeof(range[0]); i++)
		assert_int_equal(duration_parse(range[i], &v), CF_EINVAL);
}

static void
test_duration_fields(void **state)
{
	struct request	 req;
	struct response	 resp;
	long long	 n = 7;

	(void)state;
	setup_req(&req, "{\"neg\":-5,\"negs\":\"-5\",\"negu\":\"-2m\","
	    "\"max\":9223372036854775807,\"maxs\":\"9223372036854775807\","
	    "\"big\":9223372037,\"ok\":9223372036,\"zero\":\"-0\","
	    "\"real\":1e300,\"nreal\":-3.0}");
	resp_init(&resp);
	assert_int_equal(req_duration(&req, &resp, "neg", &n, NULL),
	    CF_EINVAL);
	assert_string_equal(resp.err, "Field validation failed: error "
	    "converting input for field \"neg\": cannot provide negative "
	    "value '-5'");
	assert_int_equal(req_duration(&req, &resp, "negs", &n, NULL),
	    CF_EINVAL);
	assert_non_null(strstr(resp.err, "negative value '-5'"));
	assert_int_equal(req_duration(&req, &resp, "negu", &n, NULL),
	    CF_EINVAL);
	assert_non_null(strstr(resp.err, "negative value '-120'"));
	assert_int_equal(req_duration(&req, &resp, "nreal", &n, NULL),
	    CF_EINVAL);
	assert_non_null(strstr(resp.err, "negative value '-3'"));
	assert_int_equal(req_duration(&req, &resp, "max", &n, NULL),
	    CF_EINVAL);
	assert_string_equal(resp.err, "Field validation failed: error "
	    "converting input for field \"max\": time: invalid duration "
	    "\"9223372036854775807\"");
	assert_int_equal(req_duration(&req, &resp, "maxs", &n, NULL),
	    CF_EINVAL);
	assert_non_null(strstr(resp.err, "invalid duration"));
	assert_int_equal(req_duration(&req, &resp, "big", &n, NULL),
	    CF_EINVAL);
	assert_int_equal(req_duration(&req, &resp, "real", &n, NULL),
	    CF_EINVAL);
	assert_int_equal(n, 7);		/* untouched on failure */
	assert_int_equal(req_duration(&req, &resp, "ok", &n, NULL), CF_OK);
	assert_int_equal(n, DURATION_MAX);
	assert_int_equal(req_duration(&req, &resp, "zero", &n, NULL), CF_OK);
	assert_int_equal(n, 0);
	json_decref(req.data);
	resp_fini(&resp);
}

static void
test_time_bounds(void **state)
{
	char	 t[64];
	int	 i;

	(void)state;
	assert_int_equal(time_add(1700000000, 60), 1700000060);
	assert_int_equal(time_add(1700000000, -60), 1699999940);
	assert_true(time_add(1700000000, LLONG_MAX) > 1700000000);
	assert_true(time_add(LLONG_MAX, LLONG_MAX) > 0);
	assert_true(time_add(-1, LLONG_MIN) < 0);
	/* An expiry minus now never overflows either. */
	assert_true(time_add(LLONG_MAX, 1) - time_add(LLONG_MIN, -1) > 0);
	time_format_rfc3339(t, sizeof(t), LLONG_MAX, 0);
	assert_string_equal(t, "9999-12-31T23:59:59Z");
	time_format_rfc3339(t, sizeof(t), LLONG_MIN, 5);
	assert_string_equal(t, "0000-01-01T00:00:00.000000005Z");
	time_format_rfc3339(t, sizeof(t), 1700000000, 2000000000L);
	assert_string_equal(t, "2023-11-14T22:13:20Z");
	time_format_rfc3339(t, 4, 1700000000, 0);
	assert_true(strlen(t) < 4);
	/* The digit writer against snprintf, over years 0 to 9999. */
	for (i = 0; i < 20000; i++) {
		struct tm	 tm;
		time_t		 sec = (time_t)(((long long)rand() << 20 ^
		    rand()) % 253402300799LL);
		long		 ns = i % 3 == 0 ? 0 : rand() % 1000000000L;
		char		 want[64], frac[16];
		size_t		 n;

		if (i % 2)
			sec = -sec % 62167219200LL;
		assert_non_null(gmtime_r(&sec, &tm));
		snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d",
		    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		    tm.tm_min, tm.tm_sec);
		if (ns > 0) {
			snprintf(frac, sizeof(frac), ".%09ld", ns);
			n = strlen(frac);
			while (frac[n - 1] == '0')
				frac[--n] = '\0';
			n = strlen(want);
			snprintf(want + n, sizeof(want) - n, "%s", frac);
		}
		n = strlen(want);
		snprintf(want + n, sizeof(want) - n, "Z");
		time_format_rfc3339(t, sizeof(t), (long long)sec, ns);
		assert_string_equal(t, want);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_fields),
		cmocka_unit_test(test_resp),
		cmocka_unit_test(test_uuid_and_time),
		cmocka_unit_test(test_duration_bounds),
		cmocka_unit_test(test_duration_fields),
		cmocka_unit_test(test_time_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
