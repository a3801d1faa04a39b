-- ML feature metadata (seed 004) on the lifecycle engine: the metadata is an
-- aggregate; its status is the state of entity <feature_name> of machine
-- ml_feature, changed only by metastore.transition (docs/features.md).

CREATE TABLE metastore.features (
  id                bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace         text        NOT NULL DEFAULT 'features',
  name              text        NOT NULL UNIQUE,
  feature_type      text        NOT NULL CHECK (feature_type IN ('batch', 'streaming', 'on_demand')),
  feature_data_type text        NOT NULL CHECK (feature_data_type IN ('float', 'int', 'string', 'bool')),
  query             text        NOT NULL,
  description       text,
  details           jsonb       NOT NULL DEFAULT '{}',   -- per-action fields: test_result, rejection_reason, ...
  deletion_reason   text,
  version           integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at        timestamptz NOT NULL,
  created_by        text        NOT NULL,
  updated_at        timestamptz NOT NULL,
  updated_by        text        NOT NULL,
  deleted_at        timestamptz
);
COMMENT ON TABLE metastore.features IS
  'ML feature metadata (seed 004). Status: metastore.machine_entities (machine ml_feature). Written only by the *_feature functions.';
CREATE TRIGGER features_history
  AFTER INSERT OR UPDATE OR DELETE ON metastore.features
  FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('feature', 'name');
CREATE CONSTRAINT TRIGGER features_events
  AFTER INSERT OR UPDATE OR DELETE ON metastore.features
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION metastore.event_trigger('feature', 'name', 'name', 'feature_type', 'feature_data_type');
-- written by principals with the lifecycle roles, which the functions check themselves
ALTER TABLE metastore.features ENABLE ROW LEVEL SECURITY;
ALTER TABLE metastore.features FORCE ROW LEVEL SECURITY;
CREATE POLICY namespace_read ON metastore.features FOR SELECT USING (metastore.has_role(namespace, 'reader'));
CREATE POLICY role_insert ON metastore.features FOR INSERT WITH CHECK (metastore.has_role(namespace, 'reader'));
CREATE POLICY role_update ON metastore.features FOR UPDATE USING (metastore.has_role(namespace, 'reader'))
  WITH CHECK (metastore.has_role(namespace, 'reader'));
CREATE POLICY namespace_purge ON metastore.features FOR DELETE USING (metastore.has_role(namespace, 'admin'));

-- Lifecycle roles write too: the history and event rows of a feature (and of
-- its lifecycle entity) are appended for a principal holding developer,
-- approver or external_testing_system, not writer, on the namespace.
DROP POLICY namespace_insert ON metastore.history;
CREATE POLICY namespace_insert ON metastore.history FOR INSERT
  WITH CHECK (metastore.has_role(namespace, 'writer') OR metastore.has_role(namespace, 'developer')
              OR metastore.has_role(namespace, 'approver') OR metastore.has_role(namespace, 'external_testing_system'));
DROP POLICY namespace_append ON metastore.events;
CREATE POLICY namespace_append ON metastore.events FOR INSERT
  WITH CHECK (metastore.has_role(namespace, 'writer') OR metastore.has_role(namespace, 'developer')
              OR metastore.has_role(namespace, 'approver') OR metastore.has_role(namespace, 'external_testing_system'));

