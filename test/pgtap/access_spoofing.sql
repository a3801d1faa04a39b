-- pgTAP: a SQL client trying to act as someone else, or with more than its
-- grants: settings, SET ROLE, SET SESSION AUTHORIZATION after authenticate,
-- internal functions, direct writes to audit tables, search_path tricks,
-- forged audit columns, and other principals' keys.
--
-- The attacker, ms_acl_s_mallory, is a non-superuser role holding writer on
-- acl-s-own and membership in ms_acl_s_boss (writer on acl-s-boss, admin of
-- acl-s-boss.*).  Calls run as mallory through helpers in a scratch schema:
--   ms_test.try_as(role, sql [, set_role])  rolled back; 'ok' or the SQLSTATE
--   ms_test.err_as(role, sql)               rolled back; 'ok' or
--                                            'SQLSTATE: message / detail'
--   ms_test.query_as(role, sql [, set_role]) kept; first column as text
--   ms_test.attempt(sql)                    as try_as, as the session itself
-- All assertions run as the superuser (pgTAP's temp tables are its own).
--
-- Not covered here: a non-superuser *login* running SET SESSION AUTHORIZATION
-- (PostgreSQL answers 42501).  This file's connection authenticated as a
-- superuser, and PostgreSQL lets such a connection switch session users at
-- will -- that is how the file acts as mallory -- so the refusal cannot be
-- observed without a second, committed login role.  What metastore itself
-- must guarantee is tested instead: after authenticate(), switching the
-- session user does not change the acting principal.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(65);

\ir helpers/as_role.sql

-- ================================================================ principals
CREATE ROLE ms_acl_s_mallory NOLOGIN;
CREATE ROLE ms_acl_s_boss NOLOGIN;
CREATE ROLE ms_acl_s_stranger NOLOGIN;
GRANT ms_acl_s_boss TO ms_acl_s_mallory;          -- mallory may SET ROLE ms_acl_s_boss
SELECT metastore."grant"('ms_acl_s_mallory', 'acl-s-own', 'writer') \g /dev/null
SELECT metastore."grant"('ms_acl_s_boss', 'acl-s-boss', 'writer') \g /dev/null
SELECT metastore."grant"('ms_acl_s_boss', 'acl-s-boss.*', 'admin') \g /dev/null
SELECT metastore."grant"('acl-s-keyuser', 'acl-s-key', 'writer') \g /dev/null
SELECT metastore.put_record('acl-s-boss', 'plan', '{"secret": true}') \g /dev/null
SELECT metastore.put_record('acl-s-own', 'mine', '{}') \g /dev/null

-- ================================================================ search_path inside has_role
-- Runs first on purpose: metastore prepares its grant lookup once per
-- backend, on first use, and nothing above made it run for a non-superuser.
-- has_role is SECURITY DEFINER (as metastore_owner) without a pinned
-- search_path.  A principal that may create objects somewhere (here: a schema
-- of its own) puts an "=" operator for text ahead of pg_catalog and calls
-- has_role.  Nothing of the caller's may run as metastore_owner: it would
-- reach every table (FORCE RLS lets the owner role write grants and keys).
CREATE SCHEMA ms_acl_s_evil AUTHORIZATION ms_acl_s_mallory;
SAVEPOINT evil;
SET SESSION AUTHORIZATION ms_acl_s_mallory;
GRANT USAGE ON SCHEMA ms_acl_s_evil TO PUBLIC;
CREATE FUNCTION ms_acl_s_evil.texteq(a text, b text) RETURNS boolean
LANGUAGE plpgsql AS $f$
BEGIN
  PERFORM set_config('tap.evil_ran_as', current_user, true);
  BEGIN
    INSERT INTO metastore.grants VALUES ('ms_acl_s_mallory', '*', 'admin', now(), 'planted')
      ON CONFLICT DO NOTHING;
  EXCEPTION WHEN OTHERS THEN
    NULL;
  END;
  RETURN true;
END
$f$;
CREATE OPERATOR ms_acl_s_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = ms_acl_s_evil.texteq);
SET search_path = ms_acl_s_evil, pg_catalog;
SELECT metastore.has_role('acl-s-boss', 'reader')::text AS evil_has_role \gset
RESET search_path;
RESET SESSION AUTHORIZATION;
SELECT coalesce(current_setting('tap.evil_ran_as', true), '') AS evil_ran_as \gset
SELECT count(*) AS evil_planted FROM metastore.grants WHERE granted_by = 'planted' \gset
ROLLBACK TO SAVEPOINT evil;
RELEASE SAVEPOINT evil;
-- drop whatever grants the lookup cached for mallory during the attack
SELECT metastore."grant"('acl-s-nobody', 'acl-s-nowhere', 'reader') \g /dev/null
SELECT metastore."revoke"('acl-s-nobody', 'acl-s-nowhere', 'reader') \g /dev/null

