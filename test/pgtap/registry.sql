-- pgTAP: the service registry (sql/install/55_registry.sql, docs/registry.md).
-- Registration lifecycle (register -> unknown, report -> healthy, a
-- re-registration with the same fields is a heartbeat, changed fields make a
-- version, deregister, register again), several instances of one service and
-- the aggregate status, the TTL derived at read time, filtering by health,
-- bad input (22004 / 22023 / 22001 / 54000, with nothing changed), access by
-- namespace role (reader reads, writer writes, no grant sees nothing) and the
-- history versions of registrations (not of heartbeats).
--
-- The whole suite is one transaction, so now() is constant: a report or a
-- registration sets last_seen_at = now(), and "time passing" is simulated by
-- moving last_seen_at into the past with a direct UPDATE as the superuser
-- (which no API does: the point is that reads alone derive the expiry).
--
-- Expected values are written out literally (or computed from now() and the
-- ttl), never read back from the function under test.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(223);

\ir helpers/as_role.sql

-- Everything a refused registry call could have touched, as one string.
CREATE FUNCTION pg_temp.svc_state() RETURNS text LANGUAGE sql AS $$
  SELECT format('services=%s history=%s digest=%s',
                (SELECT count(*) FROM metastore.services),
                (SELECT count(*) FROM metastore.history WHERE aggregate = 'service'),
                md5(coalesce((SELECT string_agg(s::text, '|' ORDER BY s.id) FROM metastore.services s), '')))
$$;
-- The history of a service as 'version:operation ...' (all its instances, in order).
CREATE FUNCTION pg_temp.svc_history(ns text, n text) RETURNS text LANGUAGE sql AS $$
  SELECT coalesce(string_agg(version || ':' || operation, ' ' ORDER BY id), '')
    FROM metastore.history WHERE aggregate = 'service' AND namespace = ns AND entity_key = n
$$;
-- The stored row of one instance.
CREATE FUNCTION pg_temp.svc_row(ns text, n text, inst text) RETURNS metastore.services LANGUAGE sql AS $$
  SELECT * FROM metastore.services s WHERE s.namespace = ns AND s.name = n AND s.instance_id = inst
$$;
-- 'ok' or the SQLSTATE; the call's effects are kept when it succeeds.
CREATE FUNCTION pg_temp.try(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE p_sql;
  RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE;
END $$;
-- 'SQLSTATE: message' of the error p_sql raises (the call is rolled back), or 'ok'.
CREATE FUNCTION pg_temp.err(p_sql text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    EXECUTE p_sql;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'undo';
  EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'MSOK0' THEN 'ok' ELSE SQLSTATE || ': ' || SQLERRM END;
  END;
END $$;
-- 'ok: <first column>' or the SQLSTATE of p_sql run after authenticating
-- with p_key; always rolled back (which also ends the authentication).
CREATE FUNCTION pg_temp.as_key(p_key text, p_sql text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  r text;
BEGIN
  BEGIN
    PERFORM metastore.authenticate(p_key);
    EXECUTE p_sql INTO r;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = coalesce(r, '<null>');
  EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'MSOK0' THEN 'ok: ' || SQLERRM ELSE SQLSTATE END;
  END;
END $$;
-- Instance names of list_services(status, namespace), in the order returned.
CREATE FUNCTION pg_temp.listed(st text, ns text) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(j ->> 'name' ORDER BY o), '{}')
    FROM metastore.list_services(st, ns) WITH ORDINALITY AS x(j, o)
$$;

-- ================================================================ lifecycle
SELECT metastore.register_service('users', 'http://users.rg:8080', 'http://users.rg:8080/health',
                                  '{"version": "1.0.0", "region": "us-east-1"}', 30, NULL, 'rg-life') AS reg1 \gset

SELECT is(:'reg1'::jsonb - 'id' - 'last_health_check' - 'expires_at' - 'registered_at' - 'updated_at',
          '{"namespace": "rg-life", "name": "users", "service_name": "users",
            "instance_id": "http://users.rg:8080", "url": "http://users.rg:8080", "service_url": "http://users.rg:8080",
            "health_check_url": "http://users.rg:8080/health", "metadata": {"version": "1.0.0", "region": "us-east-1"},
            "ttl": 30, "reported_status": "unknown", "status": "unknown", "expired": false,
            "response_time": null, "version": 1}'::jsonb,
          'register_service: a new instance is unknown, version 1, instance_id defaults to the url, both field spellings');
SELECT is(ARRAY[(:'reg1'::jsonb ->> 'last_health_check')::timestamptz, (:'reg1'::jsonb ->> 'registered_at')::timestamptz,
                (:'reg1'::jsonb ->> 'updated_at')::timestamptz, (:'reg1'::jsonb ->> 'expires_at')::timestamptz],
          ARRAY[now(), now(), now(), now() + interval '30 seconds'],
          'registration counts as the first report: last_health_check = now(), expires_at = now() + ttl');
SELECT is((:'reg1'::jsonb ->> 'id')::bigint, (pg_temp.svc_row('rg-life', 'users', 'http://users.rg:8080')).id,
          'the id is the stored row''s id');
SELECT results_eq(
  $$SELECT status, version, created_by = session_user, updated_by = session_user, deleted_at IS NULL, response_time_ms
      FROM metastore.services WHERE namespace = 'rg-life'$$,
  $$VALUES ('unknown'::text, 1, true, true, true, NULL::float8)$$,
  'one row is stored, created_by / updated_by = the acting principal');
SELECT is(pg_temp.svc_history('rg-life', 'users'), '1:create', 'the registration is history version 1 (create)');

SELECT is(metastore.get_service('users', 'rg-life') - 'instances' - 'last_health_check' - 'expires_at' - 'registered_at' - 'updated_at',
          '{"namespace": "rg-life", "name": "users", "service_name": "users", "status": "unknown", "healthy_instances": 0,
            "url": "http://users.rg:8080", "service_url": "http://users.rg:8080",
            "health_check_url": "http://users.rg:8080/health", "metadata": {"version": "1.0.0", "region": "us-east-1"},
            "ttl": 30, "response_time": null, "version": 1}'::jsonb,
          'get_service: the aggregate status and the one instance''s fields at the top (seed 001''s shape)');
