-- Feature flags (docs/flags.md; SQL reference in docs/sql-api.md, "Feature flags").
-- One model: Unleash's client documents, the seeds' simple fields and our own
-- definitions are all stored as one normalized definition and evaluated in C
-- (src/flag_model.c, src/flag_eval.c) from a per-backend cache.

CREATE FUNCTION metastore.bucket(value text, seed integer DEFAULT 0, normalizer integer DEFAULT 100)
RETURNS integer
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'bucket';
COMMENT ON FUNCTION metastore.bucket(text, integer, integer) IS
  'murmur3_x86_32(UTF-8 bytes of value, seed) % normalizer + 1: Unleash''s bucket for value = groupId:stickiness (seed 0 for rollouts, 86028157 for variants).';

-- The flag aggregate: name is global (as in Unleash); namespace is the
-- Unleash project and decides access (reader evaluates, writer changes).
CREATE TABLE metastore.flags (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace   text        NOT NULL,
  name        text        NOT NULL UNIQUE,
  definition  jsonb       NOT NULL,
  description text,
  tags        text[]      NOT NULL DEFAULT '{}',
  version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at  timestamptz NOT NULL,
  created_by  text        NOT NULL,
  updated_at  timestamptz NOT NULL,
  updated_by  text        NOT NULL,
  deleted_at  timestamptz
);
COMMENT ON TABLE metastore.flags IS
  'Feature flags, one normalized definition each (docs/flags.md). Written only through metastore.put_flag and friends.';
CREATE INDEX flags_by_namespace ON metastore.flags (namespace, name COLLATE "C")
  WHERE deleted_at IS NULL;

-- Segments: shared constraint sets, referenced by id from strategies (as in Unleash).
CREATE TABLE metastore.flag_segments (
  id          bigint      PRIMARY KEY CHECK (id > 0 AND id <= 2147483647),
  namespace   text        NOT NULL,
  name        text        NOT NULL UNIQUE,
  constraints jsonb       NOT NULL,
  description text,
  version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at  timestamptz NOT NULL,
  created_by  text        NOT NULL,
  updated_at  timestamptz NOT NULL,
  updated_by  text        NOT NULL,
  deleted_at  timestamptz
);
COMMENT ON TABLE metastore.flag_segments IS
  'Segments: named constraint lists that strategies reference by id.';
CREATE SEQUENCE metastore.flag_segment_ids AS integer START 1000001;
GRANT USAGE ON SEQUENCE metastore.flag_segment_ids TO metastore_owner;

-- One line each: history, row level security, cache invalidation.
CREATE TRIGGER flags_history
  AFTER INSERT OR UPDATE OR DELETE ON metastore.flags
  FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('flag', 'name');
CREATE TRIGGER flag_segments_history
  AFTER INSERT OR UPDATE OR DELETE ON metastore.flag_segments
  FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('segment', 'name');
SELECT metastore.protect_aggregate('metastore.flags');
SELECT metastore.protect_aggregate('metastore.flag_segments');
CREATE TRIGGER flags_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metastore.flags
  FOR EACH STATEMENT EXECUTE FUNCTION metastore.cache_invalidate();
CREATE TRIGGER flag_segments_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metastore.flag_segments
  FOR EACH STATEMENT EXECUTE FUNCTION metastore.cache_invalidate();

-- The flag cache reads both tables as this role and checks each flag's
-- namespace against the acting principal in C, so that one cached copy
-- serves every principal and evaluation needs no SECURITY DEFINER call.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metastore_evaluator') THEN
    CREATE ROLE metastore_evaluator NOLOGIN BYPASSRLS;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA metastore TO metastore_evaluator;
GRANT SELECT ON metastore.flags, metastore.flag_segments TO metastore_evaluator;

-- ---- normalization: the seeds' simple fields become strategies ----

-- One seed-style targeting rule as an Unleash constraint.
CREATE FUNCTION metastore.flag_rule_constraint(rule jsonb, path text DEFAULT 'rule')
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  op text;
  attr text;
  vals jsonb;
  single boolean;
