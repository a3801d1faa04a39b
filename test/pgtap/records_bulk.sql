-- pgTAP: metastore.bulk_records: results, all-or-nothing, error naming,
-- malformed operations, limits.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(55);

\ir helpers/state.sql
-- 'SQLSTATE: message' of the error a statement raises.  Its effects are
-- always rolled back: a statement that succeeds yields 'TAP00: no error'.
CREATE FUNCTION pg_temp.error_of(sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE sql;
  RAISE EXCEPTION 'no error' USING ERRCODE = 'TAP00';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- ================================================================ results
SELECT is(
  metastore.bulk_records('bulk', $$[
    {"op": "put",    "key": "a", "metadata": {"n": 1}},
    {"op": "put",    "key": "b", "metadata": [1], "tags": ["y", "x", "y"]},
    {"op": "put",    "key": "a", "metadata": {"n": 1}},
    {"op": "put",    "key": "a", "metadata": {"n": 2}, "expected_version": 1},
    {"op": "delete", "key": "b"},
    {"op": "put",    "key": "b", "metadata": [2], "expected_version": 0}
  ]$$),
  $$[{"index": 0, "op": "put",    "key": "a", "version": 1, "result": "created"},
     {"index": 1, "op": "put",    "key": "b", "version": 1, "result": "created"},
     {"index": 2, "op": "put",    "key": "a", "version": 1, "result": "unchanged"},
     {"index": 3, "op": "put",    "key": "a", "version": 2, "result": "updated"},
     {"index": 4, "op": "delete", "key": "b", "version": 2, "result": "deleted"},
     {"index": 5, "op": "put",    "key": "b", "version": 3, "result": "restored"}]$$::jsonb,
  'bulk_records returns one {index, op, key, version, result} per operation, each seeing the previous ones');

SELECT results_eq(
  $$SELECT key, metadata, tags, version, deleted_at IS NULL
      FROM metastore.records WHERE namespace = 'bulk' ORDER BY key$$,
  $$VALUES ('a'::text, '{"n": 2}'::jsonb, '{}'::text[], 2, true),
           ('b',       '[2]',             '{}',          3, true)$$,
  'the bulk operations were all applied (put is a full replace: b lost its tags)');

SELECT results_eq(
  $$SELECT entity_key, version, operation FROM metastore.history
     WHERE namespace = 'bulk' ORDER BY entity_key, version$$,
  $$VALUES ('a'::text, 1, 'create'::text), ('a', 2, 'update'),
           ('b', 1, 'create'), ('b', 2, 'delete'), ('b', 3, 'restore')$$,
  'each applied bulk operation wrote one history row; the unchanged put wrote none');

SELECT is((SELECT snapshot->'tags' FROM metastore.history
            WHERE namespace = 'bulk' AND entity_key = 'b' AND version = 1),
          '["x", "y"]'::jsonb,
  'tags given in bulk are sorted and de-duplicated');

SELECT is(
  metastore.bulk_records('bulk', '[{"op": "put", "key": "t", "metadata": "hello",
       "content_type": "text", "owner": "team-t", "description": "a text", "tags": ["doc"]}]'),
  '[{"index": 0, "op": "put", "key": "t", "version": 1, "result": "created"}]'::jsonb,
  'a bulk put with every optional field creates the record');

SELECT results_eq(
  $$SELECT metadata, content_type, owner, description, tags
      FROM metastore.records WHERE namespace = 'bulk' AND key = 't'$$,
  $$VALUES ('"hello"'::jsonb, 'text'::text, 'team-t'::text, 'a text'::text, '{doc}'::text[])$$,
  'a bulk put stores content_type, owner, description and tags');

SELECT is(
  metastore.bulk_records('bulk', '[{"op": "put", "key": "a", "metadata": {"n": 2}, "expected_version": 0},
                                   {"op": "put", "key": "a", "metadata": {"n": 2}, "expected_version": 2}]'),
  '[{"index": 0, "op": "put", "key": "a", "version": 2, "result": "unchanged"},
    {"index": 1, "op": "put", "key": "a", "version": 2, "result": "unchanged"}]'::jsonb,
  'identical bulk puts (expected_version 0 or current) are unchanged and report the current version');

