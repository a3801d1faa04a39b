-- REST routes of the records store: seed 003's /records and seed 000's
-- /api/v1/metadata, both over metastore.records.

-- The one mapping of a request body onto put_record_result (documents under
-- `doc_field`: "metadata" for /records, "value" for /api/v1/metadata).
CREATE FUNCTION metastore.http_put_body(ns text, key text, b jsonb, expected integer,
                                        doc_field text DEFAULT 'metadata',
                                        OUT result text, OUT record metastore.records)
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT * FROM metastore.put_record_result(
    namespace => ns, key => key, metadata => b->doc_field,
    tags => metastore.http_tags(b), expected_version => expected,
    owner => metastore.http_text(b, 'owner'),
    content_type => coalesce(metastore.http_text(b, 'content_type'), 'json'),
    description => metastore.http_text(b, 'description'))
$$;
COMMENT ON FUNCTION metastore.http_put_body(text, text, jsonb, integer, text) IS
  'Create or replace a record from a REST body (put_record_result with the body''s fields).';

-- A path parameter that must be a positive whole number (else 22P02 -> 400).
CREATE FUNCTION metastore.http_int_param(req jsonb, name text)
RETURNS bigint
LANGUAGE plpgsql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v text := req->'params'->>name;
BEGIN
  IF v IS NULL OR v !~ '^[0-9]{1,18}$' THEN
    RAISE EXCEPTION '% must be a positive integer, not "%"', name, v USING ERRCODE = '22P02';
  END IF;
  RETURN v::bigint;
END
$$;
COMMENT ON FUNCTION metastore.http_int_param(jsonb, text) IS
  'A path parameter that must be a positive whole number (else SQLSTATE 22P02, HTTP 400).';

-- POST /records: create, idempotent on key (same content -> 200, other -> 409)
CREATE FUNCTION metastore.http_records_create(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{key,namespace,metadata,tags,owner,content_type,description}',
                                 '{key,metadata}');
  ns text := coalesce(metastore.http_text(b, 'namespace'), metastore.http_namespace(req));
  res record;
BEGIN
  SELECT * INTO res FROM metastore.http_put_body(ns, metastore.http_text(b, 'key'), b, 0);
  RETURN metastore.http_record_reply(
    CASE WHEN res.result IN ('created', 'restored') THEN 201 ELSE 200 END, res.record,
    jsonb_build_object('Location', '/records/' || metastore.http_urlencode((res.record).key)
                                   || '?namespace=' || metastore.http_urlencode(ns)));
END
$$;