SELECT is(:'evil_ran_as'::text, '',
  'has_role does not run an operator from the caller''s search_path (as metastore_owner or at all)');
SELECT is(:'evil_planted'::text, '0',
  'a principal cannot plant a grant through has_role''s search_path');
SELECT is(:'evil_has_role'::text, 'false',
  'has_role under a hostile search_path still answers false for a namespace the caller holds nothing on');
SELECT is(ms_test.try_as('ms_acl_s_mallory', $$SELECT metastore.get_record('acl-s-boss', 'plan')$$), '42501',
  'after the attempt (rolled back) mallory still cannot read acl-s-boss');

-- ================================================================ settings
SELECT is(ms_test.try_as('ms_acl_s_mallory', stmt), expected, format('mallory: %s -> %s', stmt, expected))
  FROM (VALUES
    ('SET metastore.max_document_bytes = 1',                                   '42501'),
    ($$SET metastore.max_document_bytes = '64MB'$$,                            '42501'),
    ('SET LOCAL metastore.max_document_depth = 1000',                          '42501'),
    ('SET metastore.max_bulk_operations = 100000',                             '42501'),
    ('RESET metastore.max_document_bytes',                                     '42501'),
    ($$SELECT set_config('metastore.max_document_bytes', '2048', false)$$,     '42501'),
    ('ALTER ROLE ms_acl_s_mallory SET metastore.max_document_bytes = 2048',    '42501'),
    ($$SET metastore.server_secret_file = '/tmp/x'$$,                          '55P02'),
    ($$SET metastore.previous_server_secret_file = '/tmp/x'$$,                 '55P02'),
    ($$SELECT set_config('metastore.server_secret_file', '/tmp/x', true)$$,    '55P02'),
    ('SHOW metastore.server_secret_file',                                      '42501'),
    ('SHOW metastore.previous_server_secret_file',                             '42501'),
    ($$SELECT current_setting('metastore.server_secret_file')$$,               '42501'),
    ($$SET metastore.principal = 'admin'$$,                                    '42602'),
    ($$SELECT set_config('metastore.principal', 'x', false)$$,                 '42602'),
    ($$SET metastore.current_principal = 'ms_acl_s_boss'$$,                    '42602'),
    ($$SET LOCAL metastore.authenticated_principal = 'ms_acl_s_boss'$$,        '42602'),
    ($$ALTER ROLE ms_acl_s_mallory SET metastore.principal = 'ms_acl_s_boss'$$, '42602')
  ) AS t(stmt, expected);

SELECT is(ms_test.query_as('ms_acl_s_mallory',
            $$SELECT count(*)::text FROM pg_settings WHERE name LIKE 'metastore.%secret%'$$), '0',
  'pg_settings does not show the secret file settings to a non-superuser');
SELECT throws_ok($$SET metastore.principal = 'admin'$$, '42602', NULL,
  'even a superuser cannot invent a metastore.* setting (reserved prefix)');
SELECT is(current_setting('metastore.max_document_bytes') || ' ' || current_setting('metastore.max_bulk_operations'),
  '1MB 1000', 'the limits are unchanged after mallory''s attempts');
SELECT is(ms_test.query_as('ms_acl_s_mallory', 'SELECT metastore.current_principal()'), 'ms_acl_s_mallory',
  'mallory''s principal is still mallory after the attempts');

-- ================================================================ SET ROLE
SELECT is(ms_test.try_as('ms_acl_s_mallory', 'SET ROLE ms_acl_s_stranger'), '42501',
  'SET ROLE to a role mallory is not a member of -> 42501');
SELECT is(ms_test.try_as('ms_acl_s_mallory', 'SET ROLE metastore_owner'), '42501',
  'SET ROLE metastore_owner -> 42501');
SELECT is(ms_test.try_as('ms_acl_s_mallory', format('SET ROLE %I', session_user)), '42501',
  'SET ROLE to the superuser -> 42501');
SELECT is(ms_test.query_as('ms_acl_s_mallory', $$SELECT current_user || ' ' || metastore.current_principal()$$, 'ms_acl_s_boss'),
  'ms_acl_s_boss ms_acl_s_mallory',
  'SET ROLE to a member role changes current_user, not current_principal()');
