-- pgTAP: writing feature flags and segments (src/flag_store.c,
-- sql/install/40_flags.sql, docs/flags.md): put_flag and its normalization
-- of the seeds' fields, identical puts, expected_version (NULL
-- unconditional, 0 create only, N must match: MS409), delete_flag,
-- rollback_flag and flag_history (create / update / delete / restore /
-- rollback), set_flag_enabled, set_flag_rollout, segments, list_flags,
-- import_unleash, bad input (22004 / 22023 / 22001 with the place of the
-- error in the detail) and access for writes (writer, else 42501).  Every
-- refused call is followed by a check that nothing changed.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(354);

\ir helpers/as_role.sql

-- Everything a failed flag or segment write could have touched, as one string.
CREATE FUNCTION pg_temp.flag_state() RETURNS text LANGUAGE sql AS $$
  SELECT format('flags=%s segments=%s history=%s digest=%s',
                (SELECT count(*) FROM metastore.flags), (SELECT count(*) FROM metastore.flag_segments),
                (SELECT count(*) FROM metastore.history WHERE aggregate IN ('flag', 'segment')),
                md5(coalesce((SELECT string_agg(f::text, '|' ORDER BY f.id) FROM metastore.flags f), '')
                    || coalesce((SELECT string_agg(s::text, '|' ORDER BY s.id) FROM metastore.flag_segments s), '')))
