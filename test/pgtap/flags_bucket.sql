-- pgTAP: metastore.bucket, the consistent hashing of rollouts and variants.
-- MurmurHash3_x86_32 reference vectors (SMHasher's verification strings)
-- are checked through normalizer 2147483647, which keeps the whole hash
-- below 2^31; then the bucket's range, stability and spread.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(21);

-- hash mod 2147483647, plus one: what bucket() returns for that normalizer
CREATE FUNCTION pg_temp.expect(h bigint) RETURNS integer LANGUAGE sql AS $$ SELECT (h % 2147483647 + 1)::integer $$;

SELECT is(metastore.bucket('', 0, 2147483647), pg_temp.expect(0), 'murmur3("", 0) = 0');
SELECT is(metastore.bucket('', 1, 2147483647), pg_temp.expect(x'514E28B7'::bigint), 'murmur3("", 1) = 0x514E28B7');
SELECT is(metastore.bucket('', -1, 2147483647), pg_temp.expect(x'81F16F39'::bigint), 'murmur3("", 0xffffffff) = 0x81F16F39 (a negative seed is its 32-bit pattern)');
SELECT is(metastore.bucket('hello', 0, 2147483647), pg_temp.expect(x'248BFA47'::bigint), 'murmur3("hello", 0) = 0x248BFA47');
SELECT is(metastore.bucket('The quick brown fox jumps over the lazy dog', 0, 2147483647),
          pg_temp.expect(x'2E4FF723'::bigint), 'murmur3(quick brown fox, 0) = 0x2E4FF723');
-- seed 0x9747b28c, lengths 1 to 4 (every tail case) and longer
SELECT is(metastore.bucket('a', x'9747b28c'::integer, 2147483647), pg_temp.expect(x'7FA09EA6'::bigint), 'murmur3("a", 0x9747b28c): one tail byte');
SELECT is(metastore.bucket('aa', x'9747b28c'::integer, 2147483647), pg_temp.expect(x'5D211726'::bigint), 'murmur3("aa", 0x9747b28c): two tail bytes');
SELECT is(metastore.bucket('aaa', x'9747b28c'::integer, 2147483647), pg_temp.expect(x'283E0130'::bigint), 'murmur3("aaa", 0x9747b28c): three tail bytes');
SELECT is(metastore.bucket('aaaa', x'9747b28c'::integer, 2147483647), pg_temp.expect(x'5A97808A'::bigint), 'murmur3("aaaa", 0x9747b28c): one block');
SELECT is(metastore.bucket('abcd', x'9747b28c'::integer, 2147483647), pg_temp.expect(x'F0478627'::bigint), 'murmur3("abcd", 0x9747b28c): a hash above 2^31');
SELECT is(metastore.bucket('Hello, world!', x'9747b28c'::integer, 2147483647), pg_temp.expect(x'24884CBA'::bigint), 'murmur3("Hello, world!", 0x9747b28c)');
SELECT is(metastore.bucket('The quick brown fox jumps over the lazy dog', x'9747b28c'::integer, 2147483647),
          pg_temp.expect(x'2FA826CD'::bigint), 'murmur3(quick brown fox, 0x9747b28c)');

-- buckets: 1..normalizer, the default normalizer is 100, stable and spread
SELECT is(metastore.bucket('hello'), (x'248BFA47'::bigint % 100 + 1)::integer,
  'the defaults are seed 0 and normalizer 100');
SELECT is((SELECT count(*) FROM generate_series(1, 10000) g
            WHERE metastore.bucket('group:' || g) NOT BETWEEN 1 AND 100), 0::bigint,
  'every bucket is between 1 and 100');
SELECT cmp_ok((SELECT min(n) FROM (SELECT count(*) AS n FROM generate_series(1, 100000) g
                                   GROUP BY metastore.bucket('rollout:user-' || g)) s), '>', 850::bigint,
  '100,000 users spread over all 100 buckets (each gets more than 850 of the 1,000 expected)');
SELECT is((SELECT count(DISTINCT metastore.bucket('rollout:user-' || g)) FROM generate_series(1, 100000) g), 100::bigint,
  'every bucket is used');
SELECT is(metastore.bucket('gr1:123'), 73, 'Unleash''s own check: normalizedValue("123", "gr1") is 73');

-- an independent MurmurHash3 in PL/pgSQL over the UTF-8 bytes (32-bit words
-- in bigints): the C version must agree on every string, non-ASCII included
CREATE FUNCTION pg_temp.mul32(a bigint, b bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT ((a * (b & 65535)) + (((a * (b >> 16)) & 65535) << 16)) & 4294967295 $$;
CREATE FUNCTION pg_temp.rotl(x bigint, r int) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT ((x << r) | (x >> (32 - r))) & 4294967295 $$;
CREATE FUNCTION pg_temp.mix(k bigint) RETURNS bigint LANGUAGE sql IMMUTABLE AS $$
  SELECT pg_temp.mul32(pg_temp.rotl(pg_temp.mul32(k, 3432918353), 15), 461845907) $$;
CREATE FUNCTION pg_temp.murmur(data bytea, seed bigint) RETURNS bigint LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
  h bigint := seed & 4294967295;
  k bigint;
  n int := length(data);
  i int := 0;
BEGIN
  WHILE i + 4 <= n LOOP
    k := get_byte(data, i)::bigint | (get_byte(data, i + 1)::bigint << 8)
       | (get_byte(data, i + 2)::bigint << 16) | (get_byte(data, i + 3)::bigint << 24);
    h := h # pg_temp.mix(k);
    h := (pg_temp.mul32(pg_temp.rotl(h, 13), 5) + 3864292196) & 4294967295;
    i := i + 4;
  END LOOP;
  IF n > i THEN
    k := get_byte(data, i)::bigint;
    IF n - i >= 2 THEN k := k | (get_byte(data, i + 1)::bigint << 8); END IF;
    IF n - i = 3 THEN k := k | (get_byte(data, i + 2)::bigint << 16); END IF;
    h := h # pg_temp.mix(k);
  END IF;
  h := h # n;
  h := pg_temp.mul32(h # (h >> 16), 2246822507);
  h := pg_temp.mul32(h # (h >> 13), 3266489909);
  RETURN h # (h >> 16);
END $$;
SELECT is(pg_temp.murmur(convert_to('The quick brown fox jumps over the lazy dog', 'UTF8'), 0), x'2E4FF723'::bigint,
  'the PL/pgSQL reference agrees with the published vector');
SELECT is((SELECT count(*) FROM (
             SELECT s, seed FROM generate_series(1, 3000) g,
                    LATERAL (SELECT repeat(chr(CASE g % 5 WHEN 0 THEN 233 WHEN 1 THEN 26085 WHEN 2 THEN 128512
                                                          ELSE 97 + g % 26 END), g % 7)
                                    || 'u:' || g AS s, (g * 7919 - 1000000)::bigint AS seed) x) t
            WHERE metastore.bucket(s, seed::integer, 2147483647)
                  <> (pg_temp.murmur(convert_to(s, 'UTF8'), seed) % 2147483647 + 1)::integer), 0::bigint,
  '3,000 strings (ASCII, é, 日, 😀; every tail length) and seeds hash as the reference does');
SELECT throws_ok($$SELECT metastore.bucket('x', 0, 0)$$, '22023', NULL, 'normalizer 0 is refused');
SELECT throws_ok($$SELECT metastore.bucket('x', 0, -5)$$, '22023', NULL, 'a negative normalizer is refused');

SELECT * FROM finish();
ROLLBACK;
