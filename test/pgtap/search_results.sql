-- pgTAP: metastore.search_records -- what a search returns (docs/search.md).
-- Every operator on every field kind (string columns, owner missing or set,
-- version, timestamps, tags, the whole metadata document, metadata paths with
-- nested objects, array indexes, JSON null, 1 vs 1.0, code point order),
-- and / or / not, type mismatches (false, never an error), projection, sort,
-- keyset pages (walked with small limits, with writes between pages), soft
-- deleted records, and who may search what.  Bad input is in
-- search_errors.sql.
--
-- Data lives in one namespace per area (sr-str, sr-time, sr-tags, sr-meta,
-- ...), so each expectation below is a literal list of keys in the order the
-- search must return them (the default sort: key by code point).  Audit
-- columns (created_at, updated_at, created_by, updated_by) are set directly,
-- with triggers off, because in one transaction every put stamps the same
-- now() and the same principal.
--
-- Helpers (pg_temp, gone with the session):
--   pg_temp.page(ns, query)      keys of one page, in order
--   pg_temp.f(ns, filter)        keys matching filter (limit 1000, default sort)
--   pg_temp.leaf(field, op, v)   a leaf filter; v is JSON text, NULL = no value
--   pg_temp.walk(ns, query, n)   every page with limit n: (keys, pages)
--   pg_temp.untracked(sql)       runs sql with triggers off (no history row)
-- and ms_test.try_as / query_as from helpers/as_role.sql for other principals.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(429);

\ir helpers/as_role.sql

CREATE FUNCTION pg_temp.page(ns text, q jsonb) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(CASE WHEN ns IS NULL THEN (e->>'namespace') || '/' ELSE '' END
                            || (e->>'key') ORDER BY o), '{}')
    FROM jsonb_array_elements(metastore.search_records(ns, q)->'items') WITH ORDINALITY AS t(e, o)
$$;

CREATE FUNCTION pg_temp.f(ns text, flt jsonb) RETURNS text[] LANGUAGE sql AS $$
  SELECT pg_temp.page(ns, jsonb_build_object('filter', flt, 'limit', 1000))
$$;

CREATE FUNCTION pg_temp.leaf(fld text, op text, val text DEFAULT NULL) RETURNS jsonb
LANGUAGE sql IMMUTABLE AS $$
  SELECT jsonb_build_object('field', fld, 'op', op)
         || CASE WHEN val IS NULL THEN '{}'::jsonb ELSE jsonb_build_object('value', val::jsonb) END
$$;

-- Every page of a query with limit lim (starting after `start`, if given):
-- the keys in order ("namespace/key" when searching every namespace) and the
-- number of pages.  Stops at 200 pages so a cursor that never ends fails
-- instead of hanging.
CREATE FUNCTION pg_temp.walk(ns text, q jsonb, lim int, start text DEFAULT NULL,
                             OUT keys text[], OUT pages int)
LANGUAGE plpgsql AS $$
DECLARE
  res jsonb;
  cur text := start;
BEGIN
  keys := '{}';
  pages := 0;
  LOOP
    res := metastore.search_records(ns, q || jsonb_build_object('limit', lim)
                                          || CASE WHEN cur IS NULL THEN '{}'::jsonb
                                                  ELSE jsonb_build_object('cursor', cur) END);
    pages := pages + 1;
    keys := keys || ARRAY(SELECT CASE WHEN ns IS NULL THEN (e->>'namespace') || '/' ELSE '' END
                                 || (e->>'key')
                            FROM jsonb_array_elements(res->'items') WITH ORDINALITY AS t(e, o)
                           ORDER BY o);
    cur := res->>'next_cursor';
    EXIT WHEN cur IS NULL OR pages >= 200;
  END LOOP;
END
$$;

CREATE FUNCTION pg_temp.untracked(p_sql text) RETURNS void
LANGUAGE plpgsql SET session_replication_role = replica AS $$
BEGIN
  EXECUTE p_sql;
END
$$;

-- ================================================================ data
-- sr-str: string columns.  Code point order of the keys: B a ab abc b c_d z é €
SELECT metastore.put_record('sr-str', k, '{}'::jsonb, owner => o)
  FROM (VALUES ('B', 'Bob'), ('a', 'alice'), ('ab', NULL), ('abc', 'ab'), ('b', NULL),
               ('c_d', 'Zoe'), ('z', 'zed'), ('é', 'éva'), ('€', 'Bob')) AS v(k, o)
\g /dev/null
SELECT pg_temp.untracked($$
  UPDATE metastore.records
     SET created_by = CASE WHEN key IN ('B', 'b', 'z') THEN 'alpha' ELSE 'Beta' END,
         updated_by = 'upd-' || key
   WHERE namespace = 'sr-str'$$);

-- sr-time: versions 1, 2, 3, 5 and timestamps out of key order
SELECT metastore.put_record('sr-time', 't' || i, jsonb_build_object('rev', r))
  FROM (VALUES (1, 1), (2, 1), (2, 2), (3, 1), (3, 2), (3, 3),
               (4, 1), (4, 2), (4, 3), (4, 4), (4, 5)) AS v(i, r)
\g /dev/null
SELECT pg_temp.untracked($$
  UPDATE metastore.records r
     SET created_at = v.c::timestamptz, updated_at = v.u::timestamptz
    FROM (VALUES ('t1', '2026-01-02T10:30:00Z', '2026-03-03T00:00:00Z'),
                 ('t2', '2026-01-01T00:00:00Z', '2026-03-01T12:00:00Z'),
                 ('t3', '2026-02-01T00:00:00Z', '2026-03-03T00:00:00Z'),
                 ('t4', '2026-01-02T00:00:00Z', '2026-03-04T00:00:00Z')) AS v(k, c, u)
   WHERE r.namespace = 'sr-time' AND r.key = v.k$$);

-- sr-tags
SELECT metastore.put_record('sr-tags', k, '{}'::jsonb, tags => t::text[])
  FROM (VALUES ('g1', '{db,prod}'), ('g2', '{db}'), ('g3', '{}'), ('g4', '{cache,prod}'),
               ('g5', '{DB,é}')) AS v(k, t)
\g /dev/null

-- sr-meta: documents of every shape
SELECT metastore.put_record('sr-meta', k, d::jsonb)
  FROM (VALUES
    ('m01', '{"n": 1, "s": "B", "o": {"a": {"b": 1}, "c": "x"}, "arr": [1, 2, 3],
              "objs": [{"id": 1, "x": 2}, {"id": 2}], "nul": null, "b": true, "mix": true}'),
    ('m02', '{"n": 1.0, "s": "a", "o": {"a": {"b": 2}}, "arr": [3, 2, 1], "nul": 0, "mix": "s"}'),
    ('m03', '{"n": 2.5, "s": "é", "o": {"a": {"b": "1"}}, "arr": ["1"], "b": false, "mix": [1]}'),
    ('m04', '{"n": "1", "s": 5, "o": {"a": [1, 2]}, "arr": [], "tag": "app.db", "mix": null}'),
    ('m05', '{"n": 10, "s": "ab", "o": {"a": {"b": {"c": 1}}}, "arr": [[4, 5], 3], "mix": {"a": 1}}'),
    ('m06', '{"n": -1, "s": "B\"quote", "o": {"0": "digitkey"}, "arr": {"0": "objzero"}, "mix": 7}'),
    ('m07', '[1, 2, {"n": 1}, "n"]'),
    ('m08', '"n"'),
    ('m09', 'null'),
    ('m10', '{}')) AS v(k, d)
\g /dev/null

