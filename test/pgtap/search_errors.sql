-- pgTAP: metastore.search_records / metastore.compile_filter -- bad input
-- (docs/search.md).  Every malformed query, filter, sort, projection and
-- limit with its SQLSTATE (22023 for a mistake, 54000 for a limit), the same
-- SQLSTATE from compile_filter for every bad filter, the limits themselves
-- (the largest accepted input works, one more is refused), cursors that were
-- altered, forged or issued for another query (MS400), and injection
-- attempts: hostile field names are refused or used as plain JSON keys,
-- hostile values are matched literally, compile_filter's SQL never carries
-- request text, and nothing in the database changes.
--
-- Bad inputs are rows of temp tables (label, input, SQLSTATE) checked with
-- throws_ok, so adding a case is adding a row.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(617);

\ir helpers/as_role.sql
\ir helpers/state.sql

-- the keys of one page, in order
CREATE FUNCTION pg_temp.page(ns text, q jsonb) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(e->>'key' ORDER BY o), '{}')
    FROM jsonb_array_elements(metastore.search_records(ns, q)->'items') WITH ORDINALITY AS t(e, o)
$$;
CREATE FUNCTION pg_temp.f(ns text, flt jsonb) RETURNS text[] LANGUAGE sql AS $$
  SELECT pg_temp.page(ns, jsonb_build_object('filter', flt, 'limit', 1000))
