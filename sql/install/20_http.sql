-- REST onto SQL: the route table, http_dispatch, and the records routes.
-- The HTTP shim calls only metastore.http_dispatch; everything REST does
-- (routing, authentication, status codes, ETag / If-Match, error bodies)
-- happens here, so it is testable from SQL and versioned with the SQL API.

CREATE TYPE metastore.http_response AS (status integer, headers jsonb, body jsonb);
COMMENT ON TYPE metastore.http_response IS 'What a route handler returns: status, extra headers, JSON body.';

CREATE TABLE metastore.http_routes (
  method       text    NOT NULL CHECK (method IN ('GET', 'POST', 'PUT', 'PATCH', 'DELETE')),
  path         text    NOT NULL CHECK (path ~ '^(/([A-Za-z0-9._-]+|\{[a-z_]+\}))+$'),
  handler      regprocedure NOT NULL,
  auth         boolean NOT NULL DEFAULT true,
  operation_id text    NOT NULL UNIQUE,
  tag          text    NOT NULL,
  summary      text    NOT NULL,
  query_params jsonb   NOT NULL DEFAULT '[]',  -- OpenAPI parameter objects ("in": "query") beyond namespace
  request_schema jsonb,                       -- JSON Schema of the body, for openapi()
  PRIMARY KEY (method, path)
);
COMMENT ON TABLE metastore.http_routes IS
  'REST routes: method + path pattern ({name} captures a segment) -> handler(req jsonb) returning metastore.http_response. Read by http_dispatch and metastore.openapi().';

CREATE TRIGGER http_routes_cache
  AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metastore.http_routes
  FOR EACH STATEMENT EXECUTE FUNCTION metastore.cache_invalidate();
ALTER TABLE metastore.http_routes ENABLE ROW LEVEL SECURITY;
ALTER TABLE metastore.http_routes FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON metastore.http_routes TO metastore_owner USING (true) WITH CHECK (true);

CREATE FUNCTION metastore.http_dispatch(method text, path text, query jsonb DEFAULT '{}',
                                        headers jsonb DEFAULT '{}', body text DEFAULT NULL)
RETURNS TABLE (status integer, headers jsonb, body text)
LANGUAGE c VOLATILE SECURITY DEFINER
AS 'MODULE_PATHNAME', 'http_dispatch';
COMMENT ON FUNCTION metastore.http_dispatch(text, text, jsonb, jsonb, text) IS
  'The HTTP shim''s single entry point: route, authenticate (Authorization: ApiKey|Bearer, X-API-Key), call the handler, map errors to HTTP. Always one row; never raises for client errors.';

-- http_dispatch pins search_path = pg_catalog, pg_temp itself (C, first thing
-- it does) instead of by a SET clause: the shim's connections already use
-- that path, and then the pin costs nothing per request.

-- ---- helpers shared by handlers -------------------------------------------

CREATE FUNCTION metastore.http_reply(status integer, body jsonb DEFAULT NULL,
                                     headers jsonb DEFAULT '{}')
RETURNS metastore.http_response
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ROW($1, $3, $2)::metastore.http_response $$;
COMMENT ON FUNCTION metastore.http_reply(integer, jsonb, jsonb) IS 'Build a handler response.';