SELECT is(jsonb_array_length(metastore.get_service('users', 'rg-life') -> 'instances'), 1, 'get_service lists its one instance');
SELECT is(metastore.get_service('users', 'rg-life') -> 'instances' -> 0, :'reg1'::jsonb,
          'the instance in get_service is the one register_service returned');
SELECT is(metastore.get_service('nobody', 'rg-life'), NULL, 'get_service of an unregistered service is NULL');
SELECT is(metastore.get_service('users', 'rg-elsewhere'), NULL, 'services are per namespace: not found in another one');

-- report healthy
SELECT metastore.report_health('users', 'healthy', 150.5, NULL, 'rg-life') AS rep1 \gset
SELECT is(ARRAY[:'rep1'::jsonb ->> 'status', :'rep1'::jsonb ->> 'reported_status', :'rep1'::jsonb ->> 'response_time',
                :'rep1'::jsonb ->> 'version', :'rep1'::jsonb ->> 'expired'],
          ARRAY['healthy', 'healthy', '150.5', '1', 'false'],
          'report_health without instance_id (one instance): healthy, response_time 150.5, still version 1');
SELECT is((metastore.get_service('users', 'rg-life') ->> 'status'), 'healthy', 'get_service now says healthy');
SELECT is((metastore.get_service('users', 'rg-life') ->> 'healthy_instances')::int, 1, '... with one healthy instance');
SELECT is(pg_temp.svc_history('rg-life', 'users'), '1:create', 'a health report writes no history');
SELECT is(pg_temp.listed('healthy', 'rg-life'), ARRAY['users'], 'list_services(healthy) lists it');

-- re-registration with the same fields: a heartbeat (the last report was an hour ago)
UPDATE metastore.services SET last_seen_at = now() - interval '1 hour' WHERE namespace = 'rg-life';
SELECT is((metastore.get_service('users', 'rg-life') ->> 'status'), 'unhealthy',
          'precondition: with its last report an hour old (ttl 30) the instance has expired');
SELECT metastore.register_service('users', 'http://users.rg:8080', 'http://users.rg:8080/health',
                                  '{"region": "us-east-1", "version": "1.0.0"}', 30, NULL, 'rg-life') AS reg2 \gset
SELECT is(ARRAY[:'reg2'::jsonb ->> 'version', :'reg2'::jsonb ->> 'status', :'reg2'::jsonb ->> 'expired'],
          ARRAY['1', 'healthy', 'false'],
          're-registering with the same fields (metadata keys in another order): version 1, the reported status kept, not expired');
SELECT is((pg_temp.svc_row('rg-life', 'users', 'http://users.rg:8080')).last_seen_at, now(),
          'the heartbeat renewed last_seen_at');
SELECT is(pg_temp.svc_history('rg-life', 'users'), '1:create', 'the heartbeat wrote no history');
SELECT is((SELECT count(*) FROM metastore.services WHERE namespace = 'rg-life'), 1::bigint, 'and created no second row');

-- changed fields make versions
SELECT is((metastore.register_service('users', 'http://users.rg:8080', 'http://users.rg:8080/health',
                                      '{"version": "1.1.0", "region": "us-east-1"}', 30, NULL, 'rg-life')) ->> 'version',
          '2', 'new metadata: version 2');
SELECT is((metastore.register_service('users', 'http://users.rg:8080', 'http://users.rg:8080/health',
                                      '{"version": "1.1.0", "region": "us-east-1"}', 60, NULL, 'rg-life')) ->> 'version',
          '3', 'a new ttl: version 3');
SELECT is((metastore.register_service('users', 'http://users.rg:8080', NULL,
                                      '{"version": "1.1.0", "region": "us-east-1"}', 60, NULL, 'rg-life')) ->> 'version',
          '4', 'dropping the health_check_url: version 4');
SELECT is((metastore.register_service('users', 'http://users.rg:8080', NULL,
                                      '{"version": "1.1.0", "region": "us-east-1"}', 60, NULL, 'rg-life')) ->> 'version',
          '4', 'the same again (health_check_url still NULL): no version');
SELECT is((metastore.register_service('users', 'http://users.rg:8080/v2', NULL,
                                      '{"version": "1.1.0", "region": "us-east-1"}', 60, 'http://users.rg:8080', 'rg-life')) ->> 'version',
          '5', 'a new url for the same instance_id: version 5');
SELECT results_eq(
  $$SELECT instance_id, url, health_check_url, metadata, ttl_seconds, status, version
      FROM metastore.services WHERE namespace = 'rg-life'$$,
  $$VALUES ('http://users.rg:8080'::text, 'http://users.rg:8080/v2'::text, NULL::text,
            '{"version": "1.1.0", "region": "us-east-1"}'::jsonb, 60, 'healthy'::text, 5)$$,
  'the stored row has the latest fields; a re-registration keeps the reported status');
SELECT is(pg_temp.svc_history('rg-life', 'users'), '1:create 2:update 3:update 4:update 5:update',
          'one history row per version');
SELECT is((SELECT array_agg(snapshot -> 'metadata' ->> 'version' ORDER BY id) FROM metastore.history
            WHERE aggregate = 'service' AND namespace = 'rg-life'),
          ARRAY['1.0.0', '1.1.0', '1.1.0', '1.1.0', '1.1.0'], 'history snapshots keep each version''s metadata');

-- deregister
SELECT is(metastore.deregister_service('users', NULL, 'rg-life'), 1, 'deregister_service returns how many instances it removed');
SELECT is(metastore.get_service('users', 'rg-life'), NULL, 'a deregistered service is gone from get_service');
SELECT is(pg_temp.listed(NULL, 'rg-life'), '{}'::text[], '... and from list_services');
SELECT ok(NOT EXISTS (SELECT 1 FROM metastore.list_services() j WHERE j ->> 'namespace' = 'rg-life'),
          '... and from list_services over every namespace');
SELECT results_eq($$SELECT version, deleted_at IS NOT NULL FROM metastore.services WHERE namespace = 'rg-life'$$,
                  $$VALUES (6, true)$$, 'deregistering is a soft delete: version 6');
SELECT pg_temp.svc_state() AS st_gone \gset
SELECT throws_ok($$SELECT metastore.deregister_service('users', NULL, 'rg-life')$$, 'MS404', NULL,
                 'deregistering again: MS404');
