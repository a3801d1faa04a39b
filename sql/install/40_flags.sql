-- Feature flags (docs/sql-api.md, "Feature flags"). The consistent hashing
-- comes first: every rollout and variant decision is a bucket.

CREATE FUNCTION metastore.bucket(value text, seed integer DEFAULT 0, normalizer integer DEFAULT 100)
RETURNS integer
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'bucket';
COMMENT ON FUNCTION metastore.bucket(text, integer, integer) IS
  'murmur3_x86_32(UTF-8 bytes of value, seed) % normalizer + 1: Unleash''s bucket for value = groupId:stickiness (seed 0 for rollouts, 86028157 for variants).';