SELECT is(
  metastore.bulk_records('bulk', '[{"op": "delete", "key": "t", "expected_version": 1}]'),
  '[{"index": 0, "op": "delete", "key": "t", "version": 2, "result": "deleted"}]'::jsonb,
  'a bulk delete with the current expected_version deletes');

SELECT ok(metastore.get_record('bulk', 't') IS NULL,
  'the record deleted in bulk is gone for get_record');

SELECT is(
  metastore.bulk_records('bulk', '[{"op": "put", "key": "u", "metadata": 1, "expected_version": null,
                                    "tags": null, "owner": null, "content_type": null, "description": null}]'),
  '[{"index": 0, "op": "put", "key": "u", "version": 1, "result": "created"}]'::jsonb,
  'null optional fields are the same as absent ones');

SELECT is(
  metastore.bulk_records('bulk', $$[{"op": "put", "key": "q\"uo\\te", "metadata": 1}]$$)->0->>'key',
  'q"uo\te',
  'keys with quotes and backslashes come back correctly escaped in the result');

-- ================================================================ all or nothing
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[
      {"op": "put", "key": "c1", "metadata": 1},
      {"op": "put", "key": "c2", "metadata": 2},
      {"op": "put", "key": "a",  "metadata": 3, "expected_version": 1}]')$$,
  'MS409', 'bulk operation 2 (key "a") failed: version conflict on record "a"',
  'a conflict in operation 2 keeps MS409 and names operation 2 and its key');

SELECT ok(metastore.get_record('bulk', 'c1') IS NULL AND metastore.get_record('bulk', 'c2') IS NULL,
  'operations 0 and 1 before the conflict were not applied');

SELECT throws_matching(
  $$SELECT metastore.bulk_records('bulk', '[
      {"op": "put", "key": "c1", "metadata": 1},
      {"op": "put", "key": "c2", "metadata": 2},
      {"op": "put", "key": "c3", "metadata": 3},
      {"op": "put", "key": "a",  "metadata": 3, "expected_version": 0}]')$$,
  '^bulk operation 3 \(key "a"\) failed: ',
  'the error message starts with "bulk operation 3" when operation 3 fails');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[
      {"op": "put", "key": "c1", "metadata": 1},
      {"op": "delete", "key": "ghost"}]')$$,
  'MS404', 'bulk operation 1 (key "ghost") failed: record "ghost" not found in namespace "bulk"',
  'deleting a missing record in operation 1 keeps MS404 and names operation 1');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[
      {"op": "put", "key": "a", "metadata": {"n": 9}},
      {"op": "delete", "key": "a"},
      {"op": "put", "key": "a", "metadata": {"n": 10}, "expected_version": 4}]')$$,
  'MS409', 'bulk operation 2 (key "a") failed: record "a" is deleted',
  'operation 2 sees the delete of operation 1 (MS409 on a deleted record)');

SELECT is(metastore.get_record('bulk', 'a'),
          (SELECT r FROM metastore.records r WHERE namespace = 'bulk' AND key = 'a' AND version = 2
                                            AND metadata = '{"n": 2}'),
  'after the failed batch, a is still live at version 2 with its old content');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "delete", "key": "a", "expected_version": 0}]')$$,
  '22023', 'bulk operation 0 (key "a") failed: expected_version 0 means create only and cannot be used to delete',
  'a bulk delete with expected_version 0 is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "a", "metadata": 1, "expected_version": -2}]')$$,
  '22023', 'bulk operation 0 (key "a") failed: expected_version must be null, 0 or a positive version',
  'a negative expected_version in bulk is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[
      {"op": "put", "key": "ok1", "metadata": 1},
      {"op": "put", "key": "t1",  "metadata": {"not": "text"}, "content_type": "text"}]')$$,
  '22023', 'bulk operation 1 (key "t1") failed: metadata does not match content_type "text"',
  'content that does not match its content_type in operation 1 is 22023 naming operation 1');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "x", "metadata": 1, "content_type": "xml"}]')$$,
  '22023', 'bulk operation 0 (key "x") failed: unknown content_type "xml"',
  'an unknown content_type in bulk is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "x", "metadata": 1, "tags": ["ok", ""]}]')$$,
  '22023', 'bulk operation 0 (key "x") failed: tags must not contain an empty string',
  'an empty tag in bulk is 22023');

