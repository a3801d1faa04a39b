/*
 * log.h: one JSON object per line on stderr, the only output channel of the
 * running shim (collectors parse it; nothing else writes to stderr once the
 * configuration has been accepted -- command-line errors are plain text).
 */
#ifndef MS_SHIM_LOG_H
#define MS_SHIM_LOG_H

#include <stdbool.h>

typedef enum log_level
{
	LOG_DEBUG = 0,
	LOG_INFO = 1,
	LOG_WARN = 2,
	LOG_ERROR = 3
} log_level;

/* "debug" | "info" | "warn" | "error" (case-insensitive); false when unknown. */
bool		log_parse_level(const char *s, log_level *out);
void		log_set_level(log_level level);
bool		log_enabled(log_level level);

/*
 * Write {"ts":...,"level":...,"msg":msg<,fields>}; fields is a fragment of
 * already-encoded members without braces ("\"port\":8002"), or NULL.
 */
void		log_event(log_level level, const char *msg, const char *fields);

/* Like log_event with a printf-formatted message and no fields. */
void		log_msgf(log_level level, const char *fmt,...) __attribute__((format(printf, 2, 3)));

#endif
