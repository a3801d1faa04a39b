-- pgTAP: evaluating feature flags (src/flag_eval.c, docs/flags.md) beyond
-- the Unleash client specification (test/conformance covers that): our own
-- definition format and the seeds' simple fields, override layers (tenant
-- over environment over base, field by field), expiry, prerequisites, typed
-- values and expected_type, unknown flags and contexts that are not objects,
-- context aliases, every strategy kind, segments, variants, evaluate_all,
-- access (reader, or FLAG_NOT_FOUND), and the cache within a transaction.
--
-- Rollout and variant expectations are computed with metastore.bucket (the
-- murmur3 of flags_bucket.sql): a user u is in a rollout of p on group g
-- when bucket('g:u') <= p; a variant is picked by bucket('g:u', 86028157,
-- total weight) against the running sum of weights.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(241);

\ir helpers/as_role.sql

-- evaluate() without the parts that only identify the flag
CREATE FUNCTION pg_temp.ev(f text, ctx jsonb DEFAULT '{}', tenant text DEFAULT NULL, env text DEFAULT NULL)
RETURNS jsonb LANGUAGE sql AS $$
  SELECT metastore.evaluate(f, ctx, tenant, env) - 'key' - 'version' - 'value_type'
$$;
-- reason / enabled / value / variant as one string, for compact tables
CREATE FUNCTION pg_temp.rv(f text, ctx jsonb DEFAULT '{}', tenant text DEFAULT NULL, env text DEFAULT NULL)
RETURNS text LANGUAGE sql AS $$
  SELECT format('%s %s %s %s', r->>'reason', r->>'enabled', coalesce(r->'value', 'null'), coalesce(r->>'variant', '-'))
    FROM metastore.evaluate(f, ctx, tenant, env) r
$$;
-- the variant of the running sum of weights that bucket `target` falls in
CREATE FUNCTION pg_temp.pick(names text[], weights int[], target int) RETURNS text LANGUAGE sql AS $$
  SELECT n FROM (SELECT n, sum(w) OVER (ORDER BY o) AS upto
                   FROM unnest(names, weights) WITH ORDINALITY AS x(n, w, o) WHERE w > 0) s
   WHERE upto >= target ORDER BY upto LIMIT 1
