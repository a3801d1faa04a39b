-- pgTAP: seed 004's ML feature metadata over SQL (sql/install/65_features.sql,
-- docs/lifecycle.md): create / get / list filters / update / delete /
-- feature_action / feature_values / feature_value; the lifecycle with its
-- roles (developer, external_testing_system, approver; writer and admin imply
-- none of them), illegal transitions (MS423 naming the state), deployed
-- immutability, soft deletion with a reason (the name is never reused), the
-- per-action fields kept on the feature, deterministic typed values checked
-- against the documented murmur3 formula, and bad input (22004 / 22023 /
-- 22001), each refused call followed by a check that nothing changed.
--
-- Calls as principals go through test/pgtap/helpers/as_role.sql
-- (ms_test.query_as keeps effects; ms_test.try_as / err_as roll back).
--
-- The first test checks that a principal holding only a lifecycle role can
-- write a feature (its history and event rows are accepted for any lifecycle
-- role).  The other principals also hold writer on "features", which implies
-- no lifecycle role (checked below).
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(139);

\ir helpers/as_role.sql

CREATE ROLE ms_ft_dev NOLOGIN;
CREATE ROLE ms_ft_appr NOLOGIN;
CREATE ROLE ms_ft_ets NOLOGIN;
CREATE ROLE ms_ft_wri NOLOGIN;
CREATE ROLE ms_ft_adm NOLOGIN;
CREATE ROLE ms_ft_out NOLOGIN;
CREATE ROLE ms_ft_sdev NOLOGIN;
CREATE ROLE ms_ft_sappr NOLOGIN;
SELECT metastore."grant"(p, 'features', r) FROM (VALUES
  ('ms_ft_dev', 'developer'), ('ms_ft_dev', 'writer'),
  ('ms_ft_appr', 'approver'), ('ms_ft_appr', 'writer'),
  ('ms_ft_ets', 'external_testing_system'), ('ms_ft_ets', 'writer'),
  ('ms_ft_wri', 'writer'), ('ms_ft_adm', 'admin'),
  ('ms_ft_sdev', 'developer'), ('ms_ft_sappr', 'approver')) g(p, r)
\g /dev/null
SELECT metastore."grant"('ms_ft_out', 'elsewhere', 'writer') \g /dev/null

-- Everything a refused feature call could have touched, as one string.
CREATE FUNCTION pg_temp.ft_state() RETURNS text LANGUAGE sql AS $$
  SELECT format('features=%s entities=%s transitions=%s history=%s digest=%s',
                (SELECT count(*) FROM metastore.features), (SELECT count(*) FROM metastore.machine_entities),
                (SELECT count(*) FROM metastore.machine_transitions),
                (SELECT count(*) FROM metastore.history WHERE aggregate = 'feature'),
                md5(coalesce((SELECT string_agg(f::text, '|' ORDER BY f.id) FROM metastore.features f), '')
                    || coalesce((SELECT string_agg(e::text, '|' ORDER BY e.id) FROM metastore.machine_entities e), '')))
$$;
-- A feature action as a principal; returns the feature's jsonb.
CREATE FUNCTION pg_temp.act(who text, f text, a text, payload jsonb DEFAULT '{}') RETURNS jsonb LANGUAGE sql AS $$
  SELECT ms_test.query_as(who, format('SELECT metastore.feature_action(%L, %L, NULL, %L::jsonb)::text', f, a, payload))::jsonb
