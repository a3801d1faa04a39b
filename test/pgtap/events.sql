-- pgTAP: change events (sql/install/50_events.sql, src/events.c, docs/events.md).
-- One event per committed change of records, flags, segments and services,
-- in seed 001's shape (action, resource_type, resource_id, namespace, data
-- with the documented columns only, environment, actor, timestamp); ids in
-- statement order; events_since paging and its limits; access (a principal
-- sees only the events of namespaces it may read, and can neither read nor
-- write the table directly); rolled-back changes leave no event; pruning
-- (prune_events for admins of "*", and the automatic prune every 1000 events).
--
-- Why SET CONSTRAINTS ALL IMMEDIATE: metastore.event_trigger is a DEFERRED
-- constraint trigger, so an event is appended when the transaction COMMITs.
-- A pgTAP suite is one transaction that ends in ROLLBACK, so without help it
-- would never see a single event.  SET CONSTRAINTS ALL IMMEDIATE makes
-- deferred constraint triggers fire at the end of each statement instead,
-- and fires those already pending at once, when it is executed.  The first
-- section checks exactly that: before it, a change leaves no event yet (and
-- a change undone by ROLLBACK TO never gets one); at SET CONSTRAINTS the
-- pending event is appended.  From then on, every change appends its event
-- at the end of its statement, inside this transaction.
--
-- Secrets: the data of an event of a future secret must never hold its
-- value.  No aggregate holds secrets yet, so this is not applicable here;
-- the records' payload (metadata) standing in for it is checked instead.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(107);

\ir helpers/as_role.sql

-- The newest event id (as the superuser, who sees every row).
CREATE FUNCTION pg_temp.mark() RETURNS bigint LANGUAGE sql AS $$
  SELECT coalesce(max(id), 0) FROM metastore.events
$$;
-- The events after an id, as 'action type namespace/resource_id', in id order.
CREATE FUNCTION pg_temp.evs(after bigint) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(format('%s %s %s/%s', action, resource_type, namespace, resource_id) ORDER BY id), '{}')
    FROM metastore.events WHERE id > after
$$;
-- The data of the events after an id, in id order.
CREATE FUNCTION pg_temp.ev_data(after bigint) RETURNS jsonb LANGUAGE sql AS $$
  SELECT coalesce(jsonb_agg(data ORDER BY id), '[]') FROM metastore.events WHERE id > after
