/*
 * hash.c: MurmurHash3 (x86, 32-bit) and the rollout bucket built on it.
 *
 * A percentage rollout must put the same user in the same bucket on every
 * server, in every release, and as Unleash's clients do, so that teams can
 * migrate without users flipping: bucket = murmur3_x86_32(value, seed) %
 * normalizer + 1, over the UTF-8 bytes of "groupId:stickinessValue".
 */
#include "postgres.h"

#include "fmgr.h"
#include "utils/builtins.h"

#include "errors.h"
#include "hash.h"

PG_FUNCTION_INFO_V1(bucket);

/* Rotate a 32-bit word left. */
static inline uint32
rotl32(uint32 x, int r)
{
	return (x << r) | (x >> (32 - r));
}

/* The final avalanche of MurmurHash3. */
static inline uint32
fmix32(uint32 h)
{
	h ^= h >> 16;
	h *= 0x85ebca6b;
	h ^= h >> 13;
	h *= 0xc2b2ae35;
	h ^= h >> 16;
	return h;
}

/* MurmurHash3_x86_32 of len bytes: blocks read little-endian, as the reference does. */
uint32
ms_murmur3_32(const unsigned char *data, size_t len, uint32 seed)
{
	const uint32 c1 = 0xcc9e2d51;
	const uint32 c2 = 0x1b873593;
	size_t		nblocks = len / 4;
	uint32		h1 = seed;
	uint32		k1;
	const unsigned char *tail;

	for (size_t i = 0; i < nblocks; i++)
	{
		const unsigned char *b = data + i * 4;

		k1 = (uint32) b[0] | ((uint32) b[1] << 8) | ((uint32) b[2] << 16) | ((uint32) b[3] << 24);
		k1 *= c1;
		k1 = rotl32(k1, 15);
		k1 *= c2;
		h1 ^= k1;
		h1 = rotl32(h1, 13);
		h1 = h1 * 5 + 0xe6546b64;
	}

	tail = data + nblocks * 4;
	k1 = 0;
	switch (len & 3)
	{
		case 3:
			k1 ^= (uint32) tail[2] << 16;
			/* FALLTHROUGH */
		case 2:
			k1 ^= (uint32) tail[1] << 8;
			/* FALLTHROUGH */
		case 1:
			k1 ^= (uint32) tail[0];
			k1 *= c1;
			k1 = rotl32(k1, 15);
			k1 *= c2;
			h1 ^= k1;
	}
	h1 ^= (uint32) len;
	return fmix32(h1);
}

/* The bucket, 1..normalizer, of a value (callers check normalizer > 0). */
int32
ms_bucket(const char *value, size_t len, uint32 seed, int32 normalizer)
{
	Assert(normalizer > 0);
	return (int32) (ms_murmur3_32((const unsigned char *) value, len, seed) % (uint32) normalizer) + 1;
}

/* bucket(value, seed, normalizer): SQL access to the rollout bucket. */
Datum
bucket(PG_FUNCTION_ARGS)
{
	text	   *value = PG_GETARG_TEXT_PP(0);
	int32		seed = PG_GETARG_INT32(1);
	int32		normalizer = PG_GETARG_INT32(2);

	if (normalizer <= 0)
		ereport(ERROR,
				(errcode(MS_ERRCODE_INVALID_VALUE),
				 errmsg("normalizer must be positive, not %d", normalizer)));
	PG_RETURN_INT32(ms_bucket(VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value), (uint32) seed,
							  normalizer));
}
