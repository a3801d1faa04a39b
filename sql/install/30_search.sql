-- Search: a JSON filter language compiled in C (src/filter.c, src/search.c).
-- The language, the SQL it becomes and the indexes are in docs/search.md.

-- Searches run as this role: it may only read metastore.records, and it
-- bypasses row level security, because PostgreSQL does not use an index for
-- a predicate that is not leakproof (no jsonb operator is) under a policy.
-- The compiled statement always restricts rows to namespaces the principal
-- may read (namespace = $1 after require_role, or has_role per row).
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metastore_search') THEN
    CREATE ROLE metastore_search NOLOGIN BYPASSRLS;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA metastore TO metastore_search;
GRANT SELECT ON metastore.records TO metastore_search;

-- The indexes the compiler's SQL is written for; all skip soft-deleted rows.
CREATE INDEX records_live_metadata ON metastore.records USING gin (metadata)
  WHERE deleted_at IS NULL;
CREATE INDEX records_live_tags ON metastore.records USING gin (tags)
  WHERE deleted_at IS NULL;
CREATE INDEX records_live_key ON metastore.records (namespace, key COLLATE "C")
  WHERE deleted_at IS NULL;
CREATE INDEX records_live_updated ON metastore.records (namespace, updated_at, key COLLATE "C")
  WHERE deleted_at IS NULL;

-- The planner estimates @>, ?, @? and @@ on metadata by trying them on the
-- column's most common values and histogram: with 1000 entries instead of
-- 100, a key held by 1% of a namespace is seen, and its search walks the key
-- order instead of sorting every match (docs/benchmarks.md, q3).  ANALYZE
-- reads 300,000 rows instead of 30,000.
ALTER TABLE metastore.records ALTER COLUMN metadata SET STATISTICS 1000;

CREATE FUNCTION metastore.search_records(namespace text, query jsonb DEFAULT '{}')
RETURNS jsonb
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'search_records';
COMMENT ON FUNCTION metastore.search_records(text, jsonb) IS
  'One page of live records matching a query {filter, fields, sort, limit, cursor}: {"items": [...], "next_cursor": ...}. namespace NULL searches every namespace the principal may read. See docs/search.md.';

CREATE FUNCTION metastore.compile_filter(filter jsonb)
RETURNS text
LANGUAGE c STABLE STRICT
AS 'MODULE_PATHNAME', 'compile_filter';
COMMENT ON FUNCTION metastore.compile_filter(jsonb) IS
  'The SQL statement a search with this filter runs (default sort and limit; values appear as $n parameters).';

CREATE FUNCTION metastore.compile_search(namespace text, query jsonb DEFAULT '{}',
                                         OUT sql text, OUT params text[])
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'compile_search';
COMMENT ON FUNCTION metastore.compile_search(text, jsonb) IS
  'The statement search_records runs for this query and its parameter values ($1, $2, ... as text), without running it.';

CREATE FUNCTION metastore.explain_search(namespace text, query jsonb DEFAULT '{}',
                                         analyze_query boolean DEFAULT false)
RETURNS SETOF text
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'explain_search';
COMMENT ON FUNCTION metastore.explain_search(text, jsonb, boolean) IS
  'EXPLAIN (or EXPLAIN ANALYZE) of the statement search_records runs for this query, with its values bound.';

-- ---- REST -----------------------------------------------------------------

