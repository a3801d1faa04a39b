-- pgTAP: the access-control matrix of the records API, namespace patterns,
-- granting and revoking, direct table access, and row level security as the
-- second line of defence.
--
-- Calls as other principals go through two helpers in a scratch schema
-- (created and dropped with the transaction).  Both switch the session user
-- with SET SESSION AUTHORIZATION, so current_principal() is that role:
--   ms_test.try_as(role, sql)   runs sql in a subtransaction that is always
--                                rolled back; returns 'ok' or the SQLSTATE.
--   ms_test.err_as(role, sql)   the same, but returns the whole error
--                                ('SQLSTATE: message / detail') or 'ok'.
--   ms_test.query_as(role, sql) runs sql and keeps its effects; returns its
--                                first column as text; errors propagate (so
--                                throws_ok can wrap it).
-- pgTAP's own temp tables belong to the superuser, so every assertion runs as
-- the superuser and only the call under test runs as the other role.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(150);

\ir helpers/as_role.sql
CREATE SCHEMA ms_acl_m;
GRANT USAGE ON SCHEMA ms_acl_m TO PUBLIC;

-- The SQL of one call of a records function on (namespace, key).
CREATE FUNCTION ms_acl_m.call_sql(p_fn text, p_ns text, p_key text) RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT CASE p_fn
    WHEN 'put_record'      THEN format('SELECT metastore.put_record(%L, %L, %L::jsonb)', p_ns, p_key, '{"v": 3}')
    WHEN 'get_record'      THEN format('SELECT metastore.get_record(%L, %L)', p_ns, p_key)
    WHEN 'delete_record'   THEN format('SELECT metastore.delete_record(%L, %L)', p_ns, p_key)
    WHEN 'rollback_record' THEN format('SELECT metastore.rollback_record(%L, %L, 1)', p_ns, p_key)
    WHEN 'record_history'  THEN format('SELECT * FROM metastore.record_history(%L, %L)', p_ns, p_key)
    WHEN 'bulk_records'    THEN format('SELECT metastore.bulk_records(%L, %L::jsonb)', p_ns,
                                       jsonb_build_array(jsonb_build_object('op', 'put', 'key', p_key,
                                                                            'metadata', jsonb_build_object('v', 4))))
  END
$f$;

-- ================================================================ principals of the matrix
-- one role per grant kind, each holding it on exactly the namespace acl-m-own
CREATE ROLE ms_acl_m_none NOLOGIN;
CREATE ROLE ms_acl_m_reader NOLOGIN;
CREATE ROLE ms_acl_m_writer NOLOGIN;
CREATE ROLE ms_acl_m_admin NOLOGIN;
CREATE ROLE ms_acl_m_developer NOLOGIN;
CREATE ROLE ms_acl_m_approver NOLOGIN;
CREATE ROLE ms_acl_m_external_testing_system NOLOGIN;
SELECT metastore."grant"('ms_acl_m_' || r, 'acl-m-own', r)
  FROM unnest(ARRAY['reader', 'writer', 'admin', 'developer', 'approver', 'external_testing_system']) AS r
\g /dev/null

-- a record with two versions in the own namespace and in a foreign one
SELECT metastore.put_record('acl-m-own', 'existing', '{"v": 1}') \g /dev/null
SELECT metastore.put_record('acl-m-own', 'existing', '{"v": 2}') \g /dev/null
SELECT metastore.put_record('acl-m-foreign', 'existing', '{"v": 1}') \g /dev/null
SELECT metastore.put_record('acl-m-foreign', 'existing', '{"v": 2}') \g /dev/null