-- ================================================================ string fields
SELECT is(pg_temp.f('sr-str', pg_temp.leaf(fld, op, val)), want,
          format('sr-str: %s %s %s', fld, op, coalesce(val, '(no value)')))
  FROM (VALUES
    ('key', 'eq',       '"a"',            '{a}'::text[]),
    ('key', 'eq',       '"A"',            '{}'),
    ('key', 'neq',      '"a"',            '{B,ab,abc,b,c_d,z,é,€}'),
    ('key', 'lt',       '"a"',            '{B}'),
    ('key', 'lte',      '"a"',            '{B,a}'),
    ('key', 'gt',       '"b"',            '{c_d,z,é,€}'),
    ('key', 'gte',      '"b"',            '{b,c_d,z,é,€}'),
    ('key', 'gt',       '"z"',            '{é,€}'),
    ('key', 'lt',       '"é"',            '{B,a,ab,abc,b,c_d,z}'),
    ('key', 'between',  '["B", "ab"]',    '{B,a,ab}'),
    ('key', 'between',  '["b", "é"]',     '{b,c_d,z,é}'),
    ('key', 'in',       '["a", "é", "nope"]', '{a,é}'),
    ('key', 'contains', '"b"',            '{ab,abc,b}'),
    ('key', 'contains', '"_"',            '{c_d}'),
    ('key', 'contains', '"%"',            '{}'),
    ('key', 'prefix',   '"a"',            '{a,ab,abc}'),
    ('key', 'prefix',   '"ab"',           '{ab,abc}'),
    ('key', 'prefix',   '"_"',            '{}'),
    ('key', 'prefix',   '"c_"',           '{c_d}'),
    ('key', 'prefix',   '"z"',            '{z}'),
    ('key', 'prefix',   '"é"',            '{é}'),
    ('key', 'prefix',   '"€"',            '{€}'),
    ('key', 'exists',   NULL,             '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('key', 'exists',   'true',           '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('key', 'exists',   'false',          '{}'),
    ('owner', 'exists', NULL,             '{B,a,abc,c_d,z,é,€}'),
    ('owner', 'exists', 'false',          '{ab,b}'),
    ('owner', 'eq',     '"Bob"',          '{B,€}'),
    ('owner', 'neq',    '"Bob"',          '{a,abc,c_d,z,é}'),
    ('owner', 'lt',     '"alice"',        '{B,abc,c_d,€}'),
    ('owner', 'lte',    '"Bob"',          '{B,€}'),
    ('owner', 'gt',     '"Zoe"',          '{a,abc,z,é}'),
    ('owner', 'gte',    '"zed"',          '{z,é}'),
    ('owner', 'between', '["a", "b"]',    '{a,abc}'),
    ('owner', 'in',     '["ab", "zed", "nobody"]', '{abc,z}'),
    ('owner', 'contains', '"o"',          '{B,c_d,€}'),
    ('owner', 'prefix', '"a"',            '{a,abc}'),
    ('created_by', 'eq',  '"alpha"',      '{B,b,z}'),
    ('created_by', 'lt',  '"alpha"',      '{a,ab,abc,c_d,é,€}'),
    ('created_by', 'neq', '"alpha"',      '{a,ab,abc,c_d,é,€}'),
    ('created_by', 'in',  '["alpha"]',    '{B,b,z}'),
    ('created_by', 'exists', NULL,        '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('updated_by', 'gt',  '"upd-z"',      '{é,€}'),
    ('updated_by', 'in',  '["upd-B", "upd-b"]', '{B,b}'),
    ('updated_by', 'contains', '"c"',     '{abc,c_d}'),
    ('updated_by', 'between', '["upd-a", "upd-abc"]', '{a,ab,abc}'),
    ('namespace', 'eq',   '"sr-str"',     '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('namespace', 'neq',  '"sr-str"',     '{}'),
    ('namespace', 'prefix', '"sr-s"',     '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('namespace', 'in',   '["x", "sr-str"]', '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('namespace', 'lt',   '"sr-str"',     '{}')
  ) AS t(fld, op, val, want);

-- a missing owner matches no comparison, so its negation matches
SELECT is(pg_temp.f('sr-str', jsonb_build_object('not', pg_temp.leaf('owner', op, val))), want,
          format('sr-str: not (owner %s %s) includes the records without an owner', op, val))
  FROM (VALUES
    ('eq',  '"Bob"',   '{a,ab,abc,b,c_d,z,é}'::text[]),
    ('neq', '"Bob"',   '{B,ab,b,€}'),
    ('lt',  '"alice"', '{a,ab,b,z,é}'),
    ('in',  '["Bob"]', '{a,ab,abc,b,c_d,z,é}')
  ) AS t(op, val, want);
SELECT is(pg_temp.f('sr-str', '{"not": {"field": "owner", "op": "exists"}}'), '{ab,b}'::text[],
  'sr-str: not (owner exists) is the records without an owner');

-- ================================================================ version and timestamps
-- A session time zone far from UTC: a date alone means midnight UTC, not
-- midnight here.
SET LOCAL TimeZone = 'Pacific/Kiritimati';
SELECT is(pg_temp.f('sr-time', pg_temp.leaf(fld, op, val)), want,
          format('sr-time: %s %s %s', fld, op, coalesce(val, '(no value)')))
  FROM (VALUES
    ('version', 'eq',      '2',          '{t2}'::text[]),
    ('version', 'neq',     '2',          '{t1,t3,t4}'),
    ('version', 'lt',      '3',          '{t1,t2}'),
    ('version', 'lte',     '3',          '{t1,t2,t3}'),
    ('version', 'gt',      '3',          '{t4}'),
    ('version', 'gte',     '3',          '{t3,t4}'),
    ('version', 'between', '[2, 5]',     '{t2,t3,t4}'),
    ('version', 'between', '[4, 4]',     '{}'),
    ('version', 'in',      '[1, 5, 7]',  '{t1,t4}'),
    ('version', 'exists',  NULL,         '{t1,t2,t3,t4}'),
    ('version', 'exists',  'false',      '{}'),
    ('created_at', 'eq',   '"2026-01-02T00:00:00Z"',      '{t4}'),
    ('created_at', 'eq',   '"2026-01-02"',                '{t4}'),
    ('created_at', 'eq',   '"2026-01-02T01:00:00+01:00"', '{t4}'),
    ('created_at', 'eq',   '"2026-01-01T19:00:00-05:00"', '{t4}'),
    ('created_at', 'neq',  '"2026-01-01"',                '{t1,t3,t4}'),
    ('created_at', 'lt',   '"2026-01-02"',                '{t2}'),
    ('created_at', 'lte',  '"2026-01-02"',                '{t2,t4}'),
    ('created_at', 'gt',   '"2026-01-02T11:30:00+01:00"', '{t3}'),
    ('created_at', 'gte',  '"2026-01-02T10:30:00Z"',      '{t1,t3}'),
    ('created_at', 'between', '["2026-01-02", "2026-01-31"]', '{t1,t4}'),
    ('created_at', 'in',   '["2026-01-01T00:00:00Z", "2026-02-01T01:00:00+01:00"]', '{t2,t3}'),
    ('created_at', 'exists', NULL,                        '{t1,t2,t3,t4}'),
    ('updated_at', 'lt',   '"2026-03-02"',                '{t2}'),
    ('updated_at', 'gte',  '"2026-03-03"',                '{t1,t3,t4}'),
    ('updated_at', 'eq',   '"2026-03-03T00:00:00Z"',      '{t1,t3}'),
    ('updated_at', 'eq',   '"2026-03-01T12:00:00.000Z"',  '{t2}'),
    ('updated_at', 'lte',  '"2026-03-01T07:00:00-05:00"', '{t2}'),
    ('updated_at', 'gt',   '"2026-03-03T00:00:00.000001Z"', '{t4}'),
    ('updated_at', 'between', '["2026-03-01T12:00:00Z", "2026-03-03T00:00:00Z"]', '{t1,t2,t3}'),
    ('updated_at', 'in',   '["2026-03-04"]',              '{t4}'),
    ('updated_at', 'neq',  '"2026-03-03"',                '{t2,t4}')
  ) AS t(fld, op, val, want);
SELECT is(pg_temp.f('sr-time', '{"not": {"field": "updated_at", "op": "gt", "value": "2026-03-03"}}'),
          '{t1,t2,t3}'::text[], 'sr-time: not (updated_at gt 2026-03-03)');
RESET TimeZone;

-- ================================================================ tags
SELECT is(pg_temp.f('sr-tags', pg_temp.leaf('tags', op, val)), want,
          format('sr-tags: tags %s %s', op, coalesce(val, '(no value)')))
  FROM (VALUES
    ('array_contains', '"db"',            '{g1,g2}'::text[]),
    ('array_contains', '["db", "prod"]',  '{g1}'),
    ('array_contains', '"DB"',            '{g5}'),
    ('array_contains', '[]',              '{g1,g2,g3,g4,g5}'),
    ('contains',       '"prod"',          '{g1,g4}'),
    ('contains',       '["prod", "cache"]', '{g4}'),
    ('eq',             '["prod", "db"]',  '{g1}'),
    ('eq',             '"db"',            '{g2}'),
    ('eq',             '[]',              '{g3}'),
    ('eq',             '["db", "db"]',    '{g2}'),
    ('neq',            '["db"]',          '{g1,g3,g4,g5}'),
    ('neq',            '[]',              '{g1,g2,g4,g5}'),
    ('in',             '["cache", "é"]',  '{g4,g5}'),
    ('in',             '["nope"]',        '{}'),
    ('in',             '[]',              '{}'),
    ('exists',         NULL,              '{g1,g2,g4,g5}'),
    ('exists',         'false',           '{g3}')
  ) AS t(op, val, want);
SELECT is(pg_temp.f('sr-tags', '{"not": {"field": "tags", "op": "array_contains", "value": "db"}}'),
          '{g3,g4,g5}'::text[], 'sr-tags: not (tags array_contains db)');
SELECT is(pg_temp.f('sr-tags', '{"not": {"field": "tags", "op": "in", "value": ["prod"]}}'),
          '{g2,g3,g5}'::text[], 'sr-tags: not (tags in [prod])');

-- ================================================================ metadata
SELECT is(pg_temp.f('sr-meta', pg_temp.leaf(fld, op, val)), want,
          format('sr-meta: %s %s %s', fld, op, coalesce(val, '(no value)')))
  FROM (VALUES
    -- numbers by value, 1 = 1.0; a string is another type
    ('metadata.n', 'eq',      '1',            '{m01,m02}'::text[]),
    ('metadata.n', 'eq',      '1.0',          '{m01,m02}'),
    ('metadata.n', 'eq',      '"1"',          '{m04}'),
    ('metadata.n', 'neq',     '1',            '{m03,m05,m06}'),
    ('metadata.n', 'lt',      '2',            '{m01,m02,m06}'),
    ('metadata.n', 'lte',     '1',            '{m01,m02,m06}'),
    ('metadata.n', 'gt',      '2',            '{m03,m05}'),
    ('metadata.n', 'gte',     '2.5',          '{m03,m05}'),
    ('metadata.n', 'between', '[1, 2.5]',     '{m01,m02,m03}'),
    ('metadata.n', 'lt',      '"2"',          '{m04}'),
    ('metadata.n', 'between', '["0", "9"]',   '{m04}'),
    ('metadata.n', 'in',      '[1, "1", 10]', '{m01,m02,m04,m05}'),
    ('metadata.n', 'in',      '[]',           '{}'),
    ('metadata.n', 'exists',  NULL,           '{m01,m02,m03,m04,m05,m06}'),
    ('metadata.n', 'exists',  'true',         '{m01,m02,m03,m04,m05,m06}'),
    ('metadata.n', 'exists',  'false',        '{m07,m08,m09,m10}'),
    -- strings by code point: "B" < "B\"quote" < "a" < "ab" < "é"
    ('metadata.s', 'lt',      '"a"',          '{m01,m06}'),
    ('metadata.s', 'gt',      '"ab"',         '{m03}'),
    ('metadata.s', 'gte',     '"a"',          '{m02,m03,m05}'),
    ('metadata.s', 'between', '["B", "a"]',   '{m01,m02,m06}'),
    ('metadata.s', 'prefix',  '"B"',          '{m01,m06}'),
    ('metadata.s', 'prefix',  '"a"',          '{m02,m05}'),
    ('metadata.s', 'prefix',  '"_"',          '{}'),
    ('metadata.s', 'contains', '"quote"',     '{m06}'),
    ('metadata.s', 'contains', '"\""',        '{m06}'),
    ('metadata.s', 'contains', '"_"',         '{}'),
    ('metadata.s', 'contains', '"%"',         '{}'),
    ('metadata.s', 'eq',      '"é"',          '{m03}'),
    ('metadata.s', 'neq',     '"a"',          '{m01,m03,m05,m06}'),
    ('metadata.s', 'lt',      '10',           '{m04}'),
    -- nested objects: eq is exact, contains is @>
    ('metadata.o.a.b', 'eq',  '1',            '{m01}'),
    ('metadata.o.a.b', 'eq',  '"1"',          '{m03}'),
    ('metadata.o.a.b', 'eq',  '{"c": 1}',     '{m05}'),
    ('metadata.o.a.b.c', 'eq', '1',           '{m05}'),
    ('metadata.o.a', 'eq',    '{"b": 1}',     '{m01}'),
    ('metadata.o', 'eq',      '{"a": {"b": 1}}', '{}'),
    ('metadata.o', 'contains', '{"a": {"b": 1}}', '{m01}'),
    ('metadata.o', 'contains', '{"a": {}}',   '{m01,m02,m03,m05}'),
    ('metadata.o.a', 'eq',    '[1, 2]',       '{m04}'),
    ('metadata.o.a', 'eq',    '[2, 1]',       '{}'),
    ('metadata.o.a', 'neq',   '{"b": 1}',     '{m02,m03,m05}'),
    ('metadata.o.a', 'in',    '[{"b": 2}, [1, 2]]', '{m02,m04}'),
    ('metadata.o', 'has_key', '"c"',          '{m01}'),
    ('metadata.o', 'has_key', '"0"',          '{m06}'),
    -- arrays
    ('metadata.arr', 'eq',    '[1, 2, 3]',    '{m01}'),
    ('metadata.arr', 'eq',    '[3, 2, 1]',    '{m02}'),
    ('metadata.arr', 'neq',   '[1, 2, 3]',    '{m02,m03,m04,m05}'),
    ('metadata.arr', 'contains', '[2]',       '{m01,m02}'),
    ('metadata.arr', 'contains', '"1"',       '{}'),
    ('metadata.arr', 'array_contains', '1',   '{m01,m02}'),
    ('metadata.arr', 'array_contains', '3',   '{m01,m02,m05}'),
    ('metadata.arr', 'array_contains', '[1, 3]', '{m01,m02}'),
    ('metadata.arr', 'array_contains', '"1"', '{m03}'),
    ('metadata.arr', 'array_contains', '[]',  '{m01,m02,m03,m04,m05}'),
    ('metadata.arr', 'has_key', '"0"',        '{m06}'),
    ('metadata.arr', 'has_key', '"1"',        '{}'),
    ('metadata.objs', 'array_contains', '{"id": 1}', '{m01}'),
    ('metadata.objs', 'array_contains', '{"id": 3}', '{}'),
    ('metadata.objs', 'array_contains', '[{"id": 1}, {"id": 2}]', '{m01}'),
    -- digit segments: array indexes, or digit keys of objects
    ('metadata.arr.0', 'eq',  '1',            '{m01}'),
    ('metadata.arr.0', 'eq',  '"1"',          '{m03}'),
    ('metadata.arr.0', 'eq',  '"objzero"',    '{m06}'),
    ('metadata.arr.0.1', 'eq', '5',           '{m05}'),
    ('metadata.arr.2', 'gt',  '0',            '{m01,m02}'),
    ('metadata.arr.5', 'exists', NULL,        '{}'),
    ('metadata.o.0', 'eq',    '"digitkey"',   '{m06}'),
    ('metadata.0', 'eq',      '1',            '{m07}'),
    ('metadata.2.n', 'eq',    '1',            '{m07}'),
    ('metadata.3', 'eq',      '"n"',          '{m07}'),
    -- JSON null is a present value
    ('metadata.nul', 'exists', NULL,          '{m01,m02}'),
    ('metadata.nul', 'eq',    'null',         '{m01}'),
    ('metadata.nul', 'neq',   'null',         '{}'),
    ('metadata.nul', 'in',    '[null, 5]',    '{m01}'),
    ('metadata.nul', 'exists', 'false',       '{m03,m04,m05,m06,m07,m08,m09,m10}'),
    -- booleans
    ('metadata.b', 'eq',      'true',         '{m01}'),
    ('metadata.b', 'eq',      'false',        '{m03}'),
    ('metadata.b', 'neq',     'true',         '{m03}'),
    ('metadata.b', 'in',      '[true, false]', '{m01,m03}'),
    -- a value with a dot, a path that leads nowhere
    ('metadata.tag', 'eq',    '"app.db"',     '{m04}'),
    ('metadata.missing', 'eq', '1',           '{}'),
    ('metadata.s.x', 'exists', NULL,          '{}'),
    -- the whole document
    ('metadata', 'eq',        '{}',           '{m10}'),
    ('metadata', 'eq',        'null',         '{m09}'),
    ('metadata', 'eq',        '"n"',          '{m08}'),
    ('metadata', 'neq',       '{}',           '{m01,m02,m03,m04,m05,m06}'),
    ('metadata', 'contains',  '{"n": 1}',     '{m01,m02}'),
    ('metadata', 'contains',  '{"o": {"a": [2]}}', '{m04}'),
    ('metadata', 'contains',  '[1]',          '{m07}'),
    ('metadata', 'contains',  '"n"',          '{m08}'),
    ('metadata', 'array_contains', '{"n": 1}', '{m07}'),
    ('metadata', 'array_contains', '"n"',     '{m07}'),
    ('metadata', 'prefix',    '"n"',          '{m08}'),
    ('metadata', 'has_key',   '"tag"',        '{m04}'),
    ('metadata', 'has_key',   '"n"',          '{m01,m02,m03,m04,m05,m06}'),
    ('metadata', 'exists',    NULL,           '{m01,m02,m03,m04,m05,m06,m07,m08,m09,m10}'),
    -- type mismatches are false, never an error
    ('metadata.o', 'lt',      '1',            '{}'),
    ('metadata.arr', 'prefix', '"x"',         '{}'),
    ('metadata.s', 'has_key', '"x"',          '{}'),
    ('metadata.n', 'array_contains', '1',     '{}'),
    ('metadata.n', 'contains', '"x"',         '{}'),
    ('metadata.b', 'gt',      '0',            '{}'),
    ('metadata.o.a', 'contains', '"x"',       '{}'),
    ('metadata', 'lt',        '1',            '{}'),
    ('metadata', 'between',   '[0, 9]',       '{}')
  ) AS t(fld, op, val, want);

-- ================================================================ and / or / not
SELECT is(pg_temp.f('sr-meta', flt::jsonb), want, 'sr-meta: ' || label)
  FROM (VALUES
    ('an empty and is true',   '{"and": []}',  '{m01,m02,m03,m04,m05,m06,m07,m08,m09,m10}'::text[]),
    ('an empty or is false',   '{"or": []}',   '{}'),
    ('not of an empty and',    '{"not": {"and": []}}', '{}'),
    ('not of an empty or',     '{"not": {"or": []}}',  '{m01,m02,m03,m04,m05,m06,m07,m08,m09,m10}'),
    ('and of one leaf',        '{"and": [{"field": "metadata.n", "op": "eq", "value": 1}]}', '{m01,m02}'),
    ('or of two leaves',
     '{"or": [{"field": "metadata.n", "op": "eq", "value": 1}, {"field": "metadata.s", "op": "eq", "value": "é"}]}',
     '{m01,m02,m03}'),
    ('and with a negated leaf',
     '{"and": [{"field": "metadata.n", "op": "gte", "value": 1}, {"not": {"field": "metadata.s", "op": "prefix", "value": "a"}}]}',
     '{m01,m03}'),
    ('not of an or (De Morgan)',
     '{"not": {"or": [{"field": "metadata.n", "op": "exists"}, {"field": "metadata", "op": "eq", "value": null}]}}',
     '{m07,m08,m10}'),
    ('not of an and (De Morgan)',
     '{"not": {"and": [{"field": "metadata.n", "op": "exists"}, {"field": "metadata.s", "op": "lt", "value": "a"}]}}',
     '{m02,m03,m04,m05,m07,m08,m09,m10}'),
    ('not not',                '{"not": {"not": {"field": "metadata.n", "op": "eq", "value": 1}}}', '{m01,m02}'),
    ('and of ors',
     '{"and": [{"or": [{"field": "metadata.n", "op": "eq", "value": 1}, {"field": "metadata.n", "op": "eq", "value": 10}]},
               {"or": [{"field": "metadata.s", "op": "eq", "value": "a"}, {"field": "metadata.s", "op": "eq", "value": "ab"}]}]}',
     '{m02,m05}'),
    ('not (n lt 2) includes missing paths and other types',
     '{"not": {"field": "metadata.n", "op": "lt", "value": 2}}', '{m03,m04,m05,m07,m08,m09,m10}'),
    ('not (n neq 1) includes missing paths and other types',
     '{"not": {"field": "metadata.n", "op": "neq", "value": 1}}', '{m01,m02,m04,m07,m08,m09,m10}'),
    ('not over a path that is missing everywhere matches everything',
     '{"not": {"field": "metadata.missing", "op": "eq", "value": 1}}', '{m01,m02,m03,m04,m05,m06,m07,m08,m09,m10}'),
    ('not over a type mismatch matches everything',
     '{"not": {"field": "metadata.o", "op": "lt", "value": 1}}', '{m01,m02,m03,m04,m05,m06,m07,m08,m09,m10}'),
    ('not (n exists false)',   '{"not": {"field": "metadata.n", "op": "exists", "value": false}}', '{m01,m02,m03,m04,m05,m06}'),
    ('not (nul eq null)',      '{"not": {"field": "metadata.nul", "op": "eq", "value": null}}',
     '{m02,m03,m04,m05,m06,m07,m08,m09,m10}'),
    ('not (arr array_contains 1)', '{"not": {"field": "metadata.arr", "op": "array_contains", "value": 1}}',
     '{m03,m04,m05,m06,m07,m08,m09,m10}'),
    ('not (has_key n)',        '{"not": {"field": "metadata", "op": "has_key", "value": "n"}}', '{m07,m08,m09,m10}'),
    ('or of mixed fields',
     '{"or": [{"field": "key", "op": "eq", "value": "m09"}, {"field": "metadata.b", "op": "eq", "value": false}]}',
     '{m03,m09}')
  ) AS t(label, flt, want);

-- ================================================================ projection
SELECT is(metastore.search_records('sr-str', '{"filter": {"field": "key", "op": "eq", "value": "a"}, "fields": ["owner"]}')->'items',
          '[{"key": "a", "owner": "alice"}]'::jsonb,
  'fields ["owner"]: the item holds the key and the owner only');
SELECT is(metastore.search_records('sr-meta', '{"filter": {"field": "key", "op": "eq", "value": "m01"},
                                               "fields": ["metadata.o.a.b", "metadata.n"]}')->'items',
          '[{"key": "m01", "metadata": {"o": {"a": {"b": 1}}, "n": 1}}]'::jsonb,
  'metadata.<path> projections nest under "metadata"');
SELECT is(metastore.search_records('sr-meta', '{"filter": {"field": "key", "op": "eq", "value": "m01"},
                                               "fields": ["metadata.o.a.b", "metadata.o.c"]}')->'items',
          '[{"key": "m01", "metadata": {"o": {"a": {"b": 1}, "c": "x"}}}]'::jsonb,
  'two projected paths under one object are merged');
SELECT is(metastore.search_records('sr-meta', '{"filter": {"field": "key", "op": "eq", "value": "m04"},
                                               "fields": ["metadata.o.a.b", "metadata.tag"]}')->'items',
          '[{"key": "m04", "metadata": {"tag": "app.db"}}]'::jsonb,
  'a projected path that leads nowhere is omitted');
SELECT ok((SELECT bool_and(e->>'key' = 'm04' AND e #> '{metadata,zzz}' IS NULL
                           AND ARRAY(SELECT jsonb_object_keys(e)) <@ ARRAY['key', 'metadata'])
             FROM jsonb_array_elements(metastore.search_records('sr-meta',
                    '{"filter": {"field": "key", "op": "eq", "value": "m04"}, "fields": ["metadata.zzz"]}')->'items') e),
  'a record without the only projected path still appears, with its key and without the path');
SELECT is(metastore.search_records('sr-meta', '{"filter": {"field": "key", "op": "eq", "value": "m01"},
                                               "fields": ["metadata.nul"]}')->'items',
          '[{"key": "m01", "metadata": {"nul": null}}]'::jsonb,
  'a projected path holding JSON null is present (null), not omitted');
SELECT is(metastore.search_records('sr-meta', '{"filter": {"field": "key", "op": "eq", "value": "m07"},
                                               "fields": ["metadata"]}')->'items',
          '[{"key": "m07", "metadata": [1, 2, {"n": 1}, "n"]}]'::jsonb,
  'fields ["metadata"] projects the whole document');
SELECT is(metastore.search_records('sr-tags', '{"filter": {"field": "key", "op": "eq", "value": "g1"},
                                               "fields": ["version", "tags"]}')->'items',
          '[{"key": "g1", "version": 1, "tags": ["db", "prod"]}]'::jsonb,
  'fields ["version", "tags"]');
SELECT is(metastore.search_records('sr-tags', '{"filter": {"field": "key", "op": "eq", "value": "g1"},
                                               "fields": []}')->'items',
          '[{"key": "g1"}]'::jsonb,
  'fields [] projects the key alone (key is always included)');
SELECT is(metastore.search_records('sr-tags', '{"filter": {"field": "key", "op": "eq", "value": "g1"},
                                               "fields": ["key"]}')->'items',
          '[{"key": "g1"}]'::jsonb,
  'fields ["key"] projects the key');
SELECT is(metastore.search_records('sr-time', '{"filter": {"field": "key", "op": "eq", "value": "t1"},
                                               "fields": ["created_at", "updated_by", "namespace"]}')->'items',
          (SELECT jsonb_build_array(jsonb_build_object('key', key, 'created_at', created_at,
                                                       'updated_by', updated_by, 'namespace', namespace))
             FROM metastore.records WHERE namespace = 'sr-time' AND key = 't1'),
  'fields ["created_at", "updated_by", "namespace"]: values as the record holds them');
SELECT is(metastore.search_records('sr-time', '{"fields": ["version"]}')->'items',
          '[{"key": "t1", "version": 1}, {"key": "t2", "version": 2}, {"key": "t3", "version": 3}, {"key": "t4", "version": 5}]'::jsonb,
  'a projection does not change which records match');
SELECT is(metastore.search_records('sr-time')->'items',
          (SELECT jsonb_agg(metastore.http_record_json(r) ORDER BY r.key COLLATE "C")
             FROM metastore.records r WHERE r.namespace = 'sr-time'),
  'without fields each item is the whole record as GET /records/{key} shows it');
SELECT is(metastore.search_records('sr-time'),
          jsonb_build_object('items', metastore.search_records('sr-time')->'items', 'next_cursor', NULL),
  'the result is {"items": [...], "next_cursor": null} on the last page (query defaults to {})');
SELECT is(metastore.search_records(NULL, '{"filter": {"and": [{"field": "namespace", "op": "eq", "value": "sr-time"},
                                                               {"field": "key", "op": "eq", "value": "t2"}]},
                                            "fields": ["version"]}')->'items',
          '[{"key": "t2", "namespace": "sr-time", "version": 2}]'::jsonb,
  'searching every namespace, a projection always includes key and namespace');

