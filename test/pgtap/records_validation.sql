-- pgTAP: input validation of the records functions: namespace, key, metadata,
-- tags, owner, description, content_type, document limits.  Every refused
-- call must change nothing.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(54);

\ir helpers/state.sql

-- A live record the refused updates below aim at.
SELECT is((metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                tags => '{t}')).version,
          1, 'setup: val/existing at version 1');

-- ================================================================ namespace
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => NULL, key => 'k', metadata => '1')$$,
  '22004', 'namespace must not be null', 'a NULL namespace is 22004');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => '', key => 'k', metadata => '1')$$,
  '22023', 'namespace must not be empty', 'an empty namespace is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => '-val', key => 'k', metadata => '1')$$,
  '22023', 'invalid namespace "-val"', 'a namespace starting with "-" is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'my val', key => 'existing', metadata => '1')$$,
  '22023', 'invalid namespace "my val"', 'a namespace containing a space is 22023');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => %L, key => 'k', metadata => '1')$$, 'caf' || chr(233)),
  '22023', format('invalid namespace "%s"', 'caf' || chr(233)),
  'a namespace with a non-ASCII letter is 22023');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => %L, key => 'k', metadata => '1')$$, repeat('n', 129)),
  '22001', 'namespace is too long', 'a namespace of 129 bytes is 22001');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused namespaces changed nothing');

SELECT is((metastore.put_record(namespace => repeat('n', 128), key => 'k', metadata => '1')).version,
          1, 'a namespace of exactly 128 bytes is accepted');

SELECT is((metastore.put_record(namespace => '9Val.ns_x-Y', key => 'k', metadata => '1')).namespace,
          '9Val.ns_x-Y', 'a namespace may start with a digit and contain letters, digits, ".", "_", "-"');

-- ================================================================ key and metadata
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => NULL, metadata => '1')$$,
  '22004', 'key must not be null', 'a NULL key is 22004');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => '', metadata => '1')$$,
  '22023', 'key must not be empty', 'an empty key is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => E'line\nbreak', metadata => '1')$$,
  '22023', 'key must not contain control characters', 'a key containing a newline is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'del' || chr(127), metadata => '1')$$,
  '22023', 'key must not contain control characters', 'a key containing DEL (0x7f) is 22023');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => 'val', key => %L, metadata => '1')$$, repeat('k', 1025)),
  '22001', 'key is too long', 'a key of 1025 bytes is 22001');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => 'val', key => %L, metadata => '1')$$, repeat(chr(233), 513)),
  '22001', 'key is too long', 'the key limit counts bytes: 513 two-byte characters (1026 bytes) is 22001');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => NULL)$$,
  '22004', 'metadata must not be null', 'a NULL metadata is 22004');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused keys and metadata changed nothing');

SELECT is(length((metastore.put_record(namespace => 'val', key => repeat('k', 1024), metadata => '1')).key),
          1024, 'a key of exactly 1024 bytes is accepted');

SELECT is((metastore.put_record(namespace => 'val', key => 'a b/c:d "q" ' || chr(233),
                                metadata => '2')).key,
          'a b/c:d "q" ' || chr(233),
  'a key may contain spaces, slashes, colons, quotes and non-ASCII characters');

-- ================================================================ tags
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                tags => ARRAY['t', NULL])$$,
  '22004', 'tags must not contain null', 'a NULL tag is 22004');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                tags => ARRAY['t', ''])$$,
  '22023', 'tags must not contain an empty string', 'an empty tag is 22023');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                       tags => ARRAY[%L])$$, repeat('t', 129)),
  '22001', 'tag is too long', 'a tag of 129 bytes is 22001');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                tags => (SELECT array_agg('t' || i) FROM generate_series(1, 65) i))$$,
  '54000', 'too many tags', '65 tags is 54000');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                tags => '{{a,b},{c,d}}')$$,
  '22023', 'tags must be a one-dimensional array', 'a two-dimensional tags array is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                tags => ARRAY[E'a\tb'])$$,
  '22023', 'tags must not contain control characters', 'a tag containing a control character is 22023');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused tags changed nothing (val/existing untouched)');

SELECT is(cardinality((metastore.put_record(namespace => 'val', key => 'tags64', metadata => '1',
                         tags => (SELECT array_agg('t' || i) FROM generate_series(1, 64) i))).tags),
          64, 'exactly 64 tags are accepted');

SELECT is((metastore.put_record(namespace => 'val', key => 'tag128', metadata => '1',
                                tags => ARRAY[repeat('t', 128)])).tags,
          ARRAY[repeat('t', 128)], 'a tag of exactly 128 bytes is accepted');

