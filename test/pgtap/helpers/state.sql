-- Shared by the records suites (\ir helpers/state.sql).

-- Everything a failed call could have touched, as one comparable string.
CREATE FUNCTION pg_temp.ms_state() RETURNS text LANGUAGE sql AS $$
  SELECT format('records=%s history=%s digest=%s',
                (SELECT count(*) FROM metastore.records),
                (SELECT count(*) FROM metastore.history),
                md5(coalesce((SELECT string_agg(r::text, '|' ORDER BY r.id) FROM metastore.records r), '')))
$$;

-- How many history rows a key has.
CREATE FUNCTION pg_temp.history_count(ns text, k text) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM metastore.history
   WHERE aggregate = 'record' AND namespace = ns AND entity_key = k
$$;