-- ================================================================ sort
CREATE TEMP TABLE sort_cases (ord serial, ns text, s jsonb, want text[]);
INSERT INTO sort_cases (ns, s, want) VALUES
    ('sr-str', '[{"field": "key", "dir": "desc"}]',       '{€,é,z,c_d,b,abc,ab,a,B}'::text[]),
    ('sr-str', '[{"field": "key", "dir": "asc"}]',        '{B,a,ab,abc,b,c_d,z,é,€}'),
    ('sr-str', '[{"field": "owner", "dir": "asc"}]',      '{B,€,c_d,abc,a,z,é,ab,b}'),
    ('sr-str', '[{"field": "owner"}]',                    '{B,€,c_d,abc,a,z,é,ab,b}'),
    ('sr-str', '[{"field": "owner", "dir": "desc"}]',     '{b,ab,é,z,a,abc,c_d,€,B}'),
    ('sr-str', '[{"field": "owner", "dir": "desc"}, {"field": "version", "dir": "asc"}]',
                                                          '{ab,b,é,z,a,abc,c_d,B,€}'),
    ('sr-str', '[{"field": "created_by", "dir": "asc"}, {"field": "updated_by", "dir": "desc"}]',
                                                          '{€,é,c_d,abc,ab,a,z,b,B}'),
    ('sr-str', '[{"field": "created_by", "dir": "desc"}]', '{z,b,B,€,é,c_d,abc,ab,a}'),
    ('sr-str', '[{"field": "namespace", "dir": "desc"}]', '{€,é,z,c_d,b,abc,ab,a,B}'),
    ('sr-time', '[{"field": "created_at", "dir": "asc"}]',  '{t2,t4,t1,t3}'),
    ('sr-time', '[{"field": "created_at", "dir": "desc"}]', '{t3,t1,t4,t2}'),
    ('sr-time', '[{"field": "updated_at", "dir": "asc"}]',  '{t2,t1,t3,t4}'),
    ('sr-time', '[{"field": "updated_at", "dir": "desc"}]', '{t4,t3,t1,t2}'),
    ('sr-time', '[{"field": "version", "dir": "desc"}]',    '{t4,t3,t2,t1}'),
    ('sr-time', '[{"field": "updated_at", "dir": "asc"}, {"field": "version", "dir": "desc"}]', '{t2,t3,t1,t4}'),
    ('sr-time', '[{"field": "updated_at", "dir": "desc"}, {"field": "created_at", "dir": "asc"}]', '{t4,t1,t3,t2}'),
    ('sr-meta', '[{"field": "metadata.n", "dir": "asc"}]',
                '{m04,m06,m01,m02,m03,m05,m07,m08,m09,m10}'),
    ('sr-meta', '[{"field": "metadata.n", "dir": "desc"}]',
                '{m10,m09,m08,m07,m05,m03,m02,m01,m06,m04}'),
    ('sr-meta', '[{"field": "metadata.n", "dir": "asc"}, {"field": "key", "dir": "desc"}]',
                '{m04,m06,m02,m01,m03,m05,m10,m09,m08,m07}'),
    ('sr-meta', '[{"field": "metadata.s", "dir": "asc"}]',
                '{m01,m06,m02,m05,m03,m04,m07,m08,m09,m10}'),
    ('sr-meta', '[{"field": "metadata.arr", "dir": "asc"}]',
                '{m04,m03,m05,m01,m02,m06,m07,m08,m09,m10}'),
    ('sr-meta', '[{"field": "metadata.mix", "dir": "asc"}]',
                '{m04,m02,m06,m01,m03,m05,m07,m08,m09,m10}'),
    ('sr-meta', '[{"field": "metadata.mix", "dir": "desc"}]',
                '{m10,m09,m08,m07,m05,m03,m01,m06,m02,m04}'),
    ('sr-meta', '[{"field": "metadata.b", "dir": "desc"}]',
                '{m10,m09,m08,m07,m06,m05,m04,m02,m01,m03}'),
    ('sr-meta', '[{"field": "metadata.o.a.b", "dir": "asc"}]',
                '{m03,m01,m02,m05,m04,m06,m07,m08,m09,m10}');