SELECT matches(
  pg_temp.error_of($$SELECT metastore.bulk_records('bulk', '[
      {"op": "put", "key": "fine", "metadata": 1},
      {"op": "put", "key": "", "metadata": 1}]')$$),
  '^22023: bulk operation 1 .*failed: key must not be empty$',
  'an empty key in operation 1 is 22023 naming operation 1');

SET LOCAL metastore.max_document_bytes = 1024;
SELECT throws_ok(
  format($$SELECT metastore.bulk_records('bulk', %L)$$,
         jsonb_build_array(jsonb_build_object('op', 'put', 'key', 'small', 'metadata', 1),
                           jsonb_build_object('op', 'put', 'key', 'big', 'metadata',
                                              jsonb_build_object('x', repeat('x', 2000))))),
  '54000', 'bulk operation 1 (key "big") failed: metadata is too large',
  'a document over metastore.max_document_bytes in operation 1 is 54000 naming operation 1');
RESET metastore.max_document_bytes;

SELECT is(pg_temp.ms_state(), :'state_before',
  'the failed batches changed nothing in records or history');

-- ================================================================ malformed batches
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '{"op": "put", "key": "a", "metadata": 1}')$$,
  '22023', 'operations must be a JSON array',
  'operations that are an object, not an array, are 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '"put"')$$,
  '22023', 'operations must be a JSON array',
  'operations that are a scalar are 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[]')$$,
  '22023', 'operations must not be empty',
  'an empty operations array is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1}, 5]')$$,
  '22023', 'bulk operation 1 is invalid: it is not a JSON object',
  'a non-object element is 22023 naming its index');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"key": "m0", "metadata": 1}]')$$,
  '22023', 'bulk operation 0 is invalid: "op" is missing',
  'a missing op is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1},
                                           {"op": "delete"}]')$$,
  '22023', 'bulk operation 1 is invalid: "key" is missing',
  'a missing key is 22023 naming its index');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1},
                                           {"op": "put", "key": "m1", "metadata": 1},
                                           {"op": "put", "key": "m2"}]')$$,
  '22023', 'bulk operation 2 is invalid: "metadata" is missing',
  'a put without metadata is 22023 naming its index');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "upsert", "key": "m0", "metadata": 1}]')$$,
  '22023', 'bulk operation 0 is invalid: unknown op "upsert"',
  'an unknown op is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "version": 1}]')$$,
  '22023', 'bulk operation 0 is invalid: unknown field "version"',
  'an unknown field is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "delete", "key": "a", "metadata": 1}]')$$,
  '22023', 'bulk operation 0 is invalid: a delete takes only op, key and expected_version',
  'a delete with put fields is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": 1, "key": "m0", "metadata": 1}]')$$,
  '22023', 'bulk operation 0 is invalid: "op" must be a string',
  'a non-string op is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": 7, "metadata": 1}]')$$,
  '22023', 'bulk operation 0 is invalid: "key" must be a string',
  'a non-string key is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "tags": "x"}]')$$,
  '22023', 'bulk operation 0 is invalid: "tags" must be an array of strings',
  'tags that are not an array are 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "tags": ["x", 1]}]')$$,
  '22023', 'bulk operation 0 is invalid: "tags" must be an array of strings',
  'a non-string tag is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "owner": 5}]')$$,
  '22023', 'bulk operation 0 is invalid: "owner" must be a string',
  'a non-string owner is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "content_type": ["json"]}]')$$,
  '22023', 'bulk operation 0 is invalid: "content_type" must be a string',
  'a non-string content_type is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "description": true}]')$$,
  '22023', 'bulk operation 0 is invalid: "description" must be a string',
  'a non-string description is 22023');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "m0", "metadata": 1, "expected_version": "1"}]')$$,
  '22023', 'bulk operation 0 is invalid: "expected_version" must be an integer',
  'a string expected_version is 22023');

