-- pgTAP: audit columns of records (created_by/updated_by, created_at/updated_at),
-- history changed_by/changed_at, metastore.current_principal(), and the
-- purge history row of a superuser DELETE.
--
-- Writes as other principals run in DO blocks under SET SESSION AUTHORIZATION
-- (pgTAP's own temp tables belong to the superuser, so assertions run after
-- RESET SESSION AUTHORIZATION).  Values seen inside those blocks are passed
-- out through transaction-local custom settings (tap.*).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(25);

CREATE ROLE ms_tap_alice NOLOGIN;
CREATE ROLE ms_tap_bob NOLOGIN;
CREATE ROLE ms_tap_carol NOLOGIN;
GRANT ms_tap_carol TO ms_tap_alice;          -- alice may SET ROLE ms_tap_carol
GRANT USAGE ON SCHEMA metastore TO ms_tap_alice, ms_tap_bob, ms_tap_carol;
-- alice and bob write in namespace audit; carol holds nothing
SELECT metastore."grant"('ms_tap_alice', 'audit', 'writer') \g /dev/null
SELECT metastore."grant"('ms_tap_bob', 'audit', 'writer') \g /dev/null

-- errors raised inside the role blocks are collected here instead of aborting
SELECT set_config('tap.role_errors', '', true) \g /dev/null

-- ================================================================ superuser, fresh record
SELECT is(metastore.current_principal(), session_user::text,
  'current_principal() is the session user');

SELECT results_eq(
  $$SELECT created_by, updated_by, created_at, updated_at
      FROM metastore.put_record(namespace => 'audit', key => 'root', metadata => '{}')$$,
  $$SELECT (session_user::text COLLATE "default"), (session_user::text COLLATE "default"), now(), now()$$,
  'a fresh record: created_by = updated_by = the principal, created_at = updated_at = now()');

SELECT results_eq(
  $$SELECT changed_by, changed_at FROM metastore.record_history('audit', 'root')$$,
  $$SELECT (session_user::text COLLATE "default"), now()$$,
  'its history row: changed_by = the principal, changed_at = now()');

-- ================================================================ alice creates
SET SESSION AUTHORIZATION ms_tap_alice;
DO $$
BEGIN
  PERFORM set_config('tap.alice_principal', metastore.current_principal(), true);
  PERFORM metastore.put_record(namespace => 'audit', key => 'a1', metadata => '{"by": "alice"}');
EXCEPTION WHEN OTHERS THEN
  PERFORM set_config('tap.role_errors', current_setting('tap.role_errors') || ' alice-create: ' || SQLERRM, true);
END $$;
RESET SESSION AUTHORIZATION;

SELECT is(current_setting('tap.role_errors'), '',
  'a role granted writer on the namespace can write records through the API');

SELECT is(current_setting('tap.alice_principal'), 'ms_tap_alice',
  'under SET SESSION AUTHORIZATION current_principal() is that role');

SELECT results_eq(
  $$SELECT created_by, updated_by, created_at = updated_at FROM metastore.get_record('audit', 'a1')$$,
  $$VALUES ('ms_tap_alice'::text, 'ms_tap_alice'::text, true)$$,
  'a record created by alice: created_by = updated_by = alice, created_at = updated_at');

-- ================================================================ bob updates
SET SESSION AUTHORIZATION ms_tap_bob;
DO $$
BEGIN
  PERFORM metastore.put_record(namespace => 'audit', key => 'a1', metadata => '{"by": "bob"}',
                               expected_version => 1);
EXCEPTION WHEN OTHERS THEN
  PERFORM set_config('tap.role_errors', current_setting('tap.role_errors') || ' bob-update: ' || SQLERRM, true);
END $$;
RESET SESSION AUTHORIZATION;

SELECT results_eq(
  $$SELECT version, created_by, updated_by FROM metastore.get_record('audit', 'a1')$$,
  $$VALUES (2, 'ms_tap_alice'::text, 'ms_tap_bob'::text)$$,
  'after bob''s update: created_by stays alice, updated_by is bob');

