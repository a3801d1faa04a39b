-- pgTAP: metastore.delete_record, reviving deleted records with put_record,
-- metastore.record_history and metastore.rollback_record.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(53);

\ir helpers/state.sql

-- Three versions of tap/doc, each with different content in every column:
-- v1 json {"v": 1} tags {a} owner o1 description d1
-- v2 yaml "v: 2"   tags {b}           description d2
-- v3 json {"v": 3}
SELECT lives_ok($$
  SELECT metastore.put_record(namespace => 'tap', key => 'doc', metadata => '{"v": 1}',
                              tags => '{a}', owner => 'o1', description => 'd1');
  SELECT metastore.put_record(namespace => 'tap', key => 'doc', metadata => to_jsonb('v: 2'::text),
                              tags => '{b}', content_type => 'yaml', description => 'd2');
  SELECT metastore.put_record(namespace => 'tap', key => 'doc', metadata => '{"v": 3}');
  SELECT metastore.put_record(namespace => 'tap', key => 'doc2', metadata => '{"x": 1}');
$$, 'setup: tap/doc at version 3, tap/doc2 at version 1');

SELECT id AS doc_id, created_at AS doc_created_at, created_by AS doc_created_by
  FROM metastore.records WHERE namespace = 'tap' AND key = 'doc' \gset

-- ================================================================ delete
SELECT results_eq(
  $$SELECT version, metadata, deleted_at = now()
      FROM metastore.delete_record(namespace => 'tap', key => 'doc')$$,
  $$VALUES (4, '{"v": 3}'::jsonb, true)$$,
  'delete_record soft-deletes: version 4, deleted_at = now(), content kept');

SELECT ok(metastore.get_record('tap', 'doc') IS NULL,
  'get_record returns NULL for a soft-deleted record');

SELECT is((SELECT count(*) FROM metastore.records
            WHERE namespace = 'tap' AND key = 'doc' AND deleted_at IS NOT NULL), 1::bigint,
  'the soft-deleted row stays in metastore.records with deleted_at set');

SELECT results_eq(
  $$SELECT version, operation, deleted FROM metastore.record_history('tap', 'doc') WHERE version = 4$$,
  $$VALUES (4, 'delete'::text, true)$$,
  'the delete is history version 4, operation delete, deleted flag true');

SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', 'doc')$$,
  'MS404', 'record "doc" not found in namespace "tap"',
  'deleting an already deleted record is MS404');

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', 'doc', expected_version => 4)$$,
  'MS404', 'record "doc" not found in namespace "tap"',
  'deleting a deleted record is MS404 even with its current expected_version');

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', 'ghost')$$,
  'MS404', 'record "ghost" not found in namespace "tap"',
  'deleting a record that never existed is MS404');

SELECT throws_ok(
  $$SELECT metastore.delete_record('other', 'doc2')$$,
  'MS404', 'record "doc2" not found in namespace "other"',
  'delete_record only looks in the namespace it is given');

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', 'doc2', expected_version => 2)$$,
  'MS409', 'version conflict on record "doc2"',
  'deleting with a stale expected_version is MS409');

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', 'doc2', expected_version => 0)$$,
  '22023', 'expected_version 0 means create only and cannot be used to delete',
  'delete_record with expected_version 0 is an invalid value (22023)');

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', 'doc2', expected_version => -3)$$,
  '22023', 'expected_version must be null, 0 or a positive version',
  'delete_record with a negative expected_version is 22023');

SELECT throws_ok(
  $$SELECT metastore.delete_record(NULL, 'doc2')$$,
  '22004', 'namespace must not be null',
  'delete_record with a NULL namespace is 22004');

SELECT throws_ok(
  $$SELECT metastore.delete_record('tap', NULL)$$,
  '22004', 'key must not be null',
  'delete_record with a NULL key is 22004');

SELECT is(pg_temp.ms_state(), :'state_before',
  'the refused deletes changed nothing in records or history');

SELECT results_eq(
  $$SELECT version, deleted_at IS NOT NULL
      FROM metastore.delete_record('tap', 'doc2', expected_version => 1)$$,
  $$VALUES (2, true)$$,
  'delete_record with the current expected_version deletes (version 2)');