$$;
-- the keys of one page joined with ',', or the error as 'SQLSTATE: message'
-- (for inputs at a limit, which must work: a refusal is a failed test, not
-- an aborted file)
CREATE FUNCTION pg_temp.try_page(ns text, q jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  RETURN array_to_string(pg_temp.page(ns, q), ',');
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
CREATE FUNCTION pg_temp.try_f(ns text, flt jsonb) RETURNS text LANGUAGE sql AS $$
  SELECT pg_temp.try_page(ns, jsonb_build_object('filter', flt, 'limit', 1000))
$$;
-- f nested n times under op ('not', 'and' or 'or')
CREATE FUNCTION pg_temp.nest(op text, n int, f jsonb) RETURNS jsonb LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE r jsonb := f;
BEGIN
  FOR i IN 1..n LOOP
    r := CASE op WHEN 'not' THEN jsonb_build_object('not', r) ELSE jsonb_build_object(op, jsonb_build_array(r)) END;
  END LOOP;
  RETURN r;
END $$;
-- a metadata path of n segments s1.s2...
CREATE FUNCTION pg_temp.path(n int) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT 'metadata.' || string_agg('s' || i, '.' ORDER BY i) FROM generate_series(1, n) AS i
$$;

-- ================================================================ data
SELECT metastore.put_record(ns, 'rec-' || i, jsonb_build_object('n', i), tags => ARRAY['t' || i])
  FROM unnest(ARRAY['se', 'se-2']) AS ns, generate_series(1, 5) AS i
\g /dev/null

-- ================================================================ bad filters
-- Every row is checked twice: search_records (the filter inside a query) and
-- compile_filter (the filter alone).
CREATE TEMP TABLE bad_filters (ord serial, label text, f jsonb, code char(5));
INSERT INTO bad_filters (label, f, code) VALUES
  -- shape
  ('two of and/or',                 '{"and": [], "or": []}', '22023'),
  ('and next to not',               '{"and": [], "not": {"and": []}}', '22023'),
  ('or next to not',                '{"or": [], "not": {"or": []}}', '22023'),
  ('a leaf key next to and',        '{"and": [], "field": "key", "op": "eq", "value": "a"}', '22023'),
  ('a leaf next to not',            '{"not": {"and": []}, "field": "key", "op": "eq", "value": "a"}', '22023'),
  ('an unknown key in a leaf',      '{"field": "key", "op": "eq", "value": "a", "extra": 1}', '22023'),
  ('an unknown key alone',          '{"xor": []}', '22023'),
  ('an empty object',               '{}', '22023'),
  ('and not an array (object)',     '{"and": {}}', '22023'),
  ('and not an array (leaf)',       '{"and": {"field": "key", "op": "eq", "value": "a"}}', '22023'),
  ('or not an array (string)',      '{"or": "a"}', '22023'),
  ('an and element that is a number', '{"and": [1]}', '22023'),
  ('an or element that is null',    '{"or": [null]}', '22023'),
  ('a nested malformed node',       '{"and": [{"or": [{"field": "key", "op": "eq"}]}]}', '22023'),
  ('not not an object (array)',     '{"not": []}', '22023'),
  ('not not an object (string)',    '{"not": "key"}', '22023'),
  ('not null',                      '{"not": null}', '22023'),
  ('the filter an array',           '[]', '22023'),
  ('the filter a string',           '"key"', '22023'),
  ('the filter a number',           '1', '22023'),
  ('a leaf without op',             '{"field": "key", "value": "a"}', '22023'),
  ('a leaf without field',          '{"op": "eq", "value": "a"}', '22023'),
  ('eq without value',              '{"field": "key", "op": "eq"}', '22023'),
  ('field not a string',            '{"field": 1, "op": "eq", "value": "a"}', '22023'),
  ('op not a string',               '{"field": "key", "op": 1, "value": "a"}', '22023'),
  ('op null',                       '{"field": "key", "op": null, "value": "a"}', '22023'),
  -- unknown ops and fields
  ('unknown op like',               '{"field": "key", "op": "like", "value": "a%"}', '22023'),
  ('op in capitals EQ',             '{"field": "key", "op": "EQ", "value": "a"}', '22023'),
  ('unknown field bogus',           '{"field": "bogus", "op": "eq", "value": "a"}', '22023'),
  ('field in capitals Key',         '{"field": "Key", "op": "eq", "value": "a"}', '22023'),
  ('field id (not searchable)',     '{"field": "id", "op": "eq", "value": 1}', '22023'),
  ('field description',             '{"field": "description", "op": "eq", "value": "a"}', '22023'),
  ('field content_type',            '{"field": "content_type", "op": "eq", "value": "json"}', '22023'),
  ('field deleted_at',              '{"field": "deleted_at", "op": "exists"}', '22023'),
  ('field metadatax',               '{"field": "metadatax", "op": "eq", "value": 1}', '22023'),
  ('field metadata_a',              '{"field": "metadata_a", "op": "eq", "value": 1}', '22023'),
  ('field tags.0',                  '{"field": "tags.0", "op": "eq", "value": "a"}', '22023'),
  ('field key.a',                   '{"field": "key.a", "op": "eq", "value": "a"}', '22023'),
  ('field empty',                   '{"field": "", "op": "eq", "value": "a"}', '22023'),
  ('path metadata. (empty path)',   '{"field": "metadata.", "op": "eq", "value": 1}', '22023'),
  ('path metadata..a (empty segment)', '{"field": "metadata..a", "op": "eq", "value": 1}', '22023'),
  ('path metadata.a. (empty last segment)', '{"field": "metadata.a.", "op": "eq", "value": 1}', '22023'),
  ('path metadata.a..b',            '{"field": "metadata.a..b", "op": "exists"}', '22023'),
  ('field .metadata',               '{"field": ".metadata", "op": "eq", "value": 1}', '22023'),
  -- operators a field kind cannot take
  ('prefix on version',             '{"field": "version", "op": "prefix", "value": 1}', '22023'),
  ('contains on version',           '{"field": "version", "op": "contains", "value": 1}', '22023'),
  ('has_key on version',            '{"field": "version", "op": "has_key", "value": "a"}', '22023'),
  ('array_contains on version',     '{"field": "version", "op": "array_contains", "value": 1}', '22023'),
  ('contains on created_at',        '{"field": "created_at", "op": "contains", "value": "2026"}', '22023'),
  ('prefix on updated_at',          '{"field": "updated_at", "op": "prefix", "value": "2026"}', '22023'),
  ('array_contains on updated_at',  '{"field": "updated_at", "op": "array_contains", "value": "2026-01-01"}', '22023'),
  ('has_key on tags',               '{"field": "tags", "op": "has_key", "value": "db"}', '22023'),
  ('lt on tags',                    '{"field": "tags", "op": "lt", "value": "a"}', '22023'),
  ('gte on tags',                   '{"field": "tags", "op": "gte", "value": "a"}', '22023'),
  ('between on tags',               '{"field": "tags", "op": "between", "value": ["a", "b"]}', '22023'),
  ('prefix on tags',                '{"field": "tags", "op": "prefix", "value": "a"}', '22023'),
  ('array_contains on key',         '{"field": "key", "op": "array_contains", "value": "a"}', '22023'),
  ('has_key on key',                '{"field": "key", "op": "has_key", "value": "a"}', '22023'),
  ('has_key on owner',              '{"field": "owner", "op": "has_key", "value": "a"}', '22023'),
  ('array_contains on namespace',   '{"field": "namespace", "op": "array_contains", "value": "a"}', '22023'),
  -- values of the wrong type for typed fields
  ('key eq a number',               '{"field": "key", "op": "eq", "value": 1}', '22023'),
  ('key eq null',                   '{"field": "key", "op": "eq", "value": null}', '22023'),
  ('key eq an array',               '{"field": "key", "op": "eq", "value": ["a"]}', '22023'),
  ('key eq an object',              '{"field": "key", "op": "eq", "value": {"a": 1}}', '22023'),
  ('key lt true',                   '{"field": "key", "op": "lt", "value": true}', '22023'),
  ('key in with a number',          '{"field": "key", "op": "in", "value": ["a", 1]}', '22023'),
  ('key prefix a number',           '{"field": "key", "op": "prefix", "value": 1}', '22023'),
  ('key contains a number',         '{"field": "key", "op": "contains", "value": 1}', '22023'),
  ('owner eq a number',             '{"field": "owner", "op": "eq", "value": 5}', '22023'),
  ('created_by neq a boolean',      '{"field": "created_by", "op": "neq", "value": false}', '22023'),
  ('version eq a string',           '{"field": "version", "op": "eq", "value": "1"}', '22023'),
  ('version eq 1.5',                '{"field": "version", "op": "eq", "value": 1.5}', '22023'),
  ('version eq true',               '{"field": "version", "op": "eq", "value": true}', '22023'),
  ('version lt null',               '{"field": "version", "op": "lt", "value": null}', '22023'),
  ('version in with a string',      '{"field": "version", "op": "in", "value": [1, "2"]}', '22023'),
  ('created_at eq a number',        '{"field": "created_at", "op": "eq", "value": 1}', '22023'),
  ('created_at eq not a date',      '{"field": "created_at", "op": "eq", "value": "not a date"}', '22023'),
  ('created_at month 13',           '{"field": "created_at", "op": "eq", "value": "2026-13-01"}', '22023'),
  ('created_at February 30',        '{"field": "created_at", "op": "eq", "value": "2026-02-30"}', '22023'),
  ('created_at February 29 of 2026', '{"field": "created_at", "op": "gte", "value": "2026-02-29"}', '22023'),
  ('created_at April 31',           '{"field": "updated_at", "op": "lt", "value": "2026-04-31T10:00:00Z"}', '22023'),
  ('created_at hour 25',            '{"field": "created_at", "op": "lt", "value": "2026-01-01T25:00:00Z"}', '22023'),
  ('created_at now',                '{"field": "created_at", "op": "lt", "value": "now"}', '22023'),
  ('created_at infinity',           '{"field": "created_at", "op": "lt", "value": "infinity"}', '22023'),
  ('created_at epoch',              '{"field": "created_at", "op": "gt", "value": "epoch"}', '22023'),
  ('created_at yesterday',          '{"field": "created_at", "op": "gt", "value": "yesterday"}', '22023'),
  ('created_at without an offset',  '{"field": "created_at", "op": "eq", "value": "2026-01-01T10:00:00"}', '22023'),
  ('created_at Jan 1 2026',         '{"field": "created_at", "op": "eq", "value": "Jan 1 2026"}', '22023'),
  ('created_at with trailing text', '{"field": "created_at", "op": "eq", "value": "2026-01-01T10:00:00Z junk"}', '22023'),
  ('updated_at in with a bad one',  '{"field": "updated_at", "op": "in", "value": ["2026-01-01", "bad"]}', '22023'),
  ('updated_at between a date and a number', '{"field": "updated_at", "op": "between", "value": ["2026-01-01", 5]}', '22023'),
  ('tags eq a number',              '{"field": "tags", "op": "eq", "value": 1}', '22023'),
  ('tags array_contains a number',  '{"field": "tags", "op": "array_contains", "value": 1}', '22023'),
  ('tags array_contains with a number', '{"field": "tags", "op": "array_contains", "value": ["a", 1]}', '22023'),
  ('tags contains an object',       '{"field": "tags", "op": "contains", "value": {"a": 1}}', '22023'),
  ('tags in a string',              '{"field": "tags", "op": "in", "value": "db"}', '22023'),
  ('tags in with a number',         '{"field": "tags", "op": "in", "value": [1]}', '22023'),
  ('key exists "yes"',              '{"field": "key", "op": "exists", "value": "yes"}', '22023'),
  ('owner exists 1',                '{"field": "owner", "op": "exists", "value": 1}', '22023'),
  ('tags exists "true"',            '{"field": "tags", "op": "exists", "value": "true"}', '22023'),
  -- between
  ('between a number',              '{"field": "metadata.n", "op": "between", "value": 1}', '22023'),
  ('between one element',           '{"field": "metadata.n", "op": "between", "value": [1]}', '22023'),
  ('between three elements',        '{"field": "metadata.n", "op": "between", "value": [1, 2, 3]}', '22023'),
  ('between an empty array',        '{"field": "metadata.n", "op": "between", "value": []}', '22023'),
  ('between a number and a string', '{"field": "metadata.n", "op": "between", "value": [1, "a"]}', '22023'),
  ('between two booleans',          '{"field": "metadata.n", "op": "between", "value": [true, false]}', '22023'),
  ('between two nulls',             '{"field": "metadata.n", "op": "between", "value": [null, null]}', '22023'),
  ('between two objects',           '{"field": "metadata", "op": "between", "value": [{}, {}]}', '22023'),
  ('version between strings',       '{"field": "version", "op": "between", "value": ["1", "2"]}', '22023'),
  ('key between numbers',           '{"field": "key", "op": "between", "value": [1, 2]}', '22023'),
  ('key between one element',       '{"field": "key", "op": "between", "value": ["a"]}', '22023'),
  ('created_at between one element', '{"field": "created_at", "op": "between", "value": ["2026-01-01"]}', '22023'),
  -- lt / lte / gt / gte take a number or a string only
  ('lt an object',                  '{"field": "metadata.n", "op": "lt", "value": {"a": 1}}', '22023'),
  ('lte an array',                  '{"field": "metadata.n", "op": "lte", "value": [1]}', '22023'),
  ('gt a boolean',                  '{"field": "metadata.n", "op": "gt", "value": true}', '22023'),
  ('gte null',                      '{"field": "metadata.n", "op": "gte", "value": null}', '22023'),
  ('whole metadata lt an object',   '{"field": "metadata", "op": "lt", "value": {}}', '22023'),
  -- in takes an array
  ('in a number',                   '{"field": "metadata.n", "op": "in", "value": 1}', '22023'),
  ('in an object',                  '{"field": "metadata.n", "op": "in", "value": {"a": 1}}', '22023'),
  ('in a string',                   '{"field": "metadata", "op": "in", "value": "a"}', '22023'),
  ('version in a number',           '{"field": "version", "op": "in", "value": 1}', '22023'),
  ('key in a string',               '{"field": "key", "op": "in", "value": "a"}', '22023'),
  -- prefix and has_key take a string
  ('metadata prefix a number',      '{"field": "metadata.s", "op": "prefix", "value": 1}', '22023'),
  ('metadata has_key a number',     '{"field": "metadata", "op": "has_key", "value": 1}', '22023'),
  ('metadata has_key an array',     '{"field": "metadata.o", "op": "has_key", "value": ["a"]}', '22023'),
  -- injection through names: refused, never run
  ('field "key; DROP TABLE metastore.records--"', '{"field": "key; DROP TABLE metastore.records--", "op": "eq", "value": "a"}', '22023'),
  ('field "key'' OR ''1''=''1"',    '{"field": "key'' OR ''1''=''1", "op": "eq", "value": "a"}', '22023'),
  ('field "key) OR (1=1"',          '{"field": "key) OR (1=1", "op": "eq", "value": "a"}', '22023'),
  ('field "metadata->>''a''"',      '{"field": "metadata->>''a''", "op": "eq", "value": "a"}', '22023'),
  ('field "key /* */"',             '{"field": "key /* */", "op": "eq", "value": "a"}', '22023'),
  ('op "eq; DROP TABLE t"',         '{"field": "key", "op": "eq; DROP TABLE t", "value": "a"}', '22023'),
  -- limits
  ('depth 17 (not)',                pg_temp.nest('not', 17, '{"field": "key", "op": "eq", "value": "rec-1"}'), '54000'),
  ('depth 17 (and)',                pg_temp.nest('and', 17, '{"field": "key", "op": "eq", "value": "rec-1"}'), '54000'),
  ('depth 17 (or)',                 pg_temp.nest('or', 17, '{"field": "key", "op": "eq", "value": "rec-1"}'), '54000'),
  ('65 leaves in one or',
   (SELECT jsonb_build_object('or', jsonb_agg(jsonb_build_object('field', 'key', 'op', 'eq', 'value', 'k' || i)))
      FROM generate_series(1, 65) AS i), '54000'),
  ('65 leaves in two ors',
   jsonb_build_object('and', jsonb_build_array(
     (SELECT jsonb_build_object('or', jsonb_agg(jsonb_build_object('field', 'key', 'op', 'eq', 'value', 'k' || i)))
        FROM generate_series(1, 33) AS i),
     (SELECT jsonb_build_object('or', jsonb_agg(jsonb_build_object('field', 'metadata.n', 'op', 'eq', 'value', i)))
        FROM generate_series(1, 32) AS i))), '54000'),
  ('in list of 1001',
   jsonb_build_object('field', 'key', 'op', 'in', 'value', (SELECT jsonb_agg('k' || i) FROM generate_series(1, 1001) AS i)), '54000'),
  ('metadata in list of 1001',
   jsonb_build_object('field', 'metadata.n', 'op', 'in', 'value', (SELECT jsonb_agg(i) FROM generate_series(1, 1001) AS i)), '54000'),
  ('a value over 64 KiB (string)',
   jsonb_build_object('field', 'metadata.s', 'op', 'eq', 'value', repeat('x', 66000)), '54000'),
  ('a value over 64 KiB (object)',
   jsonb_build_object('field', 'metadata', 'op', 'contains', 'value', jsonb_build_object('a', repeat('x', 66000))), '54000'),
  ('a value over 64 KiB (in list of 700 strings)',
   jsonb_build_object('field', 'metadata.s', 'op', 'in', 'value', (SELECT jsonb_agg(repeat('y', 100) || i) FROM generate_series(1, 700) AS i)), '54000'),
  ('a key value over 64 KiB',
   jsonb_build_object('field', 'key', 'op', 'prefix', 'value', repeat('k', 66000)), '54000'),
  ('path of 33 segments',
   jsonb_build_object('field', pg_temp.path(33), 'op', 'exists'), '54000'),
  ('segment of 257 bytes',
   jsonb_build_object('field', 'metadata.' || repeat('a', 257), 'op', 'exists'), '54000'),
  ('segment of 258 bytes in 129 characters (é)',
   jsonb_build_object('field', 'metadata.a.' || repeat('é', 129), 'op', 'eq', 'value', 1), '54000');

SELECT throws_ok(format('SELECT metastore.search_records(%L, %L::jsonb)', 'se', jsonb_build_object('filter', f)),
                 code, NULL, format('search_records, filter %s: %s', label, code))
  FROM bad_filters ORDER BY ord;
SELECT throws_ok(format('SELECT metastore.compile_filter(%L::jsonb)', f),
                 code, NULL, format('compile_filter, filter %s: %s', label, code))
  FROM bad_filters ORDER BY ord;

-- ================================================================ bad queries
CREATE TEMP TABLE bad_queries (ord serial, label text, q jsonb, code char(5));
INSERT INTO bad_queries (label, q, code) VALUES
  ('an unknown key',                '{"bogus": 1}', '22023'),
  ('Filter in capitals',            '{"Filter": {"and": []}}', '22023'),
  ('offset (not a part)',           '{"filter": {"and": []}, "offset": 10}', '22023'),
  ('namespace inside the query',    '{"namespace": "se-2"}', '22023'),
  ('the query an array',            '[]', '22023'),
  ('the query a string',            '"key"', '22023'),
  -- limit
  ('limit 0',                       '{"limit": 0}', '22023'),
  ('limit 1001',                    '{"limit": 1001}', '22023'),
  ('limit "10"',                    '{"limit": "10"}', '22023'),
  ('limit 1.5',                     '{"limit": 1.5}', '22023'),
  ('limit -1',                      '{"limit": -1}', '22023'),
  ('limit true',                    '{"limit": true}', '22023'),
  ('limit 1e10',                    '{"limit": 1e10}', '22023'),
  -- sort
  ('sort by an unknown field',      '{"sort": [{"field": "bogus"}]}', '22023'),
  ('sort dir up',                   '{"sort": [{"field": "key", "dir": "up"}]}', '22023'),
  ('sort dir ASC',                  '{"sort": [{"field": "key", "dir": "ASC"}]}', '22023'),
  ('sort dir a number',             '{"sort": [{"field": "key", "dir": 1}]}', '22023'),
  ('sort by tags',                  '{"sort": [{"field": "tags"}]}', '22023'),
  ('sort by the whole metadata',    '{"sort": [{"field": "metadata"}]}', '22023'),
  ('sort by description',           '{"sort": [{"field": "description"}]}', '22023'),
  ('sort by id',                    '{"sort": [{"field": "id"}]}', '22023'),
  ('sort by metadata..a',           '{"sort": [{"field": "metadata..a"}]}', '22023'),
  ('sort entry with an unknown key', '{"sort": [{"field": "key", "nulls": "first"}]}', '22023'),
  ('sort entry without field',      '{"sort": [{"dir": "asc"}]}', '22023'),
  ('sort entry a string',           '{"sort": ["key"]}', '22023'),
  ('sort not an array',             '{"sort": "key"}', '22023'),
  ('sort an object',                '{"sort": {"field": "key"}}', '22023'),
  ('sort field injection',          '{"sort": [{"field": "key; DROP TABLE metastore.records--"}]}', '22023'),
  ('sort field with a SQL tail',    '{"sort": [{"field": "key desc, (SELECT pg_sleep(1))"}]}', '22023'),
  ('sort dir injection',            '{"sort": [{"field": "key", "dir": "asc; DROP TABLE t"}]}', '22023'),
  ('5 sort entries',                '{"sort": [{"field": "key"}, {"field": "version"}, {"field": "owner"}, {"field": "created_at"}, {"field": "updated_at"}]}', '54000'),
  ('sort path of 33 segments',      jsonb_build_object('sort', jsonb_build_array(jsonb_build_object('field', pg_temp.path(33)))), '54000'),
  -- fields
  ('fields with an unknown field',  '{"fields": ["bogus"]}', '22023'),
  ('fields with a number',          '{"fields": ["tags", 1]}', '22023'),
  ('fields not an array',           '{"fields": "key"}', '22023'),
  ('fields with metadata..a',       '{"fields": ["metadata..a"]}', '22023'),
  ('fields injection',              '{"fields": ["key; DROP TABLE metastore.records--"]}', '22023'),
  ('33 fields',                     jsonb_build_object('fields', (SELECT jsonb_agg('metadata.f' || i) FROM generate_series(1, 33) AS i)), '54000'),
  ('fields path of 33 segments',    jsonb_build_object('fields', jsonb_build_array(pg_temp.path(33))), '54000');

SELECT throws_ok(format('SELECT metastore.search_records(%L, %L::jsonb)', 'se', q),
                 code, NULL, format('search_records, query %s: %s', label, code))
  FROM bad_queries ORDER BY ord;

-- ================================================================ the limits themselves are accepted
SELECT is(pg_temp.try_f('se', pg_temp.nest('not', 16, '{"field": "key", "op": "eq", "value": "rec-3"}')), 'rec-3',
  'depth 16 (sixteen nots around a leaf) is accepted and means the leaf');
SELECT is(pg_temp.try_f('se', pg_temp.nest('and', 16, '{"field": "key", "op": "eq", "value": "rec-3"}')), 'rec-3',
  'depth 16 (and) is accepted');
SELECT is(pg_temp.try_f('se', (SELECT jsonb_build_object('or', jsonb_agg(jsonb_build_object('field', 'key', 'op', 'eq', 'value', 'rec-' || i))) FROM generate_series(1, 64) AS i)),
          'rec-1,rec-2,rec-3,rec-4,rec-5',
  '64 leaves are accepted');
SELECT is(pg_temp.try_f('se', jsonb_build_object('field', 'key', 'op', 'in', 'value', (SELECT jsonb_agg('rec-' || i) FROM generate_series(2, 1001) AS i))),
          'rec-2,rec-3,rec-4,rec-5',
  'an in list of 1000 is accepted');
SELECT is(pg_temp.try_f('se', jsonb_build_object('field', 'metadata.s', 'op', 'eq', 'value', repeat('x', 60000))), '',
  'a value of 60000 bytes is accepted');
SELECT is(pg_temp.try_f('se', jsonb_build_object('field', pg_temp.path(32), 'op', 'exists')), '',
  'a path of 32 segments is accepted');
SELECT is(pg_temp.try_f('se', jsonb_build_object('field', 'metadata.' || repeat('a', 256), 'op', 'exists')), '',
  'a segment of 256 bytes is accepted');
SELECT is(pg_temp.try_f('se', jsonb_build_object('field', 'metadata.a.' || repeat('é', 128), 'op', 'eq', 'value', 1)), '',
  'a segment of 256 bytes in 128 characters (é) is accepted');
SELECT is(pg_temp.try_page('se', '{"sort": [{"field": "owner"}, {"field": "version", "dir": "desc"}, {"field": "metadata.n", "dir": "desc"}, {"field": "key"}]}'),
          'rec-5,rec-4,rec-3,rec-2,rec-1',
  '4 sort entries are accepted');
SELECT is(pg_temp.try_page('se', jsonb_build_object('fields', (SELECT jsonb_agg('metadata.f' || i) FROM generate_series(1, 32) AS i))),
          'rec-1,rec-2,rec-3,rec-4,rec-5',
  '32 fields are accepted');
SELECT is(pg_temp.try_page('se', '{"limit": 1}'), 'rec-1', 'limit 1 is accepted');
SELECT is(pg_temp.try_page('se', '{"limit": 1000}'), 'rec-1,rec-2,rec-3,rec-4,rec-5', 'limit 1000 is accepted');

-- ================================================================ cursors (MS400)
SELECT metastore.search_records('se', '{"limit": 2}')->>'next_cursor' AS cur \gset
SELECT metastore.search_records('se', '{"limit": 2, "filter": {"field": "key", "op": "gte", "value": "rec"}}')->>'next_cursor' AS cur_f \gset
SELECT metastore.search_records('se', '{"limit": 2, "sort": [{"field": "version"}]}')->>'next_cursor' AS cur_s \gset
SELECT metastore.search_records(NULL, '{"limit": 2}')->>'next_cursor' AS cur_all \gset

SELECT is(pg_temp.page('se', jsonb_build_object('limit', 2, 'cursor', :'cur')), '{rec-3,rec-4}'::text[],
  'precondition: the cursor, unaltered, gives page 2');
SELECT is(pg_temp.page('se', jsonb_build_object('limit', 2, 'filter', '{"field": "key", "op": "gte", "value": "rec"}'::jsonb, 'cursor', :'cur_f')),
          '{rec-3,rec-4}'::text[], 'precondition: the filtered cursor with its own filter gives page 2');
SELECT is(pg_temp.page('se', jsonb_build_object('limit', 2, 'sort', '[{"field": "version"}]'::jsonb, 'cursor', :'cur_s')),
          '{rec-3,rec-4}'::text[], 'precondition: the sorted cursor with its own sort gives page 2');

CREATE TEMP TABLE bad_cursors (ord serial, label text, ns text, q jsonb);
INSERT INTO bad_cursors (label, ns, q) VALUES
  ('garbage',                        'se', '{"cursor": "not-a-cursor"}'),
  ('an empty string',                'se', '{"cursor": ""}'),
  ('truncated by 4 characters',      'se', jsonb_build_object('limit', 2, 'cursor', left(:'cur', -4))),
  ('truncated to half',              'se', jsonb_build_object('limit', 2, 'cursor', left(:'cur', length(:'cur') / 2))),
  ('with a character appended',      'se', jsonb_build_object('limit', 2, 'cursor', :'cur' || 'A')),
  ('one character changed (middle)', 'se', jsonb_build_object('limit', 2, 'cursor',
     overlay(:'cur' placing CASE WHEN substr(:'cur', length(:'cur') / 2, 1) = 'a' THEN 'b' ELSE 'a' END
             from length(:'cur') / 2 for 1))),
  ('one character changed (5th)',    'se', jsonb_build_object('limit', 2, 'cursor',
     overlay(:'cur' placing CASE WHEN substr(:'cur', 5, 1) = 'Q' THEN 'R' ELSE 'Q' END from 5 for 1))),
  ('two cursors concatenated',       'se', jsonb_build_object('limit', 2, 'cursor', :'cur' || :'cur')),
  ('reversed',                       'se', jsonb_build_object('limit', 2, 'cursor', reverse(:'cur'))),
  ('over 4096 bytes',                'se', jsonb_build_object('cursor', repeat('A', 4097))),
  ('a valid cursor padded over 4096 bytes', 'se', jsonb_build_object('limit', 2, 'cursor', :'cur' || repeat('=', 4097))),
  ('from no filter, used with a filter', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur', 'filter', '{"field": "key", "op": "gte", "value": "rec"}'::jsonb)),
  ('from a filter, used with another value', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur_f', 'filter', '{"field": "key", "op": "gte", "value": "rea"}'::jsonb)),
  ('from a filter, used with another op', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur_f', 'filter', '{"field": "key", "op": "gt", "value": "rec"}'::jsonb)),
  ('from a filter, used without it',  'se', jsonb_build_object('limit', 2, 'cursor', :'cur_f')),
  ('from key order, used with version order', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur', 'sort', '[{"field": "version"}]'::jsonb)),
  ('from key order, used descending', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur', 'sort', '[{"field": "key", "dir": "desc"}]'::jsonb)),
  ('from version order, used with version descending', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur_s', 'sort', '[{"field": "version", "dir": "desc"}]'::jsonb)),
  ('from version order, used with updated_at order', 'se',
     jsonb_build_object('limit', 2, 'cursor', :'cur_s', 'sort', '[{"field": "updated_at"}]'::jsonb)),
  ('from namespace se, used in se-2', 'se-2', jsonb_build_object('limit', 2, 'cursor', :'cur')),
  ('from every namespace, used in se', 'se', jsonb_build_object('limit', 2, 'cursor', :'cur_all')),
  ('from se, used for every namespace', NULL, jsonb_build_object('limit', 2, 'cursor', :'cur'));

SELECT throws_ok(format('SELECT metastore.search_records(%L, %L::jsonb)', ns, q),
                 'MS400', NULL, format('cursor %s: MS400', label))
  FROM bad_cursors ORDER BY ord;
SELECT ok(length(:'cur') <= 4096, 'precondition: an issued cursor fits in 4096 bytes');

-- ================================================================ injection through values and names
CREATE TABLE public.t (i int);
CREATE TABLE public.x (i int);
INSERT INTO public.t VALUES (1);
INSERT INTO public.x VALUES (1);

CREATE TEMP TABLE hostile (ord serial, v text, as_key boolean);
INSERT INTO hostile (v, as_key) VALUES
  ($h$'); DROP TABLE t; --$h$, true),
  ($h$\'; DROP TABLE metastore.records; --$h$, true),
  ($h$$1$h$, true),
  ($h$$$ || pg_sleep(1) || $$$h$, true),
  ($h$$q$ x $q$$h$, true),
  ($h$*/ SELECT 1; /*$h$, true),
  ($h$" OR ""="$h$, true),
  ($h$' OR '1'='1$h$, true),
  ($h${"a": 1}$h$, true),
  ($h$\u0000$h$, true),
  ($h$\\x00\\$h$, true),
  ($h$$.v ? (@ == "x")$h$, true),
  ($h$%$h$, true),
  ($h$_$h$, true),
  ($h$a%b_c$h$, true),
  ('ünïcødé 😀 €' || chr(8232) || chr(8238), false),
  ('ctl:' || chr(1) || chr(2) || chr(31) || chr(9) || chr(13) || chr(10) || chr(127), false);

SELECT metastore.put_record('se-inj', 'v' || lpad(ord::text, 2, '0'), jsonb_build_object('v', v)) FROM hostile \g /dev/null
SELECT metastore.put_record('se-inj', 'k:' || v, '{"k": true}'::jsonb) FROM hostile WHERE as_key \g /dev/null
SELECT metastore.put_record('se-inj', 'plain', '{"v": "plain"}'::jsonb) \g /dev/null

-- hostile object keys, addressed as metadata paths
CREATE TEMP TABLE hostile_keys (ord serial, seg text);
INSERT INTO hostile_keys (seg) VALUES
  ($h$a'); DROP TABLE x; --$h$), ($h$a"b$h$), ($h$a\b$h$), ('*'), ('**'), ('$'), ('@'),
  ($h$a' || 'b$h$), ('a[0]'), ('last'), ('a b'), ('$1'), ('strict $'), ($h$") || @ == 1 || ("$h$),
  ('a*/b'), ('{a}'), ('é€😀');
SELECT metastore.put_record('se-inj', 'seg-' || lpad(ord::text, 2, '0'), jsonb_build_object(seg, 'hit-' || ord)) FROM hostile_keys \g /dev/null

SELECT pg_temp.ms_state() AS state_before \gset

-- values are matched literally
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.v', 'op', 'eq', 'value', v)),
          ARRAY['v' || lpad(ord::text, 2, '0')],
          format('metadata.v eq hostile value #%s finds exactly its record', ord))
  FROM hostile ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.v', 'op', 'in', 'value', jsonb_build_array(v, 'nope'))),
          ARRAY['v' || lpad(ord::text, 2, '0')],
          format('metadata.v in [hostile value #%s] finds exactly its record', ord))
  FROM hostile ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.v', 'op', 'contains', 'value', v)),
          ARRAY(SELECT key FROM metastore.records
                 WHERE namespace = 'se-inj' AND strpos(metadata->>'v', v) > 0 ORDER BY key COLLATE "C"),
          format('metadata.v contains hostile value #%s: a literal substring', ord))
  FROM hostile ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.v', 'op', 'prefix', 'value', v)),
          ARRAY(SELECT key FROM metastore.records
                 WHERE namespace = 'se-inj' AND starts_with(metadata->>'v', v) ORDER BY key COLLATE "C"),
          format('metadata.v prefix hostile value #%s: a literal prefix', ord))
  FROM hostile ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'key', 'op', 'eq', 'value', 'k:' || v)),
          ARRAY['k:' || v], format('key eq hostile key #%s finds exactly its record', ord))
  FROM hostile WHERE as_key ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'key', 'op', 'prefix', 'value', 'k:' || v)),
          ARRAY(SELECT key FROM metastore.records
                 WHERE namespace = 'se-inj' AND starts_with(key, 'k:' || v) ORDER BY key COLLATE "C"),
          format('key prefix hostile key #%s: a literal prefix', ord))
  FROM hostile WHERE as_key ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'key', 'op', 'contains', 'value', v)),
          ARRAY(SELECT key FROM metastore.records
                 WHERE namespace = 'se-inj' AND strpos(key, v) > 0 ORDER BY key COLLATE "C"),
          format('key contains hostile value #%s: a literal substring', ord))
  FROM hostile WHERE as_key ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.v', 'op', 'eq', 'value', $h$'); DROP TABLE t; --$h$)),
          '{v01}'::text[], $d$the record whose metadata value is exactly '); DROP TABLE t; -- is found by eq$d$);