-- ================================================================ the matrix
-- role x function x target: expected outcome ('ok' or SQLSTATE).  Targets:
--   own      acl-m-own/existing       own_miss      acl-m-own/missing
--   foreign  acl-m-foreign/existing   foreign_miss  acl-m-foreign/missing
-- reader allows get/history; writer and admin allow everything; lifecycle
-- roles imply reader only; no grant or a foreign namespace: 42501, whether
-- the key exists or not.  (In the own namespace a writer learns that a key is
-- missing -- MS404 -- but a reader asking to delete it gets 42501 first.)
CREATE TEMP TABLE acl_expected (role text, fn text, own text, own_miss text, foreign_ text, foreign_miss text);
INSERT INTO acl_expected VALUES
  ('none',                    'put_record',      '42501', '42501', '42501', '42501'),
  ('none',                    'get_record',      '42501', '42501', '42501', '42501'),
  ('none',                    'delete_record',   '42501', '42501', '42501', '42501'),
  ('none',                    'rollback_record', '42501', '42501', '42501', '42501'),
  ('none',                    'record_history',  '42501', '42501', '42501', '42501'),
  ('none',                    'bulk_records',    '42501', '42501', '42501', '42501'),
  ('reader',                  'put_record',      '42501', '42501', '42501', '42501'),
  ('reader',                  'get_record',      'ok',    'ok',    '42501', '42501'),
  ('reader',                  'delete_record',   '42501', '42501', '42501', '42501'),
  ('reader',                  'rollback_record', '42501', '42501', '42501', '42501'),
  ('reader',                  'record_history',  'ok',    'ok',    '42501', '42501'),
  ('reader',                  'bulk_records',    '42501', '42501', '42501', '42501'),
  ('writer',                  'put_record',      'ok',    'ok',    '42501', '42501'),
  ('writer',                  'get_record',      'ok',    'ok',    '42501', '42501'),
  ('writer',                  'delete_record',   'ok',    'MS404', '42501', '42501'),
  ('writer',                  'rollback_record', 'ok',    'MS404', '42501', '42501'),
  ('writer',                  'record_history',  'ok',    'ok',    '42501', '42501'),
  ('writer',                  'bulk_records',    'ok',    'ok',    '42501', '42501'),
  ('admin',                   'put_record',      'ok',    'ok',    '42501', '42501'),
  ('admin',                   'get_record',      'ok',    'ok',    '42501', '42501'),
  ('admin',                   'delete_record',   'ok',    'MS404', '42501', '42501'),
  ('admin',                   'rollback_record', 'ok',    'MS404', '42501', '42501'),
  ('admin',                   'record_history',  'ok',    'ok',    '42501', '42501'),
  ('admin',                   'bulk_records',    'ok',    'ok',    '42501', '42501'),
  ('developer',               'put_record',      '42501', '42501', '42501', '42501'),
  ('developer',               'get_record',      'ok',    'ok',    '42501', '42501'),
  ('developer',               'delete_record',   '42501', '42501', '42501', '42501'),
  ('developer',               'rollback_record', '42501', '42501', '42501', '42501'),
  ('developer',               'record_history',  'ok',    'ok',    '42501', '42501'),
  ('developer',               'bulk_records',    '42501', '42501', '42501', '42501'),
  ('approver',                'put_record',      '42501', '42501', '42501', '42501'),
  ('approver',                'get_record',      'ok',    'ok',    '42501', '42501'),
  ('approver',                'delete_record',   '42501', '42501', '42501', '42501'),
  ('approver',                'rollback_record', '42501', '42501', '42501', '42501'),
  ('approver',                'record_history',  'ok',    'ok',    '42501', '42501'),
  ('approver',                'bulk_records',    '42501', '42501', '42501', '42501'),
  ('external_testing_system', 'put_record',      '42501', '42501', '42501', '42501'),
  ('external_testing_system', 'get_record',      'ok',    'ok',    '42501', '42501'),
  ('external_testing_system', 'delete_record',   '42501', '42501', '42501', '42501'),
  ('external_testing_system', 'rollback_record', '42501', '42501', '42501', '42501'),
  ('external_testing_system', 'record_history',  'ok',    'ok',    '42501', '42501'),
  ('external_testing_system', 'bulk_records',    '42501', '42501', '42501', '42501');