$$;
-- 'ok' or the SQLSTATE; the call's effects are kept when it succeeds.
CREATE FUNCTION pg_temp.try(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE p_sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
-- Run p_sql after authenticating with p_key, inside a subtransaction that is
-- always rolled back (which also ends the authentication); returns
-- 'actor=<actor of the newest event>' or the SQLSTATE of an error.
CREATE FUNCTION pg_temp.key_actor(p_key text, p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  a text;
BEGIN
  BEGIN
    PERFORM metastore.authenticate(p_key);
    EXECUTE p_sql;
    SELECT actor INTO a FROM metastore.events ORDER BY id DESC LIMIT 1;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'actor=' || coalesce(a, '<none>');
  EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'MSOK0' THEN SQLERRM ELSE SQLSTATE END;
  END;
END $$;

SELECT session_user AS me \gset

-- ================================================================ deferred: appended at commit
SELECT pg_temp.mark() AS m0 \gset
SELECT metastore.put_record('ev-defer', 'kept', '{"v": 1}') \g /dev/null
SELECT is(pg_temp.evs(:m0), '{}'::text[], 'deferred (the default): a change has no event before its transaction commits');
SAVEPOINT undone;
SELECT metastore.put_record('ev-defer', 'undone', '{"v": 1}') \g /dev/null
ROLLBACK TO SAVEPOINT undone;
-- from here on, deferred constraint triggers fire at the end of each statement
SET CONSTRAINTS ALL IMMEDIATE;
SELECT is(pg_temp.evs(:m0), ARRAY['create record ev-defer/kept'],
          'SET CONSTRAINTS ALL IMMEDIATE fires the pending trigger: one event for the kept change, none for the one rolled back to its savepoint');

-- ================================================================ records
SELECT pg_temp.mark() AS m1 \gset
SELECT metastore.put_record('ev-rec', 'svc/a', '{"password": "s3cr3t-value", "n": 1}', '{b,a}', NULL, 'team-x', 'json', 'the description') \g /dev/null
SELECT is(pg_temp.evs(:m1), ARRAY['create record ev-rec/svc/a'], 'put_record (new key): one create event, at the end of the statement');
SELECT is((SELECT to_jsonb(e) - 'id' - 'created_at' - 'actor' FROM metastore.events e WHERE id > :m1),
          '{"action": "create", "resource_type": "record", "resource_id": "svc/a", "namespace": "ev-rec",
            "data": {"key": "svc/a", "namespace": "ev-rec", "version": 1, "tags": ["a", "b"], "content_type": "json"},
            "environment": null}'::jsonb,
          'the event: seed 001''s shape; data holds key, namespace, version, tags and content_type only');
SELECT is((SELECT actor FROM metastore.events WHERE id > :m1), :'me', 'actor is the acting principal (the session user)');
SELECT ok((SELECT created_at >= now() AND created_at <= clock_timestamp() FROM metastore.events WHERE id > :m1),
          'the timestamp is when the event was appended (within this transaction, not before it)');
SELECT ok((SELECT position('s3cr3t' IN e::text) = 0 AND position('the description' IN e::text) = 0
                  AND position('team-x' IN e::text) = 0 FROM metastore.events e WHERE id > :m1),
          'the event holds nothing of the payload (metadata), description or owner');
SELECT is(metastore.http_events_json(e) - 'id' - 'timestamp',
          jsonb_build_object('action', 'create', 'resource_type', 'record', 'resource_id', 'svc/a', 'namespace', 'ev-rec',
                             'data', e.data, 'environment', NULL, 'actor', :'me'),
          'http_events_json: {id, action, resource_type, resource_id, namespace, data, timestamp, environment, actor}')
  FROM metastore.events e WHERE id > :m1;

SELECT pg_temp.mark() AS m2 \gset
SELECT metastore.put_record('ev-rec', 'svc/a', '{"password": "s3cr3t-value", "n": 2}', '{b,a}', NULL, 'team-x', 'json', 'the description') \g /dev/null
SELECT metastore.put_record('ev-rec', 'svc/a', '{"password": "s3cr3t-value", "n": 2}', '{a,b}', NULL, 'team-x', 'json', 'the description') \g /dev/null
SELECT metastore.delete_record('ev-rec', 'svc/a') \g /dev/null
SELECT metastore.put_record('ev-rec', 'svc/a', '{"n": 4}') \g /dev/null
SELECT metastore.rollback_record('ev-rec', 'svc/a', 1) \g /dev/null
SELECT metastore.delete_record('ev-rec', 'svc/a') \g /dev/null
SELECT metastore.rollback_record('ev-rec', 'svc/a', 2) \g /dev/null
SELECT is(pg_temp.evs(:m2),
          ARRAY['update record ev-rec/svc/a', 'delete record ev-rec/svc/a', 'create record ev-rec/svc/a',
                'update record ev-rec/svc/a', 'delete record ev-rec/svc/a', 'create record ev-rec/svc/a'],
          'update, (identical put: none), delete, put of a deleted key (restore: create), rollback (update), delete, rollback of a deleted record (restore: create)');
SELECT is((SELECT array_agg((data ->> 'version')::int ORDER BY id) FROM metastore.events WHERE id > :m2),
          ARRAY[2, 3, 4, 5, 6, 7], 'each event''s data carries the version it made');
SELECT is((SELECT array_agg(id ORDER BY id) FROM metastore.events WHERE id > :m2),
          (SELECT array_agg(id ORDER BY created_at, id) FROM metastore.events WHERE id > :m2),
          'timestamps do not go backwards as ids increase');

SELECT pg_temp.mark() AS m3 \gset
SELECT is(pg_temp.try($$SELECT metastore.put_record('ev-rec', 'svc/a', '{"n": 9}', '{}', 1)$$), 'MS409', 'precondition: a stale expected_version fails');
SELECT is(pg_temp.try($$SELECT metastore.bulk_records('ev-rec', '[{"op": "put", "key": "bulk/1", "metadata": 1},
                                                            {"op": "put", "key": "svc/a", "metadata": 2, "expected_version": 1}]')$$),
          'MS409', 'precondition: a bulk whose second operation conflicts fails as a whole');
SELECT is(pg_temp.evs(:m3), '{}'::text[], 'failed statements leave no event (not even for the bulk''s first operation)');
SELECT metastore.bulk_records('ev-rec', '[{"op": "put", "key": "bulk/1", "metadata": 1}, {"op": "put", "key": "bulk/2", "metadata": 2},
                                          {"op": "delete", "key": "svc/a"}]') \g /dev/null
SELECT is(pg_temp.evs(:m3), ARRAY['create record ev-rec/bulk/1', 'create record ev-rec/bulk/2', 'delete record ev-rec/svc/a'],
          'bulk_records: one event per operation, in the order of the operations');

-- ================================================================ flags and segments
SELECT pg_temp.mark() AS m4 \gset
SELECT metastore.put_flag('ev-flag', '{"enabled": false}', NULL, 'ev-flags', 'a flag', '{t2,t1}') \g /dev/null
SELECT is((SELECT to_jsonb(e) - 'id' - 'created_at' FROM metastore.events e WHERE id > :m4),
          jsonb_build_object('action', 'create', 'resource_type', 'flag', 'resource_id', 'ev-flag', 'namespace', 'ev-flags',
                             'data', '{"name": "ev-flag", "namespace": "ev-flags", "version": 1, "tags": ["t1", "t2"]}'::jsonb,
                             'environment', NULL, 'actor', :'me'),
          'put_flag: a create event; data holds name, namespace, version and tags only (not the definition)');
SELECT metastore.set_flag_enabled('ev-flag', true) \g /dev/null
SELECT metastore.set_flag_enabled('ev-flag', true) \g /dev/null
SELECT metastore.set_flag_rollout('ev-flag', 30) \g /dev/null
SELECT metastore.delete_flag('ev-flag') \g /dev/null
SELECT metastore.rollback_flag('ev-flag', 2) \g /dev/null
SELECT is(pg_temp.evs(:m4),
          ARRAY['create flag ev-flags/ev-flag', 'update flag ev-flags/ev-flag', 'update flag ev-flags/ev-flag',
                'delete flag ev-flags/ev-flag', 'create flag ev-flags/ev-flag'],
          'put, enable (enabling again: no event), rollout, delete, rollback of the deleted flag (create)');
SELECT is((SELECT array_agg((data ->> 'version')::int ORDER BY id) FROM metastore.events WHERE id > :m4),
          ARRAY[1, 2, 3, 4, 5], 'flag events carry each version');

SELECT pg_temp.mark() AS m5 \gset
SELECT metastore.put_segment('ev-seg', '[{"contextName": "plan", "operator": "IN", "values": ["beta"]}]', 4242, NULL, 'ev-flags', 'beta users') \g /dev/null
SELECT metastore.put_segment('ev-seg', '[{"contextName": "plan", "operator": "IN", "values": ["gamma"]}]') \g /dev/null
SELECT metastore.delete_segment('ev-seg') \g /dev/null
SELECT is(pg_temp.evs(:m5), ARRAY['create segment ev-flags/ev-seg', 'update segment ev-flags/ev-seg', 'delete segment ev-flags/ev-seg'],
          'segments: put, put again with new constraints, delete');
SELECT is(pg_temp.ev_data(:m5),
          '[{"name": "ev-seg", "namespace": "ev-flags", "version": 1, "id": 4242},
            {"name": "ev-seg", "namespace": "ev-flags", "version": 2, "id": 4242},
            {"name": "ev-seg", "namespace": "ev-flags", "version": 3, "id": 4242}]'::jsonb,
          'segment data: name, namespace, version and id only (not the constraints)');

-- ================================================================ services
SELECT pg_temp.mark() AS m6 \gset
SELECT metastore.register_service('ev-svc', 'http://ev-svc.rg:8080', 'http://ev-svc.rg:8080/health', '{"token": "s3cr3t"}', 30, NULL, 'ev-svcs') \g /dev/null
SELECT is((SELECT to_jsonb(e) - 'id' - 'created_at' FROM metastore.events e WHERE id > :m6),
          jsonb_build_object('action', 'create', 'resource_type', 'service', 'resource_id', 'ev-svc', 'namespace', 'ev-svcs',
                             'data', '{"name": "ev-svc", "namespace": "ev-svcs", "version": 1, "instance_id": "http://ev-svc.rg:8080",
                                       "url": "http://ev-svc.rg:8080", "status": "unknown"}'::jsonb,
                             'environment', NULL, 'actor', :'me'),
          'register_service: a create event; data holds name, namespace, version, instance_id, url and status only (no metadata)');