SELECT is(pg_temp.page(ns, jsonb_build_object('sort', s, 'limit', 1000)), want, format('%s: sort %s', ns, s))
  FROM sort_cases ORDER BY ord;
-- the same orders, one record per page: every cursor resumes exactly after
-- its record (ties on 1 = 1.0, missing values, every JSON type, code points)
SELECT is((pg_temp.walk(ns, jsonb_build_object('sort', s), 1)).keys, want, format('%s: sort %s, pages of 1', ns, s))
  FROM sort_cases ORDER BY ord;
SELECT is((pg_temp.walk(ns, jsonb_build_object('sort', s), 3)).keys, want, format('%s: sort %s, pages of 3', ns, s))
  FROM sort_cases ORDER BY ord;

-- ---------------------------------------------------------------- exact numbers and microseconds
-- numbers are compared as numbers, not as floating point; timestamps keep
-- their microseconds, in filters and in cursors
SELECT metastore.put_record('sr-num', k, jsonb_build_object('x', x::jsonb))
  FROM (VALUES ('x1', '1'), ('x2', '1.0000000000000000001'), ('x3', '1.0000000000000000002'),
               ('x4', '12345678901234567890'), ('x5', '12345678901234567891'), ('x6', '-0.5'),
               ('x7', '1.00')) AS v(k, x)
