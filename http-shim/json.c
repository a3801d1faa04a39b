/*
 * json.c: growable buffer, JSON string escaping, UTF-8 validation and a
 * reader for the flat headers object returned by http_dispatch.
 */
#include "json.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Start empty: no allocation until the first append, so an unused buffer costs nothing. */
void
jb_init(jbuf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->failed = false;
}

/* Release the storage; the buffer may be reused after jb_init. */
void
jb_free(jbuf *b)
{
	free(b->data);
	jb_init(b);
}

/* Empty the buffer but keep its storage, for building several strings in a row. */
void
jb_reset(jbuf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->data)
		b->data[0] = '\0';
}

/* Make room for n more bytes plus the terminator; false (and failed set) when memory ran out. */
static bool
jb_reserve(jbuf *b, size_t n)
{
	size_t		need;
	size_t		cap;
	char	   *p;

	if (b->failed)
		return false;
	if (n > SIZE_MAX / 2 - b->len)
	{
		b->failed = true;
		return false;
	}
	need = b->len + n + 1;
	if (need <= b->cap)
		return true;
	cap = b->cap ? b->cap : 64;
	while (cap < need)
		cap *= 2;
	p = realloc(b->data, cap);
	if (p == NULL)
	{
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

/* Append raw bytes (the caller guarantees they are already what the output needs). */
void
jb_append(jbuf *b, const char *s, size_t n)
{
	if (!jb_reserve(b, n))
		return;
	if (n)
		memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

/* Append a NUL-terminated string verbatim. */
void
jb_puts(jbuf *b, const char *s)
{
	jb_append(b, s, strlen(s));
}

/* Append one byte. */
void
jb_putc(jbuf *b, char c)
{
	jb_append(b, &c, 1);
}

/* printf into the buffer, for numbers and fixed-format fragments. */
void
jb_printf(jbuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (!jb_reserve(b, 64))
		return;
	va_start(ap, fmt);
	n = vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
	va_end(ap);
	if (n < 0)
	{
		b->failed = true;
		return;
	}
	if ((size_t) n >= b->cap - b->len)
	{
		if (!jb_reserve(b, (size_t) n))
			return;
		va_start(ap, fmt);
		vsnprintf(b->data + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
	}
	b->len += (size_t) n;
}

/*
 * Length of the well-formed UTF-8 sequence at p (1..4), or 0 when it is not
 * one; shared by validation and escaping so both agree on what is valid.
 */
static size_t
utf8_seq_len(const unsigned char *p, const unsigned char *end)
{
	unsigned int c = p[0];
	size_t		n;
	unsigned int cp;
	unsigned int min;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
	{
		n = 1;
		cp = c & 0x1F;
		min = 0x80;
	}
	else if (c >= 0xE0 && c <= 0xEF)
	{
		n = 2;
		cp = c & 0x0F;
		min = 0x800;
	}
	else if (c >= 0xF0 && c <= 0xF4)
	{
		n = 3;
		cp = c & 0x07;
		min = 0x10000;
	}
	else
		return 0;
	if ((size_t) (end - p) <= n)
		return 0;
	for (size_t i = 1; i <= n; i++)
	{
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return n + 1;
}

/* PostgreSQL text cannot hold NUL or invalid UTF-8, so anything we pass on is checked here first. */
bool
utf8_valid(const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + n;

	while (p < end)
	{
		size_t		l;

		if (*p == 0)
			return false;
		if (*p < 0x80)
		{
			p++;
			continue;
		}
		l = utf8_seq_len(p, end);
		if (l == 0)
			return false;
		p += l;
	}
	return true;
}

/* Escape per RFC 8259; never emits invalid UTF-8, so log lines stay parseable whatever a client sent. */
void
jb_string(jbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *p = (const unsigned char *) s;
	const unsigned char *end = p + n;
	const unsigned char *run = p;	/* start of bytes not yet copied */

	jb_putc(b, '"');
	while (p < end)
	{
		unsigned char c = *p;
		const char *esc = NULL;
		char		ubuf[7];
		size_t		l;

		if (c >= 0x20 && c != '"' && c != '\\' && c < 0x80)
		{
			p++;
			continue;
		}
		if (c >= 0x80)
		{
			l = utf8_seq_len(p, end);
			if (l > 0)
			{
				p += l;
				continue;
			}
			esc = "\\ufffd";
		}
		else if (c == '"')
			esc = "\\\"";
		else if (c == '\\')
			esc = "\\\\";
		else if (c == '\n')
			esc = "\\n";
		else if (c == '\r')
			esc = "\\r";
		else if (c == '\t')
			esc = "\\t";
		else if (c == '\b')
			esc = "\\b";
		else if (c == '\f')
			esc = "\\f";
		else
		{
			ubuf[0] = '\\';
			ubuf[1] = 'u';
			ubuf[2] = '0';
			ubuf[3] = '0';
			ubuf[4] = hex[c >> 4];
			ubuf[5] = hex[c & 0xF];
			ubuf[6] = '\0';
			esc = ubuf;
		}
		jb_append(b, (const char *) run, (size_t) (p - run));
		jb_puts(b, esc);
		p++;
		run = p;
	}
	jb_append(b, (const char *) run, (size_t) (p - run));
	jb_putc(b, '"');
}

/* Convenience for the optional fields of error bodies and log lines. */
void
jb_cstring_or_null(jbuf *b, const char *s)
{
	if (s == NULL)
		jb_puts(b, "null");
	else
		jb_string(b, s, strlen(s));
}

/* ---- reader for flat objects ---- */

typedef struct reader
{
	const char *p;
	const char *end;
} reader;

/* Insignificant whitespace per RFC 8259. */
static void
skip_ws(reader *r)
{
	while (r->p < r->end && (*r->p == ' ' || *r->p == '\t' || *r->p == '\n' || *r->p == '\r'))
		r->p++;
}

/* Four hex digits of a \u escape; -1 when malformed. */
static long
read_hex4(reader *r)
{
	long		v = 0;

	if (r->end - r->p < 4)
		return -1;
	for (int i = 0; i < 4; i++)
	{
		char		c = r->p[i];

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= c - '0';
		else if (c >= 'a' && c <= 'f')
			v |= c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v |= c - 'A' + 10;
		else
			return -1;
	}
	r->p += 4;
	return v;
}

/* Append one code point as UTF-8. */
static void
put_utf8(jbuf *out, unsigned long cp)
{
	char		u[4];

	if (cp < 0x80)
		jb_putc(out, (char) cp);
	else if (cp < 0x800)
	{
		u[0] = (char) (0xC0 | (cp >> 6));
		u[1] = (char) (0x80 | (cp & 0x3F));
		jb_append(out, u, 2);
	}
	else if (cp < 0x10000)
	{
		u[0] = (char) (0xE0 | (cp >> 12));
		u[1] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[2] = (char) (0x80 | (cp & 0x3F));
		jb_append(out, u, 3);
	}
	else
	{
		u[0] = (char) (0xF0 | (cp >> 18));
		u[1] = (char) (0x80 | ((cp >> 12) & 0x3F));
		u[2] = (char) (0x80 | ((cp >> 6) & 0x3F));
		u[3] = (char) (0x80 | (cp & 0x3F));
		jb_append(out, u, 4);
	}
}

/* Decode a JSON string (r->p at the opening quote) into out; false when malformed. */
static bool
read_string(reader *r, jbuf *out)
{
	jb_reset(out);
	if (r->p >= r->end || *r->p != '"')
		return false;
	r->p++;
	while (r->p < r->end)
	{
		unsigned char c = (unsigned char) *r->p;

		if (c == '"')
		{
			r->p++;
			if (out->data == NULL)
				jb_append(out, "", 0);
			return !out->failed;
		}
		if (c < 0x20)
			return false;
		if (c != '\\')
		{
			jb_putc(out, (char) c);
			r->p++;
			continue;
		}
		r->p++;
		if (r->p >= r->end)
			return false;
		c = (unsigned char) *r->p++;
		switch (c)
		{
			case '"':
			case '\\':
			case '/':
				jb_putc(out, (char) c);
				break;
			case 'b':
				jb_putc(out, '\b');
				break;
			case 'f':
				jb_putc(out, '\f');
				break;
			case 'n':
				jb_putc(out, '\n');
				break;
			case 'r':
				jb_putc(out, '\r');
				break;
			case 't':
				jb_putc(out, '\t');
				break;
			case 'u':
				{
					long		hi = read_hex4(r);
					long		lo;

					if (hi < 0 || (hi >= 0xDC00 && hi <= 0xDFFF))
						return false;
					if (hi >= 0xD800 && hi <= 0xDBFF)
					{
						if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
							return false;
						r->p += 2;
						lo = read_hex4(r);
						if (lo < 0xDC00 || lo > 0xDFFF)
							return false;
						put_utf8(out, 0x10000 + (((unsigned long) hi - 0xD800) << 10) + ((unsigned long) lo - 0xDC00));
					}
					else
						put_utf8(out, (unsigned long) hi);
					break;
				}
			default:
				return false;
		}
	}
	return false;
}

/* A number, true or false, returned as its literal text; false when it is none of these. */
static bool
read_literal(reader *r, const char **start, size_t *len)
{
	const char *s = r->p;

	if (r->end - r->p >= 4 && memcmp(r->p, "true", 4) == 0)
		r->p += 4;
	else if (r->end - r->p >= 5 && memcmp(r->p, "false", 5) == 0)
		r->p += 5;
	else
	{
		while (r->p < r->end && (strchr("+-.eE", *r->p) != NULL || (*r->p >= '0' && *r->p <= '9')))
			r->p++;
	}
	if (r->p == s)
		return false;
	*start = s;
	*len = (size_t) (r->p - s);
	return true;
}

/* One scalar value: call back with it (null is skipped); -1 when malformed. */
static int
read_scalar(reader *r, const char *name, jbuf *val, json_member_fn fn, void *cls)
{
	const char *lit;
	size_t		litlen;

	if (r->p < r->end && *r->p == '"')
	{
		if (!read_string(r, val))
			return -1;
		return fn(cls, name, val->data, val->len);
	}
	if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0)
	{
		r->p += 4;
		return 0;
	}
	if (!read_literal(r, &lit, &litlen))
		return -1;
	jb_reset(val);
	jb_append(val, lit, litlen);
	if (val->failed)
		return -1;
	return fn(cls, name, val->data, val->len);
}

/* The walk itself; buffers are owned by json_each_member so every exit path frees them. */
static int
walk_object(reader *r, jbuf *name, jbuf *val, json_member_fn fn, void *cls)
{
	int			rc;

	skip_ws(r);
	if (r->p >= r->end || *r->p != '{')
		return -1;
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == '}')
		r->p++;
	else
	{
		for (;;)
		{
			skip_ws(r);
			if (!read_string(r, name))
				return -1;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':')
				return -1;
			r->p++;
			skip_ws(r);
			if (r->p < r->end && *r->p == '[')
			{
				r->p++;
				skip_ws(r);
				if (r->p < r->end && *r->p == ']')
					r->p++;
				else
				{
					for (;;)
					{
						skip_ws(r);
						if ((rc = read_scalar(r, name->data, val, fn, cls)) != 0)
							return rc;
						skip_ws(r);
						if (r->p < r->end && *r->p == ',')
						{
							r->p++;
							continue;
						}
						if (r->p < r->end && *r->p == ']')
						{
							r->p++;
							break;
						}
						return -1;
					}
				}
			}
			else if ((rc = read_scalar(r, name->data, val, fn, cls)) != 0)
				return rc;
			skip_ws(r);
			if (r->p < r->end && *r->p == ',')
			{
				r->p++;
				continue;
			}
			if (r->p < r->end && *r->p == '}')
			{
				r->p++;
				break;
			}
			return -1;
		}
	}
	skip_ws(r);
	return r->p == r->end ? 0 : -1;
}

/* Public entry: see json.h. */
int
json_each_member(const char *text, size_t len, json_member_fn fn, void *cls)
{
	reader		r = {text, text + len};
	jbuf		name;
	jbuf		val;
	int			rc;

	jb_init(&name);
	jb_init(&val);
	rc = walk_object(&r, &name, &val, fn, cls);
	jb_free(&name);
	jb_free(&val);
	return rc;
}

/* ---- raw walkers for nested documents (the event list) ---- */

/* Step over a string (r->p at the opening quote) without decoding it; false when malformed. */
static bool
skip_string(reader *r)
{
	if (r->p >= r->end || *r->p != '"')
		return false;
	r->p++;
	while (r->p < r->end)
	{
		unsigned char c = (unsigned char) *r->p++;

		if (c == '"')
			return true;
		if (c < 0x20)
			return false;
		if (c == '\\')
		{
			if (r->p >= r->end)
				return false;
			c = (unsigned char) *r->p++;
			if (c == 'u')
			{
				if (read_hex4(r) < 0)
					return false;
			}
			else if (strchr("\"\\/bfnrt", c) == NULL || c == '\0')
				return false;
		}
	}
	return false;
}

#define JSON_MAX_DEPTH 64

/* Step over one value of any kind, nested at most JSON_MAX_DEPTH deep; false when malformed. */
static bool
skip_value(reader *r, int depth)
{
	const char *lit;
	size_t		litlen;
	char		close;

	skip_ws(r);
	if (r->p >= r->end)
		return false;
	if (*r->p == '"')
		return skip_string(r);
	if (*r->p != '{' && *r->p != '[')
	{
		if (r->end - r->p >= 4 && memcmp(r->p, "null", 4) == 0)
		{
			r->p += 4;
			return true;
		}
		return read_literal(r, &lit, &litlen);
	}
	if (depth >= JSON_MAX_DEPTH)
		return false;
	close = *r->p == '{' ? '}' : ']';
	r->p++;
	skip_ws(r);
	if (r->p < r->end && *r->p == close)
	{
		r->p++;
		return true;
	}
	for (;;)
	{
		skip_ws(r);
		if (close == '}')
		{
			if (!skip_string(r))
				return false;
			skip_ws(r);
			if (r->p >= r->end || *r->p != ':')
				return false;
			r->p++;
		}
		if (!skip_value(r, depth + 1))
			return false;
		skip_ws(r);
		if (r->p < r->end && *r->p == ',')
		{
			r->p++;
			continue;
		}
		if (r->p < r->end && *r->p == close)
		{
			r->p++;
			return true;
		}
		return false;
	}
}

/* Shared walk of an object's members or an array's elements (open is '{' or '['). */
static int
walk_raw(const char *text, size_t len, char open, json_raw_fn fn, void *cls)
{
	reader		r = {text, text + len};
	char		close = open == '{' ? '}' : ']';
	int			rc;

	skip_ws(&r);
	if (r.p >= r.end || *r.p != open)
		return -1;
	r.p++;
	skip_ws(&r);
	if (r.p < r.end && *r.p == close)
		r.p++;
	else
	{
		for (;;)
		{
			const char *name = NULL;
			size_t		name_len = 0;
			const char *value;

			skip_ws(&r);
			if (open == '{')
			{
				name = r.p + 1;
				if (!skip_string(&r))
					return -1;
				name_len = (size_t) (r.p - 1 - name);
				skip_ws(&r);
				if (r.p >= r.end || *r.p != ':')
					return -1;
				r.p++;
				skip_ws(&r);
			}
			value = r.p;
			if (!skip_value(&r, 1))
				return -1;
			if ((rc = fn(cls, name, name_len, value, (size_t) (r.p - value))) != 0)
				return rc;
			skip_ws(&r);
			if (r.p < r.end && *r.p == ',')
			{
				r.p++;
				continue;
			}
			if (r.p < r.end && *r.p == close)
			{
				r.p++;
				break;
			}
			return -1;
		}
	}
	skip_ws(&r);
	return r.p == r.end ? 0 : -1;
}

/* Public entry: see json.h. */
int
json_each_member_raw(const char *text, size_t len, json_raw_fn fn, void *cls)
{
	return walk_raw(text, len, '{', fn, cls);
}

/* Public entry: see json.h. */
int
json_each_element_raw(const char *text, size_t len, json_raw_fn fn, void *cls)
{
	return walk_raw(text, len, '[', fn, cls);
}

/* Public entry: see json.h.  Strings are copied as they are (escapes kept), so no newline can appear. */
void
jb_json_compact(jbuf *b, const char *s, size_t n)
{
	const char *run = s;
	bool		in_string = false;

	for (size_t i = 0; i < n; i++)
	{
		char		c = s[i];

		if (in_string)
		{
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
			continue;
		}
		if (c == '"')
			in_string = true;
		else if (c == ' ' || c == '\t' || c == '\n' || c == '\r')
		{
			jb_append(b, run, (size_t) (s + i - run));
			run = s + i + 1;
		}
	}
	jb_append(b, run, (size_t) (s + n - run));
}