SELECT pg_temp.mark() AS m7 \gset
SELECT metastore.report_health('ev-svc', 'healthy', 10, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.report_health('ev-svc', 'healthy', 12, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.register_service('ev-svc', 'http://ev-svc.rg:8080', 'http://ev-svc.rg:8080/health', '{"token": "s3cr3t"}', 30, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.register_service('ev-svc', 'http://ev-svc.rg:8080', 'http://ev-svc.rg:8080/health', '{"token": "other"}', 30, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.report_health('ev-svc', 'unhealthy', NULL, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.report_health('ev-svc', 'unhealthy', NULL, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.deregister_service('ev-svc', NULL, 'ev-svcs') \g /dev/null
SELECT metastore.register_service('ev-svc', 'http://ev-svc.rg:8080', NULL, '{}', 30, NULL, 'ev-svcs') \g /dev/null
SELECT is(pg_temp.evs(:m7),
          ARRAY['update service ev-svcs/ev-svc', 'update service ev-svcs/ev-svc', 'update service ev-svcs/ev-svc',
                'delete service ev-svcs/ev-svc', 'create service ev-svcs/ev-svc'],
          'report healthy (a change), healthy again (heartbeat: none), re-register same (none), changed metadata, unhealthy, unhealthy again (none), deregister, register again');
SELECT is((SELECT jsonb_agg(jsonb_build_array(data -> 'version', data -> 'status') ORDER BY id) FROM metastore.events WHERE id > :m7),
          '[[1, "healthy"], [2, "healthy"], [2, "unhealthy"], [3, "unhealthy"], [4, "unknown"]]'::jsonb,
          'service events carry version and status');
SELECT ok((SELECT bool_and(position('s3cr3t' IN e::text) = 0) FROM metastore.events e WHERE resource_type = 'service'),
          'no service event holds the metadata');
SELECT pg_temp.mark() AS m8 \gset
SELECT metastore.register_service('ev-multi', 'http://m1.rg', NULL, '{}', 30, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.register_service('ev-multi', 'http://m2.rg', NULL, '{}', 30, NULL, 'ev-svcs') \g /dev/null
SELECT metastore.deregister_service('ev-multi', NULL, 'ev-svcs') \g /dev/null
SELECT is((SELECT array_agg(action || ' ' || (data ->> 'instance_id') ORDER BY id) FROM metastore.events WHERE id > :m8),
          ARRAY['create http://m1.rg', 'create http://m2.rg', 'delete http://m1.rg', 'delete http://m2.rg'],
          'one event per instance: deregistering two instances is two delete events');
SELECT pg_temp.mark() AS m9 \gset
UPDATE metastore.services SET last_seen_at = now() - interval '1 hour' WHERE namespace = 'ev-svcs' AND name = 'ev-svc';
SELECT is(metastore.get_service('ev-svc', 'ev-svcs') ->> 'status', 'unhealthy', 'precondition: the instance has expired');
SELECT is(pg_temp.evs(:m9), '{}'::text[], 'an expiry is derived when read: no event');

-- ================================================================ every event so far
SELECT is((SELECT count(*) FROM metastore.events WHERE environment IS NOT NULL), 0::bigint,
          'environment is null for every event (no aggregate has an environment column yet)');
SELECT is((SELECT count(*) FROM metastore.events WHERE actor <> :'me'), 0::bigint, 'every event so far names the session user');
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id IS NULL OR resource_id <> coalesce(data ->> 'key', data ->> 'name')),
          0::bigint, 'resource_id is the record key, flag, segment or service name, as in data');
SELECT is((SELECT count(*) FROM metastore.events WHERE namespace <> data ->> 'namespace'), 0::bigint,
          'namespace is the namespace in data');

-- ================================================================ actor: a role, an API key
CREATE ROLE ms_ev_writer NOLOGIN;
SELECT metastore."grant"('ms_ev_writer', 'ev-a', 'writer') \g /dev/null
SELECT pg_temp.mark() AS m10 \gset
SELECT is(ms_test.query_as('ms_ev_writer', $$SELECT (metastore.put_record('ev-a', 'by-role', '1')).version::text$$), '1',
          'precondition: a writer role puts a record');
SELECT results_eq($$SELECT action, resource_id, actor FROM metastore.events WHERE id > $$ || :m10,
                  $$VALUES ('create'::text, 'by-role'::text, 'ms_ev_writer'::text)$$, 'actor is the role that made the change');
SELECT metastore."grant"('ev-key-writer', 'ev-a', 'writer') \g /dev/null
SELECT api_key AS wkey FROM metastore.create_api_key('ev-key-writer') \gset
SELECT is(pg_temp.key_actor(:'wkey', $$SELECT metastore.put_record('ev-a', 'by-key', '1')$$), 'actor=ev-key-writer',
          'actor is the API key''s principal (not the superuser session)');
SELECT is(pg_temp.key_actor(:'wkey', $$SELECT metastore.register_service('by-key', 'http://k.rg', NULL, '{}', 30, NULL, 'ev-a')$$),
          'actor=ev-key-writer', '... for a service registration too');
SELECT is(pg_temp.evs(:m10), ARRAY['create record ev-a/by-role'], 'the key calls were rolled back with their events');

-- ================================================================ ids in statement order, events_since paging
SELECT pg_temp.mark() AS p0 \gset
SELECT metastore.put_record('ev-page', 'r' || i, to_jsonb(i)) FROM generate_series(1, 3) i \g /dev/null
SELECT metastore.put_flag('ev-page-f1', '{"enabled": true}', NULL, 'ev-page') \g /dev/null
SELECT metastore.put_record('ev-page', 'r4', '4') \g /dev/null
SELECT metastore.register_service('ev-page-s', 'http://p.rg', NULL, '{}', 30, NULL, 'ev-page') \g /dev/null
SELECT metastore.put_flag('ev-page-f2', '{"enabled": false}', NULL, 'ev-page') \g /dev/null
SELECT metastore.put_record('ev-page', 'r5', '5') \g /dev/null
SELECT is(pg_temp.evs(:p0),
          ARRAY['create record ev-page/r1', 'create record ev-page/r2', 'create record ev-page/r3', 'create flag ev-page/ev-page-f1',
                'create record ev-page/r4', 'create service ev-page/ev-page-s', 'create flag ev-page/ev-page-f2', 'create record ev-page/r5'],
          'ids follow statement order (and row order within one statement)');
-- ids are not gap-free (a rolled-back event used one): the tests use the ids seen
SELECT ids[1] AS e1, ids[2] AS e2, ids[3] AS e3, ids[4] AS e4, ids[5] AS e5, ids[6] AS e6, ids[7] AS e7, ids[8] AS e8
  FROM (SELECT array_agg(id ORDER BY id) AS ids FROM metastore.events WHERE id > :p0) x \gset
SELECT is(metastore.latest_event_id(), :e8::bigint, 'latest_event_id is the newest id');
SELECT is((SELECT array_agg(id ORDER BY o) FROM metastore.events_since(:p0, 3) WITH ORDINALITY x(id, o)),
          ARRAY[:e1, :e2, :e3]::bigint[], 'events_since(after, 3): the next three, oldest first');
SELECT is((SELECT array_agg(id ORDER BY o) FROM metastore.events_since(:e3, 3) WITH ORDINALITY x(id, o)),
          ARRAY[:e4, :e5, :e6]::bigint[], 'the next page starts after the last id seen');
SELECT is((SELECT array_agg(id ORDER BY o) FROM metastore.events_since(:e6, 3) WITH ORDINALITY x(id, o)),
          ARRAY[:e7, :e8]::bigint[], 'the last page is short');
SELECT is_empty(format('SELECT * FROM metastore.events_since(%s, 3)', :e8), 'after the newest id: nothing');
SELECT is_empty(format('SELECT * FROM metastore.events_since(%s, 1000)', :e8 + 1000), 'after an id beyond the newest: nothing');
SELECT is((SELECT array_agg(e.resource_id ORDER BY o) FROM metastore.events_since(:p0, 100, '{flag}') WITH ORDINALITY x(id, o)
             JOIN metastore.events e USING (id)),
          ARRAY['ev-page-f1', 'ev-page-f2'], 'resource_types {flag}: only flag events');
SELECT is((SELECT array_agg(resource_type || ':' || resource_id ORDER BY id) FROM metastore.events_since(:p0, 100, '{service,flag}')),
          ARRAY['flag:ev-page-f1', 'service:ev-page-s', 'flag:ev-page-f2'], 'resource_types {service,flag}: both, in id order');
SELECT is((SELECT array_agg(resource_id ORDER BY id) FROM metastore.events_since(:p0, 2, '{record}')),
          ARRAY['r1', 'r2'], 'limit applies after the type filter');
SELECT is((SELECT array_agg(resource_id ORDER BY id) FROM metastore.events_since(:e2, 2, '{record}')),
          ARRAY['r3', 'r4'], '... and the next page of records (after r2) skips the flag between r3 and r4');
SELECT is_empty(format($$SELECT * FROM metastore.events_since(%s, 100, '{configuration}')$$, :p0), 'a type without events: nothing');
SELECT is((SELECT count(*) FROM metastore.events_since(0, 1000)), (SELECT count(*) FROM metastore.events),
          'events_since(0, 1000) as the superuser: every event (fewer than 1000 so far)');
SELECT is((SELECT count(*) FROM metastore.events_since()), LEAST(100, (SELECT count(*) FROM metastore.events)),
          'the defaults: after 0, limit 100');
SELECT is((SELECT count(*) FROM metastore.events_since(:p0, 1)), 1::bigint, 'limit 1');

-- limits
SELECT throws_ok(format('SELECT * FROM metastore.events_since(%s, 0)', :p0), '22023', NULL, 'limit 0: 22023');
SELECT throws_ok(format('SELECT * FROM metastore.events_since(%s, 1001)', :p0), '22023', NULL, 'limit 1001: 22023');
SELECT throws_ok(format('SELECT * FROM metastore.events_since(%s, -1)', :p0), '22023', NULL, 'limit -1: 22023');
SELECT throws_ok(format('SELECT * FROM metastore.events_since(%s, NULL)', :p0), '22023', NULL, 'limit NULL: 22023');
SELECT throws_ok('SELECT * FROM metastore.events_since(-1, 10)', '22023', NULL, 'a negative after: 22023');
SELECT throws_ok('SELECT * FROM metastore.events_since(NULL, 10)', '22023', NULL, 'after NULL: 22023');
SELECT is((SELECT count(*) FROM metastore.events_since(0, 1000)), (SELECT count(*) FROM metastore.events), 'limit 1000 is allowed');

-- ================================================================ access
CREATE ROLE ms_ev_reader NOLOGIN;   -- reader of ev-a
CREATE ROLE ms_ev_pat NOLOGIN;      -- reader of ev-p.*
CREATE ROLE ms_ev_nogrant NOLOGIN;  -- no grant at all
CREATE ROLE ms_ev_root NOLOGIN;     -- admin of *
CREATE ROLE ms_ev_nsadmin NOLOGIN;  -- admin of ev-a only
SELECT metastore."grant"('ms_ev_reader', 'ev-a', 'reader') \g /dev/null
SELECT metastore."grant"('ms_ev_pat', 'ev-p.*', 'reader') \g /dev/null
SELECT metastore."grant"('ms_ev_root', '*', 'admin') \g /dev/null
SELECT metastore."grant"('ms_ev_nsadmin', 'ev-a', 'admin') \g /dev/null
SELECT pg_temp.mark() AS a0 \gset
SELECT metastore.put_record('ev-a', 'a1', '1') \g /dev/null
SELECT metastore.put_record('ev-b', 'b1', '1') \g /dev/null
SELECT metastore.put_flag('ev-a-flag', '{"enabled": true}', NULL, 'ev-a') \g /dev/null
SELECT metastore.register_service('ev-b-svc', 'http://b.rg', NULL, '{}', 30, NULL, 'ev-b') \g /dev/null
SELECT metastore.put_record('ev-p.x', 'p1', '1') \g /dev/null
SELECT metastore.put_record('ev-pp', 'p2', '1') \g /dev/null
SELECT metastore.put_record('ev-b', 'b2', '1') \g /dev/null
SELECT is(ms_test.query_as('ms_ev_reader', format($$SELECT string_agg(namespace || '/' || resource_id, ' ' ORDER BY id) FROM metastore.events_since(%s, 1000)$$, :a0)),
          'ev-a/a1 ev-a/ev-a-flag', 'a reader of ev-a sees only the events of ev-a');
SELECT is(ms_test.query_as('ms_ev_reader', $$SELECT count(*)::text FROM metastore.events_since(0, 1000) WHERE namespace <> 'ev-a'$$),
          '0', '... of all time, too');
SELECT is(ms_test.query_as('ms_ev_reader', $$SELECT metastore.latest_event_id()::text$$),
          (SELECT max(id)::text FROM metastore.events WHERE namespace = 'ev-a'),
          'latest_event_id for the reader is the newest id it may read (not the newest overall)');
SELECT is(ms_test.query_as('ms_ev_reader', format($$SELECT string_agg(resource_id, ' ' ORDER BY id) FROM metastore.events_since(%s, 1, '{flag}')$$, :a0)),
          'ev-a-flag', 'type filter and limit apply to what the reader may see');
SELECT is(ms_test.query_as('ms_ev_pat', format($$SELECT string_agg(namespace || '/' || resource_id, ' ' ORDER BY id) FROM metastore.events_since(%s, 1000)$$, :a0)),
          'ev-p.x/p1', 'a reader of ev-p.* sees ev-p.x, not ev-pp');
SELECT is(ms_test.query_as('ms_ev_nogrant', $$SELECT count(*)::text FROM metastore.events_since(0, 1000)$$),
          '0', 'a principal without grants sees no event');
SELECT is(ms_test.query_as('ms_ev_nogrant', $$SELECT metastore.latest_event_id()::text$$),
          '0', '... and its latest_event_id is 0');
SELECT is(ms_test.query_as('ms_ev_root', format($$SELECT count(*)::text FROM metastore.events_since(%s, 1000)$$, :a0)),
          '7', 'an admin of * sees every event');
SELECT is(ms_test.try_as('ms_ev_reader', 'SELECT * FROM metastore.events'), '42501', 'no direct SELECT on the events table');
SELECT is(ms_test.try_as('ms_ev_writer', $$INSERT INTO metastore.events (action, resource_type, resource_id, namespace, actor, created_at)
                                          VALUES ('create', 'record', 'forged', 'ev-a', 'someone-else', now())$$),
          '42501', 'a writer cannot append (forge) an event directly');
SELECT is(ms_test.try_as('ms_ev_root', 'DELETE FROM metastore.events'), '42501', 'nor can an admin delete events directly');
SELECT is(ms_test.try_as('ms_ev_root', $$UPDATE metastore.events SET actor = 'x'$$), '42501', 'nor update them');
SELECT is(ms_test.try_as('ms_ev_reader', $$SELECT metastore.event_trigger()$$), '42501', 'event_trigger is not callable');
SELECT is(ms_test.query_as('ms_ev_reader', $$SELECT (metastore.http_events_list('{"query": {"after": "0", "types": "flag"}}'::jsonb)).status::text$$),
          '200', 'precondition: the reader can call the REST handler of GET /api/v1/events');
SELECT is((SELECT string_agg(x ->> 'resource_id', ' ')
             FROM jsonb_array_elements(ms_test.query_as('ms_ev_reader',
                    format($$SELECT (metastore.http_events_list('{"query": {"after": "%s"}}'::jsonb)).body::text$$, :a0))::jsonb -> 'events') x),
          'a1 ev-a-flag', 'GET /api/v1/events (handler): the same two events for the reader');

-- ================================================================ rolled-back changes leave no event
SELECT pg_temp.mark() AS r0 \gset
SAVEPOINT sp;
SELECT metastore.put_record('ev-rb', 'gone', '{"v": 1}') \g /dev/null
SELECT metastore.register_service('ev-rb-svc', 'http://rb.rg', NULL, '{}', 30, NULL, 'ev-rb') \g /dev/null
SELECT is(pg_temp.evs(:r0), ARRAY['create record ev-rb/gone', 'create service ev-rb/ev-rb-svc'],
          'inside a savepoint (constraints immediate) the events are appended at statement end');
ROLLBACK TO SAVEPOINT sp;
SELECT is(pg_temp.evs(:r0), '{}'::text[], 'ROLLBACK TO SAVEPOINT removes them with the changes');
SELECT is(metastore.latest_event_id(), :r0::bigint, 'latest_event_id is back where it was');
SELECT is(pg_temp.try($$SELECT metastore.register_service('bad name', 'http://rb.rg', NULL, '{}', 30, NULL, 'ev-rb')$$), '22023',
          'precondition: an invalid registration fails');
SELECT is(ms_test.try_as('ms_ev_reader', $$SELECT metastore.put_record('ev-a', 'denied', '1')$$), '42501',
          'precondition: a reader''s put is refused');
SELECT is(pg_temp.evs(:r0), '{}'::text[], 'refused changes leave no event');
SELECT metastore.put_record('ev-rb', 'after', '1') \g /dev/null
SELECT cmp_ok((SELECT min(id) FROM metastore.events WHERE id > :r0), '>', :r0::bigint,
              'the next event gets a new id (ids of rolled-back events are not reused, but none is visible)');

-- ================================================================ prune_events
-- the documented default retention, whatever the cluster says (a superuser setting)
SET LOCAL metastore.event_retention_hours = 168;
SELECT is(ms_test.try_as(who, 'SELECT metastore.prune_events()'), code, format('prune_events as %s: %s', who, code))
  FROM (VALUES ('ms_ev_reader', '42501'), ('ms_ev_writer', '42501'), ('ms_ev_nsadmin', '42501'), ('ms_ev_nogrant', '42501'),
               ('ms_ev_root', 'ok')) AS t(who, code);
SELECT count(*) AS total_before FROM metastore.events \gset
SELECT is(ms_test.query_as('ms_ev_root', 'SELECT metastore.prune_events()::text'), '0',
          'prune_events() with the default retention (168 hours): nothing is that old yet');
-- age some events (a superuser may; no API can)
UPDATE metastore.events SET created_at = now() - interval '200 hours' WHERE namespace = 'ev-rec';
UPDATE metastore.events SET created_at = now() - interval '100 hours' WHERE namespace = 'ev-flags' AND resource_type = 'flag';
UPDATE metastore.events SET created_at = now() - interval '30 minutes' WHERE namespace = 'ev-flags' AND resource_type = 'segment';
SELECT count(*) AS n_rec FROM metastore.events WHERE namespace = 'ev-rec' \gset
SELECT count(*) AS n_flag FROM metastore.events WHERE namespace = 'ev-flags' AND resource_type = 'flag' \gset
SELECT ok(:n_rec > 0 AND :n_flag > 0, 'precondition: there are aged events');
SELECT is(ms_test.try_as('ms_ev_reader', 'SELECT metastore.prune_events(interval ''1 hour'')'), '42501',
          'a reader still may not prune old events');
SELECT is(ms_test.query_as('ms_ev_root', $$SELECT metastore.prune_events(interval '0')::text$$), '0', 'older_than 0: nothing is pruned');
SELECT is(ms_test.query_as('ms_ev_root', $$SELECT metastore.prune_events(interval '-1 hour')::text$$), '0', 'a negative older_than: nothing is pruned');
SELECT is((SELECT count(*) FROM metastore.events), :total_before::bigint, '... all events are still there');
SELECT is(ms_test.query_as('ms_ev_root', 'SELECT metastore.prune_events()::text'), :'n_rec',
          'prune_events() (168 hours): deletes the events 200 hours old, returns how many');
SELECT is((SELECT count(*) FROM metastore.events WHERE namespace = 'ev-rec'), 0::bigint, '... they are gone');
SELECT is((SELECT count(*) FROM metastore.events WHERE namespace = 'ev-flags' AND resource_type = 'flag'), :n_flag::bigint,
          '... the ones 100 hours old stay');
SELECT is(ms_test.query_as('ms_ev_root', $$SELECT metastore.prune_events(interval '1 hour')::text$$), :'n_flag',
          'prune_events(1 hour): deletes the events 100 hours old');
SELECT is((SELECT count(*) FROM metastore.events WHERE namespace = 'ev-flags'), 3::bigint,
          '... and keeps the segment events 30 minutes old');
SELECT is((SELECT count(*) FROM metastore.events), (:total_before - :n_rec - :n_flag)::bigint, 'nothing else was pruned');
SELECT is_empty($$SELECT * FROM metastore.events_since(0, 1000) WHERE namespace = 'ev-rec'$$, 'pruned events are gone from events_since');

-- automatic pruning: every 1000th event prunes events older than the retention,
-- whatever their namespace (the outbox is bounded for everyone)
INSERT INTO metastore.events (action, resource_type, resource_id, namespace, data, actor, created_at)
VALUES ('update', 'record', 'old-a', 'ev-a', '{}', 'someone', now() - interval '200 hours'),
       ('update', 'record', 'old-b', 'ev-b', '{}', 'someone', now() - interval '200 hours'),
       ('update', 'record', 'new-b', 'ev-b', '{}', 'someone', now() - interval '100 hours');
SELECT (pg_temp.mark() / 1000 + 1) * 1000 AS next_k \gset
SELECT format('ALTER TABLE metastore.events ALTER COLUMN id RESTART WITH %s', :next_k - 1) \gexec
SELECT metastore.put_record('ev-a', 'before-k', '1') \g /dev/null
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id IN ('old-a', 'old-b')), 2::bigint,
          'event 999 of 1000 does not prune');
SELECT is(ms_test.query_as('ms_ev_writer', $$SELECT (metastore.put_record('ev-a', 'kth', '1')).version::text$$), '1',
          'a writer of ev-a makes the change that appends event 1000');
SELECT is((SELECT id FROM metastore.events WHERE resource_id = 'kth'), :next_k::bigint, 'precondition: its event has id 1000k');
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id = 'old-a'), 0::bigint,
          'the 1000th event pruned the old event of ev-a');
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id = 'new-b'), 1::bigint,
          '... kept the one younger than the retention');
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id = 'old-b'), 0::bigint,
          '... and pruned the old event of ev-b too, a namespace the committing writer cannot read (retention is for the whole outbox)');
-- the same when the superuser appends event 2000k (control: the prune itself works)
INSERT INTO metastore.events (action, resource_type, resource_id, namespace, data, actor, created_at)
VALUES ('update', 'record', 'old-c', 'ev-b', '{}', 'someone', now() - interval '200 hours');
SELECT format('ALTER TABLE metastore.events ALTER COLUMN id RESTART WITH %s', :next_k + 1000) \gexec
SELECT metastore.put_record('ev-a', 'kth-2', '1') \g /dev/null
SELECT is((SELECT id FROM metastore.events WHERE resource_id = 'kth-2'), (:next_k + 1000)::bigint, 'precondition: the superuser''s event has the next multiple of 1000');
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id = 'old-c'), 0::bigint,
          'control: a superuser''s 1000th event prunes the old event of ev-b');
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_id = 'new-b'), 1::bigint, '... and keeps the younger one');

SELECT * FROM finish();
ROLLBACK;
