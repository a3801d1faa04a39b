/*
 * routes.c: the metrics route-label table.  It holds the shim's own paths
 * and, loaded once at start (routes_load_from_database), the path patterns
 * of the extension's route table, read from metastore.openapi(): so a new
 * route gets its own metrics label without any change here.  A pattern is
 * matched segment by segment against the raw path: a segment written {name}
 * matches any one non-empty segment, anything else must be equal; the match
 * with the most literal segments wins (/records/bulk over /records/{key}).
 * The pattern itself is the label; anything else is "other".  Routing proper
 * lives in the database; this only keeps the metrics' cardinality bounded.
 */
#include "routes.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>

#include "log.h"

/* The shim's own paths; the database's are appended, then "other". */
static const char *const builtin[] = {"/health", "/health/live", "/health/ready", "/metrics",
"/api/v1/events/stream"};

static const char *patterns[ROUTE_MAX];
static size_t npatterns = 0;	/* including the final "other" */

/* Fill the table with the built-in labels (before anything is counted). */
static void
routes_init(void)
{
	if (npatterns > 0)
		return;
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		patterns[npatterns++] = builtin[i];
	patterns[npatterns++] = "other";
}

/*
 * Append the extension's route patterns (called once at start, before the
 * server runs, so the table never changes while metrics count).  On any
 * failure only the built-in labels are used and a warning is logged.
 */
void
routes_load_from_database(const char *conninfo)
{
	PGconn	   *conn;
	PGresult   *res;

	routes_init();
	conn = PQconnectdb(conninfo ? conninfo : "");
	if (PQstatus(conn) != CONNECTION_OK)
	{
		log_msgf(LOG_WARN, "route labels: cannot connect, metrics label routes as \"other\"");
		PQfinish(conn);
		return;
	}
	res = PQexec(conn, "SELECT jsonb_object_keys(metastore.openapi()->'paths')");
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
		log_msgf(LOG_WARN, "route labels: cannot read metastore.openapi(), metrics label routes as \"other\"");
	else
	{
		size_t		other = npatterns - 1;

		for (int i = 0; i < PQntuples(res) && other + 1 < ROUTE_MAX; i++)
		{
			const char *p = PQgetvalue(res, i, 0);
			bool		dup = false;

			for (size_t j = 0; j < other; j++)
				dup = dup || strcmp(patterns[j], p) == 0;
			if (!dup && (patterns[other] = strdup(p)) != NULL)
				other++;
		}
		patterns[other] = "other";
		npatterns = other + 1;
	}
	PQclear(res);
	PQfinish(conn);
}

/* Lets metrics size its arrays from the table. */
size_t
route_count(void)
{
	routes_init();
	return npatterns;
}

/* Lets metrics print the label of a counter. */
const char *
route_label(size_t i)
{
	routes_init();
	return i < npatterns ? patterns[i] : patterns[npatterns - 1];
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

/* Literal (non-{param}) segments of a pattern: the more, the more specific. */
static int
literals(const char *pat)
{
	int			n = 0;

	for (const char *p = pat; *p; p++)
		if (*p == '/' && p[1] != '{' && p[1] != '\0')
			n++;
	return n;
}

/* Linear scan for the most specific match: the table is short. */
size_t
route_match(const char *path, size_t len)
{
	size_t		best = npatterns - 1;
	int			best_literals = -1;

	routes_init();
	for (size_t i = 0; i + 1 < npatterns; i++)
	{
		if (matches(patterns[i], path, path + len))
		{
			int			l = literals(patterns[i]);

			if (l > best_literals)
			{
				best = i;
				best_literals = l;
			}
		}
	}
	return best;
}