$$;
-- how many of 1000 users is_enabled gets wrong against an expectation
CREATE FUNCTION pg_temp.rollout_misses(f text, key text, expect text) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  EXECUTE format('SELECT count(*) FROM generate_series(1, 1000) g, LATERAL (SELECT %L || g AS u) x
                   WHERE metastore.is_enabled(%L, jsonb_build_object(%L, u)) IS DISTINCT FROM (%s)', 'user-', f, key, expect)
     INTO n;
  RETURN n;
END $$;

-- ================================================================ the result
SELECT metastore.put_flag('ev-on', '{"is_enabled": true}') \g /dev/null
SELECT is(metastore.evaluate('ev-on'),
          '{"key": "ev-on", "value": true, "reason": "STATIC", "enabled": true, "variant": null, "version": 1, "value_type": "boolean"}',
          'an enabled flag without strategies: the whole result (STATIC, value true, version 1)');
SELECT metastore.put_flag('ev-off', '{"is_enabled": false}') \g /dev/null
SELECT is(pg_temp.ev('ev-off'), '{"value": false, "reason": "DISABLED", "enabled": false, "variant": null}',
          'is_enabled false: DISABLED, value false');
SELECT metastore.put_flag('ev-empty', '{}') \g /dev/null
SELECT is(pg_temp.ev('ev-empty'), '{"value": false, "reason": "DISABLED", "enabled": false, "variant": null}',
          'an empty definition is a flag that is off');
SELECT is(metastore.evaluate('ev-on') ? 'expired', false, 'a flag without expires_at has no "expired" key');
SELECT is(metastore.evaluate('ev-on') ? 'error_code', false, 'a successful evaluation has no error_code');
SELECT metastore.set_flag_enabled('ev-off', true) \g /dev/null
SELECT is(metastore.evaluate('ev-off')->'version', '2', 'the result carries the flag''s current version');
SELECT is(metastore.is_enabled('ev-on'), true, 'is_enabled of an enabled flag');
SELECT is(metastore.is_enabled('ev-empty'), false, 'is_enabled of a disabled flag');

-- ================================================================ the seeds' simple fields
SELECT metastore.put_flag('ev-target', '{"is_enabled": true, "target_users": ["alice", 42]}') \g /dev/null
SELECT is(pg_temp.rv('ev-target', '{"userId": "alice"}'), 'TARGETING_MATCH true true -', 'target_users: a listed user');
SELECT is(pg_temp.rv('ev-target', '{"userId": 42}'), 'TARGETING_MATCH true true -', 'target_users: a numeric id matches a JSON number user id');
SELECT is(pg_temp.rv('ev-target', '{"userId": "42"}'), 'TARGETING_MATCH true true -', 'target_users: a numeric id matches its string');
SELECT is(pg_temp.rv('ev-target', '{"userId": "bob"}'), 'DEFAULT false false -', 'target_users: anyone else: DEFAULT');
SELECT is(pg_temp.rv('ev-target'), 'DEFAULT false false -', 'target_users: no user id: DEFAULT');
SELECT metastore.put_flag('ev-target-none', '{"is_enabled": true, "target_users": []}') \g /dev/null
SELECT is(pg_temp.rv('ev-target-none', '{"userId": "bob"}'), 'STATIC true true -', 'target_users [] adds no strategy: on for everyone');

SELECT metastore.put_flag('ev-roll', '{"is_enabled": true, "rollout_percentage": 30}') \g /dev/null
SELECT is(pg_temp.rollout_misses('ev-roll', 'userId', $$metastore.bucket('ev-roll:' || u) <= 30$$), 0::bigint,
          'rollout_percentage 30: on exactly for the users with bucket(name:user) <= 30 (1000 users)');
SELECT ok((SELECT count(*) FROM generate_series(1, 1000) g WHERE metastore.is_enabled('ev-roll', jsonb_build_object('userId', 'user-' || g)))
          BETWEEN 230 AND 370, 'rollout_percentage 30 turns the flag on for about 30% of 1000 users');
SELECT is(metastore.evaluate('ev-roll', jsonb_build_object('userId', u))->>'reason',
          CASE WHEN metastore.bucket('ev-roll:' || u) <= 30 THEN 'SPLIT' ELSE 'DEFAULT' END,
          'rollout reason for ' || u || ': SPLIT when in, DEFAULT when out')
  FROM unnest(ARRAY['user-1', 'user-2', 'user-3']) u;
SELECT metastore.put_flag('ev-roll-frac', '{"is_enabled": true, "rollout_percentage": 25.5}') \g /dev/null
SELECT is(pg_temp.rollout_misses('ev-roll-frac', 'userId', $$metastore.bucket('ev-roll-frac:' || u) <= 25$$), 0::bigint,
          'rollout_percentage 25.5 admits buckets 1..25');
SELECT metastore.put_flag('ev-roll-0', '{"is_enabled": true, "rollout_percentage": 0}') \g /dev/null
SELECT is(pg_temp.rollout_misses('ev-roll-0', 'userId', 'false'), 0::bigint, 'rollout_percentage 0 is off for every user');
SELECT is(pg_temp.rv('ev-roll-0'), 'DEFAULT false false -', 'rollout_percentage 0 without a user: off');
SELECT metastore.put_flag('ev-roll-100', '{"is_enabled": true, "rollout_percentage": 100}') \g /dev/null
SELECT is(pg_temp.rollout_misses('ev-roll-100', 'userId', 'true'), 0::bigint, 'rollout_percentage 100 is on for every user');
SELECT is(pg_temp.rv('ev-roll-100'), 'STATIC true true -', 'rollout_percentage 100 without a user: on, STATIC (no split)');
SELECT metastore.put_flag('ev-roll-target', '{"is_enabled": true, "target_users": ["vip"], "rollout_percentage": 10}') \g /dev/null
SELECT is(pg_temp.rollout_misses('ev-roll-target', 'userId', $$metastore.bucket('ev-roll-target:' || u) <= 10$$), 0::bigint,
          'target_users and rollout_percentage: the others by their bucket');
SELECT is(pg_temp.rv('ev-roll-target', '{"userId": "vip"}'), 'TARGETING_MATCH true true -',
          'target_users and rollout_percentage: a targeted user is on whatever the bucket (bucket of vip: ' || metastore.bucket('ev-roll-target:vip') || ')');
SELECT metastore.put_flag('ev-roll-off', '{"is_enabled": false, "rollout_percentage": 100, "target_users": ["vip"]}') \g /dev/null
SELECT is(pg_temp.rv('ev-roll-off', '{"userId": "vip"}'), 'DISABLED false false -', 'the kill switch beats targeting and rollout');
SELECT metastore.put_flag('ev-rules', '{"is_enabled": true, "rules": [{"attribute": "country", "operator": "in", "values": ["NL", "BE"]}], "rollout_percentage": 0}') \g /dev/null
SELECT is(pg_temp.rv('ev-rules', '{"country": "BE"}'), 'TARGETING_MATCH true true -', 'rules: a matching rule turns the flag on');
SELECT is(pg_temp.rv('ev-rules', '{"country": "DE"}'), 'DEFAULT false false -', 'rules: no rule matches and the rollout is 0');
SELECT metastore.put_flag('ev-explicit', '{"enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "first"}}], "target_users": ["second"]}') \g /dev/null
SELECT is((SELECT array_agg(s->>'name' ORDER BY o) FROM metastore.flags f, jsonb_array_elements(f.definition->'strategies') WITH ORDINALITY x(s, o)
            WHERE f.name = 'ev-explicit'), ARRAY['userWithId', 'default'],
          'the seed fields become strategies after the explicit ones');
SELECT is(ARRAY[metastore.is_enabled('ev-explicit', '{"userId": "first"}'), metastore.is_enabled('ev-explicit', '{"userId": "second"}'),
                metastore.is_enabled('ev-explicit', '{"userId": "third"}')], ARRAY[true, true, false],
          'explicit strategies and target_users both turn the flag on');

-- ================================================================ overrides: tenant over environment over base, field by field
SELECT metastore.put_flag('ev-ov', '{"enabled": true, "value_type": "string", "default_value": "base-d", "value": "base-v",
  "strategies": [{"name": "userWithId", "parameters": {"userIds": "u1"}}],
  "environments": {"prod": {"default_value": "prod-d", "strategies": [{"name": "userWithId", "parameters": {"userIds": "u2"}}]},
                   "dev": {"value": "dev-v", "enabled": false}},
  "tenants": {"acme": {"value": "acme-v"},
              "globex": {"enabled": true, "strategies": []},
              "initech": {"variants": [{"name": "iv", "weight": 1, "value": "ini"}]}}}') \g /dev/null
CREATE TEMP TABLE ov_cases (ord serial, env text, tenant text, usr text, expected text, why text);
INSERT INTO ov_cases (env, tenant, usr, expected, why) VALUES
  (NULL,   NULL,      'u1', 'TARGETING_MATCH true "base-v" -', 'base only: the base strategy matches, the base value'),
  (NULL,   NULL,      'u2', 'DEFAULT false "base-d" -',        'base only: no match, the base default_value'),
  ('prod', NULL,      'u1', 'DEFAULT false "prod-d" -',        'prod replaces the strategies (u2 only) and default_value'),
  ('prod', NULL,      'u2', 'TARGETING_MATCH true "base-v" -', 'prod sets no value: the base value'),
  ('dev',  NULL,      'u1', 'DISABLED false "base-d" -',       'dev turns the flag off; it sets no default_value: the base one'),
  ('prod', 'acme',    'u2', 'TARGETING_MATCH true "acme-v" -', 'acme sets only value: strategies from prod, value from acme'),
  ('prod', 'acme',    'u1', 'DEFAULT false "prod-d" -',        'acme sets no default_value: prod''s'),
  ('dev',  'acme',    'u1', 'DISABLED false "base-d" -',       'acme does not set enabled: dev''s false holds'),
  ('dev',  'globex',  'zz', 'STATIC true "dev-v" -',           'globex enables (over dev) with no strategies: on for anyone, dev''s value'),
  ('prod', 'globex',  'zz', 'STATIC true "base-v" -',          'globex''s empty strategies replace prod''s'),
  ('prod', 'initech', 'u2', 'TARGETING_MATCH true "ini" iv',   'initech sets variants: the variant''s value'),
  ('prod', 'initech', 'u1', 'DEFAULT false "prod-d" -',        'initech: no match, no variant'),
  (NULL,   'acme',    'u1', 'TARGETING_MATCH true "acme-v" -', 'a tenant without an environment'),
  ('nope', 'nope',    'u1', 'TARGETING_MATCH true "base-v" -', 'an unknown environment and tenant: the base');
SELECT is(pg_temp.rv('ev-ov', jsonb_build_object('userId', usr), tenant, env), expected,
          format('override env=%s tenant=%s user=%s: %s', coalesce(env, '-'), coalesce(tenant, '-'), usr, why))
  FROM ov_cases ORDER BY ord;

-- the seeds' tenant_overrides / environment_overrides, with the simple fields inside
SELECT metastore.put_flag('ev-seed-ov', '{"is_enabled": true, "rollout_percentage": 100,
  "environment_overrides": {"prod": {"is_enabled": false}, "stage": {"rollout_percentage": 0}, "dev": true},
  "tenant_overrides": {"acme": {"is_enabled": true}, "globex": {"target_users": ["u1"]}, "off": false}}') \g /dev/null
CREATE TEMP TABLE seed_ov (ord serial, env text, tenant text, usr text, expected text);
INSERT INTO seed_ov (env, tenant, usr, expected) VALUES
  (NULL, NULL, 'u1', 'STATIC'), ('prod', NULL, 'u1', 'DISABLED'), ('stage', NULL, 'u1', 'DEFAULT'), ('dev', NULL, 'u1', 'STATIC'),
  ('prod', 'acme', 'u1', 'STATIC'), ('stage', 'acme', 'u1', 'DEFAULT'), ('prod', 'globex', 'u1', 'DISABLED'),
  (NULL, 'globex', 'u1', 'TARGETING_MATCH'), (NULL, 'globex', 'u2', 'DEFAULT'), ('dev', 'off', 'u1', 'DISABLED'),
  ('stage', 'globex', 'u1', 'TARGETING_MATCH');
SELECT is(metastore.evaluate('ev-seed-ov', jsonb_build_object('userId', usr), tenant, env)->>'reason', expected,
          format('seed overrides env=%s tenant=%s user=%s', coalesce(env, '-'), coalesce(tenant, '-'), usr))
  FROM seed_ov ORDER BY ord;
SELECT is((SELECT definition->'environments'->'dev' FROM metastore.flags WHERE name = 'ev-seed-ov'), '{"enabled": true}',
          'a boolean override is stored as {"enabled": b}');

-- ================================================================ expiry
SELECT metastore.put_flag('ev-exp-past', '{"is_enabled": true, "expires_at": "2000-01-01T00:00:00Z"}') \g /dev/null
SELECT is(pg_temp.ev('ev-exp-past'), '{"value": false, "reason": "DISABLED", "enabled": false, "variant": null, "expired": true}',
          'expires_at in the past: DISABLED with "expired": true');
SELECT is(metastore.is_enabled('ev-exp-past'), false, 'is_enabled of an expired flag is false');
SELECT metastore.put_flag('ev-exp-date', '{"is_enabled": true, "expires_at": "2001-02-03"}') \g /dev/null
SELECT is(metastore.evaluate('ev-exp-date')->'expired', 'true', 'a date-only expires_at in the past expires the flag');
SELECT metastore.put_flag('ev-exp-future', '{"is_enabled": true, "expires_at": "2999-01-01T00:00:00+01:00"}') \g /dev/null
SELECT is(pg_temp.ev('ev-exp-future'), '{"value": true, "reason": "STATIC", "enabled": true, "variant": null}',
          'expires_at in the future: evaluated as usual, no "expired" key');
SELECT metastore.put_flag('ev-exp-now', jsonb_build_object('is_enabled', true,
         'expires_at', to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'))) \g /dev/null
SELECT is(metastore.evaluate('ev-exp-now')->'expired', 'true', 'expires_at = the transaction''s start: expired at every later statement');
SELECT metastore.put_flag('ev-exp-typed', '{"is_enabled": true, "value_type": "number", "default_value": 7, "value": 9, "expires_at": "2000-01-01T00:00:00Z"}') \g /dev/null
SELECT is(pg_temp.rv('ev-exp-typed'), 'DISABLED false 7 -', 'an expired typed flag serves its default_value');
SELECT metastore.put_flag('ev-exp-off', '{"is_enabled": false, "expires_at": "2000-01-01T00:00:00Z"}') \g /dev/null
SELECT is(metastore.evaluate('ev-exp-off')->'expired', 'true', 'a disabled flag that expired still says "expired": true');
SELECT metastore.put_flag('ev-exp-prereq', '{"is_enabled": true, "expires_at": "2000-01-01T00:00:00Z", "prerequisites": [{"feature": "ev-off-for-good"}]}') \g /dev/null
SELECT is(metastore.evaluate('ev-exp-prereq')->>'reason', 'DISABLED', 'expiry is decided before prerequisites');
SELECT metastore.put_flag('ev-exp-env', '{"is_enabled": true, "expires_at": "2000-01-01T00:00:00Z", "environment_overrides": {"prod": {"is_enabled": true}}}') \g /dev/null
SELECT is(metastore.evaluate('ev-exp-env', '{}', NULL, 'prod')->'expired', 'true', 'expiry is the flag''s own: an override does not revive it');

-- ================================================================ prerequisites
SELECT metastore.put_flag('pq-on', '{"is_enabled": true}') \g /dev/null
SELECT metastore.put_flag('pq-off', '{"is_enabled": false}') \g /dev/null
SELECT metastore.put_flag('pq-var', '{"is_enabled": true, "variants": [{"name": "blue", "weight": 1}]}') \g /dev/null
SELECT metastore.put_flag('pq-u1', '{"is_enabled": true, "target_users": ["u1"]}') \g /dev/null
SELECT metastore.put_flag('pq-env', '{"is_enabled": true, "environment_overrides": {"prod": false}}') \g /dev/null
SELECT metastore.put_flag('pq-chain', '{"is_enabled": true, "prerequisites": [{"feature": "pq-on"}]}') \g /dev/null
CREATE TEMP TABLE pq_cases (ord serial, label text, deps jsonb, ctx jsonb, env text, expected text);
INSERT INTO pq_cases (label, deps, ctx, env, expected) VALUES
  ('an enabled parent', '[{"feature": "pq-on"}]', '{}', NULL, 'STATIC'),
  ('a disabled parent', '[{"feature": "pq-off"}]', '{}', NULL, 'PREREQUISITE_FAILED'),
  ('"enabled": false on a disabled parent', '[{"feature": "pq-off", "enabled": false}]', '{}', NULL, 'STATIC'),
  ('"enabled": false on an enabled parent', '[{"feature": "pq-on", "enabled": false}]', '{}', NULL, 'PREREQUISITE_FAILED'),
  ('the parent''s variant is among variants', '[{"feature": "pq-var", "variants": ["red", "blue"]}]', '{"userId": "x"}', NULL, 'STATIC'),
  ('the parent''s variant is not among variants', '[{"feature": "pq-var", "variants": ["red"]}]', '{"userId": "x"}', NULL, 'PREREQUISITE_FAILED'),
  ('a parent without variants has the variant "disabled"', '[{"feature": "pq-on", "variants": ["disabled"]}]', '{}', NULL, 'STATIC'),
  ('a missing parent', '[{"feature": "pq-missing"}]', '{}', NULL, 'PREREQUISITE_FAILED'),
  ('a missing parent, "enabled": false', '[{"feature": "pq-missing", "enabled": false}]', '{}', NULL, 'PREREQUISITE_FAILED'),
  ('a parent with dependencies of its own (one level)', '[{"feature": "pq-chain"}]', '{}', NULL, 'PREREQUISITE_FAILED'),
  ('every parent must hold', '[{"feature": "pq-on"}, {"feature": "pq-off"}]', '{}', NULL, 'PREREQUISITE_FAILED'),
  ('two parents holding', '[{"feature": "pq-on"}, {"feature": "pq-off", "enabled": false}]', '{}', NULL, 'STATIC'),
  ('the parent is evaluated in the same context (u1 targeted)', '[{"feature": "pq-u1"}]', '{"userId": "u1"}', NULL, 'STATIC'),
  ('the parent is evaluated in the same context (u2 not targeted)', '[{"feature": "pq-u1"}]', '{"userId": "u2"}', NULL, 'PREREQUISITE_FAILED'),
  ('the parent is evaluated in the same environment (off in prod)', '[{"feature": "pq-env"}]', '{}', 'prod', 'PREREQUISITE_FAILED'),
  ('the parent is evaluated in the same environment (on in dev)', '[{"feature": "pq-env"}]', '{}', 'dev', 'STATIC');
SELECT metastore.put_flag('pq-child-' || ord, jsonb_build_object('is_enabled', true, 'prerequisites', deps)) FROM pq_cases \g /dev/null
SELECT is(metastore.evaluate('pq-child-' || ord, ctx, NULL, env)->>'reason', expected, 'prerequisites: ' || label)
  FROM pq_cases ORDER BY ord;
SELECT metastore.put_flag('pq-dep-alias', '{"enabled": true, "dependencies": [{"feature": "pq-off"}]}') \g /dev/null
SELECT is(pg_temp.ev('pq-dep-alias'), '{"value": false, "reason": "PREREQUISITE_FAILED", "enabled": false, "variant": null}',
          '"dependencies" (Unleash''s name) works as prerequisites: the whole result');
SELECT metastore.put_flag('pq-child-off', '{"is_enabled": false, "prerequisites": [{"feature": "pq-off"}]}') \g /dev/null
SELECT is(metastore.evaluate('pq-child-off')->>'reason', 'DISABLED', 'a disabled child is DISABLED before its prerequisites are asked');
SELECT metastore.put_flag('pq-typed', '{"is_enabled": true, "value_type": "string", "default_value": "fallback", "value": "new", "prerequisites": [{"feature": "pq-off"}]}') \g /dev/null
SELECT is(pg_temp.rv('pq-typed'), 'PREREQUISITE_FAILED false "fallback" -', 'a failed prerequisite serves the default_value');
SELECT metastore.set_flag_enabled('pq-off', true) \g /dev/null
SELECT is(metastore.evaluate('pq-typed')->>'value', 'new', 'enabling the parent (same transaction) satisfies the child at once');

-- ================================================================ value types, default_value, expected_type
SELECT metastore.put_flag('vt-str', '{"is_enabled": true, "value_type": "string", "default_value": "off", "value": "on", "rollout_percentage": 50}') \g /dev/null
SELECT is(metastore.evaluate('vt-str', jsonb_build_object('userId', u))->'value',
          CASE WHEN metastore.bucket('vt-str:' || u) <= 50 THEN '"on"' ELSE '"off"' END::jsonb,
          'string flag for ' || u || ': "on" in the rollout, "off" outside')
  FROM unnest(ARRAY['user-1', 'user-2', 'user-3', 'user-4']) u;
SELECT is(metastore.evaluate('vt-str')->>'value_type', 'string', 'value_type is reported');
SELECT metastore.put_flag('vt-str-off', '{"is_enabled": false, "value_type": "string", "default_value": "off", "value": "on"}') \g /dev/null
SELECT is(pg_temp.rv('vt-str-off'), 'DISABLED false "off" -', 'a disabled string flag serves default_value');
SELECT metastore.put_flag('vt-num', '{"is_enabled": true, "value_type": "number", "default_value": 0, "value": 2.5}') \g /dev/null
SELECT is(metastore.evaluate('vt-num')->'value', '2.5', 'a number flag serves its number value');
SELECT metastore.put_flag('vt-obj', '{"is_enabled": true, "value_type": "object", "default_value": {"limit": 1}, "value": {"limit": 10, "tags": ["a"]}}') \g /dev/null
SELECT is(metastore.evaluate('vt-obj')->'value', '{"limit": 10, "tags": ["a"]}', 'an object flag serves its object');
SELECT metastore.put_flag('vt-nodefault', '{"is_enabled": false, "value_type": "number"}') \g /dev/null
SELECT is(metastore.evaluate('vt-nodefault')->'value', 'null', 'no default_value: null');
SELECT metastore.put_flag('vt-novalue', '{"is_enabled": true, "value_type": "string", "default_value": "d"}') \g /dev/null
SELECT is(metastore.evaluate('vt-novalue')->'value', '"d"', 'on without a value: the default_value stays');
SELECT metastore.put_flag('vt-var', '{"is_enabled": true, "value_type": "string", "value": "plain",
  "variants": [{"name": "a", "weight": 3, "value": "A"}, {"name": "b", "weight": 2}, {"name": "c", "weight": 5, "value": "C"}]}') \g /dev/null
SELECT is(pg_temp.rv('vt-var', jsonb_build_object('userId', u)),
          format('SPLIT true %s %s',
                 CASE pg_temp.pick(ARRAY['a', 'b', 'c'], ARRAY[3, 2, 5], metastore.bucket('vt-var:' || u, 86028157, 10))
                   WHEN 'a' THEN '"A"' WHEN 'b' THEN '"plain"' ELSE '"C"' END,
                 pg_temp.pick(ARRAY['a', 'b', 'c'], ARRAY[3, 2, 5], metastore.bucket('vt-var:' || u, 86028157, 10))),
          'typed variants for ' || u || ': the variant''s value, or the flag''s value for a variant without one')
  FROM unnest(ARRAY['user-1', 'user-2', 'user-3', 'user-4', 'user-5', 'user-6']) u;
SELECT metastore.put_flag('vt-payload-json', '{"is_enabled": true, "value_type": "object", "variants": [{"name": "a", "payload": {"type": "json", "value": "{\"k\": [1, 2]}"}}]}') \g /dev/null
SELECT is(metastore.evaluate('vt-payload-json', '{"userId": "u"}')->'value', '{"k": [1, 2]}', 'an object flag: a json payload becomes the value');
SELECT is(metastore.evaluate('vt-payload-json', '{"userId": "u"}')->'payload', '{"type": "json", "value": "{\"k\": [1, 2]}"}', '... and the payload is returned as well');
SELECT metastore.put_flag('vt-payload-num', '{"is_enabled": true, "value_type": "number", "variants": [{"name": "a", "payload": {"type": "number", "value": "12.50"}}]}') \g /dev/null
SELECT is(metastore.evaluate('vt-payload-num', '{"userId": "u"}')->'value', '12.5', 'a number flag: a number payload becomes the value');
SELECT metastore.put_flag('vt-payload-str', '{"is_enabled": true, "value_type": "string", "variants": [{"name": "a", "payload": {"type": "string", "value": "#00f"}}]}') \g /dev/null
SELECT is(metastore.evaluate('vt-payload-str', '{"userId": "u"}')->'value', '"#00f"', 'a string flag: a string payload becomes the value');
SELECT metastore.put_flag('vt-bool-payload', '{"is_enabled": true, "variants": [{"name": "a", "payload": {"type": "string", "value": "x"}}]}') \g /dev/null
SELECT is(metastore.evaluate('vt-bool-payload', '{"userId": "u"}') - 'key' - 'version',
          '{"value": true, "reason": "STATIC", "enabled": true, "variant": "a", "value_type": "boolean", "payload": {"type": "string", "value": "x"}}',
          'a boolean flag: the value is the state, the variant only carries its payload');

SELECT is(metastore.evaluate('vt-str', '{}', NULL, NULL, 'string')->>'reason' <> 'ERROR', true, 'expected_type equal to value_type: evaluated');
SELECT is(metastore.evaluate('vt-str', '{}', NULL, NULL, 'number') - 'key',
          '{"value": null, "reason": "ERROR", "enabled": false, "variant": null, "error_code": "TYPE_MISMATCH", "value_type": "string", "error_message": "flag \"vt-str\" is of type string"}',
          'expected_type number on a string flag: TYPE_MISMATCH, the whole result');
SELECT is(metastore.evaluate('ev-on', '{}', NULL, NULL, 'string')->>'error_code', 'TYPE_MISMATCH', 'expected_type string on a boolean flag');
SELECT is(metastore.evaluate('vt-obj', '{}', NULL, NULL, 'boolean')->>'error_code', 'TYPE_MISMATCH', 'expected_type boolean on an object flag');
SELECT is(metastore.evaluate('vt-var', '{"userId": "user-1"}', NULL, NULL, 'object')->'variant', 'null', 'a type mismatch drops the variant');
SELECT is(metastore.evaluate('ev-on', '{}', NULL, NULL, 'boolean')->>'reason', 'STATIC', 'expected_type boolean on a boolean flag');
SELECT throws_ok($$SELECT metastore.evaluate('ev-on', '{}', NULL, NULL, 'bool')$$, '22023', NULL, 'an expected_type that is no type: 22023');
SELECT is(metastore.evaluate('no-such-flag', '{}', NULL, NULL, 'number')->>'error_code', 'FLAG_NOT_FOUND',
          'an unknown flag with expected_type: FLAG_NOT_FOUND, not TYPE_MISMATCH');

-- ================================================================ unknown flags, contexts that are not objects
SELECT is(metastore.evaluate('no-such-flag'),
          '{"key": "no-such-flag", "value": null, "reason": "ERROR", "enabled": false, "variant": null, "error_code": "FLAG_NOT_FOUND", "error_message": "flag \"no-such-flag\" not found"}',
          'an unknown flag: FLAG_NOT_FOUND, no version or value_type');
SELECT is(metastore.is_enabled('no-such-flag'), false, 'is_enabled of an unknown flag is false');
SELECT is(metastore.evaluate(repeat('x', 300))->>'error_code', 'FLAG_NOT_FOUND', 'a name longer than any flag''s: FLAG_NOT_FOUND');
SELECT is(metastore.evaluate('')->>'error_code', 'FLAG_NOT_FOUND', 'an empty name: FLAG_NOT_FOUND');
SELECT is(metastore.is_enabled(NULL), false, 'is_enabled(NULL) is false');
SELECT throws_ok($$SELECT metastore.evaluate(NULL)$$, '22004', NULL, 'evaluate(NULL): 22004');
SELECT is(metastore.evaluate('vt-str', ctx) - 'key',
          '{"value": null, "reason": "ERROR", "enabled": false, "variant": null, "error_code": "INVALID_CONTEXT", "value_type": "string", "error_message": "the context must be a JSON object"}',
          'INVALID_CONTEXT for the context ' || ctx::text)
  FROM unnest(ARRAY['[]', '[{"userId": "u"}]', '"user"', '42', 'true', 'null']::jsonb[]) ctx;
SELECT is(metastore.is_enabled('ev-on', '[]'), false, 'is_enabled with a context that is not an object is false');
SELECT is(metastore.evaluate('no-such-flag', '[]')->>'error_code', 'FLAG_NOT_FOUND', 'an unknown flag with a bad context: FLAG_NOT_FOUND first');
SELECT is(pg_temp.ev('ev-on', NULL), '{"value": true, "reason": "STATIC", "enabled": true, "variant": null}', 'a NULL context is an empty one');
SELECT is((SELECT count(*) FROM jsonb_array_elements(metastore.evaluate_all('"x"')) e WHERE e->>'error_code' IS DISTINCT FROM 'INVALID_CONTEXT'), 0::bigint,
          'evaluate_all with a context that is not an object: INVALID_CONTEXT for every flag');

-- ================================================================ context aliases
SELECT metastore.put_flag('al-user', '{"enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "u1"}}]}') \g /dev/null
CREATE TEMP TABLE alias_cases (ord serial, flag text, ctx jsonb, tenant text, env text, expected boolean, label text);
INSERT INTO alias_cases (flag, ctx, tenant, env, expected, label) VALUES
  ('al-user', '{"userId": "u1"}', NULL, NULL, true, 'userId'),
  ('al-user', '{"targetingKey": "u1"}', NULL, NULL, true, 'targetingKey acts as userId'),
  ('al-user', '{"user_id": "u1"}', NULL, NULL, true, 'user_id acts as userId'),
  ('al-user', '{"userId": "u2", "targetingKey": "u1"}', NULL, NULL, false, 'userId wins over targetingKey'),
  ('al-user', '{"targetingKey": "u1", "user_id": "u2"}', NULL, NULL, true, 'targetingKey wins over user_id'),
  ('al-user', '{"userId": "", "targetingKey": "u1"}', NULL, NULL, true, 'an empty userId counts as missing'),
  ('al-user', '{"userId": null, "user_id": "u1"}', NULL, NULL, true, 'a null userId counts as missing'),
  ('al-user', '{"UserId": "u1"}', NULL, NULL, false, 'names are case-sensitive'),
  ('al-tenant', '{"tenantId": "acme"}', NULL, NULL, true, 'tenantId'),
  ('al-tenant', '{"tenant_id": "acme"}', NULL, NULL, true, 'tenant_id acts as tenantId'),
  ('al-tenant', '{}', 'acme', NULL, true, 'tenantId falls back to the tenant argument'),
  ('al-tenant', '{}', 'other', NULL, false, 'the tenant argument, another tenant'),
  ('al-tenant', '{}', NULL, NULL, false, 'no tenant at all'),
  ('al-tenant', '{"tenantId": "other"}', 'acme', NULL, false, 'the context''s tenantId wins over the argument'),
  ('al-env', '{"environment": "prod"}', NULL, NULL, true, 'environment in the context'),
  ('al-env', '{}', NULL, 'prod', true, 'environment falls back to the environment argument'),
  ('al-env', '{}', NULL, 'dev', false, 'the environment argument, another environment'),
  ('al-env', '{"environment": "dev"}', NULL, 'prod', false, 'the context''s environment wins over the argument'),
  ('al-session', '{"sessionId": "s1"}', NULL, NULL, true, 'sessionId'),
  ('al-session', '{"session_id": "s1"}', NULL, NULL, true, 'session_id acts as sessionId'),
  ('al-session', '{"userId": "s1"}', NULL, NULL, false, 'a userId is not a sessionId'),
  ('al-prop', '{"properties": {"plan": "pro"}}', NULL, NULL, true, 'other names fall back to properties'),
  ('al-prop', '{"plan": "free", "properties": {"plan": "pro"}}', NULL, NULL, false, 'a top-level field wins over properties'),
  ('al-app', '{"appName": "web"}', NULL, NULL, true, 'appName');
SELECT metastore.put_flag('al-tenant', '{"enabled": true, "rules": [{"attribute": "tenantId", "operator": "eq", "value": "acme"}]}') \g /dev/null
SELECT metastore.put_flag('al-env', '{"enabled": true, "rules": [{"attribute": "environment", "operator": "eq", "value": "prod"}]}') \g /dev/null
SELECT metastore.put_flag('al-session', '{"enabled": true, "rules": [{"attribute": "sessionId", "operator": "eq", "value": "s1"}]}') \g /dev/null
SELECT metastore.put_flag('al-prop', '{"enabled": true, "rules": [{"attribute": "plan", "operator": "eq", "value": "pro"}]}') \g /dev/null
SELECT metastore.put_flag('al-app', '{"enabled": true, "rules": [{"attribute": "appName", "operator": "eq", "value": "web"}]}') \g /dev/null
SELECT is(metastore.is_enabled(flag, ctx, tenant, env), expected, 'context: ' || label) FROM alias_cases ORDER BY ord;
-- a rollout hashes the alias's value as the user id
SELECT is(pg_temp.rollout_misses('ev-roll', 'targetingKey', $$metastore.bucket('ev-roll:' || u) <= 30$$), 0::bigint,
          'a rollout hashes targetingKey as the user id');
SELECT is(pg_temp.rollout_misses('ev-roll', 'user_id', $$metastore.bucket('ev-roll:' || u) <= 30$$), 0::bigint,
          'a rollout hashes user_id as the user id');

-- ================================================================ strategies
SELECT metastore.put_flag('st-uwi', '{"enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "a, b,c ,d"}}]}') \g /dev/null
SELECT is(array_agg(metastore.is_enabled('st-uwi', jsonb_build_object('userId', u)) ORDER BY o),
          ARRAY[true, true, true, true, false, false, false],
          'userWithId: a comma-separated list, spaces around entries ignored')
  FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e', ' b', 'a, b']) WITH ORDINALITY x(u, o);
SELECT is(metastore.evaluate('st-uwi', '{"userId": "a"}')->>'reason', 'TARGETING_MATCH', 'userWithId: TARGETING_MATCH');
SELECT metastore.put_flag('st-gru', '{"enabled": true, "strategies": [{"name": "gradualRolloutUserId", "parameters": {"percentage": "40", "groupId": "grp"}}]}') \g /dev/null
SELECT is(pg_temp.rollout_misses('st-gru', 'userId', $$metastore.bucket('grp:' || u) <= 40$$), 0::bigint,
          'gradualRolloutUserId 40 on groupId grp: bucket(grp:user) <= 40');
SELECT is(pg_temp.rv('st-gru'), 'DEFAULT false false -', 'gradualRolloutUserId without a user id: off');
SELECT metastore.put_flag('st-gru-nogroup', '{"enabled": true, "strategies": [{"name": "gradualRolloutUserId", "parameters": {"percentage": 40}}]}') \g /dev/null
SELECT is(pg_temp.rollout_misses('st-gru-nogroup', 'userId', $$metastore.bucket(':' || u) <= 40$$), 0::bigint,
          'gradualRolloutUserId without groupId hashes ":user" (Unleash''s empty group)');
SELECT metastore.put_flag('st-grs', '{"enabled": true, "strategies": [{"name": "gradualRolloutSessionId", "parameters": {"percentage": "60", "groupId": "sg"}}]}') \g /dev/null
SELECT is(pg_temp.rollout_misses('st-grs', 'sessionId', $$metastore.bucket('sg:' || u) <= 60$$), 0::bigint,
          'gradualRolloutSessionId 60: bucket(groupId:sessionId) <= 60');
SELECT is(pg_temp.rollout_misses('st-grs', 'userId', 'false'), 0::bigint, 'gradualRolloutSessionId ignores the user id');
SELECT metastore.put_flag('st-grr-100', '{"enabled": true, "strategies": [{"name": "gradualRolloutRandom", "parameters": {"percentage": "100"}}]}') \g /dev/null
SELECT metastore.put_flag('st-grr-0', '{"enabled": true, "strategies": [{"name": "gradualRolloutRandom", "parameters": {"percentage": "0"}}]}') \g /dev/null
SELECT is(ARRAY[metastore.is_enabled('st-grr-100'), metastore.is_enabled('st-grr-0')], ARRAY[true, false],
          'gradualRolloutRandom: 100 always on, 0 always off');
SELECT metastore.put_flag('st-ip', '{"enabled": true, "strategies": [{"name": "remoteAddress", "parameters": {"IPs": "10.0.0.1, 192.168.0.0/16, 2001:db8::/32, proxy-7"}}]}') \g /dev/null
SELECT is(array_agg(metastore.is_enabled('st-ip', jsonb_build_object('remoteAddress', ip)) ORDER BY o),
          ARRAY[true, false, true, false, true, false, true, false],
          'remoteAddress: addresses, IPv4 and IPv6 networks, and exact text')
  FROM unnest(ARRAY['10.0.0.1', '10.0.0.2', '192.168.5.5', '192.169.0.1', '2001:db8::7', '2001:db9::7', 'proxy-7', '']) WITH ORDINALITY x(ip, o);
SELECT is(metastore.evaluate('st-ip', '{"remoteAddress": "10.0.0.1"}')->>'reason', 'TARGETING_MATCH', 'remoteAddress: TARGETING_MATCH');
SELECT metastore.put_flag('st-host', '{"enabled": true, "strategies": [{"name": "applicationHostname", "parameters": {"hostNames": "Web-1, web-2"}}]}') \g /dev/null
SELECT is(ARRAY[metastore.is_enabled('st-host', '{"hostname": "WEB-1"}'), metastore.is_enabled('st-host', '{"hostname": "web-2"}'),
                metastore.is_enabled('st-host', '{"hostname": "web-3"}'), metastore.is_enabled('st-host', '{}')],
          ARRAY[true, true, false, false], 'applicationHostname: the hostname field, case-insensitive');
SELECT metastore.put_flag('st-flex', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "35"}}]}') \g /dev/null
SELECT is(pg_temp.rollout_misses('st-flex', 'userId', $$metastore.bucket('st-flex:' || u) <= 35$$), 0::bigint,
          'flexibleRollout without groupId: the flag''s name is the group, userId by default');