$$;
-- 'SQLSTATE detail' of the error p_sql raises, or 'no error'.
CREATE FUNCTION pg_temp.error_detail(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  d text;
BEGIN
  EXECUTE p_sql;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS d = PG_EXCEPTION_DETAIL;
  RETURN SQLSTATE || ' ' || coalesce(d, '');
END $$;
-- 'ok' or the SQLSTATE; the call's effects are kept when it succeeds.
CREATE FUNCTION pg_temp.try(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE p_sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION pg_temp.versions(f text) RETURNS text LANGUAGE sql AS $$
  SELECT string_agg(version || ':' || operation, ' ' ORDER BY version) FROM metastore.flag_history(f)
$$;

-- ================================================================ create
SELECT results_eq(
  $$SELECT namespace, name, definition, description, tags, version, created_by = session_user, updated_by = session_user, deleted_at IS NULL
      FROM metastore.put_flag('st-a', '{"enabled": true, "target_users": ["u1"], "rollout_percentage": 25}', 0, NULL, 'first flag', ARRAY['b', 'a', 'b'])$$,
  $$VALUES ('default'::text, 'st-a'::text,
            '{"enabled": true, "strategies": [{"name": "default", "title": "target_users", "constraints": [{"contextName": "userId", "operator": "IN", "values": ["u1"]}]},
                                              {"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "25", "stickiness": "default", "groupId": "st-a"}}]}'::jsonb,
            'first flag'::text, '{a,b}'::text[], 1, true, true, true)$$,
  'put_flag creates version 1 in namespace default: the seed fields normalized as docs/flags.md says, tags sorted and deduplicated');
SELECT is(metastore.get_flag('st-a'), (SELECT f FROM metastore.flags f WHERE name = 'st-a'), 'get_flag returns the stored row');
SELECT is(metastore.get_flag('st-none'), NULL, 'get_flag of an unknown flag is NULL');
SELECT is(pg_temp.versions('st-a'), '1:create', 'creating writes one history row, operation create');
SELECT is((metastore.put_flag('st-b', '{"is_enabled": true, "prerequisites": [{"feature": "st-a"}], "environment_overrides": {"prod": false}, "tenant_overrides": {"acme": {"rollout_percentage": 5}}}')).definition,
          '{"enabled": true, "dependencies": [{"feature": "st-a"}], "environments": {"prod": {"enabled": false}},
            "tenants": {"acme": {"strategies": [{"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "5", "stickiness": "default", "groupId": "st-b"}}]}}}',
          'is_enabled, prerequisites and the override fields are stored as enabled, dependencies, environments and tenants');
SELECT is(metastore.normalize_flag('x', '{"target_users": ["u"]}') -> 'enabled', 'false', 'normalize_flag: a definition without enabled is off');
SELECT is((metastore.put_flag('st-ns', '{"enabled": false}', NULL, 'team.one')).namespace, 'team.one', 'put_flag with a namespace');
SELECT is((metastore.put_flag('st-kept', '{"enabled": true, "description": "d", "type": "release", "project": "p", "stale": false, "impressionData": true,
                                          "tags": [{"type": "simple", "value": "x"}], "name": "st-kept", "createdAt": "2024-01-01", "lastSeenAt": null, "display_name": "Kept"}')).version,
          1, 'Unleash''s metadata fields (description, type, project, stale, impressionData, tags, name, createdAt, lastSeenAt, display_name) are accepted');
SELECT is((SELECT definition ->> 'display_name' FROM metastore.flags WHERE name = 'st-kept'), 'Kept', '... and kept as given');
SELECT is((metastore.put_flag(repeat('n', 255), '{}')).version, 1, 'a name of 255 bytes is accepted');
SELECT is((metastore.put_flag('st-ünïcødé/α:β', '{}')).name, 'st-ünïcødé/α:β', 'a name with non-ASCII letters and punctuation is accepted');

-- ================================================================ identical puts create no version
SELECT is((metastore.put_flag('st-a', '{"enabled": true, "target_users": ["u1"], "rollout_percentage": 25}')).version, 1,
          'an identical unconditional put returns version 1 again');
SELECT is((metastore.put_flag('st-a', '{"is_enabled": true, "target_users": ["u1"], "rollout_percentage": 25}', 1)).version, 1,
          'identical after normalization (is_enabled for enabled) with the current expected_version: no version');
SELECT is((metastore.put_flag('st-a', '{"enabled": true, "target_users": ["u1"], "rollout_percentage": 25}', 0)).version, 1,
          'an identical create (expected_version 0) of a live flag is idempotent');
SELECT is((metastore.put_flag('st-a', '{"enabled": true, "target_users": ["u1"], "rollout_percentage": 25}', NULL, 'default', 'first flag', ARRAY['a', 'b'])).version, 1,
          'the same namespace, description and tags given explicitly: no version');
SELECT is((metastore.put_flag('st-a', '{"enabled": true, "target_users": ["u1"], "rollout_percentage": 25}', NULL, NULL, NULL, ARRAY['b', 'a'])).version, 1,
          'tags in another order: no version');
SELECT is(pg_temp.versions('st-a'), '1:create', 'the identical puts wrote no history');
SELECT throws_ok($$SELECT metastore.put_flag('st-a', '{"enabled": true, "target_users": ["u1"], "rollout_percentage": 25}', 2)$$, 'MS409', NULL,
                 'an identical put with an expected_version ahead of the stored one is still a conflict');

-- ================================================================ updates
SELECT results_eq($$SELECT version, description, tags FROM metastore.put_flag('st-a', '{"enabled": false}')$$,
                  $$VALUES (2, 'first flag'::text, '{a,b}'::text[])$$,
                  'a new definition: version 2; NULL description and tags keep the stored ones');
SELECT results_eq($$SELECT version, description, tags FROM metastore.put_flag('st-a', '{"enabled": false}', 2, NULL, '', '{}')$$,
                  $$VALUES (3, NULL::text, '{}'::text[])$$,
                  'an empty description and empty tags clear them: version 3');
SELECT results_eq($$SELECT version, namespace FROM metastore.put_flag('st-a', '{"enabled": false}', NULL, 'team.two')$$,
                  $$VALUES (4, 'team.two'::text)$$,
                  'moving to another namespace is a change: version 4');
SELECT is((metastore.put_flag('st-a', '{"enabled": false}')).namespace, 'team.two', 'a put without namespace keeps the flag''s namespace');
SELECT is(pg_temp.versions('st-a'), '1:create 2:update 3:update 4:update', 'one history row per version');
SELECT is((SELECT array_agg(definition ORDER BY version) FROM metastore.flag_history('st-a')),
          ARRAY['{"enabled": true, "strategies": [{"name": "default", "title": "target_users", "constraints": [{"contextName": "userId", "operator": "IN", "values": ["u1"]}]}, {"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "25", "stickiness": "default", "groupId": "st-a"}}]}',
                '{"enabled": false}', '{"enabled": false}', '{"enabled": false}']::jsonb[],
          'flag_history keeps the definition of every version');
SELECT is((SELECT array_agg(namespace || '/' || coalesce(description, '-') ORDER BY version) FROM metastore.flag_history('st-a')),
          ARRAY['default/first flag', 'default/first flag', 'default/-', 'team.two/-'], 'flag_history keeps namespace and description per version');
SELECT is((SELECT bool_and(changed_by = session_user) FROM metastore.flag_history('st-a')), true, 'changed_by is the acting principal');

-- ================================================================ expected_version conflicts
SELECT pg_temp.flag_state() AS state_before_conflicts \gset
SELECT throws_ok($$SELECT metastore.put_flag('st-a', '{"enabled": true}', 0)$$, 'MS409', 'flag "st-a" already exists',
                 'expected_version 0 on a live flag with a new definition: MS409');
SELECT throws_ok($$SELECT metastore.put_flag('st-a', '{"enabled": true}', 3)$$, 'MS409', 'version conflict on flag "st-a"',
                 'a stale expected_version (3, stored 4): MS409');
SELECT throws_ok($$SELECT metastore.put_flag('st-a', '{"enabled": true}', 5)$$, 'MS409', 'version conflict on flag "st-a"',
                 'an expected_version ahead of the stored one: MS409');
SELECT throws_ok($$SELECT metastore.put_flag('st-missing', '{"enabled": true}', 1)$$, 'MS409', 'flag "st-missing" does not exist',
                 'expected_version N on a flag that does not exist: MS409');
SELECT throws_ok($$SELECT metastore.put_flag('st-a', '{"enabled": true}', -1)$$, '22023', NULL, 'a negative expected_version: 22023');
SELECT throws_ok($$SELECT metastore.delete_flag('st-a', 3)$$, 'MS409', NULL, 'delete_flag with a stale expected_version: MS409');
SELECT throws_ok($$SELECT metastore.delete_flag('st-a', 0)$$, '22023', NULL, 'delete_flag with expected_version 0: 22023');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-a', 1, 3)$$, 'MS409', NULL, 'rollback_flag with a stale expected_version: MS409');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-a', 1, 0)$$, '22023', NULL, 'rollback_flag with expected_version 0: 22023');
SELECT throws_ok($$SELECT metastore.set_flag_enabled('st-a', true, NULL, 3)$$, 'MS409', NULL, 'set_flag_enabled with a stale expected_version: MS409');
SELECT throws_ok($$SELECT metastore.set_flag_rollout('st-a', 10, NULL, 3)$$, 'MS409', NULL, 'set_flag_rollout with a stale expected_version: MS409');
SELECT is(pg_temp.flag_state(), :'state_before_conflicts', 'the refused writes changed nothing');
SELECT is(metastore.get_flag('st-missing'), NULL, 'the refused conditional create created nothing');
SELECT is((metastore.put_flag('st-a', '{"enabled": true}', 4)).version, 5, 'the current expected_version (4) updates to version 5');
SELECT is((metastore.put_flag('st-c', '{"enabled": true}', 0)).version, 1, 'expected_version 0 creates an absent flag');

-- ================================================================ delete, restore, rollback
SELECT results_eq($$SELECT version, deleted_at IS NOT NULL, definition FROM metastore.delete_flag('st-a', 5)$$,
                  $$VALUES (6, true, '{"enabled": true}'::jsonb)$$, 'delete_flag: a new version (6), deleted_at set, the definition kept');
SELECT is(metastore.get_flag('st-a'), NULL, 'get_flag of a deleted flag is NULL');
SELECT is(metastore.evaluate('st-a')->>'error_code', 'FLAG_NOT_FOUND', 'a deleted flag evaluates to FLAG_NOT_FOUND');
SELECT is((SELECT count(*) FROM metastore.list_flags() WHERE name = 'st-a'), 0::bigint, 'list_flags leaves out a deleted flag');
SELECT pg_temp.flag_state() AS state_deleted \gset
SELECT throws_ok($$SELECT metastore.delete_flag('st-a')$$, 'MS404', 'flag "st-a" not found', 'deleting a deleted flag: MS404');
SELECT throws_ok($$SELECT metastore.delete_flag('st-never')$$, 'MS404', 'flag "st-never" not found', 'deleting a flag that never existed: MS404');
SELECT throws_ok($$SELECT metastore.put_flag('st-a', '{"enabled": true}', 6)$$, 'MS409', 'flag "st-a" is deleted',
                 'expected_version N on a deleted flag: MS409');
SELECT throws_ok($$SELECT metastore.set_flag_enabled('st-a', true)$$, 'MS404', NULL, 'set_flag_enabled on a deleted flag: MS404');
SELECT throws_ok($$SELECT metastore.set_flag_rollout('st-a', 50)$$, 'MS404', NULL, 'set_flag_rollout on a deleted flag: MS404');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-a', 6)$$, '22023', NULL, 'rolling back to a version that is a deletion: 22023');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-a', 99)$$, 'MS404', NULL, 'rolling back to a version that does not exist: MS404');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-a', 0)$$, 'MS404', NULL, 'rolling back to version 0: MS404');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-never', 1)$$, 'MS404', NULL, 'rolling back a flag that never existed: MS404');
SELECT throws_ok($$SELECT metastore.rollback_flag('st-a', NULL)$$, '22004', NULL, 'rollback_flag with a NULL version: 22004');
SELECT is(pg_temp.flag_state(), :'state_deleted', 'the refused calls on the deleted flag changed nothing');
SELECT results_eq($$SELECT version, deleted_at IS NULL, definition, namespace FROM metastore.put_flag('st-a', '{"enabled": true, "rollout_percentage": 10}', 0)$$,
                  $$VALUES (7, true, '{"enabled": true, "strategies": [{"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "10", "stickiness": "default", "groupId": "st-a"}}]}'::jsonb, 'team.two'::text)$$,
                  'a put (expected_version 0) after a delete restores the flag: version 7, same namespace');
SELECT is(metastore.evaluate('st-a', '{"userId": "u"}')->'version', '7', 'the restored flag evaluates at its new version');
SELECT results_eq($$SELECT version, definition, namespace, description FROM metastore.rollback_flag('st-a', 2)$$,
                  $$VALUES (8, '{"enabled": false}'::jsonb, 'default'::text, 'first flag'::text)$$,
                  'rollback_flag to version 2: version 8 with version 2''s definition, namespace and description');
SELECT is((metastore.get_flag('st-a')).tags, '{a,b}', '... and its tags');
SELECT metastore.delete_flag('st-a') \g /dev/null
SELECT results_eq($$SELECT version, deleted_at IS NULL, definition FROM metastore.rollback_flag('st-a', 1)$$,
                  $$VALUES (10, true, '{"enabled": true, "strategies": [{"name": "default", "title": "target_users", "constraints": [{"contextName": "userId", "operator": "IN", "values": ["u1"]}]}, {"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "25", "stickiness": "default", "groupId": "st-a"}}]}'::jsonb)$$,
                  'rollback_flag of a deleted flag restores it with the old definition');
SELECT is(metastore.evaluate('st-a', '{"userId": "u1"}')->>'reason', 'TARGETING_MATCH', 'the rolled-back definition is what evaluates');
SELECT is(pg_temp.versions('st-a'), '1:create 2:update 3:update 4:update 5:update 6:delete 7:restore 8:rollback 9:delete 10:rollback',
          'flag_history: create, update, delete, restore, rollback, in order');
SELECT is((SELECT array_agg(deleted ORDER BY version) FROM metastore.flag_history('st-a')),
          ARRAY[false, false, false, false, false, true, false, false, true, false], 'flag_history marks the deleted versions');
SELECT is((metastore.rollback_flag('st-a', 10, 10)).version, 11, 'rollback_flag with the current expected_version');

-- ================================================================ set_flag_enabled
SELECT metastore.put_flag('sw', '{"is_enabled": false, "target_users": ["u1"]}', NULL, 'sw.ns', 'switch', ARRAY['t']) \g /dev/null
SELECT results_eq($$SELECT version, definition -> 'enabled', namespace, description, tags FROM metastore.set_flag_enabled('sw', true)$$,
                  $$VALUES (2, 'true'::jsonb, 'sw.ns'::text, 'switch'::text, '{t}'::text[])$$,
                  'set_flag_enabled: version 2, enabled, namespace, description and tags kept');
SELECT is((SELECT definition -> 'strategies' FROM metastore.flags WHERE name = 'sw'),
          '[{"name": "default", "title": "target_users", "constraints": [{"contextName": "userId", "operator": "IN", "values": ["u1"]}]}]',
          'set_flag_enabled leaves the strategies alone');
SELECT is((metastore.set_flag_enabled('sw', true)).version, 2, 'enabling an enabled flag creates no version');
SELECT is((metastore.set_flag_enabled('sw', false, 'prod')).definition -> 'environments', '{"prod": {"enabled": false}}',
          'set_flag_enabled with an environment writes that override only');
SELECT is(ARRAY[metastore.is_enabled('sw', '{"userId": "u1"}'), metastore.is_enabled('sw', '{"userId": "u1"}', NULL, 'prod')], ARRAY[true, false],
          '... so the flag is off in prod and on elsewhere');
SELECT is((metastore.set_flag_enabled('sw', true, 'prod', 3)).version, 4, 'set_flag_enabled with the current expected_version');
SELECT pg_temp.flag_state() AS state_sw \gset
SELECT throws_ok($$SELECT metastore.set_flag_enabled(NULL, true)$$, '22004', NULL, 'set_flag_enabled(NULL, ...): 22004');
SELECT throws_ok($$SELECT metastore.set_flag_enabled('sw', NULL)$$, '22004', NULL, 'set_flag_enabled(..., NULL): 22004');
SELECT throws_ok($$SELECT metastore.set_flag_enabled('sw-none', true)$$, 'MS404', NULL, 'set_flag_enabled of an unknown flag: MS404');
SELECT is(pg_temp.flag_state(), :'state_sw', 'the refused switches changed nothing');

-- ================================================================ set_flag_rollout
SELECT metastore.put_flag('ro', '{"is_enabled": true, "target_users": ["vip"], "rollout_percentage": 10}') \g /dev/null
SELECT is(pg_temp.try($$SELECT metastore.set_flag_rollout('ro', 40)$$), 'ok', 'set_flag_rollout on a flag with a rollout');
SELECT is((SELECT definition -> 'strategies' FROM metastore.flags WHERE name = 'ro'),
          '[{"name": "default", "title": "target_users", "constraints": [{"contextName": "userId", "operator": "IN", "values": ["vip"]}]},
            {"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "40", "stickiness": "default", "groupId": "ro"}}]',
          '... changes the rollout''s percentage in place and keeps the other strategies');
SELECT is((SELECT count(*) FROM generate_series(1, 500) g
            WHERE metastore.is_enabled('ro', jsonb_build_object('userId', 'user-' || g)) IS DISTINCT FROM (metastore.bucket('ro:user-' || g) <= 40)), 0::bigint,
          '... and the flag is on for the users with bucket <= 40');
SELECT is((metastore.get_flag('ro')).version, 2, '... in version 2');
SELECT metastore.put_flag('ro-default', '{"enabled": true, "strategies": [{"name": "default"}, {"name": "userWithId", "parameters": {"userIds": "x"}}]}') \g /dev/null
SELECT is(pg_temp.try($$SELECT metastore.set_flag_rollout('ro-default', 30)$$), 'ok', 'set_flag_rollout on a flag with a catch-all default strategy');
SELECT is((SELECT definition -> 'strategies' FROM metastore.flags WHERE name = 'ro-default'),
          '[{"name": "userWithId", "parameters": {"userIds": "x"}},
            {"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "30", "stickiness": "default", "groupId": "ro-default"}}]',
          '... replaces the catch-all by a rollout (a catch-all would hide it)');
SELECT metastore.put_flag('ro-none', '{"enabled": true}') \g /dev/null
SELECT is(pg_temp.try($$SELECT metastore.set_flag_rollout('ro-none', 12.5)$$), 'ok', 'set_flag_rollout on a flag without strategies');
SELECT is((SELECT definition -> 'strategies' FROM metastore.flags WHERE name = 'ro-none'),
          '[{"name": "flexibleRollout", "title": "rollout_percentage", "parameters": {"rollout": "12.5", "stickiness": "default", "groupId": "ro-none"}}]',
          '... adds a rollout with the fractional percentage');
SELECT metastore.put_flag('ro-env', '{"enabled": true, "rollout_percentage": 50}') \g /dev/null
SELECT is(pg_temp.try($$SELECT metastore.set_flag_rollout('ro-env', 0, 'prod')$$), 'ok', 'set_flag_rollout with an environment');
SELECT is((SELECT definition #> '{strategies,0,parameters,rollout}' FROM metastore.flags WHERE name = 'ro-env'), '"50"',
          '... leaves the base rollout alone');
SELECT is((SELECT count(*) FROM generate_series(1, 200) g WHERE metastore.is_enabled('ro-env', jsonb_build_object('userId', 'user-' || g), NULL, 'prod')), 0::bigint,
          '... and the flag is off for everyone in prod');
SELECT is((SELECT count(*) FROM generate_series(1, 200) g
            WHERE metastore.is_enabled('ro-env', jsonb_build_object('userId', 'user-' || g)) IS DISTINCT FROM (metastore.bucket('ro-env:user-' || g) <= 50)), 0::bigint,
          '... while elsewhere the base rollout of 50 still holds');
SELECT pg_temp.flag_state() AS state_ro \gset
SELECT throws_ok($$SELECT metastore.set_flag_rollout('ro', 101)$$, '22023', NULL, 'set_flag_rollout 101: 22023');
SELECT throws_ok($$SELECT metastore.set_flag_rollout('ro', -1)$$, '22023', NULL, 'set_flag_rollout -1: 22023');
SELECT throws_ok($$SELECT metastore.set_flag_rollout('ro', NULL)$$, '22004', NULL, 'set_flag_rollout NULL: 22004');
SELECT throws_ok($$SELECT metastore.set_flag_rollout(NULL, 5)$$, '22004', NULL, 'set_flag_rollout of a NULL name: 22004');
SELECT throws_ok($$SELECT metastore.set_flag_rollout('ro-unknown', 5)$$, 'MS404', NULL, 'set_flag_rollout of an unknown flag: MS404');
SELECT is(pg_temp.flag_state(), :'state_ro', 'the refused rollouts changed nothing');

-- ================================================================ bad input
SELECT pg_temp.flag_state() AS state_bad \gset
CREATE TEMP TABLE bad_puts (ord serial, label text, call text, sqlstate text, detail text);
INSERT INTO bad_puts (label, call, sqlstate, detail) VALUES
  ('a NULL name', $$SELECT metastore.put_flag(NULL, '{}')$$, '22004', NULL),
  ('an empty name', $$SELECT metastore.put_flag('', '{}')$$, '22023', NULL),
  ('a name of 256 bytes', $$SELECT metastore.put_flag(repeat('n', 256), '{}')$$, '22001', 'It has 256 bytes; the limit is 255.'),
  ('a name of 128 two-byte letters (256 bytes)', $$SELECT metastore.put_flag(repeat('é', 128), '{}')$$, '22001', 'It has 256 bytes; the limit is 255.'),
  ('a name with a tab', $$SELECT metastore.put_flag(E'a\tb', '{}')$$, '22023', 'Byte 2 is 0x09.'),
  ('a name with a newline', $$SELECT metastore.put_flag(E'ab\n', '{}')$$, '22023', 'Byte 3 is 0x0a.'),
  ('a name with 0x01', $$SELECT metastore.put_flag(E'\x01x', '{}')$$, '22023', 'Byte 1 is 0x01.'),
  ('a name with DEL', $$SELECT metastore.put_flag(E'a\x7f', '{}')$$, '22023', 'Byte 2 is 0x7f.'),
  ('a NULL definition', $$SELECT metastore.put_flag('bad', NULL)$$, '22004', NULL),
  ('an array definition', $$SELECT metastore.put_flag('bad', '[]')$$, '22023', 'At definition.'),
  ('a string definition', $$SELECT metastore.put_flag('bad', '"on"')$$, '22023', 'At definition.'),
  ('a boolean definition', $$SELECT metastore.put_flag('bad', 'true')$$, '22023', 'At definition.'),
  ('a null definition (JSON)', $$SELECT metastore.put_flag('bad', 'null')$$, '22023', 'At definition.'),
  ('an unknown top-level field', $$SELECT metastore.put_flag('bad', '{"enabled": true, "enabeld": false}')$$, '22023', 'At definition.enabeld.'),
  ('an unknown field in a strategy', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default"}, {"name": "default", "params": {}}]}')$$, '22023', 'At definition.strategies[1].params.'),
  ('an unknown field in a constraint', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "constraints": [{"contextName": "c", "operator": "IN", "values": ["x"], "negate": true}]}]}')$$, '22023', 'At definition.strategies[0].constraints[0].negate.'),
  ('an unknown field in a variant', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "wieght": 1}]}')$$, '22023', 'At definition.variants[0].wieght.'),
  ('an unknown field in a variant override', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "overrides": [{"contextName": "userId", "value": "x"}]}]}')$$, '22023', 'At definition.variants[0].overrides[0].value.'),
  ('an unknown field in a strategy variant', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "variants": [{"name": "a", "colour": "red"}]}]}')$$, '22023', 'At definition.strategies[0].variants[0].colour.'),
  ('an unknown field in an environment', $$SELECT metastore.put_flag('bad', '{"environments": {"prod": {"enabled": true, "rollout": 5}}}')$$, '22023', 'At definition.environments.prod.rollout.'),
  ('an unknown field in a tenant', $$SELECT metastore.put_flag('bad', '{"tenants": {"acme": {"expires_at": "2030-01-01"}}}')$$, '22023', 'At definition.tenants.acme.expires_at.'),
  ('an unknown field in a dependency', $$SELECT metastore.put_flag('bad', '{"dependencies": [{"feature": "x", "enable": true}]}')$$, '22023', 'At definition.dependencies[0].enable.'),
  ('enabled that is not a boolean', $$SELECT metastore.put_flag('bad', '{"enabled": "yes"}')$$, '22023', 'At definition.enabled.'),
  ('is_enabled that is not a boolean', $$SELECT metastore.put_flag('bad', '{"is_enabled": 1}')$$, '22023', NULL),
  ('enabled and is_enabled that disagree', $$SELECT metastore.put_flag('bad', '{"enabled": true, "is_enabled": false}')$$, '22023', NULL),
  ('rollout_percentage 101', $$SELECT metastore.put_flag('bad', '{"rollout_percentage": 101}')$$, '22023', 'At definition.rollout_percentage.'),
  ('rollout_percentage 100.01', $$SELECT metastore.put_flag('bad', '{"rollout_percentage": 100.01}')$$, '22023', 'At definition.rollout_percentage.'),
  ('rollout_percentage -1', $$SELECT metastore.put_flag('bad', '{"rollout_percentage": -1}')$$, '22023', 'At definition.rollout_percentage.'),
  ('rollout_percentage as a string', $$SELECT metastore.put_flag('bad', '{"rollout_percentage": "50"}')$$, '22023', 'At definition.rollout_percentage.'),
  ('rollout_percentage null', $$SELECT metastore.put_flag('bad', '{"rollout_percentage": null}')$$, '22023', 'At definition.rollout_percentage.'),
  ('target_users a string', $$SELECT metastore.put_flag('bad', '{"target_users": "bob"}')$$, '22023', 'At definition.target_users.'),
  ('target_users with an object', $$SELECT metastore.put_flag('bad', '{"target_users": ["a", {"id": "b"}]}')$$, '22023', 'At definition.target_users.'),
  ('rules an object', $$SELECT metastore.put_flag('bad', '{"rules": {"attribute": "a"}}')$$, '22023', 'At definition.rules.'),
  ('a rule that is not an object', $$SELECT metastore.put_flag('bad', '{"rules": ["country = NL"]}')$$, '22023', 'At definition.rules[0].'),
  ('a rule without an operator', $$SELECT metastore.put_flag('bad', '{"rules": [{"attribute": "a", "value": "x"}]}')$$, '22023', 'At definition.rules[0].'),
  ('a rule with an unknown field', $$SELECT metastore.put_flag('bad', '{"rules": [{"attribute": "a", "operator": "eq", "value": "x", "weight": 1}]}')$$, '22023', NULL),
  ('strategies an object', $$SELECT metastore.put_flag('bad', '{"strategies": {"name": "default"}}')$$, '22023', 'At definition.strategies.'),
  ('a strategy without a name', $$SELECT metastore.put_flag('bad', '{"strategies": [{"parameters": {}}]}')$$, '22023', 'At definition.strategies[0].name.'),
  ('an unknown strategy', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "custom"}]}')$$, '22023', 'At definition.strategies[0].name.'),
  ('parameters an array', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "parameters": []}]}')$$, '22023', 'At definition.strategies[0].parameters.'),
  ('flexibleRollout without rollout', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "flexibleRollout", "parameters": {"stickiness": "default"}}]}')$$, '22023', 'At definition.strategies[0].parameters.rollout.'),
  ('flexibleRollout rollout 101', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "101"}}]}')$$, '22023', 'At definition.strategies[0].parameters.rollout.'),
  ('gradualRolloutUserId percentage not a number', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "gradualRolloutUserId", "parameters": {"percentage": "half"}}]}')$$, '22023', 'At definition.strategies[0].parameters.percentage.'),
  ('segments not an array', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "segments": 3}]}')$$, '22023', 'At definition.strategies[0].segments.'),
  ('a segment id 0', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "segments": [1, 0]}]}')$$, '22023', 'At definition.strategies[0].segments[1].'),
  ('a segment id as a string', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "segments": ["3"]}]}')$$, '22023', 'At definition.strategies[0].segments[0].'),
  ('a segment id 1.5', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "segments": [1.5]}]}')$$, '22023', 'At definition.strategies[0].segments[0].'),
  ('disabled not a boolean', $$SELECT metastore.put_flag('bad', '{"strategies": [{"name": "default", "disabled": "no"}]}')$$, '22023', 'At definition.strategies[0].disabled.'),
  ('variants an object', $$SELECT metastore.put_flag('bad', '{"variants": {"a": 1}}')$$, '22023', 'At definition.variants.'),
  ('a variant without a name', $$SELECT metastore.put_flag('bad', '{"variants": [{"weight": 1}]}')$$, '22023', 'At definition.variants[0].name.'),
  ('a variant defined twice', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a"}, {"name": "a"}]}')$$, '22023', 'At definition.variants[1].name.'),
  ('a negative weight', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "weight": -1}]}')$$, '22023', 'At definition.variants[0].weight.'),
  ('a fractional weight', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "weight": 1.5}]}')$$, '22023', 'At definition.variants[0].weight.'),
  ('a weight as a string', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "weight": "1"}]}')$$, '22023', 'At definition.variants[0].weight.'),
  ('a weight over 1000000', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "weight": 1000001}]}')$$, '22023', 'At definition.variants[0].weight.'),
  ('an override without contextName', $$SELECT metastore.put_flag('bad', '{"variants": [{"name": "a", "overrides": [{"values": ["x"]}]}]}')$$, '22023', 'At definition.variants[0].overrides[0].contextName.'),
  ('an unknown value_type', $$SELECT metastore.put_flag('bad', '{"value_type": "float"}')$$, '22023', 'At definition.value_type.'),
  ('a string default_value on a boolean flag', $$SELECT metastore.put_flag('bad', '{"default_value": "off"}')$$, '22023', 'At definition.default_value.'),
  ('a number default_value on a string flag', $$SELECT metastore.put_flag('bad', '{"value_type": "string", "default_value": 1}')$$, '22023', 'At definition.default_value.'),
  ('a boolean value on a string flag', $$SELECT metastore.put_flag('bad', '{"value_type": "string", "value": true}')$$, '22023', 'At definition.value.'),
  ('a string value on a number flag', $$SELECT metastore.put_flag('bad', '{"value_type": "number", "value": "1"}')$$, '22023', 'At definition.value.'),
  ('a string value on an object flag', $$SELECT metastore.put_flag('bad', '{"value_type": "object", "value": "{}"}')$$, '22023', 'At definition.value.'),
  ('a variant value of the wrong type', $$SELECT metastore.put_flag('bad', '{"value_type": "number", "variants": [{"name": "a", "value": "x"}]}')$$, '22023', 'At definition.variants[0].'),
  ('a strategy variant value of the wrong type', $$SELECT metastore.put_flag('bad', '{"value_type": "string", "strategies": [{"name": "default", "variants": [{"name": "a", "value": 1}]}]}')$$, '22023', 'At definition.strategies[0].variants[0].'),
  ('an environment default_value of the wrong type', $$SELECT metastore.put_flag('bad', '{"value_type": "string", "environments": {"prod": {"default_value": 1}}}')$$, '22023', 'At definition.environments.prod.default_value.'),
  ('environments an array', $$SELECT metastore.put_flag('bad', '{"environments": [{"enabled": true}]}')$$, '22023', 'At definition.environments.'),
  ('an environment that is not an object', $$SELECT metastore.put_flag('bad', '{"environments": {"prod": "off"}}')$$, '22023', 'At definition.environments.prod.'),
  ('environment_overrides an array', $$SELECT metastore.put_flag('bad', '{"environment_overrides": []}')$$, '22023', 'At definition.environment_overrides.'),
  ('both environment_overrides and environments', $$SELECT metastore.put_flag('bad', '{"environment_overrides": {}, "environments": {}}')$$, '22023', NULL),
  ('both prerequisites and dependencies', $$SELECT metastore.put_flag('bad', '{"prerequisites": [], "dependencies": []}')$$, '22023', NULL),
  ('dependencies an object', $$SELECT metastore.put_flag('bad', '{"dependencies": {"feature": "x"}}')$$, '22023', 'At definition.dependencies.'),
  ('a dependency without a feature', $$SELECT metastore.put_flag('bad', '{"dependencies": [{"enabled": true}]}')$$, '22023', 'At definition.dependencies[0].feature.'),
  ('a flag depending on itself', $$SELECT metastore.put_flag('bad', '{"dependencies": [{"feature": "bad"}]}')$$, '22023', 'At definition.dependencies[0].feature.'),
  ('a dependency''s enabled not a boolean', $$SELECT metastore.put_flag('bad', '{"dependencies": [{"feature": "x", "enabled": "no"}]}')$$, '22023', 'At definition.dependencies[0].enabled.'),
  ('expires_at not a date', $$SELECT metastore.put_flag('bad', '{"expires_at": "tomorrow"}')$$, '22023', 'At definition.expires_at.'),
  ('expires_at a number', $$SELECT metastore.put_flag('bad', '{"expires_at": 1700000000}')$$, '22023', 'At definition.expires_at.'),
  ('expires_at February 30', $$SELECT metastore.put_flag('bad', '{"expires_at": "2030-02-30"}')$$, '22023', 'At definition.expires_at.'),
  ('a negative expected_version', $$SELECT metastore.put_flag('bad', '{}', -5)$$, '22023', NULL),
  ('a namespace with a space', $$SELECT metastore.put_flag('bad', '{}', NULL, 'bad ns')$$, '22023', NULL),
  ('an empty namespace', $$SELECT metastore.put_flag('bad', '{}', NULL, '')$$, '22023', NULL),
  ('a namespace of 129 bytes', $$SELECT metastore.put_flag('bad', '{}', NULL, repeat('n', 129))$$, '22001', NULL),
  ('a description of 4097 bytes', $$SELECT metastore.put_flag('bad', '{}', NULL, NULL, repeat('d', 4097))$$, '22001', NULL),
  ('a NULL tag', $$SELECT metastore.put_flag('bad', '{}', NULL, NULL, NULL, ARRAY['a', NULL])$$, '22004', NULL),
  ('an empty tag', $$SELECT metastore.put_flag('bad', '{}', NULL, NULL, NULL, ARRAY[''])$$, '22023', NULL),
  ('get_flag of a NULL name', $$SELECT metastore.get_flag(NULL)$$, '22004', NULL),
  ('delete_flag of a NULL name', $$SELECT metastore.delete_flag(NULL)$$, '22004', NULL),
  ('delete_flag of an empty name', $$SELECT metastore.delete_flag('')$$, '22023', NULL),
  ('rollback_flag of a name with a control character', $$SELECT metastore.rollback_flag(E'x\x02', 1)$$, '22023', NULL);