$$;
-- Create a feature as the developer and take it to DEPLOYED.
CREATE FUNCTION pg_temp.deploy_new(f text, dt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  PERFORM ms_test.query_as('ms_ft_dev', format('SELECT metastore.create_feature(%L, %L, %L, %L)::text', f, 'batch', dt, 'SELECT 1'));
  PERFORM pg_temp.act('ms_ft_dev', f, 'ready_test');
  PERFORM pg_temp.act('ms_ft_ets', f, 'test_succeeded', '{"test_result": "TEST_SUCCEEDED"}');
  PERFORM pg_temp.act('ms_ft_appr', f, 'approve');
  RETURN pg_temp.act('ms_ft_appr', f, 'deploy') ->> 'status';
END $$;
CREATE FUNCTION pg_temp.get(f text) RETURNS jsonb LANGUAGE sql AS $$
  SELECT ms_test.query_as('ms_ft_dev', format('SELECT metastore.get_feature(%L)::text', f))::jsonb
$$;
CREATE FUNCTION pg_temp.transitions(f text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(action || ':' || coalesce(from_state, '') || '>' || to_state, ' ' ORDER BY id)
    FROM metastore.machine_transitions WHERE machine = 'ml_feature' AND entity = f
$$;

-- ================================================================ lifecycle roles alone
SELECT is(ms_test.err_as('ms_ft_sdev', $$SELECT metastore.create_feature('ft-strict', 'batch', 'float', 'SELECT 1')$$), 'ok',
          'a principal holding only developer on "features" can create a feature');

-- ================================================================ create
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT metastore.create_feature('drv:conv_rate:1', 'batch', 'float',
            'SELECT conv_rate FROM driver_hourly_stats WHERE driver_id = ?', 'Conversion rate for driver', 'dev')::text$$)::jsonb
          - 'created_time' - 'updated_time',
          '{"feature_name": "drv:conv_rate:1", "feature_type": "batch", "feature_data_type": "float",
            "query": "SELECT conv_rate FROM driver_hourly_stats WHERE driver_id = ?", "description": "Conversion rate for driver",
            "status": "DRAFT", "created_by": "dev", "last_updated_by": "dev", "version": 1, "namespace": "features"}'::jsonb,
          'create_feature: seed 004''s create, status DRAFT, version 1, actor as created_by');
SELECT ok((pg_temp.get('drv:conv_rate:1') ->> 'created_time')::bigint
            = (extract(epoch FROM (SELECT created_at FROM metastore.features WHERE name = 'drv:conv_rate:1')) * 1000)::bigint,
          'created_time is epoch milliseconds of created_at');
SELECT is(pg_temp.get('drv:conv_rate:1') -> 'created_time', pg_temp.get('drv:conv_rate:1') -> 'updated_time', 'updated_time = created_time');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT metastore.create_feature('drv:acc_rate:2', 'streaming', 'int', 'SELECT 2')::jsonb ->> 'created_by'$$),
          'ms_ft_dev', 'without an actor, created_by is the principal');
SELECT is(pg_temp.transitions('drv:conv_rate:1'), 'create:>DRAFT', 'creating is the lifecycle''s create transition');
SELECT is((SELECT count(*) FROM metastore.history WHERE aggregate = 'feature' AND entity_key = 'drv:conv_rate:1'), 1::bigint, 'one history row');