SELECT is(ms_test.try_as('ms_acl_s_mallory', sql, 'ms_acl_s_boss'), expected,
          format('mallory after SET ROLE ms_acl_s_boss: %s -> %s', sql, expected))
  FROM (VALUES
    ($$SELECT metastore.get_record('acl-s-boss', 'plan')$$,                           '42501'),
    ($$SELECT metastore.put_record('acl-s-boss', 'plan', '{"secret": false}')$$,      '42501'),
    ($$SELECT * FROM metastore.record_history('acl-s-boss', 'plan')$$,                '42501'),
    ($$SELECT metastore.bulk_records('acl-s-boss', '[{"op": "delete", "key": "plan"}]')$$, '42501'),
    ($$SELECT metastore."grant"('ms_acl_s_mallory', 'acl-s-boss.x', 'writer')$$,      '42501'),
    ($$SELECT metastore.create_api_key('ms_acl_s_boss')$$,                            '42501'),
    ($$SELECT metastore.put_record('acl-s-own', 'mine', '{"v": 2}')$$,                'ok')
  ) AS t(sql, expected);
SELECT is(ms_test.query_as('ms_acl_s_mallory', $$SELECT metastore.has_role('acl-s-boss', 'reader')::text$$, 'ms_acl_s_boss'),
  'false', 'has_role after SET ROLE ms_acl_s_boss: the member role''s grants do not count');

-- ================================================================ internal functions and tables
SELECT is(ms_test.try_as('ms_acl_s_mallory', stmt), '42501', format('mallory: %s -> 42501', label))
  FROM (VALUES
    ('protect_aggregate(records)', $$SELECT metastore.protect_aggregate('metastore.records')$$),
    ('protect_aggregate(history)', $$SELECT metastore.protect_aggregate('metastore.history')$$),
    ('history_trigger() called directly', 'SELECT metastore.history_trigger()'),
    ('history_trigger as the trigger of its own table',
     $$CREATE TEMP TABLE acl_s_fake (id bigint, namespace text, key text, version int, deleted_at timestamptz);
       CREATE TRIGGER forge AFTER INSERT ON acl_s_fake FOR EACH ROW
         EXECUTE FUNCTION metastore.history_trigger('record', 'key')$$),
    ('INSERT INTO metastore.history',
     $$INSERT INTO metastore.history (aggregate, entity_id, namespace, entity_key, version, operation, snapshot, changed_by, changed_at)
       VALUES ('record', 1, 'acl-s-own', 'mine', 9, 'update', '{}', 'ms_acl_s_boss', now())$$),
    ('UPDATE metastore.history SET changed_by', $$UPDATE metastore.history SET changed_by = 'ms_acl_s_boss' WHERE namespace = 'acl-s-own'$$),
    ('DELETE FROM metastore.history', $$DELETE FROM metastore.history WHERE namespace = 'acl-s-own'$$),
    ('INSERT INTO metastore.records with forged audit columns',
     $$INSERT INTO metastore.records (namespace, key, metadata, created_at, created_by, updated_at, updated_by)
       VALUES ('acl-s-own', 'forged', '{}', now(), 'ms_acl_s_boss', now(), 'ms_acl_s_boss')$$),
    ('UPDATE metastore.records SET created_by', $$UPDATE metastore.records SET created_by = 'ms_acl_s_boss' WHERE namespace = 'acl-s-own'$$),
    ('INSERT INTO metastore.grants', $$INSERT INTO metastore.grants VALUES ('ms_acl_s_mallory', '*', 'admin', now(), 'ms_acl_s_boss')$$),
    ('UPDATE metastore.api_keys SET principal', $$UPDATE metastore.api_keys SET principal = 'ms_acl_s_mallory'$$)
  ) AS t(label, stmt);
SELECT throws_ok($$SELECT metastore.history_trigger()$$, 'XX000', 'history_trigger: not called by trigger manager',
  'even a superuser cannot call the history trigger function directly');

-- ================================================================ audit columns cannot be passed
SELECT is_empty(
  $$SELECT p.oid::regprocedure::text, a.n FROM pg_proc p,
           unnest(p.proargnames, coalesce(p.proargmodes, array_fill('i'::"char", ARRAY[cardinality(p.proargnames)])))
             AS a(n, m)
     WHERE p.pronamespace = 'metastore'::regnamespace AND p.proargnames IS NOT NULL AND a.m IN ('i', 'b', 'v')
       AND a.n IN ('created_by', 'updated_by', 'changed_by', 'granted_by', 'revoked_by',
                   'created_at', 'updated_at', 'changed_at', 'granted_at', 'revoked_at', 'principal_override')$$,
  'no metastore function takes an audit column (created_by, updated_by, changed_by, ...) as an argument');
SELECT ok(NOT (SELECT proargnames && ARRAY['created_by', 'updated_by']
                 FROM pg_proc WHERE oid = 'metastore.put_record(text,text,jsonb,text[],integer,text,text,text)'::regprocedure),
  'put_record has no created_by / updated_by parameter');
SELECT is(ms_test.try_as('ms_acl_s_mallory',
            $$SELECT metastore.put_record(namespace => 'acl-s-own', key => 'x', metadata => '{}', created_by => 'ms_acl_s_boss')$$),
  '42883', 'put_record(..., created_by => ...) does not exist (42883)');
