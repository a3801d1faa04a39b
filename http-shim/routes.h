/*
 * routes.h: the bounded set of route labels used by the metrics, so that a
 * client cannot create unbounded label values by inventing paths.
 */
#ifndef MS_SHIM_ROUTES_H
#define MS_SHIM_ROUTES_H

#include <stddef.h>

/* Upper bound on the number of labels, so that metrics can use static arrays. */
#define ROUTE_MAX 64

/* Number of labels, including the final catch-all "other". */
size_t		route_count(void);

/* Label of index i (0 <= i < route_count()). */
const char *route_label(size_t i);

/* Append the extension's route patterns, read once at start. */
void		routes_load_from_database(const char *conninfo);

/* Index of the most specific pattern matching the raw (still percent-encoded) path; "other" when none. */
size_t		route_match(const char *path, size_t len);

#endif
