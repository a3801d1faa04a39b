-- Golden output of the filter compiler (metastore.compile_filter): the SQL
-- of every operator on every kind of field, and of and/or/not.  Values never
-- appear in the SQL: each one is a $n parameter.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS metastore;

-- the whole statement once
SELECT metastore.compile_filter('{"field": "key", "op": "eq", "value": "a"}');

-- then, for each filter, only its line of the statement (the sixth) and the
-- values bound to it (compile_search: $2 onwards, without the LIMIT)
CREATE FUNCTION pg_temp.f(filter jsonb, OUT sql text, OUT params text)
LANGUAGE sql AS $$
  SELECT btrim(split_part(c.sql, E'\n', 6)),
         array_to_string(c.params[2:cardinality(c.params) - 1], ' | ')
    FROM metastore.compile_search('ns', jsonb_build_object('filter', filter)) c
$$;

SELECT label, (pg_temp.f(filter::jsonb)).* FROM (VALUES
  -- string columns
  ('key eq',            '{"field": "key", "op": "eq", "value": "a"}'),
  ('key neq',           '{"field": "key", "op": "neq", "value": "a"}'),
  ('key lt',            '{"field": "key", "op": "lt", "value": "a"}'),
  ('key lte',           '{"field": "key", "op": "lte", "value": "a"}'),
  ('key gt',            '{"field": "key", "op": "gt", "value": "a"}'),
  ('key gte',           '{"field": "key", "op": "gte", "value": "a"}'),
  ('key between',       '{"field": "key", "op": "between", "value": ["a", "b"]}'),
  ('key in',            '{"field": "key", "op": "in", "value": ["a", "b"]}'),
  ('key contains',      '{"field": "key", "op": "contains", "value": "a"}'),
  ('key prefix',        '{"field": "key", "op": "prefix", "value": "app."}'),
  ('key prefix empty',  '{"field": "key", "op": "prefix", "value": ""}'),
  ('key exists',        '{"field": "key", "op": "exists"}'),
  ('namespace eq',      '{"field": "namespace", "op": "eq", "value": "a"}'),
  ('created_by in',     '{"field": "created_by", "op": "in", "value": []}'),
  ('updated_by prefix', '{"field": "updated_by", "op": "prefix", "value": "svc"}'),
  ('owner eq',          '{"field": "owner", "op": "eq", "value": "alice"}'),
  ('owner exists',      '{"field": "owner", "op": "exists"}'),
  ('owner exists false','{"field": "owner", "op": "exists", "value": false}'),
  ('not owner eq',      '{"not": {"field": "owner", "op": "eq", "value": "alice"}}'),
  -- version and timestamps
  ('version eq',        '{"field": "version", "op": "eq", "value": 3}'),
  ('version neq',       '{"field": "version", "op": "neq", "value": 3.0}'),
  ('version gte',       '{"field": "version", "op": "gte", "value": 2}'),
  ('version between',   '{"field": "version", "op": "between", "value": [1, 4]}'),
  ('version in',        '{"field": "version", "op": "in", "value": [1, 2]}'),
  ('version exists',    '{"field": "version", "op": "exists"}'),
  ('created_at lt',     '{"field": "created_at", "op": "lt", "value": "2026-01-01T00:00:00Z"}'),
  ('updated_at between','{"field": "updated_at", "op": "between", "value": ["2026-01-01", "2026-02-01T12:00:00+02:00"]}'),
  ('updated_at in',     '{"field": "updated_at", "op": "in", "value": ["2026-01-01T00:00:00.5Z"]}'),
  -- tags
  ('tags eq',           '{"field": "tags", "op": "eq", "value": ["a", "b"]}'),
  ('tags neq',          '{"field": "tags", "op": "neq", "value": "a"}'),
  ('tags contains',     '{"field": "tags", "op": "contains", "value": "a"}'),
  ('tags array_contains','{"field": "tags", "op": "array_contains", "value": ["a", "b"]}'),
  ('tags in',           '{"field": "tags", "op": "in", "value": ["a", "b"]}'),
  ('tags exists',       '{"field": "tags", "op": "exists"}'),
  -- metadata paths of object keys: containment (@>), @? and @@ where exact
  ('md eq scalar',      '{"field": "metadata.a.b", "op": "eq", "value": 5}'),
  ('md eq null',        '{"field": "metadata.a", "op": "eq", "value": null}'),
  ('md eq object',      '{"field": "metadata.a", "op": "eq", "value": {"x": 1}}'),
  ('md neq',            '{"field": "metadata.a", "op": "neq", "value": "x"}'),
  ('md lt number',      '{"field": "metadata.a.b", "op": "lt", "value": 10}'),
  ('md lte string',     '{"field": "metadata.a", "op": "lte", "value": "m"}'),
  ('md gt',             '{"field": "metadata.a", "op": "gt", "value": 1.5}'),
  ('md gte',            '{"field": "metadata.a", "op": "gte", "value": "b"}'),
  ('md between number', '{"field": "metadata.a", "op": "between", "value": [1, 2]}'),
  ('md between string', '{"field": "metadata.a", "op": "between", "value": ["a", "b"]}'),
  ('md in scalars',     '{"field": "metadata.a", "op": "in", "value": [1, "x", null]}'),
  ('md in objects',     '{"field": "metadata.a", "op": "in", "value": [{"x": 1}, 2]}'),
  ('md contains string','{"field": "metadata.a", "op": "contains", "value": "ell"}'),
  ('md contains object','{"field": "metadata.a", "op": "contains", "value": {"x": 1}}'),
  ('md contains array', '{"field": "metadata.a", "op": "contains", "value": [1, 2]}'),
  ('md array_contains', '{"field": "metadata.a", "op": "array_contains", "value": "x"}'),
  ('md array_contains[]','{"field": "metadata.a", "op": "array_contains", "value": ["x", {"id": 1}]}'),
  ('md prefix',         '{"field": "metadata.a", "op": "prefix", "value": "ab"}'),
  ('md exists 1',       '{"field": "metadata.a", "op": "exists"}'),
  ('md exists 2',       '{"field": "metadata.a.b", "op": "exists"}'),
  ('md exists false',   '{"field": "metadata.a.b", "op": "exists", "value": false}'),
  ('md has_key',        '{"field": "metadata.a", "op": "has_key", "value": "k"}'),
  -- the whole document
  ('doc eq',            '{"field": "metadata", "op": "eq", "value": {"a": 1}}'),
  ('doc contains',      '{"field": "metadata", "op": "contains", "value": {"a": 1}}'),
  ('doc has_key',       '{"field": "metadata", "op": "has_key", "value": "a"}'),
  ('doc exists',        '{"field": "metadata", "op": "exists"}'),
  -- paths with an array index: #> comparisons, no containment
  ('md[0] eq',          '{"field": "metadata.a.0.b", "op": "eq", "value": 5}'),
  ('md[0] in',          '{"field": "metadata.a.0", "op": "in", "value": [1, 2]}'),
  ('md[0] contains',    '{"field": "metadata.a.0", "op": "contains", "value": {"x": 1}}'),
  ('md[0] array_contains','{"field": "metadata.a.0", "op": "array_contains", "value": 1}'),
  ('md[0] exists',      '{"field": "metadata.a.0", "op": "exists"}'),
  ('md[0] has_key',     '{"field": "metadata.a.0", "op": "has_key", "value": "k"}'),
  ('md -1 is an index', '{"field": "metadata.a.-1", "op": "eq", "value": 1}'),
  -- combinations; not is pushed down to the leaves
  ('and',               '{"and": [{"field": "key", "op": "prefix", "value": "app."}, {"field": "metadata.n", "op": "gt", "value": 3}, {"field": "tags", "op": "array_contains", "value": "db"}]}'),
  ('or',                '{"or": [{"field": "key", "op": "eq", "value": "a"}, {"field": "owner", "op": "eq", "value": "b"}]}'),
  ('not and',           '{"not": {"and": [{"field": "key", "op": "eq", "value": "a"}, {"field": "metadata.x", "op": "eq", "value": 1}]}}'),
  ('not or',            '{"not": {"or": [{"field": "metadata.x", "op": "lt", "value": 1}, {"field": "tags", "op": "in", "value": ["t"]}]}}'),
  ('not not',           '{"not": {"not": {"field": "metadata.x", "op": "exists"}}}'),
  ('empty and',         '{"and": []}'),
  ('empty or',          '{"or": []}'),
  ('not empty and',     '{"not": {"and": []}}'),
  ('nested',            '{"or": [{"and": [{"field": "version", "op": "gt", "value": 1}, {"not": {"field": "owner", "op": "exists"}}]}, {"field": "metadata.a.b", "op": "in", "value": ["x"]}]}')
) AS t(label, filter);

