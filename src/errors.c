/*
 * errors.c: SQLSTATE -> HTTP status, the one map the REST layer uses.
 *
 * Every code of errors.h has its status here; test/docs/errors.t checks
 * this table, the comments in errors.h and docs/errors.md against each
 * other.  Codes PostgreSQL raises on its own fall back by class.
 */
#include "postgres.h"

#include "errors.h"
#include "http.h"

static const struct
{
	int			sqlerrcode;
	int			http;
}			http_map[] =
{
	{MS_ERRCODE_VERSION_CONFLICT, 409},
	{MS_ERRCODE_NOT_FOUND, 404},
	{MS_ERRCODE_ACCESS_DENIED, 403},
	{MS_ERRCODE_BAD_CREDENTIALS, 401},
	{MS_ERRCODE_NOT_CONFIGURED, 503},
	{MS_ERRCODE_METHOD_NOT_ALLOWED, 405},
	{MS_ERRCODE_UNSUPPORTED_MEDIA, 415},
	{MS_ERRCODE_TIMEOUT, 504},
	{MS_ERRCODE_BAD_ENCODING, 400},
	{MS_ERRCODE_NULL_VALUE, 400},
	{MS_ERRCODE_INVALID_VALUE, 422},
	{MS_ERRCODE_TOO_LONG, 422},
	{MS_ERRCODE_LIMIT_EXCEEDED, 413},
	{MS_ERRCODE_MALFORMED, 400},
	{MS_ERRCODE_RETRY, 409},
	{MS_ERRCODE_BAD_CURSOR, 400},
	{MS_ERRCODE_ILLEGAL_TRANSITION, 409},
};

/*
 * The HTTP status for an error.  `conditional`: the request carried If-Match
 * or If-None-Match, so a version conflict is a failed precondition (412).
 */
int
ms_http_status(int sqlerrcode, bool conditional)
{
	if (sqlerrcode == MS_ERRCODE_VERSION_CONFLICT && conditional)
		return 412;
	for (int i = 0; i < (int) lengthof(http_map); i++)
		if (http_map[i].sqlerrcode == sqlerrcode)
			return http_map[i].http;
	switch (ERRCODE_TO_CATEGORY(sqlerrcode))
	{
		case ERRCODE_DATA_EXCEPTION:	/* class 22: bad input */
			return 400;
		case ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION:	/* class 23 */
			return 409;
		case ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION:	/* class 28 */
			return 401;
		case ERRCODE_TRANSACTION_ROLLBACK:	/* class 40: retry */
			return 409;
		case ERRCODE_PROGRAM_LIMIT_EXCEEDED:	/* class 54, e.g. 54001: JSON nested too deep to parse */
			return 413;
		case ERRCODE_INSUFFICIENT_RESOURCES:	/* class 53 */
		case ERRCODE_CONNECTION_EXCEPTION:	/* class 08 */
		case ERRCODE_OPERATOR_INTERVENTION:	/* class 57, except timeouts below */
			if (sqlerrcode == ERRCODE_QUERY_CANCELED)
				return 504;
			return 503;
		default:
			return 500;
	}
}
