-- The extension as installed: objects, comments, security attributes.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(14);

SELECT has_schema('metastore');
SELECT has_table('metastore', 'records', 'records table exists');
SELECT has_table('metastore', 'history', 'history table exists');
SELECT has_trigger('metastore', 'records', 'records_history', 'records opt into history');
SELECT col_is_unique('metastore', 'records', ARRAY['namespace', 'key'], 'key is unique per namespace');

SELECT is(
  (SELECT extversion FROM pg_extension WHERE extname = 'metastore'), '0.1.0',
  'installed version is the control file''s default_version');

-- every public function carries a COMMENT
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'metastore'::regnamespace
     AND obj_description(p.oid, 'pg_proc') IS NULL $$,
  'every function in schema metastore has a COMMENT');

-- functions that touch tables run as definer with a pinned search_path
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'metastore'::regnamespace
     AND p.prorettype <> 'trigger'::regtype
     AND p.proname NOT IN ('current_principal')
     AND NOT (p.prosecdef AND p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']) $$,
  'table-touching functions are SECURITY DEFINER with search_path = pg_catalog, pg_temp');

-- PUBLIC cannot touch the tables directly
SELECT ok(NOT has_table_privilege('public', 'metastore.records', 'INSERT,UPDATE,DELETE,SELECT'),
  'PUBLIC has no privilege on metastore.records');
SELECT ok(NOT has_table_privilege('public', 'metastore.history', 'INSERT,UPDATE,DELETE,SELECT'),
  'PUBLIC has no privilege on metastore.history');
SELECT ok(NOT has_function_privilege('public', 'metastore.history_trigger()', 'EXECUTE'),
  'PUBLIC cannot execute the history trigger function');

-- named parameters, as psql users call them
SELECT is(
  (SELECT proargnames FROM pg_proc WHERE oid = 'metastore.put_record(text,text,jsonb,text[],integer,text,text,text)'::regprocedure),
  ARRAY['namespace', 'key', 'metadata', 'tags', 'expected_version', 'owner', 'content_type', 'description'],
  'put_record has the documented parameter names in order');

-- limits are settings with the documented defaults
SELECT is(current_setting('metastore.max_document_bytes'), '1MB', 'max_document_bytes defaults to 1MB');
SELECT is(current_setting('metastore.max_bulk_operations'), '1000', 'max_bulk_operations defaults to 1000');

SELECT * FROM finish();
ROLLBACK;