-- bad input
SELECT pg_temp.ft_state() AS s0 \gset
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature(NULL, 'batch', 'float', 'q')$$), '22004', 'NULL name: 22004');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('x1', NULL, 'float', 'q')$$), '22004', 'NULL feature_type: 22004');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('x1', 'batch', NULL, 'q')$$), '22004', 'NULL feature_data_type: 22004');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('x1', 'batch', 'float', NULL)$$), '22004', 'NULL query: 22004');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('bad name', 'batch', 'float', 'q')$$), '22023', 'a name with a space: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('', 'batch', 'float', 'q')$$), '22023', 'an empty name: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature(':x', 'batch', 'float', 'q')$$), '22023', 'a name starting with ":": 22023');
SELECT is(ms_test.try_as('ms_ft_dev', format('SELECT metastore.create_feature(%L, %L, %L, %L)', repeat('n', 256), 'batch', 'float', 'q')), '22023', 'a name of 256 bytes: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('x1', 'nightly', 'float', 'q')$$), '22023', 'an unknown feature_type: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('x1', 'batch', 'double', 'q')$$), '22023', 'an unknown feature_data_type: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('x1', 'batch', 'float', '  ')$$), '22023', 'a blank query: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', format('SELECT metastore.create_feature(%L, %L, %L, %L, %L)', 'x1', 'batch', 'float', 'q', repeat('d', 4097))), '22001', 'a description of 4097 bytes: 22001');
SELECT is(ms_test.try_as('ms_ft_dev', format('SELECT metastore.create_feature(%L, %L, %L, %L, %L)', 'x1', 'batch', 'float', 'q', repeat('é', 2049))), '22001', 'a description of 2049 two-byte characters (4098 bytes): 22001');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('drv:conv_rate:1', 'batch', 'float', 'q')$$), 'MS423', 'creating an existing name: MS423');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.create_feature('x1', 'batch', 'float', 'q')$$), '42501', 'the approver may not create: 42501');
SELECT is(ms_test.try_as('ms_ft_ets', $$SELECT metastore.create_feature('x1', 'batch', 'float', 'q')$$), '42501', 'the testing system may not create: 42501');
SELECT is(ms_test.try_as('ms_ft_wri', $$SELECT metastore.create_feature('x1', 'batch', 'float', 'q')$$), '42501', 'a writer of "features" may not create (writer implies no lifecycle role): 42501');
SELECT is(ms_test.try_as('ms_ft_adm', $$SELECT metastore.create_feature('x1', 'batch', 'float', 'q')$$), '42501', 'an admin of "features" may not create: 42501');
SELECT is(ms_test.try_as('ms_ft_out', $$SELECT metastore.create_feature('x1', 'batch', 'float', 'q')$$), '42501', 'a principal without a grant on "features": 42501 (docs/errors.md), not "machine not found"');
SELECT is(pg_temp.ft_state(), :'s0', 'after the refused creates nothing changed');
SELECT is(ms_test.try_as('ms_ft_dev', format('SELECT metastore.create_feature(%L, %L, %L, %L, %L)', repeat('n', 255), 'on_demand', 'bool', 'q', repeat('d', 4096))), 'ok',
          'a name of 255 bytes and a description of 4096 bytes are accepted');

-- ================================================================ get and list
SELECT is(pg_temp.get('drv:conv_rate:1') ->> 'status', 'DRAFT', 'get_feature: status DRAFT');
SELECT is(ms_test.query_as('ms_ft_appr', $$SELECT metastore.get_feature('drv:conv_rate:1') ->> 'feature_name'$$), 'drv:conv_rate:1', 'the approver reads it');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.get_feature('nope')$$), 'MS404', 'get_feature of an unknown name: MS404');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.get_feature(NULL)$$), '22004', 'get_feature(NULL): 22004');
SELECT is(ms_test.try_as('ms_ft_out', $$SELECT metastore.get_feature('drv:conv_rate:1')$$), 'MS404', 'a principal without a grant does not see it: MS404');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT string_agg(j ->> 'feature_name', ',') FROM metastore.list_features() j WHERE j ->> 'feature_name' LIKE 'drv:%'$$),
          'drv:acc_rate:2,drv:conv_rate:1', 'list_features: every live feature, by name');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT string_agg(j ->> 'feature_name', ',') FROM metastore.list_features(feature_type => 'streaming') j$$),
          'drv:acc_rate:2', 'list_features by feature_type');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT string_agg(j ->> 'feature_name', ',') FROM metastore.list_features(creator => 'dev') j$$),
          'drv:conv_rate:1', 'list_features by created_by');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT count(*)::text FROM metastore.list_features('APPROVED') j$$), '0', 'list_features(''APPROVED''): none');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT count(*)::text FROM metastore.list_features('DRAFT', 'batch', 'dev') j$$), '1', 'the three filters together');
SELECT is(ms_test.query_as('ms_ft_out', $$SELECT count(*)::text FROM metastore.list_features() j$$), '0', 'a principal without a grant lists nothing');

