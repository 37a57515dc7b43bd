/*
 * flags.c -- Go flag package parsing, durations and their text.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "flags.h"
#include "util.h"

static struct flag	*lookup(struct flag **, const char *);
static int		 setval(struct flag *, const char *);

static struct flag *
lookup(struct flag **sets, const char *name)
{
	struct flag	*f;
	size_t		 i;

	for (i = 0; sets[i] != NULL; i++)
		for (f = sets[i]; f->name != NULL; f++)
			if (strcmp(f->name, name) == 0)
				return f;
	return NULL;
}

int
flags_bool(const char *s)
{
	static const char *yes[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *no[] = { "0", "f", "F", "FALSE", "false", "False" };
	size_t	 i;

	for (i = 0; i < 6; i++) {
		if (strcmp(s, yes[i]) == 0)
			return 1;
		if (strcmp(s, no[i]) == 0)
			return 0;
	}
	return -1;
}

static int
setval(struct flag *f, const char *v)
{
	const char	*eq;
	char		*end, *t;
	long long	 n;
	json_t		*old, *arr;

	switch (f->type) {
	case FLAG_BOOL:
		if ((n = flags_bool(v)) == -1) {
			fprintf(stderr, "invalid boolean value \"%s\" for -%s: "
			    "parse error\n", v, f->name);
			return -1;
		}
		*(int *)f->dst = (int)n;
		break;
	case FLAG_STR:
		*(const char **)f->dst = v;
		break;
	case FLAG_INT:
		errno = 0;
		n = *v == '\0' ? 0 : strtoll(v, &end, 10);
		if (*v != '\0' && (errno != 0 || *end != '\0')) {
			fprintf(stderr, "invalid value \"%s\" for flag -%s: "
			    "parse error\n", v, f->name);
			return -1;
		}
		*(long long *)f->dst = n;
		break;
	case FLAG_DUR:
		if (flags_duration(v, f->dst) == -1) {
			fprintf(stderr, "invalid value \"%s\" for flag -%s: "
			    "time: invalid duration \"%s\"\n", v, f->name, v);
			return -1;
		}
		break;
	case FLAG_LIST:
		if (*(json_t **)f->dst == NULL)
			*(json_t **)f->dst = json_array();
		t = trim(xstrdup(v));
		json_array_append_new(*(json_t **)f->dst, json_string(t));
		free(t);
		break;
	case FLAG_MAP:
		if ((eq = strchr(v, '=')) == NULL) {
			fprintf(stderr, "invalid value \"%s\" for flag -%s: "
			    "missing = in KV pair: \"%s\"\n", v, f->name, v);
			return -1;
		}
		if (*(json_t **)f->dst == NULL)
			*(json_t **)f->dst = json_object();
		t = xstrndup(v, eq - v);
		old = json_object_get(*(json_t **)f->dst, t);
		(void)old;
		arr = json_string(eq + 1);
		json_object_set_new(*(json_t **)f->dst, t, arr);
		free(t);
		break;
	}
	f->set = 1;
	return 0;
}

int
flags_parse(struct flag **sets, int argc, char **argv, int *first)
{
	struct flag	*f;
	const char	*a, *val;
	char		*name;
	int		 i;

	for (i = 0; i < argc; i++) {
		a = argv[i];
		if (a[0] != '-' || a[1] == '\0')
			break;
		if (strcmp(a, "--") == 0) {
			i++;
			break;
		}
		a += a[1] == '-' ? 2 : 1;
		if (*a == '-' || *a == '=' || *a == '\0') {
			fprintf(stderr, "bad flag syntax: %s\n", argv[i]);
			return -1;
		}
		val = strchr(a, '=');
		name = val == NULL ? xstrdup(a) : xstrndup(a, val - a);
		if (val != NULL)
			val++;
		if ((f = lookup(sets, name)) == NULL) {
			fprintf(stderr, "flag provided but not defined: -%s\n",
			    name);
			free(name);
			return -1;
		}
		free(name);
		if (val == NULL && f->type == FLAG_BOOL)
			val = "true";
		if (val == NULL) {
			if (i + 1 >= argc) {
				fprintf(stderr, "flag needs an argument: -%s\n",
				    f->name);
				return -1;
			}
			val = argv[++i];
		}
		if (setval(f, val) == -1)
			return -1;
	}
	*first = i;
	return 0;
}

/*
 * Go's time.ParseDuration, with vault's additions: a bare integer is
 * seconds and <integer>d is days.  "system" means -1 s.
 */