-- hostile text never reaches the SQL: it is bound
SELECT (pg_temp.f('{"field": "metadata.a''); DROP TABLE x; --", "op": "eq", "value": "''; DROP TABLE y; --"}')).*;
SELECT (pg_temp.f('{"field": "metadata.\"quoted\".b", "op": "exists"}')).*;
SELECT (pg_temp.f('{"field": "metadata.a", "op": "lt", "value": "\" || $ == 1 || \""}')).*;

-- sort, projection and the keyset condition of a next page
SELECT metastore.put_record('golden', k, jsonb_build_object('n', i), owner => CASE WHEN i > 2 THEN 'o' END)
  FROM unnest(ARRAY['a', 'b', 'c', 'd']) WITH ORDINALITY AS t(k, i) \g /dev/null
SELECT metastore.search_records('golden', '{"sort": [{"field": "version", "dir": "desc"}], "limit": 1}')->>'next_cursor' AS c1 \gset
SELECT sql, params[2:] AS params
  FROM metastore.compile_search('golden', jsonb_build_object(
         'sort', '[{"field": "version", "dir": "desc"}]'::jsonb, 'limit', 1, 'cursor', :'c1'));
SELECT metastore.search_records('golden', '{"sort": [{"field": "owner"}, {"field": "metadata.n", "dir": "desc"}], "fields": ["metadata.n", "owner"], "limit": 1}')->>'next_cursor' AS c2 \gset
SELECT sql, params[2:] AS params
  FROM metastore.compile_search('golden', jsonb_build_object(
         'sort', '[{"field": "owner"}, {"field": "metadata.n", "dir": "desc"}]'::jsonb,
         'fields', '["metadata.n", "owner"]'::jsonb, 'limit', 1, 'cursor', :'c2'));