-- every call runs as its role and is rolled back, so cells do not interfere
CREATE TEMP TABLE acl_actual AS
SELECT e.role, e.fn,
       ms_test.try_as('ms_acl_m_' || e.role, ms_acl_m.call_sql(e.fn, 'acl-m-own', 'existing')) AS own,
       ms_test.try_as('ms_acl_m_' || e.role, ms_acl_m.call_sql(e.fn, 'acl-m-own', 'missing')) AS own_miss,
       ms_test.try_as('ms_acl_m_' || e.role, ms_acl_m.call_sql(e.fn, 'acl-m-foreign', 'existing')) AS foreign_,
       ms_test.try_as('ms_acl_m_' || e.role, ms_acl_m.call_sql(e.fn, 'acl-m-foreign', 'missing')) AS foreign_miss,
       ms_test.err_as('ms_acl_m_' || e.role, ms_acl_m.call_sql(e.fn, 'acl-m-foreign', 'existing')) AS foreign_err,
       ms_test.err_as('ms_acl_m_' || e.role, ms_acl_m.call_sql(e.fn, 'acl-m-foreign', 'missing')) AS foreign_miss_err
  FROM acl_expected e;

SELECT is(
         format('own=%s own-missing=%s foreign=%s foreign-missing=%s', a.own, a.own_miss, a.foreign_, a.foreign_miss),
         format('own=%s own-missing=%s foreign=%s foreign-missing=%s', e.own, e.own_miss, e.foreign_, e.foreign_miss),
         format('%s x %s: own, own (missing key), foreign, foreign (missing key)', e.role, e.fn))
  FROM acl_expected e JOIN acl_actual a USING (role, fn);

SELECT is((SELECT count(*) FROM acl_actual), 42::bigint,
  'the matrix covers 7 roles x 6 records functions');

SELECT is_empty(
  $$SELECT role, fn, foreign_err, foreign_miss_err FROM acl_actual
     WHERE foreign_err IS DISTINCT FROM foreign_miss_err$$,
  'a foreign namespace answers an existing and a missing key with the very same error (SQLSTATE, message, detail)');

SELECT is_empty(
  $$SELECT role, fn, foreign_err FROM acl_actual WHERE position('existing' IN foreign_err) > 0$$,
  'the denial in a foreign namespace does not echo the key');

-- the matrix calls were all undone: the two records still hold version 2
SELECT results_eq(
  $$SELECT namespace, key, version, deleted_at IS NULL FROM metastore.records ORDER BY namespace$$,
  $$VALUES ('acl-m-foreign'::text, 'existing'::text, 2, true), ('acl-m-own', 'existing', 2, true)$$,
  'precondition: every matrix call was rolled back (no cell sees another''s write)');

-- argument validation does not run before the access check in a foreign namespace
SELECT is(ms_test.try_as('ms_acl_m_writer', $$SELECT metastore.put_record('acl-m-foreign', '', '{}')$$), '42501',
  'an empty key in a foreign namespace: 42501, not a validation error');
SELECT is(ms_test.try_as('ms_acl_m_writer', $$SELECT metastore.put_record('acl-m-foreign', 'existing', NULL)$$), '42501',
  'NULL metadata in a foreign namespace: 42501, not 22004');
SELECT is(ms_test.try_as('ms_acl_m_writer', $$SELECT metastore.rollback_record('acl-m-foreign', 'existing', NULL)$$), '42501',
  'rollback_record with NULL version in a foreign namespace: 42501');
SELECT is(ms_test.try_as('ms_acl_m_writer', $$SELECT metastore.bulk_records('acl-m-foreign', '"not an array"')$$), '42501',
  'bulk_records with malformed operations in a foreign namespace: 42501');
SELECT is(ms_test.try_as('ms_acl_m_writer', $$SELECT metastore.require_role('acl-m-foreign', 'reader')$$), '42501',
  'require_role in a foreign namespace: 42501');
SELECT is(ms_test.query_as('ms_acl_m_writer', $$SELECT metastore.has_role('acl-m-foreign', 'reader')::text$$), 'false',
  'has_role in a foreign namespace: false');