-- ================================================================ revive with put_record
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'doc', metadata => '{"v": 5}',
                                expected_version => 4)$$,
  'MS409', 'record "doc" is deleted',
  'put with expected_version N on a deleted record is MS409, even N = its current version');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'doc', metadata => '{"v": 3}',
                                expected_version => 3)$$,
  'MS409', 'record "doc" is deleted',
  'put with the last live version on a deleted record is MS409');

SELECT is(pg_temp.ms_state(), :'state_before',
  'the refused revivals changed nothing');

SELECT results_eq(
  $$SELECT metadata, version, deleted_at IS NULL
      FROM metastore.put_record(namespace => 'tap', key => 'doc', metadata => '{"v": 5}',
                                expected_version => 0)$$,
  $$VALUES ('{"v": 5}'::jsonb, 5, true)$$,
  'put with expected_version 0 revives a deleted record at a version above the delete (5)');

SELECT results_eq(
  $$SELECT id, created_at, created_by FROM metastore.get_record('tap', 'doc')$$,
  format('VALUES (%s::bigint, %L::timestamptz, %L::text)',
         :'doc_id', :'doc_created_at', :'doc_created_by'),
  'a revived record keeps the id, created_at and created_by of its original creation');

SELECT results_eq(
  $$SELECT version, operation, deleted FROM metastore.record_history('tap', 'doc') WHERE version = 5$$,
  $$VALUES (5, 'restore'::text, false)$$,
  'the revival is recorded as operation restore');

SELECT results_eq(
  $$SELECT metadata, version, deleted_at IS NULL
      FROM metastore.put_record(namespace => 'tap', key => 'doc2', metadata => '{"x": 1}')$$,
  $$VALUES ('{"x": 1}'::jsonb, 3, true)$$,
  'an unconditional put of the pre-delete content still revives the record (version 3)');

-- ================================================================ record_history
SELECT results_eq(
  $$SELECT version, operation, metadata, tags, owner, content_type, description, deleted
      FROM metastore.record_history('tap', 'doc')$$,
  $$VALUES (1, 'create'::text,  '{"v": 1}'::jsonb, '{a}'::text[], 'o1'::text, 'json'::text, 'd1'::text, false),
           (2, 'update',        '"v: 2"',          '{b}',          NULL,        'yaml',       'd2',        false),
           (3, 'update',        '{"v": 3}',        '{}',           NULL,        'json',       NULL,        false),
           (4, 'delete',        '{"v": 3}',        '{}',           NULL,        'json',       NULL,        true),
           (5, 'restore',       '{"v": 5}',        '{}',           NULL,        'json',       NULL,        false)$$,
  'record_history lists every version in order with its operation, full content and deleted flag');

SELECT results_eq(
  $$SELECT changed_by, changed_at FROM metastore.record_history('tap', 'doc')$$,
  $$SELECT metastore.current_principal(), now() FROM generate_series(1, 5)$$,
  'record_history reports changed_by and changed_at of every version');

SELECT is_empty(
  $$SELECT * FROM metastore.record_history('tap', 'never-existed')$$,
  'record_history is empty for a key that never existed');

SELECT is_empty(
  $$SELECT * FROM metastore.record_history('other', 'doc')$$,
  'record_history is empty for the key in a namespace where it never existed');

-- ================================================================ rollback_record
SELECT results_eq(
  $$SELECT version, metadata, tags, owner, content_type, description, deleted_at IS NULL
      FROM metastore.rollback_record(namespace => 'tap', key => 'doc', version => 1)$$,
  $$VALUES (6, '{"v": 1}'::jsonb, '{a}'::text[], 'o1'::text, 'json'::text, 'd1'::text, true)$$,
  'rollback_record to version 1 writes version 6 with all of version 1''s content');

SELECT results_eq(
  $$SELECT version, operation FROM metastore.record_history('tap', 'doc') WHERE version = 6$$,
  $$VALUES (6, 'rollback'::text)$$,
  'a rollback is recorded as operation rollback');

SELECT results_eq(
  $$SELECT version, metadata, content_type, tags, owner, description
      FROM metastore.rollback_record('tap', 'doc', 2, expected_version => 6)$$,
  $$VALUES (7, '"v: 2"'::jsonb, 'yaml'::text, '{b}'::text[], NULL::text, 'd2'::text)$$,
  'rollback_record with the current expected_version works (version 7 = content of 2)');