SELECT throws_ok(call, sqlstate, NULL, 'put_flag and friends refuse ' || label || ': ' || sqlstate) FROM bad_puts ORDER BY ord;
SELECT is(pg_temp.error_detail(call), sqlstate || ' ' || detail, 'the detail for ' || label || ': ' || detail)
  FROM bad_puts WHERE detail IS NOT NULL ORDER BY ord;
SELECT is(pg_temp.flag_state(), :'state_bad', 'no refused definition changed anything');
SELECT is(metastore.get_flag('bad'), NULL, 'no flag "bad" was stored');

-- the detail names the place in what the caller sent: a seed rule by its
-- index (its one constraint as constraints[0]), environment_overrides and
-- prerequisites by those names, not the stored environments / dependencies
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('bad', '{"is_enabled": true, "rules": [{"attribute": "age", "operator": "gt", "value": "old"}]}')$$),
          '22023 At definition.rules[0].constraints[0].value.', 'a seed rule''s bad value is placed in the rule the caller wrote');
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('bad', '{"is_enabled": true, "environment_overrides": {"prod": {"is_enabled": true, "rollout": 5}}}')$$),
          '22023 At definition.environment_overrides.prod.rollout.', 'an unknown field in environment_overrides is placed there');
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('bad', '{"is_enabled": true, "prerequisites": [{"flag": "x"}]}')$$),
          '22023 At definition.prerequisites[0].flag.', 'an unknown field in a prerequisite is placed there');

