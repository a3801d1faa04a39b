/*
 * main.c: configuration (flags override environment), signal handling and
 * the start-up / graceful-shutdown sequence of metastore-http.
 */
#include "log.h"
#include "routes.h"
#include "server.h"
#include "json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef METASTORE_VERSION
#error "METASTORE_VERSION must be defined (the Makefile reads it from metastore.control)"
#endif

#define EXIT_USAGE 2

enum
{
	OPT_PORT, OPT_DATABASE_URL, OPT_POOL_SIZE, OPT_BODY_LIMIT, OPT_POOL_TIMEOUT_MS,
	OPT_REQUEST_TIMEOUT, OPT_LOG_LEVEL, OPT_LISTEN, OPT_MAX_CONNECTIONS, OPT_SHUTDOWN_TIMEOUT,
	OPT_SSE_HEARTBEAT_MS, OPT_SSE_MAX_STREAMS,
	NOPTS
};

typedef struct option_def
{
	const char *flag;
	const char *env;
	const char *def;
	const char *help;
} option_def;

/* Every setting once: flag, environment variable, default, help text. */
static const option_def options[NOPTS] = {
	[OPT_PORT] = {"--port", "APP_PORT", "8002", "TCP port to listen on (1..65535)"},
	[OPT_DATABASE_URL] = {"--database-url", "DATABASE_URL", "", "libpq connection string or URI (empty: libpq defaults / PG* environment)"},
	[OPT_POOL_SIZE] = {"--pool-size", "METASTORE_POOL_SIZE", "8", "database connections (1..1000)"},
	[OPT_BODY_LIMIT] = {"--body-limit", "METASTORE_BODY_LIMIT", "1048576", "largest request body in bytes (1..1073741824)"},
	[OPT_POOL_TIMEOUT_MS] = {"--pool-timeout-ms", "METASTORE_POOL_TIMEOUT_MS", "5000", "wait for a free connection before 504 (0..600000 ms)"},
	[OPT_REQUEST_TIMEOUT] = {"--request-timeout", "METASTORE_REQUEST_TIMEOUT", "30", "idle connection timeout in seconds (1..86400)"},
	[OPT_LOG_LEVEL] = {"--log-level", "LOG_LEVEL", "info", "debug | info | warn | error"},
	[OPT_LISTEN] = {"--listen", "METASTORE_LISTEN", "127.0.0.1", "IPv4 or IPv6 address to bind"},
	[OPT_MAX_CONNECTIONS] = {"--max-connections", "METASTORE_MAX_CONNECTIONS", "256", "concurrent HTTP connections, one thread each (1..10000)"},
	[OPT_SHUTDOWN_TIMEOUT] = {"--shutdown-timeout", "METASTORE_SHUTDOWN_TIMEOUT", "10", "seconds in-flight requests get to finish on SIGTERM (0..3600)"},
	[OPT_SSE_HEARTBEAT_MS] = {"--sse-heartbeat-ms", "METASTORE_SSE_HEARTBEAT_MS", "15000", "event streams: heartbeat and re-check after this long without output (100..3600000 ms)"},
	[OPT_SSE_MAX_STREAMS] = {"--sse-max-streams", "METASTORE_SSE_MAX_STREAMS", "64", "event streams open at a time, one database connection each; 0 turns them off (0..10000)"},
};

/* Where each value came from, for error messages that name the culprit. */
typedef struct setting
{
	const char *value;
	char		source[64];
} setting;

/* --help text, generated from the table so it cannot drift from the parser. */
static void
usage(FILE *out)
{
	fprintf(out, "usage: metastore-http [options]\n\n"
			"HTTP front end of the metastore PostgreSQL extension (built for extension version %s).\n"
			"Every option can also be set by the environment variable shown; a flag wins.\n\n",
			METASTORE_VERSION);
	for (int i = 0; i < NOPTS; i++)
		fprintf(out, "  %-20s %-28s %s (default: %s)\n", options[i].flag, options[i].env, options[i].help,
				options[i].def[0] ? options[i].def : "empty");
	fprintf(out, "  %-20s %-28s %s\n", "--help", "", "print this help and exit");
	fprintf(out, "  %-20s %-28s %s\n", "--version", "", "print the version and exit");
}