SELECT is(pg_temp.rollout_misses('st-flex', 'sessionId', $$metastore.bucket('st-flex:' || u) <= 35$$), 0::bigint,
          'flexibleRollout default stickiness: sessionId when there is no userId');
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.is_enabled('st-flex', jsonb_build_object('userId', 'u' || g, 'sessionId', 's' || g))
                  IS DISTINCT FROM (metastore.bucket('st-flex:u' || g) <= 35)), 0::bigint,
          'flexibleRollout default stickiness: userId wins over sessionId');
SELECT metastore.put_flag('st-flex-sess', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": 50, "stickiness": "sessionId", "groupId": "gg"}}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.is_enabled('st-flex-sess', jsonb_build_object('userId', 'u' || g, 'sessionId', 's' || g))
                  IS DISTINCT FROM (metastore.bucket('gg:s' || g) <= 50)), 0::bigint,
          'flexibleRollout stickiness sessionId and groupId gg: bucket(gg:session)');
SELECT metastore.put_flag('st-flex-org', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "45", "stickiness": "org"}}]}') \g /dev/null
SELECT is(pg_temp.rollout_misses('st-flex-org', 'org', $$metastore.bucket('st-flex-org:' || u) <= 45$$), 0::bigint,
          'flexibleRollout stickiness on a custom field');
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.is_enabled('st-flex-org', jsonb_build_object('properties', jsonb_build_object('org', 'user-' || g)))
                  IS DISTINCT FROM (metastore.bucket('st-flex-org:user-' || g) <= 45)), 0::bigint,
          'flexibleRollout stickiness on a custom field found under properties');