-- ================================================================ segments
SELECT results_eq($$SELECT id >= 1000001, namespace, name, constraints, version FROM metastore.put_segment('sg-a', '[{"contextName": "plan", "operator": "IN", "values": ["beta"]}]')$$,
                  $$VALUES (true, 'default'::text, 'sg-a'::text, '[{"contextName": "plan", "operator": "IN", "values": ["beta"]}]'::jsonb, 1)$$,
                  'put_segment without an id assigns one from 1000001 on, version 1');
SELECT is((metastore.put_segment('sg-b', '[]', 42, NULL, 'sg.ns', 'segment b')).id, 42::bigint, 'put_segment with Unleash''s id keeps it');
SELECT id AS sg_a_id FROM metastore.flag_segments WHERE name = 'sg-a' \gset
SELECT results_eq($$SELECT id, version, constraints FROM metastore.put_segment('sg-a', '[{"contextName": "plan", "operator": "IN", "values": ["gamma"]}]')$$,
                  format('VALUES (%s::bigint, 2, %L::jsonb)', :sg_a_id, '[{"contextName": "plan", "operator": "IN", "values": ["gamma"]}]'),
                  'updating a segment keeps its id: version 2');
SELECT is((metastore.put_segment('sg-a', '[]', :sg_a_id, 2)).version, 3, 'put_segment with its own id and the current expected_version');
SELECT is((SELECT string_agg(version || ':' || operation, ' ' ORDER BY version) FROM metastore.history WHERE aggregate = 'segment' AND entity_key = 'sg-a'),
          '1:create 2:update 3:update', 'segments have history too');