-- ================================================================ update
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:conv_rate:1', description => 'Updated description', actor => 'dev')::text$$)::jsonb
            - 'created_time' - 'updated_time',
          '{"feature_name": "drv:conv_rate:1", "feature_type": "batch", "feature_data_type": "float",
            "query": "SELECT conv_rate FROM driver_hourly_stats WHERE driver_id = ?", "description": "Updated description",
            "status": "DRAFT", "created_by": "dev", "last_updated_by": "dev", "version": 2, "namespace": "features"}'::jsonb,
          'update_feature: the description changes, the version goes to 2, the rest is kept');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:acc_rate:2', query => 'SELECT 3', feature_type => 'batch', feature_data_type => 'string')::text$$)::jsonb
            - 'created_time' - 'updated_time' - 'created_by' - 'last_updated_by',
          '{"feature_name": "drv:acc_rate:2", "feature_type": "batch", "feature_data_type": "string", "query": "SELECT 3",
            "description": null, "status": "DRAFT", "version": 2, "namespace": "features"}'::jsonb,
          'update_feature of query, feature_type and feature_data_type');
SELECT pg_temp.ft_state() AS s1 \gset
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:conv_rate:1', feature_type => 'nightly')$$), '22023', 'update to a bad feature_type: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:conv_rate:1', feature_data_type => 'double')$$), '22023', 'update to a bad feature_data_type: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:conv_rate:1', query => '')$$), '22023', 'update to an empty query: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.update_feature('nope', 'x')$$), 'MS404', 'update of an unknown feature: MS404');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.update_feature(NULL, 'x')$$), '22004', 'update_feature(NULL): 22004');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.update_feature('drv:conv_rate:1', 'x')$$), '42501', 'the approver may not update: 42501');
SELECT is(ms_test.try_as('ms_ft_wri', $$SELECT metastore.update_feature('drv:conv_rate:1', 'x')$$), '42501', 'a writer may not update: 42501');
SELECT is(pg_temp.ft_state(), :'s1', 'after the refused updates nothing changed');

-- ================================================================ the lifecycle: seed 004's happy path
SELECT is(pg_temp.act('ms_ft_dev', 'drv:conv_rate:1', 'ready_test') ->> 'status', 'READY_FOR_TESTING', 'ready_test: READY_FOR_TESTING');
SELECT pg_temp.ft_state() AS s2 \gset
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:conv_rate:1', 'test_succeeded')$$), '42501', 'a developer recording a test: 42501');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:conv_rate:1', 'test_succeeded')$$), '42501', 'an approver recording a test: 42501');
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:conv_rate:1', 'ready_test')$$), 'MS423:%READY_FOR_TESTING%',
            'ready_test twice: MS423 naming the state');
SELECT is(ms_test.try_as('ms_ft_ets', $$SELECT metastore.feature_action('drv:conv_rate:1', 'no_such_action')$$), 'MS423', 'an unknown action: MS423');
SELECT is(ms_test.try_as('ms_ft_ets', $$SELECT metastore.feature_action('nope', 'test_succeeded')$$), 'MS404', 'an action on an unknown feature: MS404');
SELECT is(ms_test.try_as('ms_ft_ets', $$SELECT metastore.feature_action(NULL, 'test_succeeded')$$), '22004', 'an action on NULL: 22004');
SELECT is(pg_temp.ft_state(), :'s2', 'after the refused actions nothing changed');
SELECT is(pg_temp.act('ms_ft_ets', 'drv:conv_rate:1', 'test_succeeded', '{"test_result": "TEST_SUCCEEDED"}') - 'created_time' - 'updated_time' - 'last_updated_by',
          '{"feature_name": "drv:conv_rate:1", "feature_type": "batch", "feature_data_type": "float",
            "query": "SELECT conv_rate FROM driver_hourly_stats WHERE driver_id = ?", "description": "Updated description",
            "status": "TEST_SUCCEEDED", "created_by": "dev", "version": 4, "namespace": "features",
            "test_result": "TEST_SUCCEEDED", "last_action": "test_succeeded"}'::jsonb,
          'test_succeeded: TEST_SUCCEEDED, version 4, test_result and last_action kept on the feature');