-- POST /records/search: the body is the query document
CREATE FUNCTION metastore.http_records_search(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT metastore.http_reply(200,
           metastore.search_records(metastore.http_namespace(req), coalesce(req->'body', '{}'::jsonb)))
$$;

-- GET /api/v1/metadata: seed 000's list, with simple query parameters
CREATE FUNCTION metastore.http_metadata_list(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q      jsonb := coalesce(req->'query', '{}'::jsonb);
  p      text;
  conds  jsonb := '[]'::jsonb;
  query  jsonb;
  page   jsonb;
BEGIN
  FOR p IN SELECT jsonb_object_keys(q) LOOP
    IF p NOT IN ('namespace', 'prefix', 'tags', 'owner', 'limit', 'cursor') THEN
      RAISE EXCEPTION 'unknown query parameter "%"', p USING ERRCODE = '22023',
        DETAIL = 'Parameters: namespace, prefix, tags (comma-separated, all must match), owner, limit, cursor.';
    END IF;
  END LOOP;
  IF q ? 'prefix' THEN
    conds := conds || jsonb_build_object('field', 'key', 'op', 'prefix', 'value', q->>'prefix');
  END IF;
  IF q ? 'tags' THEN
    conds := conds || jsonb_build_object('field', 'tags', 'op', 'array_contains',
                        'value', to_jsonb(array_remove(string_to_array(q->>'tags', ','), '')));
  END IF;
  IF q ? 'owner' THEN
    conds := conds || jsonb_build_object('field', 'owner', 'op', 'eq', 'value', q->>'owner');
  END IF;
  query := jsonb_build_object('filter', jsonb_build_object('and', conds));
  IF q ? 'limit' THEN
    IF (q->>'limit') !~ '^[0-9]{1,9}$' THEN
      RAISE EXCEPTION 'limit must be an integer from 1 to 1000, not "%"', q->>'limit'
        USING ERRCODE = '22023';
    END IF;
    query := query || jsonb_build_object('limit', (q->>'limit')::integer);
  END IF;
  IF q ? 'cursor' THEN
    query := query || jsonb_build_object('cursor', q->>'cursor');
  END IF;
  page := metastore.search_records(metastore.http_namespace(req), query);
  RETURN metastore.http_reply(200, jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg((i - 'metadata') || jsonb_build_object('value', i->'metadata')
                                        ORDER BY ord)
                         FROM jsonb_array_elements(page->'items') WITH ORDINALITY AS x(i, ord)),
                      '[]'::jsonb),
    'next_cursor', page->'next_cursor'));
END
$$;

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary) VALUES
  ('POST', '/records/search',  'metastore.http_records_search(jsonb)', true, 'searchRecords', 'records',
   'Search live records: body {filter, fields, sort, limit, cursor} (docs/search.md); answers {items, next_cursor}'),
  ('GET',  '/api/v1/metadata', 'metastore.http_metadata_list(jsonb)',  true, 'listMetadata',  'metadata',
   'List metadata entries by key: ?prefix=, ?tags=a,b (all), ?owner=, ?limit= (1-1000), ?cursor=');

-- the OpenAPI description of the two routes
UPDATE metastore.http_routes SET request_schema = $schema$
{
  "type": "object",
  "additionalProperties": false,
  "description": "A search query (docs/search.md). Every part is optional.",
  "properties": {
    "filter": {"$ref": "#/components/schemas/SearchFilter"},
    "fields": {"type": "array", "maxItems": 32, "items": {"type": "string"}},
    "sort": {"type": "array", "maxItems": 4, "items": {"type": "object", "additionalProperties": false,
             "required": ["field"], "properties": {"field": {"type": "string"}, "dir": {"enum": ["asc", "desc"]}}}},
    "limit": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50},
    "cursor": {"type": ["string", "null"], "maxLength": 4096}
  }
}
$schema$::jsonb
 WHERE operation_id = 'searchRecords';
UPDATE metastore.http_routes SET query_params = $params$
[
  {"name": "namespace", "in": "query", "required": false, "description": "Namespace (or the X-Namespace header); default \"default\".", "schema": {"type": "string"}},
  {"name": "prefix", "in": "query", "required": false, "description": "Key prefix.", "schema": {"type": "string"}},
  {"name": "tags", "in": "query", "required": false, "description": "Comma-separated tags; an entry must have all of them.", "schema": {"type": "string"}},
  {"name": "owner", "in": "query", "required": false, "schema": {"type": "string"}},
  {"name": "limit", "in": "query", "required": false, "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 50}},
  {"name": "cursor", "in": "query", "required": false, "description": "next_cursor of the previous page.", "schema": {"type": "string"}}
]
$params$::jsonb
 WHERE operation_id = 'listMetadata';