SELECT pg_temp.flag_state() AS state_seg \gset
SELECT throws_ok($$SELECT metastore.put_segment('sg-a', '[]', 7)$$, 'MS409', NULL, 'put_segment with another id than its own: MS409');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '[]', 42)$$, 'MS409', NULL, 'put_segment with an id another segment has: MS409');
SELECT throws_ok($$SELECT metastore.put_segment('sg-a', '[]', NULL, 0)$$, 'MS409', NULL, 'put_segment expected_version 0 on an existing segment: MS409');
SELECT throws_ok($$SELECT metastore.put_segment('sg-a', '[]', NULL, 1)$$, 'MS409', NULL, 'put_segment with a stale expected_version: MS409');
SELECT throws_ok($$SELECT metastore.put_segment('sg-z', '[]', NULL, 1)$$, 'MS409', NULL, 'put_segment expected_version N on an absent segment: MS409');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '[]', 0)$$, '22023', NULL, 'a segment id 0: 22023');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '[]', -3)$$, '22023', NULL, 'a negative segment id: 22023');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '{"contextName": "a"}')$$, '22023', NULL, 'segment constraints that are not an array: 22023');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '"x"')$$, '22023', NULL, 'segment constraints that are a string: 22023');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', NULL)$$, '22004', NULL, 'NULL segment constraints: 22004');
SELECT throws_ok($$SELECT metastore.put_segment(NULL, '[]')$$, '22004', NULL, 'a NULL segment name: 22004');
SELECT throws_ok($$SELECT metastore.put_segment('', '[]')$$, '22023', NULL, 'an empty segment name: 22023');
SELECT throws_ok($$SELECT metastore.put_segment(repeat('s', 256), '[]')$$, '22001', NULL, 'a segment name of 256 bytes: 22001');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '[{"contextName": "a", "operator": "IN", "values": ["x"], "extra": 1}]')$$, '22023', NULL,
                 'an unknown field in a segment constraint: 22023');