SELECT throws_ok($$SELECT metastore.report_health('users', 'healthy', NULL, NULL, 'rg-life')$$, 'MS404', NULL,
                 'reporting the health of a deregistered service: MS404');
SELECT is(pg_temp.svc_state(), :'st_gone', 'the refused calls changed nothing');

-- register again: it comes back
SELECT metastore.register_service('users', 'http://users.rg:8080/v2', NULL, '{}', 30, 'http://users.rg:8080', 'rg-life') AS reg3 \gset
SELECT is(ARRAY[:'reg3'::jsonb ->> 'status', :'reg3'::jsonb ->> 'version', :'reg3'::jsonb ->> 'expired'],
          ARRAY['unknown', '7', 'false'], 'registering again brings it back: unknown (not its old status), version 7');
SELECT is((metastore.get_service('users', 'rg-life') ->> 'status'), 'unknown', 'get_service finds it again');
SELECT is(pg_temp.svc_history('rg-life', 'users'), '1:create 2:update 3:update 4:update 5:update 6:delete 7:restore',
          'history: the deregistration and the comeback are versions too');
SELECT is((SELECT count(*) FROM metastore.services WHERE namespace = 'rg-life'), 1::bigint, 'the comeback reuses the row');

-- ================================================================ several instances
SELECT metastore.register_service('orders', 'http://orders-1.rg:8080', NULL, '{}', 30, NULL, 'rg-multi') \g /dev/null
SELECT metastore.register_service('orders', 'http://orders-2.rg:8080', NULL, '{}', 30, NULL, 'rg-multi') \g /dev/null
SELECT is((SELECT array_agg(instance_id ORDER BY instance_id) FROM metastore.services WHERE namespace = 'rg-multi'),
          ARRAY['http://orders-1.rg:8080', 'http://orders-2.rg:8080'], 'two URLs of one service are two instances');
SELECT is((metastore.register_service('orders', 'http://orders-1.rg:8080', NULL, '{}', 30, 'blue', 'rg-multi')) ->> 'instance_id',
          'blue', 'an explicit instance_id makes a third instance, even on a URL already used');
SELECT is((SELECT count(*) FROM metastore.services WHERE namespace = 'rg-multi'), 3::bigint, 'three instances');
SELECT pg_temp.svc_state() AS st_multi \gset
SELECT throws_ok($$SELECT metastore.report_health('orders', 'healthy', NULL, NULL, 'rg-multi')$$, '22023',
                 'service "orders" has 3 instances: name the instance_id',
                 'report_health without instance_id on a service with several instances: 22023');
SELECT is(pg_temp.svc_state(), :'st_multi', '... and no instance changed');
SELECT throws_ok($$SELECT metastore.report_health('orders', 'healthy', NULL, 'http://orders-9.rg:8080', 'rg-multi')$$, 'MS404', NULL,
                 'report_health for an unknown instance_id: MS404');
SELECT is(metastore.get_service('orders', 'rg-multi') ->> 'status', 'unknown', 'all three unknown: the service is unknown');
SELECT is((metastore.report_health('orders', 'healthy', 12, 'http://orders-2.rg:8080', 'rg-multi')) ->> 'instance_id',
          'http://orders-2.rg:8080', 'report_health with instance_id reports that instance');
SELECT is((SELECT array_agg(instance_id || '=' || status ORDER BY instance_id) FROM metastore.services WHERE namespace = 'rg-multi'),
          ARRAY['blue=unknown', 'http://orders-1.rg:8080=unknown', 'http://orders-2.rg:8080=healthy'],
          '... and no other');
SELECT metastore.report_health('orders', 'unhealthy', NULL, 'http://orders-1.rg:8080', 'rg-multi') \g /dev/null
SELECT is(ARRAY[metastore.get_service('orders', 'rg-multi') ->> 'status', metastore.get_service('orders', 'rg-multi') ->> 'healthy_instances'],
          ARRAY['healthy', '1'], 'one healthy instance of three (one unhealthy, one unknown): the service is healthy');
SELECT is((SELECT array_agg(i ->> 'instance_id' ORDER BY o) FROM jsonb_array_elements(metastore.get_service('orders', 'rg-multi') -> 'instances') WITH ORDINALITY x(i, o)),
          ARRAY['blue', 'http://orders-1.rg:8080', 'http://orders-2.rg:8080'], 'get_service lists every instance, by instance_id');
SELECT metastore.report_health('orders', 'degraded', NULL, 'http://orders-2.rg:8080', 'rg-multi') \g /dev/null
SELECT is(metastore.get_service('orders', 'rg-multi') ->> 'status', 'degraded', 'no healthy instance, one degraded: degraded');
SELECT metastore.report_health('orders', 'unhealthy', NULL, 'http://orders-2.rg:8080', 'rg-multi') \g /dev/null
SELECT is(metastore.get_service('orders', 'rg-multi') ->> 'status', 'unknown', 'unhealthy, unhealthy and unknown: unknown');
SELECT metastore.report_health('orders', 'unhealthy', NULL, 'blue', 'rg-multi') \g /dev/null
SELECT is(metastore.get_service('orders', 'rg-multi') ->> 'status', 'unhealthy', 'all unhealthy: unhealthy');
SELECT is((metastore.get_service('orders', 'rg-multi') ->> 'healthy_instances')::int, 0, '... with no healthy instance');
SELECT is(metastore.deregister_service('orders', 'blue', 'rg-multi'), 1, 'deregister one instance by instance_id: 1');
SELECT is((SELECT array_agg(instance_id ORDER BY instance_id) FROM metastore.services WHERE namespace = 'rg-multi' AND deleted_at IS NULL),
          ARRAY['http://orders-1.rg:8080', 'http://orders-2.rg:8080'], '... the other two stay');
SELECT is(jsonb_array_length(metastore.get_service('orders', 'rg-multi') -> 'instances'), 2, 'get_service lists two instances now');
SELECT throws_ok($$SELECT metastore.report_health('orders', 'healthy', NULL, 'blue', 'rg-multi')$$, 'MS404', NULL,
                 'report_health on the deregistered instance: MS404');