SELECT pg_temp.ft_state() AS s3 \gset
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:conv_rate:1', 'approve')$$), '42501', 'a developer approving: 42501');
SELECT is(ms_test.try_as('ms_ft_adm', $$SELECT metastore.feature_action('drv:conv_rate:1', 'approve')$$), '42501', 'an admin approving: 42501');
SELECT alike(ms_test.err_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:conv_rate:1', 'deploy')$$), 'MS423:%TEST_SUCCEEDED%',
            'deploy before approve: MS423 naming the state');
SELECT is(pg_temp.ft_state(), :'s3', 'nothing changed');
SELECT is(pg_temp.act('ms_ft_appr', 'drv:conv_rate:1', 'approve', '{"approval_notes": "lgtm"}') ->> 'status', 'APPROVED', 'approve: APPROVED');
SELECT is(pg_temp.act('ms_ft_appr', 'drv:conv_rate:1', 'deploy') ->> 'status', 'DEPLOYED', 'deploy: DEPLOYED');
SELECT is(pg_temp.get('drv:conv_rate:1') ->> 'approval_notes', 'lgtm', 'approval_notes kept');
SELECT is(pg_temp.transitions('drv:conv_rate:1'),
          'create:>DRAFT ready_test:DRAFT>READY_FOR_TESTING test_succeeded:READY_FOR_TESTING>TEST_SUCCEEDED approve:TEST_SUCCEEDED>APPROVED deploy:APPROVED>DEPLOYED',
          'the transitions of the happy path');
SELECT is((metastore.entity_state('ml_feature', 'drv:conv_rate:1')).state, 'DEPLOYED', 'entity_state: DEPLOYED');

-- ================================================================ deployed features are immutable
SELECT pg_temp.ft_state() AS s4 \gset
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:conv_rate:1', 'changed')$$), 'MS423:%DEPLOYED%', 'update of a DEPLOYED feature: MS423');
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:conv_rate:1', feature_data_type => 'int')$$), 'MS423:%DEPLOYED%', 'changing its data type: MS423');
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.delete_feature('drv:conv_rate:1', 'No longer needed')$$), 'MS423:%DEPLOYED%', 'delete of a DEPLOYED feature: MS423');
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:conv_rate:1', 'fix', NULL, '{"fix_description": "x"}')$$), 'MS423:%DEPLOYED%', 'fix of a DEPLOYED feature: MS423');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:conv_rate:1', 'reject', NULL, '{"rejection_reason": "x"}')$$), 'MS423', 'reject of a DEPLOYED feature: MS423');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:conv_rate:1', 'deploy')$$), 'MS423', 'deploy twice: MS423');
SELECT is(pg_temp.ft_state(), :'s4', 'the deployed feature is unchanged');

