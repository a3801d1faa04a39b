-- The records store, as README's SQL tour shows it: golden output of every
-- call and of each error a user can cause (message, detail, hint).
\set SHOW_CONTEXT never
\pset null '(null)'

-- create, read, conditional update
SELECT key, metadata, tags, version, content_type
  FROM metastore.put_record(namespace => 'production', key => 'app.database.pool_size',
                            metadata => '10', tags => '{performance,database,database}',
                            expected_version => 0, description => 'DB pool size');
SELECT key, metadata, version, created_by = metastore.current_principal() AS audited
  FROM metastore.get_record('production', 'app.database.pool_size');
SELECT version, metadata
  FROM metastore.put_record('production', 'app.database.pool_size', '20',
                            tags => '{database,performance}', expected_version => 1,
                            description => 'DB pool size');

-- the same create again is idempotent; a different one conflicts
SELECT version FROM metastore.put_record('production', 'app.cache', '{"ttl": 60}', expected_version => 0);
SELECT version FROM metastore.put_record('production', 'app.cache', '{"ttl": 60}', expected_version => 0);
SELECT version FROM metastore.put_record('production', 'app.cache', '{"ttl": 90}', expected_version => 0);
-- a stale version conflicts and changes nothing
SELECT version FROM metastore.put_record('production', 'app.cache', '{"ttl": 90}', expected_version => 7);
SELECT metadata, version FROM metastore.get_record('production', 'app.cache');

-- soft delete, revive, history, rollback
SELECT version, deleted_at IS NOT NULL AS deleted FROM metastore.delete_record('production', 'app.cache');
SELECT metastore.get_record('production', 'app.cache') IS NULL AS gone;
SELECT version, metadata FROM metastore.put_record('production', 'app.cache', '{"ttl": 120}');
SELECT version, metadata FROM metastore.rollback_record('production', 'app.cache', 1);
SELECT version, operation, metadata, deleted FROM metastore.record_history('production', 'app.cache');

-- content types
SELECT content_type, metadata FROM metastore.put_record('docs', 'readme', to_jsonb('# Hello'::text), content_type => 'text');
SELECT content_type, metadata FROM metastore.put_record('docs', 'logo', '"iVBORw0KGgo="', content_type => 'binary');
SELECT metastore.put_record('docs', 'bad', '{"not": "text"}', content_type => 'text');
SELECT metastore.put_record('docs', 'bad', '"not base64!"', content_type => 'binary');
SELECT metastore.put_record('docs', 'bad', '{}', content_type => 'xml');

-- bulk: all or nothing, results per operation
SELECT jsonb_pretty(metastore.bulk_records('batch', '[
  {"op": "put", "key": "a", "metadata": {"n": 1}, "tags": ["x"]},
  {"op": "put", "key": "b", "metadata": {"n": 2}, "expected_version": 0},
  {"op": "delete", "key": "a"}
]'));
SELECT metastore.bulk_records('batch', '[
  {"op": "put", "key": "c", "metadata": {"n": 3}},
  {"op": "put", "key": "b", "metadata": {"n": 9}, "expected_version": 5}
]');
SELECT count(*) AS c_was_not_written FROM metastore.records WHERE namespace = 'batch' AND key = 'c';
SELECT metastore.bulk_records('batch', '[{"op": "upsert", "key": "c"}]');
SELECT metastore.bulk_records('batch', '{"op": "put"}');

-- bad input
SELECT metastore.put_record(NULL, 'k', '{}');
SELECT metastore.put_record('ns', '', '{}');
SELECT metastore.put_record('ns', E'bad\nkey', '{}');
SELECT metastore.put_record('-ns', 'k', '{}');
SELECT metastore.put_record('ns', 'k', NULL);
SELECT metastore.put_record('ns', 'k', '{}', tags => '{a,NULL}');
SELECT metastore.put_record('ns', 'k', '{}', expected_version => -1);
SELECT metastore.delete_record('ns', 'missing');
SELECT metastore.rollback_record('production', 'app.cache', 99);
