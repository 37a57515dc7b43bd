/*
 * test_cidr.c -- CIDR blocks and addresses (util/cidr.c).
 */
#include "config.h"

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "cidr.h"
#include "err.h"

static void
test_parse_cidr_only(void **state)
{
	struct cidr	 c;
	char		 why[128];

	(void)state;
	assert_int_equal(cidr_parse_cidr("10.0.0.0/8", &c, why, sizeof(why)),
	    CF_OK);
	assert_int_equal(c.family, 4);
	assert_int_equal(c.bits, 8);
	assert_int_equal(cidr_parse_cidr("2001:db8::/32", &c, why,
	    sizeof(why)), CF_OK);
	assert_int_equal(c.family, 6);
	assert_int_equal(c.bits, 32);
	/* A bare address is not CIDR notation. */
	assert_int_equal(cidr_parse_cidr("10.0.0.5", &c, why, sizeof(why)),
	    CF_EINVAL);
	assert_string_equal(why, "invalid CIDR address: 10.0.0.5");
	assert_int_equal(cidr_parse_cidr("10.0.0.0/33", &c, why,
	    sizeof(why)), CF_EINVAL);
	assert_int_equal(cidr_parse_cidr("10.0.0.0/+8", &c, NULL, 0),
	    CF_EINVAL);
	assert_int_equal(cidr_parse_cidr("10.0.0.0/", &c, NULL, 0),
	    CF_EINVAL);
	assert_int_equal(cidr_parse_cidr("::/129", &c, NULL, 0), CF_EINVAL);
	assert_int_equal(cidr_parse_cidr("", &c, NULL, 0), CF_EINVAL);
	assert_int_equal(cidr_parse_cidr("/8", &c, NULL, 0), CF_EINVAL);
	assert_int_equal(cidr_parse_cidr("banana/8", &c, NULL, 0), CF_EINVAL);
}

static void
test_parse_bare(void **state)
{
	struct cidr	 c;
	char		 why[128], out[CIDR_TEXT_MAX];

	(void)state;
	assert_int_equal(cidr_parse("192.0.2.10", &c, why, sizeof(why)),
	    CF_OK);
	assert_int_equal(c.host, 1);
	assert_int_equal(c.bits, 32);
	cidr_format(&c, out, sizeof(out));
	assert_string_equal(out, "192.0.2.10");
	assert_int_equal(cidr_parse("10.0.0.0/8", &c, why, sizeof(why)),
	    CF_OK);
	cidr_format(&c, out, sizeof(out));
	assert_string_equal(out, "10.0.0.0/8");
	assert_int_equal(cidr_parse("10.0.0.5/32", &c, why, sizeof(why)),
	    CF_OK);
	cidr_format(&c, out, sizeof(out));
	assert_string_equal(out, "10.0.0.5");
	assert_int_equal(cidr_parse("::1", &c, why, sizeof(why)), CF_OK);
	assert_int_equal(c.family, 6);
	cidr_format(&c, out, sizeof(out));
	assert_string_equal(out, "::1");
	assert_int_equal(cidr_parse("not-an-ip", &c, why, sizeof(why)),
	    CF_EINVAL);
	assert_string_equal(why, "Unable to convert not-an-ip to an IPv4 or "
	    "IPv6 address, or a UNIX Socket");
	/* What looks like a path is a unix socket entry: no match. */
	assert_int_equal(cidr_parse("/run/x.sock", &c, why, sizeof(why)),
	    CF_OK);
	assert_int_equal(c.family, 0);
	assert_int_equal(cidr_contains(&c, "127.0.0.1"), 0);
}

static void
test_contains(void **state)
{
	struct cidr	 c;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", &c, NULL, 0), CF_OK);
	assert_int_equal(cidr_contains(&c, "10.255.1.2"), 1);
	assert_int_equal(cidr_contains(&c, "11.0.0.1"), 0);
	assert_int_equal(cidr_contains(&c, "::ffff:10.1.2.3"), 1);
	assert_int_equal(cidr_contains(&c, "2001:db8::1"), 0);
	assert_int_equal(cidr_contains(&c, "not an ip"), 0);
	assert_int_equal(cidr_contains(&c, ""), 0);
	assert_int_equal(cidr_contains(&c, NULL), 0);
	/* Host bits as written are kept but not compared. */
	assert_int_equal(cidr_parse("192.168.7.9/20", &c, NULL, 0), CF_OK);
	assert_int_equal(cidr_contains(&c, "192.168.0.1"), 1);
	assert_int_equal(cidr_contains(&c, "192.168.16.1"), 0);
	assert_int_equal(cidr_parse("127.0.0.1", &c, NULL, 0), CF_OK);
	assert_int_equal(cidr_contains(&c, "127.0.0.1"), 1);
	assert_int_equal(cidr_contains(&c, "127.0.0.2"), 0);
	assert_int_equal(cidr_parse("2001:db8::/33", &c, NULL, 0), CF_OK);
	assert_int_equal(cidr_contains(&c, "2001:db8:7fff::1"), 1);
	assert_int_equal(cidr_contains(&c, "2001:db8:8000::1"), 0);
	assert_int_equal(cidr_contains(&c, "10.0.0.1"), 0);
	assert_int_equal(cidr_parse("0.0.0.0/0", &c, NULL, 0), CF_OK);
	assert_int_equal(cidr_contains(&c, "203.0.113.4"), 1);
}

static void
test_within(void **state)
{
	struct cidr	 o, i;

	(void)state;
	assert_int_equal(cidr_parse("10.0.0.0/8", &o, NULL, 0), CF_OK);
	assert_int_equal(cidr_parse("10.1.0.0/16", &i, NULL, 0), CF_OK);
	assert_int_equal(cidr_within(&o, &i), 1);
	assert_int_equal(cidr_within(&i, &o), 0);
	assert_int_equal(cidr_within(&o, &o), 1);
	assert_int_equal(cidr_parse("192.168.0.0/24", &i, NULL, 0), CF_OK);
	assert_int_equal(cidr_within(&o, &i), 0);
	/* A single host compares as /32. */
	assert_int_equal(cidr_parse("10.0.0.5", &o, NULL, 0), CF_OK);
	assert_int_equal(cidr_parse("10.0.0.5/32", &i, NULL, 0), CF_OK);
	assert_int_equal(cidr_within(&o, &i), 1);
	assert_int_equal(cidr_parse("10.0.0.4/31", &i, NULL, 0), CF_OK);
	assert_int_equal(cidr_within(&o, &i), 0);
	assert_int_equal(cidr_parse("::/0", &o, NULL, 0), CF_OK);
	assert_int_equal(cidr_parse("10.0.0.0/8", &i, NULL, 0), CF_OK);
	assert_int_equal(cidr_within(&o, &i), 0);
}

static void
test_ip(void **state)
{
	unsigned char	 a[16];

	(void)state;
	assert_int_equal(cidr_ip("127.0.0.1", a), 4);
	assert_int_equal(a[0], 127);
	assert_int_equal(cidr_ip("::1", a), 6);
	assert_int_equal(a[15], 1);
	assert_int_equal(cidr_ip("[::1]", a), 0);
	assert_int_equal(cidr_ip("127.0.0.1:80", a), 0);
	assert_int_equal(cidr_ip("10.0.0.0/8", a), 0);
	assert_int_equal(cidr_ip(NULL, a), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_cidr_only),
		cmocka_unit_test(test_parse_bare),
		cmocka_unit_test(test_contains),
		cmocka_unit_test(test_within),
		cmocka_unit_test(test_ip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