-- ================================================================ owner and description
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                       owner => %L)$$, repeat('o', 257)),
  '22001', 'owner is too long', 'an owner of 257 bytes is 22001');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                       owner => %L)$$, repeat(chr(233), 129)),
  '22001', 'owner is too long', 'the owner limit counts bytes: 129 two-byte characters is 22001');

SELECT throws_ok(
  format($$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                       description => %L)$$, repeat('d', 4097)),
  '22001', 'description is too long', 'a description of 4097 bytes is 22001');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused owners and descriptions changed nothing');

SELECT results_eq(
  $$SELECT length(owner), length(description)
      FROM metastore.put_record(namespace => 'val', key => 'limits', metadata => '1',
                                owner => repeat('o', 256), description => repeat('d', 4096))$$,
  $$VALUES (256, 4096)$$,
  'an owner of 256 bytes and a description of 4096 bytes are accepted');

-- ================================================================ content types
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                content_type => 'xml')$$,
  '22023', 'unknown content_type "xml"', 'an unknown content_type is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                content_type => 'JSON')$$,
  '22023', 'unknown content_type "JSON"', 'content_type names are case-sensitive (JSON is 22023)');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing', metadata => '{"keep": true}',
                                content_type => 'yaml')$$,
  '22023', 'metadata does not match content_type "yaml"', 'yaml with a JSON object is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'c', metadata => '42', content_type => 'text')$$,
  '22023', 'metadata does not match content_type "text"', 'text with a JSON number is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'c', metadata => '"not base64!"',
                                content_type => 'binary')$$,
  '22023', 'metadata does not match content_type "binary"', 'binary with a non-base64 string is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'c', metadata => '"aGk"', content_type => 'binary')$$,
  '22023', 'metadata does not match content_type "binary"', 'binary with unpadded base64 is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'c', metadata => to_jsonb(encode(repeat('x', 60)::bytea, 'base64')),
                                content_type => 'binary')$$,
  '22023', 'metadata does not match content_type "binary"', 'binary with a line break in the base64 is 22023');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'c', metadata => '["aGk="]', content_type => 'binary')$$,
  '22023', 'metadata does not match content_type "binary"', 'binary with a JSON array is 22023');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused content types changed nothing');

SELECT results_eq(
  $$SELECT content_type, metadata FROM metastore.put_record(namespace => 'val', key => 'c',
                                                          metadata => '"aGk="', content_type => 'binary')$$,
  $$VALUES ('binary'::text, '"aGk="'::jsonb)$$,
  'binary with padded base64 is accepted');

-- ================================================================ document limits
SET LOCAL metastore.max_document_bytes = 1024;
SET LOCAL metastore.max_document_depth = 3;
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'existing',
                                metadata => jsonb_build_object('keep', repeat('x', 2000)))$$,
  '54000', 'metadata is too large', 'a document over metastore.max_document_bytes is 54000');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'deep', metadata => '{"a": [{"b": []}]}')$$,
  '54000', 'metadata is nested too deeply', 'a document nested 4 levels with max_document_depth 3 is 54000');

SELECT throws_ok(
  $$SELECT metastore.put_record(namespace => 'val', key => 'deep', metadata => '[[[[1]]]]')$$,
  '54000', 'metadata is nested too deeply', 'nested arrays count towards the depth too');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused documents changed nothing');

SELECT results_eq(
  $$SELECT version, metadata FROM metastore.put_record(namespace => 'val', key => 'deep',
                                                     metadata => jsonb_build_object('a', jsonb_build_array(jsonb_build_object('b', repeat('x', 900)))))$$,
  $$VALUES (1, jsonb_build_object('a', jsonb_build_array(jsonb_build_object('b', repeat('x', 900)))))$$,
  'a document under both limits (about 930 bytes, depth 3) is accepted');
RESET metastore.max_document_bytes;
RESET metastore.max_document_depth;

-- ================================================================ the other functions validate too
SELECT pg_temp.ms_state() AS state_before \gset

SELECT throws_ok(
  $$SELECT metastore.get_record('bad ns', 'existing')$$,
  '22023', 'invalid namespace "bad ns"', 'get_record rejects an invalid namespace (22023)');

SELECT throws_ok(
  $$SELECT metastore.get_record('val', NULL)$$,
  '22004', 'key must not be null', 'get_record rejects a NULL key (22004)');

SELECT throws_ok(
  $$SELECT metastore.delete_record('val', '')$$,
  '22023', 'key must not be empty', 'delete_record rejects an empty key (22023), not MS404');

SELECT throws_ok(
  $$SELECT metastore.rollback_record('val', E'exist\ring', 1)$$,
  '22023', 'key must not contain control characters', 'rollback_record rejects a key with a control character (22023)');

SELECT is(pg_temp.ms_state(), :'state_before', 'the refused calls of get/delete/rollback changed nothing');

SELECT * FROM finish();
ROLLBACK;