SELECT is(ms_test.query_as('ms_acl_m_writer', $$SELECT metastore.has_role('acl-m-own', 'admin')::text$$), 'false',
  'writer does not imply admin');
SELECT is(ms_test.query_as('ms_acl_m_admin', $$SELECT metastore.has_role('acl-m-own', 'approver')::text$$), 'false',
  'admin does not imply a lifecycle role (separation of duties)');
SELECT is(ms_test.query_as('ms_acl_m_developer', $$SELECT metastore.has_role('acl-m-own', 'approver')::text$$), 'false',
  'one lifecycle role does not imply another');

-- a writer's reads of history stay in its namespace
SELECT is(ms_test.query_as('ms_acl_m_writer', $$SELECT count(*)::text FROM metastore.record_history('acl-m-own', 'existing')$$), '2',
  'a writer reads the history of its own namespace');
SELECT throws_ok(
  $$SELECT ms_test.query_as('ms_acl_m_writer', 'SELECT count(*)::text FROM metastore.record_history(''acl-m-foreign'', ''existing'')')$$,
  '42501', 'permission denied for namespace "acl-m-foreign"',
  'a writer on acl-m-own cannot read the history of acl-m-foreign');

-- ================================================================ namespace patterns
CREATE ROLE ms_acl_m_pattern NOLOGIN;
CREATE ROLE ms_acl_m_star NOLOGIN;
CREATE ROLE ms_acl_m_exact NOLOGIN;
SELECT metastore."grant"('ms_acl_m_pattern', 'team-a.*', 'reader') \g /dev/null
SELECT metastore."grant"('ms_acl_m_star', '*', 'reader') \g /dev/null
SELECT metastore."grant"('ms_acl_m_exact', 'team-c', 'reader') \g /dev/null

SELECT is(ms_test.try_as('ms_acl_m_' || who, format('SELECT metastore.get_record(%L, %L)', ns, 'k')), expected,
          format('%s reads %s: %s', pattern, ns, expected))
  FROM (VALUES
    ('pattern', 'team-a.*', 'team-a',      'ok'),
    ('pattern', 'team-a.*', 'team-a.x',    'ok'),
    ('pattern', 'team-a.*', 'team-a.x.y',  'ok'),
    ('pattern', 'team-a.*', 'team-ab',     '42501'),
    ('pattern', 'team-a.*', 'team',        '42501'),
    ('pattern', 'team-a.*', 'team-ab.x',   '42501'),
    ('pattern', 'team-a.*', 'team-b',      '42501'),
    ('pattern', 'team-a.*', 'x.team-a',    '42501'),
    ('star',    '*',        'team-a',      'ok'),
    ('star',    '*',        'zz.y.x',      'ok'),
    ('star',    '*',        'acl-m-foreign', 'ok'),
    ('exact',   'team-c',   'team-c',      'ok'),
    ('exact',   'team-c',   'team-c.x',    '42501'),
    ('exact',   'team-c',   'team-cc',     '42501')
  ) AS t(who, pattern, ns, expected);

-- ================================================================ granting and revoking
CREATE ROLE ms_acl_m_delegate NOLOGIN;   -- admin of team-a.*
CREATE ROLE ms_acl_m_exactadm NOLOGIN;   -- admin of exactly team-d
SELECT metastore."grant"('ms_acl_m_delegate', 'team-a.*', 'admin') \g /dev/null
SELECT metastore."grant"('ms_acl_m_exactadm', 'team-d', 'admin') \g /dev/null