-- ================================================================ SET ROLE does not change the principal
SET SESSION AUTHORIZATION ms_tap_alice;
SET ROLE ms_tap_carol;
DO $$
BEGIN
  PERFORM set_config('tap.setrole_current_user', current_user::text, true);
  PERFORM set_config('tap.setrole_principal', metastore.current_principal(), true);
  PERFORM metastore.put_record(namespace => 'audit', key => 'a1', metadata => '{"by": "alice as carol"}');
EXCEPTION WHEN OTHERS THEN
  PERFORM set_config('tap.role_errors', current_setting('tap.role_errors') || ' alice-as-carol: ' || SQLERRM, true);
END $$;
RESET ROLE;
RESET SESSION AUTHORIZATION;

SELECT is(current_setting('tap.setrole_current_user'), 'ms_tap_carol',
  'precondition: SET ROLE made carol the current_user');

SELECT is(current_setting('tap.setrole_principal'), 'ms_tap_alice',
  'after SET ROLE the principal is still the session user (alice), not the current_user');

SELECT results_eq(
  $$SELECT version, updated_by FROM metastore.get_record('audit', 'a1')$$,
  $$VALUES (3, 'ms_tap_alice'::text)$$,
  'a write after SET ROLE carol is attributed to the session user alice');

-- ================================================================ delete, rollback, bulk, no-op put
SET SESSION AUTHORIZATION ms_tap_bob;
DO $$
BEGIN
  PERFORM metastore.delete_record('audit', 'a1');
  PERFORM metastore.bulk_records('audit', '[{"op": "put", "key": "b1", "metadata": 1}]');
EXCEPTION WHEN OTHERS THEN
  PERFORM set_config('tap.role_errors', current_setting('tap.role_errors') || ' bob-delete-bulk: ' || SQLERRM, true);
END $$;
SET SESSION AUTHORIZATION ms_tap_alice;
DO $$
BEGIN
  PERFORM metastore.rollback_record('audit', 'a1', 2);
EXCEPTION WHEN OTHERS THEN
  PERFORM set_config('tap.role_errors', current_setting('tap.role_errors') || ' alice-rollback: ' || SQLERRM, true);
END $$;
SET SESSION AUTHORIZATION ms_tap_bob;
DO $$
BEGIN
  -- identical to what alice's rollback wrote: no new version
  PERFORM metastore.put_record(namespace => 'audit', key => 'a1', metadata => '{"by": "bob"}');
EXCEPTION WHEN OTHERS THEN
  PERFORM set_config('tap.role_errors', current_setting('tap.role_errors') || ' bob-noop: ' || SQLERRM, true);
END $$;
RESET SESSION AUTHORIZATION;

SELECT is(current_setting('tap.role_errors'), '',
  'every write of alice and bob went through');

SELECT results_eq(
  $$SELECT version, operation, metadata, changed_by, changed_at FROM metastore.record_history('audit', 'a1')$$,
  $$VALUES (1, 'create'::text,  '{"by": "alice"}'::jsonb,          'ms_tap_alice'::text, now()),
           (2, 'update',        '{"by": "bob"}',                   'ms_tap_bob',         now()),
           (3, 'update',        '{"by": "alice as carol"}',        'ms_tap_alice',       now()),
           (4, 'delete',        '{"by": "alice as carol"}',        'ms_tap_bob',         now()),
           (5, 'rollback',      '{"by": "bob"}',                   'ms_tap_alice',       now())$$,
  'history changed_by names the session user of every write (create, update, SET ROLE update, delete, rollback)');

SELECT results_eq(
  $$SELECT version, created_by, updated_by FROM metastore.get_record('audit', 'a1')$$,
  $$VALUES (5, 'ms_tap_alice'::text, 'ms_tap_alice'::text)$$,
  'a no-op put by bob neither makes a version nor takes over updated_by');

SELECT results_eq(
  $$SELECT created_by, updated_by FROM metastore.get_record('audit', 'b1')$$,
  $$VALUES ('ms_tap_bob'::text, 'ms_tap_bob'::text)$$,
  'bulk_records writes the principal into created_by and updated_by');

