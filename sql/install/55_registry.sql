-- Service registry (docs/registry.md): instances of services with their
-- health; an instance whose last report is older than its TTL counts as
-- unhealthy, derived when read, so nobody has to write to expire it.

CREATE TABLE metastore.services (
  id               bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace        text        NOT NULL,
  name             text        NOT NULL,
  instance_id      text        NOT NULL,
  url              text        NOT NULL,
  health_check_url text,
  metadata         jsonb       NOT NULL DEFAULT '{}',
  ttl_seconds      integer     NOT NULL CHECK (ttl_seconds BETWEEN 1 AND 86400),
  status           text        NOT NULL DEFAULT 'unknown'
                   CHECK (status IN ('healthy', 'unhealthy', 'degraded', 'unknown')),
  response_time_ms double precision CHECK (response_time_ms >= 0),
  last_seen_at     timestamptz NOT NULL,
  version          integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at       timestamptz NOT NULL,
  created_by       text        NOT NULL,
  updated_at       timestamptz NOT NULL,
  updated_by       text        NOT NULL,
  deleted_at       timestamptz,
  UNIQUE (namespace, name, instance_id)
);
COMMENT ON TABLE metastore.services IS
  'Registered service instances. Registration fields are versioned (history); health reports update status, response time and last_seen_at in place.';

-- History records registrations (a version), not every heartbeat; events
-- announce registrations and status changes, not every heartbeat.
CREATE TRIGGER services_history_rows
  AFTER INSERT OR DELETE ON metastore.services
  FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('service', 'name');
CREATE TRIGGER services_history_versions
  AFTER UPDATE ON metastore.services
  FOR EACH ROW WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION metastore.history_trigger('service', 'name');
SELECT metastore.protect_aggregate('metastore.services');
CREATE CONSTRAINT TRIGGER services_events
  AFTER INSERT OR DELETE ON metastore.services
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION metastore.event_trigger('service', 'name', 'name', 'instance_id', 'url', 'status');
CREATE CONSTRAINT TRIGGER services_change_events
  AFTER UPDATE ON metastore.services
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  WHEN (OLD.version IS DISTINCT FROM NEW.version OR OLD.status IS DISTINCT FROM NEW.status
        OR OLD.deleted_at IS DISTINCT FROM NEW.deleted_at)
  EXECUTE FUNCTION metastore.event_trigger('service', 'name', 'name', 'instance_id', 'url', 'status');

-- A service URL: http(s)://host[:port][/path], no credentials, no spaces.
CREATE FUNCTION metastore.check_service_url(url text, field text DEFAULT 'url')
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m text[];
BEGIN
  IF url IS NULL THEN
    RETURN NULL;
  END IF;
  IF octet_length(url) > 2048 THEN
    RAISE EXCEPTION USING ERRCODE = '22001', MESSAGE = format('%s is too long', field),
      DETAIL = format('It has %s bytes; the limit is 2048.', octet_length(url));
  END IF;
  m := regexp_match(url, '^(https?)://(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*)(:([0-9]{1,5}))?(/[^\s?#]*)?(\?[^\s#]*)?$');
  IF m IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s is not an http or https URL', field),
      DETAIL = format('"%s" was given.', left(url, 200)),
      HINT = 'Use http(s)://host[:port][/path]; credentials in URLs are not accepted.';
  END IF;
  IF left(m[2], 1) = '[' THEN
    -- a bracketed host must be an IPv6 address
    BEGIN
      IF family(btrim(m[2], '[]')::inet) <> 6 OR masklen(btrim(m[2], '[]')::inet) <> 128 THEN
        RAISE EXCEPTION USING ERRCODE = '22P02';
      END IF;
    EXCEPTION WHEN invalid_text_representation THEN
      RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s has a bracketed host that is not an IPv6 address', field),
        DETAIL = format('"%s" was given.', left(url, 200));
    END;
  END IF;
  IF m[7] IS NOT NULL AND (m[7]::integer < 1 OR m[7]::integer > 65535) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = format('%s has a port outside 1..65535', field),
      DETAIL = format('"%s" was given.', left(url, 200));
  END IF;
  RETURN url;