SELECT is(ms_test.try_as(who, format('SELECT metastore.%I(%L, %L, %L)', fn, 'someone', pattern, 'reader')),
          expected, format('%s: %s on %s -> %s', who, fn, pattern, expected))
  FROM (VALUES
    ('ms_acl_m_delegate', 'grant',  'team-a',      'ok'),
    ('ms_acl_m_delegate', 'grant',  'team-a.x',    'ok'),
    ('ms_acl_m_delegate', 'grant',  'team-a.x.*',  'ok'),
    ('ms_acl_m_delegate', 'grant',  'team-a.*',    'ok'),
    ('ms_acl_m_delegate', 'grant',  'team-b',      '42501'),
    ('ms_acl_m_delegate', 'grant',  '*',           '42501'),
    ('ms_acl_m_delegate', 'grant',  'team-ab',     '42501'),
    ('ms_acl_m_delegate', 'grant',  'team-ab.*',   '42501'),
    ('ms_acl_m_delegate', 'grant',  'team',        '42501'),
    ('ms_acl_m_delegate', 'grant',  'team.*',      '42501'),
    ('ms_acl_m_delegate', 'revoke', 'team-a.x',    'ok'),
    ('ms_acl_m_delegate', 'revoke', 'team-b',      '42501'),
    ('ms_acl_m_delegate', 'revoke', '*',           '42501'),
    ('ms_acl_m_exactadm', 'grant',  'team-d',      'ok'),
    ('ms_acl_m_exactadm', 'grant',  'team-d.x',    '42501'),
    ('ms_acl_m_exactadm', 'grant',  'team-d.*',    '42501'),
    ('ms_acl_m_writer',   'grant',  'acl-m-own',   '42501'),
    ('ms_acl_m_none',     'grant',  'acl-m-own',   '42501'),
    ('ms_acl_m_star',     'grant',  'team-a',      '42501')
  ) AS t(who, fn, pattern, expected);

SELECT is(ms_test.try_as('ms_acl_m_delegate', $$SELECT metastore."grant"('ms_acl_m_delegate', 'team-b', 'admin')$$), '42501',
  'an admin cannot widen its own reach by granting itself outside its pattern');

-- grant is true when new, false on repeat; revoke likewise
SELECT is(ms_test.query_as('ms_acl_m_delegate', $$SELECT metastore."grant"('acl-m-grantee', 'team-a.x', 'writer')::text$$), 'true',
  'grant returns true when the grant is new');
SELECT is(ms_test.query_as('ms_acl_m_delegate', $$SELECT metastore."grant"('acl-m-grantee', 'team-a.x', 'writer')::text$$), 'false',
  'grant returns false when the grant already exists');
SELECT results_eq(
  $$SELECT principal, namespace_pattern, role, granted_by FROM metastore.grants WHERE principal = 'acl-m-grantee'$$,
  $$VALUES ('acl-m-grantee'::text, 'team-a.x'::text, 'writer'::text, 'ms_acl_m_delegate'::text)$$,
  'the grant is stored once, with granted_by = the granting principal');
SELECT is(ms_test.query_as('ms_acl_m_delegate', $$SELECT metastore."revoke"('acl-m-grantee', 'team-a.x', 'writer')::text$$), 'true',
  'revoke returns true when a grant was removed');
SELECT is(ms_test.query_as('ms_acl_m_delegate', $$SELECT metastore."revoke"('acl-m-grantee', 'team-a.x', 'writer')::text$$), 'false',
  'revoke returns false when there was nothing to remove');
SELECT is_empty($$SELECT 1 FROM metastore.grants WHERE principal = 'acl-m-grantee'$$,
  'after the revoke the grant is gone');

-- a revoked role stops working at once (in the same transaction)
SELECT metastore."grant"('ms_acl_m_none', 'acl-m-own', 'reader') \g /dev/null
SELECT is(ms_test.try_as('ms_acl_m_none', $$SELECT metastore.get_record('acl-m-own', 'existing')$$), 'ok',
  'a fresh grant takes effect at once');
SELECT metastore."revoke"('ms_acl_m_none', 'acl-m-own', 'reader') \g /dev/null
SELECT is(ms_test.try_as('ms_acl_m_none', $$SELECT metastore.get_record('acl-m-own', 'existing')$$), '42501',
  'a revoke takes effect at once');