CREATE FUNCTION metastore.http_namespace(req jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(req->>'namespace', 'default') $$;
COMMENT ON FUNCTION metastore.http_namespace(jsonb) IS
  'The namespace of a request, as http_dispatch resolved it: ?namespace=, else the X-Namespace header, else "default".';

CREATE FUNCTION metastore.http_expected_version(req jsonb)
RETURNS integer
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  im text := req->'headers'->>'if-match';
  inm text := req->'headers'->>'if-none-match';
  m text[];
BEGIN
  IF im IS NOT NULL THEN
    m := regexp_match(im, '^\s*(?:W/)?"?([0-9]{1,9})"?\s*$');
    IF m IS NULL THEN
      RAISE EXCEPTION 'malformed If-Match header "%"', im
        USING ERRCODE = '22P02', HINT = 'Send the ETag of the version you read, e.g. If-Match: "3".';
    END IF;
    RETURN m[1]::integer;
  END IF;
  IF btrim(inm) = '*' THEN
    RETURN 0;
  END IF;
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION metastore.http_expected_version(jsonb) IS
  'expected_version from conditional headers: If-Match: "N" -> N, If-None-Match: * -> 0 (create only), else NULL.';

CREATE FUNCTION metastore.http_body(req jsonb, allowed text[], required text[] DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := req->'body';
  unknown text[];
  missing text[];
BEGIN
  IF b IS NULL OR jsonb_typeof(b) <> 'object' THEN
    RAISE EXCEPTION 'the request body must be a JSON object' USING ERRCODE = '22023';
  END IF;
  SELECT array_agg(k ORDER BY k) INTO unknown FROM jsonb_object_keys(b) k WHERE k <> ALL (allowed);
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown field "%" in the request body', unknown[1]
      USING ERRCODE = '22023', DETAIL = format('Allowed fields: %s.', array_to_string(allowed, ', '));
  END IF;
  SELECT array_agg(k) INTO missing FROM unnest(required) k WHERE NOT b ? k;
  IF missing IS NOT NULL THEN
    RAISE EXCEPTION 'field "%" is required', missing[1] USING ERRCODE = '22023';
  END IF;
  RETURN b;
END
$$;
COMMENT ON FUNCTION metastore.http_body(jsonb, text[], text[]) IS
  'The request body, checked: a JSON object with only allowed fields and every required one (else 22023).';

CREATE FUNCTION metastore.http_text(b jsonb, field text)
RETURNS text
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF b->field IS NULL OR jsonb_typeof(b->field) = 'null' THEN
    RETURN NULL;
  END IF;
  IF jsonb_typeof(b->field) <> 'string' THEN
    RAISE EXCEPTION 'field "%" must be a string', field USING ERRCODE = '22023';
  END IF;
  RETURN b->>field;
END
$$;
COMMENT ON FUNCTION metastore.http_text(jsonb, text) IS 'A string field of a body (NULL when absent), else 22023.';

CREATE FUNCTION metastore.http_tags(b jsonb, field text DEFAULT 'tags')
RETURNS text[]
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF b->field IS NULL OR jsonb_typeof(b->field) = 'null' THEN
    RETURN '{}';
  END IF;
  IF jsonb_typeof(b->field) <> 'array'
     OR EXISTS (SELECT 1 FROM jsonb_array_elements(b->field) e WHERE jsonb_typeof(e) <> 'string') THEN
    RAISE EXCEPTION 'field "%" must be an array of strings', field USING ERRCODE = '22023';
  END IF;
  RETURN ARRAY(SELECT jsonb_array_elements_text(b->field));
END
$$;
COMMENT ON FUNCTION metastore.http_tags(jsonb, text) IS 'A tags array of a body ({} when absent), else 22023.';

CREATE FUNCTION metastore.http_record_json(r metastore.records)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT jsonb_build_object(
           'id', r.id, 'namespace', r.namespace, 'key', r.key, 'metadata', r.metadata,
           'tags', to_jsonb(r.tags), 'owner', r.owner, 'content_type', r.content_type,
           'description', r.description, 'version', r.version,
           'created_at', r.created_at, 'created_by', r.created_by,
           'updated_at', r.updated_at, 'updated_by', r.updated_by, 'deleted_at', r.deleted_at)
$$;
COMMENT ON FUNCTION metastore.http_record_json(metastore.records) IS 'The REST representation of a record.';

CREATE FUNCTION metastore.http_urlencode(s text)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(string_agg(CASE WHEN b BETWEEN 48 AND 57 OR b BETWEEN 65 AND 90
                                    OR b BETWEEN 97 AND 122 OR b IN (45, 46, 95, 126)
                                  THEN chr(b) ELSE '%' || upper(lpad(to_hex(b), 2, '0')) END,
                             '' ORDER BY i), '')
    FROM (SELECT convert_to(s, 'UTF8') AS bytes) x,
         generate_series(0, octet_length(x.bytes) - 1) AS i,
         LATERAL get_byte(x.bytes, i) AS b
$$;
COMMENT ON FUNCTION metastore.http_urlencode(text) IS 'Percent-encode a path segment or query value (RFC 3986 unreserved kept).';

CREATE FUNCTION metastore.http_record_reply(status integer, r metastore.records, extra jsonb DEFAULT '{}')
RETURNS metastore.http_response
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT metastore.http_reply(status, metastore.http_record_json(r),
           jsonb_build_object('ETag', '"' || r.version || '"') || extra)
$$;
COMMENT ON FUNCTION metastore.http_record_reply(integer, metastore.records, jsonb) IS
  'A record response with its ETag (the version).';
