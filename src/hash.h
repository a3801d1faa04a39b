/*
 * hash.h: the consistent hashing behind percentage rollouts and variants.
 */
#ifndef METASTORE_HASH_H
#define METASTORE_HASH_H

#include "postgres.h"

/* Unleash's seed for variant buckets (its "86028157") */
#define MS_VARIANT_SEED 86028157

extern uint32 ms_murmur3_32(const unsigned char *data, size_t len, uint32 seed);
extern int32 ms_bucket(const char *value, size_t len, uint32 seed, int32 normalizer);

#endif