SELECT is(metastore.deregister_service('orders', NULL, 'rg-multi'), 2, 'deregister without instance_id removes every instance: 2');
SELECT metastore.register_service('orders', 'http://orders-3.rg:8080', NULL, '{}', 30, NULL, 'rg-multi') \g /dev/null
SELECT is((metastore.report_health('orders', 'healthy', NULL, NULL, 'rg-multi')) ->> 'instance_id', 'http://orders-3.rg:8080',
          'with one live instance again (others deregistered), report_health needs no instance_id');

-- ================================================================ TTL, derived at read time
SELECT metastore.register_service('ticker', 'http://ticker.rg:9000', NULL, '{}', 1, NULL, 'rg-ttl') \g /dev/null
SELECT metastore.report_health('ticker', 'healthy', 3, NULL, 'rg-ttl') \g /dev/null
SELECT is(metastore.healthy_services('rg-ttl') ->> 'name', 'ticker', 'precondition: a fresh healthy report (ttl 1) is healthy');
UPDATE metastore.services SET last_seen_at = now() - interval '1 second' WHERE namespace = 'rg-ttl';
SELECT is(ARRAY[metastore.get_service('ticker', 'rg-ttl') ->> 'status', metastore.get_service('ticker', 'rg-ttl') -> 'instances' -> 0 ->> 'expired'],
          ARRAY['healthy', 'false'], 'a report exactly ttl seconds old is not older than the ttl: still healthy');
UPDATE metastore.services SET last_seen_at = now() - interval '1.5 seconds' WHERE namespace = 'rg-ttl';
SELECT pg_temp.svc_state() AS st_ttl \gset
SELECT metastore.get_service('ticker', 'rg-ttl') -> 'instances' -> 0 AS ttl_inst \gset
SELECT is(ARRAY[:'ttl_inst'::jsonb ->> 'status', :'ttl_inst'::jsonb ->> 'expired', :'ttl_inst'::jsonb ->> 'reported_status'],
          ARRAY['unhealthy', 'true', 'healthy'], 'a report 1.5 s old with ttl 1: unhealthy and expired; the reported status is kept');
SELECT is((:'ttl_inst'::jsonb ->> 'expires_at')::timestamptz, now() - interval '0.5 seconds', 'expires_at = last report + ttl');
SELECT is(metastore.get_service('ticker', 'rg-ttl') ->> 'status', 'unhealthy', 'the service''s aggregate status follows: unhealthy');
SELECT is(pg_temp.listed('healthy', 'rg-ttl'), '{}'::text[], 'list_services(healthy) drops it');
SELECT is(pg_temp.listed('unhealthy', 'rg-ttl'), ARRAY['ticker'], 'list_services(unhealthy) lists it');
SELECT is_empty($$SELECT * FROM metastore.healthy_services('rg-ttl')$$, 'healthy_services drops it');
SELECT ok(NOT EXISTS (SELECT 1 FROM metastore.healthy_services() j WHERE j ->> 'namespace' = 'rg-ttl'),
          'healthy_services over every namespace drops it too');
SELECT is(pg_temp.svc_state(), :'st_ttl', 'the expiry was derived by the reads: nothing was written');
SELECT is((pg_temp.svc_row('rg-ttl', 'ticker', 'http://ticker.rg:9000')).status, 'healthy', 'the stored status is still healthy');
SELECT is((metastore.report_health('ticker', 'healthy', 4, NULL, 'rg-ttl')) ->> 'expired', 'false', 'a new report revives it');
SELECT is(metastore.healthy_services('rg-ttl') ->> 'name', 'ticker', '... back in healthy_services');
UPDATE metastore.services SET last_seen_at = now() - interval '5 seconds' WHERE namespace = 'rg-ttl';
SELECT metastore.register_service('ticker', 'http://ticker.rg:9000', NULL, '{}', 1, NULL, 'rg-ttl') \g /dev/null
SELECT is(metastore.healthy_services('rg-ttl') ->> 'name', 'ticker', 'a heartbeat re-registration also renews the ttl');
UPDATE metastore.services SET last_seen_at = now() - interval '5 seconds' WHERE namespace = 'rg-ttl';
SELECT metastore.report_health('ticker', 'degraded', NULL, NULL, 'rg-ttl') \g /dev/null
UPDATE metastore.services SET last_seen_at = now() - interval '5 seconds' WHERE namespace = 'rg-ttl';
SELECT is(metastore.get_service('ticker', 'rg-ttl') ->> 'status', 'unhealthy', 'an expired degraded instance is unhealthy as well');
SELECT is(pg_temp.listed('degraded', 'rg-ttl'), '{}'::text[], '... and not listed as degraded');
-- a long ttl: an hour-old report is still valid
SELECT metastore.register_service('slow', 'http://slow.rg', NULL, '{}', 86400, NULL, 'rg-ttl') \g /dev/null
SELECT metastore.report_health('slow', 'healthy', NULL, NULL, 'rg-ttl') \g /dev/null
UPDATE metastore.services SET last_seen_at = now() - interval '23 hours' WHERE namespace = 'rg-ttl' AND name = 'slow';
SELECT is(metastore.get_service('slow', 'rg-ttl') ->> 'status', 'healthy', 'ttl 86400: a 23-hour-old report is still healthy');

-- ================================================================ filtering by health
SELECT metastore.register_service(n, 'http://' || n || '.rg', NULL, '{}', 60, NULL, 'rg-filter')
  FROM unnest(ARRAY['e-up', 'b-down', 'c-slow', 'd-new', 'a-up', 'f-stale']) n \g /dev/null
SELECT metastore.report_health(n, s, NULL, NULL, 'rg-filter')
  FROM (VALUES ('a-up', 'healthy'), ('e-up', 'healthy'), ('b-down', 'unhealthy'), ('c-slow', 'degraded'), ('f-stale', 'healthy')) v(n, s) \g /dev/null
UPDATE metastore.services SET last_seen_at = now() - interval '61 seconds' WHERE namespace = 'rg-filter' AND name = 'f-stale';
SELECT is(pg_temp.listed(NULL, 'rg-filter'), ARRAY['a-up', 'b-down', 'c-slow', 'd-new', 'e-up', 'f-stale'],
          'list_services without status: every live instance, by name');
