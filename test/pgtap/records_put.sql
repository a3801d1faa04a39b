-- pgTAP: metastore.put_record / metastore.get_record.
-- Creation, full replace, versioning, optimistic locking (expected_version),
-- idempotent identical puts, tag normalization, namespaces.
-- Input validation lives in records_validation.sql.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(44);

\ir helpers/state.sql

-- ---------------------------------------------------------------- create
SELECT results_eq(
  $$SELECT namespace, key, metadata, tags, owner, content_type, description, version,
           deleted_at IS NULL
      FROM metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 1}')$$,
  $$VALUES ('tap'::text, 'svc/a'::text, '{"a": 1}'::jsonb, '{}'::text[], NULL::text, 'json'::text,
            NULL::text, 1, true)$$,
  'put_record (named parameters) creates the record at version 1 with default tags, owner, content_type, description');

SELECT is(pg_temp.history_count('tap', 'svc/a'), 1::bigint,
  'creating a record writes exactly one history row');

SELECT is(metastore.get_record('tap', 'svc/a'),
          (SELECT r FROM metastore.records r WHERE namespace = 'tap' AND key = 'svc/a'),
  'get_record returns the stored row');

SELECT id AS svc_a_id, created_at AS svc_a_created_at FROM metastore.records
 WHERE namespace = 'tap' AND key = 'svc/a' \gset

-- ---------------------------------------------------------------- update / full replace
SELECT results_eq(
  $$SELECT metadata, version FROM metastore.put_record(namespace => 'tap', key => 'svc/a',
                                                     metadata => '{"a": 2}')$$,
  $$VALUES ('{"a": 2}'::jsonb, 2)$$,
  'an unconditional put with new metadata updates the record to version 2');

SELECT results_eq(
  $$SELECT tags, owner, content_type, description, version
      FROM metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 2}',
                                tags => '{blue,red}', owner => 'team-x',
                                description => 'first service')$$,
  $$VALUES ('{blue,red}'::text[], 'team-x'::text, 'json'::text, 'first service'::text, 3)$$,
  'changing only tags, owner and description is a change: version 3');

SELECT results_eq(
  $$SELECT metadata, tags, owner, description, version
      FROM metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 2}')$$,
  $$VALUES ('{"a": 2}'::jsonb, '{}'::text[], NULL::text, NULL::text, 4)$$,
  'put is a full replace: omitted tags, owner, description go back to their defaults (version 4)');

SELECT results_eq(
  $$SELECT id, created_at FROM metastore.records WHERE namespace = 'tap' AND key = 'svc/a'$$,
  format('VALUES (%s::bigint, %L::timestamptz)', :'svc_a_id', :'svc_a_created_at'),
  'updates keep the id and created_at of the original creation');

SELECT is(pg_temp.history_count('tap', 'svc/a'), 4::bigint,
  'each of the 4 versions has exactly one history row');

-- ---------------------------------------------------------------- identical puts
SELECT is((metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 2}')).version,
          4, 'an unconditional put identical to the live record returns the current version');

SELECT is((metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 2}',
                                expected_version => 0)).version,
          4, 'an identical create (expected_version 0) of a live record is idempotent: returns it');

SELECT is((metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 2}',
                                expected_version => 4)).version,
          4, 'an identical put with the current expected_version creates no version');

SELECT is(pg_temp.history_count('tap', 'svc/a'), 4::bigint,
  'identical puts wrote no history row');

SELECT is((SELECT version FROM metastore.records WHERE namespace = 'tap' AND key = 'svc/a'), 4,
  'identical puts left the stored version at 4');

-- ---------------------------------------------------------------- expected_version conflicts
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 2}',
                                expected_version => 2)$$,
  'MS409', 'version conflict on record "svc/a"',
  'an identical put with a stale expected_version is still a conflict (MS409)');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 3}',
                                expected_version => 0)$$,
  'MS409', 'record "svc/a" already exists',
  'expected_version 0 with different content on a live record is a conflict (MS409)');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 3}',
                                expected_version => 3)$$,
  'MS409', 'version conflict on record "svc/a"',
  'a stale expected_version (3, stored 4) is a conflict (MS409)');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 3}',
                                expected_version => 5)$$,
  'MS409', 'version conflict on record "svc/a"',
  'an expected_version ahead of the stored one is a conflict (MS409)');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'svc/none', metadata => '{}',
                                expected_version => 1)$$,
  'MS409', 'record "svc/none" does not exist',
  'expected_version N on a record that does not exist is a conflict (MS409)');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'tap', key => 'svc/a', metadata => '{"a": 3}',
                                expected_version => -1)$$,
  '22023', 'expected_version must be null, 0 or a positive version',
  'a negative expected_version is an invalid value (22023)');

SELECT is(pg_temp.ms_state(), :'state_before',
  'the refused puts changed nothing in records or history');

SELECT ok(metastore.get_record('tap', 'svc/none') IS NULL,
  'the refused conditional create did not create the record');

-- ---------------------------------------------------------------- accepted conditional writes
SELECT results_eq(
  $$SELECT metadata, version FROM metastore.put_record(namespace => 'tap', key => 'svc/a',
                                                     metadata => '{"a": 3}', expected_version => 4)$$,
  $$VALUES ('{"a": 3}'::jsonb, 5)$$,
  'a put with the current expected_version (4) updates to version 5');