\g /dev/null
SELECT is(pg_temp.f('sr-num', pg_temp.leaf('metadata.x', op, val)), want,
          format('sr-num: metadata.x %s %s', op, val))
  FROM (VALUES
    ('eq',      '1',                          '{x1,x7}'::text[]),
    ('eq',      '1.0000000000000000001',      '{x2}'),
    ('neq',     '1',                          '{x2,x3,x4,x5,x6}'),
    ('gt',      '1',                          '{x2,x3,x4,x5}'),
    ('lt',      '1.0000000000000000002',      '{x1,x2,x6,x7}'),
    ('eq',      '12345678901234567891',       '{x5}'),
    ('between', '[1.0000000000000000001, 12345678901234567890]', '{x2,x3,x4}'),
    ('in',      '[12345678901234567890, -0.50]', '{x4,x6}')
  ) AS t(op, val, want);
SELECT is((pg_temp.walk('sr-num', '{"sort": [{"field": "metadata.x"}]}', 1)).keys,
          '{x6,x1,x7,x2,x3,x4,x5}'::text[], 'sr-num: sort metadata.x, pages of 1');
SELECT is((pg_temp.walk('sr-num', '{"sort": [{"field": "metadata.x", "dir": "desc"}]}', 1)).keys,
          '{x5,x4,x3,x2,x7,x1,x6}'::text[], 'sr-num: sort metadata.x desc, pages of 1');

SELECT metastore.put_record('sr-us', 'u' || i, '{}'::jsonb) FROM generate_series(1, 6) AS i \g /dev/null
SELECT pg_temp.untracked($$
  UPDATE metastore.records r
     SET updated_at = '2026-05-01T00:00:00Z'::timestamptz + v.us * interval '1 microsecond',
         created_at = '2026-04-01T00:00:00Z'::timestamptz - v.us * interval '1 microsecond'
    FROM (VALUES ('u1', 3), ('u2', 1), ('u3', 5), ('u4', 2), ('u5', 4), ('u6', 0)) AS v(k, us)
   WHERE r.namespace = 'sr-us' AND r.key = v.k$$);