int
flags_duration(const char *s, int64_t *out)
{
	static const struct { const char *u; double ns; } units[] = {
		{ "ns", 1 }, { "us", 1e3 }, { "\xc2\xb5s", 1e3 },
		{ "\xce\xbcs", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
		{ "m", 60e9 }, { "h", 3600e9 }
	};
	const char	*p = s;
	char		*end;
	double		 total = 0, v;
	long long	 n;
	size_t		 i, best, len;
	int		 neg = 0;

	if (strcmp(s, "system") == 0) {
		*out = -1000000000LL;
		return 0;
	}
	if (*s == '\0')
		return -1;
	errno = 0;
	n = strtoll(s, &end, 10);
	if (errno == 0 && *end == '\0') {
		*out = n * 1000000000LL;
		return 0;
	}
	if (errno == 0 && end != s && strcmp(end, "d") == 0) {
		*out = n * 86400LL * 1000000000LL;
		return 0;
	}
	if (*p == '-' || *p == '+')
		neg = *p++ == '-';
	if (strcmp(p, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (*p == '\0')
		return -1;
	while (*p != '\0') {
		if ((*p < '0' || *p > '9') && *p != '.')
			return -1;
		v = strtod(p, &end);
		if (end == p)
			return -1;
		p = end;
		best = sizeof(units) / sizeof(units[0]);
		len = 0;
		for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
			size_t ul = strlen(units[i].u);

			if (strncmp(p, units[i].u, ul) == 0 && ul > len) {
				best = i;
				len = ul;
			}
		}
		if (len == 0)
			return -1;
		total += v * units[best].ns;
		p += len;
	}
	if (total > 9.2e18)
		return -1;
	total += 0.5;
	*out = neg ? -(int64_t)total : (int64_t)total;
	return 0;
}

/* Go's fmtFrac/fmtInt, written forwards. */
void
flags_durfmt(int64_t d, char *buf, size_t cap)
{
	uint64_t	 u, frac;
	const char	*unit;
	int		 prec, neg = d < 0;
	char		 fb[16];
	size_t		 n;

	u = neg ? (uint64_t)(-(d + 1)) + 1 : (uint64_t)d;
	if (u == 0) {
		snprintf(buf, cap, "0s");
		return;
	}
	if (u < 1000000000ULL) {
		if (u < 1000) {
			snprintf(buf, cap, "%s%lluns", neg ? "-" : "",
			    (unsigned long long)u);
			return;
		}
		if (u < 1000000) {
			prec = 3;
			unit = "\xc2\xb5s";
		} else {
			prec = 6;
			unit = "ms";
		}
		frac = u % (prec == 3 ? 1000 : 1000000);
		u /= prec == 3 ? 1000 : 1000000;
		fb[0] = '\0';
		if (frac != 0) {
			snprintf(fb, sizeof(fb), ".%0*llu", prec,
			    (unsigned long long)frac);
			n = strlen(fb);
			while (n > 0 && fb[n - 1] == '0')
				fb[--n] = '\0';
		}
		snprintf(buf, cap, "%s%llu%s%s", neg ? "-" : "",
		    (unsigned long long)u, fb, unit);
		return;
	}
	frac = u % 1000000000ULL;
	u /= 1000000000ULL;
	fb[0] = '\0';
	if (frac != 0) {
		snprintf(fb, sizeof(fb), ".%09llu", (unsigned long long)frac);
		n = strlen(fb);
		while (n > 0 && fb[n - 1] == '0')
			fb[--n] = '\0';
	}
	if (u >= 3600)
		snprintf(buf, cap, "%s%lluh%llum%llu%ss", neg ? "-" : "",
		    (unsigned long long)(u / 3600),
		    (unsigned long long)(u / 60 % 60),
		    (unsigned long long)(u % 60), fb);
	else if (u >= 60)
		snprintf(buf, cap, "%s%llum%llu%ss", neg ? "-" : "",
		    (unsigned long long)(u / 60),
		    (unsigned long long)(u % 60), fb);
	else
		snprintf(buf, cap, "%s%llu%ss", neg ? "-" : "",
		    (unsigned long long)u, fb);
}

void
flags_human(long long secs, char *buf, size_t cap)
{
	char	*p;
	size_t	 n;

	flags_durfmt((int64_t)secs * 1000000000LL, buf, cap);
	n = strlen(buf);
	if (n > 3 && strcmp(buf + n - 3, "m0s") == 0)
		buf[n - 2] = '\0';
	if ((p = strstr(buf, "h0m")) != NULL)
		memmove(p + 1, p + 3, strlen(p + 3) + 1);
}