/* Configuration errors end the process with status 2 and one clear line. */
static void
die_usage(const char *fmt, const char *a, const char *b)
{
	fprintf(stderr, "metastore-http: ");
	fprintf(stderr, fmt, a, b);
	fprintf(stderr, "\ntry 'metastore-http --help'\n");
	exit(EXIT_USAGE);
}

/* Strict integer parsing: digits only, inside [min, max]. */
static long long
parse_int(const setting *s, long long min, long long max)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(s->value, &end, 10);
	if (s->value[0] == '\0' || *end != '\0' || errno != 0 || v < min || v > max)
	{
		fprintf(stderr, "metastore-http: invalid value '%s' for %s: expected an integer in %lld..%lld\n"
				"try 'metastore-http --help'\n", s->value, s->source, min, max);
		exit(EXIT_USAGE);
	}
	return v;
}

/* Flags first (--name value or --name=value), then the environment, then the default. */
static void
load_settings(int argc, char **argv, setting *set)
{
	for (int i = 0; i < NOPTS; i++)
	{
		set[i].value = NULL;
		set[i].source[0] = '\0';
	}
	for (int a = 1; a < argc; a++)
	{
		const char *arg = argv[a];
		const char *eq = strchr(arg, '=');
		size_t		nlen = eq ? (size_t) (eq - arg) : strlen(arg);
		int			found = -1;

		if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0)
		{
			usage(stdout);
			exit(0);
		}
		if (strcmp(arg, "--version") == 0)
		{
			printf("metastore-http %s\n", METASTORE_VERSION);
			exit(0);
		}
		for (int i = 0; i < NOPTS; i++)
			if (strlen(options[i].flag) == nlen && strncmp(arg, options[i].flag, nlen) == 0)
				found = i;
		if (found < 0)
			die_usage("unknown argument '%s'%s", arg, "");
		if (eq)
			set[found].value = eq + 1;
		else if (a + 1 < argc)
			set[found].value = argv[++a];
		else
			die_usage("%s needs a value%s", options[found].flag, "");
		snprintf(set[found].source, sizeof(set[found].source), "%s", options[found].flag);
	}
	for (int i = 0; i < NOPTS; i++)
	{
		if (set[i].value)
			continue;
		set[i].value = getenv(options[i].env);
		if (set[i].value)
			snprintf(set[i].source, sizeof(set[i].source), "%s", options[i].env);
		else
		{
			set[i].value = options[i].def;
			snprintf(set[i].source, sizeof(set[i].source), "the default of %s", options[i].flag);
		}
	}
}

/* Turn the raw settings into a validated server configuration. */
static void
build_config(const setting *set, server_config *cfg, int *shutdown_timeout_s)
{
	log_level	level;
	unsigned char addrbuf[sizeof(struct in6_addr)];

	cfg->port = (int) parse_int(&set[OPT_PORT], 1, 65535);
	cfg->database_url = set[OPT_DATABASE_URL].value;
	cfg->pool_size = (int) parse_int(&set[OPT_POOL_SIZE], 1, 1000);
	cfg->body_limit = (size_t) parse_int(&set[OPT_BODY_LIMIT], 1, 1073741824LL);
	cfg->pool_timeout_ms = (int) parse_int(&set[OPT_POOL_TIMEOUT_MS], 0, 600000);
	cfg->request_timeout_s = (int) parse_int(&set[OPT_REQUEST_TIMEOUT], 1, 86400);
	cfg->max_connections = (int) parse_int(&set[OPT_MAX_CONNECTIONS], 1, 10000);
	*shutdown_timeout_s = (int) parse_int(&set[OPT_SHUTDOWN_TIMEOUT], 0, 3600);
	cfg->sse_heartbeat_ms = (int) parse_int(&set[OPT_SSE_HEARTBEAT_MS], 100, 3600000);
	cfg->sse_max_streams = (int) parse_int(&set[OPT_SSE_MAX_STREAMS], 0, 10000);
	if (!log_parse_level(set[OPT_LOG_LEVEL].value, &level))
		die_usage("invalid value '%s' for %s (debug, info, warn or error)", set[OPT_LOG_LEVEL].value,
				  set[OPT_LOG_LEVEL].source);
	log_set_level(level);
	cfg->listen = set[OPT_LISTEN].value;
	if (inet_pton(AF_INET, cfg->listen, addrbuf) != 1 && inet_pton(AF_INET6, cfg->listen, addrbuf) != 1)
		die_usage("invalid value '%s' for %s (an IPv4 or IPv6 address)", cfg->listen, set[OPT_LISTEN].source);
}