SELECT is(pg_temp.error_detail($$SELECT metastore.put_segment('sg-c', '[{"contextName": "a", "operator": "IN", "values": ["x"], "extra": 1}]')$$),
          '22023 At constraints[0].extra.', '... with its place');
SELECT throws_ok($$SELECT metastore.put_segment('sg-c', '[]', NULL, NULL, 'bad ns')$$, '22023', NULL, 'a segment in an invalid namespace: 22023');
SELECT throws_ok($$SELECT metastore.delete_segment('sg-z')$$, 'MS404', NULL, 'deleting an unknown segment: MS404');
SELECT throws_ok($$SELECT metastore.delete_segment('sg-a', 1)$$, 'MS409', NULL, 'deleting a segment with a stale expected_version: MS409');
SELECT is(pg_temp.flag_state(), :'state_seg', 'the refused segment writes changed nothing');
SELECT results_eq($$SELECT version, deleted_at IS NOT NULL FROM metastore.delete_segment('sg-a', 3)$$, $$VALUES (4, true)$$,
                  'delete_segment: a new version, deleted_at set');
SELECT is((SELECT array_agg(name ORDER BY id) FROM metastore.list_segments()), ARRAY['sg-b'], 'list_segments leaves out a deleted segment');
SELECT throws_ok($$SELECT metastore.delete_segment('sg-a')$$, 'MS404', NULL, 'deleting a deleted segment: MS404');
SELECT results_eq($$SELECT id, version, deleted_at IS NULL FROM metastore.put_segment('sg-a', '[]', NULL, 0)$$,
                  format('VALUES (%s::bigint, 5, true)', :sg_a_id), 'putting a deleted segment again restores it with its id');
SELECT is((SELECT array_agg(name ORDER BY id) FROM metastore.list_segments()), ARRAY['sg-b', 'sg-a'], 'list_segments orders by id');