-- hostile object keys are plain JSON keys
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.' || seg, 'op', 'exists')),
          ARRAY['seg-' || lpad(ord::text, 2, '0')], format('metadata.<hostile key #%s> exists: exactly its record', ord))
  FROM hostile_keys ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.' || seg, 'op', 'eq', 'value', 'hit-' || ord)),
          ARRAY['seg-' || lpad(ord::text, 2, '0')], format('metadata.<hostile key #%s> eq: exactly its record', ord))
  FROM hostile_keys ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata.' || seg, 'op', 'prefix', 'value', 'hit-')),
          ARRAY['seg-' || lpad(ord::text, 2, '0')], format('metadata.<hostile key #%s> prefix: exactly its record', ord))
  FROM hostile_keys ORDER BY ord;
SELECT is(pg_temp.f('se-inj', jsonb_build_object('field', 'metadata', 'op', 'has_key', 'value', seg)),
          ARRAY['seg-' || lpad(ord::text, 2, '0')], format('metadata has_key <hostile key #%s>: exactly its record', ord))
  FROM hostile_keys ORDER BY ord;
SELECT is(metastore.search_records('se-inj', jsonb_build_object(
            'filter', jsonb_build_object('field', 'key', 'op', 'eq', 'value', 'seg-' || lpad(ord::text, 2, '0')),
            'fields', jsonb_build_array('metadata.' || seg)))->'items',
          jsonb_build_array(jsonb_build_object('key', 'seg-' || lpad(ord::text, 2, '0'),
                                               'metadata', jsonb_build_object(seg, 'hit-' || ord))),
          format('fields [metadata.<hostile key #%s>] projects it', ord))
  FROM hostile_keys ORDER BY ord;