END
$$;
COMMENT ON FUNCTION metastore.check_service_url(text, text) IS
  'A service URL, checked: http(s)://host[:port][/path][?query], host a DNS name, IPv4 or [IPv6]; no credentials, spaces or fragments (22023), at most 2048 bytes (22001).';

-- One instance as the API shows it, with its health derived at read time.
CREATE FUNCTION metastore.service_json(s metastore.services)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT jsonb_build_object(
    'id', s.id, 'namespace', s.namespace, 'name', s.name, 'service_name', s.name,
    'instance_id', s.instance_id, 'url', s.url, 'service_url', s.url,
    'health_check_url', s.health_check_url, 'metadata', s.metadata, 'ttl', s.ttl_seconds,
    'reported_status', s.status,
    'status', CASE WHEN s.last_seen_at + make_interval(secs => s.ttl_seconds) < now() THEN 'unhealthy'
                   ELSE s.status END,
    'expired', s.last_seen_at + make_interval(secs => s.ttl_seconds) < now(),
    'response_time', s.response_time_ms, 'last_health_check', s.last_seen_at,
    'expires_at', s.last_seen_at + make_interval(secs => s.ttl_seconds),
    'registered_at', s.created_at, 'version', s.version, 'updated_at', s.updated_at)
$$;
COMMENT ON FUNCTION metastore.service_json(metastore.services) IS
  'An instance as JSON: status is the reported one, or unhealthy once last_health_check + ttl has passed (expired: true).';