-- ================================================================ list_flags
SELECT metastore.put_flag(n, '{}', NULL, 'list.ns') FROM unnest(ARRAY['lst-b', 'lst-a', 'lst-c', 'lst-B']) n \g /dev/null
SELECT metastore.delete_flag('lst-c') \g /dev/null
SELECT is((SELECT array_agg(name) FROM metastore.list_flags('list.ns')), ARRAY['lst-B', 'lst-a', 'lst-b'], 'list_flags: live flags of the namespace, in byte order');
SELECT is((SELECT array_agg(name) FROM metastore.list_flags(NULL, 'lst-')), ARRAY['lst-B', 'lst-a', 'lst-b'], 'list_flags by name prefix');
SELECT is((SELECT array_agg(name) FROM metastore.list_flags(NULL, 'lst-', 1, 1)), ARRAY['lst-a'], 'list_flags limit 1 offset 1');
SELECT is((SELECT count(*) FROM metastore.list_flags('list.empty')), 0::bigint, 'list_flags of a namespace without flags is empty');
SELECT throws_ok($$SELECT metastore.list_flags(NULL, NULL, 0)$$, '22023', NULL, 'list_flags limit 0: 22023');
SELECT throws_ok($$SELECT metastore.list_flags(NULL, NULL, 1001)$$, '22023', NULL, 'list_flags limit 1001: 22023');
SELECT throws_ok($$SELECT metastore.list_flags(NULL, NULL, 10, -1)$$, '22023', NULL, 'list_flags with a negative offset: 22023');

-- ================================================================ import_unleash
SELECT is(metastore.import_unleash('{"version": 2, "features": [
    {"name": "imp-a", "enabled": true, "project": "proj.a", "description": "A", "type": "release", "stale": false, "impressionData": true,
     "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "40", "stickiness": "default", "groupId": "imp-a"}, "constraints": [], "segments": [77]}],
     "variants": []},
    {"name": "imp-b", "enabled": false, "strategies": [{"name": "my-own-strategy", "parameters": {"x": "1"}}]}],
  "segments": [{"id": 77, "name": "imp-seg", "constraints": [{"contextName": "plan", "operator": "IN", "values": ["beta"]}]}]}'),
          '{"flags_created": 2, "flags_updated": 0, "flags_unchanged": 0, "flags_deleted": 0, "segments_written": 1, "segments_deleted": 0}',
          'import_unleash: the counts of what it did');
SELECT results_eq($$SELECT namespace, description, definition FROM metastore.flags WHERE name = 'imp-a'$$,
                  $$VALUES ('proj.a'::text, 'A'::text, '{"enabled": true, "type": "release", "stale": false, "impressionData": true, "variants": [],
                            "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "40", "stickiness": "default", "groupId": "imp-a"}, "constraints": [], "segments": [77]}]}'::jsonb)$$,
                  'the project becomes the namespace, the description its column, every other field is kept');
SELECT is((SELECT namespace FROM metastore.flags WHERE name = 'imp-b'), 'default', 'a feature without a project goes to namespace default');
SELECT is((SELECT definition -> 'strategies' -> 0 ->> 'name' FROM metastore.flags WHERE name = 'imp-b'), 'my-own-strategy', 'an unknown strategy is kept as imported');
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.is_enabled('imp-a', jsonb_build_object('userId', 'user-' || g, 'plan', 'beta'))
                  IS DISTINCT FROM (metastore.bucket('imp-a:user-' || g) <= 40)), 0::bigint,
          'the imported flag and its segment evaluate: bucket <= 40 for plan beta');
SELECT is(metastore.is_enabled('imp-a', '{"userId": "user-1", "plan": "free"}'), false, '... and never outside the segment');
SELECT is(metastore.import_unleash('{"features": [{"name": "imp-a", "enabled": true, "project": "proj.a", "description": "A", "type": "release", "stale": false, "impressionData": true,
     "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "40", "stickiness": "default", "groupId": "imp-a"}, "constraints": [], "segments": [77]}], "variants": []}]}') ->> 'flags_unchanged',
          '1', 'importing the same feature again: unchanged');
SELECT is((metastore.get_flag('imp-a')).version, 1, '... and no new version');
SELECT is(metastore.import_unleash('{"features": [{"name": "imp-a", "enabled": false}, {"name": "imp-c", "enabled": true}]}', 'imp.ns', true),
          '{"flags_created": 1, "flags_updated": 1, "flags_unchanged": 0, "flags_deleted": 0, "segments_written": 0, "segments_deleted": 0}',
          'import into a namespace with prune: imp-a moved and updated, imp-c created, nothing else in imp.ns to prune');
SELECT is((SELECT array_agg(name || '@' || namespace ORDER BY name) FROM metastore.flags WHERE name LIKE 'imp-%' AND deleted_at IS NULL),
          ARRAY['imp-a@imp.ns', 'imp-b@default', 'imp-c@imp.ns'], 'the namespace argument overrides each feature''s project; prune leaves other namespaces alone');
SELECT is(metastore.import_unleash('{"features": [{"name": "imp-c", "enabled": true}]}', 'imp.ns', true) ->> 'flags_deleted', '1',
          'prune deletes the flags of the namespace the document does not name');
SELECT is(metastore.get_flag('imp-a'), NULL, '... imp-a is deleted');
SELECT is(metastore.import_unleash('{"events": [
    {"type": "feature-updated", "feature": {"name": "imp-d", "enabled": true}},
    {"type": "feature-removed", "featureName": "imp-b"},
    {"type": "feature-removed", "featureName": "imp-never"},
    {"type": "segment-updated", "segment": {"id": 78, "name": "imp-seg-2", "constraints": []}},
    {"type": "segment-removed", "segmentId": 77}]}'),
          '{"flags_created": 1, "flags_updated": 0, "flags_unchanged": 0, "flags_deleted": 1, "segments_written": 1, "segments_deleted": 1}',
          'delta events: feature-updated, feature-removed (an unknown name is ignored), segment-updated, segment-removed');
SELECT is(ARRAY[(metastore.get_flag('imp-d')).version, (metastore.get_flag('imp-b')).version], ARRAY[1, NULL],
          'imp-d was created, imp-b deleted');
SELECT is((SELECT array_agg(id || ':' || (deleted_at IS NULL) ORDER BY id) FROM metastore.flag_segments WHERE name LIKE 'imp-seg%'),
          ARRAY['77:false', '78:true'], 'segment 77 deleted, segment 78 written');
SELECT pg_temp.flag_state() AS state_imp \gset
SELECT throws_ok($$SELECT metastore.import_unleash('[]')$$, '22023', NULL, 'import_unleash of an array: 22023');
SELECT throws_ok($$SELECT metastore.import_unleash(NULL)$$, '22023', NULL, 'import_unleash of NULL: 22023');
SELECT throws_ok($$SELECT metastore.import_unleash('{"events": {}}')$$, '22023', NULL, 'events that are not an array: 22023');
SELECT throws_ok($$SELECT metastore.import_unleash('{"events": [{"type": "feature-updated", "feature": {"name": "imp-e"}}, {"type": "feature-renamed"}]}')$$, '22023', NULL,
                 'an unknown event type: 22023 (and the events before it are undone)');
SELECT throws_ok($$SELECT metastore.import_unleash('{"features": {"name": "x"}}')$$, '22023', NULL, 'features that are not an array: 22023');
SELECT throws_ok($$SELECT metastore.import_unleash('{"features": [{"name": "imp-f", "enabled": true}, {"enabled": true}]}')$$, '22023', NULL,
                 'a feature without a name: 22023 (and the features before it are undone)');