-- A feature as seed 004 shows it (times in epoch milliseconds, as the seed's).
CREATE FUNCTION metastore.feature_json(f metastore.features)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_build_object(
           'feature_name', f.name, 'feature_type', f.feature_type,
           'feature_data_type', f.feature_data_type, 'query', f.query, 'description', f.description,
           'status', (SELECT e.state FROM metastore.machine_entities e
                       WHERE e.machine = 'ml_feature' AND e.entity = f.name),
           'created_time', (extract(epoch FROM f.created_at) * 1000)::bigint,
           'updated_time', (extract(epoch FROM f.updated_at) * 1000)::bigint,
           'created_by', f.created_by, 'last_updated_by', f.updated_by, 'version', f.version,
           'namespace', f.namespace)
         || f.details
         || CASE WHEN f.deleted_at IS NULL THEN '{}' ELSE jsonb_build_object(
              'deleted', true, 'deletion_reason', f.deletion_reason,
              'deleted_time', (extract(epoch FROM f.deleted_at) * 1000)::bigint) END
$$;
COMMENT ON FUNCTION metastore.feature_json(metastore.features) IS
  'A feature in seed 004''s shape, with its lifecycle status and per-action fields.';

-- The live feature, or MS404.
CREATE FUNCTION metastore.live_feature(name text)
RETURNS metastore.features
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.features;
BEGIN
  IF $1 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'feature_name must not be null';
  END IF;
  SELECT * INTO f FROM metastore.features x WHERE x.name = $1 AND x.deleted_at IS NULL;
  IF f.id IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = 'MS404', MESSAGE = format('feature "%s" not found', $1);
  END IF;
  RETURN f;
END
$$;
COMMENT ON FUNCTION metastore.live_feature(text) IS 'The live feature the principal may read, else MS404.';

CREATE FUNCTION metastore.create_feature(feature_name text, feature_type text, feature_data_type text,
                                         query text, description text DEFAULT NULL, actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.features;
  who text := metastore.current_principal();
BEGIN
  IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL OR $4 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004',
      MESSAGE = 'feature_name, feature_type, feature_data_type and query must not be null';
  END IF;
  IF $1 !~ '^[A-Za-z0-9_][A-Za-z0-9_.:-]{0,254}$' THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'feature_name is 1..255 of [A-Za-z0-9_.:-], e.g. driver_hourly_stats:conv_rate:1',
      DETAIL = format('"%s" was given.', left($1, 200));
  END IF;
  IF $2 NOT IN ('batch', 'streaming', 'on_demand') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'feature_type must be batch, streaming or on_demand';
  END IF;
  IF $3 NOT IN ('float', 'int', 'string', 'bool') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'feature_data_type must be float, int, string or bool';
  END IF;
  IF btrim($4) = '' OR octet_length($4) > 65536 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'query must be 1..65536 bytes';
  END IF;
  IF octet_length($5) > 4096 THEN
    RAISE EXCEPTION USING ERRCODE = '22001', MESSAGE = 'description is longer than 4096 bytes';
  END IF;
  -- 42501 first for a principal without the role (the machine would be hidden from it)
  PERFORM metastore.require_role('features', 'developer');
  -- the lifecycle's creating action refuses a second creation
  PERFORM metastore.transition('ml_feature', $1, 'create', coalesce($6, who));
  INSERT INTO metastore.features (name, feature_type, feature_data_type, query, description,
                                  created_at, created_by, updated_at, updated_by)
  VALUES ($1, $2, $3, $4, $5, now(), coalesce($6, who), now(), coalesce($6, who))
  RETURNING * INTO f;
  RETURN metastore.feature_json(f);
END
$$;
COMMENT ON FUNCTION metastore.create_feature(text, text, text, text, text, text) IS
  'Create a feature in DRAFT (developer on namespace "features"); MS423 when the name was ever used.';

CREATE FUNCTION metastore.get_feature(feature_name text)
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT metastore.feature_json(metastore.live_feature($1)) $$;
COMMENT ON FUNCTION metastore.get_feature(text) IS 'A live feature (MS404 when absent or deleted).';

CREATE FUNCTION metastore.list_features(status text DEFAULT NULL, feature_type text DEFAULT NULL,
                                        creator text DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT j FROM (SELECT metastore.feature_json(f) AS j, f.name FROM metastore.features f
                  WHERE f.deleted_at IS NULL AND ($2 IS NULL OR f.feature_type = $2)
                    AND ($3 IS NULL OR f.created_by = $3)) x
   WHERE $1 IS NULL OR x.j ->> 'status' = $1
   ORDER BY x.name COLLATE "C"
$$;
COMMENT ON FUNCTION metastore.list_features(text, text, text) IS
  'Live features, by name, optionally of one status, feature_type and creator.';

-- Update or delete: developers, never a deployed feature.
CREATE FUNCTION metastore.update_feature(feature_name text, description text DEFAULT NULL,
                                         query text DEFAULT NULL, feature_type text DEFAULT NULL,
                                         feature_data_type text DEFAULT NULL, actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.features := metastore.live_feature($1);
  st text;
BEGIN
  PERFORM metastore.require_role(f.namespace, 'developer');
  SELECT e.state INTO st FROM metastore.machine_entities e
   WHERE e.machine = 'ml_feature' AND e.entity = $1 FOR UPDATE;
  IF st = 'DEPLOYED' THEN
    RAISE EXCEPTION USING ERRCODE = 'MS423', MESSAGE = format('feature "%s" is DEPLOYED and cannot be changed', $1),
      HINT = 'Create a new version of the feature (e.g. name:2) instead.';
  END IF;
  IF $4 IS NOT NULL AND $4 NOT IN ('batch', 'streaming', 'on_demand') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'feature_type must be batch, streaming or on_demand';
  END IF;
  IF $5 IS NOT NULL AND $5 NOT IN ('float', 'int', 'string', 'bool') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'feature_data_type must be float, int, string or bool';
  END IF;
  IF $3 IS NOT NULL AND (btrim($3) = '' OR octet_length($3) > 65536) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'query must be 1..65536 bytes';
  END IF;
  UPDATE metastore.features x
     SET description = coalesce($2, x.description), query = coalesce($3, x.query),
         feature_type = coalesce($4, x.feature_type), feature_data_type = coalesce($5, x.feature_data_type),
         version = x.version + 1, updated_at = now(), updated_by = coalesce($6, metastore.current_principal())
   WHERE x.id = f.id RETURNING * INTO f;
  RETURN metastore.feature_json(f);
END
$$;
COMMENT ON FUNCTION metastore.update_feature(text, text, text, text, text, text) IS
  'Change the given fields of a feature (developer); MS423 for a DEPLOYED feature.';

CREATE FUNCTION metastore.delete_feature(feature_name text, reason text, actor text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.features := metastore.live_feature($1);
  st text;
BEGIN
  PERFORM metastore.require_role(f.namespace, 'developer');
  IF $2 IS NULL OR btrim($2) = '' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a deletion needs a reason (deletion_reason)';
  END IF;
  SELECT e.state INTO st FROM metastore.machine_entities e
   WHERE e.machine = 'ml_feature' AND e.entity = $1 FOR UPDATE;
  IF st = 'DEPLOYED' THEN
    RAISE EXCEPTION USING ERRCODE = 'MS423', MESSAGE = format('feature "%s" is DEPLOYED and cannot be deleted', $1);
  END IF;
  UPDATE metastore.features x
     SET deleted_at = now(), deletion_reason = $2, version = x.version + 1, updated_at = now(),
         updated_by = coalesce($3, metastore.current_principal())
   WHERE x.id = f.id RETURNING * INTO f;
  RETURN metastore.feature_json(f);
END
$$;
COMMENT ON FUNCTION metastore.delete_feature(text, text, text) IS
  'Soft-delete a feature with a reason (developer); MS423 for a DEPLOYED feature.';

-- A lifecycle action on a feature; its payload's fields are kept on the feature.
CREATE FUNCTION metastore.feature_action(feature_name text, action text, actor text DEFAULT NULL,
                                         payload jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.features := metastore.live_feature($1);
  t jsonb;
BEGIN
  t := metastore.transition('ml_feature', $1, $2, $3, coalesce($4, '{}'));
  UPDATE metastore.features x
     SET details = x.details || coalesce($4, '{}') || jsonb_build_object('last_action', $2),
         version = x.version + 1, updated_at = now(), updated_by = coalesce($3, metastore.current_principal())
   WHERE x.id = f.id RETURNING * INTO f;
  RETURN metastore.feature_json(f);
END
$$;
COMMENT ON FUNCTION metastore.feature_action(text, text, text, jsonb) IS
  'Run a lifecycle action (ready_test, test_succeeded, test_failed, approve, reject, deploy, fix) on a feature; the payload''s fields (test_result, rejection_reason, fix_description, ...) are kept on it.';

-- Deterministic values: the same feature, entity and time give the same value
-- on every machine (murmur3 through metastore.bucket), typed by feature_data_type.
CREATE FUNCTION metastore.feature_value(feature_name text, data_type text, entity text, event_timestamp bigint)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT CASE data_type
           WHEN 'float' THEN to_jsonb(round(metastore.bucket(feature_name || '|' || entity || '|' || event_timestamp, 0, 1000000)::numeric / 10000, 4))
           WHEN 'int'   THEN to_jsonb(metastore.bucket(feature_name || '|' || entity || '|' || event_timestamp, 0, 1000) - 1)
           WHEN 'bool'  THEN to_jsonb(metastore.bucket(feature_name || '|' || entity || '|' || event_timestamp, 0, 2) = 2)
           ELSE to_jsonb('v' || metastore.bucket(feature_name || '|' || entity || '|' || event_timestamp, 0, 100000))
         END
$$;
COMMENT ON FUNCTION metastore.feature_value(text, text, text, bigint) IS
  'The value of a feature for an entity at a time: murmur3 of "feature|entity|timestamp", as float 0..100 (4 decimals), int 0..999, bool or string v<n>.';

CREATE FUNCTION metastore.feature_values(features text[], entities jsonb, event_timestamp bigint DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ts bigint := coalesce($3, (extract(epoch FROM now()) * 1000)::bigint);
  keys text[];
  n integer;
  rows_ jsonb := '[]';
  out jsonb := '{}';
  fname text;
  f metastore.features;
  st text;
BEGIN
  IF $1 IS NULL OR cardinality($1) = 0 OR cardinality($1) > 100 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'features must name 1 to 100 features';
  END IF;
  IF $2 IS NULL OR jsonb_typeof($2) <> 'object' OR $2 = '{}' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'entities must be an object of entity key -> list of values',
      HINT = 'For example {"driver_id": ["D001", "D002"]}.';
  END IF;
  SELECT array_agg(k ORDER BY k) INTO keys FROM jsonb_object_keys($2) k;
  SELECT min(jsonb_array_length(v)), max(jsonb_array_length(v)) INTO n, n FROM jsonb_each($2) x(k, v)
   WHERE jsonb_typeof(v) = 'array';
  IF EXISTS (SELECT 1 FROM jsonb_each($2) x(k, v) WHERE jsonb_typeof(v) <> 'array'
                OR jsonb_array_length(v) <> n
                OR EXISTS (SELECT 1 FROM jsonb_array_elements(v) e WHERE jsonb_typeof(e) NOT IN ('string', 'number')))
     OR n IS NULL OR n = 0 OR n > 1000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = 'every entity key needs a list of 1..1000 strings or numbers, all of the same length (one row per index)';
  END IF;
  -- one entity per index: {"driver_id": "D001", ...}
  SELECT jsonb_agg((SELECT jsonb_object_agg(k, $2 -> k -> i) FROM unnest(keys) k) ORDER BY i) INTO rows_
    FROM generate_series(0, n - 1) i;
  FOREACH fname IN ARRAY $1 LOOP
    SELECT * INTO f FROM metastore.features x WHERE x.name = fname AND x.deleted_at IS NULL;
    SELECT e.state INTO st FROM metastore.machine_entities e WHERE e.machine = 'ml_feature' AND e.entity = fname;
    IF f.id IS NULL THEN
      out := out || jsonb_build_object(fname, jsonb_build_object('status', 'error', 'error', 'feature not found'));
    ELSIF st IS DISTINCT FROM 'DEPLOYED' THEN
      out := out || jsonb_build_object(fname, jsonb_build_object('status', 'error',
               'error', format('feature is not deployed (status %s)', st)));
    ELSE
      out := out || jsonb_build_object(fname, jsonb_build_object('status', 'ok',
               'feature_data_type', f.feature_data_type,
               'values', (SELECT jsonb_agg(metastore.feature_value(fname, f.feature_data_type, r::text, ts) ORDER BY o)
                            FROM jsonb_array_elements(rows_) WITH ORDINALITY AS x(r, o))));
    END IF;
  END LOOP;
  RETURN jsonb_build_object('event_timestamp', ts, 'entities', rows_, 'features', out);
END
$$;
COMMENT ON FUNCTION metastore.feature_values(text[], jsonb, bigint) IS
  'Batch feature values: for each feature, one value per entity row (entities = aligned lists per key); features not deployed (or unknown) are reported per feature, not as a failure.';
