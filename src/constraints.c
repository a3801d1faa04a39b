/*
 * constraints.c: parsers and comparisons behind the constraint operators.
 *
 * Semantics follow Unleash's reference evaluator (Yggdrasil, whose results
 * the client specification encodes): strict semver (no "v" prefix),
 * RE2 regular expressions, ISO-8601 dates with zones, JavaScript-style
 * number parsing, IPv4 and IPv6 networks.  RE2 patterns are translated into
 * PostgreSQL's ARE dialect; constructs RE2 does not have (backreferences,
 * lookaround) or that have no faithful translation are rejected, so a
 * pattern never means something else here than under Unleash.
 */
#include "postgres.h"

#include <arpa/inet.h>
#include <math.h>

#include "catalog/pg_collation_d.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "utils/datetime.h"
#include "utils/float.h"
#include "utils/formatting.h"
#include "utils/timestamp.h"

#include "constraints.h"

/* ---- semver ---- */

/* A numeric semver identifier: digits, no leading zero, at most 2^53-1. */
static bool
semver_number(const char *s, int len, int64 *out)
{
	int64		v = 0;

	if (len == 0 || len > 16 || (len > 1 && s[0] == '0'))
		return false;
	for (int i = 0; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (v > INT64CONST(9007199254740991))
		return false;
	*out = v;
	return true;
}

/* An identifier made of [0-9A-Za-z-]; numeric ones must not have leading zeros. */
static bool
semver_ident(const char *s, int len, bool prerelease)
{
	bool		numeric = true;

	if (len == 0)
		return false;
	for (int i = 0; i < len; i++)
	{
		char		c = s[i];

		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
			  (c >= 'A' && c <= 'Z') || c == '-'))
			return false;
		if (c < '0' || c > '9')
			numeric = false;
	}
	if (prerelease && numeric && len > 1 && s[0] == '0')
		return false;
	return true;
}

/* Parse MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD] exactly (semver.org 2.0.0). */
bool
ms_parse_semver(const char *s, int len, MsSemver *out)
{
	const char *end = s + len;
	const char *p = s;
	int64		parts[3];
	const char *pre = NULL,
			   *pre_end = NULL;

	for (int i = 0; i < 3; i++)
	{
		const char *q = p;

		while (q < end && *q >= '0' && *q <= '9')
			q++;
		if (!semver_number(p, q - p, &parts[i]))
			return false;
		p = q;
		if (i < 2)
		{
			if (p >= end || *p != '.')
				return false;
			p++;
		}
	}
	if (p < end && *p == '-')
	{
		pre = ++p;
		while (p < end && *p != '+')
			p++;
		pre_end = p;
	}
	if (p < end && *p == '+')
	{
		const char *b = ++p;

		/* build identifiers: validated, then ignored */
		for (const char *q = b;; q++)
			if (q == end || *q == '.')
			{
				if (!semver_ident(b, q - b, false))
					return false;
				if (q == end)
					break;
				b = q + 1;
			}
		p = end;
	}
	if (p != end)
		return false;

	out->major = parts[0];
	out->minor = parts[1];
	out->patch = parts[2];
	out->nprerelease = 0;
	out->prerelease = NULL;
	if (pre != NULL)
	{
		int			n = 1;
		const char *b = pre;

		for (const char *q = pre; q < pre_end; q++)
			if (*q == '.')
				n++;
		out->prerelease = palloc(sizeof(char *) * n);
		for (const char *q = pre;; q++)
			if (q == pre_end || *q == '.')
			{
				if (!semver_ident(b, q - b, true))
					return false;
				out->prerelease[out->nprerelease++] = pnstrdup(b, q - b);
				if (q == pre_end)
					break;
				b = q + 1;
			}
	}
	return true;
}