SELECT is(ms_test.try_as('ms_acl_s_mallory',
            $$SELECT metastore.bulk_records('acl-s-own', '[{"op": "put", "key": "x", "metadata": 1, "created_by": "ms_acl_s_boss"}]')$$),
  '22023', 'a bulk operation with a created_by field is rejected (22023)');
SELECT is(ms_test.query_as('ms_acl_s_mallory',
            $$SELECT created_by || ' ' || updated_by FROM metastore.put_record('acl-s-own', 'claims',
                '{"created_by": "ms_acl_s_boss", "updated_by": "ms_acl_s_boss"}')$$),
  'ms_acl_s_mallory ms_acl_s_mallory', 'audit-looking fields inside metadata do not touch the audit columns');
SELECT is((SELECT string_agg(changed_by, ',') FROM metastore.history WHERE namespace = 'acl-s-own' AND entity_key = 'claims'),
  'ms_acl_s_mallory', '... nor history changed_by');

-- ================================================================ other principals' keys
SELECT * FROM metastore.create_api_key('acl-s-victim') \gset victim_
SELECT * FROM metastore.create_api_key('acl-s-keyuser') \gset keyuser_
SELECT * FROM metastore.create_api_key(session_user) \gset super_
SELECT is(metastore.revoke_api_key(:'victim_prefix'), true, 'precondition: the victim''s key is revoked');
SELECT is(ms_test.err_as('ms_acl_s_mallory', format('SELECT metastore.authenticate(%L)', :'victim_api_key')),
  '28000: invalid API key / The key has been revoked.',
  'mallory authenticating with another principal''s revoked key -> 28000');
SELECT is(ms_test.try_as('ms_acl_s_mallory', format('SELECT metastore.revoke_api_key(%L)', :'keyuser_prefix')), '42501',
  'mallory cannot revoke another principal''s key (42501)');
SELECT is(ms_test.try_as('ms_acl_s_mallory', format('SELECT metastore.revoke_api_key(%L)', :'keyuser_prefix'), 'ms_acl_s_boss'),
  '42501', '... not even after SET ROLE');

-- after authenticate, changing the session user or current_user changes nothing
SAVEPOINT shim;
SELECT metastore.authenticate(:'keyuser_api_key') AS shim_returned \gset
SET SESSION AUTHORIZATION ms_acl_s_boss;
SELECT metastore.current_principal() AS shim_after_ssa \gset
SELECT ms_test.attempt($$SELECT metastore.get_record('acl-s-boss', 'plan')$$) AS shim_boss_read \gset
SELECT ms_test.attempt($$SELECT metastore.put_record('acl-s-key', 'k', '{}')$$) AS shim_key_write \gset
RESET SESSION AUTHORIZATION;
SET ROLE ms_acl_s_boss;
SELECT metastore.current_principal() AS shim_after_setrole \gset
RESET ROLE;
SELECT metastore.current_principal() AS shim_after_reset \gset
ROLLBACK TO SAVEPOINT shim;
RELEASE SAVEPOINT shim;

SELECT is(:'shim_returned'::text, 'acl-s-keyuser', 'precondition: authenticated as acl-s-keyuser');
SELECT is(:'shim_after_ssa' || ' ' || :'shim_after_setrole' || ' ' || :'shim_after_reset',
  'acl-s-keyuser acl-s-keyuser acl-s-keyuser',
  'after authenticate, SET SESSION AUTHORIZATION, SET ROLE and their RESET leave current_principal() alone');
SELECT is(:'shim_boss_read' || ' ' || :'shim_key_write', '42501 ok',
  'after authenticate and SET SESSION AUTHORIZATION ms_acl_s_boss, boss''s grants do not apply; the key''s do');

-- a key whose principal is named like the superuser role gets no superuser powers
SAVEPOINT superkey;
SELECT metastore.authenticate(:'super_api_key') AS superkey_returned \gset
SELECT ms_test.attempt($$SELECT metastore.get_record('acl-s-boss', 'plan')$$) AS superkey_read \gset
SELECT ms_test.attempt($$SELECT metastore."grant"('acl-s-x', 'acl-s-x', 'reader')$$) AS superkey_grant \gset
ROLLBACK TO SAVEPOINT superkey;
RELEASE SAVEPOINT superkey;
SELECT is(:'superkey_returned'::text, session_user::text COLLATE "default",
  'precondition: a key for the principal named like the superuser authenticates');
SELECT is(:'superkey_read' || ' ' || :'superkey_grant', '42501 42501',
  'a key principal named like a superuser role has only that principal''s grants (none): 42501');

SELECT * FROM finish();
ROLLBACK;