SELECT results_eq(
  $$SELECT changed_by FROM metastore.record_history('audit', 'b1')$$,
  $$VALUES ('ms_tap_bob'::text)$$,
  'bulk_records writes the principal into history changed_by');

-- ================================================================ audit columns cannot be forged
SET SESSION AUTHORIZATION ms_tap_alice;
DO $$
BEGIN
  BEGIN
    INSERT INTO metastore.records (namespace, key, metadata, created_at, created_by, updated_at, updated_by)
    VALUES ('audit', 'forged', '{}', now(), 'someone-else', now(), 'someone-else');
    PERFORM set_config('tap.forge_insert', 'no error', true);
  EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('tap.forge_insert', SQLSTATE, true);
  END;
  BEGIN
    UPDATE metastore.records SET updated_by = 'someone-else' WHERE key = 'a1';
    PERFORM set_config('tap.forge_update', 'no error', true);
  EXCEPTION WHEN OTHERS THEN
    PERFORM set_config('tap.forge_update', SQLSTATE, true);
  END;
END $$;
RESET SESSION AUTHORIZATION;

SELECT is(current_setting('tap.forge_insert'), '42501',
  'a role cannot INSERT into metastore.records directly (42501): audit columns cannot be forged');

SELECT is(current_setting('tap.forge_update'), '42501',
  'a role cannot UPDATE metastore.records directly (42501)');

-- ================================================================ purge
SELECT id AS a1_id FROM metastore.records WHERE namespace = 'audit' AND key = 'a1' \gset

DELETE FROM metastore.records WHERE namespace = 'audit' AND key = 'a1';

SELECT results_eq(
  $$SELECT version, operation, metadata, deleted, changed_by, changed_at
      FROM metastore.record_history('audit', 'a1') WHERE operation = 'purge'$$,
  $$VALUES (6, 'purge'::text, '{"by": "bob"}'::jsonb, true, (session_user::text COLLATE "default"), now())$$,
  'a superuser DELETE writes one purge history row: next version, last content, deleted, by the principal');

SELECT is(
  (SELECT entity_id FROM metastore.history WHERE namespace = 'audit' AND entity_key = 'a1' AND operation = 'purge'),
  :'a1_id'::bigint,
  'the purge row belongs to the purged record''s id');

SELECT ok(NOT EXISTS (SELECT 1 FROM metastore.records WHERE namespace = 'audit' AND key = 'a1'),
  'the purged row is gone from metastore.records');

SELECT is((SELECT count(*) FROM metastore.history WHERE namespace = 'audit' AND entity_key = 'a1'), 6::bigint,
  'the versions before the purge stay in history (5 versions + purge)');

SELECT results_eq(
  $$SELECT version, id <> $$ || :'a1_id' || $$, created_by
      FROM metastore.put_record(namespace => 'audit', key => 'a1', metadata => '{"again": true}')$$,
  $$VALUES (1, true, (session_user::text COLLATE "default"))$$,
  'a put after a purge creates a new record: version 1, new id');

SELECT results_eq(
  $$SELECT version, operation FROM metastore.record_history('audit', 'a1')$$,
  $$VALUES (1, 'create'::text), (2, 'update'), (3, 'update'), (4, 'delete'), (5, 'rollback'),
           (6, 'purge'), (1, 'create')$$,
  'record_history shows the purged record''s versions, the purge, then the new record');

-- purge of a soft-deleted record
SELECT is((metastore.delete_record('audit', 'b1')).version, 2, 'soft-delete b1 (version 2)');

DELETE FROM metastore.records WHERE namespace = 'audit' AND key = 'b1';

SELECT results_eq(
  $$SELECT version, operation, deleted, changed_by FROM metastore.record_history('audit', 'b1')$$,
  $$VALUES (1, 'create'::text, false, 'ms_tap_bob'::text), (2, 'delete', true, (session_user::text COLLATE "default")),
           (3, 'purge', true, (session_user::text COLLATE "default"))$$,
  'purging a soft-deleted record also writes a purge row, one version past the delete');

SELECT * FROM finish();
ROLLBACK;