/* Monotonic seconds for the drain deadline. */
static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

/*
 * Wait until no request is in flight or the deadline passes; a second
 * SIGTERM/SIGINT cuts the wait short.  true when drained.
 */
static bool
drain(const sigset_t *sigs, double seconds)
{
	double		deadline = now_s() + seconds;
	struct timespec tick = {0, 20 * 1000000L};

	while (server_inflight() > 0)
	{
		if (now_s() >= deadline)
			return false;
		if (sigtimedwait(sigs, NULL, &tick) > 0)
		{
			log_event(LOG_WARN, "second signal: not waiting for in-flight requests", NULL);
			return false;
		}
	}
	return true;
}

/* Start, wait for SIGTERM/SIGINT, shut down gracefully, exit 0. */
int
main(int argc, char **argv)
{
	setting		set[NOPTS];
	server_config cfg;
	int			shutdown_timeout_s;
	sigset_t	sigs;
	int			sig = 0;
	jbuf		f;

	load_settings(argc, argv, set);
	build_config(set, &cfg, &shutdown_timeout_s);

	/*
	 * Block the stop signals before any thread exists, so every thread
	 * inherits the mask and only sigwait() below receives them.  SIGPIPE is
	 * ignored: a client that hangs up must not kill the process.
	 */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	/* metrics label each route of the extension's table (read once, before serving) */
	routes_load_from_database(cfg.database_url);
	if (!server_start(&cfg))
		return 1;

	jb_init(&f);
	jb_puts(&f, "\"listen\":");
	jb_string(&f, cfg.listen, strlen(cfg.listen));
	jb_printf(&f, ",\"port\":%d,\"pool_size\":%d,\"body_limit\":%zu,\"pool_timeout_ms\":%d,"
			  "\"request_timeout_s\":%d,\"max_connections\":%d,\"sse_heartbeat_ms\":%d,"
			  "\"sse_max_streams\":%d,\"extension_version\":\"%s\"",
			  cfg.port, cfg.pool_size, cfg.body_limit, cfg.pool_timeout_ms, cfg.request_timeout_s,
			  cfg.max_connections, cfg.sse_heartbeat_ms, cfg.sse_max_streams, METASTORE_VERSION);
	log_event(LOG_INFO, "metastore-http started", f.data);
	jb_free(&f);

	while (sig != SIGTERM && sig != SIGINT)
	{
		if (sigwait(&sigs, &sig) != 0)
			sig = 0;
	}

	jb_init(&f);
	jb_printf(&f, "\"signal\":\"%s\",\"inflight\":%ld,\"shutdown_timeout_s\":%d",
			  sig == SIGTERM ? "SIGTERM" : "SIGINT", server_inflight(), shutdown_timeout_s);
	log_event(LOG_INFO, "shutting down: no new connections, finishing in-flight requests", f.data);
	jb_free(&f);

	server_quiesce();
	if (!drain(&sigs, shutdown_timeout_s))
	{
		log_msgf(LOG_WARN, "%ld request(s) still in flight: cancelling their statements", server_inflight());
		server_abort_inflight();
		drain(&sigs, 2.0);
	}
	server_stop();
	log_event(LOG_INFO, "metastore-http stopped", NULL);
	return 0;
}
