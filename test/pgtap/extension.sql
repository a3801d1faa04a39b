-- The extension as installed: objects, comments, security attributes.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(30);

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

-- functions that touch tables run as definer with a pinned search_path;
-- has_role (called per row by RLS) and http_dispatch (called per request)
-- pin it in C instead, where it costs nothing when it is already right
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'metastore'::regnamespace AND p.prosecdef
     AND p.proname NOT IN ('has_role', 'http_dispatch')
     AND NOT (p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp']) $$,
  'SECURITY DEFINER functions pin search_path = pg_catalog, pg_temp');
-- SECURITY INVOKER functions read no table themselves: the REST handlers and
-- helpers (http_*) only call the public API; the rest are listed here.  The
-- flag evaluators read the flag tables only as metastore_evaluator, in C; the
-- event trigger writes the outbox as metastore_owner, in C.
SELECT set_eq($$
  SELECT p.proname::text FROM pg_proc p
   WHERE p.pronamespace = 'metastore'::regnamespace AND NOT p.prosecdef
     AND p.proname !~ '^http_' $$,
  ARRAY['current_principal', 'history_trigger', 'protect_aggregate', 'cache_invalidate', 'compile_filter', 'compile_search', 'bucket',
        'flag_rule_constraint', 'normalize_flag_layer', 'normalize_flag', 'unleash_feature_definition',
        'evaluate', 'is_enabled', 'evaluate_all', 'event_trigger', 'check_service_url', 'service_json',
        'healthy_services', 'check_machine', 'feature_value'],
  'the only SECURITY INVOKER functions besides the http_* handlers read no table');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'metastore'::regnamespace AND NOT p.prosecdef
     AND p.proname ~ '^http_' AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
     AND has_function_privilege('public', p.oid, 'EXECUTE') $$,
  'C handlers that run as their caller (reading tables) are not executable by PUBLIC');
SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'metastore'::regnamespace AND p.prosecdef
     AND pg_get_userbyid(p.proowner) <> 'metastore_owner' $$,
  'SECURITY DEFINER functions belong to metastore_owner, not a superuser');
SELECT is_empty($$
  SELECT c.relname::text FROM pg_class c
   WHERE c.relnamespace = 'metastore'::regnamespace AND c.relkind = 'r'
     AND NOT (c.relrowsecurity AND c.relforcerowsecurity
              AND pg_get_userbyid(c.relowner) = 'metastore_owner') $$,
  'every table belongs to metastore_owner with row level security enabled and forced');
SELECT ok(NOT (SELECT rolsuper OR rolcanlogin OR rolbypassrls FROM pg_roles WHERE rolname = 'metastore_owner'),
  'metastore_owner is not a superuser, cannot log in and does not bypass RLS');
SELECT ok((SELECT NOT rolsuper AND NOT rolcanlogin AND rolbypassrls FROM pg_roles WHERE rolname = 'metastore_search'),
  'metastore_search (the role searches run as) cannot log in and is not a superuser');
SELECT set_eq($$
  SELECT c.relname::text || ':' || p.privilege_type FROM pg_class c,
         LATERAL aclexplode(c.relacl) p
   WHERE c.relnamespace = 'metastore'::regnamespace
     AND p.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'metastore_search') $$,
  ARRAY['records:SELECT'],
  'metastore_search may only SELECT from metastore.records');
SELECT is_empty($$
  SELECT r.rolname FROM pg_auth_members m JOIN pg_roles r ON r.oid = m.member
   WHERE m.roleid = (SELECT oid FROM pg_roles WHERE rolname = 'metastore_search') $$,
  'no role is a member of metastore_search');
SELECT ok((SELECT NOT rolsuper AND NOT rolcanlogin AND rolbypassrls FROM pg_roles WHERE rolname = 'metastore_evaluator'),
  'metastore_evaluator (the role the flag cache reads as) cannot log in and is not a superuser');
SELECT set_eq($$
  SELECT c.relname::text || ':' || p.privilege_type FROM pg_class c,
         LATERAL aclexplode(c.relacl) p
   WHERE c.relnamespace = 'metastore'::regnamespace
     AND p.grantee = (SELECT oid FROM pg_roles WHERE rolname = 'metastore_evaluator') $$,
  ARRAY['flags:SELECT', 'flag_segments:SELECT'],
  'metastore_evaluator may only SELECT from the two flag tables');
SELECT ok(NOT has_function_privilege('public', 'metastore.put_flag_unchecked(text, jsonb, integer, text, text, text[])', 'EXECUTE')
          AND NOT has_function_privilege('public', 'metastore.put_segment_unchecked(text, jsonb, integer, integer, text, text)', 'EXECUTE'),
  'PUBLIC cannot store flags or segments unchecked (only import_unleash does)');
SELECT set_eq($$SELECT p->>'name' FROM jsonb_array_elements(metastore.openapi()->'paths'->'/api/v1/metadata'->'get'->'parameters') p$$,
  ARRAY['namespace', 'prefix', 'tags', 'owner', 'limit', 'cursor'],
  'openapi.json lists the query parameters of GET /api/v1/metadata');
SELECT is(metastore.openapi()->'paths'->'/records/search'->'post'->'requestBody'->'content'->'application/json'->'schema'->'properties'->'filter'->>'$ref',
  '#/components/schemas/SearchFilter', 'openapi.json describes the search body, its filter by a recursive schema');
SELECT ok(has_schema_privilege('public', 'metastore', 'USAGE'), 'PUBLIC may use the schema');
SELECT ok(NOT has_function_privilege('public', 'metastore.protect_aggregate(regclass)', 'EXECUTE'),
  'PUBLIC cannot execute the install-time RLS helper');

-- PUBLIC cannot touch the tables directly
SELECT ok(NOT has_table_privilege('public', 'metastore.records', 'INSERT,UPDATE,DELETE,SELECT'),
  'PUBLIC has no privilege on metastore.records');
SELECT ok(NOT has_table_privilege('public', 'metastore.history', 'INSERT,UPDATE,DELETE,SELECT'),
  'PUBLIC has no privilege on metastore.history');
SELECT ok(NOT has_table_privilege('public', 'metastore.api_keys', 'INSERT,UPDATE,DELETE,SELECT'),
  'PUBLIC has no privilege on metastore.api_keys');
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