SELECT is(pg_temp.listed('healthy', 'rg-filter'), ARRAY['a-up', 'e-up'], 'list_services(healthy)');
SELECT is(pg_temp.listed('unhealthy', 'rg-filter'), ARRAY['b-down', 'f-stale'], 'list_services(unhealthy): reported or expired');
SELECT is(pg_temp.listed('degraded', 'rg-filter'), ARRAY['c-slow'], 'list_services(degraded)');
SELECT is(pg_temp.listed('unknown', 'rg-filter'), ARRAY['d-new'], 'list_services(unknown)');
SELECT is((SELECT array_agg(j ->> 'name' ORDER BY o) FROM metastore.healthy_services('rg-filter') WITH ORDINALITY x(j, o)),
          ARRAY['a-up', 'e-up'], 'healthy_services(namespace)');
SELECT is((SELECT array_agg(j ->> 'namespace' || '/' || (j ->> 'name') ORDER BY o) FROM metastore.list_services('degraded') WITH ORDINALITY x(j, o)),
          ARRAY['rg-filter/c-slow'], 'list_services(degraded) over every namespace (the expired degraded one elsewhere is not)');
SELECT throws_ok($$SELECT * FROM metastore.list_services('bogus')$$, '22023', NULL, 'list_services with an unknown status: 22023');
SELECT throws_ok($$SELECT * FROM metastore.list_services('Healthy')$$, '22023', NULL, 'status is case-sensitive: 22023');
SELECT throws_ok($$SELECT * FROM metastore.list_services('')$$, '22023', NULL, 'an empty status: 22023');
SELECT throws_ok($$SELECT * FROM metastore.list_services('expired')$$, '22023', NULL, '"expired" is not a status: 22023');