SELECT metastore.put_flag('st-flex-org-100', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "org"}}]}') \g /dev/null
SELECT is(pg_temp.rv('st-flex-org-100', '{"userId": "u1"}'), 'DEFAULT false false -',
          'flexibleRollout on a custom field that is missing is off, even at 100');
SELECT metastore.put_flag('st-flex-rand', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "100", "stickiness": "random"}}]}') \g /dev/null
SELECT is(metastore.is_enabled('st-flex-rand', '{"userId": "u1"}'), true, 'flexibleRollout random stickiness at 100: on');
SELECT metastore.put_flag('st-flex-rand0', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "0", "stickiness": "random"}}]}') \g /dev/null
SELECT is(metastore.is_enabled('st-flex-rand0', '{"userId": "u1"}'), false, 'flexibleRollout random stickiness at 0: off');
SELECT metastore.put_flag('st-flex-constr', '{"enabled": true, "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "50"}, "constraints": [{"contextName": "country", "operator": "IN", "values": ["NL"]}]}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.is_enabled('st-flex-constr', jsonb_build_object('userId', 'u' || g, 'country', CASE WHEN g % 2 = 0 THEN 'NL' ELSE 'DE' END))
                  IS DISTINCT FROM (g % 2 = 0 AND metastore.bucket('st-flex-constr:u' || g) <= 50)), 0::bigint,
          'flexibleRollout with a constraint: on when the constraint holds and the bucket is in');