-- PUT /records/{key}: upsert; If-Match "N" / If-None-Match * make it conditional
CREATE FUNCTION metastore.http_records_put(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{metadata,tags,owner,content_type,description}', '{metadata}');
  ns text := metastore.http_namespace(req);
  res record;
BEGIN
  SELECT * INTO res FROM metastore.http_put_body(ns, req->'params'->>'key', b,
                                                   metastore.http_expected_version(req));
  IF res.result IN ('created', 'restored') THEN
    RETURN metastore.http_record_reply(201, res.record,
      jsonb_build_object('Location', '/records/' || metastore.http_urlencode((res.record).key)
                                     || '?namespace=' || metastore.http_urlencode(ns)));
  END IF;
  RETURN metastore.http_record_reply(200, res.record);
END
$$;

-- GET /records/{key}: 200 with ETag, 304 when If-None-Match has it, 404.
-- The hottest route: C (src/http_records.c).  Not for direct calls: dispatch
-- runs it as metastore_owner after authentication.
CREATE FUNCTION metastore.http_records_get(req jsonb)
RETURNS metastore.http_response
LANGUAGE c STABLE
AS 'MODULE_PATHNAME', 'http_records_get';
REVOKE ALL ON FUNCTION metastore.http_records_get(jsonb) FROM PUBLIC;

-- DELETE /records/{key}: soft delete, 204; If-Match honoured
CREATE FUNCTION metastore.http_records_delete(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  PERFORM metastore.delete_record(metastore.http_namespace(req), req->'params'->>'key',
                                  metastore.http_expected_version(req));
  RETURN metastore.http_reply(204);
END
$$;

-- GET /records/{key}/history
CREATE FUNCTION metastore.http_records_history(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ns text := metastore.http_namespace(req);
  k text := req->'params'->>'key';
  items jsonb;
BEGIN
  SELECT jsonb_agg(to_jsonb(h) ORDER BY h.version) INTO items FROM metastore.record_history(ns, k) h;
  IF items IS NULL THEN
    RAISE EXCEPTION 'record "%" not found in namespace "%"', k, ns USING ERRCODE = 'MS404';
  END IF;
  RETURN metastore.http_reply(200, jsonb_build_object('namespace', ns, 'key', k, 'items', items));
END
$$;

-- POST /records/{key}/rollback/{version}
CREATE FUNCTION metastore.http_records_rollback(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  RETURN metastore.http_record_reply(200,
    metastore.rollback_record(metastore.http_namespace(req), req->'params'->>'key',
                              metastore.http_int_param(req, 'version')::integer,
                              metastore.http_expected_version(req)));
END
$$;

-- POST /records/bulk: {"operations": [...]} (or the bare array)
CREATE FUNCTION metastore.http_records_bulk(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ops jsonb;
BEGIN
  IF jsonb_typeof(req->'body') = 'array' THEN
    ops := req->'body';
  ELSE
    ops := metastore.http_body(req, '{operations}', '{operations}')->'operations';
  END IF;
  RETURN metastore.http_reply(200, jsonb_build_object(
    'namespace', metastore.http_namespace(req),
    'results', metastore.bulk_records(metastore.http_namespace(req), ops)));
END
$$;

-- ---- seed 000: /api/v1/metadata (by id, "value" for the document) ----------

CREATE FUNCTION metastore.http_metadata_json(r metastore.records)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT (metastore.http_record_json(r) - 'metadata') || jsonb_build_object('value', r.metadata)
$$;

CREATE FUNCTION metastore.http_metadata_reply(status integer, r metastore.records)
RETURNS metastore.http_response
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT metastore.http_reply(status, metastore.http_metadata_json(r),
           jsonb_build_object('ETag', '"' || r.version || '"')
           || CASE WHEN status = 201 THEN jsonb_build_object('Location', '/api/v1/metadata/' || r.id)
                   ELSE '{}' END)
$$;

-- the live record {id} the principal may read, else 404 (never 403: ids are guessable)
CREATE FUNCTION metastore.http_metadata_by_id(req jsonb)
RETURNS metastore.records
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r metastore.records := metastore.get_record_by_id(metastore.http_int_param(req, 'id'));
BEGIN
  IF r IS NULL THEN
    RAISE EXCEPTION 'metadata entry % not found', req->'params'->>'id' USING ERRCODE = 'MS404';
  END IF;
  RETURN r;
END
$$;

CREATE FUNCTION metastore.http_metadata_create(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{key,namespace,value,content_type,tags,description,owner}',
                                 '{key,value}');
  res record;
BEGIN
  SELECT * INTO res FROM metastore.http_put_body(
    coalesce(metastore.http_text(b, 'namespace'), metastore.http_namespace(req)),
    metastore.http_text(b, 'key'), b, 0, 'value');
  RETURN metastore.http_metadata_reply(
    CASE WHEN res.result IN ('created', 'restored') THEN 201 ELSE 200 END, res.record);
END
$$;

CREATE FUNCTION metastore.http_metadata_get(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT metastore.http_metadata_reply(200, metastore.http_metadata_by_id(req)) $$;

CREATE FUNCTION metastore.http_metadata_get_by_key(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r metastore.records := metastore.get_record(metastore.http_namespace(req), req->'params'->>'key');
BEGIN
  IF r IS NULL THEN
    RAISE EXCEPTION 'metadata entry "%" not found in namespace "%"', req->'params'->>'key',
      metastore.http_namespace(req) USING ERRCODE = 'MS404';
  END IF;
  RETURN metastore.http_metadata_reply(200, r);
END
$$;

-- PUT /api/v1/metadata/{id}: the fields given replace, the others are kept
CREATE FUNCTION metastore.http_metadata_update(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{value,content_type,tags,description,owner}');
  r metastore.records := metastore.http_metadata_by_id(req);
BEGIN
  RETURN metastore.http_metadata_reply(200, metastore.put_record(
    namespace => r.namespace, key => r.key,
    metadata => CASE WHEN b ? 'value' THEN b->'value' ELSE r.metadata END,
    tags => CASE WHEN b ? 'tags' THEN metastore.http_tags(b) ELSE r.tags END,
    expected_version => coalesce(metastore.http_expected_version(req), r.version),
    owner => CASE WHEN b ? 'owner' THEN metastore.http_text(b, 'owner') ELSE r.owner END,
    content_type => coalesce(metastore.http_text(b, 'content_type'), r.content_type),
    description => CASE WHEN b ? 'description' THEN metastore.http_text(b, 'description') ELSE r.description END));
END
$$;

CREATE FUNCTION metastore.http_metadata_delete(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r metastore.records := metastore.http_metadata_by_id(req);
BEGIN
  PERFORM metastore.delete_record(r.namespace, r.key, metastore.http_expected_version(req));
  RETURN metastore.http_reply(204);
END
$$;

CREATE FUNCTION metastore.http_metadata_versions(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r metastore.records := metastore.http_metadata_by_id(req);
BEGIN
  RETURN metastore.http_reply(200, jsonb_build_object('id', r.id, 'items',
    (SELECT jsonb_agg((to_jsonb(h) - 'metadata') || jsonb_build_object('value', h.metadata) ORDER BY h.version)
       FROM metastore.record_history(r.namespace, r.key) h)));
END
$$;

CREATE FUNCTION metastore.http_metadata_rollback(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r metastore.records := metastore.http_metadata_by_id(req);
BEGIN
  RETURN metastore.http_metadata_reply(200, metastore.rollback_record(r.namespace, r.key,
                                         metastore.http_int_param(req, 'version')::integer,
                                         metastore.http_expected_version(req)));
END
$$;

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary) VALUES
  ('POST',   '/records',                            'metastore.http_records_create(jsonb)',   true, 'createRecord',     'records',  'Create a record (idempotent on key: identical content answers 200, different content 409)'),
  ('PUT',    '/records/{key}',                      'metastore.http_records_put(jsonb)',      true, 'putRecord',        'records',  'Create or replace a record; If-Match: "N" for optimistic locking, If-None-Match: * to create only'),
  ('GET',    '/records/{key}',                      'metastore.http_records_get(jsonb)',      true, 'getRecord',        'records',  'Read a live record (ETag = version; If-None-Match answers 304)'),
  ('DELETE', '/records/{key}',                      'metastore.http_records_delete(jsonb)',   true, 'deleteRecord',     'records',  'Soft-delete a record (If-Match honoured)'),
  ('GET',    '/records/{key}/history',              'metastore.http_records_history(jsonb)',  true, 'recordHistory',    'records',  'Every version of a record'),
  ('POST',   '/records/{key}/rollback/{version}',   'metastore.http_records_rollback(jsonb)', true, 'rollbackRecord',   'records',  'Write a new version equal to an earlier one'),
  ('POST',   '/records/bulk',                       'metastore.http_records_bulk(jsonb)',     true, 'bulkRecords',      'records',  'Apply put/delete operations all or nothing'),
  ('POST',   '/api/v1/metadata',                    'metastore.http_metadata_create(jsonb)',  true, 'createMetadata',   'metadata', 'Create a metadata entry'),
  ('GET',    '/api/v1/metadata/{id}',               'metastore.http_metadata_get(jsonb)',     true, 'getMetadata',      'metadata', 'Read a metadata entry by id'),
  ('GET',    '/api/v1/metadata/key/{key}',          'metastore.http_metadata_get_by_key(jsonb)', true, 'getMetadataByKey', 'metadata', 'Read a metadata entry by key (namespace from ?namespace=)'),
  ('PUT',    '/api/v1/metadata/{id}',               'metastore.http_metadata_update(jsonb)',  true, 'updateMetadata',   'metadata', 'Update the given fields of a metadata entry'),
  ('DELETE', '/api/v1/metadata/{id}',               'metastore.http_metadata_delete(jsonb)',  true, 'deleteMetadata',   'metadata', 'Soft-delete a metadata entry'),
  ('GET',    '/api/v1/metadata/{id}/versions',      'metastore.http_metadata_versions(jsonb)', true, 'metadataVersions', 'metadata', 'Version history of a metadata entry'),
  ('POST',   '/api/v1/metadata/{id}/rollback/{version}', 'metastore.http_metadata_rollback(jsonb)', true, 'rollbackMetadata', 'metadata', 'Roll a metadata entry back to a version');

COMMENT ON FUNCTION metastore.http_metadata_json(metastore.records) IS
  'The /api/v1/metadata representation of a record: the document is "value".';
COMMENT ON FUNCTION metastore.http_metadata_reply(integer, metastore.records) IS
  'A metadata response with ETag (and Location on 201).';
COMMENT ON FUNCTION metastore.http_metadata_by_id(jsonb) IS
  'The live record {id} of a request that the principal may read; 404 otherwise (ids are guessable: never 403).';