SELECT is(pg_temp.f('sr-us', '{"field": "updated_at", "op": "gt", "value": "2026-05-01T00:00:00.000002Z"}'),
          '{u1,u3,u5}'::text[], 'sr-us: updated_at gt a timestamp with microseconds');
SELECT is(pg_temp.f('sr-us', '{"field": "updated_at", "op": "eq", "value": "2026-05-01T02:00:00.000004+02:00"}'),
          '{u5}'::text[], 'sr-us: updated_at eq a timestamp with microseconds and an offset');
SELECT is((pg_temp.walk('sr-us', '{"sort": [{"field": "updated_at"}]}', 1)).keys,
          '{u6,u2,u4,u1,u5,u3}'::text[], 'sr-us: sort updated_at, pages of 1 (one microsecond apart)');
SELECT is((pg_temp.walk('sr-us', '{"sort": [{"field": "updated_at", "dir": "desc"}]}', 2)).keys,
          '{u3,u5,u1,u4,u2,u6}'::text[], 'sr-us: sort updated_at desc, pages of 2');
SELECT is((pg_temp.walk('sr-us', '{"sort": [{"field": "created_at"}]}', 1)).keys,
          '{u3,u5,u1,u4,u2,u6}'::text[], 'sr-us: sort created_at, pages of 1');

-- ================================================================ soft deletes
SELECT metastore.put_record('sr-del', 'd' || i, '{"v": 1}'::jsonb) FROM generate_series(1, 5) AS i \g /dev/null
SELECT metastore.delete_record('sr-del', 'd2') \g /dev/null
SELECT metastore.delete_record('sr-del', 'd5') \g /dev/null
SELECT metastore.delete_record('sr-del', 'd4') \g /dev/null
-- d4 restored
SELECT metastore.put_record('sr-del', 'd4', '{"v": 1}'::jsonb) \g /dev/null
SELECT is(pg_temp.page('sr-del', '{}'), '{d1,d3,d4}'::text[], 'a soft-deleted record is not found; a restored one is');
SELECT is(pg_temp.f('sr-del', '{"field": "key", "op": "eq", "value": "d2"}'), '{}'::text[],
  'a soft-deleted record is not found by its key');
SELECT is(pg_temp.f('sr-del', '{"field": "metadata.v", "op": "eq", "value": 1}'), '{d1,d3,d4}'::text[],
  'a soft-deleted record is not found by its metadata');
SELECT is(pg_temp.f('sr-del', '{"not": {"field": "key", "op": "eq", "value": "d1"}}'), '{d3,d4}'::text[],
  'a negation does not bring a soft-deleted record back');
SELECT is(pg_temp.page('sr-del', '{"sort": [{"field": "key", "dir": "desc"}], "limit": 1}'), '{d4}'::text[],
  'soft-deleted records take no place in a sorted page (d5, the last key, is deleted)');
SELECT is(pg_temp.f(NULL, '{"field": "namespace", "op": "eq", "value": "sr-del"}'),
          '{sr-del/d1,sr-del/d3,sr-del/d4}'::text[],
  'searching every namespace does not find soft-deleted records either');
SELECT is((pg_temp.walk('sr-del', '{}', 1)).keys, '{d1,d3,d4}'::text[],
  'pages of one item skip soft-deleted records');

-- ================================================================ pages
-- sr-page: 23 records; metadata.g is missing (i % 7 = 0), a string (i = 11)
-- or i % 4; owner is missing when i % 5 = 0
SELECT metastore.put_record('sr-page', 'p' || lpad(i::text, 2, '0'),
                            CASE WHEN i % 7 = 0 THEN '{}'::jsonb
                                 WHEN i = 11 THEN '{"g": "x"}'::jsonb
                                 ELSE jsonb_build_object('g', i % 4) END,
                            owner => CASE WHEN i % 5 = 0 THEN NULL ELSE 'o' || (i % 3) END)
  FROM generate_series(0, 22) AS i
\g /dev/null

CREATE TEMP TABLE page_cases (ord serial, q jsonb, lim int, oracle text);
INSERT INTO page_cases (q, lim, oracle) VALUES
  ('{}', 5, 'key COLLATE "C"'),
  ('{"sort": [{"field": "key", "dir": "desc"}]}', 4, 'key COLLATE "C" DESC'),
  ('{"sort": [{"field": "metadata.g", "dir": "asc"}]}', 4,
   '(metadata->''g'') IS NULL, metadata->''g'', key COLLATE "C"'),
  ('{"sort": [{"field": "metadata.g", "dir": "desc"}]}', 4,
   '(metadata->''g'') IS NULL DESC, metadata->''g'' DESC, key COLLATE "C" DESC'),
  ('{"sort": [{"field": "owner", "dir": "asc"}]}', 3,
   'owner IS NULL, owner COLLATE "C", key COLLATE "C"'),
  ('{"sort": [{"field": "owner", "dir": "desc"}]}', 2,
   'owner IS NULL DESC, owner COLLATE "C" DESC, key COLLATE "C" DESC'),
  ('{"sort": [{"field": "metadata.g", "dir": "desc"}, {"field": "owner", "dir": "asc"}]}', 2,
   '(metadata->''g'') IS NULL DESC, metadata->''g'' DESC, owner IS NULL, owner COLLATE "C", key COLLATE "C"'),
  ('{"sort": [{"field": "owner", "dir": "asc"}, {"field": "metadata.g", "dir": "desc"}, {"field": "version"}, {"field": "key", "dir": "desc"}]}', 3,
   'owner IS NULL, owner COLLATE "C", (metadata->''g'') IS NULL DESC, metadata->''g'' DESC, version, key COLLATE "C" DESC'),
  ('{"filter": {"field": "metadata.g", "op": "gte", "value": 1}, "sort": [{"field": "key", "dir": "desc"}]}', 3, NULL),
  ('{"filter": {"not": {"field": "owner", "op": "eq", "value": "o1"}}, "sort": [{"field": "owner", "dir": "desc"}]}', 4, NULL);

-- the independent oracle: the keys of sr-page in a SQL ORDER BY
CREATE FUNCTION pg_temp.sorted_keys(ns text, order_by text) RETURNS text[] LANGUAGE plpgsql AS $$
DECLARE r text[];
BEGIN
  EXECUTE format('SELECT array_agg(key ORDER BY %s) FROM metastore.records WHERE namespace = $1 AND deleted_at IS NULL',
                 order_by) INTO r USING ns;
  RETURN r;
END $$;

CREATE TEMP TABLE page_runs AS
SELECT c.ord, c.q, c.lim, c.oracle, w.keys AS walked, w.pages,
       pg_temp.page('sr-page', c.q || '{"limit": 1000}') AS unpaged,
       CASE WHEN c.oracle IS NOT NULL THEN pg_temp.sorted_keys('sr-page', c.oracle) END AS expected
  FROM page_cases c, LATERAL pg_temp.walk('sr-page', c.q, c.lim) w;

SELECT is(walked, unpaged, format('walking %s with limit %s: the pages joined equal the unpaged result', q, lim))
  FROM page_runs ORDER BY ord;
SELECT is(walked, expected, format('walking %s with limit %s: the order is %s', q, lim, oracle))
  FROM page_runs WHERE oracle IS NOT NULL ORDER BY ord;
SELECT is(cardinality(walked), (SELECT count(DISTINCT k)::int FROM unnest(walked) k),
          format('walking %s with limit %s: no record twice', q, lim))
  FROM page_runs ORDER BY ord;
SELECT is(pages, (cardinality(unpaged) + lim - 1) / lim,
          format('walking %s with limit %s: ceil(%s / %s) pages, next_cursor null on the last only',
                 q, lim, cardinality(unpaged), lim))
  FROM page_runs ORDER BY ord;
SELECT is(cardinality((SELECT walked FROM page_runs WHERE ord = 1)), 23,
  'precondition: the key walk saw all 23 records');

-- the last page is the one that holds the last record
SELECT is(metastore.search_records('sr-page', '{"limit": 23}')->'next_cursor', 'null'::jsonb,
  'limit equal to the number of records: one page, next_cursor null');
SELECT isnt(metastore.search_records('sr-page', '{"limit": 22}')->'next_cursor', 'null'::jsonb,
  'limit one less than the number of records: next_cursor set');
SELECT is(pg_temp.page('sr-page', jsonb_build_object('limit', 22, 'cursor',
            metastore.search_records('sr-page', '{"limit": 22}')->>'next_cursor')), '{p22}'::text[],
  'the page after it holds the last record');