SELECT metastore.put_flag('st-disabled', '{"enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "x"}}, {"name": "default", "disabled": true}]}') \g /dev/null
SELECT is(ARRAY[metastore.is_enabled('st-disabled', '{"userId": "x"}'), metastore.is_enabled('st-disabled', '{"userId": "y"}')],
          ARRAY[true, false], 'a strategy with "disabled": true is skipped');
SELECT metastore.put_flag('st-all-disabled', '{"enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "x"}, "disabled": true}]}') \g /dev/null
SELECT is(pg_temp.rv('st-all-disabled', '{"userId": "y"}'), 'STATIC true true -', 'only disabled strategies: as if there were none, on');
SELECT metastore.put_flag('st-empty', '{"enabled": true, "strategies": []}') \g /dev/null
SELECT is(pg_temp.rv('st-empty'), 'STATIC true true -', 'an empty strategies list: on for everyone');
SELECT metastore.put_flag('st-order', '{"enabled": true, "value_type": "string",
  "strategies": [{"name": "userWithId", "parameters": {"userIds": "u1"}, "variants": [{"name": "first", "weight": 1, "value": "1st"}]},
                 {"name": "default", "variants": [{"name": "second", "weight": 1, "value": "2nd"}]}]}') \g /dev/null
SELECT is(ARRAY[metastore.evaluate('st-order', '{"userId": "u1"}')->>'variant', metastore.evaluate('st-order', '{"userId": "u2"}')->>'variant'],
          ARRAY['first', 'second'], 'the first matching strategy decides (and brings its variants)');
