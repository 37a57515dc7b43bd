/*
 * hcl.c -- a parser for HCL version 1 and its JSON form, into one tree.
 *
 * A hand-written recursive-descent parser over a byte range: no reads
 * past len, recursion bounded by HCL_MAX_DEPTH, NUL bytes and invalid
 * UTF-8 rejected, every node tagged with its line.  The first error
 * stops the parse; the message names the line.
 *
 * Grammar (HCL 1, as Vault's configuration and policies use it):
 *	body   = { item [","] }
 *	item   = key ( "=" value | { label } object )
 *	key    = ident | string
 *	value  = string | heredoc | number | bool | list | object
 *	list   = "[" [ value { "," value } [","] ] "]"
 *	object = "{" body "}"
 * A JSON document is the same tree with ':' for '='.
 *
 * In util/, the bottom layer of leaf helpers (tests/layers.py): it
 * includes headers of util/ only.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "err.h"
#include "hcl.h"

#define HCL_MAX_DEPTH	64

struct parser {
	const char	*p;
	const char	*end;
	const char	*name;
	int		 line;
	int		 depth;
	int		 json;
	struct buf	*err;
	int		 failed;
};

static int	 parse_value(struct parser *, struct hcl_node **);
static int	 parse_body(struct parser *, struct hcl_node *, int);

static int
fail(struct parser *ps, const char *fmt, ...)
{
	va_list	 ap;
	char	 msg[512];

	if (ps->failed)
		return CF_EINVAL;
	ps->failed = 1;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	buf_reset(ps->err);
	(void)!buf_printf(ps->err, "%s:%d: %s", ps->name, ps->line, msg);
	return CF_EINVAL;
}

static struct hcl_node *
node_new(struct parser *ps, enum hcl_type type)
{
	struct hcl_node	*n;

	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	n->type = type;
	n->line = ps->line;
	return n;
}

void
hcl_free(struct hcl_node *n)
{
	struct hcl_node	*next;

	while (n != NULL) {
		next = n->next;
		hcl_free(n->child);
		free(n->key);
		free(n->str);
		free(n);
		n = next;
	}
}

const struct hcl_node *
hcl_get(const struct hcl_node *obj, const char *key)
{
	const struct hcl_node	*n;

	if (obj == NULL || obj->type != HCL_OBJECT)
		return NULL;
	for (n = obj->child; n != NULL; n = n->next)
		if (n->key != NULL && strcmp(n->key, key) == 0)
			return n;
	return NULL;
}

const char *
hcl_type_name(enum hcl_type t)
{
	switch (t) {
	case HCL_STRING:	return "string";
	case HCL_NUMBER:	return "number";
	case HCL_BOOL:		return "bool";
	case HCL_LIST:		return "list";
	case HCL_OBJECT:	return "object";
	default:		return "null";
	}
}

/* Skip blanks and comments; newlines count lines. */
static int
skip_space(struct parser *ps)
{
	while (ps->p < ps->end) {
		char	 c = *ps->p;

		if (c == '\n') {
			ps->line++;
			ps->p++;
		} else if (c == ' ' || c == '\t' || c == '\r')
			ps->p++;
		else if (!ps->json && (c == '#' || (c == '/' &&
		    ps->p + 1 < ps->end && ps->p[1] == '/'))) {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		} else if (!ps->json && c == '/' && ps->p + 1 < ps->end &&
		    ps->p[1] == '*') {
			int	 start = ps->line;

			ps->p += 2;
			for (;;) {
				if (ps->p + 1 >= ps->end) {
					ps->line = start;
					return fail(ps, "unterminated comment");
				}
				if (ps->p[0] == '*' && ps->p[1] == '/') {
					ps->p += 2;
					break;
				}
				if (*ps->p == '\n')
					ps->line++;
				ps->p++;
			}
		} else
			break;
	}
	return CF_OK;
}