-- a grant undone by ROLLBACK TO SAVEPOINT must not keep working (the grant
-- cache must follow the data); values are carried out in psql variables
SAVEPOINT cache_check;
SELECT ms_test.query_as('ms_acl_m_exactadm', $$SELECT metastore."grant"('ms_acl_m_exactadm', 'team-d', 'approver')::text$$) AS sp_granted \gset
SELECT ms_test.query_as('ms_acl_m_exactadm', $$SELECT metastore.has_role('team-d', 'approver')::text$$) AS sp_inside \gset
ROLLBACK TO SAVEPOINT cache_check;
RELEASE SAVEPOINT cache_check;
SELECT ms_test.query_as('ms_acl_m_exactadm', $$SELECT metastore.has_role('team-d', 'approver')::text$$) AS sp_after \gset
SELECT is(:'sp_granted' || '/' || :'sp_inside', 'true/true',
  'precondition: inside the savepoint the self-granted approver role is held');
SELECT is(:'sp_after'::text, 'false',
  'after ROLLBACK TO SAVEPOINT undid the grant, has_role no longer reports it');

-- list_grants: own grants, and those on patterns the caller administers
SELECT metastore."grant"(p, ns, r)
  FROM (VALUES ('acl-m-u1', 'team-a.x', 'reader'),
               ('acl-m-u2', 'team-a',   'writer'),
               ('acl-m-u3', 'team-a.x.*', 'approver'),
               ('acl-m-u4', 'team-b',   'reader'),
               ('acl-m-u5', '*',        'reader'),
               ('acl-m-u6', 'team-ab',  'reader')) AS t(p, ns, r)
\g /dev/null
SELECT is(
  ms_test.query_as('ms_acl_m_delegate',
    $$SELECT string_agg(principal || ' ' || namespace || ' ' || role, ', ' ORDER BY principal, namespace)
        FROM metastore.list_grants()$$),
  'acl-m-u1 team-a.x reader, acl-m-u2 team-a writer, acl-m-u3 team-a.x.* approver, '
  'ms_acl_m_delegate team-a.* admin, ms_acl_m_pattern team-a.* reader',
  'list_grants() of an admin of team-a.*: its own grant and those on team-a.* or below, nothing else');
SELECT is(
  ms_test.query_as('ms_acl_m_delegate',
    $$SELECT coalesce(string_agg(principal, ', '), '(none)') FROM metastore.list_grants('acl-m-u4')$$),
  '(none)',
  'list_grants(principal) of another principal outside the admin''s pattern shows nothing');
SELECT is(
  ms_test.query_as('ms_acl_m_writer',
    $$SELECT string_agg(principal || ' ' || namespace || ' ' || role, ', ') FROM metastore.list_grants()$$),
  'ms_acl_m_writer acl-m-own writer',
  'list_grants() of a non-admin: only its own grants');
SELECT is(
  ms_test.query_as('ms_acl_m_none', $$SELECT count(*)::text FROM metastore.list_grants()$$), '0',
  'list_grants() of a principal without grants is empty');

