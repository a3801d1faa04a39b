/*
 * log.c: JSON lines on stderr, each written whole under a mutex so that lines
 * from concurrent connection threads never interleave.
 */
#include "log.h"
#include "json.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static const char *const level_names[] = {"debug", "info", "warn", "error"};
static volatile log_level min_level = LOG_INFO;
static pthread_mutex_t write_lock = PTHREAD_MUTEX_INITIALIZER;

/* Configuration accepts the four names operators already know from other services. */
bool
log_parse_level(const char *s, log_level *out)
{
	for (int i = 0; i < 4; i++)
	{
		if (strcasecmp(s, level_names[i]) == 0)
		{
			*out = (log_level) i;
			return true;
		}
	}
	if (strcasecmp(s, "warning") == 0)
	{
		*out = LOG_WARN;
		return true;
	}
	return false;
}

/* Set once at startup, before any thread exists. */
void
log_set_level(log_level level)
{
	min_level = level;
}

/* Lets callers skip building a line nobody will see. */
bool
log_enabled(log_level level)
{
	return level >= min_level;
}

/* ISO 8601 UTC with milliseconds: sortable and unambiguous across hosts. */
static void
put_timestamp(jbuf *b)
{
	struct timespec ts;
	struct tm	tm;
	char		buf[40];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	jb_printf(b, "\"%s.%03ldZ\"", buf, ts.tv_nsec / 1000000L);
}

/* Write the whole line with as few write(2) calls as possible; retry on short writes. */
static void
write_line(const char *s, size_t n)
{
	while (n > 0)
	{
		ssize_t		w = write(STDERR_FILENO, s, n);

		if (w <= 0)
			return;				/* stderr gone: nothing sensible left to do */
		s += w;
		n -= (size_t) w;
	}
}

/* The one place that formats a log line. */
void
log_event(log_level level, const char *msg, const char *fields)
{
	jbuf		b;

	if (!log_enabled(level))
		return;
	jb_init(&b);
	jb_puts(&b, "{\"ts\":");
	put_timestamp(&b);
	jb_printf(&b, ",\"level\":\"%s\"", level_names[level]);
	if (msg)
	{
		jb_puts(&b, ",\"msg\":");
		jb_string(&b, msg, strlen(msg));
	}
	if (fields && fields[0])
	{
		jb_putc(&b, ',');
		jb_puts(&b, fields);
	}
	jb_puts(&b, "}\n");
	if (!b.failed)
	{
		/* lines longer than PIPE_BUF are not atomic on a pipe: serialise them */
		pthread_mutex_lock(&write_lock);
		write_line(b.data, b.len);
		pthread_mutex_unlock(&write_lock);
	}
	jb_free(&b);
}

/* For the occasional formatted message (startup, library errors). */
void
log_msgf(log_level level, const char *fmt,...)
{
	char		buf[1024];
	va_list		ap;
	size_t		n;

	if (!log_enabled(level))
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	log_event(level, buf, NULL);
}