BEGIN
  IF jsonb_typeof(rule) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'invalid flag definition: a rule must be an object',
      DETAIL = format('At %s.', path);
  END IF;
  IF rule ? 'contextName' THEN
    RETURN rule;   -- already an Unleash constraint
  END IF;
  attr := rule ->> 'attribute';
  op := rule ->> 'operator';
  IF attr IS NULL OR attr = '' OR op IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'invalid flag definition: a rule needs "attribute" and "operator"',
      DETAIL = format('At %s.', path),
      HINT = 'For example {"attribute": "country", "operator": "in", "values": ["NL", "BE"]}.';
  END IF;
  IF EXISTS (SELECT 1 FROM jsonb_object_keys(rule) k
              WHERE k NOT IN ('attribute', 'operator', 'value', 'values', 'negate', 'case_insensitive')) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'invalid flag definition: unknown field in a rule',
      DETAIL = format('At %s; a rule has attribute, operator, value or values, negate, case_insensitive.', path);
  END IF;
  IF jsonb_typeof(rule -> 'negate') NOT IN ('boolean', 'null')
     OR jsonb_typeof(rule -> 'case_insensitive') NOT IN ('boolean', 'null') THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'invalid flag definition: negate and case_insensitive must be true or false',
      DETAIL = format('At %s.', path);
  END IF;
  op := CASE lower(op)
          WHEN 'eq' THEN 'IN' WHEN 'equals' THEN 'IN' WHEN '==' THEN 'IN' WHEN 'in' THEN 'IN'
          WHEN 'neq' THEN 'NOT_IN' WHEN 'not_equals' THEN 'NOT_IN' WHEN '!=' THEN 'NOT_IN'
          WHEN 'not_in' THEN 'NOT_IN'
          WHEN 'contains' THEN 'STR_CONTAINS' WHEN 'starts_with' THEN 'STR_STARTS_WITH'
          WHEN 'ends_with' THEN 'STR_ENDS_WITH'
          WHEN 'gt' THEN 'NUM_GT' WHEN 'gte' THEN 'NUM_GTE' WHEN 'lt' THEN 'NUM_LT'
          WHEN 'lte' THEN 'NUM_LTE' WHEN 'num_eq' THEN 'NUM_EQ'
          WHEN 'before' THEN 'DATE_BEFORE' WHEN 'after' THEN 'DATE_AFTER'
          WHEN 'regex' THEN 'REGEX' WHEN 'matches' THEN 'REGEX' WHEN 'in_cidr' THEN 'IN_CIDR'
          ELSE upper(op) END;
  single := op IN ('NUM_EQ', 'NUM_GT', 'NUM_GTE', 'NUM_LT', 'NUM_LTE', 'DATE_AFTER', 'DATE_BEFORE',
                   'SEMVER_EQ', 'SEMVER_GT', 'SEMVER_GTE', 'SEMVER_LT', 'SEMVER_LTE', 'REGEX');
  IF single THEN
    vals := CASE WHEN rule ? 'value' THEN rule -> 'value' ELSE rule -> 'values' -> 0 END;
    IF vals IS NULL OR jsonb_typeof(vals) NOT IN ('string', 'number') THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('invalid flag definition: operator %s needs one string or number "value"', op),
        DETAIL = format('At %s.value.', path);
    END IF;
    RETURN jsonb_build_object('contextName', attr, 'operator', op, 'value', vals #>> '{}',
                              'inverted', coalesce((rule ->> 'negate')::boolean, false),
                              'caseInsensitive', coalesce((rule ->> 'case_insensitive')::boolean, false));
  END IF;
  vals := CASE WHEN rule ? 'values' THEN rule -> 'values'
               WHEN rule ? 'value' THEN jsonb_build_array(rule -> 'value') END;
  IF vals IS NULL OR jsonb_typeof(vals) <> 'array' OR EXISTS (
       SELECT 1 FROM jsonb_array_elements(vals) e WHERE jsonb_typeof(e) NOT IN ('string', 'number', 'boolean')) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('invalid flag definition: operator %s needs "values", an array of strings', op),
      DETAIL = format('At %s.values.', path);
  END IF;
  RETURN jsonb_build_object('contextName', attr, 'operator', op,
                            'values', (SELECT coalesce(jsonb_agg(e #>> '{}'), '[]') FROM jsonb_array_elements(vals) e),
                            'inverted', coalesce((rule ->> 'negate')::boolean, false),
                            'caseInsensitive', coalesce((rule ->> 'case_insensitive')::boolean, false));
END
$$;
COMMENT ON FUNCTION metastore.flag_rule_constraint(jsonb, text) IS
  'A seed-style rule {attribute, operator, value|values, negate} as an Unleash constraint (operators: docs/flags.md).';

-- The simple fields of one layer (base or override) as the core's fields.
CREATE FUNCTION metastore.normalize_flag_layer(name text, layer jsonb, path text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d jsonb := layer;
  extra jsonb := '[]';
  r jsonb;
  i integer := 0;
BEGIN
  IF jsonb_typeof(d) = 'boolean' THEN
    RETURN jsonb_build_object('enabled', d);
  END IF;
  IF jsonb_typeof(d) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'invalid flag definition: expected an object', DETAIL = format('At %s.', path);
  END IF;
  IF d ? 'is_enabled' THEN
    IF d ? 'enabled' AND d -> 'enabled' IS DISTINCT FROM d -> 'is_enabled' THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = 'invalid flag definition: "enabled" and "is_enabled" disagree', DETAIL = format('At %s.', path);
    END IF;
    d := (d - 'is_enabled') || jsonb_build_object('enabled', d -> 'is_enabled');
  END IF;
  IF d ? 'target_users' THEN
    IF jsonb_typeof(d -> 'target_users') <> 'array' OR EXISTS (
         SELECT 1 FROM jsonb_array_elements(d -> 'target_users') e WHERE jsonb_typeof(e) NOT IN ('string', 'number')) THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = 'invalid flag definition: target_users must be an array of user ids',
        DETAIL = format('At %s.target_users.', path);
    END IF;
    IF jsonb_array_length(d -> 'target_users') > 0 THEN
      extra := extra || jsonb_build_array(jsonb_build_object('name', 'default', 'title', 'target_users',
        'constraints', jsonb_build_array(jsonb_build_object('contextName', 'userId', 'operator', 'IN',
          'values', (SELECT jsonb_agg(e #>> '{}') FROM jsonb_array_elements(d -> 'target_users') e)))));
    END IF;
    d := d - 'target_users';
  END IF;
  IF d ? 'rules' THEN
    IF jsonb_typeof(d -> 'rules') <> 'array' THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = 'invalid flag definition: rules must be an array', DETAIL = format('At %s.rules.', path);
    END IF;
    FOR r IN SELECT e FROM jsonb_array_elements(d -> 'rules') e LOOP
      IF jsonb_typeof(r) = 'object' AND r ? 'constraints' THEN
        extra := extra || jsonb_build_array(jsonb_build_object('name', 'default', 'title', format('rules[%s]', i),
          'constraints', (SELECT coalesce(jsonb_agg(metastore.flag_rule_constraint(c, format('%s.rules[%s].constraints[%s]', path, i, o - 1))), '[]')
                            FROM jsonb_array_elements(r -> 'constraints') WITH ORDINALITY AS x(c, o))));
      ELSE
        extra := extra || jsonb_build_array(jsonb_build_object('name', 'default', 'title', format('rules[%s]', i),
          'constraints', jsonb_build_array(metastore.flag_rule_constraint(r, format('%s.rules[%s]', path, i)))));
      END IF;
      i := i + 1;
    END LOOP;
    d := d - 'rules';
  END IF;
  IF d ? 'rollout_percentage' THEN
    IF jsonb_typeof(d -> 'rollout_percentage') <> 'number'
       OR (d ->> 'rollout_percentage')::numeric NOT BETWEEN 0 AND 100 THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = 'invalid flag definition: rollout_percentage must be a number from 0 to 100',
        DETAIL = format('At %s.rollout_percentage.', path);
    END IF;
    extra := extra || jsonb_build_array(jsonb_build_object('name', 'flexibleRollout', 'title', 'rollout_percentage',
      'parameters', jsonb_build_object('rollout', d ->> 'rollout_percentage', 'stickiness', 'default',
                                       'groupId', name)));
    d := d - 'rollout_percentage';
  END IF;
  IF jsonb_array_length(extra) > 0 THEN
    IF d ? 'strategies' AND jsonb_typeof(d -> 'strategies') <> 'array' THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = 'invalid flag definition: "strategies" must be an array', DETAIL = format('At %s.strategies.', path);
    END IF;
    d := d || jsonb_build_object('strategies', coalesce(d -> 'strategies', '[]') || extra);
  END IF;
  RETURN d;
END
$$;
COMMENT ON FUNCTION metastore.normalize_flag_layer(text, jsonb, text) IS
  'Internal: is_enabled, target_users, rules and rollout_percentage of one layer as enabled and strategies.';

CREATE FUNCTION metastore.normalize_flag(name text, definition jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  d jsonb;
  src text;
  dst text;
  o jsonb;
  k text;
BEGIN
  IF jsonb_typeof(definition) IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'invalid flag definition: a flag definition must be a JSON object',
      DETAIL = 'At definition.';
  END IF;
  d := metastore.normalize_flag_layer(name, definition, 'definition');
  FOREACH src IN ARRAY ARRAY['environment_overrides', 'tenant_overrides'] LOOP
    dst := CASE src WHEN 'environment_overrides' THEN 'environments' ELSE 'tenants' END;
    IF d ? src THEN
      IF jsonb_typeof(d -> src) <> 'object' THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
          MESSAGE = format('invalid flag definition: %s must be an object keyed by name', src),
          DETAIL = format('At definition.%s.', src);
      END IF;
      IF d ? dst THEN
        RAISE EXCEPTION USING ERRCODE = '22023',
          MESSAGE = format('invalid flag definition: give %s or %s, not both', src, dst),
          DETAIL = format('At definition.%s.', src);
      END IF;
      d := (d - src) || jsonb_build_object(dst, d -> src);
    END IF;
    IF d ? dst AND jsonb_typeof(d -> dst) = 'object' THEN
      o := '{}';
      FOR k IN SELECT jsonb_object_keys(d -> dst) LOOP
        o := o || jsonb_build_object(k, metastore.normalize_flag_layer(name, d -> dst -> k,
                                                                       format('definition.%s.%s', dst, k)));
      END LOOP;
      d := d || jsonb_build_object(dst, o);
    END IF;
  END LOOP;
  IF d ? 'prerequisites' THEN
    IF d ? 'dependencies' THEN
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = 'invalid flag definition: give prerequisites or dependencies, not both',
        DETAIL = 'At definition.prerequisites.';
    END IF;
    d := (d - 'prerequisites') || jsonb_build_object('dependencies', d -> 'prerequisites');
  END IF;
  IF NOT d ? 'enabled' THEN
    d := d || '{"enabled": false}';
  END IF;
  RETURN d;
END
$$;
COMMENT ON FUNCTION metastore.normalize_flag(text, jsonb) IS
  'The stored form of a definition: the seeds'' simple fields (is_enabled, rollout_percentage, target_users, rules, tenant_overrides, environment_overrides) and prerequisites mapped onto the core (docs/flags.md).';

-- ---- writes (src/flag_store.c) ----

CREATE FUNCTION metastore.put_flag(
  name             text,
  definition       jsonb,
  expected_version integer DEFAULT NULL,
  namespace        text    DEFAULT NULL,
  description      text    DEFAULT NULL,
  tags             text[]  DEFAULT NULL)
RETURNS metastore.flags
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'put_flag';
COMMENT ON FUNCTION metastore.put_flag(text, jsonb, integer, text, text, text[]) IS
  'Create or replace a flag. The definition is normalized and validated (22023 names the place of an error). namespace: the flag''s project (default: its current one, else "default"). expected_version as for records (MS409).';

CREATE FUNCTION metastore.put_flag_unchecked(
  name             text,
  definition       jsonb,
  expected_version integer DEFAULT NULL,
  namespace        text    DEFAULT NULL,
  description      text    DEFAULT NULL,
  tags             text[]  DEFAULT NULL)
RETURNS metastore.flags
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'put_flag_unchecked';
COMMENT ON FUNCTION metastore.put_flag_unchecked(text, jsonb, integer, text, text, text[]) IS
  'Internal (import_unleash): put_flag that keeps what Unleash keeps, e.g. an invalid regex, which then never matches.';
REVOKE ALL ON FUNCTION metastore.put_flag_unchecked(text, jsonb, integer, text, text, text[]) FROM PUBLIC;

CREATE FUNCTION metastore.get_flag(name text)
RETURNS metastore.flags
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'get_flag';
COMMENT ON FUNCTION metastore.get_flag(text) IS
  'The live flag, or NULL when it does not exist, is deleted, or is in a namespace the principal may not read.';

CREATE FUNCTION metastore.delete_flag(name text, expected_version integer DEFAULT NULL)
RETURNS metastore.flags
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'delete_flag';
COMMENT ON FUNCTION metastore.delete_flag(text, integer) IS
  'Soft-delete a flag (history keeps every version; evaluation answers FLAG_NOT_FOUND). MS404 when absent, MS409 on a stale expected_version.';

CREATE FUNCTION metastore.rollback_flag(name text, version integer, expected_version integer DEFAULT NULL)
RETURNS metastore.flags
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'rollback_flag';
COMMENT ON FUNCTION metastore.rollback_flag(text, integer, integer) IS
  'Write a new version of a flag equal to an earlier one (restoring it if deleted).';

CREATE FUNCTION metastore.flag_history(name text)
RETURNS TABLE (version integer, operation text, namespace text, definition jsonb,
               description text, tags text[], deleted boolean,
               changed_by text, changed_at timestamptz)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT h.version, h.operation, s.namespace, s.definition, s.description, s.tags,
         s.deleted_at IS NOT NULL OR h.operation = 'purge', h.changed_by, h.changed_at
    FROM metastore.history h
   CROSS JOIN LATERAL jsonb_populate_record(NULL::metastore.flags, h.snapshot) s
   WHERE h.aggregate = 'flag' AND h.entity_key = $1
   ORDER BY h.id
$$;
COMMENT ON FUNCTION metastore.flag_history(text) IS
  'Every version of a flag, oldest first (rows of namespaces the principal may not read are hidden by row level security).';

-- The live flag a change starts from: 22004 for a NULL argument, MS404 when
-- absent, deleted or unreadable.
CREATE FUNCTION metastore.live_flag(name text)
RETURNS metastore.flags
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.flags;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'name must not be null';
  END IF;
  f := metastore.get_flag($1);
  IF f.id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'MS404', MESSAGE = format('flag "%s" not found', $1);
  END IF;
  RETURN f;
END
$$;
COMMENT ON FUNCTION metastore.live_flag(text) IS
  'The live flag a change starts from (22004 for a NULL argument, MS404 when absent or unreadable).';

-- Read, change one field, write back with the version read: a concurrent
-- change in between is a version conflict, never a lost update.
CREATE FUNCTION metastore.set_flag_enabled(name text, enabled boolean, environment text DEFAULT NULL,
                                           expected_version integer DEFAULT NULL)
RETURNS metastore.flags
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.flags;
  d jsonb;
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'enabled must not be null';
  END IF;
  f := metastore.live_flag($1);
  IF $3 IS NULL THEN
    d := f.definition || jsonb_build_object('enabled', $2);
  ELSE
    d := jsonb_set(f.definition || jsonb_build_object('environments', coalesce(f.definition -> 'environments', '{}')),
                   ARRAY['environments', $3],
                   coalesce(f.definition -> 'environments' -> $3, '{}') || jsonb_build_object('enabled', $2));
  END IF;
  RETURN metastore.put_flag($1, d, coalesce($4, f.version));
END
$$;
COMMENT ON FUNCTION metastore.set_flag_enabled(text, boolean, text, integer) IS
  'The kill switch: turn a flag on or off (in one environment''s override when environment is given).';

CREATE FUNCTION metastore.set_flag_rollout(name text, percentage numeric, environment text DEFAULT NULL,
                                           expected_version integer DEFAULT NULL)
RETURNS metastore.flags
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.flags;
  layer jsonb;
  strategies jsonb;
  pos integer;
  d jsonb;
BEGIN
  IF $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'percentage must not be null';
  END IF;
  f := metastore.live_flag($1);
  IF $2 < 0 OR $2 > 100 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'percentage must be from 0 to 100',
      DETAIL = format('%s was given.', $2);
  END IF;
  layer := CASE WHEN $3 IS NULL THEN f.definition ELSE coalesce(f.definition -> 'environments' -> $3, '{}') END;
  strategies := coalesce(layer -> 'strategies', CASE WHEN $3 IS NULL THEN '[]'::jsonb END,
                         f.definition -> 'strategies', '[]');
  -- the rollout strategy: the last flexibleRollout without constraints or segments
  SELECT max(o) - 1 INTO pos FROM jsonb_array_elements(strategies) WITH ORDINALITY AS x(s, o)
   WHERE s ->> 'name' = 'flexibleRollout'
     AND coalesce(jsonb_array_length(s -> 'constraints'), 0) = 0
     AND coalesce(jsonb_array_length(s -> 'segments'), 0) = 0;
  IF pos IS NULL THEN
    -- a catch-all strategy would hide the rollout: it is replaced by it
    SELECT coalesce(jsonb_agg(s ORDER BY o), '[]') INTO strategies
      FROM jsonb_array_elements(strategies) WITH ORDINALITY AS x(s, o)
     WHERE NOT (s ->> 'name' = 'default' AND coalesce(jsonb_array_length(s -> 'constraints'), 0) = 0
                AND coalesce(jsonb_array_length(s -> 'segments'), 0) = 0);
    strategies := strategies || jsonb_build_array(jsonb_build_object('name', 'flexibleRollout',
      'title', 'rollout_percentage',
      'parameters', jsonb_build_object('rollout', $2::text, 'stickiness', 'default', 'groupId', $1)));
  ELSE
    strategies := jsonb_set(strategies, ARRAY[pos::text, 'parameters', 'rollout'], to_jsonb($2::text));
  END IF;
  IF $3 IS NULL THEN
    d := f.definition || jsonb_build_object('strategies', strategies);
  ELSE
    d := jsonb_set(f.definition || jsonb_build_object('environments', coalesce(f.definition -> 'environments', '{}')),
                   ARRAY['environments', $3], layer || jsonb_build_object('strategies', strategies));
  END IF;
  RETURN metastore.put_flag($1, d, coalesce($4, f.version));
END
$$;
COMMENT ON FUNCTION metastore.set_flag_rollout(text, numeric, text, integer) IS
  'Set the percentage of the flag''s rollout strategy (adding one, in place of a catch-all, when it has none).';

-- ---- segments ----

CREATE FUNCTION metastore.put_segment(name text, constraints jsonb, id integer DEFAULT NULL,
                                      expected_version integer DEFAULT NULL,
                                      namespace text DEFAULT NULL, description text DEFAULT NULL)
RETURNS metastore.flag_segments
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'put_segment';
COMMENT ON FUNCTION metastore.put_segment(text, jsonb, integer, integer, text, text) IS
  'Create or replace a segment (a named list of constraints that strategies reference by id). id: Unleash''s id, or one is assigned.';

CREATE FUNCTION metastore.delete_segment(name text, expected_version integer DEFAULT NULL)
RETURNS metastore.flag_segments
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'delete_segment';
COMMENT ON FUNCTION metastore.delete_segment(text, integer) IS
  'Soft-delete a segment; strategies that still reference it stop matching (as in Unleash).';

CREATE FUNCTION metastore.list_segments()
RETURNS SETOF metastore.flag_segments
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM metastore.flag_segments WHERE deleted_at IS NULL ORDER BY id $$;
COMMENT ON FUNCTION metastore.list_segments() IS 'Live segments the principal may read, by id.';

CREATE FUNCTION metastore.list_flags(namespace text DEFAULT NULL, prefix text DEFAULT NULL,
                                     "limit" integer DEFAULT 100, "offset" integer DEFAULT 0)
RETURNS SETOF metastore.flags
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF $3 IS NULL OR $3 < 1 OR $3 > 1000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'limit must be from 1 to 1000';
  END IF;
  IF $4 IS NULL OR $4 < 0 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'offset must not be negative';
  END IF;
  IF $1 IS NOT NULL THEN
    PERFORM metastore.require_role($1, 'reader');
  END IF;
  RETURN QUERY
  SELECT * FROM metastore.flags f
   WHERE f.deleted_at IS NULL AND ($1 IS NULL OR f.namespace = $1)
     AND ($2 IS NULL OR starts_with(f.name, $2))
   ORDER BY f.name COLLATE "C" LIMIT $3 OFFSET $4;
END
$$;
COMMENT ON FUNCTION metastore.list_flags(text, text, integer, integer) IS
  'Live flags the principal may read, by name; namespace and name prefix narrow the list.';

-- ---- evaluation (src/flag_eval.c): no SECURITY DEFINER, no table on the hot path ----

CREATE FUNCTION metastore.evaluate(flag text, context jsonb DEFAULT '{}', tenant text DEFAULT NULL,
                                   environment text DEFAULT NULL, expected_type text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'evaluate';
COMMENT ON FUNCTION metastore.evaluate(text, jsonb, text, text, text) IS
  'Evaluate a flag: {key, value, variant, reason, enabled, value_type, version, payload?, error_code?, error_message?} with OpenFeature reasons. Unknown or unreadable flags: reason ERROR, error_code FLAG_NOT_FOUND.';

CREATE FUNCTION metastore.is_enabled(flag text, context jsonb DEFAULT '{}', tenant text DEFAULT NULL,
                                     environment text DEFAULT NULL)
RETURNS boolean
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'is_enabled';
COMMENT ON FUNCTION metastore.is_enabled(text, jsonb, text, text) IS
  'Is the flag on for this context? False for unknown or unreadable flags. Cheap enough for a WHERE clause.';

CREATE FUNCTION metastore.evaluate_all(context jsonb DEFAULT '{}', tenant text DEFAULT NULL,
                                       environment text DEFAULT NULL)
RETURNS jsonb
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'evaluate_all';
COMMENT ON FUNCTION metastore.evaluate_all(jsonb, text, text) IS
  'Evaluate every flag the principal may read: a JSON array of evaluate() results, by name.';

-- ---- Unleash import ----

-- One Unleash feature (client API shape) as our definition: kept whole, so
-- nothing is lost; name, project and description go to their columns.
CREATE FUNCTION metastore.unleash_feature_definition(feature jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object('enabled', coalesce((feature ->> 'enabled')::boolean, false)))
         || (feature - 'name' - 'project' - 'description' - 'enabled')
$$;
COMMENT ON FUNCTION metastore.unleash_feature_definition(jsonb) IS
  'Internal: an Unleash client-API feature as a flag definition (every field kept).';

CREATE FUNCTION metastore.import_unleash(document jsonb, namespace text DEFAULT NULL,
                                         prune boolean DEFAULT false)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ev jsonb;
  events jsonb;
  f jsonb;
  s jsonb;
  stats jsonb := '{"flags_created": 0, "flags_updated": 0, "flags_unchanged": 0, "flags_deleted": 0,
                   "segments_written": 0, "segments_deleted": 0}';
  seen text[] := '{}';
  target text;
  before integer;
  r metastore.flags;
  i integer := 0;

BEGIN
  IF document IS NULL OR jsonb_typeof(document) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'an Unleash document must be a JSON object',
      HINT = 'Pass the client API''s {version, features, segments} or the delta API''s {events}.';
  END IF;
  IF document ? 'events' THEN
    events := document -> 'events';
  ELSE
    events := jsonb_build_array(jsonb_build_object('type', 'hydration',
                'features', coalesce(document -> 'features', '[]'),
                'segments', coalesce(document -> 'segments', '[]')));
  END IF;
  IF jsonb_typeof(events) <> 'array' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = '"events" must be an array';
  END IF;

  FOR ev IN SELECT e FROM jsonb_array_elements(events) e LOOP
    CASE ev ->> 'type'
    WHEN 'hydration' THEN
      IF jsonb_typeof(coalesce(ev -> 'segments', '[]')) <> 'array'
         OR jsonb_typeof(coalesce(ev -> 'features', '[]')) <> 'array' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = '"features" and "segments" must be arrays',
          DETAIL = format('At events[%s].', i);
      END IF;
      FOR s IN SELECT e FROM jsonb_array_elements(coalesce(ev -> 'segments', '[]')) e LOOP
        PERFORM metastore.put_segment_unchecked(
          coalesce(s ->> 'name', 'segment-' || (s ->> 'id')), coalesce(s -> 'constraints', '[]'),
          (s ->> 'id')::integer, NULL, coalesce($2, 'default'), s ->> 'description');
        stats := jsonb_set(stats, '{segments_written}', to_jsonb((stats ->> 'segments_written')::int + 1));
      END LOOP;
      FOR f IN SELECT e FROM jsonb_array_elements(coalesce(ev -> 'features', '[]')) e LOOP
        IF jsonb_typeof(f) <> 'object' OR coalesce(f ->> 'name', '') = '' THEN
          RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'every Unleash feature needs a name',
            DETAIL = format('At events[%s].features.', i);
        END IF;
        target := coalesce($2, f ->> 'project', 'default');
        before := (SELECT fl.version FROM metastore.flags fl WHERE fl.name = f ->> 'name' AND fl.deleted_at IS NULL);
        r := metastore.put_flag_unchecked(f ->> 'name', metastore.unleash_feature_definition(f), NULL,
                                          target, coalesce(f ->> 'description', ''), NULL);
        seen := seen || (f ->> 'name');
        stats := jsonb_set(stats, ARRAY[CASE WHEN before IS NULL THEN 'flags_created'
                                             WHEN before = r.version THEN 'flags_unchanged'
                                             ELSE 'flags_updated' END],
                           to_jsonb((stats ->> CASE WHEN before IS NULL THEN 'flags_created'
                                                    WHEN before = r.version THEN 'flags_unchanged'
                                                    ELSE 'flags_updated' END)::int + 1));
      END LOOP;
    WHEN 'feature-updated' THEN
      f := ev -> 'feature';
      IF jsonb_typeof(f) IS DISTINCT FROM 'object' OR coalesce(f ->> 'name', '') = '' THEN
        RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a feature-updated event needs a feature with a name',
          DETAIL = format('At events[%s].', i);
      END IF;
      before := (SELECT fl.version FROM metastore.flags fl WHERE fl.name = f ->> 'name' AND fl.deleted_at IS NULL);
      r := metastore.put_flag_unchecked(f ->> 'name', metastore.unleash_feature_definition(f), NULL,
                                        coalesce($2, f ->> 'project', 'default'),
                                        coalesce(f ->> 'description', ''), NULL);
      seen := seen || (f ->> 'name');
      stats := jsonb_set(stats, ARRAY[CASE WHEN before IS NULL THEN 'flags_created' ELSE 'flags_updated' END],
                         to_jsonb((stats ->> CASE WHEN before IS NULL THEN 'flags_created' ELSE 'flags_updated' END)::int + 1));
    WHEN 'feature-removed' THEN
      IF EXISTS (SELECT 1 FROM metastore.flags fl WHERE fl.name = ev ->> 'featureName' AND fl.deleted_at IS NULL) THEN
        PERFORM metastore.delete_flag(ev ->> 'featureName');
        stats := jsonb_set(stats, '{flags_deleted}', to_jsonb((stats ->> 'flags_deleted')::int + 1));
      END IF;
      seen := array_remove(seen, ev ->> 'featureName');
    WHEN 'segment-updated' THEN
      s := ev -> 'segment';
      PERFORM metastore.put_segment_unchecked(
        coalesce(s ->> 'name', 'segment-' || (s ->> 'id')), coalesce(s -> 'constraints', '[]'),
        CASE WHEN EXISTS (SELECT 1 FROM metastore.flag_segments g WHERE g.name = coalesce(s ->> 'name', 'segment-' || (s ->> 'id')))
             THEN NULL ELSE (s ->> 'id')::integer END,
        NULL, coalesce($2, 'default'), s ->> 'description');
      stats := jsonb_set(stats, '{segments_written}', to_jsonb((stats ->> 'segments_written')::int + 1));
    WHEN 'segment-removed' THEN
      PERFORM metastore.delete_segment(g.name) FROM metastore.flag_segments g
        WHERE g.id = (ev ->> 'segmentId')::bigint AND g.deleted_at IS NULL;
      stats := jsonb_set(stats, '{segments_deleted}', to_jsonb((stats ->> 'segments_deleted')::int + 1));
    ELSE
      RAISE EXCEPTION USING ERRCODE = '22023',
        MESSAGE = format('unknown Unleash event type "%s"', ev ->> 'type'),
        DETAIL = format('At events[%s].', i),
        HINT = 'Known: hydration, feature-updated, feature-removed, segment-updated, segment-removed.';
    END CASE;
    i := i + 1;
  END LOOP;

  IF prune THEN
    FOR r IN SELECT * FROM metastore.flags fl
              WHERE fl.deleted_at IS NULL AND fl.name <> ALL (seen)
                AND ($2 IS NULL OR fl.namespace = $2) LOOP
      PERFORM metastore.delete_flag(r.name);
      stats := jsonb_set(stats, '{flags_deleted}', to_jsonb((stats ->> 'flags_deleted')::int + 1));
    END LOOP;
  END IF;
  RETURN stats;
END
$$;
COMMENT ON FUNCTION metastore.import_unleash(jsonb, text, boolean) IS
  'Import Unleash''s client API document {version, features, segments} (or the delta API''s {events}) loss-free: every field is kept. namespace overrides each feature''s project; prune deletes flags the document does not name.';

CREATE FUNCTION metastore.put_segment_unchecked(name text, constraints jsonb, id integer DEFAULT NULL,
                                                expected_version integer DEFAULT NULL,
                                                namespace text DEFAULT NULL, description text DEFAULT NULL)
RETURNS metastore.flag_segments
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'put_segment_unchecked';
COMMENT ON FUNCTION metastore.put_segment_unchecked(text, jsonb, integer, integer, text, text) IS
  'Internal (import_unleash): put_segment that keeps what Unleash keeps.';
REVOKE ALL ON FUNCTION metastore.put_segment_unchecked(text, jsonb, integer, integer, text, text) FROM PUBLIC;