SELECT metastore.import_unleash('{"features": [{"name": "st-custom", "enabled": true, "strategies": [{"name": "my-custom-strategy"}]},
                                               {"name": "st-custom-2", "enabled": true, "strategies": [{"name": "my-custom-strategy"}, {"name": "default"}]}]}') \g /dev/null
SELECT is(ARRAY[metastore.evaluate('st-custom')->>'reason', metastore.evaluate('st-custom-2')->>'reason'], ARRAY['DEFAULT', 'STATIC'],
          'an imported unknown strategy never matches; the next one still can');

-- ================================================================ segments
SELECT metastore.put_segment('seg-beta', '[{"contextName": "plan", "operator": "IN", "values": ["beta"]}]', 501) \g /dev/null
SELECT metastore.put_segment('seg-nl', '[{"contextName": "country", "operator": "IN", "values": ["NL"]}]', 502) \g /dev/null
SELECT metastore.put_flag('sg-two', '{"enabled": true, "strategies": [{"name": "default", "segments": [501, 502]}]}') \g /dev/null
SELECT is(ARRAY[metastore.is_enabled('sg-two', '{"plan": "beta", "country": "NL"}'), metastore.is_enabled('sg-two', '{"plan": "beta"}'),
                metastore.is_enabled('sg-two', '{"country": "NL"}')], ARRAY[true, false, false],
          'two segments: both must hold');
SELECT is(metastore.evaluate('sg-two', '{"plan": "beta", "country": "NL"}')->>'reason', 'TARGETING_MATCH', 'a segment match is TARGETING_MATCH');
SELECT metastore.put_flag('sg-and-constraint', '{"enabled": true, "strategies": [{"name": "default", "segments": [501], "constraints": [{"contextName": "age", "operator": "NUM_GTE", "value": "18"}]}]}') \g /dev/null
SELECT is(ARRAY[metastore.is_enabled('sg-and-constraint', '{"plan": "beta", "age": 18}'), metastore.is_enabled('sg-and-constraint', '{"plan": "beta", "age": 17}'),
                metastore.is_enabled('sg-and-constraint', '{"plan": "alpha", "age": 30}')], ARRAY[true, false, false],
          'a segment and the strategy''s own constraints: all must hold');
SELECT metastore.put_flag('sg-missing', '{"enabled": true, "strategies": [{"name": "default", "segments": [999999]}]}') \g /dev/null
SELECT is(pg_temp.rv('sg-missing', '{"plan": "beta"}'), 'DEFAULT false false -', 'a strategy naming a segment that does not exist never matches');
SELECT metastore.put_flag('sg-missing-or', '{"enabled": true, "strategies": [{"name": "default", "segments": [999999]}, {"name": "userWithId", "parameters": {"userIds": "u1"}}]}') \g /dev/null
SELECT is(metastore.is_enabled('sg-missing-or', '{"userId": "u1"}'), true, '... and the next strategy still can');
SELECT metastore.put_segment('seg-beta', '[{"contextName": "plan", "operator": "IN", "values": ["gamma"]}]') \g /dev/null
SELECT is(ARRAY[metastore.is_enabled('sg-two', '{"plan": "beta", "country": "NL"}'), metastore.is_enabled('sg-two', '{"plan": "gamma", "country": "NL"}')],
          ARRAY[false, true], 'a changed segment applies at once (same transaction)');
SELECT metastore.delete_segment('seg-nl') \g /dev/null
SELECT is(metastore.is_enabled('sg-two', '{"plan": "gamma", "country": "NL"}'), false, 'a deleted segment never matches');
SELECT metastore.put_segment('seg-nl', '[{"contextName": "country", "operator": "IN", "values": ["NL"]}]') \g /dev/null
SELECT is(metastore.is_enabled('sg-two', '{"plan": "gamma", "country": "NL"}'), true, 'the segment put again (same id) matches again');
SELECT metastore.put_segment('seg-empty', '[]', 503) \g /dev/null
SELECT metastore.put_flag('sg-empty', '{"enabled": true, "strategies": [{"name": "default", "segments": [503]}]}') \g /dev/null
SELECT is(metastore.is_enabled('sg-empty', '{}'), true, 'a segment without constraints always holds');