SELECT throws_ok($$SELECT metastore.import_unleash('{"features": [{"name": "", "enabled": true}]}')$$, '22023', NULL, 'a feature with an empty name: 22023');
SELECT throws_ok($$SELECT metastore.import_unleash('{"features": [{"name": "imp-g", "enabled": true}]}', 'bad ns')$$, '22023', NULL, 'import into an invalid namespace: 22023');
SELECT is(pg_temp.flag_state(), :'state_imp', 'the refused imports changed nothing');

-- ================================================================ access for writes
CREATE ROLE ms_fs_reader NOLOGIN;
CREATE ROLE ms_fs_writer NOLOGIN;
CREATE ROLE ms_fs_none NOLOGIN;
SELECT metastore."grant"('ms_fs_reader', 'acc.ns', 'reader') \g /dev/null
SELECT metastore."grant"('ms_fs_writer', 'acc.ns', 'writer') \g /dev/null
SELECT metastore."grant"('ms_fs_none', 'acc.elsewhere', 'reader') \g /dev/null
SELECT metastore.put_flag('acc-own', '{"is_enabled": true}', NULL, 'acc.ns') \g /dev/null
SELECT metastore.put_flag('acc-foreign', '{"is_enabled": true}', NULL, 'acc.foreign') \g /dev/null
SELECT metastore.put_segment('acc-seg', '[]', NULL, NULL, 'acc.ns') \g /dev/null
SELECT pg_temp.flag_state() AS state_acc \gset
CREATE TEMP TABLE acc_cases (ord serial, principal text, call text, expected text);
INSERT INTO acc_cases (principal, call, expected) VALUES
  ('ms_fs_writer', $$SELECT metastore.put_flag('acc-own', '{"is_enabled": false}')$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.put_flag('acc-new', '{}', NULL, 'acc.ns')$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.put_flag('acc-new', '{}')$$, '42501'),
  ('ms_fs_writer', $$SELECT metastore.put_flag('acc-own', '{}', NULL, 'acc.foreign')$$, '42501'),
  ('ms_fs_writer', $$SELECT metastore.put_flag('acc-foreign', '{}', NULL, 'acc.ns')$$, '42501'),
  ('ms_fs_writer', $$SELECT metastore.set_flag_enabled('acc-own', false)$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.set_flag_rollout('acc-own', 5)$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.delete_flag('acc-own')$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.rollback_flag('acc-own', 1)$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.put_segment('acc-seg', '[]', NULL, NULL, 'acc.ns')$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.put_segment('acc-seg-2', '[]')$$, '42501'),
  ('ms_fs_writer', $$SELECT metastore.delete_segment('acc-seg')$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.import_unleash('{"features": [{"name": "acc-imp", "enabled": true}]}', 'acc.ns')$$, 'ok'),
  ('ms_fs_writer', $$SELECT metastore.import_unleash('{"features": [{"name": "acc-imp", "enabled": true}]}')$$, '42501'),
  ('ms_fs_writer', $$SELECT metastore.put_flag_unchecked('acc-x', '{}', NULL, 'acc.ns')$$, '42501'),
  ('ms_fs_writer', $$INSERT INTO metastore.flags (namespace, name, definition, created_at, created_by, updated_at, updated_by) VALUES ('acc.ns', 'acc-direct', '{}', now(), 'x', now(), 'x')$$, '42501'),
  ('ms_fs_writer', $$UPDATE metastore.flags SET definition = '{}' WHERE name = 'acc-own'$$, '42501'),
  ('ms_fs_reader', $$SELECT metastore.put_flag('acc-own', '{"is_enabled": false}')$$, '42501'),
  ('ms_fs_reader', $$SELECT metastore.put_flag('acc-own', '{"is_enabled": false}', NULL, 'acc.ns')$$, '42501'),
  ('ms_fs_reader', $$SELECT metastore.set_flag_enabled('acc-own', false)$$, '42501'),
  ('ms_fs_reader', $$SELECT metastore.set_flag_rollout('acc-own', 5)$$, '42501'),
  ('ms_fs_reader', $$SELECT metastore.put_segment('acc-seg', '[]')$$, '42501'),
  ('ms_fs_reader', $$SELECT metastore.import_unleash('{"features": [{"name": "acc-imp", "enabled": true}]}', 'acc.ns')$$, '42501'),
  ('ms_fs_none', $$SELECT metastore.put_flag('acc-brand-new', '{}')$$, '42501'),
  ('ms_fs_none', $$SELECT metastore.put_flag('acc-own', '{}', NULL, 'acc.ns')$$, '42501'),
  ('ms_fs_none', $$SELECT metastore.set_flag_enabled('acc-own', false)$$, 'MS404'),
  ('ms_fs_none', $$SELECT metastore.delete_flag('acc-own')$$, 'MS404'),
  ('ms_fs_none', $$SELECT metastore.list_flags('acc.ns')$$, '42501'),
  ('ms_fs_none', $$SELECT * FROM metastore.flags$$, '42501'),
  ('ms_fs_none', $$SELECT * FROM metastore.flag_segments$$, '42501');
SELECT is(ms_test.try_as(principal, call), expected, format('%s: %s -> %s', principal, call, expected)) FROM acc_cases ORDER BY ord;
SELECT is(ms_test.err_as('ms_fs_writer', $$SELECT metastore.put_flag('acc-foreign', '{}', NULL, 'acc.ns')$$),
          '42501: permission denied for flag "acc-foreign" / The name is used in a namespace where principal "ms_fs_writer" may not write.',
          'a name taken in a namespace the principal may not write: 42501 saying so');
SELECT is(pg_temp.flag_state(), :'state_acc', 'every call above ran in a subtransaction that was rolled back: nothing changed');
-- reads follow reader rights
SELECT is(ms_test.query_as('ms_fs_reader', $$SELECT (metastore.get_flag('acc-own')).version::text$$), '1', 'a reader gets the flag');
SELECT is(ms_test.query_as('ms_fs_reader', $$SELECT coalesce((metastore.get_flag('acc-foreign')).version::text, 'null')$$), 'null',
          'get_flag of a flag in a namespace the principal may not read: NULL, as if absent');
SELECT is(ms_test.query_as('ms_fs_reader', $$SELECT count(*)::text FROM metastore.flag_history('acc-own')$$), '1', 'a reader sees the flag''s history');
SELECT is(ms_test.query_as('ms_fs_reader', $$SELECT count(*)::text FROM metastore.flag_history('acc-foreign')$$), '0', 'flag_history of an unreadable flag is empty');
SELECT is(ms_test.query_as('ms_fs_reader', $$SELECT string_agg(name, ',') FROM metastore.list_flags(NULL, 'acc-')$$), 'acc-own',
          'list_flags shows only readable flags');
-- a reader of the namespace, who can read the flag with get_flag, is told
-- 42501 by delete_flag and rollback_flag (not MS404: row level security hides
-- the row from FOR UPDATE, and the write path then names the missing role).
SELECT is(ms_test.try_as('ms_fs_reader', $$SELECT metastore.delete_flag('acc-own')$$), '42501', 'a reader deleting a flag it can read: 42501');
SELECT is(ms_test.try_as('ms_fs_reader', $$SELECT metastore.rollback_flag('acc-own', 1)$$), '42501', 'a reader rolling back a flag it can read: 42501');

SELECT * FROM finish();
ROLLBACK;