-- ================================================================ the failure / rejection / fix path
SELECT ms_test.query_as('ms_ft_dev', $$SELECT metastore.create_feature('drv:path2', 'on_demand', 'int', 'SELECT 1')::text$$) \g /dev/null
SELECT pg_temp.ft_state() AS s5 \gset
SELECT alike(ms_test.err_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:path2', 'approve')$$), 'MS423:%DRAFT%', 'approve a DRAFT: MS423 naming DRAFT');
SELECT alike(ms_test.err_as('ms_ft_ets', $$SELECT metastore.feature_action('drv:path2', 'test_failed')$$), 'MS423:%DRAFT%', 'test a DRAFT: MS423');
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:path2', 'fix', NULL, '{"fix_description": "x"}')$$), 'MS423:%DRAFT%', 'fix a DRAFT: MS423');
SELECT alike(ms_test.err_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:path2', 'create')$$), 'MS423:%', 'create an existing entity: MS423');
SELECT is(pg_temp.ft_state(), :'s5', 'nothing changed');
SELECT is(pg_temp.act('ms_ft_dev', 'drv:path2', 'ready_test') ->> 'status', 'READY_FOR_TESTING', 'path 2: READY_FOR_TESTING');
SELECT is(pg_temp.act('ms_ft_ets', 'drv:path2', 'test_failed', '{"test_result": "TEST_FAILED", "test_notes": "nulls"}') - 'created_time' - 'updated_time' - 'created_by' - 'last_updated_by' - 'query' - 'feature_type' - 'feature_data_type' - 'description' - 'namespace',
          '{"feature_name": "drv:path2", "status": "TEST_FAILED", "version": 3, "test_result": "TEST_FAILED", "test_notes": "nulls", "last_action": "test_failed"}'::jsonb,
          'test_failed: TEST_FAILED with test_result and test_notes');
SELECT pg_temp.ft_state() AS s6 \gset
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:path2', 'fix')$$), '22023', 'fix without fix_description: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:path2', 'fix', NULL, '{"fix_description": ""}')$$), '22023', 'fix with an empty fix_description: 22023');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:path2', 'fix', NULL, '{"fix_description": "x"}')$$), '42501', 'the approver may not fix: 42501');
SELECT is(pg_temp.ft_state(), :'s6', 'nothing changed');
SELECT is(pg_temp.act('ms_ft_dev', 'drv:path2', 'fix', '{"fix_description": "Fixed SQL bug"}') ->> 'status', 'DRAFT', 'fix after TEST_FAILED: DRAFT');
SELECT is(pg_temp.get('drv:path2') ->> 'fix_description', 'Fixed SQL bug', 'fix_description kept');
SELECT is(pg_temp.act('ms_ft_dev', 'drv:path2', 'ready_test') ->> 'status', 'READY_FOR_TESTING', 'ready_test again');
SELECT is(pg_temp.act('ms_ft_ets', 'drv:path2', 'test_succeeded', '{"test_result": "TEST_SUCCEEDED"}') ->> 'test_result', 'TEST_SUCCEEDED', 'test_succeeded replaces test_result');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:path2', 'reject')$$), '22023', 'reject without rejection_reason: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:path2', 'reject', NULL, '{"rejection_reason": "x"}')$$), '42501', 'a developer rejecting: 42501');
SELECT is(pg_temp.act('ms_ft_appr', 'drv:path2', 'reject', '{"rejection_reason": "Test failed"}') ->> 'status', 'REJECTED', 'reject: REJECTED');
SELECT is(pg_temp.get('drv:path2') ->> 'rejection_reason', 'Test failed', 'rejection_reason kept');
SELECT alike(ms_test.err_as('ms_ft_appr', $$SELECT metastore.feature_action('drv:path2', 'approve')$$), 'MS423:%REJECTED%', 'approve a REJECTED feature: MS423');
SELECT is(pg_temp.act('ms_ft_dev', 'drv:path2', 'fix', '{"fix_description": "Addressed review"}') ->> 'status', 'DRAFT', 'fix after REJECTED: DRAFT');
SELECT is(pg_temp.get('drv:path2') ->> 'fix_description', 'Addressed review', 'the new fix_description');
SELECT is(pg_temp.transitions('drv:path2'),
          'create:>DRAFT ready_test:DRAFT>READY_FOR_TESTING test_failed:READY_FOR_TESTING>TEST_FAILED fix:TEST_FAILED>DRAFT ready_test:DRAFT>READY_FOR_TESTING test_succeeded:READY_FOR_TESTING>TEST_SUCCEEDED reject:TEST_SUCCEEDED>REJECTED fix:REJECTED>DRAFT',
          'path 2: every transition in order');
