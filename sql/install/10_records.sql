-- Records: namespaced key -> JSON document, with audit columns and history.

CREATE TABLE metastore.records (
  id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace    text        NOT NULL,
  key          text        NOT NULL,
  metadata     jsonb       NOT NULL,
  tags         text[]      NOT NULL DEFAULT '{}',
  owner        text,
  content_type text        NOT NULL DEFAULT 'json'
               CHECK (content_type IN ('json', 'yaml', 'text', 'binary')),
  description  text,
  version      integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at   timestamptz NOT NULL,
  created_by   text        NOT NULL,
  updated_at   timestamptz NOT NULL,
  updated_by   text        NOT NULL,
  deleted_at   timestamptz,
  UNIQUE (namespace, key)
);
COMMENT ON TABLE metastore.records IS
  'Namespaced JSON documents. Written only through the metastore.*_record functions; deleted_at marks a soft delete.';

-- The one line that opts records into the shared history mechanism.
CREATE TRIGGER records_history
  AFTER INSERT OR UPDATE OR DELETE ON metastore.records
  FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('record', 'key');
-- ... and the one line that puts it under namespace row level security.
SELECT metastore.protect_aggregate('metastore.records');

CREATE FUNCTION metastore.put_record(
  namespace        text,
  key              text,
  metadata         jsonb,
  tags             text[]  DEFAULT '{}',
  expected_version integer DEFAULT NULL,
  owner            text    DEFAULT NULL,
  content_type     text    DEFAULT 'json',
  description      text    DEFAULT NULL)
RETURNS metastore.records
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'put_record';
COMMENT ON FUNCTION metastore.put_record(text, text, jsonb, text[], integer, text, text, text) IS
  'Create or replace a record. expected_version: NULL = unconditional, 0 = create only, N = only if the stored version is N (else SQLSTATE MS409). A put identical to the live record creates no version.';

CREATE FUNCTION metastore.put_record_result(
  namespace        text,
  key              text,
  metadata         jsonb,
  tags             text[]  DEFAULT '{}',
  expected_version integer DEFAULT NULL,
  owner            text    DEFAULT NULL,
  content_type     text    DEFAULT 'json',
  description      text    DEFAULT NULL,
  OUT result       text,
  OUT record       metastore.records)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'put_record_result';
COMMENT ON FUNCTION metastore.put_record_result(text, text, jsonb, text[], integer, text, text, text) IS
  'put_record that also says what it did: result is created, updated, unchanged or restored.';

CREATE FUNCTION metastore.get_record_by_id(id bigint)
RETURNS metastore.records
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM metastore.records r WHERE r.id = $1 AND r.deleted_at IS NULL $$;
COMMENT ON FUNCTION metastore.get_record_by_id(bigint) IS
  'The live record with this id, or NULL (also when it is in a namespace the principal may not read: row level security hides it).';

CREATE FUNCTION metastore.get_record(namespace text, key text)
RETURNS metastore.records
LANGUAGE c STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'get_record';
COMMENT ON FUNCTION metastore.get_record(text, text) IS
  'The live record, or NULL when it does not exist or is soft-deleted.';

CREATE FUNCTION metastore.delete_record(namespace text, key text, expected_version integer DEFAULT NULL)
RETURNS metastore.records
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'delete_record';
COMMENT ON FUNCTION metastore.delete_record(text, text, integer) IS
  'Soft-delete a live record (its version increases; history keeps every version). MS404 when it does not exist, MS409 on a stale expected_version.';

CREATE FUNCTION metastore.rollback_record(namespace text, key text, version integer,
                                          expected_version integer DEFAULT NULL)
RETURNS metastore.records
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'rollback_record';
COMMENT ON FUNCTION metastore.rollback_record(text, text, integer, integer) IS
  'Write a new version whose content equals an earlier version (restoring the record if it is deleted).';

CREATE FUNCTION metastore.bulk_records(namespace text, operations jsonb)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'bulk_records';
COMMENT ON FUNCTION metastore.bulk_records(text, jsonb) IS
  'Apply an array of put/delete operations all or nothing; returns one result per operation. An error names the failing operation''s index.';

CREATE FUNCTION metastore.record_history(namespace text, key text)
RETURNS TABLE (version integer, operation text, metadata jsonb, tags text[], owner text,
               content_type text, description text, deleted boolean,
               changed_by text, changed_at timestamptz)
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
#variable_conflict use_column
BEGIN
  PERFORM metastore.require_role($1, 'reader');
  RETURN QUERY
  SELECT h.version, h.operation, s.metadata, s.tags, s.owner, s.content_type, s.description,
         s.deleted_at IS NOT NULL OR h.operation = 'purge', h.changed_by, h.changed_at
    FROM metastore.history h
   CROSS JOIN LATERAL jsonb_populate_record(NULL::metastore.records, h.snapshot) s
   WHERE h.aggregate = 'record' AND h.namespace = $1 AND h.entity_key = $2
   ORDER BY h.id;
END
$$;
COMMENT ON FUNCTION metastore.record_history(text, text) IS
  'Every version of a record (deleted ones included), oldest first, with operation, who and when. Empty when the key never existed.';