-- ================================================================ variants
SELECT metastore.put_flag('va-w', '{"enabled": true, "variants": [{"name": "a", "weight": 1, "payload": {"type": "string", "value": "pa"}}, {"name": "b", "weight": 3}, {"name": "z", "weight": 0}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 500) g
            WHERE metastore.evaluate('va-w', jsonb_build_object('userId', 'u' || g))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['a', 'b', 'z'], ARRAY[1, 3, 0], metastore.bucket('va-w:u' || g, 86028157, 4))), 0::bigint,
          'weights 1 / 3 / 0: bucket(flag:user, 86028157, 4) against the running sum, for 500 users');
SELECT is((SELECT count(*) FROM generate_series(1, 500) g WHERE metastore.evaluate('va-w', jsonb_build_object('userId', 'u' || g))->>'variant' = 'z'), 0::bigint,
          'a variant of weight 0 is never chosen');
SELECT is((SELECT count(DISTINCT metastore.evaluate('va-w', jsonb_build_object('userId', 'u' || g))->>'variant') FROM generate_series(1, 200) g), 2::bigint,
          'both weighted variants are chosen for some users');
SELECT is(metastore.evaluate('va-w', jsonb_build_object('userId', u))->'payload',
          CASE WHEN pg_temp.pick(ARRAY['a', 'b'], ARRAY[1, 3], metastore.bucket('va-w:' || u, 86028157, 4)) = 'a'
               THEN '{"type": "string", "value": "pa"}'::jsonb END,
          'the payload comes with variant a only (' || u || ')')
  FROM unnest(ARRAY['u1', 'u2', 'u3', 'u4', 'u5']) u;
SELECT is(metastore.evaluate('va-w', '{"userId": "u1"}')->>'reason', 'SPLIT', 'a weighted choice among variants is SPLIT');
SELECT metastore.put_flag('va-even', '{"enabled": true, "variants": [{"name": "x"}, {"name": "y"}, {"name": "z"}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.evaluate('va-even', jsonb_build_object('userId', 'u' || g))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['x', 'y', 'z'], ARRAY[1, 1, 1], metastore.bucket('va-even:u' || g, 86028157, 3))), 0::bigint,
          'variants without weights split evenly');
SELECT metastore.put_flag('va-one', '{"enabled": true, "variants": [{"name": "only", "weight": 1}]}') \g /dev/null
SELECT is(pg_temp.rv('va-one', '{"userId": "u1"}'), 'STATIC true true only', 'a single variant is no split: STATIC');
SELECT is(pg_temp.rv('va-one'), 'STATIC true true only', 'a single variant is chosen even without any stickiness value');
-- the override users are two whose own bucket would pick a, so only the override can give b
SELECT array_agg(u ORDER BY u) AS ov_users FROM (
  SELECT 'p' || g AS u FROM generate_series(1, 100) g
   WHERE pg_temp.pick(ARRAY['a', 'b', 'c'], ARRAY[1, 1, 0], metastore.bucket('va-ov:p' || g, 86028157, 2)) = 'a'
   ORDER BY g LIMIT 2) s \gset
SELECT metastore.put_flag('va-ov', jsonb_build_object('enabled', true, 'variants', jsonb_build_array(
         jsonb_build_object('name', 'a', 'weight', 1),
         jsonb_build_object('name', 'b', 'weight', 1, 'overrides', jsonb_build_array(jsonb_build_object('contextName', 'userId', 'values', to_jsonb(:'ov_users'::text[])))),
         jsonb_build_object('name', 'c', 'weight', 0, 'overrides', jsonb_build_array(jsonb_build_object('contextName', 'org', 'values', jsonb_build_array('acme'))))))) \g /dev/null
SELECT is(pg_temp.rv('va-ov', jsonb_build_object('userId', u)), 'TARGETING_MATCH true true b',
          'an override picks its variant whatever the bucket (' || u || ', whose bucket picks a)')
  FROM unnest(:'ov_users'::text[]) u;
SELECT is((SELECT count(*) FROM generate_series(101, 300) g
            WHERE metastore.evaluate('va-ov', jsonb_build_object('userId', 'p' || g))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['a', 'b', 'c'], ARRAY[1, 1, 0], metastore.bucket('va-ov:p' || g, 86028157, 2))), 0::bigint,
          'users without an override get their bucket''s variant');
SELECT is(pg_temp.rv('va-ov', '{"userId": "x", "org": "acme"}'), 'TARGETING_MATCH true true c', 'an override on a custom field, even for a weight-0 variant');
SELECT is(pg_temp.rv('va-ov', jsonb_build_object('userId', (:'ov_users'::text[])[1], 'org', 'acme')), 'TARGETING_MATCH true true b', 'the first variant with a matching override wins');
SELECT metastore.put_flag('va-stick', '{"enabled": true, "variants": [{"name": "a", "weight": 1, "stickiness": "org"}, {"name": "b", "weight": 1}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.evaluate('va-stick', jsonb_build_object('userId', 'same', 'org', 'o' || g))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['a', 'b'], ARRAY[1, 1], metastore.bucket('va-stick:o' || g, 86028157, 2))), 0::bigint,
          'the first variant''s stickiness (a custom field) decides for the flag''s variants');
SELECT metastore.put_flag('va-default', '{"enabled": true, "variants": [{"name": "a", "weight": 1}, {"name": "b", "weight": 1}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 200) g
            WHERE metastore.evaluate('va-default', jsonb_build_object('sessionId', 's' || g))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['a', 'b'], ARRAY[1, 1], metastore.bucket('va-default:s' || g, 86028157, 2))), 0::bigint,
          'default variant stickiness: sessionId when there is no userId');
SELECT is((SELECT count(*) FROM generate_series(1, 200) g
            WHERE metastore.evaluate('va-default', jsonb_build_object('remoteAddress', '10.0.' || (g / 256) || '.' || (g % 256)))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['a', 'b'], ARRAY[1, 1], metastore.bucket('va-default:10.0.' || (g / 256) || '.' || (g % 256), 86028157, 2))), 0::bigint,
          'default variant stickiness: remoteAddress when there is neither userId nor sessionId');
SELECT metastore.put_flag('va-strat', '{"enabled": true,
  "strategies": [{"name": "flexibleRollout", "parameters": {"rollout": "100", "groupId": "grp", "stickiness": "sessionId"},
                  "variants": [{"name": "s1", "weight": 1}, {"name": "s2", "weight": 1}]}],
  "variants": [{"name": "flag-level", "weight": 1}]}') \g /dev/null
SELECT is((SELECT count(*) FROM generate_series(1, 300) g
            WHERE metastore.evaluate('va-strat', jsonb_build_object('userId', 'same', 'sessionId', 's' || g))->>'variant'
                  IS DISTINCT FROM pg_temp.pick(ARRAY['s1', 's2'], ARRAY[1, 1], metastore.bucket('grp:s' || g, 86028157, 2))), 0::bigint,
          'strategy variants: the strategy''s groupId and stickiness, not the flag''s variants');
SELECT is(metastore.evaluate('va-strat', '{"sessionId": "s1"}')->>'reason', 'SPLIT', 'a 100% rollout whose variants are weighted: SPLIT');
SELECT metastore.put_flag('va-strat-none', '{"enabled": true, "strategies": [{"name": "default"}], "variants": [{"name": "flag-level", "weight": 1}]}') \g /dev/null
SELECT is(metastore.evaluate('va-strat-none', '{"userId": "u"}')->>'variant', 'flag-level', 'a matching strategy without variants: the flag''s variants');
SELECT metastore.put_flag('va-off', '{"enabled": false, "variants": [{"name": "a", "weight": 1}]}') \g /dev/null
SELECT is(pg_temp.rv('va-off', '{"userId": "u"}'), 'DISABLED false false -', 'a disabled flag has no variant');
SELECT metastore.put_flag('va-nomatch', '{"enabled": true, "strategies": [{"name": "userWithId", "parameters": {"userIds": "x"}}], "variants": [{"name": "a", "weight": 1}]}') \g /dev/null
SELECT is(pg_temp.rv('va-nomatch', '{"userId": "u"}'), 'DEFAULT false false -', 'no strategy matched: no variant');

-- ================================================================ evaluate_all
SELECT is((SELECT array_agg(e->>'key' ORDER BY o) FROM jsonb_array_elements(metastore.evaluate_all('{"userId": "user-7"}')) WITH ORDINALITY t(e, o)),
          (SELECT array_agg(name ORDER BY name COLLATE "C") FROM metastore.flags WHERE deleted_at IS NULL),
          'evaluate_all: every live flag, by name in byte order');