-- argument validation of grant / revoke (as the superuser)
SELECT throws_ok($$SELECT metastore."grant"('someone', 'team-a*', 'reader')$$, '22023', NULL, 'grant on pattern team-a* -> 22023');
SELECT throws_ok($$SELECT metastore."grant"('someone', '*.x', 'reader')$$, '22023', NULL, 'grant on pattern *.x -> 22023');
SELECT throws_ok($$SELECT metastore."grant"('someone', '', 'reader')$$, '22023', NULL, 'grant on an empty pattern -> 22023');
SELECT throws_ok($$SELECT metastore."grant"('someone', 'a b', 'reader')$$, '22023', NULL, 'grant on pattern "a b" -> 22023');
SELECT throws_ok($$SELECT metastore."grant"('someone', 'team-a.*.*', 'reader')$$, '22023', NULL, 'grant on pattern team-a.*.* -> 22023');
SELECT throws_ok($$SELECT metastore."revoke"('someone', 'team-a*', 'reader')$$, '22023', NULL, 'revoke on pattern team-a* -> 22023');
SELECT throws_ok($$SELECT metastore."grant"('someone', 'team-a', 'owner')$$, '22023', 'unknown role "owner"', 'grant of an unknown role -> 22023');
SELECT throws_ok($$SELECT metastore."revoke"('someone', 'team-a', 'superuser')$$, '22023', 'unknown role "superuser"', 'revoke of an unknown role -> 22023');
SELECT throws_ok($$SELECT metastore."grant"('bad name', 'team-a', 'reader')$$, '22023', NULL, 'grant to an invalid principal name -> 22023');
SELECT throws_ok($$SELECT metastore."grant"(NULL, 'team-a', 'reader')$$, '22004', NULL, 'grant with NULL principal -> 22004');
SELECT throws_ok($$SELECT metastore."grant"('someone', NULL, 'reader')$$, '22004', NULL, 'grant with NULL namespace -> 22004');
SELECT throws_ok($$SELECT metastore."grant"('someone', 'team-a', NULL)$$, '22004', NULL, 'grant with NULL role -> 22004');
SELECT throws_ok($$SELECT metastore."revoke"(NULL, 'team-a', 'reader')$$, '22004', NULL, 'revoke with NULL principal -> 22004');
SELECT is_empty($$SELECT 1 FROM metastore.grants WHERE principal IN ('someone', 'bad name')$$,
  'no rejected grant was stored');

-- ================================================================ direct table access
-- even the strongest non-superuser principal has no SQL privilege on the tables
SELECT is(ms_test.try_as('ms_acl_m_admin', stmt), '42501', format('admin of acl-m-own: %s -> 42501', stmt))
  FROM (VALUES
    ('SELECT * FROM metastore.records'),
    ($$INSERT INTO metastore.records (namespace, key, metadata, created_at, created_by, updated_at, updated_by) VALUES ('acl-m-own', 'x', '{}', now(), 'x', now(), 'x')$$),
    ($$UPDATE metastore.records SET updated_by = 'x' WHERE namespace = 'acl-m-own'$$),
    ($$DELETE FROM metastore.records WHERE namespace = 'acl-m-own'$$),
    ('TRUNCATE metastore.records'),
    ('SELECT * FROM metastore.history'),
    ($$INSERT INTO metastore.history (aggregate, entity_id, namespace, entity_key, version, operation, snapshot, changed_by, changed_at) VALUES ('record', 1, 'acl-m-own', 'x', 9, 'update', '{}', 'x', now())$$),
    ($$UPDATE metastore.history SET changed_by = 'x'$$),
    ('DELETE FROM metastore.history'),
    ('TRUNCATE metastore.history'),
    ('SELECT * FROM metastore.api_keys'),
    ($$INSERT INTO metastore.api_keys (principal, prefix, hash, secret_id, created_at, created_by) VALUES ('x', 'ms_000000000000', '\x00', 'x', now(), 'x')$$),
    ($$UPDATE metastore.api_keys SET revoked_at = NULL$$),
    ('DELETE FROM metastore.api_keys'),
    ('TRUNCATE metastore.api_keys'),
    ('SELECT * FROM metastore.grants'),
    ($$INSERT INTO metastore.grants VALUES ('ms_acl_m_admin', '*', 'admin', now(), 'x')$$),
    ($$UPDATE metastore.grants SET namespace_pattern = '*'$$),
    ('DELETE FROM metastore.grants'),
    ('TRUNCATE metastore.grants')
  ) AS t(stmt);

-- ================================================================ row level security, the second line
SELECT set_eq(
  $$SELECT tablename::text, policyname::text, cmd FROM pg_policies
     WHERE schemaname = 'metastore' AND tablename IN ('records', 'history')$$,
  $$VALUES ('records', 'namespace_read', 'SELECT'), ('records', 'namespace_insert', 'INSERT'),
           ('records', 'namespace_update', 'UPDATE'), ('records', 'namespace_purge', 'DELETE'),
           ('history', 'namespace_read', 'SELECT'), ('history', 'namespace_insert', 'INSERT'),
           ('history', 'namespace_update', 'UPDATE'), ('history', 'namespace_purge', 'DELETE')$$,
  'records and history carry the four namespace policies');
