-- OpenAPI 3.1 generated from metastore.http_routes: the REST contract is
-- versioned with the SQL API and never drifts from what http_dispatch serves.

CREATE FUNCTION metastore.openapi()
RETURNS jsonb
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH ops AS (
    SELECT r.path, lower(r.method) AS method,
           jsonb_strip_nulls(jsonb_build_object(
             'operationId', r.operation_id,
             'summary', r.summary,
             'tags', jsonb_build_array(r.tag),
             'parameters',
               coalesce((SELECT jsonb_agg(jsonb_build_object('name', m[1], 'in', 'path', 'required', true,
                                                             'schema', jsonb_build_object('type', 'string'))
                                          ORDER BY ord)
                           FROM regexp_matches(r.path, '\{([a-z_]+)\}', 'g') WITH ORDINALITY AS x(m, ord)),
                        '[]'::jsonb)
               || CASE WHEN r.path LIKE '/records%' OR r.path LIKE '/api/v1/metadata/key/%'
                       THEN jsonb_build_array(jsonb_build_object('name', 'namespace', 'in', 'query',
                              'required', false, 'description', 'Namespace (or the X-Namespace header); default "default".',
                              'schema', jsonb_build_object('type', 'string')))
                       ELSE '[]'::jsonb END
               || r.query_params,
             'requestBody', CASE WHEN r.method IN ('POST', 'PUT', 'PATCH') THEN
                              jsonb_build_object('required', false, 'content',
                                jsonb_build_object('application/json',
                                  jsonb_build_object('schema', coalesce(r.request_schema, '{}'::jsonb))))
                            END,
             'security', CASE WHEN r.auth THEN '[{"ApiKeyHeader": []}, {"XApiKey": []}]'::jsonb ELSE '[]'::jsonb END,
             'responses', jsonb_build_object(
               CASE r.method WHEN 'DELETE' THEN '204' WHEN 'POST' THEN '200' ELSE '200' END,
               jsonb_build_object('description', 'Success'),
               'default', jsonb_build_object('description', 'Error (see docs/errors.md)',
                 'content', jsonb_build_object('application/json',
                   jsonb_build_object('schema', jsonb_build_object('$ref', '#/components/schemas/Error')))))
           )) AS op
      FROM metastore.http_routes r
  )
  SELECT jsonb_build_object(
    'openapi', '3.1.0',
    'info', jsonb_build_object(
      'title', 'metastore',
      'version', (SELECT extversion FROM pg_extension WHERE extname = 'metastore'),
      'description', 'Metadata, configuration and feature flags served from PostgreSQL. Generated from metastore.http_routes.'),
    'paths', (SELECT jsonb_object_agg(path, methods) FROM
               (SELECT path, jsonb_object_agg(method, op) AS methods FROM ops GROUP BY path) p),
    'components', jsonb_build_object(
      'securitySchemes', jsonb_build_object(
        'ApiKeyHeader', jsonb_build_object('type', 'apiKey', 'in', 'header', 'name', 'Authorization',
                          'description', 'Authorization: ApiKey <key> (or Bearer <key>)'),
        'XApiKey', jsonb_build_object('type', 'apiKey', 'in', 'header', 'name', 'X-API-Key')),
      'schemas', jsonb_build_object(
        'SearchFilter', $filter$
          {"description": "and / or / not, or a leaf {field, op, value} (docs/search.md)",
           "oneOf": [
             {"type": "object", "additionalProperties": false, "required": ["and"],
              "properties": {"and": {"type": "array", "items": {"$ref": "#/components/schemas/SearchFilter"}}}},
             {"type": "object", "additionalProperties": false, "required": ["or"],
              "properties": {"or": {"type": "array", "items": {"$ref": "#/components/schemas/SearchFilter"}}}},
             {"type": "object", "additionalProperties": false, "required": ["not"],
              "properties": {"not": {"$ref": "#/components/schemas/SearchFilter"}}},
             {"type": "object", "additionalProperties": false, "required": ["field", "op"],
              "properties": {
                "field": {"type": "string", "description": "key, namespace, tags, owner, version, created_at, updated_at, created_by, updated_by, metadata or metadata.<path>"},
                "op": {"enum": ["eq", "neq", "lt", "lte", "gt", "gte", "between", "in", "contains",
                                "array_contains", "prefix", "exists", "has_key"]},
                "value": {}}}]}
        $filter$::jsonb,
        'Error', jsonb_build_object('type', 'object', 'required', jsonb_build_array('code', 'message'),
          'properties', jsonb_build_object(
            'code', jsonb_build_object('type', 'string', 'description', 'SQLSTATE'),
            'message', jsonb_build_object('type', 'string'),
            'details', jsonb_build_object('type', jsonb_build_array('string', 'null')),
            'hint', jsonb_build_object('type', jsonb_build_array('string', 'null')))))))
$$;
COMMENT ON FUNCTION metastore.openapi() IS 'The OpenAPI 3.1 document of every REST route, generated from metastore.http_routes.';

CREATE FUNCTION metastore.http_openapi(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT metastore.http_reply(200, metastore.openapi()) $$;

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary) VALUES
  ('GET', '/openapi.json', 'metastore.http_openapi(jsonb)', false, 'openapi', 'meta', 'This OpenAPI document');

-- Every route handler is described by its route: one COMMENT per handler,
-- generated here so it cannot drift from the route table.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT handler, string_agg(method || ' ' || path || ': ' || summary, '; ' ORDER BY path, method) AS what
             FROM metastore.http_routes GROUP BY handler LOOP
    EXECUTE format('COMMENT ON FUNCTION %s IS %L', r.handler::regprocedure,
                   'REST handler (called by metastore.http_dispatch) for ' || r.what || '.');
  END LOOP;
END
$$;