CREATE FUNCTION metastore.register_service(name text, url text, health_check_url text DEFAULT NULL,
                                           metadata jsonb DEFAULT '{}', ttl integer DEFAULT 30,
                                           instance_id text DEFAULT NULL,
                                           namespace text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s metastore.services;
  inst text;
  who text := metastore.current_principal();
BEGIN
  IF $1 IS NULL OR $2 IS NULL OR $7 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'name, url and namespace must not be null';
  END IF;
  PERFORM metastore.require_role($7, 'writer');
  IF $1 !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a service name is 1..128 of [A-Za-z0-9._-], starting with a letter or digit',
      DETAIL = format('"%s" was given.', left($1, 200));
  END IF;
  PERFORM metastore.check_service_url($2, 'url');
  PERFORM metastore.check_service_url($3, 'health_check_url');
  IF $4 IS NULL OR jsonb_typeof($4) <> 'object' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'metadata must be a JSON object';
  END IF;
  IF octet_length($4::text) > 65536 THEN
    RAISE EXCEPTION USING ERRCODE = '54000', MESSAGE = 'metadata is larger than 64 KiB';
  END IF;
  IF $5 IS NULL OR $5 < 1 OR $5 > 86400 THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'ttl must be from 1 to 86400 seconds',
      DETAIL = format('%s was given.', coalesce($5::text, 'null'));
  END IF;
  inst := coalesce($6, $2);
  IF octet_length(inst) NOT BETWEEN 1 AND 2048 OR inst ~ '[[:cntrl:]]' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'instance_id must be 1..2048 bytes without control characters';
  END IF;
  SELECT * INTO s FROM metastore.services sv
   WHERE sv.namespace = $7 AND sv.name = $1 AND sv.instance_id = inst FOR UPDATE;
  IF s.id IS NULL THEN
    INSERT INTO metastore.services (namespace, name, instance_id, url, health_check_url, metadata,
                                    ttl_seconds, last_seen_at, created_at, created_by, updated_at, updated_by)
    VALUES ($7, $1, inst, $2, $3, $4, $5, now(), now(), who, now(), who)
    RETURNING * INTO s;
  ELSE
    -- re-registering is a heartbeat; changed fields (or a comeback) make a new version
    UPDATE metastore.services sv
       SET url = $2, health_check_url = $3, metadata = $4, ttl_seconds = $5, last_seen_at = now(),
           status = CASE WHEN sv.deleted_at IS NOT NULL THEN 'unknown' ELSE sv.status END,
           version = sv.version + CASE WHEN sv.deleted_at IS NOT NULL
                                        OR (sv.url, sv.health_check_url, sv.metadata, sv.ttl_seconds)
                                           IS DISTINCT FROM ($2, $3, $4, $5) THEN 1 ELSE 0 END,
           updated_at = now(), updated_by = who, deleted_at = NULL
     WHERE sv.id = s.id
    RETURNING * INTO s;
  END IF;
  RETURN metastore.service_json(s);
END
$$;
COMMENT ON FUNCTION metastore.register_service(text, text, text, jsonb, integer, text, text) IS
  'Register (or re-register) an instance of a service; instance_id defaults to the url, so each URL is an instance. ttl: seconds a report stays valid. Writer on the namespace.';

CREATE FUNCTION metastore.report_health(name text, status text, response_time double precision DEFAULT NULL,
                                        instance_id text DEFAULT NULL, namespace text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  s metastore.services;
  n integer;
BEGIN
  IF $1 IS NULL OR $2 IS NULL OR $5 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'name, status and namespace must not be null';
  END IF;
  PERFORM metastore.require_role($5, 'writer');
  IF $2 NOT IN ('healthy', 'unhealthy', 'degraded', 'unknown') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'status must be healthy, unhealthy, degraded or unknown',
      DETAIL = format('"%s" was given.', left($2, 100));
  END IF;
  IF $3 IS NOT NULL AND ($3 < 0 OR $3 = 'NaN'::float8 OR $3 = 'Infinity'::float8) THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'response_time must be a non-negative number of milliseconds';
  END IF;
  SELECT count(*) INTO n FROM metastore.services sv
   WHERE sv.namespace = $5 AND sv.name = $1 AND sv.deleted_at IS NULL AND ($4 IS NULL OR sv.instance_id = $4);
  IF n = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'MS404',
      MESSAGE = format('service "%s"%s is not registered in namespace "%s"', $1,
                       coalesce(format(' (instance "%s")', $4), ''), $5);
  END IF;
  IF n > 1 THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('service "%s" has %s instances: name the instance_id', $1, n);
  END IF;
  UPDATE metastore.services sv
     SET status = $2, response_time_ms = $3, last_seen_at = now()
   WHERE sv.namespace = $5 AND sv.name = $1 AND sv.deleted_at IS NULL AND ($4 IS NULL OR sv.instance_id = $4)
  RETURNING * INTO s;
  RETURN metastore.service_json(s);
END
$$;
COMMENT ON FUNCTION metastore.report_health(text, text, double precision, text, text) IS
  'Report an instance''s health (healthy, unhealthy, degraded, unknown) and response time in ms; also a heartbeat that renews its TTL. instance_id may be omitted when the service has one instance.';

CREATE FUNCTION metastore.deregister_service(name text, instance_id text DEFAULT NULL,
                                             namespace text DEFAULT 'default')
RETURNS integer
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n integer;
BEGIN
  IF $1 IS NULL OR $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'name and namespace must not be null';
  END IF;
  PERFORM metastore.require_role($3, 'writer');
  UPDATE metastore.services sv
     SET deleted_at = now(), version = sv.version + 1, updated_at = now(),
         updated_by = metastore.current_principal()
   WHERE sv.namespace = $3 AND sv.name = $1 AND sv.deleted_at IS NULL AND ($2 IS NULL OR sv.instance_id = $2);
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RAISE EXCEPTION USING ERRCODE = 'MS404',
      MESSAGE = format('service "%s" is not registered in namespace "%s"', $1, $3);
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION metastore.deregister_service(text, text, text) IS
  'Deregister every instance of a service (or one instance_id); returns how many. MS404 when none is registered.';

CREATE FUNCTION metastore.get_service(name text, namespace text DEFAULT 'default')
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  instances jsonb;
BEGIN
  IF $1 IS NULL OR $2 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'name and namespace must not be null';
  END IF;
  PERFORM metastore.require_role($2, 'reader');
  SELECT jsonb_agg(metastore.service_json(s) ORDER BY s.instance_id COLLATE "C") INTO instances
    FROM metastore.services s WHERE s.namespace = $2 AND s.name = $1 AND s.deleted_at IS NULL;
  IF instances IS NULL THEN
    RETURN NULL;
  END IF;
  RETURN jsonb_build_object('namespace', $2, 'name', $1, 'service_name', $1,
    'status', CASE WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(instances) i WHERE i ->> 'status' = 'healthy') THEN 'healthy'
                   WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(instances) i WHERE i ->> 'status' = 'degraded') THEN 'degraded'
                   WHEN EXISTS (SELECT 1 FROM jsonb_array_elements(instances) i WHERE i ->> 'status' = 'unknown') THEN 'unknown'
                   ELSE 'unhealthy' END,
    'healthy_instances', (SELECT count(*) FROM jsonb_array_elements(instances) i WHERE i ->> 'status' = 'healthy'),
    'instances', instances)
    || (instances -> 0) - 'id' - 'instance_id' - 'status' - 'expired' - 'reported_status';
