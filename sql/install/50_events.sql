-- Change events: an ordered, durable outbox of every committed change, and a
-- NOTIFY on channel metastore_events for live listeners (docs/events.md).

CREATE TABLE metastore.events (
  id            bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  action        text        NOT NULL CHECK (action IN ('create', 'update', 'delete')),
  resource_type text        NOT NULL,
  resource_id   text,
  namespace     text        NOT NULL,
  data          jsonb       NOT NULL DEFAULT '{}',
  environment   text,
  actor         text        NOT NULL,
  created_at    timestamptz NOT NULL
);
CREATE INDEX events_by_type ON metastore.events (resource_type, id);
CREATE INDEX events_by_time ON metastore.events (created_at);
COMMENT ON TABLE metastore.events IS
  'The outbox: one row per committed change of records, flags, segments and services, in commit order. Written only by metastore.event_trigger.';

-- Readers see the events of namespaces they may read; the trigger appends as
-- the owner role for a principal who could write the change; pruning is the
-- owner's alone.
ALTER TABLE metastore.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE metastore.events FORCE ROW LEVEL SECURITY;
CREATE POLICY namespace_read ON metastore.events FOR SELECT
  USING (metastore.has_role(namespace, 'reader'));
CREATE POLICY namespace_append ON metastore.events FOR INSERT
  WITH CHECK (metastore.has_role(namespace, 'writer'));
CREATE POLICY owner_prunes ON metastore.events FOR DELETE TO metastore_owner USING (true);

-- Pruning by retention runs as this role, so that it removes old events of
-- every namespace, not only those the committing principal may read.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metastore_pruner') THEN
    CREATE ROLE metastore_pruner NOLOGIN BYPASSRLS;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA metastore TO metastore_pruner;
GRANT SELECT, DELETE ON metastore.events TO metastore_pruner;

CREATE FUNCTION metastore.event_trigger()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'event_trigger';
COMMENT ON FUNCTION metastore.event_trigger() IS
  'Deferred constraint trigger (args: resource type, key column, data columns...): at commit, appends the change to metastore.events and notifies channel metastore_events.';
REVOKE ALL ON FUNCTION metastore.event_trigger() FROM PUBLIC;

-- The one line each aggregate adds to publish its changes.
CREATE CONSTRAINT TRIGGER records_events
  AFTER INSERT OR UPDATE OR DELETE ON metastore.records
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION metastore.event_trigger('record', 'key', 'key', 'tags', 'content_type');
CREATE CONSTRAINT TRIGGER flags_events
  AFTER INSERT OR UPDATE OR DELETE ON metastore.flags
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION metastore.event_trigger('flag', 'name', 'name', 'tags');
CREATE CONSTRAINT TRIGGER flag_segments_events
  AFTER INSERT OR UPDATE OR DELETE ON metastore.flag_segments
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION metastore.event_trigger('segment', 'name', 'name', 'id');

CREATE FUNCTION metastore.events_since(after_id bigint DEFAULT 0, "limit" integer DEFAULT 100,
                                       resource_types text[] DEFAULT NULL, namespace text DEFAULT NULL)
RETURNS SETOF metastore.events
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF $1 IS NULL OR $1 < 0 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'after_id must be 0 or a positive event id';
  END IF;
  IF $2 IS NULL OR $2 < 1 OR $2 > 1000 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'limit must be from 1 to 1000',
      DETAIL = format('%s was given.', coalesce($2::text, 'null'));
  END IF;
  IF $4 IS NOT NULL THEN
    PERFORM metastore.require_role($4, 'reader');
  END IF;
  RETURN QUERY
  SELECT * FROM metastore.events e
   WHERE e.id > $1 AND ($3 IS NULL OR e.resource_type = ANY ($3)) AND ($4 IS NULL OR e.namespace = $4)
   ORDER BY e.id LIMIT $2;
END
$$;
COMMENT ON FUNCTION metastore.events_since(bigint, integer, text[], text) IS
  'Events after after_id, oldest first, at most limit (1..1000), optionally of some resource types and one namespace; only namespaces the principal may read. Ids follow commit order, so a consumer that remembers the last id it saw misses nothing.';

