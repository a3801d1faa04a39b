-- pgTAP: the constraint operators of feature flags (src/constraints.c,
-- docs/flags.md "Constraints"), one flag per distinct constraint.
--
-- Every operator's edges: a missing or empty field, numbers and booleans in
-- the context, numbers given as JSON numbers, JavaScript Number() parsing,
-- strict semver and prerelease ordering, RE2 patterns (inline flags, \b,
-- classes, anchors), ISO dates with zones and date-only values, IPv4 / IPv6
-- networks, inverted and caseInsensitive.  Values put_flag must refuse
-- (22023, the detail naming the place) are accepted by import_unleash and
-- then never match, inverted or not.  The seeds' rule operators are aliases
-- of the same operators.
--
-- The expectations are computed outside the code under test: NUM_* with
-- node's Number(), SEMVER_* with a semver.org 2.0.0 comparison, IN_CIDR with
-- Python's ipaddress, DATE_* with ISO-8601 parsed to UTC, REGEX by running
-- each pattern through RE2 itself (libre2 20220601).  Cases are rows of a
-- temp table, so adding one is adding a row.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(631);

-- A flag that is on exactly when constraint c holds: enabled, one "default"
-- strategy carrying c.  Named after c, so equal constraints share a flag
-- (an identical put_flag is a no-op).  'true' / 'false', or the error as
-- 'SQLSTATE: message' when put_flag refuses c.
CREATE FUNCTION pg_temp.holds(c jsonb, ctx jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n text := 'op-' || md5(c::text);
BEGIN
  PERFORM metastore.put_flag(n, jsonb_build_object('enabled', true, 'strategies',
            jsonb_build_array(jsonb_build_object('name', 'default', 'constraints', jsonb_build_array(c)))));
  RETURN metastore.is_enabled(n, ctx)::text;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The same through import_unleash (lenient: what Unleash keeps is kept).
CREATE FUNCTION pg_temp.holds_imported(c jsonb, ctx jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n text := 'imp-' || md5(c::text);
BEGIN
  PERFORM metastore.import_unleash(jsonb_build_object('features', jsonb_build_array(jsonb_build_object(
            'name', n, 'enabled', true, 'strategies',
            jsonb_build_array(jsonb_build_object('name', 'default', 'constraints', jsonb_build_array(c)))))));
  RETURN metastore.is_enabled(n, ctx)::text;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- A flag from a seed-style rule (definition.rules[0]).
CREATE FUNCTION pg_temp.rule_holds(rule jsonb, ctx jsonb) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n text := 'rule-' || md5(rule::text);
BEGIN
  PERFORM metastore.put_flag(n, jsonb_build_object('is_enabled', true, 'rules', jsonb_build_array(rule)));
  RETURN metastore.is_enabled(n, ctx)::text;
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The SQL of put_flag for one constraint, and the detail of the error it raises.
CREATE FUNCTION pg_temp.put_sql(c jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT format('SELECT metastore.put_flag(%L, %L::jsonb)', 'rejected-' || md5(c::text),
                jsonb_build_object('enabled', true, 'strategies',
                  jsonb_build_array(jsonb_build_object('name', 'default', 'constraints', jsonb_build_array(c)))))
$$;
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

CREATE TEMP TABLE op_cases (ord serial, label text, c jsonb, ctx jsonb, expected boolean);

-- ================================================================ IN, NOT_IN, STR_*
-- exact string membership; numbers in the context by their JSON text (12.0
-- is "12"), booleans as true / false; other names fall back to properties
INSERT INTO op_cases (label, c, ctx, expected) VALUES
  ('IN [NL, BE] with c = NL', '{"contextName": "c", "operator": "IN", "values": ["NL", "BE"]}', '{"c": "NL"}', true),
  ('IN [NL, BE] with c = BE', '{"contextName": "c", "operator": "IN", "values": ["NL", "BE"]}', '{"c": "BE"}', true),
  ('IN [NL, BE] with c = nl: case-sensitive', '{"contextName": "c", "operator": "IN", "values": ["NL", "BE"]}', '{"c": "nl"}', false),
  ('IN [NL, BE] with c = DE', '{"contextName": "c", "operator": "IN", "values": ["NL", "BE"]}', '{"c": "DE"}', false),
  ('IN [NL] with c = " NL": the context value is not trimmed', '{"contextName": "c", "operator": "IN", "values": ["NL"]}', '{"c": " NL"}', false),
  ('IN [NL] with c missing', '{"contextName": "c", "operator": "IN", "values": ["NL"]}', '{}', false),
  ('IN [NL] with c = null', '{"contextName": "c", "operator": "IN", "values": ["NL"]}', '{"c": null}', false),
  ('IN [NL] with c an array', '{"contextName": "c", "operator": "IN", "values": ["NL"]}', '{"c": ["NL"]}', false),
  ('IN [NL] with c an object', '{"contextName": "c", "operator": "IN", "values": ["NL"]}', '{"c": {"NL": true}}', false),
  ('IN [] never matches', '{"contextName": "c", "operator": "IN", "values": []}', '{"c": "x"}', false),
  ('IN ["12"] with c = 12 (a JSON number)', '{"contextName": "c", "operator": "IN", "values": ["12"]}', '{"c": 12}', true),
  ('IN ["12"] with c = 12.0 (its JSON text is 12)', '{"contextName": "c", "operator": "IN", "values": ["12"]}', '{"c": 12.0}', true),
  ('IN ["12.0"] with c = 12.0: compared as "12", not as written', '{"contextName": "c", "operator": "IN", "values": ["12.0"]}', '{"c": 12.0}', false),
  ('IN ["12.0"] with c = "12.0" (a string)', '{"contextName": "c", "operator": "IN", "values": ["12.0"]}', '{"c": "12.0"}', true),
  ('IN ["1000"] with c = 1e3', '{"contextName": "c", "operator": "IN", "values": ["1000"]}', '{"c": 1e3}', true),
  ('IN ["-0.5"] with c = -0.50', '{"contextName": "c", "operator": "IN", "values": ["-0.5"]}', '{"c": -0.50}', true),
  ('IN ["true"] with c = true (a JSON boolean)', '{"contextName": "c", "operator": "IN", "values": ["true"]}', '{"c": true}', true),
  ('IN ["false"] with c = false', '{"contextName": "c", "operator": "IN", "values": ["false"]}', '{"c": false}', true),
  ('IN ["true"] with c = "TRUE"', '{"contextName": "c", "operator": "IN", "values": ["true"]}', '{"c": "TRUE"}', false),
  ('IN [Zürich] with c = Zürich', '{"contextName": "c", "operator": "IN", "values": ["Zürich"]}', '{"c": "Zürich"}', true),
  ('IN [Zürich] with c = Zurich', '{"contextName": "c", "operator": "IN", "values": ["Zürich"]}', '{"c": "Zurich"}', false),
  ('IN [pro] with plan in properties', '{"contextName": "plan", "operator": "IN", "values": ["pro"]}', '{"properties": {"plan": "pro"}}', true),
  ('IN [pro]: a top-level field wins over properties', '{"contextName": "plan", "operator": "IN", "values": ["pro"]}', '{"plan": "free", "properties": {"plan": "pro"}}', false),
  ('IN [pro]: an empty top-level field falls back to properties', '{"contextName": "plan", "operator": "IN", "values": ["pro"]}', '{"plan": "", "properties": {"plan": "pro"}}', true),
  ('IN [pro]: properties that is not an object is ignored', '{"contextName": "plan", "operator": "IN", "values": ["pro"]}', '{"properties": "plan=pro"}', false),
  ('IN [NL] inverted with c = NL', '{"contextName": "c", "operator": "IN", "values": ["NL"], "inverted": true}', '{"c": "NL"}', false),
  ('IN [NL] inverted with c = DE', '{"contextName": "c", "operator": "IN", "values": ["NL"], "inverted": true}', '{"c": "DE"}', true),
  ('IN [NL] inverted with c missing', '{"contextName": "c", "operator": "IN", "values": ["NL"], "inverted": true}', '{}', true),
  ('NOT_IN [NL] with c = NL', '{"contextName": "c", "operator": "NOT_IN", "values": ["NL"]}', '{"c": "NL"}', false),
  ('NOT_IN [NL] with c = DE', '{"contextName": "c", "operator": "NOT_IN", "values": ["NL"]}', '{"c": "DE"}', true),
  ('NOT_IN [NL] with c missing: holds', '{"contextName": "c", "operator": "NOT_IN", "values": ["NL"]}', '{}', true),
  ('NOT_IN [NL] with c empty: holds', '{"contextName": "c", "operator": "NOT_IN", "values": ["NL"]}', '{"c": ""}', true),
  ('NOT_IN [NL] inverted with c missing', '{"contextName": "c", "operator": "NOT_IN", "values": ["NL"], "inverted": true}', '{}', false),
  ('NOT_IN [NL] inverted with c = NL', '{"contextName": "c", "operator": "NOT_IN", "values": ["NL"], "inverted": true}', '{"c": "NL"}', true),
  ('NOT_IN ["7"] with c = 7.0', '{"contextName": "c", "operator": "NOT_IN", "values": ["7"]}', '{"c": 7.0}', false),
  ('STR_CONTAINS [ell] with hello', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ell"]}', '{"c": "hello"}', true),
  ('STR_CONTAINS [ELL] with hello: case-sensitive', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ELL"]}', '{"c": "hello"}', false),
  ('STR_CONTAINS [ELL] caseInsensitive with hello', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ELL"], "caseInsensitive": true}', '{"c": "hello"}', true),
  ('STR_CONTAINS [ell] caseInsensitive with HELLO', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ell"], "caseInsensitive": true}', '{"c": "HELLO"}', true),
  ('STR_CONTAINS [x, ll]: any of the values', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["x", "ll"]}', '{"c": "hello"}', true),
  ('STR_CONTAINS [x, y] with hello', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["x", "y"]}', '{"c": "hello"}', false),
  ('STR_CONTAINS [hello] with hello: the whole value', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["hello"]}', '{"c": "hello"}', true),
  ('STR_CONTAINS [helloo] with hello: longer than the value', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["helloo"]}', '{"c": "hello"}', false),
  ('STR_CONTAINS [ell] with c missing', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ell"]}', '{}', false),
  ('STR_CONTAINS [ell] inverted with c missing', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ell"], "inverted": true}', '{}', true),
  ('STR_CONTAINS [ell] inverted caseInsensitive with HELLO', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ell"], "inverted": true, "caseInsensitive": true}', '{"c": "HELLO"}', false),
  ('STR_STARTS_WITH [he] with hello', '{"contextName": "c", "operator": "STR_STARTS_WITH", "values": ["he"]}', '{"c": "hello"}', true),
  ('STR_STARTS_WITH [lo] with hello', '{"contextName": "c", "operator": "STR_STARTS_WITH", "values": ["lo"]}', '{"c": "hello"}', false),
  ('STR_STARTS_WITH [HE] with hello: case-sensitive', '{"contextName": "c", "operator": "STR_STARTS_WITH", "values": ["HE"]}', '{"c": "hello"}', false),
  ('STR_STARTS_WITH [HE] caseInsensitive with hello', '{"contextName": "c", "operator": "STR_STARTS_WITH", "values": ["HE"], "caseInsensitive": true}', '{"c": "hello"}', true),
  ('STR_STARTS_WITH ["12"] with c = 123 (a JSON number)', '{"contextName": "c", "operator": "STR_STARTS_WITH", "values": ["12"]}', '{"c": 123}', true),
  ('STR_STARTS_WITH ["12."] with c = 12.50 (JSON text 12.5)', '{"contextName": "c", "operator": "STR_STARTS_WITH", "values": ["12."]}', '{"c": 12.50}', true),
  ('STR_ENDS_WITH [lo] with hello', '{"contextName": "c", "operator": "STR_ENDS_WITH", "values": ["lo"]}', '{"c": "hello"}', true),
  ('STR_ENDS_WITH [he] with hello', '{"contextName": "c", "operator": "STR_ENDS_WITH", "values": ["he"]}', '{"c": "hello"}', false),
  ('STR_ENDS_WITH [LO] caseInsensitive with hello', '{"contextName": "c", "operator": "STR_ENDS_WITH", "values": ["LO"], "caseInsensitive": true}', '{"c": "hello"}', true),
  ('STR_ENDS_WITH [hello!] with hello: longer than the value', '{"contextName": "c", "operator": "STR_ENDS_WITH", "values": ["hello!"]}', '{"c": "hello"}', false),
  ('STR_ENDS_WITH [.com] with a@b.com in properties', '{"contextName": "email", "operator": "STR_ENDS_WITH", "values": [".com"]}', '{"properties": {"email": "a@b.com"}}', true),
  ('STR_ENDS_WITH [.com] inverted with a@b.org', '{"contextName": "email", "operator": "STR_ENDS_WITH", "values": [".com"], "inverted": true}', '{"email": "a@b.org"}', true);

-- a long IN list: membership anywhere in it
INSERT INTO op_cases (label, c, ctx, expected)
SELECT 'IN with 5000 values v1..v5000, c = ' || v, jsonb_build_object('contextName', 'c', 'operator', 'IN', 'values',
         (SELECT jsonb_agg('v' || g) FROM generate_series(1, 5000) g)), jsonb_build_object('c', v), v <> 'v5001'
  FROM unnest(ARRAY['v1', 'v2500', 'v5000', 'v5001']) v;

-- ================================================================ NUM_*, SEMVER_*, DATE_*, IN_CIDR, REGEX
-- (expectations from the oracles named at the top)
INSERT INTO op_cases (label, c, ctx, expected) VALUES
  ('NUM_EQ 12 with context {"n": "12.0"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "12.0"}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": 12}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": 12}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": 12.0}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": 12.0}'::jsonb, true),
  ('NUM_EQ 12.0 with context {"n": "12"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12.0"}'::jsonb, '{"n": "12"}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": " 12 "}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": " 12 "}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": "1.2e1"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "1.2e1"}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": "0xC"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "0xC"}'::jsonb, true),
  ('NUM_EQ 16 with context {"n": "0x10"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "16"}'::jsonb, '{"n": "0x10"}'::jsonb, true),
  ('NUM_EQ 8 with context {"n": "0o10"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "8"}'::jsonb, '{"n": "0o10"}'::jsonb, true),
  ('NUM_EQ 2 with context {"n": "0b10"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "2"}'::jsonb, '{"n": "0b10"}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": "12abc"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "12abc"}'::jsonb, false),
  ('NUM_EQ 12 with context {"n": "1_2"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "1_2"}'::jsonb, false),
  ('NUM_EQ 12 with context {"n": "+12"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "+12"}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": "12."}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "12."}'::jsonb, true),
  ('NUM_EQ 0.5 with context {"n": ".5"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "0.5"}'::jsonb, '{"n": ".5"}'::jsonb, true),
  ('NUM_EQ 0.1 with context {"n": "0.10"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "0.1"}'::jsonb, '{"n": "0.10"}'::jsonb, true),
  ('NUM_EQ 0.3 with context {"n": 0.3}', '{"contextName": "n", "operator": "NUM_EQ", "value": "0.3"}'::jsonb, '{"n": 0.3}'::jsonb, true),
  ('NUM_EQ -0 with context {"n": "0"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "-0"}'::jsonb, '{"n": "0"}'::jsonb, true),
  ('NUM_EQ 1e3 with context {"n": 1000}', '{"contextName": "n", "operator": "NUM_EQ", "value": "1e3"}'::jsonb, '{"n": 1000}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": "12,0"}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": "12,0"}'::jsonb, false),
  ('NUM_GT 10 with context {"n": "10.0001"}', '{"contextName": "n", "operator": "NUM_GT", "value": "10"}'::jsonb, '{"n": "10.0001"}'::jsonb, true),
  ('NUM_GT 10 with context {"n": 10}', '{"contextName": "n", "operator": "NUM_GT", "value": "10"}'::jsonb, '{"n": 10}'::jsonb, false),
  ('NUM_GT 10 with context {"n": "9.9999"}', '{"contextName": "n", "operator": "NUM_GT", "value": "10"}'::jsonb, '{"n": "9.9999"}'::jsonb, false),
  ('NUM_GT -1 with context {"n": "-0.5"}', '{"contextName": "n", "operator": "NUM_GT", "value": "-1"}'::jsonb, '{"n": "-0.5"}'::jsonb, true),
  ('NUM_GT 1e3 with context {"n": "1001"}', '{"contextName": "n", "operator": "NUM_GT", "value": "1e3"}'::jsonb, '{"n": "1001"}'::jsonb, true),
  ('NUM_GT 10 with context {"n": "Infinity"}', '{"contextName": "n", "operator": "NUM_GT", "value": "10"}'::jsonb, '{"n": "Infinity"}'::jsonb, true),
  ('NUM_GT 10 with context {"n": "NaN"}', '{"contextName": "n", "operator": "NUM_GT", "value": "10"}'::jsonb, '{"n": "NaN"}'::jsonb, false),
  ('NUM_GTE 10 with context {"n": 10}', '{"contextName": "n", "operator": "NUM_GTE", "value": "10"}'::jsonb, '{"n": 10}'::jsonb, true),
  ('NUM_GTE 10 with context {"n": "9.99"}', '{"contextName": "n", "operator": "NUM_GTE", "value": "10"}'::jsonb, '{"n": "9.99"}'::jsonb, false),
  ('NUM_GTE 10 with context {"n": "10.0"}', '{"contextName": "n", "operator": "NUM_GTE", "value": "10"}'::jsonb, '{"n": "10.0"}'::jsonb, true),
  ('NUM_GTE -5 with context {"n": -5}', '{"contextName": "n", "operator": "NUM_GTE", "value": "-5"}'::jsonb, '{"n": -5}'::jsonb, true),
  ('NUM_LT 10 with context {"n": "-Infinity"}', '{"contextName": "n", "operator": "NUM_LT", "value": "10"}'::jsonb, '{"n": "-Infinity"}'::jsonb, true),
  ('NUM_LT 10 with context {"n": "NaN"}', '{"contextName": "n", "operator": "NUM_LT", "value": "10"}'::jsonb, '{"n": "NaN"}'::jsonb, false),
  ('NUM_LT 10 with context {"n": 9}', '{"contextName": "n", "operator": "NUM_LT", "value": "10"}'::jsonb, '{"n": 9}'::jsonb, true),
  ('NUM_LT 10 with context {"n": "10"}', '{"contextName": "n", "operator": "NUM_LT", "value": "10"}'::jsonb, '{"n": "10"}'::jsonb, false),
  ('NUM_LT 0 with context {"n": "-1e-9"}', '{"contextName": "n", "operator": "NUM_LT", "value": "0"}'::jsonb, '{"n": "-1e-9"}'::jsonb, true),
  ('NUM_LT 5 with context {"n": "five"}', '{"contextName": "n", "operator": "NUM_LT", "value": "5"}'::jsonb, '{"n": "five"}'::jsonb, false),
  ('NUM_LTE 10 with context {"n": "10"}', '{"contextName": "n", "operator": "NUM_LTE", "value": "10"}'::jsonb, '{"n": "10"}'::jsonb, true),
  ('NUM_LTE 10 with context {"n": "10.5"}', '{"contextName": "n", "operator": "NUM_LTE", "value": "10"}'::jsonb, '{"n": "10.5"}'::jsonb, false),
  ('NUM_LTE 10 with context {"n": 10.0}', '{"contextName": "n", "operator": "NUM_LTE", "value": "10"}'::jsonb, '{"n": 10.0}'::jsonb, true),
  ('NUM_LTE 2.5 with context {"n": "2.50"}', '{"contextName": "n", "operator": "NUM_LTE", "value": "2.5"}'::jsonb, '{"n": "2.50"}'::jsonb, true),
  ('NUM_EQ 12 with context {"properties": {"n": "12"}}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"properties": {"n": "12"}}'::jsonb, true),
  ('NUM_EQ 12 with context {"n": [12]}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": [12]}'::jsonb, false),
  ('NUM_EQ 12 with context {"n": {"v": 12}}', '{"contextName": "n", "operator": "NUM_EQ", "value": "12"}'::jsonb, '{"n": {"v": 12}}'::jsonb, false),
  ('NUM_EQ 0 with context {}', '{"contextName": "n", "operator": "NUM_EQ", "value": "0"}'::jsonb, '{}'::jsonb, false),
  ('NUM_EQ 0 with context {"n": ""}', '{"contextName": "n", "operator": "NUM_EQ", "value": "0"}'::jsonb, '{"n": ""}'::jsonb, false),
  ('NUM_GT -1 with context {}', '{"contextName": "n", "operator": "NUM_GT", "value": "-1"}'::jsonb, '{}'::jsonb, false),
  ('NUM_EQ value given as a JSON number 12 matches "12.0"', '{"contextName": "n", "operator": "NUM_EQ", "value": 12}'::jsonb, '{"n": "12.0"}'::jsonb, true),
  ('NUM_GT value given in a one-entry "values" list', '{"contextName": "n", "operator": "NUM_GT", "values": ["5"]}'::jsonb, '{"n": "6"}'::jsonb, true),
  ('NUM_EQ inverted: 12 vs "12.0" no longer holds', '{"contextName": "n", "operator": "NUM_EQ", "value": "12", "inverted": true}'::jsonb, '{"n": "12.0"}'::jsonb, false),
  ('NUM_LT inverted: a non-number context value does not hold, so inverted it does', '{"contextName": "n", "operator": "NUM_LT", "value": "5", "inverted": true}'::jsonb, '{"n": "five"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0-beta', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0-beta"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0-alpha.1', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0-alpha.1"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0-alpha', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0-alpha"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0-0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0-0"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v = 0.9.9', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "0.9.9"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0+build', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0+build"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha with v = v1.0.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "v1.0.0"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v = 01.0.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "01.0.0"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v = 1.0.0.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": "1.0.0.0"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha with v =  1.0.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha"}'::jsonb, '{"v": " 1.0.0"}'::jsonb, false),
  ('SEMVER_LT 1.0.0-rc.10 with v = 1.0.0-rc.9', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "1.0.0-rc.9"}'::jsonb, true),
  ('SEMVER_LT 1.0.0-rc.10 with v = 1.0.0-rc.11', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "1.0.0-rc.11"}'::jsonb, false),
  ('SEMVER_LT 1.0.0-rc.10 with v = 1.0.0-rc', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "1.0.0-rc"}'::jsonb, true),
  ('SEMVER_LT 1.0.0-rc.10 with v = 1.0.0-rc.a', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "1.0.0-rc.a"}'::jsonb, false),
  ('SEMVER_LT 1.0.0-rc.10 with v = 1.0.0-rc.10', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "1.0.0-rc.10"}'::jsonb, false),
  ('SEMVER_LT 1.0.0-rc.10 with v = 1.0.0-rc.10.1', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "1.0.0-rc.10.1"}'::jsonb, false),
  ('SEMVER_LT 1.0.0-rc.10 with v = 0.99.99', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0-rc.10"}'::jsonb, '{"v": "0.99.99"}'::jsonb, true),
  ('SEMVER_EQ 1.0.0+abc with v = 1.0.0', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0+abc"}'::jsonb, '{"v": "1.0.0"}'::jsonb, true),
  ('SEMVER_EQ 1.0.0+abc with v = 1.0.0+xyz', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0+abc"}'::jsonb, '{"v": "1.0.0+xyz"}'::jsonb, true),
  ('SEMVER_EQ 1.0.0+abc with v = 1.0.0-1', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0+abc"}'::jsonb, '{"v": "1.0.0-1"}'::jsonb, false),
  ('SEMVER_EQ 1.0.0+abc with v = 1.0.0-01', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0+abc"}'::jsonb, '{"v": "1.0.0-01"}'::jsonb, false),
  ('SEMVER_GTE 1.2.3 with v = 1.2.3', '{"contextName": "v", "operator": "SEMVER_GTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.3"}'::jsonb, true),
  ('SEMVER_GTE 1.2.3 with v = 1.2.2', '{"contextName": "v", "operator": "SEMVER_GTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.2"}'::jsonb, false),
  ('SEMVER_GTE 1.2.3 with v = 1.10.0', '{"contextName": "v", "operator": "SEMVER_GTE", "value": "1.2.3"}'::jsonb, '{"v": "1.10.0"}'::jsonb, true),
  ('SEMVER_GTE 1.2.3 with v = 1.2.3-rc.1', '{"contextName": "v", "operator": "SEMVER_GTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.3-rc.1"}'::jsonb, false),
  ('SEMVER_GTE 1.2.3 with v = 10.0.0', '{"contextName": "v", "operator": "SEMVER_GTE", "value": "1.2.3"}'::jsonb, '{"v": "10.0.0"}'::jsonb, true),
  ('SEMVER_GTE 1.2.3 with v = 2.0.0-0', '{"contextName": "v", "operator": "SEMVER_GTE", "value": "1.2.3"}'::jsonb, '{"v": "2.0.0-0"}'::jsonb, true),
  ('SEMVER_LTE 1.2.3 with v = 1.2.3', '{"contextName": "v", "operator": "SEMVER_LTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.3"}'::jsonb, true),
  ('SEMVER_LTE 1.2.3 with v = 1.2.4', '{"contextName": "v", "operator": "SEMVER_LTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.4"}'::jsonb, false),
  ('SEMVER_LTE 1.2.3 with v = 1.2.3-rc.1', '{"contextName": "v", "operator": "SEMVER_LTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.3-rc.1"}'::jsonb, true),
  ('SEMVER_LTE 1.2.3 with v = 1.2.3+b', '{"contextName": "v", "operator": "SEMVER_LTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.3+b"}'::jsonb, true),
  ('SEMVER_LTE 1.2.3 with v = 1.2.10', '{"contextName": "v", "operator": "SEMVER_LTE", "value": "1.2.3"}'::jsonb, '{"v": "1.2.10"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha.beta with v = 1.0.0-alpha.1', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.beta"}'::jsonb, '{"v": "1.0.0-alpha.1"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha.beta with v = 1.0.0-alpha.gamma', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.beta"}'::jsonb, '{"v": "1.0.0-alpha.gamma"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha.beta with v = 1.0.0-alpha.beta.1', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.beta"}'::jsonb, '{"v": "1.0.0-alpha.beta.1"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha.beta with v = 1.0.0-alpha-b', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.beta"}'::jsonb, '{"v": "1.0.0-alpha-b"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha.beta with v = 1.0.0-alpha.Beta', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.beta"}'::jsonb, '{"v": "1.0.0-alpha.Beta"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha.9 with v = 1.0.0-alpha.10', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.9"}'::jsonb, '{"v": "1.0.0-alpha.10"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-alpha.9 with v = 1.0.0-alpha.09', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.9"}'::jsonb, '{"v": "1.0.0-alpha.09"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-alpha.9 with v = 1.0.0-alpha.9a', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-alpha.9"}'::jsonb, '{"v": "1.0.0-alpha.9a"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-a with v = 1.0.0-B', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-a"}'::jsonb, '{"v": "1.0.0-B"}'::jsonb, false),
  ('SEMVER_GT 1.0.0-a with v = 1.0.0-b', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-a"}'::jsonb, '{"v": "1.0.0-b"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-a with v = 1.0.0-aa', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-a"}'::jsonb, '{"v": "1.0.0-aa"}'::jsonb, true),
  ('SEMVER_GT 1.0.0-a with v = 1.0.0-a.0', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-a"}'::jsonb, '{"v": "1.0.0-a.0"}'::jsonb, true),
  ('SEMVER_EQ 0.0.0 with v = 0.0.0', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "0.0.0"}'::jsonb, '{"v": "0.0.0"}'::jsonb, true),
  ('SEMVER_EQ 0.0.0 with v = 0.0.0-0', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "0.0.0"}'::jsonb, '{"v": "0.0.0-0"}'::jsonb, false),
  ('SEMVER_EQ 0.0.0 with v = 0.0', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "0.0.0"}'::jsonb, '{"v": "0.0"}'::jsonb, false),
  ('SEMVER_LT 9007199254740991.0.0 with v = 9007199254740990.9.9', '{"contextName": "v", "operator": "SEMVER_LT", "value": "9007199254740991.0.0"}'::jsonb, '{"v": "9007199254740990.9.9"}'::jsonb, true),
  ('SEMVER_LT 9007199254740991.0.0 with v = 9007199254740992.0.0', '{"contextName": "v", "operator": "SEMVER_LT", "value": "9007199254740991.0.0"}'::jsonb, '{"v": "9007199254740992.0.0"}'::jsonb, false),
  ('SEMVER_EQ: a missing context value never matches', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0"}'::jsonb, '{}'::jsonb, false),
  ('SEMVER_EQ: an empty context value never matches', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0"}'::jsonb, '{"v": ""}'::jsonb, false),
  ('SEMVER_EQ inverted, equal version', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0", "inverted": true}'::jsonb, '{"v": "1.0.0"}'::jsonb, false),
  ('SEMVER_EQ inverted, other version', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0", "inverted": true}'::jsonb, '{"v": "2.0.0"}'::jsonb, true),
  ('SEMVER_EQ inverted, a context value that is not a version', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0.0", "inverted": true}'::jsonb, '{"v": "junk"}'::jsonb, true),
  ('SEMVER_GT with a JSON number as the context value (not a version)', '{"contextName": "v", "operator": "SEMVER_GT", "value": "0.0.1"}'::jsonb, '{"v": 1.5}'::jsonb, false),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00:01Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:01Z"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00:00Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:00Z"}'::jsonb, false),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T01:00:00+02:00', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T01:00:00+02:00"}'::jsonb, false),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2023-12-31T23:00:00-02:00', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2023-12-31T23:00:00-02:00"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00:00.5Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:00.5Z"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00:00.000001Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:00.000001Z"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00:01', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:01"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01 00:00:01Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01 00:00:01Z"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00:01+0000', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:01+0000"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:00Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00Z"}'::jsonb, false),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T00:01Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:01Z"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-02-29', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-02-29"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T05:30:00+05:30', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T05:30:00+05:30"}'::jsonb, false),
  ('DATE_AFTER 2024-01-01T00:00:00Z with t = 2024-01-01T05:31:00+05:30', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T05:31:00+05:30"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01 with t = 2024-01-01T00:00:00.001Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01"}'::jsonb, '{"t": "2024-01-01T00:00:00.001Z"}'::jsonb, true),
  ('DATE_AFTER 2024-01-01 with t = 2024-01-01', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01"}'::jsonb, '{"t": "2024-01-01"}'::jsonb, false),
  ('DATE_AFTER 2024-01-01 with t = 2023-12-31T23:59:59.999Z', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01"}'::jsonb, '{"t": "2023-12-31T23:59:59.999Z"}'::jsonb, false),
  ('DATE_BEFORE 2024-01-01 with t = 2023-12-31', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01"}'::jsonb, '{"t": "2023-12-31"}'::jsonb, true),
  ('DATE_BEFORE 2024-01-01 with t = 2024-01-01', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01"}'::jsonb, '{"t": "2024-01-01"}'::jsonb, false),
  ('DATE_BEFORE 2024-01-01 with t = 2023-12-31T23:59:59Z', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01"}'::jsonb, '{"t": "2023-12-31T23:59:59Z"}'::jsonb, true),
  ('DATE_BEFORE 2024-01-01 with t = 2024-01-01T00:00:00-00:01', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01"}'::jsonb, '{"t": "2024-01-01T00:00:00-00:01"}'::jsonb, false),
  ('DATE_BEFORE 2024-01-01T00:00:00+05:30 with t = 2023-12-31T18:29:59Z', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01T00:00:00+05:30"}'::jsonb, '{"t": "2023-12-31T18:29:59Z"}'::jsonb, true),
  ('DATE_BEFORE 2024-01-01T00:00:00+05:30 with t = 2023-12-31T18:30:00Z', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01T00:00:00+05:30"}'::jsonb, '{"t": "2023-12-31T18:30:00Z"}'::jsonb, false),
  ('DATE_BEFORE 2024-01-01T00:00:00+05:30 with t = 2023-12-31T18:29:59.999999Z', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01T00:00:00+05:30"}'::jsonb, '{"t": "2023-12-31T18:29:59.999999Z"}'::jsonb, true),
  ('DATE_BEFORE 2024-06-01T12:00:00-07:00 with t = 2024-06-01T18:59:59Z', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-06-01T12:00:00-07:00"}'::jsonb, '{"t": "2024-06-01T18:59:59Z"}'::jsonb, true),
  ('DATE_BEFORE 2024-06-01T12:00:00-07:00 with t = 2024-06-01T19:00:00Z', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-06-01T12:00:00-07:00"}'::jsonb, '{"t": "2024-06-01T19:00:00Z"}'::jsonb, false),
  ('DATE_BEFORE 2024-06-01T12:00:00-07:00 with t = 2024-06-01T12:00:00', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-06-01T12:00:00-07:00"}'::jsonb, '{"t": "2024-06-01T12:00:00"}'::jsonb, true),
  ('DATE_AFTER: a context value that is not a date (junk) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "junk"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (junk) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "junk"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (2024-02-30) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-02-30"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (2024-02-30) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-02-30"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (2023-02-29) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "2023-02-29"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (2023-02-29) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "2023-02-29"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (2024-13-01) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-13-01"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (2024-13-01) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-13-01"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (2024-01-01T24:00:00Z) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T24:00:00Z"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (2024-01-01T24:00:00Z) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T24:00:00Z"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (2024-01-01T00:00:60Z) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:60Z"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (2024-01-01T00:00:60Z) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-01-01T00:00:60Z"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (2024-1-1) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-1-1"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (2024-1-1) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "2024-1-1"}'::jsonb, false),
  ('DATE_AFTER: a context value that is not a date (20240101) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": "20240101"}'::jsonb, false),
  ('DATE_BEFORE: a context value that is not a date (20240101) never matches', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"t": "20240101"}'::jsonb, false),
  ('DATE_AFTER: a JSON number (epoch millis) is not a date', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{"t": 1704067201000}'::jsonb, false),
  ('DATE_AFTER: a missing field (not currentTime) never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z"}'::jsonb, '{}'::jsonb, false),
  ('DATE_AFTER inverted: a missing field holds', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2000-01-01T00:00:00Z", "inverted": true}'::jsonb, '{}'::jsonb, true),
  ('currentTime DATE_AFTER 2024 without currentTime in the context: the statement time (now) is after', '{"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{}'::jsonb, true),
  ('currentTime DATE_AFTER 2024 with currentTime 2023 in the context', '{"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"currentTime": "2023-06-01T00:00:00Z"}'::jsonb, false),
  ('currentTime DATE_AFTER 2024 with currentTime 2025 in the context', '{"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"currentTime": "2025-06-01T00:00:00Z"}'::jsonb, true),
  ('currentTime DATE_AFTER 2024 with currentTime in properties', '{"contextName": "currentTime", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"properties": {"currentTime": "2023-06-01T00:00:00Z"}}'::jsonb, false),
  ('currentTime DATE_BEFORE 2999 without currentTime: now is before', '{"contextName": "currentTime", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{}'::jsonb, true),
  ('currentTime DATE_BEFORE 2999 with currentTime 3000', '{"contextName": "currentTime", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"currentTime": "3000-01-01T00:00:00Z"}'::jsonb, false),
  ('currentTime DATE_BEFORE 2999 with a currentTime that is not a date never matches', '{"contextName": "currentTime", "operator": "DATE_BEFORE", "value": "2999-01-01T00:00:00Z"}'::jsonb, '{"currentTime": "soon"}'::jsonb, false),
  ('currentTime in the context also moves other date constraints? no: t is compared, not now', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-01-01T00:00:00Z"}'::jsonb, '{"currentTime": "2030-01-01T00:00:00Z"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip = 10.1.2.3', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "10.1.2.3"}'::jsonb, true),
  ('IN_CIDR 10.0.0.0/8 with ip = 11.1.2.3', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "11.1.2.3"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip = 10.255.255.255', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "10.255.255.255"}'::jsonb, true),
  ('IN_CIDR 10.0.0.0/8 with ip = 9.255.255.255', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "9.255.255.255"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip = ::ffff:10.1.2.3', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "::ffff:10.1.2.3"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip = junk', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "junk"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip = 10.1.2.3/32', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "10.1.2.3/32"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip = 10.1.2', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": "10.1.2"}'::jsonb, false),
  ('IN_CIDR 10.0.0.0/8 with ip =  10.1.2.3', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"ip": " 10.1.2.3"}'::jsonb, false),
  ('IN_CIDR 2001:db8::/32 with ip = 2001:DB8:0:0::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["2001:db8::/32"]}'::jsonb, '{"ip": "2001:DB8:0:0::1"}'::jsonb, true),
  ('IN_CIDR 2001:db8::/32 with ip = 2001:db8:ffff:ffff:ffff:ffff:ffff:ffff', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["2001:db8::/32"]}'::jsonb, '{"ip": "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"}'::jsonb, true),
  ('IN_CIDR 2001:db8::/32 with ip = 2001:db9::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["2001:db8::/32"]}'::jsonb, '{"ip": "2001:db9::1"}'::jsonb, false),
  ('IN_CIDR 2001:db8::/32 with ip = 10.0.0.1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["2001:db8::/32"]}'::jsonb, '{"ip": "10.0.0.1"}'::jsonb, false),
  ('IN_CIDR 2001:db8::/32 with ip = 2001:0db8::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["2001:db8::/32"]}'::jsonb, '{"ip": "2001:0db8::1"}'::jsonb, true),
  ('IN_CIDR 10.0.0.5 with ip = 10.0.0.5', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.5"]}'::jsonb, '{"ip": "10.0.0.5"}'::jsonb, true),
  ('IN_CIDR 10.0.0.5 with ip = 10.0.0.6', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.5"]}'::jsonb, '{"ip": "10.0.0.6"}'::jsonb, false),
  ('IN_CIDR ::1 with ip = ::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["::1"]}'::jsonb, '{"ip": "::1"}'::jsonb, true),
  ('IN_CIDR ::1 with ip = 0:0:0:0:0:0:0:1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["::1"]}'::jsonb, '{"ip": "0:0:0:0:0:0:0:1"}'::jsonb, true),
  ('IN_CIDR ::1 with ip = ::2', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["::1"]}'::jsonb, '{"ip": "::2"}'::jsonb, false),
  ('IN_CIDR 0.0.0.0/0 with ip = 1.2.3.4', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["0.0.0.0/0"]}'::jsonb, '{"ip": "1.2.3.4"}'::jsonb, true),
  ('IN_CIDR 0.0.0.0/0 with ip = 255.255.255.255', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["0.0.0.0/0"]}'::jsonb, '{"ip": "255.255.255.255"}'::jsonb, true),
  ('IN_CIDR 0.0.0.0/0 with ip = ::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["0.0.0.0/0"]}'::jsonb, '{"ip": "::1"}'::jsonb, false),
  ('IN_CIDR ::/0 with ip = ::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["::/0"]}'::jsonb, '{"ip": "::1"}'::jsonb, true),
  ('IN_CIDR ::/0 with ip = 1.2.3.4', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["::/0"]}'::jsonb, '{"ip": "1.2.3.4"}'::jsonb, false),
  ('IN_CIDR ::/0 with ip = fe80::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["::/0"]}'::jsonb, '{"ip": "fe80::1"}'::jsonb, true),
  ('IN_CIDR 10.0.0.0/31 with ip = 10.0.0.0', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/31"]}'::jsonb, '{"ip": "10.0.0.0"}'::jsonb, true),
  ('IN_CIDR 10.0.0.0/31 with ip = 10.0.0.1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/31"]}'::jsonb, '{"ip": "10.0.0.1"}'::jsonb, true),
  ('IN_CIDR 10.0.0.0/31 with ip = 10.0.0.2', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/31"]}'::jsonb, '{"ip": "10.0.0.2"}'::jsonb, false),
  ('IN_CIDR 10.0.0.7/24 with ip = 10.0.0.200', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.7/24"]}'::jsonb, '{"ip": "10.0.0.200"}'::jsonb, true),
  ('IN_CIDR 10.0.0.7/24 with ip = 10.0.1.1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.7/24"]}'::jsonb, '{"ip": "10.0.1.1"}'::jsonb, false),
  ('IN_CIDR fe80::/10 with ip = febf::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["fe80::/10"]}'::jsonb, '{"ip": "febf::1"}'::jsonb, true),
  ('IN_CIDR fe80::/10 with ip = fec0::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["fe80::/10"]}'::jsonb, '{"ip": "fec0::1"}'::jsonb, false),
  ('IN_CIDR fe80::/10 with ip = fe80::1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["fe80::/10"]}'::jsonb, '{"ip": "fe80::1"}'::jsonb, true),
  ('IN_CIDR 192.168.1.0/24, 172.16.0.0/12 with ip = 172.31.255.1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["192.168.1.0/24", "172.16.0.0/12"]}'::jsonb, '{"ip": "172.31.255.1"}'::jsonb, true),
  ('IN_CIDR 192.168.1.0/24, 172.16.0.0/12 with ip = 172.32.0.1', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["192.168.1.0/24", "172.16.0.0/12"]}'::jsonb, '{"ip": "172.32.0.1"}'::jsonb, false),
  ('IN_CIDR 192.168.1.0/24, 172.16.0.0/12 with ip = 192.168.1.77', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["192.168.1.0/24", "172.16.0.0/12"]}'::jsonb, '{"ip": "192.168.1.77"}'::jsonb, true),
  ('IN_CIDR 1.2.3.4/32 with ip = 1.2.3.4', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["1.2.3.4/32"]}'::jsonb, '{"ip": "1.2.3.4"}'::jsonb, true),
  ('IN_CIDR 1.2.3.4/32 with ip = 1.2.3.5', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["1.2.3.4/32"]}'::jsonb, '{"ip": "1.2.3.5"}'::jsonb, false),
  ('IN_CIDR 128.0.0.0/1 with ip = 127.255.255.255', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["128.0.0.0/1"]}'::jsonb, '{"ip": "127.255.255.255"}'::jsonb, false),
  ('IN_CIDR 128.0.0.0/1 with ip = 128.0.0.0', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["128.0.0.0/1"]}'::jsonb, '{"ip": "128.0.0.0"}'::jsonb, true),
  ('IN_CIDR: a missing address never matches', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["0.0.0.0/0"]}'::jsonb, '{}'::jsonb, false),
  ('IN_CIDR inverted: an address outside holds', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"], "inverted": true}'::jsonb, '{"ip": "11.0.0.1"}'::jsonb, true),
  ('IN_CIDR inverted: an address inside does not', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8"], "inverted": true}'::jsonb, '{"ip": "10.0.0.1"}'::jsonb, false),
  ('IN_CIDR on remoteAddress', '{"contextName": "remoteAddress", "operator": "IN_CIDR", "values": ["10.0.0.0/8"]}'::jsonb, '{"remoteAddress": "10.9.8.7"}'::jsonb, true),
  ('REGEX /^abc$/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "^abc$"}'::jsonb, '{"s": "abc"}'::jsonb, true),
  ('REGEX /^abc$/ on "xabc"', '{"contextName": "s", "operator": "REGEX", "value": "^abc$"}'::jsonb, '{"s": "xabc"}'::jsonb, false),
  ('REGEX /b/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "b"}'::jsonb, '{"s": "abc"}'::jsonb, true),
  ('REGEX /abc/ on "xxabcxx"', '{"contextName": "s", "operator": "REGEX", "value": "abc"}'::jsonb, '{"s": "xxabcxx"}'::jsonb, true),
  ('REGEX /ABC/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "ABC"}'::jsonb, '{"s": "abc"}'::jsonb, false),
  ('REGEX /ABC/ caseInsensitive on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "ABC", "caseInsensitive": true}'::jsonb, '{"s": "abc"}'::jsonb, true),
  ('REGEX /(?i)ABC/ on "xabcx"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)ABC"}'::jsonb, '{"s": "xabcx"}'::jsonb, true),
  ('REGEX /(?i)abc/ on "ABC"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)abc"}'::jsonb, '{"s": "ABC"}'::jsonb, true),
  ('REGEX /(?i:a)B/ on "AB"', '{"contextName": "s", "operator": "REGEX", "value": "(?i:a)B"}'::jsonb, '{"s": "AB"}'::jsonb, true),
  ('REGEX /(?i:a)B/ on "Ab"', '{"contextName": "s", "operator": "REGEX", "value": "(?i:a)B"}'::jsonb, '{"s": "Ab"}'::jsonb, false),
  ('REGEX /a(?i)b/ on "aB"', '{"contextName": "s", "operator": "REGEX", "value": "a(?i)b"}'::jsonb, '{"s": "aB"}'::jsonb, true),
  ('REGEX /a(?i)b/ on "AB"', '{"contextName": "s", "operator": "REGEX", "value": "a(?i)b"}'::jsonb, '{"s": "AB"}'::jsonb, false),
  ('REGEX /(?-i)abc/ caseInsensitive on "ABC"', '{"contextName": "s", "operator": "REGEX", "value": "(?-i)abc", "caseInsensitive": true}'::jsonb, '{"s": "ABC"}'::jsonb, false),
  ('REGEX /(?-i)abc/ caseInsensitive on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "(?-i)abc", "caseInsensitive": true}'::jsonb, '{"s": "abc"}'::jsonb, true),
  ('REGEX /(?i)[a-c]+$/ on "xABC"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)[a-c]+$"}'::jsonb, '{"s": "xABC"}'::jsonb, true),
  ('REGEX /(?i)[^a]/ on "A"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)[^a]"}'::jsonb, '{"s": "A"}'::jsonb, false),
  ('REGEX /^[a-z]+$/ caseInsensitive on "ABC"', '{"contextName": "s", "operator": "REGEX", "value": "^[a-z]+$", "caseInsensitive": true}'::jsonb, '{"s": "ABC"}'::jsonb, true),
  ('REGEX /^(?i)b/ on "B"', '{"contextName": "s", "operator": "REGEX", "value": "^(?i)b"}'::jsonb, '{"s": "B"}'::jsonb, true),
  ('REGEX /^a.c$/ on "a\nc"', '{"contextName": "s", "operator": "REGEX", "value": "^a.c$"}'::jsonb, '{"s": "a\nc"}'::jsonb, false),
  ('REGEX /(?s)^a.c$/ on "a\nc"', '{"contextName": "s", "operator": "REGEX", "value": "(?s)^a.c$"}'::jsonb, '{"s": "a\nc"}'::jsonb, true),
  ('REGEX /(?s:.)x/ on "\nx"', '{"contextName": "s", "operator": "REGEX", "value": "(?s:.)x"}'::jsonb, '{"s": "\nx"}'::jsonb, true),
  ('REGEX /./ on "\n"', '{"contextName": "s", "operator": "REGEX", "value": "."}'::jsonb, '{"s": "\n"}'::jsonb, false),
  ('REGEX /[^a]/ on "\n"', '{"contextName": "s", "operator": "REGEX", "value": "[^a]"}'::jsonb, '{"s": "\n"}'::jsonb, true),
  ('REGEX /^b$/ on "a\nb\nc"', '{"contextName": "s", "operator": "REGEX", "value": "^b$"}'::jsonb, '{"s": "a\nb\nc"}'::jsonb, false),
  ('REGEX /(?m)^b$/ on "a\nb\nc"', '{"contextName": "s", "operator": "REGEX", "value": "(?m)^b$"}'::jsonb, '{"s": "a\nb\nc"}'::jsonb, true),
  ('REGEX /(?m)a$/ on "a\nb"', '{"contextName": "s", "operator": "REGEX", "value": "(?m)a$"}'::jsonb, '{"s": "a\nb"}'::jsonb, true),
  ('REGEX /(?ms)^b.c$/ on "a\nb\nc"', '{"contextName": "s", "operator": "REGEX", "value": "(?ms)^b.c$"}'::jsonb, '{"s": "a\nb\nc"}'::jsonb, true),
  ('REGEX /ab$/ on "ab\n"', '{"contextName": "s", "operator": "REGEX", "value": "ab$"}'::jsonb, '{"s": "ab\n"}'::jsonb, false),
  ('REGEX /\Aab\z/ on "ab"', '{"contextName": "s", "operator": "REGEX", "value": "\\Aab\\z"}'::jsonb, '{"s": "ab"}'::jsonb, true),
  ('REGEX /\Aab\z/ on "ab\n"', '{"contextName": "s", "operator": "REGEX", "value": "\\Aab\\z"}'::jsonb, '{"s": "ab\n"}'::jsonb, false),
  ('REGEX /(?m)\Ab/ on "a\nb"', '{"contextName": "s", "operator": "REGEX", "value": "(?m)\\Ab"}'::jsonb, '{"s": "a\nb"}'::jsonb, false),
  ('REGEX /\bcat\b/ on "a cat here"', '{"contextName": "s", "operator": "REGEX", "value": "\\bcat\\b"}'::jsonb, '{"s": "a cat here"}'::jsonb, true),
  ('REGEX /\bcat\b/ on "concatenate"', '{"contextName": "s", "operator": "REGEX", "value": "\\bcat\\b"}'::jsonb, '{"s": "concatenate"}'::jsonb, false),
  ('REGEX /\Bcat\B/ on "concatenate"', '{"contextName": "s", "operator": "REGEX", "value": "\\Bcat\\B"}'::jsonb, '{"s": "concatenate"}'::jsonb, true),
  ('REGEX /\bcat/ on "cat"', '{"contextName": "s", "operator": "REGEX", "value": "\\bcat"}'::jsonb, '{"s": "cat"}'::jsonb, true),
  ('REGEX /\d+/ on "abc123"', '{"contextName": "s", "operator": "REGEX", "value": "\\d+"}'::jsonb, '{"s": "abc123"}'::jsonb, true),
  ('REGEX /^\d+$/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "^\\d+$"}'::jsonb, '{"s": "abc"}'::jsonb, false),
  ('REGEX /\d/ on "٣"', '{"contextName": "s", "operator": "REGEX", "value": "\\d"}'::jsonb, '{"s": "٣"}'::jsonb, false),
  ('REGEX /^\w+$/ on "héllo"', '{"contextName": "s", "operator": "REGEX", "value": "^\\w+$"}'::jsonb, '{"s": "héllo"}'::jsonb, false),
  ('REGEX /^\w+$/ on "hello_42"', '{"contextName": "s", "operator": "REGEX", "value": "^\\w+$"}'::jsonb, '{"s": "hello_42"}'::jsonb, true),
  ('REGEX /\W/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "\\W"}'::jsonb, '{"s": "abc"}'::jsonb, false),
  ('REGEX /\S/ on "   "', '{"contextName": "s", "operator": "REGEX", "value": "\\S"}'::jsonb, '{"s": "   "}'::jsonb, false),
  ('REGEX /^\s$/ on "\t"', '{"contextName": "s", "operator": "REGEX", "value": "^\\s$"}'::jsonb, '{"s": "\t"}'::jsonb, true),
  ('REGEX /[[:alpha:]]+/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "[[:alpha:]]+"}'::jsonb, '{"s": "abc"}'::jsonb, true),
  ('REGEX /^[[:digit:]]+$/ on "123"', '{"contextName": "s", "operator": "REGEX", "value": "^[[:digit:]]+$"}'::jsonb, '{"s": "123"}'::jsonb, true),
  ('REGEX /a{2,3}/ on "caab"', '{"contextName": "s", "operator": "REGEX", "value": "a{2,3}"}'::jsonb, '{"s": "caab"}'::jsonb, true),
  ('REGEX /^a{2}$/ on "aaa"', '{"contextName": "s", "operator": "REGEX", "value": "^a{2}$"}'::jsonb, '{"s": "aaa"}'::jsonb, false),
  ('REGEX /a{/ on "a{"', '{"contextName": "s", "operator": "REGEX", "value": "a{"}'::jsonb, '{"s": "a{"}'::jsonb, true),
  ('REGEX /}/ on "}"', '{"contextName": "s", "operator": "REGEX", "value": "}"}'::jsonb, '{"s": "}"}'::jsonb, true),
  ('REGEX /\{/ on "{"', '{"contextName": "s", "operator": "REGEX", "value": "\\{"}'::jsonb, '{"s": "{"}'::jsonb, true),
  ('REGEX /\Qa.b\E/ on "axb"', '{"contextName": "s", "operator": "REGEX", "value": "\\Qa.b\\E"}'::jsonb, '{"s": "axb"}'::jsonb, false),
  ('REGEX /\Qa.b\E/ on "a.b"', '{"contextName": "s", "operator": "REGEX", "value": "\\Qa.b\\E"}'::jsonb, '{"s": "a.b"}'::jsonb, true),
  ('REGEX /\Q(x)/ on "(x)"', '{"contextName": "s", "operator": "REGEX", "value": "\\Q(x)"}'::jsonb, '{"s": "(x)"}'::jsonb, true),
  ('REGEX /\x41/ on "A"', '{"contextName": "s", "operator": "REGEX", "value": "\\x41"}'::jsonb, '{"s": "A"}'::jsonb, true),
  ('REGEX /\x{263a}/ on "☺"', '{"contextName": "s", "operator": "REGEX", "value": "\\x{263a}"}'::jsonb, '{"s": "☺"}'::jsonb, true),
  ('REGEX /(?P<n>a)b/ on "ab"', '{"contextName": "s", "operator": "REGEX", "value": "(?P<n>a)b"}'::jsonb, '{"s": "ab"}'::jsonb, true),
  ('REGEX /(a|b)c/ on "bc"', '{"contextName": "s", "operator": "REGEX", "value": "(a|b)c"}'::jsonb, '{"s": "bc"}'::jsonb, true),
  ('REGEX /(?:a|b)c/ on "dc"', '{"contextName": "s", "operator": "REGEX", "value": "(?:a|b)c"}'::jsonb, '{"s": "dc"}'::jsonb, false),
  ('REGEX /\./ on "a"', '{"contextName": "s", "operator": "REGEX", "value": "\\."}'::jsonb, '{"s": "a"}'::jsonb, false),
  ('REGEX /\./ on "."', '{"contextName": "s", "operator": "REGEX", "value": "\\."}'::jsonb, '{"s": "."}'::jsonb, true),
  ('REGEX /[.]/ on "a"', '{"contextName": "s", "operator": "REGEX", "value": "[.]"}'::jsonb, '{"s": "a"}'::jsonb, false),
  ('REGEX /\$/ on "$"', '{"contextName": "s", "operator": "REGEX", "value": "\\$"}'::jsonb, '{"s": "$"}'::jsonb, true),
  ('REGEX /[\d]/ on "5"', '{"contextName": "s", "operator": "REGEX", "value": "[\\d]"}'::jsonb, '{"s": "5"}'::jsonb, true),
  ('REGEX /[a-]/ on "-"', '{"contextName": "s", "operator": "REGEX", "value": "[a-]"}'::jsonb, '{"s": "-"}'::jsonb, true),
  ('REGEX /[]a]/ on "]"', '{"contextName": "s", "operator": "REGEX", "value": "[]a]"}'::jsonb, '{"s": "]"}'::jsonb, true),
  ('REGEX /x*/ on "anything"', '{"contextName": "s", "operator": "REGEX", "value": "x*"}'::jsonb, '{"s": "anything"}'::jsonb, true),
  ('REGEX /(?U)a+/ on "aaa"', '{"contextName": "s", "operator": "REGEX", "value": "(?U)a+"}'::jsonb, '{"s": "aaa"}'::jsonb, true),
  ('REGEX /^café$/ on "café"', '{"contextName": "s", "operator": "REGEX", "value": "^café$"}'::jsonb, '{"s": "café"}'::jsonb, true),
  ('REGEX /^.$/ on "é"', '{"contextName": "s", "operator": "REGEX", "value": "^.$"}'::jsonb, '{"s": "é"}'::jsonb, true),
  ('REGEX /^12$/ on 12', '{"contextName": "s", "operator": "REGEX", "value": "^12$"}'::jsonb, '{"s": 12}'::jsonb, true),
  ('REGEX /^1/ on 12', '{"contextName": "s", "operator": "REGEX", "value": "^1"}'::jsonb, '{"s": 12}'::jsonb, true),
  ('REGEX /[^\n]+/ on "abc"', '{"contextName": "s", "operator": "REGEX", "value": "[^\\n]+"}'::jsonb, '{"s": "abc"}'::jsonb, true),
  ('REGEX /\t/ on "a\tb"', '{"contextName": "s", "operator": "REGEX", "value": "\\t"}'::jsonb, '{"s": "a\tb"}'::jsonb, true),
  ('REGEX: a missing field never matches', '{"contextName": "s", "operator": "REGEX", "value": ".*"}'::jsonb, '{}'::jsonb, false),
  ('REGEX: an empty field counts as missing', '{"contextName": "s", "operator": "REGEX", "value": "^$"}'::jsonb, '{"s": ""}'::jsonb, false),
  ('REGEX inverted: a non-matching value holds', '{"contextName": "s", "operator": "REGEX", "value": "^a", "inverted": true}'::jsonb, '{"s": "ba"}'::jsonb, true),
  ('REGEX inverted: a missing field holds', '{"contextName": "s", "operator": "REGEX", "value": "^a", "inverted": true}'::jsonb, '{}'::jsonb, true),
  ('REGEX on a boolean context value (its text "true")', '{"contextName": "s", "operator": "REGEX", "value": "^true$"}'::jsonb, '{"s": true}'::jsonb, true),
  ('REGEX on a JSON number 12.0 sees "12"', '{"contextName": "s", "operator": "REGEX", "value": "^12$"}'::jsonb, '{"s": 12.0}'::jsonb, true);

-- patterns where a naive RE2 -> ARE translation would differ from RE2 (the
-- expected values are RE2's): case folding beyond ASCII under (?i) /
-- caseInsensitive (é / É), [[:upper:]] and an \x escape under (?i), and RE2's
-- \s, which is [\t\n\f\r ] while ARE's also takes \v.
INSERT INTO op_cases (label, c, ctx, expected) VALUES
  ('REGEX /(?i)é/ on "É"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)é"}'::jsonb, '{"s": "É"}'::jsonb, true),
  ('REGEX /é/ caseInsensitive on "É"', '{"contextName": "s", "operator": "REGEX", "value": "é", "caseInsensitive": true}'::jsonb, '{"s": "É"}'::jsonb, true),
  ('REGEX /(?i)\x41/ on "a"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)\\x41"}'::jsonb, '{"s": "a"}'::jsonb, true),
  ('REGEX /^\s$/ on "\u000b"', '{"contextName": "s", "operator": "REGEX", "value": "^\\s$"}'::jsonb, '{"s": "\u000b"}'::jsonb, false),
  ('REGEX /(?i)[[:upper:]]/ on "a"', '{"contextName": "s", "operator": "REGEX", "value": "(?i)[[:upper:]]"}'::jsonb, '{"s": "a"}'::jsonb, true);

SELECT is(pg_temp.holds(c, ctx), expected::text, label) FROM op_cases ORDER BY ord;

-- ================================================================ a missing or empty field
-- fails every operator except NOT_IN, which then holds; inverted flips both
CREATE TEMP TABLE every_op (op text, c jsonb);
INSERT INTO every_op VALUES
  ('IN', '{"values": ["x"]}'), ('NOT_IN', '{"values": ["x"]}'),
  ('STR_STARTS_WITH', '{"values": ["x"]}'), ('STR_ENDS_WITH', '{"values": ["x"]}'), ('STR_CONTAINS', '{"values": ["x"]}'),
  ('NUM_EQ', '{"value": "0"}'), ('NUM_GT', '{"value": "-1"}'), ('NUM_GTE', '{"value": "0"}'),
  ('NUM_LT', '{"value": "1"}'), ('NUM_LTE', '{"value": "0"}'),
  ('DATE_AFTER', '{"value": "1970-01-01"}'), ('DATE_BEFORE', '{"value": "2999-01-01"}'),
  ('SEMVER_EQ', '{"value": "1.0.0"}'), ('SEMVER_GT', '{"value": "0.0.0"}'), ('SEMVER_GTE', '{"value": "0.0.0"}'),
  ('SEMVER_LT', '{"value": "999.0.0"}'), ('SEMVER_LTE', '{"value": "999.0.0"}'),
  ('REGEX', '{"value": ".*"}'), ('IN_CIDR', '{"values": ["0.0.0.0/0", "::/0"]}');
SELECT is(pg_temp.holds(c || jsonb_build_object('contextName', 'f', 'operator', op, 'inverted', inv), ctx),
          ((op = 'NOT_IN') <> inv)::text,
          format('%s%s with the field %s', op, CASE WHEN inv THEN ' inverted' ELSE '' END,
                 CASE WHEN ctx = '{}' THEN 'missing' ELSE 'empty' END))
  FROM every_op, (VALUES (false), (true)) i(inv), (VALUES ('{}'::jsonb), ('{"f": ""}')) x(ctx)
 ORDER BY op, inv, ctx;

-- ================================================================ values put_flag refuses
-- 22023, the detail naming the place; nothing is stored
CREATE TEMP TABLE rejected (ord serial, label text, c jsonb, place text);
INSERT INTO rejected (label, c, place) VALUES
  ('an unknown operator', '{"contextName": "c", "operator": "LIKE", "values": ["x"]}', 'operator'),
  ('an operator in lower case', '{"contextName": "c", "operator": "in", "values": ["x"]}', 'operator'),
  ('no operator', '{"contextName": "c", "values": ["x"]}', 'operator'),
  ('an operator that is not a string', '{"contextName": "c", "operator": 1, "values": ["x"]}', 'operator'),
  ('no contextName', '{"operator": "IN", "values": ["x"]}', 'contextName'),
  ('an empty contextName', '{"contextName": "", "operator": "IN", "values": ["x"]}', 'contextName'),
  ('a contextName that is not a string', '{"contextName": 5, "operator": "IN", "values": ["x"]}', 'contextName'),
  ('an unknown field', '{"contextName": "c", "operator": "IN", "values": ["x"], "valu": "x"}', 'valu'),
  ('IN without values', '{"contextName": "c", "operator": "IN"}', 'values'),
  ('IN with values a string', '{"contextName": "c", "operator": "IN", "values": "x"}', 'values'),
  ('IN with a number among the values', '{"contextName": "c", "operator": "IN", "values": ["x", 1]}', 'values[1]'),
  ('IN with an array among the values', '{"contextName": "c", "operator": "IN", "values": [["x"]]}', 'values[0]'),
  ('STR_CONTAINS with a boolean among the values', '{"contextName": "c", "operator": "STR_CONTAINS", "values": [true]}', 'values[0]'),
  ('inverted not a boolean', '{"contextName": "c", "operator": "IN", "values": ["x"], "inverted": "yes"}', 'inverted'),
  ('caseInsensitive not a boolean', '{"contextName": "c", "operator": "IN", "values": ["x"], "caseInsensitive": 1}', 'caseInsensitive'),
  ('NUM_EQ without a value', '{"contextName": "n", "operator": "NUM_EQ"}', 'value'),
  ('NUM_EQ with a null value', '{"contextName": "n", "operator": "NUM_EQ", "value": null}', 'value'),
  ('NUM_EQ with a value that is not a number', '{"contextName": "n", "operator": "NUM_EQ", "value": "abc"}', 'value'),
  ('NUM_GT with NaN', '{"contextName": "n", "operator": "NUM_GT", "value": "NaN"}', 'value'),
  ('NUM_LT with a decimal comma', '{"contextName": "n", "operator": "NUM_LT", "value": "1,5"}', 'value'),
  ('NUM_GTE with trailing garbage', '{"contextName": "n", "operator": "NUM_GTE", "value": "12abc"}', 'value'),
  ('NUM_LTE with a boolean value', '{"contextName": "n", "operator": "NUM_LTE", "value": true}', 'value'),
  ('NUM_EQ with two values', '{"contextName": "n", "operator": "NUM_EQ", "values": ["1", "2"]}', 'value'),
  ('DATE_AFTER with junk', '{"contextName": "t", "operator": "DATE_AFTER", "value": "junk"}', 'value'),
  ('DATE_AFTER with month 13', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-13-01"}', 'value'),
  ('DATE_AFTER with February 30', '{"contextName": "t", "operator": "DATE_AFTER", "value": "2024-02-30"}', 'value'),
  ('DATE_BEFORE with February 29 of a common year', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2023-02-29"}', 'value'),
  ('DATE_BEFORE with hour 25', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01T25:00:00Z"}', 'value'),
  ('DATE_BEFORE with a zone of +25:00', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-01-01T00:00:00+25:00"}', 'value'),
  ('DATE_BEFORE with one-digit month and day', '{"contextName": "t", "operator": "DATE_BEFORE", "value": "2024-1-1"}', 'value'),
  ('DATE_AFTER with an empty value', '{"contextName": "t", "operator": "DATE_AFTER", "value": ""}', 'value'),
  ('SEMVER_EQ with a v prefix', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "v1.0.0"}', 'value'),
  ('SEMVER_EQ with two parts', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "1.0"}', 'value'),
  ('SEMVER_GT with a leading zero in the prerelease', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-01"}', 'value'),
  ('SEMVER_GT with an empty prerelease', '{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0.0-"}', 'value'),
  ('SEMVER_LT with an empty build', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0.0+"}', 'value'),
  ('SEMVER_LT with a leading space', '{"contextName": "v", "operator": "SEMVER_LT", "value": " 1.0.0"}', 'value'),
  ('SEMVER_LTE with a leading zero in the major', '{"contextName": "v", "operator": "SEMVER_LTE", "value": "01.0.0"}', 'value'),
  ('REGEX with lookahead', '{"contextName": "s", "operator": "REGEX", "value": "(?=a)"}', 'value'),
  ('REGEX with negative lookahead', '{"contextName": "s", "operator": "REGEX", "value": "a(?!b)"}', 'value'),
  ('REGEX with lookbehind', '{"contextName": "s", "operator": "REGEX", "value": "(?<=a)b"}', 'value'),
  ('REGEX with negative lookbehind', '{"contextName": "s", "operator": "REGEX", "value": "(?<!a)b"}', 'value'),
  ('REGEX with a backreference', '{"contextName": "s", "operator": "REGEX", "value": "(a)\\1"}', 'value'),
  ('REGEX with an unclosed group', '{"contextName": "s", "operator": "REGEX", "value": "(a"}', 'value'),
  ('REGEX with an unmatched )', '{"contextName": "s", "operator": "REGEX", "value": "a)"}', 'value'),
  ('REGEX with an unclosed class', '{"contextName": "s", "operator": "REGEX", "value": "[a"}', 'value'),
  ('REGEX with a trailing backslash', '{"contextName": "s", "operator": "REGEX", "value": "a\\"}', 'value'),
  ('REGEX with an unknown inline flag', '{"contextName": "s", "operator": "REGEX", "value": "(?z)a"}', 'value'),
  ('REGEX with a repeated repetition', '{"contextName": "s", "operator": "REGEX", "value": "a**"}', 'value'),
  ('REGEX with a reversed range', '{"contextName": "s", "operator": "REGEX", "value": "[z-a]"}', 'value'),
  ('REGEX with a reversed count', '{"contextName": "s", "operator": "REGEX", "value": "a{2,1}"}', 'value'),
  ('REGEX with an escape RE2 does not define', '{"contextName": "s", "operator": "REGEX", "value": "\\k"}', 'value'),
  ('REGEX with \Z (not RE2)', '{"contextName": "s", "operator": "REGEX", "value": "a\\Z"}', 'value'),
  ('REGEX with a quantifier and nothing to repeat', '{"contextName": "s", "operator": "REGEX", "value": "*a"}', 'value'),
  ('REGEX with an unknown POSIX class', '{"contextName": "s", "operator": "REGEX", "value": "[[:foo:]]"}', 'value'),
  ('REGEX with a Unicode class (no faithful translation)', '{"contextName": "s", "operator": "REGEX", "value": "\\p{L}"}', 'value'),
  ('REGEX with an empty pattern', '{"contextName": "s", "operator": "REGEX", "value": ""}', 'value'),
  ('REGEX without a value', '{"contextName": "s", "operator": "REGEX"}', 'value'),
  ('IN_CIDR with an entry that is not an address', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8", "junk"]}', 'values[1]'),
  ('IN_CIDR with a /33', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/33"]}', 'values[0]'),
  ('IN_CIDR with a /129', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["2001:db8::/129"]}', 'values[0]'),
  ('IN_CIDR with an octet of 256', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.256"]}', 'values[0]'),
  ('IN_CIDR with an empty prefix length', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/"]}', 'values[0]'),
  ('IN_CIDR with two prefix lengths', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/8/8"]}', 'values[0]'),
  ('IN_CIDR with three octets', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0"]}', 'values[0]'),
  ('IN_CIDR with a negative prefix length', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["10.0.0.0/-1"]}', 'values[0]');

SELECT count(*) AS flags_before, (SELECT count(*) FROM metastore.history) AS history_before FROM metastore.flags \gset
SELECT throws_ok(pg_temp.put_sql(c), '22023', NULL, 'put_flag refuses ' || label) FROM rejected ORDER BY ord;
SELECT is(pg_temp.error_detail(pg_temp.put_sql(c)),
          format('22023 At definition.strategies[0].constraints[0].%s.', place),
          'the detail names the place of ' || label)
  FROM rejected ORDER BY ord;
SELECT is(format('%s %s', (SELECT count(*) FROM metastore.flags), (SELECT count(*) FROM metastore.history)),
          format('%s %s', :flags_before, :history_before),
          'no refused definition stored a flag or a history row');
SELECT throws_ok($$SELECT metastore.put_flag('rejected-not-object', '{"enabled": true, "strategies": [{"name": "default", "constraints": ["country = NL"]}]}')$$,
                 '22023', NULL, 'put_flag refuses a constraint that is not an object');
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('rejected-not-object', '{"enabled": true, "strategies": [{"name": "default", "constraints": ["country = NL"]}]}')$$),
          '22023 At definition.strategies[0].constraints[0].', '... at definition.strategies[0].constraints[0]');
SELECT throws_ok($$SELECT metastore.put_flag('rejected-not-array', '{"enabled": true, "strategies": [{"name": "default", "constraints": {"contextName": "c"}}]}')$$,
                 '22023', NULL, 'put_flag refuses constraints that are not an array');
-- a constraint in the second strategy, second position: the index is in the detail
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('rejected-deep', '{"enabled": true, "strategies": [{"name": "default"}, {"name": "default", "constraints": [{"contextName": "a", "operator": "IN", "values": ["x"]}, {"contextName": "b", "operator": "NUM_GT", "value": "ten"}]}]}')$$),
          '22023 At definition.strategies[1].constraints[1].value.', 'the detail names the second constraint of the second strategy');
-- segments are compiled by the same code
SELECT throws_ok($$SELECT metastore.put_segment('rejected-seg', '[{"contextName": "v", "operator": "SEMVER_GT", "value": "1.0"}]')$$,
                 '22023', NULL, 'put_segment refuses a semver value that is not a version');
SELECT is(pg_temp.error_detail($$SELECT metastore.put_segment('rejected-seg', '[{"contextName": "c", "operator": "IN", "values": ["x"]}, {"contextName": "s", "operator": "REGEX", "value": "(?<=x)"}]')$$),
          '22023 At constraints[1].value.', 'put_segment names the place of a refused regex');
SELECT is((SELECT count(*) FROM metastore.flag_segments), 0::bigint, 'no refused segment was stored');

-- ================================================================ imported: kept, never matching
CREATE TEMP TABLE imported (ord serial, label text, c jsonb, ctx jsonb, expected boolean);
INSERT INTO imported (label, c, ctx, expected) VALUES
  ('a lookahead regex never matches', '{"contextName": "s", "operator": "REGEX", "value": "(?=a)a"}', '{"s": "a"}', false),
  ('a lookahead regex, inverted, never matches either', '{"contextName": "s", "operator": "REGEX", "value": "(?=a)a", "inverted": true}', '{"s": "b"}', false),
  ('a backreference never matches', '{"contextName": "s", "operator": "REGEX", "value": "(a)\\1"}', '{"s": "aa"}', false),
  ('an unclosed group never matches', '{"contextName": "s", "operator": "REGEX", "value": "(a"}', '{"s": "(a"}', false),
  ('NUM_EQ with a value that is not a number never matches', '{"contextName": "n", "operator": "NUM_EQ", "value": "abc"}', '{"n": "abc"}', false),
  ('NUM_EQ with a value that is not a number, inverted, never matches', '{"contextName": "n", "operator": "NUM_EQ", "value": "abc", "inverted": true}', '{"n": "1"}', false),
  ('SEMVER_EQ with v1.0.0 never matches, even v1.0.0', '{"contextName": "v", "operator": "SEMVER_EQ", "value": "v1.0.0"}', '{"v": "v1.0.0"}', false),
  ('SEMVER_LT with 1.0, inverted, never matches', '{"contextName": "v", "operator": "SEMVER_LT", "value": "1.0", "inverted": true}', '{"v": "2.0.0"}', false),
  ('DATE_AFTER with junk never matches', '{"contextName": "t", "operator": "DATE_AFTER", "value": "junk"}', '{"t": "2024-01-01"}', false),
  ('an unknown operator never matches', '{"contextName": "c", "operator": "LIKE", "values": ["x"]}', '{"c": "x"}', false),
  ('an unknown operator, inverted, never matches', '{"contextName": "c", "operator": "LIKE", "values": ["x"], "inverted": true}', '{"c": "y"}', false),
  ('IN_CIDR skips the entries that do not parse and uses the others', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["junk", "10.0.0.0/8", "10.0.0.0/99"]}', '{"ip": "10.1.1.1"}', true),
  ('IN_CIDR with skipped entries: an address outside the valid one', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["junk", "10.0.0.0/8", "10.0.0.0/99"]}', '{"ip": "11.1.1.1"}', false),
  ('IN_CIDR: an invalid entry does not match the same text', '{"contextName": "ip", "operator": "IN_CIDR", "values": ["junk"]}', '{"ip": "junk"}', false),
  ('a valid constraint still works when imported', '{"contextName": "c", "operator": "STR_CONTAINS", "values": ["ell"]}', '{"c": "hello"}', true);
SELECT is(pg_temp.holds_imported(c, ctx), expected::text, 'imported: ' || label) FROM imported ORDER BY ord;
SELECT is((SELECT definition -> 'strategies' -> 0 -> 'constraints' -> 0 ->> 'value' FROM metastore.flags
            WHERE name = 'imp-' || md5('{"contextName": "s", "operator": "REGEX", "value": "(?=a)a"}'::jsonb::text)),
          '(?=a)a', 'import_unleash stores the unusable pattern as it came (loss-free)');

-- ================================================================ the seeds' rules
CREATE TEMP TABLE rules (ord serial, label text, rule jsonb, ctx jsonb, expected boolean);
INSERT INTO rules (label, rule, ctx, expected) VALUES
  ('eq', '{"attribute": "country", "operator": "eq", "value": "NL"}', '{"country": "NL"}', true),
  ('eq, another value', '{"attribute": "country", "operator": "eq", "value": "NL"}', '{"country": "DE"}', false),
  ('equals', '{"attribute": "country", "operator": "equals", "value": "NL"}', '{"country": "NL"}', true),
  ('==', '{"attribute": "country", "operator": "==", "value": "NL"}', '{"country": "NL"}', true),
  ('in', '{"attribute": "country", "operator": "in", "values": ["NL", "BE"]}', '{"country": "BE"}', true),
  ('in, not listed', '{"attribute": "country", "operator": "in", "values": ["NL", "BE"]}', '{"country": "FR"}', false),
  ('IN (the operator in upper case)', '{"attribute": "country", "operator": "IN", "values": ["NL"]}', '{"country": "NL"}', true),
  ('neq', '{"attribute": "country", "operator": "neq", "value": "NL"}', '{"country": "DE"}', true),
  ('neq, equal', '{"attribute": "country", "operator": "neq", "value": "NL"}', '{"country": "NL"}', false),
  ('not_equals with the attribute missing holds', '{"attribute": "country", "operator": "not_equals", "value": "NL"}', '{}', true),
  ('!=', '{"attribute": "country", "operator": "!=", "value": "NL"}', '{"country": "NL"}', false),
  ('not_in', '{"attribute": "country", "operator": "not_in", "values": ["NL", "BE"]}', '{"country": "FR"}', true),
  ('contains', '{"attribute": "email", "operator": "contains", "value": "@example."}', '{"email": "a@example.com"}', true),
  ('contains, case_insensitive', '{"attribute": "email", "operator": "contains", "value": "@EXAMPLE.", "case_insensitive": true}', '{"email": "a@example.com"}', true),
  ('starts_with', '{"attribute": "email", "operator": "starts_with", "values": ["admin@", "root@"]}', '{"email": "root@example.com"}', true),
  ('ends_with', '{"attribute": "email", "operator": "ends_with", "value": ".org"}', '{"email": "a@example.com"}', false),
  ('gt with a JSON number value', '{"attribute": "age", "operator": "gt", "value": 17}', '{"age": "18"}', true),
  ('gt, equal', '{"attribute": "age", "operator": "gt", "value": 18}', '{"age": 18}', false),
  ('gte', '{"attribute": "age", "operator": "gte", "value": 18}', '{"age": 18.0}', true),
  ('lt', '{"attribute": "age", "operator": "lt", "value": "18"}', '{"age": "17.9"}', true),
  ('lte', '{"attribute": "age", "operator": "lte", "value": 18}', '{"age": "18.1"}', false),
  ('num_eq: "12.0" = 12', '{"attribute": "n", "operator": "num_eq", "value": 12}', '{"n": "12.0"}', true),
  ('before', '{"attribute": "signup", "operator": "before", "value": "2024-01-01"}', '{"signup": "2023-12-31T23:59:59Z"}', true),
  ('after', '{"attribute": "signup", "operator": "after", "value": "2024-01-01T00:00:00+01:00"}', '{"signup": "2023-12-31T23:30:00Z"}', true),
  ('regex', '{"attribute": "email", "operator": "regex", "value": "@example\\.com$"}', '{"email": "a@example.com"}', true),
  ('matches', '{"attribute": "email", "operator": "matches", "value": "^admin@"}', '{"email": "a@example.com"}', false),
  ('in_cidr', '{"attribute": "ip", "operator": "in_cidr", "values": ["192.168.0.0/16"]}', '{"ip": "192.168.4.4"}', true),
  ('an Unleash operator name (SEMVER_GTE)', '{"attribute": "version", "operator": "SEMVER_GTE", "value": "2.0.0"}', '{"version": "2.0.0-rc.1"}', false),
  ('semver_gte in lower case is Unleash''s name too', '{"attribute": "version", "operator": "semver_gte", "value": "2.0.0"}', '{"version": "2.1.0"}', true),
  ('negate', '{"attribute": "country", "operator": "eq", "value": "NL", "negate": true}', '{"country": "NL"}', false),
  ('negate, another value', '{"attribute": "country", "operator": "eq", "value": "NL", "negate": true}', '{"country": "DE"}', true),
  ('values given as numbers and booleans are compared as text', '{"attribute": "tier", "operator": "in", "values": [1, true]}', '{"tier": 1}', true),
  ('a rule of several constraints: all must hold', '{"constraints": [{"attribute": "plan", "operator": "eq", "value": "pro"}, {"attribute": "age", "operator": "gte", "value": 18}]}', '{"plan": "pro", "age": 17}', false),
  ('a rule of several constraints, all holding', '{"constraints": [{"attribute": "plan", "operator": "eq", "value": "pro"}, {"attribute": "age", "operator": "gte", "value": 18}]}', '{"plan": "pro", "age": 18}', true),
  ('an Unleash constraint in place of a rule', '{"contextName": "plan", "operator": "IN", "values": ["pro"]}', '{"plan": "pro"}', true);
SELECT is(pg_temp.rule_holds(rule, ctx), expected::text, 'seed rule: ' || label) FROM rules ORDER BY ord;
SELECT is(pg_temp.holds('{"contextName": "country", "operator": "IN", "values": ["NL"]}', '{"country": "NL"}'),
          'true', 'precondition: the core IN without caseInsensitive is exact');
-- case_insensitive means something for string operators and regex only; on
-- eq / in (Unleash's IN ignores it) put_flag refuses it rather than ignore it
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('ci-eq', '{"is_enabled": true, "rules": [{"attribute": "country", "operator": "eq", "value": "NL", "case_insensitive": true}]}')$$),
          '22023 At definition.rules[0].constraints[0].caseInsensitive.', 'seed rule: eq with case_insensitive is refused, naming the place');
SELECT is(pg_temp.error_detail(pg_temp.put_sql('{"contextName": "c", "operator": "IN", "values": ["NL"], "caseInsensitive": true}')),
          '22023 At definition.strategies[0].constraints[0].caseInsensitive.', 'IN with caseInsensitive is refused (Unleash would ignore it)');
-- several rules: any of them turns the flag on
SELECT metastore.put_flag('rules-or', '{"is_enabled": true, "rules": [{"attribute": "country", "operator": "eq", "value": "NL"}, {"attribute": "plan", "operator": "eq", "value": "pro"}]}') \g /dev/null
SELECT is(array_agg(metastore.is_enabled('rules-or', ctx) ORDER BY o), ARRAY[true, true, true, false],
          'several rules: on when any of them holds')
  FROM unnest(ARRAY['{"country": "NL"}', '{"plan": "pro"}', '{"country": "NL", "plan": "pro"}', '{"country": "DE", "plan": "free"}']::jsonb[]) WITH ORDINALITY AS x(ctx, o);
-- refused rules, with their place in the rule
SELECT throws_ok($$SELECT metastore.put_flag('rule-bad-1', '{"is_enabled": true, "rules": [{"attribute": "a", "operator": "eq"}]}')$$,
                 '22023', NULL, 'seed rule: eq without a value is refused');
SELECT throws_ok($$SELECT metastore.put_flag('rule-bad-2', '{"is_enabled": true, "rules": [{"attribute": "a", "operator": "gt", "value": [1]}]}')$$,
                 '22023', NULL, 'seed rule: gt with an array value is refused');
-- negate and case_insensitive must be JSON booleans: "yes", "off", "1" or 0
-- are refused with 22023 and the rule's place, like every other wrong type.
SELECT throws_ok($$SELECT metastore.put_flag('rule-bad-3', '{"is_enabled": true, "rules": [{"attribute": "a", "operator": "eq", "value": "x", "negate": "yes"}]}')$$,
                 '22023', NULL, 'seed rule: negate "yes" (a string, not a boolean) is refused');
SELECT throws_ok($$SELECT metastore.put_flag('rule-bad-5', '{"is_enabled": true, "rules": [{"attribute": "a", "operator": "eq", "value": "x", "negate": "maybe"}]}')$$,
                 '22023', NULL, 'seed rule: negate "maybe" is refused with 22023');
SELECT throws_ok($$SELECT metastore.put_flag('rule-bad-6', '{"is_enabled": true, "rules": [{"attribute": "a", "operator": "contains", "value": "x", "case_insensitive": [true]}]}')$$,
                 '22023', NULL, 'seed rule: case_insensitive that is an array is refused with 22023');
SELECT is(pg_temp.error_detail($$SELECT metastore.put_flag('rule-bad-4', '{"is_enabled": true, "rules": [{"attribute": "a", "operator": "eq", "value": "x"}, {"attribute": "b", "operator": "in", "values": [{"x": 1}]}]}')$$),
          '22023 At definition.rules[1].values.', 'seed rule: the detail names the rule and its field');

-- ================================================================ segments use the same operators
SELECT metastore.put_segment('op-seg', '[{"contextName": "version", "operator": "SEMVER_GTE", "value": "2.0.0"}, {"contextName": "email", "operator": "REGEX", "value": "(?i)@EXAMPLE\\.com$"}]', 9001) \g /dev/null
SELECT metastore.put_flag('op-seg-flag', '{"enabled": true, "strategies": [{"name": "default", "segments": [9001]}]}') \g /dev/null
SELECT is(array_agg(metastore.is_enabled('op-seg-flag', ctx) ORDER BY o), ARRAY[true, false, false, false],
          'a segment''s constraints all hold: semver and a case-insensitive regex')
  FROM unnest(ARRAY['{"version": "2.0.1", "email": "a@Example.COM"}', '{"version": "2.0.0-rc.1", "email": "a@example.com"}',
                    '{"version": "2.0.1", "email": "a@example.org"}', '{"email": "a@example.com"}']::jsonb[]) WITH ORDINALITY AS x(ctx, o);

-- ================================================================ empty values
-- an empty constraint value is as missing as an empty context value:
-- put_flag refuses it (JavaScript's Number("") would be 0).
SELECT throws_ok(pg_temp.put_sql('{"contextName": "n", "operator": "NUM_GT", "value": ""}'), '22023', NULL,
                 'put_flag refuses NUM_GT with an empty value');

SELECT * FROM finish();
ROLLBACK;