SELECT is((SELECT payload FROM metastore.machine_transitions WHERE entity = 'drv:path2' AND action = 'reject'), '{"rejection_reason": "Test failed"}'::jsonb,
          'the reject transition keeps its payload');
SELECT is((pg_temp.get('drv:path2') ->> 'version')::int, 8, 'version: create + 7 actions = 8');

-- ================================================================ delete
SELECT pg_temp.ft_state() AS s7 \gset
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.delete_feature('drv:path2', NULL)$$), '22023', 'delete without a reason: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.delete_feature('drv:path2', '  ')$$), '22023', 'delete with a blank reason: 22023');
SELECT is(ms_test.try_as('ms_ft_appr', $$SELECT metastore.delete_feature('drv:path2', 'x')$$), '42501', 'the approver may not delete: 42501');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.delete_feature(NULL, 'x')$$), '22004', 'delete_feature(NULL, reason): 22004');
SELECT is(pg_temp.ft_state(), :'s7', 'nothing changed');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT metastore.delete_feature('drv:path2', 'No longer needed', 'dev')::text$$)::jsonb
            -> 'deletion_reason', '"No longer needed"', 'delete_feature: the answer carries the reason');
SELECT is((SELECT deletion_reason || ' ' || (deleted_at IS NOT NULL) FROM metastore.features WHERE name = 'drv:path2'), 'No longer needed true',
          'the row is kept, soft-deleted with its reason');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.get_feature('drv:path2')$$), 'MS404', 'get after delete: MS404');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT count(*)::text FROM metastore.list_features() j WHERE j ->> 'feature_name' = 'drv:path2'$$), '0', 'not listed');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.update_feature('drv:path2', 'x')$$), 'MS404', 'update after delete: MS404');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_action('drv:path2', 'ready_test')$$), 'MS404', 'an action after delete: MS404');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.delete_feature('drv:path2', 'again')$$), 'MS404', 'delete again: MS404');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.create_feature('drv:path2', 'batch', 'int', 'q')$$), 'MS423', 'the name is never reused: MS423');

-- ================================================================ values
SELECT is(pg_temp.deploy_new('v:int', 'int'), 'DEPLOYED', 'deploy an int feature');
SELECT is(pg_temp.deploy_new('v:bool', 'bool'), 'DEPLOYED', 'deploy a bool feature');
SELECT is(pg_temp.deploy_new('v:string', 'string'), 'DEPLOYED', 'deploy a string feature');
CREATE TEMP TABLE fv AS
  SELECT ms_test.query_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['drv:conv_rate:1', 'drv:acc_rate:2', 'v:int', 'v:bool', 'v:string', 'nope'],
           '{"driver_id": ["D001", "D002"]}', 1751429485000)::text$$)::jsonb AS r;
SELECT is((SELECT r -> 'entities' FROM fv), '[{"driver_id": "D001"}, {"driver_id": "D002"}]', 'entities: one object per index');
SELECT is((SELECT r -> 'event_timestamp' FROM fv), '1751429485000', 'event_timestamp echoed');
SELECT is((SELECT r -> 'features' -> 'drv:conv_rate:1' -> 'values' FROM fv),
          jsonb_build_array(round(metastore.bucket('drv:conv_rate:1|{"driver_id": "D001"}|1751429485000', 0, 1000000)::numeric / 10000, 4),
                            round(metastore.bucket('drv:conv_rate:1|{"driver_id": "D002"}|1751429485000', 0, 1000000)::numeric / 10000, 4)),
          'float values: round(bucket(''feature|entity|ts'', 0, 1000000) / 10000, 4), one per entity');
SELECT is((SELECT r -> 'features' -> 'v:int' -> 'values' FROM fv),
          jsonb_build_array(metastore.bucket('v:int|{"driver_id": "D001"}|1751429485000', 0, 1000) - 1,
                            metastore.bucket('v:int|{"driver_id": "D002"}|1751429485000', 0, 1000) - 1),
          'int values: bucket(..., 0, 1000) - 1');
