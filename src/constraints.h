/*
 * constraints.h: the value operators of flag constraints (Unleash's set and
 * ours), each parsed once when a flag is compiled and applied per evaluation.
 *
 * Every parser here is "soft": it reports failure instead of raising, so the
 * same code serves strict validation (put_flag rejects the flag) and
 * Unleash's lenient semantics (an unusable value never matches).
 */
#ifndef METASTORE_CONSTRAINTS_H
#define METASTORE_CONSTRAINTS_H

#include "postgres.h"

#include "datatype/timestamp.h"
#include "regex/regex.h"

/* A semantic version (semver.org 2.0.0); build metadata is ignored. */
typedef struct MsSemver
{
	int64		major,
				minor,
				patch;
	int			nprerelease;
	char	  **prerelease;		/* identifiers, NUL-terminated */
} MsSemver;

/* An IPv4 or IPv6 network: family, address bytes and prefix length. */
typedef struct MsCidr
{
	int			family;			/* 4 or 6 */
	unsigned char addr[16];
	int			bits;
} MsCidr;

/* A regular expression in RE2 syntax, translated and compiled for PostgreSQL. */
typedef struct MsRegex
{
	regex_t		re;
} MsRegex;

extern bool ms_parse_semver(const char *s, int len, MsSemver *out);
extern int	ms_semver_cmp(const MsSemver *a, const MsSemver *b);
extern bool ms_parse_cidr(const char *s, int len, MsCidr *out);
extern bool ms_parse_ip(const char *s, int len, MsCidr *out);
extern bool ms_cidr_contains(const MsCidr *net, const MsCidr *ip);
extern bool ms_parse_iso_timestamp(const char *s, int len, TimestampTz *out);
extern bool ms_parse_js_number(const char *s, int len, double *out);
extern bool ms_regex_compile(const char *pattern, int len, bool case_insensitive,
							 MsRegex *out, char **why);
extern bool ms_regex_match(MsRegex *re, const char *s, int len);

#endif
