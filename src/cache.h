/*
 * cache.h: the one invalidation path for every backend-local cache.
 *
 * A table whose rows feed a cache gets the statement trigger
 * metastore.cache_invalidate(); it fires a relcache invalidation of that
 * table, which every backend receives at commit.  A module that caches
 * rows of a table calls ms_cache_watch(relid, reset) and its reset function
 * runs in each backend when that table changes.
 */
#ifndef METASTORE_CACHE_H
#define METASTORE_CACHE_H

#include "postgres.h"

typedef void (*MsCacheReset) (void);

extern void ms_cache_watch(Oid relid, MsCacheReset reset);
extern Oid	ms_relid(const char *relname);
extern void ms_cache_init(void);

#endif
