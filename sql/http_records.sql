-- The REST contract of the records routes, straight through http_dispatch
-- (no network): statuses, headers, error bodies.  Timestamps are dropped
-- from bodies so the output is stable.
\set SHOW_CONTEXT never
SELECT metastore."grant"('svc-writer', 'team.*', 'writer') AS granted;
SELECT metastore."grant"('svc-reader', 'team', 'reader') AS granted;
SELECT api_key AS w FROM metastore.create_api_key('svc-writer') \gset
SELECT api_key AS r FROM metastore.create_api_key('svc-reader') \gset

CREATE FUNCTION pg_temp.call(method text, path text, query jsonb DEFAULT '{"namespace": "team"}',
                             key text DEFAULT NULL, body text DEFAULT NULL, extra jsonb DEFAULT '{}')
RETURNS TABLE (status integer, headers jsonb, body jsonb)
LANGUAGE sql AS $$
  SELECT d.status, d.headers,
         CASE WHEN jsonb_typeof(d.body::jsonb) = 'object'
              THEN d.body::jsonb - '{created_at,updated_at,id}'::text[] ELSE d.body::jsonb END
    FROM metastore.http_dispatch(method, path, query,
           CASE WHEN key IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('authorization', 'ApiKey ' || key) END
           || extra, body) d
$$;

-- authentication
SELECT * FROM pg_temp.call('GET', '/records/k');
SELECT * FROM pg_temp.call('GET', '/records/k', key => 'ms_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA');
SELECT * FROM pg_temp.call('GET', '/records/k', extra => '{"authorization": "Basic dXNlcjpwYXNz"}');

-- create, idempotent create, conflicting create
SELECT * FROM pg_temp.call('POST', '/records', key => :'w', body => '{"key": "app/db pool", "metadata": {"size": 10}, "tags": ["db"]}');
SELECT * FROM pg_temp.call('POST', '/records', key => :'w', body => '{"key": "app/db pool", "metadata": {"size": 10}, "tags": ["db"]}');
SELECT * FROM pg_temp.call('POST', '/records', key => :'w', body => '{"key": "app/db pool", "metadata": {"size": 99}}');

-- read (percent-encoded key), conditional read
SELECT * FROM pg_temp.call('GET', '/records/app%2Fdb%20pool', key => :'r');
SELECT * FROM pg_temp.call('HEAD', '/records/app%2Fdb%20pool', key => :'r');
SELECT * FROM pg_temp.call('GET', '/records/app%2Fdb%20pool', key => :'r', extra => '{"if-none-match": "\"1\""}');
SELECT * FROM pg_temp.call('GET', '/records/missing', key => :'r');

-- optimistic writes
SELECT * FROM pg_temp.call('PUT', '/records/app%2Fdb%20pool', key => :'w', body => '{"metadata": {"size": 20}, "tags": ["db"]}', extra => '{"if-match": "\"7\""}');
SELECT * FROM pg_temp.call('PUT', '/records/app%2Fdb%20pool', key => :'w', body => '{"metadata": {"size": 20}, "tags": ["db"]}', extra => '{"if-match": "\"1\""}');
SELECT * FROM pg_temp.call('PUT', '/records/app%2Fdb%20pool', key => :'w', body => '{"metadata": {"size": 30}}', extra => '{"if-none-match": "*"}');
SELECT * FROM pg_temp.call('PUT', '/records/fresh', key => :'w', body => '{"metadata": true}', extra => '{"if-none-match": "*"}');
SELECT * FROM pg_temp.call('PUT', '/records/fresh', key => :'w', body => '{"metadata": true}', extra => '{"if-match": "soon"}');

-- access: a reader cannot write; nobody reaches a foreign namespace
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'r', body => '{"metadata": 1}');
SELECT * FROM pg_temp.call('GET', '/records/app%2Fdb%20pool', '{"namespace": "elsewhere"}', key => :'w');

-- bad bodies
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'w', body => '{"metadata": ');
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'w', body => '[1, 2]');
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'w', body => '{"metadata": 1, "version": 3}');
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'w', body => '{"tags": ["a"]}');
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'w', body => '{"metadata": 1, "tags": "a"}');
SELECT * FROM pg_temp.call('PUT', '/records/x', key => :'w', body => '{"metadata": {}, "content_type": "text"}');

-- history, rollback, delete
SELECT status, body->'items' @> '[{"version": 1, "operation": "create"}, {"version": 2, "operation": "update"}]' AS has_versions
  FROM pg_temp.call('GET', '/records/app%2Fdb%20pool/history', key => :'r');
SELECT * FROM pg_temp.call('POST', '/records/app%2Fdb%20pool/rollback/1', key => :'w');
SELECT * FROM pg_temp.call('POST', '/records/app%2Fdb%20pool/rollback/one', key => :'w');
SELECT * FROM pg_temp.call('DELETE', '/records/app%2Fdb%20pool', key => :'w', extra => '{"if-match": "\"1\""}');
SELECT * FROM pg_temp.call('DELETE', '/records/app%2Fdb%20pool', key => :'w');
SELECT * FROM pg_temp.call('DELETE', '/records/app%2Fdb%20pool', key => :'w');

-- bulk
SELECT * FROM pg_temp.call('POST', '/records/bulk', key => :'w', body => '{"operations": [{"op": "put", "key": "b1", "metadata": 1}, {"op": "put", "key": "b2", "metadata": 2}]}');
SELECT * FROM pg_temp.call('POST', '/records/bulk', key => :'w', body => '[{"op": "put", "key": "b3", "metadata": 3}, {"op": "delete", "key": "nope"}]');
SELECT * FROM pg_temp.call('GET', '/records/b3', key => :'r');

-- routing
SELECT * FROM pg_temp.call('PATCH', '/records/b1', key => :'w', body => '{}');
SELECT * FROM pg_temp.call('OPTIONS', '/records');
SELECT * FROM pg_temp.call('GET', '/nowhere');
SELECT * FROM pg_temp.call('GET', '/records/%G1');
SELECT * FROM pg_temp.call('GET', '/records//x');

-- seed 000's /api/v1/metadata over the same store
SELECT status, headers ? 'Location' AS has_location, body - 'created_by' - 'updated_by' AS body
  FROM pg_temp.call('POST', '/api/v1/metadata', '{}', key => :'w',
                    body => '{"key": "app.database.pool_size", "namespace": "team.prod", "value": 10, "content_type": "json", "tags": ["database", "performance"], "description": "Database connection pool size"}');
SELECT status, body->>'key' AS key, body->'value' AS value
  FROM pg_temp.call('GET', '/api/v1/metadata/key/app.database.pool_size', '{"namespace": "team.prod"}', key => :'w');
SELECT status, body->'code' AS code FROM pg_temp.call('GET', '/api/v1/metadata/999999', '{}', key => :'w');
SELECT status, body->'code' AS code FROM pg_temp.call('GET', '/api/v1/metadata/abc', '{}', key => :'w');

-- OpenAPI is generated from the same route table
SELECT status, body->>'openapi' AS openapi, jsonb_array_length(jsonb_path_query_array(body, '$.paths.*.*')) AS operations,
       (SELECT count(*) FROM metastore.http_routes) AS routes
  FROM pg_temp.call('GET', '/openapi.json', '{}');
