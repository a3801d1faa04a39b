/*
 * routes.c: the metrics route-label table.  Adding a route is one line in
 * `patterns`.  A pattern is matched segment by segment against the raw path:
 * a segment written {name} matches any one non-empty segment, a final "**"
 * matches any remainder (including none), anything else must be equal.  The
 * first match wins, so put literals (/records/bulk) before wildcards
 * (/records/{key}).  The pattern itself is the label.  Routing proper lives
 * in the database; this only keeps the metrics' cardinality bounded.
 */
#include "routes.h"

#include <string.h>

static const char *const patterns[] = {
	"/health",
	"/health/live",
	"/health/ready",
	"/metrics",
	"/openapi.json",
	"/records",
	"/records/bulk",
	"/records/{key}",
	"/records/{key}/history",
	"/records/{key}/rollback/{version}",
	"/api/v1/metadata/**",
	"other",					/* must stay last: the catch-all */
};

#define NPATTERNS (sizeof(patterns) / sizeof(patterns[0]))
_Static_assert(NPATTERNS <= ROUTE_MAX, "raise ROUTE_MAX in routes.h");

/* Lets metrics size its arrays from the table. */
size_t
route_count(void)
{
	return NPATTERNS;
}

/* Lets metrics print the label of a counter. */
const char *
route_label(size_t i)
{
	return i < NPATTERNS ? patterns[i] : patterns[NPATTERNS - 1];
}

/* Walk pattern and path in lockstep, one '/'-separated segment at a time. */
static int
matches(const char *pat, const char *path, const char *end)
{
	while (*pat)
	{
		const char *pseg;
		size_t		plen;
		const char *sseg;
		size_t		slen;

		if (*pat != '/')
			return 0;
		pat++;
		pseg = pat;
		while (*pat && *pat != '/')
			pat++;
		plen = (size_t) (pat - pseg);
		if (plen == 2 && memcmp(pseg, "**", 2) == 0 && *pat == '\0')
			return 1;
		if (path >= end || *path != '/')
			return 0;
		path++;
		sseg = path;
		while (path < end && *path != '/')
			path++;
		slen = (size_t) (path - sseg);
		if (plen >= 2 && pseg[0] == '{' && pseg[plen - 1] == '}')
		{
			if (slen == 0)
				return 0;
		}
		else if (plen != slen || memcmp(pseg, sseg, plen) != 0)
			return 0;
	}
	return path == end;
}

/* Linear scan: the table is short and the scan is a few dozen byte compares. */
size_t
route_match(const char *path, size_t len)
{
	for (size_t i = 0; i + 1 < NPATTERNS; i++)
	{
		if (matches(patterns[i], path, path + len))
			return i;
	}
	return NPATTERNS - 1;
}