SELECT is(metastore.search_records('sr-page', jsonb_build_object('limit', 22, 'cursor',
            metastore.search_records('sr-page', '{"limit": 22}')->>'next_cursor'))->'next_cursor', 'null'::jsonb,
  '... and has next_cursor null');
SELECT is(metastore.search_records('sr-page', '{"filter": {"or": []}}'),
          '{"items": [], "next_cursor": null}'::jsonb,
  'no match: no items, next_cursor null');

-- a cursor can be used again: the same page
SELECT metastore.search_records('sr-page', '{"limit": 5}')->>'next_cursor' AS again \gset
SELECT is(pg_temp.page('sr-page', jsonb_build_object('limit', 5, 'cursor', :'again')),
          pg_temp.page('sr-page', jsonb_build_object('limit', 5, 'cursor', :'again')),
  'the same cursor twice gives the same page');
SELECT is(pg_temp.page('sr-page', jsonb_build_object('limit', 5, 'cursor', :'again')),
          '{p05,p06,p07,p08,p09}'::text[], '... page 2');

-- the cursor is opaque: it does not show the last key
SELECT ok(strpos(metastore.search_records('sr-page', '{"limit": 5}')->>'next_cursor', 'p04') = 0,
  'the cursor does not contain the last key in plain text');

-- fields and limit may change between pages
SELECT metastore.search_records('sr-page', '{"limit": 5, "fields": ["version"]}') AS fl1 \gset
SELECT is(ARRAY(SELECT jsonb_object_keys(e) FROM jsonb_array_elements(:'fl1'::jsonb->'items') e ORDER BY 1),
          ARRAY['key', 'key', 'key', 'key', 'key', 'version', 'version', 'version', 'version', 'version'],
  'precondition: page 1 projected key and version');
SELECT metastore.search_records('sr-page', jsonb_build_object('limit', 7, 'fields', '["metadata.g"]'::jsonb,
                                                             'cursor', :'fl1'::jsonb->>'next_cursor')) AS fl2 \gset
SELECT is(ARRAY(SELECT e->>'key' FROM jsonb_array_elements(:'fl2'::jsonb->'items') e),
          '{p05,p06,p07,p08,p09,p10,p11}'::text[],
  'a cursor works with another limit and other fields: the next 7 records');
SELECT is((SELECT jsonb_agg(e) FROM jsonb_array_elements(:'fl2'::jsonb->'items') e WHERE e->>'key' = 'p06'),
          '[{"key": "p06", "metadata": {"g": 2}}]'::jsonb,
  '... projected with the new fields');