SELECT is_empty(
  $$SELECT tablename, policyname FROM pg_policies
     WHERE schemaname = 'metastore' AND tablename IN ('records', 'history')
       AND NOT (coalesce(qual, '') || coalesce(with_check, '') LIKE '%has_role(namespace, %'
                AND coalesce(qual, '') || coalesce(with_check, '') LIKE
                    '%''' || CASE cmd WHEN 'SELECT' THEN 'reader' WHEN 'DELETE' THEN 'admin' ELSE 'writer' END || '''%')$$,
  'each namespace policy calls has_role(namespace, ...) with reader (read), writer (insert/update) or admin (purge)');

-- Give the writer of acl-m-own the table owner's privileges, as a bug in a C
-- check would: FORCE ROW LEVEL SECURITY still hides and protects every row of
-- a namespace it holds no role on.
GRANT metastore_owner TO ms_acl_m_writer;
CREATE FUNCTION ms_acl_m.as_owner(p_sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  SET SESSION AUTHORIZATION ms_acl_m_writer;
  SET ROLE metastore_owner;
  BEGIN
    EXECUTE p_sql INTO r;
  EXCEPTION WHEN OTHERS THEN
    r := SQLSTATE;
  END;
  RESET ROLE;
  RESET SESSION AUTHORIZATION;
  RETURN r;
END
$f$;

SELECT is(ms_acl_m.as_owner($$SELECT current_user || ' ' || metastore.current_principal()$$),
  'metastore_owner ms_acl_m_writer',
  'precondition: acting as the table owner, the principal is still the writer');
SELECT is(ms_acl_m.as_owner($$SELECT string_agg(DISTINCT namespace, ',') FROM metastore.records$$), 'acl-m-own',
  'as the table owner the writer sees records of its own namespace only');
SELECT is(ms_acl_m.as_owner($$SELECT string_agg(DISTINCT namespace, ',') FROM metastore.history$$), 'acl-m-own',
  'as the table owner the writer sees history of its own namespace only');
SELECT is(ms_acl_m.as_owner($$INSERT INTO metastore.records (namespace, key, metadata, created_at, created_by, updated_at, updated_by)
                              VALUES ('acl-m-foreign', 'planted', '{}', now(), 'x', now(), 'x') RETURNING id::text$$), '42501',
  'as the table owner the writer cannot insert into a foreign namespace (RLS WITH CHECK)');
SELECT is(ms_acl_m.as_owner($$WITH u AS (UPDATE metastore.records SET description = 'tampered'
                                         WHERE namespace = 'acl-m-foreign' RETURNING 1) SELECT count(*)::text FROM u$$), '0',
  'as the table owner the writer updates no row of a foreign namespace');
SELECT is(ms_acl_m.as_owner($$UPDATE metastore.records SET namespace = 'acl-m-foreign'
                              WHERE namespace = 'acl-m-own' RETURNING id::text$$), '42501',
  'as the table owner the writer cannot move a row into a foreign namespace (RLS WITH CHECK on update)');
SELECT is(ms_acl_m.as_owner($$WITH d AS (DELETE FROM metastore.records RETURNING 1) SELECT count(*)::text FROM d$$), '0',
  'as the table owner a writer hard-deletes nothing (purge needs admin), in any namespace');
SELECT is(ms_acl_m.as_owner($$WITH d AS (DELETE FROM metastore.history RETURNING 1) SELECT count(*)::text FROM d$$), '0',
  'as the table owner a writer deletes no history row');
REVOKE metastore_owner FROM ms_acl_m_writer;
SELECT results_eq(
  $$SELECT namespace, key, version, description FROM metastore.records ORDER BY namespace$$,
  $$VALUES ('acl-m-foreign'::text, 'existing'::text, 2, NULL::text), ('acl-m-own', 'existing', 2, NULL)$$,
  'both records are untouched afterwards');

SELECT * FROM finish();
ROLLBACK;