SELECT is((SELECT r -> 'features' -> 'v:bool' -> 'values' FROM fv),
          jsonb_build_array(metastore.bucket('v:bool|{"driver_id": "D001"}|1751429485000', 0, 2) = 2,
                            metastore.bucket('v:bool|{"driver_id": "D002"}|1751429485000', 0, 2) = 2),
          'bool values');
SELECT is((SELECT r -> 'features' -> 'v:string' -> 'values' FROM fv),
          jsonb_build_array('v' || metastore.bucket('v:string|{"driver_id": "D001"}|1751429485000', 0, 100000),
                            'v' || metastore.bucket('v:string|{"driver_id": "D002"}|1751429485000', 0, 100000)),
          'string values: v<n>');
SELECT is((SELECT r -> 'features' -> 'drv:acc_rate:2' FROM fv), '{"status": "error", "error": "feature is not deployed (status DRAFT)"}',
          'a DRAFT feature: an error entry naming its status');
SELECT is((SELECT r -> 'features' -> 'nope' ->> 'status' FROM fv), 'error', 'an unknown feature: an error entry');
SELECT is((SELECT r -> 'features' -> 'drv:conv_rate:1' ->> 'status' FROM fv), 'ok', 'the deployed feature: ok');
SELECT is(ms_test.query_as('ms_ft_appr', $$SELECT metastore.feature_values(ARRAY['drv:conv_rate:1', 'drv:acc_rate:2', 'v:int', 'v:bool', 'v:string', 'nope'],
           '{"driver_id": ["D001", "D002"]}', 1751429485000)::text$$)::jsonb, (SELECT r FROM fv), 'the same request again: the same answer');
SELECT is(metastore.feature_value('f', 'float', 'e', 1), metastore.feature_value('f', 'float', 'e', 1), 'feature_value is deterministic');
SELECT isnt(metastore.feature_value('f', 'float', 'e', 1), metastore.feature_value('f', 'float', 'e', 2), 'another timestamp: another value');
SELECT is(ms_test.query_as('ms_ft_out', $$SELECT metastore.feature_values(ARRAY['drv:conv_rate:1'], '{"driver_id": ["D001"]}', 1) -> 'features' -> 'drv:conv_rate:1' ->> 'status'$$),
          'error', 'a principal without a grant gets no values');
SELECT is(ms_test.query_as('ms_ft_dev', $$SELECT jsonb_array_length(metastore.feature_values(ARRAY['drv:conv_rate:1'], '{"b": [1, 2, 3], "a": ["x", "y", "z"]}', 1) -> 'features' -> 'drv:conv_rate:1' -> 'values')::text$$),
          '3', 'two entity keys of three values: three values');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['drv:conv_rate:1'], '{"a": [1, 2], "b": [1]}', 1)$$), '22023', 'entities of unequal lengths: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY(SELECT 'f' || i FROM generate_series(1, 101) i), '{"a": [1]}', 1)$$), '22023', '101 features: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY(SELECT 'drv:conv_rate:1' FROM generate_series(1, 100) i), '{"a": [1]}', 1)$$), 'ok', '100 features: ok');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values('{}', '{"a": [1]}', 1)$$), '22023', 'no features: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(NULL, '{"a": [1]}', 1)$$), '22023', 'features NULL: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['x'], '{}', 1)$$), '22023', 'empty entities: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['x'], '[1]', 1)$$), '22023', 'entities not an object: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['x'], '{"a": "D1"}', 1)$$), '22023', 'an entity key without a list: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['x'], '{"a": []}', 1)$$), '22023', 'an empty list: 22023');
SELECT is(ms_test.try_as('ms_ft_dev', $$SELECT metastore.feature_values(ARRAY['x'], '{"a": [{"o": 1}]}', 1)$$), '22023', 'an entity value that is an object: 22023');

SELECT * FROM finish();
ROLLBACK;