SELECT ok((SELECT bool_and(e #> '{metadata,g}' IS NULL AND e->'version' IS NULL)
             FROM jsonb_array_elements(:'fl2'::jsonb->'items') e WHERE e->>'key' = 'p07'),
  '... p07 (no metadata.g) without the path, and no field of the first page''s projection');

-- default limit 50
SELECT metastore.put_record('sr-many', 'n' || lpad(i::text, 3, '0'), '{}'::jsonb) FROM generate_series(1, 60) AS i \g /dev/null
SELECT metastore.search_records('sr-many') AS many1 \gset
SELECT is(jsonb_array_length(:'many1'::jsonb->'items'), 50, 'without a limit a page holds 50 records');
SELECT is(pg_temp.page('sr-many', jsonb_build_object('cursor', :'many1'::jsonb->>'next_cursor')),
          ARRAY(SELECT 'n' || lpad(i::text, 3, '0') FROM generate_series(51, 60) AS i),
  'the second default page holds the remaining 10');
SELECT is((pg_temp.walk('sr-many', '{}', 1000)).keys,
          ARRAY(SELECT 'n' || lpad(i::text, 3, '0') FROM generate_series(1, 60) AS i),
  'limit 1000: all 60 on one page');
SELECT is((pg_temp.walk('sr-many', '{}', 1)).keys,
          ARRAY(SELECT 'n' || lpad(i::text, 3, '0') FROM generate_series(1, 60) AS i),
  'limit 1: 60 pages of one record, in order');

-- searching every namespace: key ties are broken by namespace, in pages too
SELECT metastore.put_record(ns, k, '{}'::jsonb)
  FROM (VALUES ('sr-pat', 'k'), ('sr-pat', 'p1'), ('sr-pat.x', 'k'), ('sr-pat.x', 'x1'), ('sr-patz', 'k')) AS v(ns, k)
\g /dev/null
SELECT is(pg_temp.f(NULL, '{"field": "namespace", "op": "prefix", "value": "sr-pat"}'),
          '{sr-pat/k,sr-pat.x/k,sr-patz/k,sr-pat/p1,sr-pat.x/x1}'::text[],
  'every namespace: sorted by key, then namespace');
SELECT is((pg_temp.walk(NULL, '{"filter": {"field": "namespace", "op": "prefix", "value": "sr-pat"}}', 1)).keys,
          '{sr-pat/k,sr-pat.x/k,sr-patz/k,sr-pat/p1,sr-pat.x/x1}'::text[],
  'every namespace, pages of one: no record of a key shared by namespaces is skipped or repeated');
SELECT is((pg_temp.walk(NULL, '{"filter": {"field": "namespace", "op": "prefix", "value": "sr-pat"},
                                "sort": [{"field": "key", "dir": "desc"}]}', 2)).keys,
          '{sr-pat.x/x1,sr-pat/p1,sr-patz/k,sr-pat.x/k,sr-pat/k}'::text[],
  'every namespace, key descending: namespace ties descend too, across pages');
SELECT is(pg_temp.page(NULL, '{"filter": {"field": "namespace", "op": "prefix", "value": "sr-pat"},
                               "sort": [{"field": "namespace", "dir": "asc"}], "limit": 1000}'),
          '{sr-pat/k,sr-pat/p1,sr-pat.x/k,sr-pat.x/x1,sr-patz/k}'::text[],
  'every namespace, sorted by namespace then key');

-- ---------------------------------------------------------------- writes between pages
-- key order: page 1 is m00..m03.  Then m01 (seen) and m03 (the cursor's own
-- record) and m05 (not yet seen) are deleted, m02a (behind the cursor) and
-- m07a (ahead) are created, and m06 is updated in place.
SELECT metastore.put_record('sr-mut', 'm' || lpad(i::text, 2, '0'), '{}'::jsonb) FROM generate_series(0, 14) AS i \g /dev/null
SELECT metastore.search_records('sr-mut', '{"limit": 4}') AS mut1 \gset
SELECT metastore.delete_record('sr-mut', 'm01') \g /dev/null
SELECT metastore.delete_record('sr-mut', 'm03') \g /dev/null
SELECT metastore.delete_record('sr-mut', 'm05') \g /dev/null
SELECT metastore.put_record('sr-mut', 'm02a', '{}'::jsonb) \g /dev/null
SELECT metastore.put_record('sr-mut', 'm07a', '{}'::jsonb) \g /dev/null
SELECT metastore.put_record('sr-mut', 'm06', '{"changed": true}'::jsonb) \g /dev/null
SELECT is(ARRAY(SELECT e->>'key' FROM jsonb_array_elements(:'mut1'::jsonb->'items') e),
          '{m00,m01,m02,m03}'::text[], 'writes between pages: page 1 (before the writes)');
SELECT is((pg_temp.walk('sr-mut', '{}', 4, :'mut1'::jsonb->>'next_cursor')).keys,
          '{m04,m06,m07,m07a,m08,m09,m10,m11,m12,m13,m14}'::text[],
  'writes between pages: the rest continues strictly after m03 (deleted itself): nothing repeated, no record that stayed put skipped');

-- the same across the missing-owner boundary, sorted by owner
SELECT metastore.put_record('sr-mut2', k, '{}'::jsonb, owner => o)
  FROM (VALUES ('q00', 'b'), ('q01', NULL), ('q02', 'a'), ('q03', 'c'), ('q04', NULL),
               ('q05', 'a'), ('q06', 'b'), ('q07', NULL), ('q08', 'c'), ('q09', 'a')) AS v(k, o)
\g /dev/null
SELECT metastore.search_records('sr-mut2', '{"sort": [{"field": "owner"}], "limit": 4}') AS mut2 \gset
-- delete the cursor's record q00; create q00a (behind), q05b (ahead, same
-- owner) and q10 (ahead, no owner)
SELECT metastore.delete_record('sr-mut2', 'q00') \g /dev/null
SELECT metastore.put_record('sr-mut2', 'q00a', '{}'::jsonb, owner => 'a') \g /dev/null
SELECT metastore.put_record('sr-mut2', 'q05b', '{}'::jsonb, owner => 'b') \g /dev/null
SELECT metastore.put_record('sr-mut2', 'q10', '{}'::jsonb) \g /dev/null
SELECT is(ARRAY(SELECT e->>'key' FROM jsonb_array_elements(:'mut2'::jsonb->'items') e),
          '{q02,q05,q09,q00}'::text[], 'writes between pages, by owner: page 1');
SELECT is((pg_temp.walk('sr-mut2', '{"sort": [{"field": "owner"}]}', 4, :'mut2'::jsonb->>'next_cursor')).keys,
          '{q05b,q06,q03,q08,q01,q04,q07,q10}'::text[],
  'writes between pages, by owner: the rest continues after (b, q00), through the records without an owner');

-- ================================================================ access
CREATE ROLE ms_sr_reader NOLOGIN;     -- reader of sr-acl-a
CREATE ROLE ms_sr_writer NOLOGIN;     -- writer of sr-acl-b
CREATE ROLE ms_sr_pattern NOLOGIN;    -- reader of sr-pat.*
CREATE ROLE ms_sr_dev NOLOGIN;        -- developer of sr-acl-a (implies reader)
CREATE ROLE ms_sr_none NOLOGIN;       -- nothing
SELECT metastore."grant"('ms_sr_reader', 'sr-acl-a', 'reader') \g /dev/null
SELECT metastore."grant"('ms_sr_writer', 'sr-acl-b', 'writer') \g /dev/null
SELECT metastore."grant"('ms_sr_pattern', 'sr-pat.*', 'reader') \g /dev/null
SELECT metastore."grant"('ms_sr_dev', 'sr-acl-a', 'developer') \g /dev/null
SELECT metastore.put_record(ns, k, '{"x": 1}'::jsonb)
  FROM (VALUES ('sr-acl-a', 'a1'), ('sr-acl-a', 'a2'), ('sr-acl-b', 'b1')) AS v(ns, k)
\g /dev/null

-- the keys ("namespace/key") a search returns, as one string, run as a role
CREATE FUNCTION ms_test.search_sql(p_ns text, p_query text DEFAULT '{}') RETURNS text
LANGUAGE sql IMMUTABLE AS $f$
  SELECT format($q$SELECT coalesce(string_agg((e->>'namespace') || '/' || (e->>'key'), ',' ORDER BY o), '')
                     FROM jsonb_array_elements(metastore.search_records(%L, %L::jsonb)->'items') WITH ORDINALITY t(e, o)$q$,
                p_ns, p_query)
$f$;

SELECT is(ms_test.query_as('ms_sr_reader', ms_test.search_sql('sr-acl-a')), 'sr-acl-a/a1,sr-acl-a/a2',
  'a reader of sr-acl-a searches sr-acl-a');
SELECT is(ms_test.try_as('ms_sr_reader', ms_test.search_sql('sr-acl-b')), '42501',
  'a reader of sr-acl-a searching sr-acl-b: 42501');
SELECT is(ms_test.try_as('ms_sr_reader', ms_test.search_sql('sr-acl-b', '{"filter": {"or": []}}')), '42501',
  'a reader of sr-acl-a searching sr-acl-b with a filter that matches nothing: still 42501');
SELECT is(ms_test.try_as('ms_sr_reader', ms_test.search_sql('sr-no-such-ns')), '42501',
  'a reader of sr-acl-a searching a namespace that does not exist: 42501');
SELECT is(ms_test.query_as('ms_sr_reader', ms_test.search_sql(NULL)), 'sr-acl-a/a1,sr-acl-a/a2',
  'namespace => NULL: a reader of sr-acl-a gets the records of sr-acl-a only');
SELECT is(ms_test.query_as('ms_sr_reader', ms_test.search_sql(NULL, '{"filter": {"field": "namespace", "op": "eq", "value": "sr-acl-b"}}')), '',
  'namespace => NULL with a filter naming a foreign namespace: nothing');
SELECT is(ms_test.query_as('ms_sr_reader', ms_test.search_sql(NULL, '{"filter": {"field": "metadata.x", "op": "eq", "value": 1}}')),
  'sr-acl-a/a1,sr-acl-a/a2',
  'namespace => NULL with a filter every namespace matches: still only sr-acl-a');
SELECT is(ms_test.query_as('ms_sr_pattern', ms_test.search_sql(NULL)),
  'sr-pat/k,sr-pat.x/k,sr-pat/p1,sr-pat.x/x1',
  'namespace => NULL: a reader of sr-pat.* gets sr-pat and sr-pat.x, not sr-patz');
SELECT is(ms_test.try_as('ms_sr_pattern', ms_test.search_sql('sr-patz')), '42501',
  'a reader of sr-pat.* searching sr-patz: 42501');
SELECT is(ms_test.query_as('ms_sr_pattern', ms_test.search_sql('sr-pat.x')), 'sr-pat.x/k,sr-pat.x/x1',
  'a reader of sr-pat.* searches sr-pat.x');
SELECT is(ms_test.query_as('ms_sr_none', ms_test.search_sql(NULL)), '',
  'namespace => NULL: a principal without grants gets no records (and no error)');
SELECT is(ms_test.query_as('ms_sr_none', $$SELECT metastore.search_records(NULL)::text$$),
  '{"items": [], "next_cursor": null}',
  'namespace => NULL without grants: {"items": [], "next_cursor": null}');
SELECT is(ms_test.try_as('ms_sr_none', ms_test.search_sql('sr-acl-a')), '42501',
  'a principal without grants searching sr-acl-a: 42501');
SELECT is(ms_test.query_as('ms_sr_writer', ms_test.search_sql('sr-acl-b')), 'sr-acl-b/b1',
  'a writer searches its namespace (writer implies reader)');
SELECT is(ms_test.query_as('ms_sr_dev', ms_test.search_sql('sr-acl-a')), 'sr-acl-a/a1,sr-acl-a/a2',
  'a developer searches its namespace (lifecycle roles imply reader)');
SELECT is(ms_test.query_as('ms_sr_reader',
            $$SELECT string_agg(e->>'key', ',') FROM jsonb_array_elements(
                metastore.search_records(NULL, '{"filter": {"field": "namespace", "op": "prefix", "value": "sr-acl"}, "limit": 1}')->'items') e$$),
  'a1', 'namespace => NULL, page 1 of 1 record: a1');
SELECT is(ms_test.query_as('ms_sr_reader',
            $$SELECT string_agg(e->>'key', ',') FROM jsonb_array_elements(
                metastore.search_records(NULL, jsonb_build_object('filter', '{"field": "namespace", "op": "prefix", "value": "sr-acl"}'::jsonb, 'limit', 1,
                  'cursor', metastore.search_records(NULL, '{"filter": {"field": "namespace", "op": "prefix", "value": "sr-acl"}, "limit": 1}')->>'next_cursor'))->'items') e$$),
  'a2', 'namespace => NULL, page 2: a2 (not b1 of the foreign namespace)');
SELECT is(pg_temp.f(NULL, '{"field": "namespace", "op": "prefix", "value": "sr-acl"}'),
          '{sr-acl-a/a1,sr-acl-a/a2,sr-acl-b/b1}'::text[],
  'the superuser without a key searches every namespace');

-- an API key's principal: authenticate in a savepoint, assert after
SELECT api_key AS k_api_key FROM metastore.create_api_key('sr-keyuser') \gset
SELECT metastore."grant"('sr-keyuser', 'sr-acl-b', 'reader') \g /dev/null
SAVEPOINT as_key;
SELECT metastore.authenticate(:'k_api_key') \g /dev/null
SELECT metastore.current_principal() AS key_principal \gset
SELECT ms_test.attempt($$SELECT metastore.search_records('sr-acl-a')$$) AS key_on_a \gset
SELECT array_to_string(pg_temp.page('sr-acl-b', '{}'), ',') AS key_on_b \gset
SELECT array_to_string(pg_temp.page(NULL, '{}'), ',') AS key_on_all \gset
ROLLBACK TO SAVEPOINT as_key;
SELECT is(:'key_principal'::text, 'sr-keyuser', 'precondition: authenticated as sr-keyuser');
SELECT is(:'key_on_a'::text, '42501', 'authenticated with a key (reader of sr-acl-b), searching sr-acl-a: 42501');
SELECT is(:'key_on_b'::text, 'b1', 'authenticated with a key, searching sr-acl-b: its record');
SELECT is(:'key_on_all'::text, 'sr-acl-b/b1', 'authenticated with a key, namespace => NULL: only sr-acl-b');

SELECT * FROM finish();
ROLLBACK;