CREATE FUNCTION metastore.latest_event_id()
RETURNS bigint
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT coalesce(max(id), 0) FROM metastore.events $$;
COMMENT ON FUNCTION metastore.latest_event_id() IS
  'The newest event id the principal may read (0 when none): where a consumer that wants only new events starts.';

CREATE FUNCTION metastore.prune_events(older_than interval DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
  keep interval := coalesce($1, make_interval(hours => current_setting('metastore.event_retention_hours')::integer));
BEGIN
  IF NOT metastore.has_role('*', 'admin') THEN
    RAISE EXCEPTION USING ERRCODE = '42501', MESSAGE = 'pruning events needs the admin role on "*"';
  END IF;
  IF keep <= interval '0' THEN
    RETURN 0;
  END IF;
  DELETE FROM metastore.events WHERE created_at < now() - keep;   -- now(): a constant, so the index serves it
  GET DIAGNOSTICS n = ROW_COUNT;
  RETURN n;
END
$$;
COMMENT ON FUNCTION metastore.prune_events(interval) IS
  'Delete events older than older_than (default: the setting metastore.event_retention_hours); admins of "*" only. Appending prunes by itself once every 1000 events.';

-- REST: GET /api/v1/events?after=&limit=&types=, GET /api/v1/events/latest
CREATE FUNCTION metastore.http_events_json(e metastore.events)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT jsonb_build_object('id', e.id, 'action', e.action, 'resource_type', e.resource_type,
                            'resource_id', e.resource_id, 'namespace', e.namespace, 'data', e.data,
                            'timestamp', e.created_at, 'environment', e.environment, 'actor', e.actor)
$$;
COMMENT ON FUNCTION metastore.http_events_json(metastore.events) IS
  'An event in seed 001''s shape {action, resource_type, resource_id, data, timestamp, environment} plus id, namespace and actor.';

CREATE FUNCTION metastore.http_events_list(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q jsonb := coalesce(req -> 'query', '{}');
  after bigint;
  lim integer;
  unknown text;
  items jsonb;
BEGIN
  SELECT k INTO unknown FROM jsonb_object_keys(q) k WHERE k NOT IN ('after', 'limit', 'types', 'namespace') LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown query parameter "%"', unknown USING ERRCODE = '22023',
      DETAIL = 'Allowed: after, limit, types, namespace.';
  END IF;
  IF coalesce(q ->> 'after', '0') !~ '^[0-9]{1,18}$' OR coalesce(q ->> 'limit', '100') !~ '^[0-9]{1,4}$' THEN
    RAISE EXCEPTION 'after and limit must be whole numbers' USING ERRCODE = '22023';
  END IF;
  after := coalesce(q ->> 'after', '0')::bigint;
  lim := coalesce(q ->> 'limit', '100')::integer;
  SELECT coalesce(jsonb_agg(metastore.http_events_json(e) ORDER BY e.id), '[]') INTO items
    FROM metastore.events_since(after, lim,
           CASE WHEN q ? 'types' THEN string_to_array(q ->> 'types', ',') END,
           metastore.http_explicit_namespace(req)) e;
  RETURN metastore.http_reply(200, jsonb_build_object('events', items,
    'last_id', coalesce((items -> -1 ->> 'id')::bigint, after)));
END
$$;
COMMENT ON FUNCTION metastore.http_events_list(jsonb) IS 'GET /api/v1/events';

CREATE FUNCTION metastore.http_events_latest(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT metastore.http_reply(200, jsonb_build_object('last_id', metastore.latest_event_id())) $$;
COMMENT ON FUNCTION metastore.http_events_latest(jsonb) IS 'GET /api/v1/events/latest';

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary, query_params) VALUES
  ('GET', '/api/v1/events',        'metastore.http_events_list(jsonb)',   true, 'listEvents',    'events',
   'Committed changes after ?after= (oldest first; ?limit= 1..1000, ?types=flag,record, ?namespace=)',
   '[{"name": "after", "in": "query", "schema": {"type": "integer", "minimum": 0}},
     {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000}},
     {"name": "types", "in": "query", "schema": {"type": "string"}, "description": "comma-separated resource types"}]'),
  ('GET', '/api/v1/events/latest', 'metastore.http_events_latest(jsonb)', true, 'latestEvent',   'events',
   'The newest event id the key may read', '[]');