SELECT is((SELECT count(*) FROM jsonb_array_elements(metastore.evaluate_all('{"userId": "user-7", "sessionId": "s-7", "country": "NL", "org": "o-7"}', 'acme', 'prod')) e
            WHERE e IS DISTINCT FROM metastore.evaluate(e->>'key', '{"userId": "user-7", "sessionId": "s-7", "country": "NL", "org": "o-7"}', 'acme', 'prod')), 0::bigint,
          'evaluate_all: each entry equals evaluate() of the flag for the same context, tenant and environment');
SELECT metastore.delete_flag('ev-empty') \g /dev/null
SELECT is((SELECT count(*) FROM jsonb_array_elements(metastore.evaluate_all()) e WHERE e->>'key' = 'ev-empty'), 0::bigint,
          'evaluate_all leaves out a deleted flag');
SELECT is(metastore.evaluate('ev-empty')->>'error_code', 'FLAG_NOT_FOUND', 'a deleted flag is FLAG_NOT_FOUND');
SELECT metastore.put_flag('ev-empty', '{"is_enabled": true}') \g /dev/null
SELECT is(metastore.evaluate('ev-empty')->>'reason', 'STATIC', 'the flag put again is found again (same transaction)');

-- ================================================================ the cache follows this transaction's writes
SELECT metastore.put_flag('ca-flag', '{"is_enabled": true}') \g /dev/null
SELECT is(metastore.is_enabled('ca-flag'), true, 'cache: a new flag is seen at once');
SAVEPOINT before_change;
SELECT metastore.set_flag_enabled('ca-flag', false) \g /dev/null
SELECT is(metastore.is_enabled('ca-flag'), false, 'cache: a change is seen by the next statement');
ROLLBACK TO SAVEPOINT before_change;
SELECT is(metastore.evaluate('ca-flag')->'version', '1', 'cache: a change rolled back to a savepoint is forgotten');
SELECT is(metastore.is_enabled('ca-flag'), true, 'cache: ... and the flag is on again');

-- ================================================================ access: reader evaluates, others get FLAG_NOT_FOUND
CREATE ROLE ms_fe_reader NOLOGIN;
CREATE ROLE ms_fe_stranger NOLOGIN;
CREATE ROLE ms_fe_cold NOLOGIN;
SELECT metastore."grant"('ms_fe_reader', 'fe.ns', 'reader') \g /dev/null
SELECT metastore."grant"('ms_fe_cold', 'fe.ns', 'reader') \g /dev/null
SELECT metastore."grant"('ms_fe_stranger', 'fe-elsewhere', 'writer') \g /dev/null
SELECT metastore."grant"('fe-key-reader', 'fe.ns', 'reader') \g /dev/null
SELECT metastore.put_flag('fe-flag', '{"is_enabled": true}', namespace => 'fe.ns') \g /dev/null
SELECT metastore.put_flag('fe-secret', '{"is_enabled": true}', namespace => 'fe-secret-ns') \g /dev/null
SELECT metastore.put_flag('fe-child', '{"is_enabled": true, "prerequisites": [{"feature": "fe-secret"}]}', namespace => 'fe.ns') \g /dev/null
SELECT api_key AS fe_key FROM metastore.create_api_key('fe-key-reader') \gset

-- evaluation as another session role (SET SESSION AUTHORIZATION); p_warm
-- first loads the principal's grants through a SECURITY DEFINER call (the
-- cold case below proves evaluate loads them itself)
CREATE FUNCTION pg_temp.as_principal(p_role text, p_sql text, p_warm boolean DEFAULT true) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  EXECUTE format('SET SESSION AUTHORIZATION %I', p_role);
  BEGIN
    IF p_warm THEN
      PERFORM metastore.has_role('fe.ns', 'reader');
    END IF;
    EXECUTE p_sql INTO r;
  EXCEPTION WHEN OTHERS THEN
    r := 'error ' || SQLSTATE || ': ' || SQLERRM;
  END;
  RESET SESSION AUTHORIZATION;
  RETURN r;
END
$f$;
-- evaluation after authenticate(key) in a subtransaction that is rolled back
CREATE FUNCTION pg_temp.with_key(p_key text, p_sql text) RETURNS text LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  BEGIN
    PERFORM metastore.authenticate(p_key);
    EXECUTE p_sql INTO r;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'undo';
  EXCEPTION WHEN SQLSTATE 'MSOK0' THEN
    NULL;
  END;
  RETURN r;
END
$f$;

-- evaluate() is not SECURITY DEFINER; it must still read the principal's
-- grants (metastore.grants, closed to the calling role) on its own: a
-- reader's first evaluation in a session simply works.
SELECT is(pg_temp.as_principal('ms_fe_cold', $$SELECT metastore.evaluate('fe-flag')->>'reason'$$, false), 'STATIC',
          'a reader''s first evaluation in a session works (grants not loaded before)');
SELECT is(pg_temp.as_principal('ms_fe_reader', $$SELECT metastore.evaluate('fe-flag')->>'reason'$$), 'STATIC',
          'a reader of the namespace evaluates the flag');
SELECT is(pg_temp.as_principal('ms_fe_reader', $$SELECT metastore.evaluate('fe-secret')::text$$)::jsonb,
          '{"key": "fe-secret", "value": null, "reason": "ERROR", "enabled": false, "variant": null, "error_code": "FLAG_NOT_FOUND", "error_message": "flag \"fe-secret\" not found"}',
          'a flag in a namespace the principal may not read: exactly the answer for a flag that does not exist');
SELECT is(pg_temp.as_principal('ms_fe_stranger', $$SELECT metastore.evaluate('fe-flag')->>'error_code'$$), 'FLAG_NOT_FOUND',
          'a principal with a grant elsewhere only: FLAG_NOT_FOUND');
SELECT is(pg_temp.as_principal('ms_fe_stranger', $$SELECT metastore.is_enabled('fe-flag')::text$$), 'false',
          'is_enabled of an unreadable flag is false');
SELECT is(pg_temp.as_principal('ms_fe_reader', $$SELECT metastore.is_enabled('fe-flag')::text$$), 'true',
          'is_enabled for a reader');
SELECT is(pg_temp.as_principal('ms_fe_reader', $$SELECT string_agg(e->>'key', ',' ORDER BY e->>'key') FROM jsonb_array_elements(metastore.evaluate_all()) e$$),
          'fe-child,fe-flag', 'evaluate_all returns only the flags the principal may read');
SELECT is(pg_temp.as_principal('ms_fe_stranger', $$SELECT metastore.evaluate_all()::text$$), '[]',
          'evaluate_all for a principal who may read none: []');
SELECT is(pg_temp.as_principal('ms_fe_reader', $$SELECT metastore.evaluate('fe-child')->>'reason'$$), 'PREREQUISITE_FAILED',
          'a prerequisite the principal may not read fails');
SELECT is(metastore.evaluate('fe-child')->>'reason', 'STATIC', '... while the superuser, who reads both, sees it hold');
SELECT is(pg_temp.with_key(:'fe_key', $$SELECT metastore.evaluate('fe-flag')->>'reason'$$), 'STATIC',
          'an API key of a reader evaluates the flag');
SELECT is(pg_temp.with_key(:'fe_key', $$SELECT metastore.evaluate('fe-secret')->>'error_code'$$), 'FLAG_NOT_FOUND',
          'an API key without access to the namespace: FLAG_NOT_FOUND (the connection''s superuser rights do not count)');
SELECT metastore."revoke"('fe-key-reader', 'fe.ns', 'reader') \g /dev/null
SELECT is(pg_temp.with_key(:'fe_key', $$SELECT metastore.evaluate('fe-flag')->>'error_code'$$), 'FLAG_NOT_FOUND',
          'a revoked grant applies to the next evaluation (the memoized decision is dropped)');
SELECT metastore."grant"('fe-key-reader', 'fe.*', 'reader') \g /dev/null
SELECT is(pg_temp.with_key(:'fe_key', $$SELECT metastore.evaluate('fe-flag')->>'reason'$$), 'STATIC',
          'a pattern grant (fe.*) applies to the next evaluation');
SELECT is(metastore.evaluate('fe-flag')->>'reason', 'STATIC', 'after the key''s subtransaction, the session acts as itself again');

SELECT * FROM finish();
ROLLBACK;