SELECT is((metastore.rollback_record('tap', 'doc', 2)).version, 7,
  'rolling back to a version identical to the current content returns the current version');

SELECT is((metastore.rollback_record('tap', 'doc', 7, expected_version => 7)).version, 7,
  'rolling back to the current version itself makes no new version');

SELECT is(pg_temp.history_count('tap', 'doc'), 7::bigint,
  'no-op rollbacks wrote no history row');

SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', 99)$$,
  'MS404', 'version 99 of record "doc" not found',
  'rolling back to a version that never existed is MS404');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', 0)$$,
  'MS404', 'version 0 of record "doc" not found',
  'rolling back to version 0 is MS404');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'ghost', 1)$$,
  'MS404', 'record "ghost" not found in namespace "tap"',
  'rolling back a record that never existed is MS404');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('other', 'doc', 1)$$,
  'MS404', 'record "doc" not found in namespace "other"',
  'rollback_record only looks in the namespace it is given');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', 4)$$,
  '22023', 'version 4 of record "doc" is a deletion',
  'rolling back to a delete version is an invalid value (22023)');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', 1, expected_version => 6)$$,
  'MS409', 'version conflict on record "doc"',
  'rollback_record with a stale expected_version is MS409');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', 1, expected_version => 0)$$,
  '22023', 'expected_version 0 means create only and cannot be used to roll back',
  'rollback_record with expected_version 0 is 22023');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', NULL)$$,
  '22004', 'version must not be null',
  'rollback_record with a NULL version is 22004');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', NULL, 1)$$,
  '22004', 'key must not be null',
  'rollback_record with a NULL key is 22004');

SELECT is(pg_temp.ms_state(), :'state_before',
  'the refused rollbacks changed nothing in records or history');

-- rollback of a deleted record restores it
SELECT is((metastore.delete_record('tap', 'doc', expected_version => 7)).version, 8,
  'delete again: version 8');

SELECT results_eq(
  $$SELECT version, metadata, content_type, deleted_at IS NULL
      FROM metastore.rollback_record('tap', 'doc', 7)$$,
  $$VALUES (9, '"v: 2"'::jsonb, 'yaml'::text, true)$$,
  'rolling a deleted record back to its last live version restores it as version 9');

SELECT is((metastore.get_record('tap', 'doc')).version, 9,
  'get_record sees the record restored by the rollback');

SELECT is((metastore.delete_record('tap', 'doc')).version, 10,
  'delete once more: version 10');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('tap', 'doc', 1, expected_version => 9)$$,
  'MS409', 'version conflict on record "doc"',
  'rollback of a deleted record with a stale expected_version is MS409');

SELECT results_eq(
  $$SELECT version, metadata, deleted_at IS NULL
      FROM metastore.rollback_record('tap', 'doc', 1, expected_version => 10)$$,
  $$VALUES (11, '{"v": 1}'::jsonb, true)$$,
  'rollback of a deleted record with its current (deleted) expected_version restores it');

SELECT results_eq(
  $$SELECT version, metadata FROM metastore.rollback_record('tap', 'doc', 5)$$,
  $$VALUES (12, '{"v": 5}'::jsonb)$$,
  'a restore version is a valid rollback target (version 12)');

SELECT results_eq(
  $$SELECT version, operation, deleted FROM metastore.record_history('tap', 'doc')$$,
  $$VALUES (1, 'create'::text, false), (2, 'update', false), (3, 'update', false),
           (4, 'delete', true), (5, 'restore', false), (6, 'rollback', false),
           (7, 'rollback', false), (8, 'delete', true), (9, 'rollback', false),
           (10, 'delete', true), (11, 'rollback', false), (12, 'rollback', false)$$,
  'the whole history of tap/doc: every version once, in order, with its operation');

SELECT is((metastore.get_record('tap', 'doc')).id, :'doc_id'::bigint,
  'after deletes, revivals and rollbacks the record keeps its original id');

SELECT is((SELECT count(*) FROM metastore.records), 2::bigint,
  'soft deletes, revivals and rollbacks never add or remove rows of metastore.records');

SELECT * FROM finish();
ROLLBACK;
