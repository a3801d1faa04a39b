/*
 * errors.h: every SQLSTATE the metastore extension raises, in one place.
 *
 * docs/errors.md lists each code with its meaning and HTTP status;
 * test/docs/errors.t fails when the two drift apart.  Codes of our own live
 * in class "MS" (implementation-defined classes start with I..Z); where the
 * SQL standard already has a fitting code we use it.
 */
#ifndef METASTORE_ERRORS_H
#define METASTORE_ERRORS_H

#include "utils/elog.h"

/* MS409: expected_version did not match the stored version (HTTP 409, or 412 for If-Match) */
#define MS_ERRCODE_VERSION_CONFLICT		MAKE_SQLSTATE('M','S','4','0','9')
/* MS404: the named resource (or version of it) does not exist or is deleted (HTTP 404) */
#define MS_ERRCODE_NOT_FOUND			MAKE_SQLSTATE('M','S','4','0','4')
/* 42501: the acting principal lacks the role this call needs (HTTP 403) */
#define MS_ERRCODE_ACCESS_DENIED		ERRCODE_INSUFFICIENT_PRIVILEGE
/* 28000: an API key is malformed, unknown, revoked or expired (HTTP 401) */
#define MS_ERRCODE_BAD_CREDENTIALS		ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION
/* MS503: the service cannot answer now: database unreachable, or not configured, e.g. no server secret (HTTP 503) */
#define MS_ERRCODE_NOT_CONFIGURED		MAKE_SQLSTATE('M','S','5','0','3')
/* MS405: the path exists but not with this HTTP method (HTTP 405) */
#define MS_ERRCODE_METHOD_NOT_ALLOWED	MAKE_SQLSTATE('M','S','4','0','5')
/* MS415: an HTTP request body that is not application/json (HTTP 415) */
#define MS_ERRCODE_UNSUPPORTED_MEDIA	MAKE_SQLSTATE('M','S','4','1','5')
/* MS504: no database connection became free in time, or a statement timed out (HTTP 504) */
#define MS_ERRCODE_TIMEOUT				MAKE_SQLSTATE('M','S','5','0','4')
/* 22021: a request body or argument that is not valid UTF-8 (HTTP 400) */
#define MS_ERRCODE_BAD_ENCODING			ERRCODE_CHARACTER_NOT_IN_REPERTOIRE
/* 22004: a required argument was NULL (HTTP 400) */
#define MS_ERRCODE_NULL_VALUE			ERRCODE_NULL_VALUE_NOT_ALLOWED
/* 22023: an argument has a value we do not accept (HTTP 422) */
#define MS_ERRCODE_INVALID_VALUE		ERRCODE_INVALID_PARAMETER_VALUE
/* 22001: a string argument is longer than its documented limit (HTTP 422) */
#define MS_ERRCODE_TOO_LONG				ERRCODE_STRING_DATA_RIGHT_TRUNCATION
/* 54000: a document, batch or HTTP body exceeds a size, count or depth limit (HTTP 413) */
#define MS_ERRCODE_LIMIT_EXCEEDED		ERRCODE_PROGRAM_LIMIT_EXCEEDED
/* 22P02: malformed input text, e.g. JSON that does not parse (HTTP 400) */
#define MS_ERRCODE_MALFORMED			ERRCODE_INVALID_TEXT_REPRESENTATION
/* MS400: a search cursor that was altered, or not issued by this server for this query (HTTP 400) */
#define MS_ERRCODE_BAD_CURSOR			MAKE_SQLSTATE('M','S','4','0','0')
/* MS423: a lifecycle action not allowed in the entity's current state (HTTP 409) */
#define MS_ERRCODE_ILLEGAL_TRANSITION	MAKE_SQLSTATE('M','S','4','2','3')
/* 40001: a concurrent transaction got in the way; retry the whole request (HTTP 409) */
#define MS_ERRCODE_RETRY				ERRCODE_T_R_SERIALIZATION_FAILURE


#endif