/* An identifier made only of digits. */
static bool
all_digits(const char *s)
{
	for (; *s; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* Precedence of two versions (semver.org 2.0.0, section 11): <0, 0, >0. */
int
ms_semver_cmp(const MsSemver *a, const MsSemver *b)
{
	if (a->major != b->major)
		return a->major < b->major ? -1 : 1;
	if (a->minor != b->minor)
		return a->minor < b->minor ? -1 : 1;
	if (a->patch != b->patch)
		return a->patch < b->patch ? -1 : 1;
	/* a version without prerelease outranks one with */
	if (a->nprerelease == 0 || b->nprerelease == 0)
		return (a->nprerelease == 0) - (b->nprerelease == 0);
	for (int i = 0; i < a->nprerelease && i < b->nprerelease; i++)
	{
		const char *x = a->prerelease[i];
		const char *y = b->prerelease[i];
		bool		xn = all_digits(x),
					yn = all_digits(y);

		if (xn && yn)
		{
			size_t		lx = strlen(x),
						ly = strlen(y);

			if (lx != ly)
				return lx < ly ? -1 : 1;
		}
		else if (xn != yn)
			return xn ? -1 : 1;
		{
			int			c = strcmp(x, y);

			if (c != 0)
				return c < 0 ? -1 : 1;
		}
	}
	if (a->nprerelease != b->nprerelease)
		return a->nprerelease < b->nprerelease ? -1 : 1;
	return 0;
}

/* ---- IP networks ---- */

/* Parse a bare IPv4 or IPv6 address (a host: all bits significant). */
bool
ms_parse_ip(const char *s, int len, MsCidr *out)
{
	char		buf[64];

	if (len <= 0 || len >= (int) sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(out, 0, sizeof(*out));
	if (inet_pton(AF_INET, buf, out->addr) == 1)
	{
		out->family = 4;
		out->bits = 32;
		return true;
	}
	if (inet_pton(AF_INET6, buf, out->addr) == 1)
	{
		out->family = 6;
		out->bits = 128;
		return true;
	}
	return false;
}

/* Parse ADDRESS[/BITS]; a bare address is a single host. */
bool
ms_parse_cidr(const char *s, int len, MsCidr *out)
{
	const char *slash = memchr(s, '/', len);
	int			bits = 0;

	if (slash == NULL)
		return ms_parse_ip(s, len, out);
	if (!ms_parse_ip(s, slash - s, out))
		return false;
	if (slash + 1 == s + len || s + len - (slash + 1) > 3)
		return false;
	for (const char *p = slash + 1; p < s + len; p++)
	{
		if (*p < '0' || *p > '9')
			return false;
		bits = bits * 10 + (*p - '0');
	}
	if (bits > (out->family == 4 ? 32 : 128))
		return false;
	out->bits = bits;
	return true;
}

/* The address ip lies in network net (same family, first net->bits bits equal). */
bool
ms_cidr_contains(const MsCidr *net, const MsCidr *ip)
{
	int			full = net->bits / 8,
				rest = net->bits % 8;

	if (net->family != ip->family)
		return false;
	if (memcmp(net->addr, ip->addr, full) != 0)
		return false;
	if (rest == 0)
		return true;
	return ((net->addr[full] ^ ip->addr[full]) & (0xFF << (8 - rest)) & 0xFF) == 0;
}

/* ---- ISO-8601 timestamps ---- */

/* Read exactly n digits at *p. */
static bool
read_digits(const char **p, const char *end, int n, int *out)
{
	int			v = 0;

	if (end - *p < n)
		return false;
	for (int i = 0; i < n; i++)
	{
		char		c = (*p)[i];

		if (c < '0' || c > '9')
			return false;
		v = v * 10 + (c - '0');
	}
	*p += n;
	*out = v;
	return true;
}

/*
 * Parse YYYY-MM-DD[(T| )HH:MM[:SS[.fraction]]][Z|+HH[:MM]|-HH[:MM]].
 * A timestamp without a zone is UTC (as JavaScript reads a date-only value).
 */
bool
ms_parse_iso_timestamp(const char *s, int len, TimestampTz *out)
{
	const char *p = s,
			   *end = s + len;
	struct pg_tm tm;
	fsec_t		fsec = 0;
	int			tz = 0;
	Timestamp	ts;

	memset(&tm, 0, sizeof(tm));
	if (!read_digits(&p, end, 4, &tm.tm_year) || p >= end || *p++ != '-' ||
		!read_digits(&p, end, 2, &tm.tm_mon) || p >= end || *p++ != '-' ||
		!read_digits(&p, end, 2, &tm.tm_mday))
		return false;
	if (p < end && (*p == 'T' || *p == 't' || *p == ' '))
	{
		p++;
		if (!read_digits(&p, end, 2, &tm.tm_hour) || p >= end || *p++ != ':' ||
			!read_digits(&p, end, 2, &tm.tm_min))
			return false;
		if (p < end && *p == ':')
		{
			p++;
			if (!read_digits(&p, end, 2, &tm.tm_sec))
				return false;
			if (p < end && (*p == '.' || *p == ','))
			{
				int			scale = 100000;

				p++;
				if (p >= end || *p < '0' || *p > '9')
					return false;
				while (p < end && *p >= '0' && *p <= '9')
				{
					fsec += (*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
		}
		if (p < end && (*p == 'Z' || *p == 'z'))
			p++;
		else if (p < end && (*p == '+' || *p == '-'))
		{
			int			sign = *p++ == '+' ? 1 : -1;
			int			hh,
						mm = 0;

			if (!read_digits(&p, end, 2, &hh))
				return false;
			if (p < end && *p == ':')
				p++;
			if (p < end && !read_digits(&p, end, 2, &mm))
				return false;
			if (hh > 23 || mm > 59)
				return false;
			tz = -sign * (hh * 3600 + mm * 60);		/* PostgreSQL: seconds west */
		}
	}
	if (p != end)
		return false;
	if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 ||
		tm.tm_mday > day_tab[isleap(tm.tm_year)][tm.tm_mon - 1] ||
		tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
		return false;
	if (tm2timestamp(&tm, fsec, &tz, &ts) != 0)
		return false;
	*out = (TimestampTz) ts;
	return true;
}

/* ---- numbers ---- */

/* JavaScript's white space, as Number() trims it (ASCII part). */
static bool
js_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

/*
 * Number(s) of JavaScript, which Unleash's operators use: trimmed decimal
 * (with exponent), Infinity, 0x/0o/0b integers; "" is 0.  NaN is "no number".
 */
bool
ms_parse_js_number(const char *s, int len, double *out)
{
	char		buf[128];
	const char *p,
			   *end = s + len;
	char	   *stop;

	while (s < end && js_space(*s))
		s++;
	while (end > s && js_space(end[-1]))
		end--;
	len = end - s;
	if (len == 0)
	{
		*out = 0;
		return true;
	}
	if (len >= (int) sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';

	p = buf;
	if (strcmp(p, "Infinity") == 0 || strcmp(p, "+Infinity") == 0)
	{
		*out = get_float8_infinity();
		return true;
	}
	if (strcmp(p, "-Infinity") == 0)
	{
		*out = -get_float8_infinity();
		return true;
	}
	if (len > 2 && p[0] == '0' && strchr("xXoObB", p[1]))
	{
		int			base = (p[1] == 'x' || p[1] == 'X') ? 16 : (p[1] == 'o' || p[1] == 'O') ? 8 : 2;
		double		v = 0;

		for (p += 2; *p; p++)
		{
			int			d;

			if (*p >= '0' && *p <= '9')
				d = *p - '0';
			else if (*p >= 'a' && *p <= 'f')
				d = *p - 'a' + 10;
			else if (*p >= 'A' && *p <= 'F')
				d = *p - 'A' + 10;
			else
				return false;
			if (d >= base)
				return false;
			v = v * base + d;
		}
		*out = v;
		return true;
	}
	/* the decimal grammar: [+-] digits [. digits] [e [+-] digits], one side of . non-empty */
	{
		const char *q = p;
		bool		digits = false;

		if (*q == '+' || *q == '-')
			q++;
		while (*q >= '0' && *q <= '9')
			q++, digits = true;
		if (*q == '.')
		{
			q++;
			while (*q >= '0' && *q <= '9')
				q++, digits = true;
		}
		if (!digits)
			return false;
		if (*q == 'e' || *q == 'E')
		{
			q++;
			if (*q == '+' || *q == '-')
				q++;
			if (*q < '0' || *q > '9')
				return false;
			while (*q >= '0' && *q <= '9')
				q++;
		}
		if (*q != '\0')
			return false;
	}
	*out = strtod(buf, &stop);
	return *stop == '\0';
}

/* ---- regular expressions ---- */

/* Translation state of one group level. */
typedef struct ReFlags
{
	bool		ci;				/* (?i): case-insensitive */
	bool		dotall;			/* (?s): . matches \n */
	bool		multiline;		/* (?m): ^ and $ at line ends */
} ReFlags;

#define RE_MAX_DEPTH 64

/* Append an ASCII letter matching both cases when ci is on. */
static void
re_char(StringInfo out, char c, bool ci)
{
	if (ci && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
		appendStringInfo(out, "[%c%c]", pg_tolower((unsigned char) c),
						 pg_toupper((unsigned char) c));
	else
		appendStringInfoChar(out, c);
}

/* The other-case ASCII letter, or 0. */
static char
swap_case(char c)
{
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 'A';
	if (c >= 'A' && c <= 'Z')
		return c - 'A' + 'a';
	return 0;
}

/*
 * Copy one multibyte (UTF-8) character; under (?i) add its other cases, as
 * the database's locale maps them (RE2 folds Unicode case, not only ASCII).
 */
static void
re_multibyte(StringInfo out, const char **p, const char *end, bool ci, bool in_class)
{
	int			len = Min(pg_utf_mblen((const unsigned char *) *p), (int) (end - *p));
	char	   *ch = pnstrdup(*p, len);

	*p += len;
	if (ci)
	{
		char	   *lo = str_tolower(ch, len, DEFAULT_COLLATION_OID);
		char	   *up = str_toupper(ch, len, DEFAULT_COLLATION_OID);

		if (strcmp(lo, ch) != 0 || strcmp(up, ch) != 0)
		{
			appendStringInfo(out, in_class ? "%s%s%s" : "[%s%s%s]", ch, lo, up);
			return;
		}
	}
	appendStringInfoString(out, ch);
}

/* Parse \x{HHHH} or \xHH at p (just after "\x"); returns the code point or -1. */
static long
re_hex_escape(const char **p, const char *end)
{
	long		v = 0;
	int			n = 0;

	if (*p < end && **p == '{')
	{
		(*p)++;
		while (*p < end && **p != '}')
		{
			char		c = **p;
			int			d = (c >= '0' && c <= '9') ? c - '0' :
				(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
				(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;

			if (d < 0 || ++n > 6)
				return -1;
			v = v * 16 + d;
			(*p)++;
		}
		if (*p >= end || n == 0)
			return -1;
		(*p)++;
		return v > 0x10FFFF ? -1 : v;
	}
	for (n = 0; n < 2; n++)
	{
		char		c;
		int			d;

		if (*p >= end)
			return -1;
		c = **p;
		d = (c >= '0' && c <= '9') ? c - '0' :
			(c >= 'a' && c <= 'f') ? c - 'a' + 10 :
			(c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
		if (d < 0)
			return -1;
		v = v * 16 + d;
		(*p)++;
	}
	return v;
}

/*
 * Translate one escape (p just after the backslash), inside or outside a
 * bracket expression.  Returns NULL or the reason it is rejected.
 */
static const char *
re_escape(StringInfo out, const char **p, const char *end, bool in_class, bool ci)
{
	char		c;

	if (*p >= end)
		return "the pattern ends with a backslash";
	c = *(*p)++;
	switch (c)
	{
		case 's':
			/* RE2's \s is [\t\n\f\r ]: PostgreSQL's also takes \v */
			appendStringInfoString(out, in_class ? "\\t\\n\\f\\r " : "[\\t\\n\\f\\r ]");
			return NULL;
		case 'S':
			if (in_class)
				return "\\D, \\S and \\W cannot be used inside brackets here";
			appendStringInfoString(out, "[^\\t\\n\\f\\r ]");
			return NULL;
		case 'd':
		case 'w':
			appendStringInfo(out, "\\%c", c);
			return NULL;
		case 'D':
		case 'W':
			if (in_class)
				return "\\D, \\S and \\W cannot be used inside brackets here";
			appendStringInfo(out, "\\%c", c);
			return NULL;
		case 'b':
		case 'B':
			if (in_class)
				return "\\b inside brackets is not RE2 syntax";
			appendStringInfoString(out, c == 'b' ? "\\y" : "\\Y");
			return NULL;
		case 'A':
			if (in_class)
				return "\\A inside brackets is not RE2 syntax";
			appendStringInfoString(out, "^");
			return NULL;
		case 'z':
			if (in_class)
				return "\\z inside brackets is not RE2 syntax";
			appendStringInfoString(out, "\\Z");
			return NULL;
		case 'n':
		case 't':
		case 'r':
		case 'f':
		case 'v':
		case 'a':
			appendStringInfo(out, "\\%c", c);
			return NULL;
		case 'x':
			{
				long		cp = re_hex_escape(p, end);

				if (cp < 0)
					return "a \\x escape is malformed";
				if (ci && cp < 128 && swap_case((char) cp))
				{
					if (in_class)
						appendStringInfo(out, "%c%c", (char) cp, swap_case((char) cp));
					else
						re_char(out, (char) cp, true);
				}
				else
					appendStringInfo(out, "\\U%08lX", cp);
				return NULL;
			}
		case 'Q':
			{
				/* literal text up to \E */
				while (*p < end)
				{
					if (**p == '\\' && *p + 1 < end && (*p)[1] == 'E')
					{
						*p += 2;
						return NULL;
					}
					if (((unsigned char) **p) >= 0x80 ||
						(**p >= '0' && **p <= '9') ||
						(**p >= 'a' && **p <= 'z') || (**p >= 'A' && **p <= 'Z'))
					{
						if (in_class)
							appendStringInfoChar(out, **p);
						else
							re_char(out, **p, ci);
					}
					else
						appendStringInfo(out, "\\%c", **p);
					(*p)++;
				}
				return NULL;
			}
		case 'E':
			return NULL;
		case 'p':
		case 'P':
			return "Unicode classes (\\p, \\P) are not supported";
		default:
			if (c >= '1' && c <= '9')
				return "RE2 has no backreferences";
			if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
				((unsigned char) c) >= 0x80)
				return "the pattern uses an escape RE2 does not define";
			/* an escaped punctuation character is itself */
			appendStringInfo(out, "\\%c", c);
			return NULL;
	}
}

/* Translate a bracket expression, p just after '['. */
static const char *
re_class(StringInfo out, const char **p, const char *end, bool ci)
{
	bool		first = true;

	appendStringInfoChar(out, '[');
	if (*p < end && **p == '^')
	{
		appendStringInfoChar(out, '^');
		(*p)++;
	}
	for (;;)
	{
		char		c;

		if (*p >= end)
			return "a bracket expression is not closed";
		c = **p;
		if (c == ']' && !first)
		{
			(*p)++;
			appendStringInfoChar(out, ']');
			return NULL;
		}
		first = false;
		if (c == '[' && *p + 1 < end && (*p)[1] == ':')
		{
			const char *close = *p + 2;

			while (close + 1 < end && !(close[0] == ':' && close[1] == ']'))
				close++;
			if (close + 1 >= end)
				return "a [:class:] is not closed";
			/* under (?i) RE2 lets [:upper:] and [:lower:] match either case */
			if (ci && ((close - *p == 7 && strncmp(*p, "[:upper", 7) == 0) ||
					   (close - *p == 7 && strncmp(*p, "[:lower", 7) == 0)))
				appendStringInfoString(out, "[:alpha:]");
			else
				appendBinaryStringInfo(out, *p, close + 2 - *p);
			*p = close + 2;
			continue;
		}
		if (c == '[')
		{
			/* ARE would read [. and [= as collating elements */
			appendStringInfoString(out, "\\[");
			(*p)++;
			continue;
		}
		if (c == '\\')
		{
			const char *why;

			(*p)++;
			why = re_escape(out, p, end, true, ci);
			if (why)
				return why;
			continue;
		}
		/* a multibyte literal that does not start a range */
		if ((unsigned char) c >= 0x80)
		{
			const char *q = *p + pg_utf_mblen((const unsigned char *) *p);

			if (q >= end || *q != '-')
			{
				re_multibyte(out, p, end, ci, true);
				continue;
			}
		}
		/* a literal, possibly the start of a range */
		(*p)++;
		if (*p + 1 < end && **p == '-' && (*p)[1] != ']')
		{
			char		hi = (*p)[1];

			if (hi == '\\' || hi == '[')
				return "a range with an escaped or bracketed end is not supported";
			*p += 2;
			appendStringInfo(out, "%c-%c", c, hi);
			if (ci && swap_case(c) && swap_case(hi) &&
				((c >= 'a' && hi <= 'z') || (c >= 'A' && hi <= 'Z' && c <= 'Z')))
				appendStringInfo(out, "%c-%c", swap_case(c), swap_case(hi));
			continue;
		}
		appendStringInfoChar(out, c);
		if (ci && swap_case(c))
			appendStringInfoChar(out, swap_case(c));
	}
}

/*
 * Translate an RE2 pattern into an ARE.  Returns NULL on success or why the
 * pattern cannot be used.
 */
static const char *
re2_to_are(const char *pat, int len, bool ci, StringInfo out)
{
	const char *p = pat,
			   *end = pat + len;
	ReFlags		stack[RE_MAX_DEPTH];
	int			depth = 0;

	stack[0].ci = ci;
	stack[0].dotall = false;
	stack[0].multiline = false;
	while (p < end)
	{
		char		c = *p;
		ReFlags    *f = &stack[depth];

		switch (c)
		{
			case '\\':
				{
					const char *why;

					p++;
					why = re_escape(out, &p, end, false, f->ci);
					if (why)
						return why;
					break;
				}
			case '[':
				{
					const char *why;

					p++;
					why = re_class(out, &p, end, f->ci);
					if (why)
						return why;
					break;
				}
			case '.':
				p++;
				appendStringInfoString(out, f->dotall ? "(?:.|\\n)" : "[^\\n]");
				break;
			case '^':
				p++;
				appendStringInfoString(out, f->multiline ? "(?:^|(?<=\\n))" : "^");
				break;
			case '$':
				p++;
				appendStringInfoString(out, f->multiline ? "(?:$|(?=\\n))" : "$");
				break;
			case '(':
				{
					ReFlags		inner = *f;
					bool		scoped = true;

					p++;
					if (depth + 1 >= RE_MAX_DEPTH)
						return "groups are nested too deep";
					if (p < end && *p == '?')
					{
						p++;
						if (p < end && (*p == '=' || *p == '!'))
							return "RE2 has no lookahead";
						if (p + 1 < end && *p == '<' && (p[1] == '=' || p[1] == '!'))
							return "RE2 has no lookbehind";
						if (p < end && (*p == 'P' || *p == '<'))
						{
							/* named group: (?P<name>...) or (?<name>...) */
							if (*p == 'P')
								p++;
							if (p >= end || *p != '<')
								return "a named group is malformed";
							while (p < end && *p != '>')
							{
								if (!(isalnum((unsigned char) *p) || *p == '_' || *p == '<'))
									return "a group name is malformed";
								p++;
							}
							if (p >= end)
								return "a group name is not closed";
							p++;
							appendStringInfoChar(out, '(');
						}
						else
						{
							bool		neg = false;

							/* flags: (?flags) or (?flags:...) */
							while (p < end && *p != ')' && *p != ':')
							{
								switch (*p)
								{
									case 'i':
										inner.ci = !neg;
										break;
									case 's':
										inner.dotall = !neg;
										break;
									case 'm':
										inner.multiline = !neg;
										break;
									case 'U':
										break;	/* greediness does not change whether it matches */
									case '-':
										if (neg)
											return "a flag group is malformed";
										neg = true;
										break;
									default:
										return "a group flag is not one of i, m, s, U";
								}
								p++;
							}
							if (p >= end)
								return "a group is not closed";
							if (*p == ')')
							{
								/* (?flags): the rest of the current group */
								p++;
								*f = inner;
								scoped = false;
							}
							else
							{
								p++;
								appendStringInfoString(out, "(?:");
							}
						}
					}
					else
						appendStringInfoChar(out, '(');
					if (scoped)
						stack[++depth] = inner;
					break;
				}
			case ')':
				p++;
				if (depth == 0)
					return "a ) has no (";
				depth--;
				appendStringInfoChar(out, ')');
				break;
			default:
				if ((unsigned char) c >= 0x80)
					re_multibyte(out, &p, end, f->ci, false);
				else
				{
					p++;
					re_char(out, c, f->ci);
				}
				break;
		}
	}
	if (depth != 0)
		return "a group is not closed";
	return NULL;
}

/*
 * Compile an RE2 pattern (caseInsensitive applies to all of it) into `out`,
 * in the current memory context.  On failure returns false and sets *why.
 */
bool
ms_regex_compile(const char *pattern, int len, bool case_insensitive, MsRegex *out,
				 char **why)
{
	StringInfoData are;
	const char *reason;
	pg_wchar   *w;
	int			wlen;
	int			rc;

	initStringInfo(&are);
	reason = re2_to_are(pattern, len, case_insensitive, &are);
	if (reason != NULL)
	{
		*why = pstrdup(reason);
		return false;
	}
	w = palloc((are.len + 1) * sizeof(pg_wchar));
	wlen = pg_mb2wchar_with_len(are.data, w, are.len);
	rc = pg_regcomp(&out->re, w, wlen, REG_ADVANCED, C_COLLATION_OID);
	if (rc != REG_OKAY)
	{
		char		buf[128];

		pg_regerror(rc, &out->re, buf, sizeof(buf));
		*why = pstrdup(buf);
		return false;
	}
	return true;
}

/* The pattern matches somewhere in s (RE2's unanchored search). */
bool
ms_regex_match(MsRegex *re, const char *s, int len)
{
	pg_wchar   *w = palloc((len + 1) * sizeof(pg_wchar));
	int			wlen = pg_mb2wchar_with_len(s, w, len);
	int			rc = pg_regexec(&re->re, w, wlen, 0, NULL, 0, NULL, 0);

	pfree(w);
	if (rc == REG_OKAY)
		return true;
	if (rc != REG_NOMATCH)
	{
		char		buf[128];

		pg_regerror(rc, &re->re, buf, sizeof(buf));
		elog(ERROR, "regular expression failed: %s", buf);
	}
	return false;
}