static int
is_ident(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

/* Length of a valid UTF-8 sequence at p, or 0. */
static size_t
utf8_len(const unsigned char *p, const unsigned char *end)
{
	size_t	 n, i;

	if (*p < 0x80)
		return 1;
	if (*p >= 0xc2 && *p <= 0xdf)
		n = 2;
	else if (*p >= 0xe0 && *p <= 0xef)
		n = 3;
	else if (*p >= 0xf0 && *p <= 0xf4)
		n = 4;
	else
		return 0;
	if ((size_t)(end - p) < n)
		return 0;
	for (i = 1; i < n; i++)
		if ((p[i] & 0xc0) != 0x80)
			return 0;
	return n;
}

static int
put_utf8(struct buf *b, unsigned long cp)
{
	char	 u[4];
	size_t	 n;

	if (cp < 0x80) {
		u[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (char)(0xc0 | (cp >> 6));
		u[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (char)(0xe0 | (cp >> 12));
		u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (char)(0xf0 | (cp >> 18));
		u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return buf_append(b, u, n);
}

static int
hex4(const char *p, unsigned long *out)
{
	int	 i;

	*out = 0;
	for (i = 0; i < 4; i++) {
		if (!isxdigit((unsigned char)p[i]))
			return -1;
		*out = *out * 16 + (unsigned long)(isdigit((unsigned char)p[i]) ?
		    p[i] - '0' : (tolower((unsigned char)p[i]) - 'a' + 10));
	}
	return 0;
}

/* A double-quoted string at ps->p; the result is owned by the caller. */
static int
parse_string(struct parser *ps, char **out)
{
	struct buf	 b = BUF_INIT;
	unsigned long	 cp, lo;
	size_t		 n;
	char		 c;

	ps->p++;
	for (;;) {
		if (ps->p >= ps->end || *ps->p == '\n') {
			buf_free(&b);
			return fail(ps, "unterminated string");
		}
		c = *ps->p;
		if (c == '"')
			break;
		if (c == '\0' || (unsigned char)c < 0x20) {
			buf_free(&b);
			return fail(ps, "control character in string");
		}
		if (c == '\\') {
			if (ps->p + 1 >= ps->end) {
				buf_free(&b);
				return fail(ps, "unterminated string");
			}
			c = ps->p[1];
			ps->p += 2;
			switch (c) {
			case 'n': c = '\n'; break;
			case 't': c = '\t'; break;
			case 'r': c = '\r'; break;
			case 'b': c = '\b'; break;
			case 'f': c = '\f'; break;
			case '"': case '\\': case '/': break;
			case 'u':
				if (ps->end - ps->p < 4 || hex4(ps->p, &cp) != 0) {
					buf_free(&b);
					return fail(ps, "bad \\u escape");
				}
				ps->p += 4;
				if (cp >= 0xd800 && cp <= 0xdbff &&
				    ps->end - ps->p >= 6 && ps->p[0] == '\\' &&
				    ps->p[1] == 'u' && hex4(ps->p + 2, &lo) == 0 &&
				    lo >= 0xdc00 && lo <= 0xdfff) {
					cp = 0x10000 + ((cp - 0xd800) << 10) +
					    (lo - 0xdc00);
					ps->p += 6;
				}
				if (cp == 0 || (cp >= 0xd800 && cp <= 0xdfff)) {
					buf_free(&b);
					return fail(ps, "bad \\u escape");
				}
				if (put_utf8(&b, cp) != CF_OK)
					goto nomem;
				continue;
			default:
				buf_free(&b);
				return fail(ps, "unknown escape \\%c", c);
			}
			if (buf_append(&b, &c, 1) != CF_OK)
				goto nomem;
			continue;
		}
		if ((n = utf8_len((const unsigned char *)ps->p,
		    (const unsigned char *)ps->end)) == 0) {
			buf_free(&b);
			return fail(ps, "invalid UTF-8 in string");
		}
		if (buf_append(&b, ps->p, n) != CF_OK)
			goto nomem;
		ps->p += n;
	}
	ps->p++;
	if (buf_append(&b, "", 0) != CF_OK)
		goto nomem;
	*out = b.data;
	return CF_OK;
 nomem:
	buf_free(&b);
	return CF_ENOMEM;
}

/* <<EOT ... EOT, or <<-EOT with the closing marker indented. */
static int
parse_heredoc(struct parser *ps, char **out)
{
	struct buf	 b = BUF_INIT;
	const char	*m, *line, *eol, *t;
	size_t		 mlen;
	int		 indent = 0, start = ps->line;

	ps->p += 2;
	if (ps->p < ps->end && *ps->p == '-') {
		indent = 1;
		ps->p++;
	}
	m = ps->p;
	while (ps->p < ps->end && is_ident(*ps->p))
		ps->p++;
	mlen = (size_t)(ps->p - m);
	if (mlen == 0 || ps->p >= ps->end || *ps->p != '\n')
		return fail(ps, "heredoc marker must be followed by a newline");
	ps->p++;
	ps->line++;
	for (;;) {
		if (ps->p >= ps->end) {
			buf_free(&b);
			ps->line = start;
			return fail(ps, "unterminated heredoc");
		}
		line = ps->p;
		eol = memchr(line, '\n', (size_t)(ps->end - line));
		if (eol == NULL)
			eol = ps->end;
		t = line;
		if (indent)
			while (t < eol && (*t == ' ' || *t == '\t'))
				t++;
		if ((size_t)(eol - t) >= mlen && memcmp(t, m, mlen) == 0 &&
		    (eol - t == (long)mlen || (t[mlen] == '\r' &&
		    eol - t == (long)mlen + 1))) {
			ps->p = eol;
			break;
		}
		if (memchr(line, '\0', (size_t)(eol - line)) != NULL) {
			buf_free(&b);
			return fail(ps, "NUL byte in heredoc");
		}
		if (buf_append(&b, line, (size_t)(eol - line)) != CF_OK ||
		    buf_append(&b, "\n", 1) != CF_OK) {
			buf_free(&b);
			return CF_ENOMEM;
		}
		ps->p = eol < ps->end ? eol + 1 : eol;
		ps->line++;
	}
	if (buf_append(&b, "", 0) != CF_OK) {
		buf_free(&b);
		return CF_ENOMEM;
	}
	*out = b.data;
	return CF_OK;
}

static int
parse_number(struct parser *ps, struct hcl_node **out)
{
	const char	*s = ps->p;
	struct hcl_node	*n;

	if (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+'))
		ps->p++;
	if (ps->p >= ps->end || !isdigit((unsigned char)*ps->p))
		return fail(ps, "bad number");
	while (ps->p < ps->end && (isdigit((unsigned char)*ps->p) ||
	    *ps->p == '.' || *ps->p == 'e' || *ps->p == 'E' ||
	    ((*ps->p == '-' || *ps->p == '+') &&
	    (ps->p[-1] == 'e' || ps->p[-1] == 'E'))))
		ps->p++;
	if ((n = node_new(ps, HCL_NUMBER)) == NULL ||
	    (n->str = strndup(s, (size_t)(ps->p - s))) == NULL) {
		hcl_free(n);
		return CF_ENOMEM;
	}
	*out = n;
	return CF_OK;
}

static int
parse_list(struct parser *ps, struct hcl_node **out)
{
	struct hcl_node	*list, *item, **tail;
	int		 rc;

	if ((list = node_new(ps, HCL_LIST)) == NULL)
		return CF_ENOMEM;
	tail = &list->child;
	ps->p++;
	for (;;) {
		if ((rc = skip_space(ps)) != CF_OK)
			goto err;
		if (ps->p >= ps->end) {
			rc = fail(ps, "unterminated list");
			goto err;
		}
		if (*ps->p == ']') {
			ps->p++;
			break;
		}
		if ((rc = parse_value(ps, &item)) != CF_OK)
			goto err;
		*tail = item;
		tail = &item->next;
		if ((rc = skip_space(ps)) != CF_OK)
			goto err;
		if (ps->p < ps->end && *ps->p == ',')
			ps->p++;
		else if (ps->p < ps->end && *ps->p != ']') {
			rc = fail(ps, "expected ',' or ']' in list");
			goto err;
		}
	}
	*out = list;
	return CF_OK;
 err:
	hcl_free(list);
	return rc;
}

static int
parse_object(struct parser *ps, struct hcl_node **out)
{
	struct hcl_node	*obj;
	int		 rc;

	if ((obj = node_new(ps, HCL_OBJECT)) == NULL)
		return CF_ENOMEM;
	ps->p++;
	if ((rc = parse_body(ps, obj, '}')) != CF_OK) {
		hcl_free(obj);
		return rc;
	}
	*out = obj;
	return CF_OK;
}

static int
parse_value(struct parser *ps, struct hcl_node **out)
{
	struct hcl_node	*n = NULL;
	const char	*w;
	size_t		 len;
	int		 rc;

	*out = NULL;
	if (++ps->depth > HCL_MAX_DEPTH)
		return fail(ps, "nesting deeper than %d", HCL_MAX_DEPTH);
	if ((rc = skip_space(ps)) != CF_OK)
		goto out;
	if (ps->p >= ps->end) {
		rc = fail(ps, "expected a value");
		goto out;
	}
	switch (*ps->p) {
	case '"':
		if ((n = node_new(ps, HCL_STRING)) == NULL)
			return CF_ENOMEM;
		rc = parse_string(ps, &n->str);
		break;
	case '<':
		if (ps->json || ps->p + 1 >= ps->end || ps->p[1] != '<') {
			rc = fail(ps, "unexpected '<'");
			break;
		}
		if ((n = node_new(ps, HCL_STRING)) == NULL)
			return CF_ENOMEM;
		rc = parse_heredoc(ps, &n->str);
		break;
	case '[':
		rc = parse_list(ps, &n);
		break;
	case '{':
		rc = parse_object(ps, &n);
		break;
	default:
		if (isdigit((unsigned char)*ps->p) || *ps->p == '-' ||
		    *ps->p == '+') {
			rc = parse_number(ps, &n);
			break;
		}
		w = ps->p;
		while (ps->p < ps->end && is_ident(*ps->p))
			ps->p++;
		len = (size_t)(ps->p - w);
		if ((len == 4 && memcmp(w, "true", 4) == 0) ||
		    (len == 5 && memcmp(w, "false", 5) == 0)) {
			if ((n = node_new(ps, HCL_BOOL)) == NULL)
				return CF_ENOMEM;
			n->boolean = len == 4;
		} else if (len == 4 && memcmp(w, "null", 4) == 0) {
			if ((n = node_new(ps, HCL_NULL)) == NULL)
				return CF_ENOMEM;
		} else if (len > 0)
			rc = fail(ps, "unexpected word \"%.*s\"; strings "
			    "need double quotes", (int)(len > 64 ? 64 : len), w);
		else
			rc = fail(ps, "unexpected character '%c'",
			    isprint((unsigned char)*ps->p) ? *ps->p : '?');
	}
 out:
	ps->depth--;
	if (rc != CF_OK) {
		hcl_free(n);
		return rc;
	}
	*out = n;
	return CF_OK;
}

/* A key: an identifier or a quoted string. */
static int
parse_key(struct parser *ps, char **out)
{
	const char	*w = ps->p;

	if (*ps->p == '"')
		return parse_string(ps, out);
	while (ps->p < ps->end && is_ident(*ps->p))
		ps->p++;
	if (ps->p == w)
		return fail(ps, "expected a key, found '%c'",
		    isprint((unsigned char)*w) ? *w : '?');
	if ((*out = strndup(w, (size_t)(ps->p - w))) == NULL)
		return CF_ENOMEM;
	return CF_OK;
}

/*
 * One item: key = value, or key "label" ... { body }, which nests one
 * object per label.  The new member is appended at *tail.
 */
#define HCL_MAX_LABELS	8

static int
parse_item(struct parser *ps, struct hcl_node ***tail)
{
	struct hcl_node	*val = NULL, *wrap;
	char		*key = NULL, *labels[HCL_MAX_LABELS];
	int		 rc, line = ps->line, nlabels = 0, i;

	if ((rc = parse_key(ps, &key)) != CF_OK)
		return rc;
	if ((rc = skip_space(ps)) != CF_OK)
		goto err;
	if (ps->p < ps->end && *ps->p == (ps->json ? ':' : '=')) {
		ps->p++;
		if ((rc = parse_value(ps, &val)) != CF_OK)
			goto err;
	} else if (!ps->json && ps->p < ps->end &&
	    (*ps->p == '"' || *ps->p == '{' || is_ident(*ps->p))) {
		for (;;) {
			if ((rc = skip_space(ps)) != CF_OK)
				goto err;
			if (ps->p >= ps->end) {
				rc = fail(ps, "expected '{' after block "
				    "\"%s\"", key);
				goto err;
			}
			if (*ps->p == '{')
				break;
			if (nlabels == HCL_MAX_LABELS) {
				rc = fail(ps, "too many labels");
				goto err;
			}
			if ((rc = parse_key(ps, &labels[nlabels])) != CF_OK)
				goto err;
			nlabels++;
		}
		if (++ps->depth > HCL_MAX_DEPTH) {
			ps->depth--;
			rc = fail(ps, "nesting deeper than %d", HCL_MAX_DEPTH);
			goto err;
		}
		rc = parse_object(ps, &val);
		ps->depth--;
		if (rc != CF_OK)
			goto err;
		/* Innermost label first: each wraps the object so far. */
		for (i = nlabels - 1; i >= 0; i--) {
			if ((wrap = node_new(ps, HCL_OBJECT)) == NULL) {
				rc = CF_ENOMEM;
				goto err;
			}
			wrap->line = line;
			val->key = labels[i];
			labels[i] = NULL;
			nlabels = i;
			wrap->child = val;
			val = wrap;
		}
	} else {
		ps->line = line;	/* name the key's line, not EOF's */
		rc = fail(ps, "expected '%c' or '{' after key \"%s\"",
		    ps->json ? ':' : '=', key);
		goto err;
	}
	val->key = key;
	val->line = line;
	**tail = val;
	*tail = &val->next;
	return CF_OK;
 err:
	for (i = 0; i < nlabels; i++)
		free(labels[i]);
	free(key);
	hcl_free(val);
	return rc;
}

static int
parse_body(struct parser *ps, struct hcl_node *obj, int close)
{
	struct hcl_node	**tail = &obj->child;
	int		  rc;

	while (*tail != NULL)
		tail = &(*tail)->next;
	for (;;) {
		if ((rc = skip_space(ps)) != CF_OK)
			return rc;
		if (ps->p >= ps->end) {
			if (close == 0)
				return CF_OK;
			return fail(ps, "missing '%c'", close);
		}
		if (*ps->p == close) {
			ps->p++;
			return CF_OK;
		}
		if ((rc = parse_item(ps, &tail)) != CF_OK)
			return rc;
		if ((rc = skip_space(ps)) != CF_OK)
			return rc;
		if (ps->p < ps->end && *ps->p == ',')
			ps->p++;
		else if (ps->json && ps->p < ps->end && *ps->p != close)
			return fail(ps, "expected ',' or '}'");
	}
}

int
hcl_parse(const char *text, size_t len, const char *name,
    struct hcl_node **out, struct buf *err)
{
	struct parser	 ps;
	struct hcl_node	*root = NULL;
	int		 rc;

	*out = NULL;
	memset(&ps, 0, sizeof(ps));
	ps.p = text;
	ps.end = text + len;
	ps.name = name;
	ps.line = 1;
	ps.err = err;
	if (memchr(text, '\0', len) != NULL) {
		const char	*z = memchr(text, '\0', len), *q;

		for (q = text; q < z; q++)
			if (*q == '\n')
				ps.line++;
		return fail(&ps, "NUL byte in input");
	}
	if ((root = node_new(&ps, HCL_OBJECT)) == NULL)
		return CF_ENOMEM;
	if ((rc = skip_space(&ps)) != CF_OK)
		goto err;
	if (ps.p < ps.end && *ps.p == '{') {
		ps.json = 1;
		ps.p++;
		if ((rc = parse_body(&ps, root, '}')) != CF_OK)
			goto err;
		if ((rc = skip_space(&ps)) != CF_OK)
			goto err;
		if (ps.p != ps.end) {
			rc = fail(&ps, "text after the JSON document");
			goto err;
		}
	} else if ((rc = parse_body(&ps, root, 0)) != CF_OK)
		goto err;
	*out = root;
	return CF_OK;
 err:
	hcl_free(root);
	if (rc == CF_ENOMEM && !ps.failed)
		(void)!buf_printf(err, "%s: out of memory", name);
	return rc;
}