END
$$;
COMMENT ON FUNCTION metastore.get_service(text, text) IS
  'A service and its live instances, or NULL: status is healthy when any instance is, else degraded, unknown or unhealthy; the first instance''s fields are repeated at the top (seed 001''s one-instance shape).';

CREATE FUNCTION metastore.list_services(status text DEFAULT NULL, namespace text DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF $1 IS NOT NULL AND $1 NOT IN ('healthy', 'unhealthy', 'degraded', 'unknown') THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'status must be healthy, unhealthy, degraded or unknown';
  END IF;
  IF $2 IS NOT NULL THEN
    PERFORM metastore.require_role($2, 'reader');
  END IF;
  RETURN QUERY
  SELECT j FROM (SELECT metastore.service_json(s) AS j, s.namespace, s.name, s.instance_id
                   FROM metastore.services s
                  WHERE s.deleted_at IS NULL AND ($2 IS NULL OR s.namespace = $2)) x
   WHERE $1 IS NULL OR x.j ->> 'status' = $1
   ORDER BY x.namespace COLLATE "C", x.name COLLATE "C", x.instance_id COLLATE "C";
END
$$;
COMMENT ON FUNCTION metastore.list_services(text, text) IS
  'Live instances the principal may read (every namespace, or one), optionally only those whose derived status is status.';

CREATE FUNCTION metastore.healthy_services(namespace text DEFAULT NULL)
RETURNS SETOF jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM metastore.list_services('healthy', $1) $$;
COMMENT ON FUNCTION metastore.healthy_services(text) IS
  'Instances that reported healthy within their TTL.';

-- ---- REST: seed 001's /api/v1/registry, also at /api/v1/services ----

CREATE FUNCTION metastore.http_registry_register(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{service_name,name,service_url,url,health_check_url,metadata,ttl,instance_id,namespace}');
  r jsonb;
  existed boolean;
  ns text := coalesce(metastore.http_text(b, 'namespace'), metastore.http_namespace(req));
  name text := coalesce(metastore.http_text(b, 'service_name'), metastore.http_text(b, 'name'));
  url text := coalesce(metastore.http_text(b, 'service_url'), metastore.http_text(b, 'url'));
BEGIN
  IF name IS NULL OR url IS NULL THEN
    RAISE EXCEPTION 'fields "service_name" and "service_url" are required' USING ERRCODE = '22023';
  END IF;
  IF b ? 'ttl' AND (jsonb_typeof(b -> 'ttl') <> 'number' OR (b ->> 'ttl') !~ '^[0-9]{1,9}$') THEN
    RAISE EXCEPTION 'field "ttl" must be a whole number of seconds (1..86400)' USING ERRCODE = '22023';
  END IF;
  existed := EXISTS (SELECT 1 FROM metastore.list_services(NULL, ns) j
                      WHERE j ->> 'name' = name AND j ->> 'instance_id' = coalesce(metastore.http_text(b, 'instance_id'), url));
  r := metastore.register_service(name, url, metastore.http_text(b, 'health_check_url'),
                                  coalesce(b -> 'metadata', '{}'), coalesce((b ->> 'ttl')::integer, 30),
                                  metastore.http_text(b, 'instance_id'), ns);
  RETURN metastore.http_reply(CASE WHEN existed THEN 200 ELSE 201 END, r);
END
$$;

CREATE FUNCTION metastore.http_registry_get(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r jsonb := metastore.get_service(req -> 'params' ->> 'name', metastore.http_namespace(req));
BEGIN
  IF r IS NULL THEN
    RAISE EXCEPTION 'service "%" is not registered', req -> 'params' ->> 'name' USING ERRCODE = 'MS404';
  END IF;
  RETURN metastore.http_reply(200, r);
END
$$;

CREATE FUNCTION metastore.http_registry_list(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q jsonb := coalesce(req -> 'query', '{}');
  unknown text;
  items jsonb;
BEGIN
  SELECT k INTO unknown FROM jsonb_object_keys(q) k WHERE k NOT IN ('status', 'namespace') LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown query parameter "%"', unknown USING ERRCODE = '22023',
      DETAIL = 'Allowed: status, namespace.';
  END IF;
  SELECT coalesce(jsonb_agg(j), '[]') INTO items FROM metastore.list_services(q ->> 'status', q ->> 'namespace') j;
  RETURN metastore.http_reply(200, jsonb_build_object('services', items, 'total', jsonb_array_length(items)));
END
$$;

CREATE FUNCTION metastore.http_registry_healthy(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  items jsonb;
BEGIN
  SELECT coalesce(jsonb_agg(j), '[]') INTO items
    FROM metastore.healthy_services(req -> 'query' ->> 'namespace') j;
  RETURN metastore.http_reply(200, jsonb_build_object('services', items, 'total', jsonb_array_length(items)));
END
$$;

CREATE FUNCTION metastore.http_registry_health(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{service_name,name,status,response_time,instance_id,namespace}');
  name text := coalesce(metastore.http_text(b, 'service_name'), metastore.http_text(b, 'name'));
BEGIN
  IF name IS NULL OR NOT b ? 'status' THEN
    RAISE EXCEPTION 'fields "service_name" and "status" are required' USING ERRCODE = '22023';
  END IF;
  IF b ? 'response_time' AND jsonb_typeof(b -> 'response_time') NOT IN ('number', 'null') THEN
    RAISE EXCEPTION 'field "response_time" must be a number of milliseconds' USING ERRCODE = '22023';
  END IF;
  RETURN metastore.http_reply(200, metastore.report_health(name, metastore.http_text(b, 'status'),
    (b ->> 'response_time')::double precision, metastore.http_text(b, 'instance_id'),
    coalesce(metastore.http_text(b, 'namespace'), metastore.http_namespace(req))));
END
$$;

CREATE FUNCTION metastore.http_registry_deregister(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM metastore.deregister_service(req -> 'params' ->> 'name', req -> 'query' ->> 'instance_id',
                                       metastore.http_namespace(req));
  RETURN metastore.http_reply(204);
END
$$;

COMMENT ON FUNCTION metastore.http_registry_register(jsonb) IS 'POST /api/v1/registry/register';
COMMENT ON FUNCTION metastore.http_registry_get(jsonb) IS 'GET /api/v1/registry/{name}';
COMMENT ON FUNCTION metastore.http_registry_list(jsonb) IS 'GET /api/v1/registry';
COMMENT ON FUNCTION metastore.http_registry_healthy(jsonb) IS 'GET /api/v1/registry/healthy';
COMMENT ON FUNCTION metastore.http_registry_health(jsonb) IS 'PUT /api/v1/registry/health';
COMMENT ON FUNCTION metastore.http_registry_deregister(jsonb) IS 'DELETE /api/v1/registry/{name}';

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary)
SELECT r.method, p.prefix || r.path, r.handler::regprocedure, true, r.op || p.suffix, 'registry', r.summary
  FROM (VALUES
    ('POST',   '/register', 'metastore.http_registry_register(jsonb)',   'registerService',   'Register (or re-register) a service instance'),
    ('GET',    '',          'metastore.http_registry_list(jsonb)',       'listServices',      'List instances (?status=healthy|unhealthy|degraded|unknown, ?namespace=)'),
    ('GET',    '/healthy',  'metastore.http_registry_healthy(jsonb)',    'healthyServices',   'Instances healthy within their TTL'),
    ('PUT',    '/health',   'metastore.http_registry_health(jsonb)',     'reportHealth',      'Report an instance''s health and response time'),
    ('GET',    '/{name}',   'metastore.http_registry_get(jsonb)',        'getService',        'A service and its instances'),
    ('DELETE', '/{name}',   'metastore.http_registry_deregister(jsonb)', 'deregisterService', 'Deregister a service (?instance_id= for one instance)')
  ) AS r(method, path, handler, op, summary),
  (VALUES ('/api/v1/registry', ''), ('/api/v1/services', 'Alias')) AS p(prefix, suffix);