-- (error_of rolls back even a call that wrongly succeeds, so these two
-- cannot disturb the tests after them)
SELECT is(
  pg_temp.error_of($$SELECT metastore.bulk_records('bulk',
    '[{"op": "put", "key": "a", "metadata": {"n": 3}, "expected_version": 2.4}]')$$),
  '22023: bulk operation 0 is invalid: "expected_version" must be an integer',
  'a fractional expected_version (2.4, a at version 2) is 22023, not rounded to 2 and applied');

SELECT matches(
  pg_temp.error_of($$SELECT metastore.bulk_records('bulk',
    '[{"op": "put", "key": "a", "metadata": {"n": 3}, "expected_version": 1e10}]')$$),
  '^22023: bulk operation 0 ',
  'an expected_version beyond the integer range is 22023 naming operation 0 (not 22003)');

-- validation of every operation comes before any write: op 1 would fail at
-- run time (MS404) but op 2 is malformed, so the batch fails on op 2
SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "v0", "metadata": 1},
                                           {"op": "delete", "key": "ghost"},
                                           {"op": "put", "key": "v2"}]')$$,
  '22023', 'bulk operation 2 is invalid: "metadata" is missing',
  'every operation is validated before any is applied');

SELECT is(pg_temp.ms_state(), :'state_before',
  'the malformed batches changed nothing in records or history');

-- ================================================================ arguments and limits
SELECT throws_ok(
  $$SELECT metastore.bulk_records(NULL, '[{"op": "put", "key": "a", "metadata": 1}]')$$,
  '22004', 'namespace must not be null',
  'a NULL namespace is 22004');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', NULL)$$,
  '22004', 'operations must not be null',
  'NULL operations are 22004');

SELECT throws_ok(
  $$SELECT metastore.bulk_records('bad ns', '[{"op": "put", "key": "a", "metadata": 1}]')$$,
  '22023', 'invalid namespace "bad ns"',
  'an invalid namespace is 22023');

SET LOCAL metastore.max_bulk_operations = 3;
SELECT throws_ok(
  $$SELECT metastore.bulk_records('bulk', '[{"op": "put", "key": "l1", "metadata": 1},
                                           {"op": "put", "key": "l2", "metadata": 1},
                                           {"op": "put", "key": "l3", "metadata": 1},
                                           {"op": "put", "key": "l4", "metadata": 1}]')$$,
  '54000', 'too many bulk operations',
  'more operations than metastore.max_bulk_operations is 54000');

SELECT ok(metastore.get_record('bulk', 'l1') IS NULL,
  'the batch over the limit applied nothing');

SELECT is(jsonb_array_length(
            metastore.bulk_records('bulk', '[{"op": "put", "key": "l1", "metadata": 1},
                                             {"op": "put", "key": "l2", "metadata": 1},
                                             {"op": "put", "key": "l3", "metadata": 1}]')),
          3, 'exactly metastore.max_bulk_operations operations are accepted');
RESET metastore.max_bulk_operations;

SELECT is((SELECT count(*) FROM metastore.records WHERE namespace = 'bulk'), 8::bigint,
  'only the successful batches left records (a, b, t, u, q"uo\te, l1, l2, l3)');

SELECT is((SELECT count(*) FROM metastore.history WHERE namespace = 'bulk'), 12::bigint,
  'only the successful batches left history rows');

SELECT * FROM finish();
ROLLBACK;