-- ================================================================ bad input
SELECT metastore.register_service('valid', 'http://valid.rg', NULL, '{}', 30, NULL, 'rg-bad') \g /dev/null
SELECT pg_temp.svc_state() AS st_bad \gset
-- each call runs in a subtransaction that is rolled back (ms_test.attempt), so
-- a call wrongly accepted fails its own line and nothing after it
SELECT is(ms_test.attempt(sql), code, descr)
  FROM (VALUES
    ($$SELECT metastore.register_service(NULL, 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22004', 'register: NULL name -> 22004'),
    ($$SELECT metastore.register_service('x', NULL, NULL, '{}', 30, NULL, 'rg-bad')$$, '22004', 'register: NULL url -> 22004'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', 30, NULL, NULL)$$, '22004', 'register: NULL namespace -> 22004'),
    ($$SELECT metastore.report_health(NULL, 'healthy', NULL, NULL, 'rg-bad')$$, '22004', 'report_health: NULL name -> 22004'),
    ($$SELECT metastore.report_health('valid', NULL, NULL, NULL, 'rg-bad')$$, '22004', 'report_health: NULL status -> 22004'),
    ($$SELECT metastore.report_health('valid', 'healthy', NULL, NULL, NULL)$$, '22004', 'report_health: NULL namespace -> 22004'),
    ($$SELECT metastore.deregister_service(NULL, NULL, 'rg-bad')$$, '22004', 'deregister: NULL name -> 22004'),
    ($$SELECT metastore.deregister_service('valid', NULL, NULL)$$, '22004', 'deregister: NULL namespace -> 22004'),
    ($$SELECT metastore.get_service(NULL, 'rg-bad')$$, '22004', 'get_service: NULL name -> 22004'),
    ($$SELECT metastore.get_service('valid', NULL)$$, '22004', 'get_service: NULL namespace -> 22004'),
    -- names
    ($$SELECT metastore.register_service('', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'an empty name -> 22023'),
    ($$SELECT metastore.register_service('-x', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name starting with "-" -> 22023'),
    ($$SELECT metastore.register_service('.x', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name starting with "." -> 22023'),
    ($$SELECT metastore.register_service('a b', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name with a space -> 22023'),
    ($$SELECT metastore.register_service('a/b', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name with "/" -> 22023'),
    ($$SELECT metastore.register_service('sérvice', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name with a non-ASCII letter -> 22023'),
    ($$SELECT metastore.register_service(E'x\n', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name ending in a newline -> 22023'),
    ($$SELECT metastore.register_service(repeat('n', 129), 'http://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a name of 129 characters -> 22023'),
    -- urls
    ($$SELECT metastore.register_service('x', 'ftp://x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url ftp:// -> 22023'),
    ($$SELECT metastore.register_service('x', 'x.rg:8080', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url without a scheme -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://user:pw@x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with user:password@ -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://user@x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with user@ -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x .rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a space in the host -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg/a b', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a space in the path -> 22023'),
    ($$SELECT metastore.register_service('x', E'http://x.rg/a\tb', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a tab -> 22023'),
    ($$SELECT metastore.register_service('x', E'http://x.rg/\n', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url ending in a newline -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url without a host -> 22023'),
    ($$SELECT metastore.register_service('x', 'http:///path', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with an empty host and a path -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://:8080', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with only a port -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg:0', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with port 0 -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg:70000', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with port 70000 -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg:65536', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with port 65536 -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg:123456', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a 6-digit port -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg:', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with an empty port -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg/p#frag', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a fragment -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg/p?q=1#frag', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a query and a fragment -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://-x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a host label starting with "-" -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x..rg', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with an empty host label -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://[::1', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with an unclosed IPv6 bracket -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://[.]', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'url with a bracketed host that is no IPv6 address ([.]) -> 22023'),
    ($$SELECT metastore.register_service('x', 'javascript:alert(1)', NULL, '{}', 30, NULL, 'rg-bad')$$, '22023', 'a javascript: url -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg/' || repeat('a', 2037), NULL, '{}', 30, NULL, 'rg-bad')$$, '22001', 'url of 2049 bytes -> 22001'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', 'ftp://x.rg/health', '{}', 30, NULL, 'rg-bad')$$, '22023', 'health_check_url ftp:// -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', 'http://a:b@x.rg/health', '{}', 30, NULL, 'rg-bad')$$, '22023', 'health_check_url with credentials -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', 'http://x.rg/' || repeat('h', 2037), '{}', 30, NULL, 'rg-bad')$$, '22001', 'health_check_url of 2049 bytes -> 22001'),
    -- metadata
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '[]', 30, NULL, 'rg-bad')$$, '22023', 'metadata an array -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '"s"', 30, NULL, 'rg-bad')$$, '22023', 'metadata a string -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '1', 30, NULL, 'rg-bad')$$, '22023', 'metadata a number -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, 'null', 30, NULL, 'rg-bad')$$, '22023', 'metadata JSON null -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, jsonb_build_object('blob', repeat('m', 70000)), 30, NULL, 'rg-bad')$$, '54000', 'metadata over 64 KiB -> 54000'),
    -- ttl
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', 0, NULL, 'rg-bad')$$, '22023', 'ttl 0 -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', -5, NULL, 'rg-bad')$$, '22023', 'ttl -5 -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', 86401, NULL, 'rg-bad')$$, '22023', 'ttl 86401 -> 22023'),
    -- instance_id
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', 30, '', 'rg-bad')$$, '22023', 'an empty instance_id -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', 30, E'i\x01', 'rg-bad')$$, '22023', 'an instance_id with a control character -> 22023'),
    ($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', 30, repeat('i', 2049), 'rg-bad')$$, '22023', 'an instance_id of 2049 bytes -> 22023'),
    -- report_health
    ($$SELECT metastore.report_health('valid', 'up', NULL, NULL, 'rg-bad')$$, '22023', 'report_health: status "up" -> 22023'),
    ($$SELECT metastore.report_health('valid', 'HEALTHY', NULL, NULL, 'rg-bad')$$, '22023', 'report_health: status "HEALTHY" -> 22023'),
    ($$SELECT metastore.report_health('valid', 'healthy', -1, NULL, 'rg-bad')$$, '22023', 'report_health: response_time -1 -> 22023'),
    ($$SELECT metastore.report_health('valid', 'healthy', 'NaN', NULL, 'rg-bad')$$, '22023', 'report_health: response_time NaN -> 22023'),
    ($$SELECT metastore.report_health('valid', 'healthy', 'Infinity', NULL, 'rg-bad')$$, '22023', 'report_health: response_time Infinity -> 22023'),
    ($$SELECT metastore.report_health('nobody', 'healthy', NULL, NULL, 'rg-bad')$$, 'MS404', 'report_health of an unregistered service -> MS404'),
    ($$SELECT metastore.deregister_service('nobody', NULL, 'rg-bad')$$, 'MS404', 'deregister of an unregistered service -> MS404'),
    ($$SELECT metastore.deregister_service('valid', 'not-an-instance', 'rg-bad')$$, 'MS404', 'deregister of an unknown instance -> MS404')
  ) AS t(sql, code, descr);
SELECT is(pg_temp.svc_state(), :'st_bad', 'none of the refused calls changed a service or its history (precondition: they ran rolled back)');
SELECT isnt(ms_test.attempt($$SELECT metastore.register_service('x', 'http://x.rg', NULL, NULL, 30, NULL, 'rg-bad')$$), 'ok',
            'NULL metadata is refused');
SELECT isnt(ms_test.attempt($$SELECT metastore.register_service('x', 'http://x.rg', NULL, '{}', NULL, NULL, 'rg-bad')$$), 'ok',
            'a NULL ttl is refused');
SELECT is(pg_temp.svc_state(), :'st_bad', '... and changed nothing');
SELECT alike(pg_temp.err($$SELECT metastore.register_service('x', 'http://x.rg', 'ftp://x.rg/h', '{}', 30, NULL, 'rg-bad')$$),
            '22023: health_check_url %', 'the error names the field that is wrong (health_check_url)');
SELECT alike(pg_temp.err($$SELECT metastore.register_service('x', 'http://u:secret@x.rg', NULL, '{}', 30, NULL, 'rg-bad')$$),
            '22023: url %', '... or url');

-- accepted edge cases (kept, one row each)
SELECT is(pg_temp.try(sql), 'ok', descr)
  FROM (VALUES
    ($$SELECT metastore.register_service(repeat('n', 128), 'http://x.rg', NULL, '{}', 30, NULL, 'rg-ok')$$, 'a name of 128 characters'),
    ($$SELECT metastore.register_service('A0.b_c-d', 'http://x.rg', NULL, '{}', 30, NULL, 'rg-ok')$$, 'a name with . _ - and capitals'),
    ($$SELECT metastore.register_service('v6', 'http://[::1]:8080/x', NULL, '{}', 30, NULL, 'rg-ok')$$, 'an IPv6 host [::1] with a port'),
    ($$SELECT metastore.register_service('v6b', 'https://[2001:db8::7]', NULL, '{}', 30, NULL, 'rg-ok')$$, 'an IPv6 host without a port'),
    ($$SELECT metastore.register_service('v4', 'http://10.0.0.1:80/health', NULL, '{}', 30, NULL, 'rg-ok')$$, 'an IPv4 host'),
    ($$SELECT metastore.register_service('q', 'https://q.rg/p/a?x=1&y=b%20c', NULL, '{}', 30, NULL, 'rg-ok')$$, 'a query string'),
    ($$SELECT metastore.register_service('p1', 'http://localhost:1', NULL, '{}', 30, NULL, 'rg-ok')$$, 'port 1 and a one-label host'),
    ($$SELECT metastore.register_service('p65535', 'http://x.rg:65535/', NULL, '{}', 30, NULL, 'rg-ok')$$, 'port 65535'),
    ($$SELECT metastore.register_service('long', 'http://x.rg/' || repeat('a', 2036), NULL, '{}', 30, NULL, 'rg-ok')$$, 'a url of exactly 2048 bytes'),
    ($$SELECT metastore.register_service('t1', 'http://x.rg', NULL, '{}', 1, NULL, 'rg-ok')$$, 'ttl 1'),
    ($$SELECT metastore.register_service('t86400', 'http://x.rg', NULL, '{}', 86400, NULL, 'rg-ok')$$, 'ttl 86400'),
    ($$SELECT metastore.register_service('meta', 'http://x.rg', NULL, '{"a": {"b": [1, 2]}, "c": null}', 30, NULL, 'rg-ok')$$, 'nested metadata'),
    ($$SELECT metastore.report_health('t1', 'healthy', 0, NULL, 'rg-ok')$$, 'response_time 0'),
    ($$SELECT metastore.report_health('t1', 'degraded', NULL, NULL, 'rg-ok')$$, 'status degraded without a response time'),
    ($$SELECT metastore.report_health('t1', 'unknown', 1e6, NULL, 'rg-ok')$$, 'status unknown')
  ) AS t(sql, descr);
SELECT is((SELECT count(*) FROM metastore.services WHERE namespace = 'rg-ok'), 12::bigint, 'the accepted registrations are stored');
SELECT is(pg_temp.svc_history('rg-ok', 't1'), '1:create', 'reports on t1 wrote no history');

-- ================================================================ access
CREATE ROLE ms_rg_reader NOLOGIN;
CREATE ROLE ms_rg_writer NOLOGIN;
CREATE ROLE ms_rg_none NOLOGIN;     -- writer on rg-other only: nothing on rg-acl
SELECT metastore."grant"('ms_rg_reader', 'rg-acl', 'reader') \g /dev/null
SELECT metastore."grant"('ms_rg_writer', 'rg-acl', 'writer') \g /dev/null
SELECT metastore."grant"('ms_rg_none', 'rg-other', 'writer') \g /dev/null
SELECT metastore.register_service('billing', 'http://billing.rg', NULL, '{"team": "pay"}', 30, NULL, 'rg-acl') \g /dev/null
SELECT metastore.report_health('billing', 'healthy', 5, NULL, 'rg-acl') \g /dev/null
SELECT metastore.register_service('mail', 'http://mail.rg', NULL, '{}', 30, NULL, 'rg-other') \g /dev/null
SELECT metastore.report_health('mail', 'healthy', NULL, NULL, 'rg-other') \g /dev/null
SELECT pg_temp.svc_state() AS st_acl \gset

SELECT is(ms_test.try_as(who, sql), code, format('%s: %s -> %s', who, descr, code))
  FROM (VALUES
    ('ms_rg_reader', $$SELECT metastore.get_service('billing', 'rg-acl')$$, 'ok', 'get_service'),
    ('ms_rg_reader', $$SELECT metastore.list_services(NULL, 'rg-acl')$$, 'ok', 'list_services(namespace)'),
    ('ms_rg_reader', $$SELECT metastore.healthy_services('rg-acl')$$, 'ok', 'healthy_services(namespace)'),
    ('ms_rg_reader', $$SELECT metastore.register_service('billing', 'http://billing.rg', NULL, '{"team": "pay"}', 30, NULL, 'rg-acl')$$, '42501', 'register (a heartbeat)'),
    ('ms_rg_reader', $$SELECT metastore.register_service('new', 'http://new.rg', NULL, '{}', 30, NULL, 'rg-acl')$$, '42501', 'register a new service'),
    ('ms_rg_reader', $$SELECT metastore.report_health('billing', 'unhealthy', NULL, NULL, 'rg-acl')$$, '42501', 'report_health'),
    ('ms_rg_reader', $$SELECT metastore.deregister_service('billing', NULL, 'rg-acl')$$, '42501', 'deregister'),
    ('ms_rg_reader', $$SELECT metastore.get_service('mail', 'rg-other')$$, '42501', 'get_service in a namespace without grant'),
    ('ms_rg_writer', $$SELECT metastore.register_service('new', 'http://new.rg', NULL, '{}', 30, NULL, 'rg-acl')$$, 'ok', 'register'),
    ('ms_rg_writer', $$SELECT metastore.report_health('billing', 'unhealthy', NULL, NULL, 'rg-acl')$$, 'ok', 'report_health'),
    ('ms_rg_writer', $$SELECT metastore.deregister_service('billing', NULL, 'rg-acl')$$, 'ok', 'deregister'),
    ('ms_rg_writer', $$SELECT metastore.get_service('billing', 'rg-acl')$$, 'ok', 'get_service'),
    ('ms_rg_writer', $$SELECT metastore.register_service('mail', 'http://mail.rg', NULL, '{}', 30, NULL, 'rg-other')$$, '42501', 'register in another namespace'),
    ('ms_rg_none',   $$SELECT metastore.get_service('billing', 'rg-acl')$$, '42501', 'get_service'),
    ('ms_rg_none',   $$SELECT metastore.list_services(NULL, 'rg-acl')$$, '42501', 'list_services(namespace)'),
    ('ms_rg_none',   $$SELECT metastore.list_services('healthy', 'rg-acl')$$, '42501', 'list_services(healthy, namespace)'),
    ('ms_rg_none',   $$SELECT metastore.healthy_services('rg-acl')$$, '42501', 'healthy_services(namespace)'),
    ('ms_rg_none',   $$SELECT metastore.register_service('billing', 'http://billing.rg', NULL, '{}', 30, NULL, 'rg-acl')$$, '42501', 'register'),
    ('ms_rg_none',   $$SELECT metastore.report_health('billing', 'healthy', NULL, NULL, 'rg-acl')$$, '42501', 'report_health'),
    ('ms_rg_none',   $$SELECT metastore.report_health('ghost', 'healthy', NULL, NULL, 'rg-acl')$$, '42501', 'report_health of a missing service (no MS404 oracle)'),
    ('ms_rg_none',   $$SELECT metastore.deregister_service('billing', NULL, 'rg-acl')$$, '42501', 'deregister'),
    ('ms_rg_none',   $$SELECT metastore.deregister_service('ghost', NULL, 'rg-acl')$$, '42501', 'deregister a missing service (no MS404 oracle)')
  ) AS t(who, sql, code, descr);
SELECT is(pg_temp.svc_state(), :'st_acl', 'every access check left the registry as it was');

SELECT is(ms_test.err_as('ms_rg_none', $$SELECT metastore.get_service('billing', 'rg-acl')$$),
          ms_test.err_as('ms_rg_none', $$SELECT metastore.get_service('ghost', 'rg-acl')$$),
          'without a grant, an existing and a missing service are refused with the same error');
SELECT is(ms_test.query_as('ms_rg_reader', $$SELECT (metastore.get_service('billing', 'rg-acl') ->> 'status')$$), 'healthy',
          'the reader reads the service and its status');
SELECT is(ms_test.query_as('ms_rg_reader', $$SELECT string_agg(j ->> 'namespace' || '/' || (j ->> 'name'), ',' ORDER BY j ->> 'name')
                                               FROM metastore.list_services() j WHERE j ->> 'namespace' IN ('rg-acl', 'rg-other')$$),
          'rg-acl/billing', 'list_services over every namespace: the reader sees rg-acl, not rg-other');
SELECT is(ms_test.query_as('ms_rg_none', $$SELECT string_agg(j ->> 'namespace' || '/' || (j ->> 'name'), ',' ORDER BY j ->> 'name')
                                             FROM metastore.list_services() j WHERE j ->> 'namespace' IN ('rg-acl', 'rg-other')$$),
          'rg-other/mail', 'a principal without a grant on rg-acl sees nothing of it in list_services (only its own namespace)');
SELECT is(ms_test.query_as('ms_rg_none', $$SELECT count(*)::text FROM metastore.healthy_services() j WHERE j ->> 'namespace' = 'rg-acl'$$),
          '0', '... nor in healthy_services');
SELECT is(ms_test.query_as('ms_rg_none', $$SELECT count(*)::text FROM metastore.list_services('healthy') j WHERE j ->> 'namespace' = 'rg-acl'$$),
          '0', '... nor in list_services(healthy)');
SELECT is(ms_test.query_as('ms_rg_none', $$SELECT count(*)::text FROM metastore.list_services() j WHERE j ->> 'namespace' LIKE 'rg-%' AND j ->> 'namespace' <> 'rg-other'$$),
          '0', '... nor of any other namespace of this suite');

-- a writer's registration carries its name
SELECT is(ms_test.query_as('ms_rg_writer', $$SELECT metastore.register_service('search', 'http://search.rg', NULL, '{}', 30, NULL, 'rg-acl') ->> 'version'$$),
          '1', 'the writer registers a service');
SELECT results_eq($$SELECT created_by, updated_by FROM metastore.services WHERE namespace = 'rg-acl' AND name = 'search'$$,
                  $$VALUES ('ms_rg_writer'::text, 'ms_rg_writer'::text)$$, 'created_by / updated_by = the writer');
SELECT is((SELECT changed_by FROM metastore.history WHERE aggregate = 'service' AND namespace = 'rg-acl' AND entity_key = 'search'),
          'ms_rg_writer', 'its history row names the writer');
SELECT is(ms_test.query_as('ms_rg_writer', $$SELECT metastore.report_health('search', 'healthy', NULL, NULL, 'rg-acl') ->> 'status'$$),
          'healthy', 'the writer reports health');
SELECT is(ms_test.query_as('ms_rg_writer', $$SELECT metastore.deregister_service('search', NULL, 'rg-acl')::text$$),
          '1', 'the writer deregisters');
SELECT results_eq($$SELECT version, updated_by, deleted_at IS NOT NULL FROM metastore.services WHERE namespace = 'rg-acl' AND name = 'search'$$,
                  $$VALUES (2, 'ms_rg_writer'::text, true)$$, 'the deregistration is version 2 by the writer');

-- API keys: the key's principal acts, with its grants
SELECT metastore."grant"('rg-key-reader', 'rg-acl', 'reader') \g /dev/null
SELECT api_key AS rkey FROM metastore.create_api_key('rg-key-reader') \gset
SELECT pg_temp.svc_state() AS st_key \gset
SELECT is(pg_temp.as_key(:'rkey', $$SELECT metastore.get_service('billing', 'rg-acl') ->> 'status'$$),
          'ok: healthy', 'a reader''s API key reads the service');
SELECT is(pg_temp.as_key(:'rkey', $$SELECT metastore.report_health('billing', 'unhealthy', NULL, NULL, 'rg-acl')$$),
          '42501', 'a reader''s API key cannot report health (42501), even in a superuser session');
SELECT is(pg_temp.as_key(:'rkey', $$SELECT metastore.register_service('keyed', 'http://keyed.rg', NULL, '{}', 30, NULL, 'rg-acl')$$),
          '42501', '... nor register');
SELECT is(pg_temp.as_key(:'rkey', $$SELECT metastore.deregister_service('billing', NULL, 'rg-acl')$$),
          '42501', '... nor deregister');
SELECT is(pg_temp.as_key(:'rkey', $$SELECT metastore.get_service('mail', 'rg-other')$$),
          '42501', '... nor read a namespace it has no grant on');
SELECT is(pg_temp.as_key(:'rkey', $$SELECT count(*) FROM metastore.list_services() j WHERE j ->> 'namespace' = 'rg-other'$$),
          'ok: 0', '... nor see it in list_services');
SELECT is(pg_temp.svc_state(), :'st_key', 'the key calls changed nothing');
SELECT is((pg_temp.svc_row('rg-acl', 'billing', 'http://billing.rg')).status, 'healthy', 'billing is still healthy after the refused reports');

-- ================================================================ history: registrations yes, heartbeats no
SELECT metastore.register_service('hist', 'http://hist.rg', NULL, '{}', 30, NULL, 'rg-hist') \g /dev/null
SELECT metastore.report_health('hist', s, NULL, NULL, 'rg-hist') FROM unnest(ARRAY['healthy', 'degraded', 'healthy', 'healthy']) s \g /dev/null
SELECT metastore.register_service('hist', 'http://hist.rg', NULL, '{}', 30, NULL, 'rg-hist') \g /dev/null
SELECT metastore.register_service('hist', 'http://hist.rg', NULL, '{"v": 2}', 30, NULL, 'rg-hist') \g /dev/null
SELECT metastore.report_health('hist', 'unhealthy', NULL, NULL, 'rg-hist') \g /dev/null
SELECT metastore.deregister_service('hist', NULL, 'rg-hist') \g /dev/null
SELECT is(pg_temp.svc_history('rg-hist', 'hist'), '1:create 2:update 3:delete',
          'history: the registration, the changed registration and the deregistration; no report or heartbeat');
SELECT is((SELECT array_agg(snapshot ->> 'metadata' ORDER BY id) FROM metastore.history WHERE aggregate = 'service' AND namespace = 'rg-hist'),
          ARRAY['{}', '{"v": 2}', '{"v": 2}'], 'each history row holds the row as it was at that version');
SELECT is((SELECT count(DISTINCT entity_id) FROM metastore.history WHERE aggregate = 'service' AND namespace = 'rg-multi' AND entity_key = 'orders'),
          4::bigint, 'several instances: history rows per instance (4 in rg-multi), under the service name');

SELECT * FROM finish();
ROLLBACK;