SELECT is(pg_temp.page('se-inj', jsonb_build_object(
            'filter', '{"field": "key", "op": "prefix", "value": "seg-"}'::jsonb,
            'sort', jsonb_build_array(jsonb_build_object('field', 'metadata.' || seg)),
            'limit', 1)),
          ARRAY['seg-' || lpad(ord::text, 2, '0')],
          format('sort by metadata.<hostile key #%s>: its record first (the others lack the path)', ord))
  FROM hostile_keys ORDER BY ord;

-- nothing was run: the tables are all there, with what they held
SELECT has_table('metastore', 'records', 'metastore.records still exists');
SELECT has_table('public', 't', 'table t still exists');
SELECT has_table('public', 'x', 'table x still exists');
SELECT is(pg_temp.ms_state(), :'state_before', 'metastore.records and history hold what they held before the hostile searches');
SELECT is((SELECT count(*) FROM public.t) + (SELECT count(*) FROM public.x), 2::bigint, 't and x hold their rows');

-- ================================================================ compile_filter carries no request text
CREATE TEMP TABLE cf_text (ord serial, label text, f jsonb, needle text);
INSERT INTO cf_text (label, f, needle) VALUES
  ('a hostile metadata value', jsonb_build_object('field', 'metadata.v', 'op', 'eq', 'value', $h$'); DROP TABLE t; --$h$), 'DROP TABLE'),
  ('a hostile key value',      jsonb_build_object('field', 'key', 'op', 'eq', 'value', $h$x'; DROP TABLE t; --$h$), 'DROP TABLE'),
  ('a hostile path segment',   jsonb_build_object('field', $h$metadata.a'); DROP TABLE x; --$h$, 'op', 'eq', 'value', 1), 'DROP TABLE'),
  ('a hostile path (exists)',  jsonb_build_object('field', $h$metadata.a'); DROP TABLE x; --$h$, 'op', 'exists'), 'DROP TABLE'),
  ('a hostile path (lt)',      jsonb_build_object('field', $h$metadata.a'); DROP TABLE x; --$h$, 'op', 'lt', 'value', 1), 'DROP TABLE'),
  ('a hostile path with a digit segment', jsonb_build_object('field', $h$metadata.0.a'); DROP TABLE x; --$h$, 'op', 'eq', 'value', 1), 'DROP TABLE'),
  ('a hostile has_key',        jsonb_build_object('field', 'metadata', 'op', 'has_key', 'value', $h$'); DROP TABLE t; --$h$), 'DROP TABLE'),
  ('a key value',              '{"field": "key", "op": "eq", "value": "zqxv-marker-1"}', 'zqxv-marker-1'),
  ('a key prefix',             '{"field": "key", "op": "prefix", "value": "zqxv-marker-2"}', 'zqxv-marker-2'),
  ('a key contains',           '{"field": "key", "op": "contains", "value": "zqxv-marker-3"}', 'zqxv-marker-3'),
  ('an owner in list',         '{"field": "owner", "op": "in", "value": ["zqxv-marker-4"]}', 'zqxv-marker-4'),
  ('a timestamp',              '{"field": "updated_at", "op": "lt", "value": "2031-07-19T11:22:33Z"}', '2031'),
  ('a version',                '{"field": "version", "op": "eq", "value": 987654}', '987654'),
  ('a tag',                    '{"field": "tags", "op": "array_contains", "value": "zqxv-marker-5"}', 'zqxv-marker-5'),
  ('a metadata path',          '{"field": "metadata.zqxvpath.zqxvsub", "op": "eq", "value": 1}', 'zqxv'),
  ('a metadata path (neq)',    '{"field": "metadata.zqxvpath", "op": "neq", "value": "zzz"}', 'zqxv'),
  ('a metadata path (prefix)', '{"field": "metadata.zqxvpath", "op": "prefix", "value": "zqxw-marker-6"}', 'zqx'),
  ('a metadata path (exists)', '{"field": "metadata.zqxvpath.zqxvsub", "op": "exists"}', 'zqxv'),
  ('a metadata path with a digit segment', '{"field": "metadata.zqxvpath.3", "op": "gt", "value": 5}', 'zqxv'),
  ('a metadata object value',  '{"field": "metadata.o", "op": "contains", "value": {"zqxvkey": "zqxvval"}}', 'zqxv'),
  ('a has_key',                '{"field": "metadata", "op": "has_key", "value": "zqxvkey"}', 'zqxv'),
  ('values under not/or',      '{"not": {"or": [{"field": "metadata.zqxva", "op": "between", "value": ["zqxv1", "zqxv2"]}]}}', 'zqxv');

SELECT is(strpos(metastore.compile_filter(f), needle), 0,
          format('compile_filter(%s): the SQL does not contain %s', label, needle))
  FROM cf_text ORDER BY ord;
SELECT ok(metastore.compile_filter(f) ~ '\$[0-9]', format('compile_filter(%s): values are $n parameters', label))
  FROM cf_text WHERE ord <= 2 ORDER BY ord;
SELECT is(metastore.compile_filter('{"field": "key", "op": "eq", "value": "a"}'),
          metastore.compile_filter('{"field": "key", "op": "eq", "value": "zzz''; --"}'),
  'compile_filter: the value does not change the SQL text (key eq)');
SELECT is(metastore.compile_filter('{"field": "metadata.a", "op": "eq", "value": 1}'),
          metastore.compile_filter('{"field": "metadata.a", "op": "eq", "value": 2}'),
  'compile_filter: the value does not change the SQL text (metadata.a eq)');
SELECT is(metastore.compile_filter('{"field": "tags", "op": "in", "value": ["a", "b"]}'),
          metastore.compile_filter('{"field": "tags", "op": "in", "value": ["c", "d"]}'),
  'compile_filter: the value does not change the SQL text (tags in)');
CREATE ROLE ms_se_none NOLOGIN;
SELECT is(ms_test.try_as('ms_se_none', $$SELECT metastore.compile_filter('{"field": "key", "op": "eq", "value": "a"}')$$), 'ok',
  'compile_filter needs no role (a principal without grants calls it)');
SELECT is(ms_test.try_as('ms_se_none', $$SELECT metastore.compile_filter('{"field": "key", "op": "like", "value": "a"}')$$), '22023',
  'compile_filter without a role still rejects a bad filter with 22023');

SELECT * FROM finish();
ROLLBACK;
