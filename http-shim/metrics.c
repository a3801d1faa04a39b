/*
 * metrics.c: request counters per (route, method, status), duration and
 * pool-wait histograms, and the in-flight gauge.  Every label set is fixed
 * and small (routes.c, the methods below, status 100..599), so the storage
 * is static arrays of relaxed atomics: no lock on the request path, no
 * allocation, and nothing a client can grow.
 */
#include "metrics.h"
#include "routes.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#define MAX_ROUTES ROUTE_MAX
#define STATUS_MIN 100
#define STATUS_MAX 599
#define NSTATUS (STATUS_MAX - STATUS_MIN + 1)

static const char *const methods[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "OTHER"};
#define NMETHODS (sizeof(methods) / sizeof(methods[0]))

/* Upper bounds in seconds, 0.5 ms .. 5 s; +Inf is implicit. */
static const double buckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5};
#define NBUCKETS (sizeof(buckets) / sizeof(buckets[0]))

typedef struct histogram
{
	uint64_t	counts[NBUCKETS + 1];	/* non-cumulative; last is +Inf */
	uint64_t	sum_ns;
} histogram;

static uint64_t requests[MAX_ROUTES][NMETHODS][NSTATUS];
static histogram durations[MAX_ROUTES];
static histogram pool_wait;
static long inflight;

_Static_assert(NMETHODS == 8, "methods table");

/* Unknown methods share one label so that clients cannot invent label values. */
static size_t
method_index(const char *m)
{
	for (size_t i = 0; i + 1 < NMETHODS; i++)
	{
		if (strcmp(m, methods[i]) == 0)
			return i;
	}
	return NMETHODS - 1;
}

/* Bucket of a value and the running sum, both atomically. */
static void
observe(histogram *h, double seconds)
{
	size_t		i = 0;

	if (seconds < 0)
		seconds = 0;
	while (i < NBUCKETS && seconds > buckets[i])
		i++;
	__atomic_fetch_add(&h->counts[i], 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&h->sum_ns, (uint64_t) (seconds * 1e9), __ATOMIC_RELAXED);
}

/* Called once per completed request from the completion callback. */
void
metrics_observe_request(size_t route, const char *method, int status, double seconds)
{
	if (route >= route_count())
		route = route_count() - 1;
	if (status >= STATUS_MIN && status <= STATUS_MAX)
		__atomic_fetch_add(&requests[route][method_index(method)][status - STATUS_MIN], 1, __ATOMIC_RELAXED);
	observe(&durations[route], seconds);
}

/* Called after every pool acquire, successful or not. */
void
metrics_observe_pool_wait(double seconds)
{
	observe(&pool_wait, seconds);
}

/* The gauge and the graceful-shutdown drain both read this counter. */
void
metrics_inflight_add(long delta)
{
	__atomic_fetch_add(&inflight, delta, __ATOMIC_RELAXED);
}

/* Read side of the in-flight gauge. */
long
metrics_inflight(void)
{
	return __atomic_load_n(&inflight, __ATOMIC_RELAXED);
}

/* One histogram's bucket, sum and count lines; count is the bucket total so they always agree. */
static void
render_histogram(jbuf *out, const char *name, const char *labels, histogram *h)
{
	uint64_t	cum = 0;
	const char *sep = labels[0] ? "," : "";

	for (size_t i = 0; i <= NBUCKETS; i++)
	{
		cum += __atomic_load_n(&h->counts[i], __ATOMIC_RELAXED);
		if (i < NBUCKETS)
			jb_printf(out, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep, buckets[i], (unsigned long long) cum);
		else
			jb_printf(out, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep, (unsigned long long) cum);
	}
	jb_printf(out, "%s_sum%s%s%s %.9f\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			  (double) __atomic_load_n(&h->sum_ns, __ATOMIC_RELAXED) / 1e9);
	jb_printf(out, "%s_count%s%s%s %llu\n", name, labels[0] ? "{" : "", labels, labels[0] ? "}" : "",
			  (unsigned long long) cum);
}

/* GET /metrics.  Label values come from fixed tables, so none needs escaping. */
void
metrics_render(jbuf *out, int pool_idle, int pool_busy, int pool_broken, int pool_size,
			   long sse_streams, uint64_t sse_events_sent)
{
	size_t		nroutes = route_count();
	char		labels[160];

	jb_puts(out, "# HELP metastore_http_requests_total HTTP requests answered, by route, method and status.\n"
			"# TYPE metastore_http_requests_total counter\n");
	for (size_t r = 0; r < nroutes; r++)
		for (size_t m = 0; m < NMETHODS; m++)
			for (int s = 0; s < NSTATUS; s++)
			{
				uint64_t	v = __atomic_load_n(&requests[r][m][s], __ATOMIC_RELAXED);

				if (v)
					jb_printf(out, "metastore_http_requests_total{route=\"%s\",method=\"%s\",status=\"%d\"} %llu\n",
							  route_label(r), methods[m], s + STATUS_MIN, (unsigned long long) v);
			}

	jb_puts(out, "# HELP metastore_http_request_duration_seconds Time from request line to response sent, by route.\n"
			"# TYPE metastore_http_request_duration_seconds histogram\n");
	for (size_t r = 0; r < nroutes; r++)
	{
		snprintf(labels, sizeof(labels), "route=\"%s\"", route_label(r));
		render_histogram(out, "metastore_http_request_duration_seconds", labels, &durations[r]);
	}

	jb_puts(out, "# HELP metastore_http_inflight_requests Requests being processed.\n"
			"# TYPE metastore_http_inflight_requests gauge\n");
	jb_printf(out, "metastore_http_inflight_requests %ld\n", metrics_inflight());

	jb_puts(out, "# HELP metastore_pool_connections Database connections by state (slots never connected are in none).\n"
			"# TYPE metastore_pool_connections gauge\n");
	jb_printf(out, "metastore_pool_connections{state=\"idle\"} %d\n", pool_idle);
	jb_printf(out, "metastore_pool_connections{state=\"busy\"} %d\n", pool_busy);
	jb_printf(out, "metastore_pool_connections{state=\"broken\"} %d\n", pool_broken);
	jb_puts(out, "# HELP metastore_pool_size Configured maximum number of database connections.\n"
			"# TYPE metastore_pool_size gauge\n");
	jb_printf(out, "metastore_pool_size %d\n", pool_size);

	jb_puts(out, "# HELP metastore_pool_wait_seconds Time spent waiting for a pooled connection.\n"
			"# TYPE metastore_pool_wait_seconds histogram\n");
	render_histogram(out, "metastore_pool_wait_seconds", "", &pool_wait);

	jb_puts(out, "# HELP metastore_sse_streams Event streams (GET /api/v1/events/stream) open now.\n"
			"# TYPE metastore_sse_streams gauge\n");
	jb_printf(out, "metastore_sse_streams %ld\n", sse_streams);
	jb_puts(out, "# HELP metastore_sse_events_total Events written to event streams.\n"
			"# TYPE metastore_sse_events_total counter\n");
	jb_printf(out, "metastore_sse_events_total %llu\n", (unsigned long long) sse_events_sent);

	jb_puts(out, "# HELP metastore_build_info Version of metastore the shim was built for.\n"
			"# TYPE metastore_build_info gauge\n");
	jb_printf(out, "metastore_build_info{version=\"%s\"} 1\n", METASTORE_VERSION);
}