SELECT results_eq(
  $$SELECT metadata, version FROM metastore.put_record(namespace => 'tap', key => 'svc/b',
                                                     metadata => '[1, 2]', expected_version => 0)$$,
  $$VALUES ('[1, 2]'::jsonb, 1)$$,
  'expected_version 0 creates an absent record at version 1');

SELECT results_eq(
  $$SELECT version, operation FROM metastore.record_history('tap', 'svc/a')$$,
  $$VALUES (1, 'create'), (2, 'update'), (3, 'update'), (4, 'update'), (5, 'update')$$,
  'versions start at 1 and increase by exactly 1 per change, one history row each');

-- ---------------------------------------------------------------- tags normalization
SELECT is((metastore.put_record(namespace => 'tap', key => 'tags/1', metadata => '{}',
                                tags => ARRAY['b', chr(233), 'B', 'a', '_', 'b'])).tags,
          ARRAY['B', '_', 'a', 'b', chr(233)],
  'tags are sorted in byte order and de-duplicated');

SELECT is((metastore.put_record(namespace => 'tap', key => 'tags/1', metadata => '{}',
                                tags => ARRAY[chr(233), 'a', '_', 'B', 'b'])).version,
          1, 'the same tag set in another order is identical: no new version');

SELECT is((metastore.put_record(namespace => 'tap', key => 'tags/1', metadata => '{}',
                                tags => ARRAY['a', 'a', 'a'])).tags,
          ARRAY['a'],
  'a tag repeated collapses to one');

SELECT is((metastore.get_record('tap', 'tags/1')).version, 2,
  'a changed tag set is a new version');

-- ---------------------------------------------------------------- content types
SELECT results_eq(
  $$SELECT metadata, content_type, version
      FROM metastore.put_record(namespace => 'tap', key => 'cfg/yaml',
                                metadata => to_jsonb('a: 1'::text), content_type => 'yaml')$$,
  $$VALUES ('"a: 1"'::jsonb, 'yaml'::text, 1)$$,
  'a yaml record stores its source as a JSON string');

SELECT results_eq(
  $$SELECT content_type, version
      FROM metastore.put_record(namespace => 'tap', key => 'cfg/yaml',
                                metadata => to_jsonb('a: 1'::text), content_type => 'text')$$,
  $$VALUES ('text'::text, 2)$$,
  'the same document with another content_type is a change: version 2');

SELECT results_eq(
  $$SELECT content_type, version
      FROM metastore.put_record(namespace => 'tap', key => 'cfg/yaml',
                                metadata => to_jsonb('a: 1'::text))$$,
  $$VALUES ('json'::text, 3)$$,
  'omitting content_type resets it to json (full replace)');

SELECT results_eq(
  $$SELECT metadata, content_type
      FROM metastore.put_record(namespace => 'tap', key => 'blob/1',
                                metadata => to_jsonb(encode('\x00ff10'::bytea, 'base64')),
                                content_type => 'binary')$$,
  $$VALUES ('"AP8Q"'::jsonb, 'binary'::text)$$,
  'a binary record stores padded base64 as a JSON string');

SELECT is((metastore.put_record(namespace => 'tap', key => 'scalar', metadata => '"just a string"')).metadata,
          '"just a string"'::jsonb,
  'content_type json accepts any JSON value, including a scalar');

-- ---------------------------------------------------------------- positional call
SELECT results_eq(
  $$SELECT metadata, tags, owner, content_type, description, version
      FROM metastore.put_record('tap', 'pos/1', '{"p": true}', '{z,y}', NULL, 'ops', 'json', 'positional')$$,
  $$VALUES ('{"p": true}'::jsonb, '{y,z}'::text[], 'ops'::text, 'json'::text, 'positional'::text, 1)$$,
  'positional arguments map to (namespace, key, metadata, tags, expected_version, owner, content_type, description)');

SELECT is((metastore.put_record('tap', 'pos/1', '{"p": true}', '{z,y}', 1, 'ops', 'json', 'changed')).version,
          2, 'changing only the description with the right expected_version makes version 2');

SELECT is((metastore.put_record('tap', 'pos/1', '{"p": true}', '{z,y}', 2, 'ops', 'json', 'changed again')).updated_at,
          now(), 'writes stamp updated_at with now()');

-- ---------------------------------------------------------------- namespaces and get_record
SELECT is((metastore.put_record(namespace => 'tap-2', key => 'svc/a', metadata => '{"other": true}')).version,
          1, 'the same key in another namespace is a separate record (version 1)');

SELECT is((metastore.get_record('tap', 'svc/a')).metadata, '{"a": 3}'::jsonb,
  'writing the key in another namespace did not touch the first namespace');

SELECT is((metastore.get_record('tap-2', 'svc/a')).metadata, '{"other": true}'::jsonb,
  'get_record reads from the namespace it is given');

SELECT ok(metastore.get_record('tap', 'no/such/key') IS NULL,
  'get_record returns NULL for a key that does not exist');

SELECT ok(metastore.get_record('no-such-namespace', 'svc/a') IS NULL,
  'get_record returns NULL for a namespace that does not exist');

SELECT is((SELECT count(*) FROM metastore.records WHERE namespace = 'tap' AND key = 'svc/a'), 1::bigint,
  'many puts of one key keep one row');

SELECT is((SELECT count(*) FROM metastore.records), 8::bigint,
  'exactly the records created by this test exist');

SELECT is((SELECT count(*) FROM metastore.history WHERE aggregate = 'record'), 17::bigint,
  'exactly one history row per version written by this test');

SELECT * FROM finish();
ROLLBACK;
