-- REST routes of feature flags: seed 000's /api/v1/feature-flags (with the
-- shapes of seeds 001 and 002 where they do not collide) and the OpenFeature
-- Remote Evaluation Protocol (OFREP).  Every decision between colliding
-- shapes is listed in docs/rest-api.md, "Feature flags".

-- Request-body fields that are flag definition fields (the rest are columns).
CREATE FUNCTION metastore.http_flag_definition_fields()
RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT ARRAY['enabled', 'is_enabled', 'value_type', 'default_value', 'value', 'variants',
                   'strategies', 'dependencies', 'prerequisites', 'environments', 'tenants',
                   'environment_overrides', 'tenant_overrides', 'expires_at', 'rollout_percentage',
                   'target_users', 'rules', 'type', 'stale', 'impressionData', 'display_name',
                   'environment'] $$;
COMMENT ON FUNCTION metastore.http_flag_definition_fields() IS
  'The body fields of /api/v1/feature-flags that belong to the flag definition.';

-- The flag as REST shows it: columns, the definition, and the seeds' simple
-- fields where the definition has them (rollout_percentage, target_users).
CREATE FUNCTION metastore.http_flag_json(f metastore.flags)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'id', f.id, 'name', f.name, 'key', f.name, 'namespace', f.namespace,
           'description', f.description, 'tags', to_jsonb(f.tags),
           'enabled', coalesce((f.definition ->> 'enabled')::boolean, false),
           'is_enabled', coalesce((f.definition ->> 'enabled')::boolean, false),
           'value_type', coalesce(f.definition ->> 'value_type', 'boolean'),
           'default_value', f.definition -> 'default_value',
           'expires_at', f.definition -> 'expires_at',
           'display_name', f.definition -> 'display_name',
           'rollout_percentage', (SELECT (s -> 'parameters' ->> 'rollout')::numeric
                                    FROM jsonb_array_elements(coalesce(f.definition -> 'strategies', '[]')) s
                                   WHERE s ->> 'name' = 'flexibleRollout'
                                     AND coalesce(jsonb_array_length(s -> 'constraints'), 0) = 0
                                     AND (s -> 'parameters' ->> 'rollout') ~ '^[0-9]+(\.[0-9]+)?$'
                                   LIMIT 1),
           'target_users', (SELECT s -> 'constraints' -> 0 -> 'values'
                              FROM jsonb_array_elements(coalesce(f.definition -> 'strategies', '[]')) s
                             WHERE s ->> 'title' = 'target_users' LIMIT 1),
           'version', f.version, 'created_at', f.created_at, 'created_by', f.created_by,
           'updated_at', f.updated_at, 'updated_by', f.updated_by))
         || jsonb_build_object('definition', f.definition)
$$;
COMMENT ON FUNCTION metastore.http_flag_json(metastore.flags) IS
  'The REST representation of a flag.';

CREATE FUNCTION metastore.http_flag_reply(status integer, f metastore.flags)
RETURNS metastore.http_response
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT metastore.http_reply(status, metastore.http_flag_json(f),
           jsonb_build_object('ETag', '"' || f.version || '"')
           || CASE WHEN status = 201 THEN jsonb_build_object('Location', '/api/v1/feature-flags/' || f.id)
                   ELSE '{}' END)
$$;
COMMENT ON FUNCTION metastore.http_flag_reply(integer, metastore.flags) IS
  'A flag response with ETag (and Location on 201).';

-- {id}: digits are an id, anything else a name (seed 001 reads flags by name there).
CREATE FUNCTION metastore.http_flag_by_ref(req jsonb, param text DEFAULT 'id',
                                           include_deleted boolean DEFAULT false)
RETURNS metastore.flags
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ref text := req -> 'params' ->> param;
  f metastore.flags;
BEGIN
  IF ref ~ '^[0-9]{1,18}$' THEN
    SELECT * INTO f FROM metastore.flags fl
     WHERE fl.id = ref::bigint AND (include_deleted OR fl.deleted_at IS NULL);
  ELSIF include_deleted THEN
    SELECT * INTO f FROM metastore.flags fl WHERE fl.name = ref;
  ELSE
    f := metastore.get_flag(ref);
  END IF;
  IF f.id IS NULL THEN
    RAISE EXCEPTION 'feature flag "%" not found', ref USING ERRCODE = 'MS404';
  END IF;
  RETURN f;
END
$$;
COMMENT ON FUNCTION metastore.http_flag_by_ref(jsonb, text, boolean) IS
  'The flag a path parameter names (all digits = id, else name), live unless include_deleted; 404 when absent or unreadable (never 403).';

-- An explicitly requested namespace (?namespace= or X-Namespace), else NULL.
CREATE FUNCTION metastore.http_explicit_namespace(req jsonb)
RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(req -> 'query' ->> 'namespace', req -> 'headers' ->> 'x-namespace') $$;
COMMENT ON FUNCTION metastore.http_explicit_namespace(jsonb) IS
  'The namespace a request names (?namespace= or X-Namespace), or NULL.';

-- The definition a create or update body describes, merged onto `current`.
-- Simple fields (target_users, rules, rollout_percentage) replace the
-- strategies they made before; explicit strategies replace all of them.
-- Seeds 001/002's "environment" is the flag's home environment: kept as a
-- field of the definition (override layers are "environments").
CREATE FUNCTION metastore.http_flag_merge(current jsonb, b jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  patch jsonb := (SELECT coalesce(jsonb_object_agg(k, v), '{}') FROM jsonb_each(b) AS x(k, v)
                   WHERE k = ANY (metastore.http_flag_definition_fields()));
  base jsonb := coalesce(current, '{}');
  bad text;
BEGIN
  SELECT k INTO bad FROM jsonb_each(patch) AS x(k, v)
   WHERE jsonb_typeof(v) = 'null' AND k NOT IN ('default_value', 'value', 'expires_at', 'display_name')
   LIMIT 1;
  IF bad IS NOT NULL THEN
    RAISE EXCEPTION 'field "%" must not be null', bad USING ERRCODE = '22023';
  END IF;
  IF patch ? 'strategies' THEN
    base := base - 'strategies';
  ELSE
    IF patch ? 'target_users' OR patch ? 'rules' OR patch ? 'rollout_percentage' THEN
      base := base || jsonb_build_object('strategies', (
        SELECT coalesce(jsonb_agg(s ORDER BY o), '[]')
          FROM jsonb_array_elements(CASE jsonb_typeof(base -> 'strategies') WHEN 'array' THEN base -> 'strategies'
                                         ELSE '[]' END) WITH ORDINALITY AS x(s, o)
         WHERE NOT ((patch ? 'target_users' AND s ->> 'title' = 'target_users')
                 OR (patch ? 'rules' AND (s ->> 'title' = 'rule' OR s ->> 'title' LIKE 'rules[%'))
                 OR (patch ? 'rollout_percentage' AND s ->> 'title' = 'rollout_percentage'))));
    END IF;
  END IF;
  IF patch ? 'is_enabled' THEN
    base := base - 'enabled';
  END IF;
  IF patch ? 'environment_overrides' THEN
    base := base - 'environments';
  END IF;
  IF patch ? 'tenant_overrides' THEN
    base := base - 'tenants';
  END IF;
  IF patch ? 'prerequisites' THEN
    base := base - 'dependencies';
  END IF;
  RETURN base || patch;
END
$$;
COMMENT ON FUNCTION metastore.http_flag_merge(jsonb, jsonb) IS
  'Internal: a REST body''s definition fields applied to a stored definition (docs/rest-api.md).';

-- POST /api/v1/feature-flags: create (409 when the name exists)
CREATE FUNCTION metastore.http_flags_create(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req,
    metastore.http_flag_definition_fields()
    || ARRAY['name', 'key', 'flag_key', 'flag_name', 'description', 'tags', 'namespace'],
    '{}');
  name text := coalesce(metastore.http_text(b, 'name'), metastore.http_text(b, 'key'),
                        metastore.http_text(b, 'flag_key'));
  f metastore.flags;
  existed boolean;
BEGIN
  IF name IS NULL THEN
    -- seed 002 names flags by flag_key; flag_name is then its display name
    name := metastore.http_text(b, 'flag_name');
  ELSIF b ? 'flag_name' THEN
    b := b || jsonb_build_object('display_name', b -> 'flag_name');
  END IF;
  IF name IS NULL THEN
    RAISE EXCEPTION 'field "name" is required' USING ERRCODE = '22023',
      HINT = 'Seed 002''s flag_key is accepted too.';
  END IF;
  existed := (metastore.get_flag(name)).id IS NOT NULL;
  -- create only; an identical repeat answers 200 with the flag, as POST /records does
  f := metastore.put_flag(
         name => name,
         definition => metastore.http_flag_merge(NULL, b),
         expected_version => 0,
         namespace => coalesce(metastore.http_text(b, 'namespace'), metastore.http_explicit_namespace(req)),
         description => metastore.http_text(b, 'description'),
         tags => CASE WHEN b ? 'tags' THEN metastore.http_tags(b) END);
  RETURN metastore.http_flag_reply(CASE WHEN existed THEN 200 ELSE 201 END, f);
END
$$;

-- GET /api/v1/feature-flags: list (?namespace, prefix, environment, limit, offset)
CREATE FUNCTION metastore.http_flags_list(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q jsonb := coalesce(req -> 'query', '{}');
  lim integer;
  off integer;
  env text := q ->> 'environment';
  unknown text;
BEGIN
  SELECT k INTO unknown FROM jsonb_object_keys(q) k
   WHERE k NOT IN ('namespace', 'prefix', 'environment', 'limit', 'offset') LIMIT 1;
  IF unknown IS NOT NULL THEN
    RAISE EXCEPTION 'unknown query parameter "%"', unknown USING ERRCODE = '22023',
      DETAIL = 'Allowed: namespace, prefix, environment, limit, offset.';
  END IF;
  IF coalesce(q ->> 'limit', '100') !~ '^[0-9]{1,4}$' OR coalesce(q ->> 'offset', '0') !~ '^[0-9]{1,9}$' THEN
    RAISE EXCEPTION 'limit and offset must be whole numbers' USING ERRCODE = '22023';
  END IF;
  lim := coalesce(q ->> 'limit', '100')::integer;
  off := coalesce(q ->> 'offset', '0')::integer;
  RETURN metastore.http_reply(200, jsonb_build_object(
    'items', coalesce((SELECT jsonb_agg(metastore.http_flag_json(f)
                                        || CASE WHEN env IS NULL THEN '{}' ELSE jsonb_build_object(
                                             'environment', env,
                                             'enabled', coalesce((f.definition -> 'environments' -> env ->> 'enabled')::boolean,
                                                                 (f.definition ->> 'enabled')::boolean, false)) END
                                        ORDER BY f.name COLLATE "C")
                         FROM metastore.list_flags(q ->> 'namespace', q ->> 'prefix', lim, off) f
                        WHERE env IS NULL OR f.definition ->> 'environment' = env
                           OR f.definition -> 'environments' ? env
                           OR NOT (f.definition ? 'environment')), '[]'),
    'limit', lim, 'offset', off));
END
$$;

-- A read: 200 with ETag, or 304 when If-None-Match names the current version.
CREATE FUNCTION metastore.http_flag_read_reply(req jsonb, f metastore.flags)
RETURNS metastore.http_response
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE WHEN btrim(req -> 'headers' ->> 'if-none-match') IN ('"' || f.version || '"', 'W/"' || f.version || '"', '*')
              THEN metastore.http_reply(304, NULL, jsonb_build_object('ETag', '"' || f.version || '"'))
              ELSE metastore.http_flag_reply(200, f) END
$$;
COMMENT ON FUNCTION metastore.http_flag_read_reply(jsonb, metastore.flags) IS
  'A flag read response: 304 when If-None-Match names its version.';

CREATE FUNCTION metastore.http_flags_get(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT metastore.http_flag_read_reply(req, metastore.http_flag_by_ref(req)) $$;

CREATE FUNCTION metastore.http_flags_get_by_name(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$ SELECT metastore.http_flag_read_reply(req, metastore.http_flag_by_ref(req, 'name')) $$;

-- PUT /api/v1/feature-flags/{id}: the fields given replace, the others are kept
CREATE FUNCTION metastore.http_flags_update(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req,
    metastore.http_flag_definition_fields() || ARRAY['description', 'tags', 'namespace', 'flag_name'], '{}');
  f metastore.flags := metastore.http_flag_by_ref(req);
BEGIN
  IF b ? 'flag_name' THEN
    b := (b - 'flag_name') || jsonb_build_object('display_name', b -> 'flag_name');
  END IF;
  RETURN metastore.http_flag_reply(200, metastore.put_flag(
    name => f.name,
    definition => metastore.http_flag_merge(f.definition, b),
    expected_version => coalesce(metastore.http_expected_version(req), f.version),
    namespace => metastore.http_text(b, 'namespace'),
    description => CASE WHEN b ? 'description' THEN coalesce(metastore.http_text(b, 'description'), '') END,
    tags => CASE WHEN b ? 'tags' THEN metastore.http_tags(b) END));
END
$$;

CREATE FUNCTION metastore.http_flags_delete(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.flags := metastore.http_flag_by_ref(req);
BEGIN
  PERFORM metastore.delete_flag(f.name, metastore.http_expected_version(req));
  RETURN metastore.http_reply(204);
END
$$;

-- POST .../{id}/enable and /disable (?environment= limits it to one environment)
CREATE FUNCTION metastore.http_flags_switch(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF coalesce(jsonb_typeof(req -> 'body'), 'null') <> 'null' THEN
    PERFORM metastore.http_body(req, '{}');   -- no body fields: anything given is refused
  END IF;
  RETURN metastore.http_flag_reply(200, metastore.set_flag_enabled(
           (metastore.http_flag_by_ref(req)).name, req ->> 'path' LIKE '%/enable',
           req -> 'query' ->> 'environment', metastore.http_expected_version(req)));
END
$$;

-- PUT .../toggle/{key} (seed 002): flip the kill switch
CREATE FUNCTION metastore.http_flags_toggle(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.flags := metastore.http_flag_by_ref(req, 'key');
BEGIN
  RETURN metastore.http_flag_reply(200, metastore.set_flag_enabled(
    f.name, NOT coalesce((f.definition ->> 'enabled')::boolean, false), NULL,
    coalesce(metastore.http_expected_version(req), f.version)));
END
$$;

-- The percentage of a rollout request: body {percentage | rollout_percentage} or ?percentage=
CREATE FUNCTION metastore.http_rollout_percentage(req jsonb)
RETURNS numeric
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := req -> 'body';
  p text;
BEGIN
  IF b IS NOT NULL AND jsonb_typeof(b) = 'object' THEN
    PERFORM metastore.http_body(req, '{percentage,rollout_percentage}');
    p := coalesce(b ->> 'percentage', b ->> 'rollout_percentage');
  END IF;
  p := coalesce(p, req -> 'query' ->> 'percentage');
  IF p IS NULL OR p !~ '^\s*[0-9]{1,3}(\.[0-9]+)?\s*$' THEN
    RAISE EXCEPTION 'percentage must be a number from 0 to 100' USING ERRCODE = '22023',
      DETAIL = format('%s was given.', coalesce(p, 'nothing'));
  END IF;
  RETURN p::numeric;
END
$$;
COMMENT ON FUNCTION metastore.http_rollout_percentage(jsonb) IS
  'Internal: the percentage a rollout request asks for.';

CREATE FUNCTION metastore.http_flags_rollout(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT metastore.http_flag_reply(200, metastore.set_flag_rollout(
           (metastore.http_flag_by_ref(req, CASE WHEN req -> 'params' ? 'key' THEN 'key' ELSE 'id' END)).name,
           metastore.http_rollout_percentage(req), req -> 'query' ->> 'environment',
           metastore.http_expected_version(req)))
$$;

CREATE FUNCTION metastore.http_flags_versions(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f metastore.flags := metastore.http_flag_by_ref(req, 'id', true);
BEGIN
  RETURN metastore.http_reply(200, jsonb_build_object('id', f.id, 'name', f.name, 'items',
    (SELECT jsonb_agg(to_jsonb(h) ORDER BY h.version) FROM metastore.flag_history(f.name) h)));
END
$$;

CREATE FUNCTION metastore.http_flags_rollback(req jsonb)
RETURNS metastore.http_response
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT metastore.http_flag_reply(200, metastore.rollback_flag(
           (metastore.http_flag_by_ref(req, 'id', true)).name, metastore.http_int_param(req, 'version')::integer,
           metastore.http_expected_version(req)))
$$;

-- The evaluation context of a seed-style request: "context" plus the seeds'
-- top-level user_id (seed 001, and seed 002's ?user_id=).
CREATE FUNCTION metastore.http_eval_context(b jsonb)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  c jsonb := coalesce(b -> 'context', '{}');
BEGIN
  IF jsonb_typeof(c) <> 'object' THEN
    RAISE EXCEPTION 'field "context" must be a JSON object' USING ERRCODE = '22023';
  END IF;
  IF b ? 'user_id' AND NOT c ? 'userId' AND NOT c ? 'user_id' THEN
    c := c || jsonb_build_object('userId', b ->> 'user_id');
  END IF;
  RETURN c;
END
$$;
COMMENT ON FUNCTION metastore.http_eval_context(jsonb) IS
  'Internal: the evaluation context of a REST evaluation request.';

-- POST /api/v1/feature-flags/evaluate: seed 000 {name, context, tenant_id, environment}
-- and seed 001 {flag_name, environment, user_id}
CREATE FUNCTION metastore.http_flags_evaluate(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{name,flag_name,key,context,tenant_id,environment,user_id,expected_type}');
  name text := coalesce(metastore.http_text(b, 'name'), metastore.http_text(b, 'flag_name'),
                        metastore.http_text(b, 'key'));
  ctx jsonb := metastore.http_eval_context(b);
  env text := coalesce(metastore.http_text(b, 'environment'), ctx ->> 'environment');
  tenant text := coalesce(metastore.http_text(b, 'tenant_id'), ctx ->> 'tenantId', ctx ->> 'tenant_id');
  r jsonb;
BEGIN
  IF name IS NULL THEN
    RAISE EXCEPTION 'field "name" is required' USING ERRCODE = '22023',
      HINT = 'Seed 001''s flag_name is accepted too.';
  END IF;
  r := metastore.evaluate(name, ctx, tenant, env,
                          metastore.http_text(b, 'expected_type'));
  RETURN metastore.http_reply(CASE WHEN r ->> 'error_code' = 'FLAG_NOT_FOUND' THEN 404 ELSE 200 END,
    r || jsonb_build_object('name', name, 'flag_name', name, 'environment', env, 'tenant_id', tenant));
END
$$;

-- POST /api/v1/feature-flags/evaluate/bulk: {names?, context, tenant_id, environment}
CREATE FUNCTION metastore.http_flags_evaluate_bulk(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, '{names,flag_names,keys,context,tenant_id,environment,user_id}');
  names jsonb := coalesce(b -> 'names', b -> 'flag_names', b -> 'keys');
  ctx jsonb := metastore.http_eval_context(b);
  env text := coalesce(metastore.http_text(b, 'environment'), ctx ->> 'environment');
  tenant text := coalesce(metastore.http_text(b, 'tenant_id'), ctx ->> 'tenantId', ctx ->> 'tenant_id');
  results jsonb;
BEGIN
  IF names IS NOT NULL AND (jsonb_typeof(names) <> 'array' OR EXISTS (
       SELECT 1 FROM jsonb_array_elements(names) e WHERE jsonb_typeof(e) <> 'string')) THEN
    RAISE EXCEPTION 'field "names" must be an array of flag names' USING ERRCODE = '22023';
  END IF;
  IF names IS NOT NULL AND jsonb_array_length(names) > 1000 THEN
    RAISE EXCEPTION 'at most 1000 flags per bulk evaluation' USING ERRCODE = '54000';
  END IF;
  IF names IS NULL THEN
    results := metastore.evaluate_all(ctx, tenant, env);
  ELSE
    SELECT coalesce(jsonb_agg(metastore.evaluate(n, ctx, tenant, env) ORDER BY o), '[]') INTO results
      FROM jsonb_array_elements_text(names) WITH ORDINALITY AS x(n, o);
  END IF;
  RETURN metastore.http_reply(200, jsonb_build_object(
    'results', results,
    'flags', (SELECT coalesce(jsonb_object_agg(r ->> 'key', r), '{}') FROM jsonb_array_elements(results) r),
    'environment', env, 'tenant_id', tenant));
END
$$;

-- A context from a query string (seed 002): ?user_id= is userId; environment
-- and tenant_id pick layers and are not context fields.
CREATE FUNCTION metastore.http_query_context(q jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$
  SELECT coalesce(jsonb_object_agg(CASE k WHEN 'user_id' THEN 'userId' ELSE k END, v), '{}')
    FROM jsonb_each(coalesce(q, '{}')) AS x(k, v) WHERE k NOT IN ('environment', 'tenant_id', 'namespace')
$$;
COMMENT ON FUNCTION metastore.http_query_context(jsonb) IS
  'Internal: the evaluation context of a query string.';

-- GET /api/v1/feature-flags/evaluate/{key}?user_id=&environment=&tenant_id= (seed 002)
CREATE FUNCTION metastore.http_flags_evaluate_get(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q jsonb := coalesce(req -> 'query', '{}');
  ctx jsonb := metastore.http_query_context(q);
  r jsonb := metastore.evaluate(req -> 'params' ->> 'key', ctx, q ->> 'tenant_id', q ->> 'environment');
BEGIN
  RETURN metastore.http_reply(CASE WHEN r ->> 'error_code' = 'FLAG_NOT_FOUND' THEN 404 ELSE 200 END, r);
END
$$;

-- GET /api/v1/feature-flags/check/{key}?user_id= (seed 002): {key, enabled}
CREATE FUNCTION metastore.http_flags_check(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r metastore.http_response := metastore.http_flags_evaluate_get(req);
BEGIN
  RETURN metastore.http_reply(r.status, jsonb_build_object('key', r.body ->> 'key',
                                                           'enabled', (r.body ->> 'enabled')::boolean));
END
$$;

-- GET /api/v1/feature-flags/bulk (seed 002): {"flags": {name: value}} for the caller's context
CREATE FUNCTION metastore.http_flags_bulk_values(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  q jsonb := coalesce(req -> 'query', '{}');
  ctx jsonb := metastore.http_query_context(q);
BEGIN
  RETURN metastore.http_reply(200, jsonb_build_object('flags',
    (SELECT coalesce(jsonb_object_agg(r ->> 'key', r -> 'value'), '{}')
       FROM jsonb_array_elements(metastore.evaluate_all(ctx, q ->> 'tenant_id', q ->> 'environment')) r)));
END
$$;

-- POST /api/v1/feature-flags/import: an Unleash client API document
CREATE FUNCTION metastore.http_flags_import(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF jsonb_typeof(req -> 'body') IS DISTINCT FROM 'object' THEN
    RAISE EXCEPTION 'the request body must be an Unleash client API document' USING ERRCODE = '22023';
  END IF;
  RETURN metastore.http_reply(200, metastore.import_unleash(req -> 'body',
                                     metastore.http_explicit_namespace(req),
                                     coalesce(req -> 'query' ->> 'prune', 'false') = 'true'));
END
$$;

-- ---- OFREP: OpenFeature Remote Evaluation Protocol ----

-- The OFREP shape of one evaluation: success {key, value, reason, variant,
-- metadata} or error {key, errorCode, errorDetails}.
-- STABLE, not IMMUTABLE: jsonb_build_object is STABLE, and a SQL function
-- that claims more than its body is not inlined but parsed on every call.
CREATE FUNCTION metastore.http_ofrep_result(r jsonb)
RETURNS jsonb
LANGUAGE sql STABLE PARALLEL SAFE
AS $$
  SELECT CASE WHEN r ? 'error_code' AND r ->> 'error_code' <> 'TYPE_MISMATCH' THEN
           jsonb_build_object('key', r -> 'key', 'errorCode', r -> 'error_code',
                              'errorDetails', r -> 'error_message')
         ELSE jsonb_strip_nulls(jsonb_build_object(
           'key', r -> 'key', 'value', r -> 'value', 'reason', r -> 'reason', 'variant', r -> 'variant',
           'metadata', jsonb_strip_nulls(jsonb_build_object('version', r -> 'version',
                                                            'valueType', r -> 'value_type',
                                                            'enabled', r -> 'enabled',
                                                            'payload', r -> 'payload'))))
         END
$$;
COMMENT ON FUNCTION metastore.http_ofrep_result(jsonb) IS
  'An evaluate() result in OFREP''s shape.';

-- The OFREP request context: body {"context": {...}}; targetingKey acts as
-- userId, "environment" and "tenantId" also pick override layers.
CREATE FUNCTION metastore.http_ofrep_context(req jsonb)
RETURNS jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE
AS $$ SELECT coalesce(req -> 'body' -> 'context', '{}') $$;
COMMENT ON FUNCTION metastore.http_ofrep_context(jsonb) IS 'The context of an OFREP request.';

-- POST /ofrep/v1/evaluate/flags/{key}
CREATE FUNCTION metastore.http_ofrep_flag(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  key text := req -> 'params' ->> 'key';
  ctx jsonb := metastore.http_ofrep_context(req);
  r jsonb;
BEGIN
  IF coalesce(jsonb_typeof(req -> 'body'), 'null') <> 'null' AND (jsonb_typeof(req -> 'body') <> 'object'
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(req -> 'body') k WHERE k <> 'context')) THEN
    RETURN metastore.http_reply(400, jsonb_build_object('key', key, 'errorCode', 'PARSE_ERROR',
      'errorDetails', 'the body must be {"context": {...}}'));
  END IF;
  IF jsonb_typeof(ctx) <> 'object' THEN
    RETURN metastore.http_reply(400, jsonb_build_object('key', key, 'errorCode', 'INVALID_CONTEXT',
      'errorDetails', 'context must be a JSON object'));
  END IF;
  r := metastore.evaluate(key, ctx, ctx ->> 'tenantId', ctx ->> 'environment');
  IF r ->> 'error_code' = 'FLAG_NOT_FOUND' THEN
    RETURN metastore.http_reply(404, metastore.http_ofrep_result(r));
  END IF;
  RETURN metastore.http_reply(200, metastore.http_ofrep_result(r));
END
$$;

-- POST /ofrep/v1/evaluate/flags: every readable flag; ETag / If-None-Match -> 304
CREATE FUNCTION metastore.http_ofrep_bulk(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  ctx jsonb := metastore.http_ofrep_context(req);
  body jsonb;
  etag text;
  inm text := req -> 'headers' ->> 'if-none-match';
BEGIN
  IF coalesce(jsonb_typeof(req -> 'body'), 'null') <> 'null' AND (jsonb_typeof(req -> 'body') <> 'object'
       OR EXISTS (SELECT 1 FROM jsonb_object_keys(req -> 'body') k WHERE k <> 'context')) THEN
    RETURN metastore.http_reply(400, jsonb_build_object('errorCode', 'PARSE_ERROR',
      'errorDetails', 'the body must be {"context": {...}}'));
  END IF;
  IF jsonb_typeof(ctx) <> 'object' THEN
    RETURN metastore.http_reply(400, jsonb_build_object('errorCode', 'INVALID_CONTEXT',
      'errorDetails', 'context must be a JSON object'));
  END IF;
  body := jsonb_build_object('flags', (
    SELECT coalesce(jsonb_agg(metastore.http_ofrep_result(r) ORDER BY o), '[]')
      FROM jsonb_array_elements(metastore.evaluate_all(ctx, ctx ->> 'tenantId', ctx ->> 'environment'))
           WITH ORDINALITY AS x(r, o)));
  etag := '"' || md5(body::text) || '"';
  IF inm IS NOT NULL AND (btrim(inm) = '*' OR etag = ANY (
       SELECT btrim(regexp_replace(btrim(t), '^W/', '')) FROM unnest(string_to_array(inm, ',')) t)) THEN
    RETURN metastore.http_reply(304, NULL, jsonb_build_object('ETag', etag));
  END IF;
  RETURN metastore.http_reply(200, body, jsonb_build_object('ETag', etag));
END
$$;

COMMENT ON FUNCTION metastore.http_flags_create(jsonb) IS 'POST /api/v1/feature-flags';
COMMENT ON FUNCTION metastore.http_flags_list(jsonb) IS 'GET /api/v1/feature-flags';
COMMENT ON FUNCTION metastore.http_flags_get(jsonb) IS 'GET /api/v1/feature-flags/{id}';
COMMENT ON FUNCTION metastore.http_flags_get_by_name(jsonb) IS 'GET /api/v1/feature-flags/name/{name} and /key/{key}';
COMMENT ON FUNCTION metastore.http_flags_update(jsonb) IS 'PUT /api/v1/feature-flags/{id}';
COMMENT ON FUNCTION metastore.http_flags_delete(jsonb) IS 'DELETE /api/v1/feature-flags/{id}';
COMMENT ON FUNCTION metastore.http_flags_switch(jsonb) IS 'POST /api/v1/feature-flags/{id}/enable and /disable';
COMMENT ON FUNCTION metastore.http_flags_toggle(jsonb) IS 'PUT /api/v1/feature-flags/toggle/{key}';
COMMENT ON FUNCTION metastore.http_flags_rollout(jsonb) IS 'POST /api/v1/feature-flags/{id}/rollout and PUT /rollout/{key}';
COMMENT ON FUNCTION metastore.http_flags_versions(jsonb) IS 'GET /api/v1/feature-flags/{id}/versions';
COMMENT ON FUNCTION metastore.http_flags_rollback(jsonb) IS 'POST /api/v1/feature-flags/{id}/rollback/{version}';
COMMENT ON FUNCTION metastore.http_flags_evaluate(jsonb) IS 'POST /api/v1/feature-flags/evaluate';
COMMENT ON FUNCTION metastore.http_flags_evaluate_bulk(jsonb) IS 'POST /api/v1/feature-flags/evaluate/bulk';
COMMENT ON FUNCTION metastore.http_flags_evaluate_get(jsonb) IS 'GET /api/v1/feature-flags/evaluate/{key}';
COMMENT ON FUNCTION metastore.http_flags_check(jsonb) IS 'GET /api/v1/feature-flags/check/{key}';
COMMENT ON FUNCTION metastore.http_flags_bulk_values(jsonb) IS 'GET /api/v1/feature-flags/bulk';
COMMENT ON FUNCTION metastore.http_flags_import(jsonb) IS 'POST /api/v1/feature-flags/import';
COMMENT ON FUNCTION metastore.http_ofrep_flag(jsonb) IS 'POST /ofrep/v1/evaluate/flags/{key}';
COMMENT ON FUNCTION metastore.http_ofrep_bulk(jsonb) IS 'POST /ofrep/v1/evaluate/flags';

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary) VALUES
  ('POST',   '/api/v1/feature-flags',                        'metastore.http_flags_create(jsonb)',        true, 'createFlag',        'feature-flags', 'Create a feature flag (409 when the name exists)'),
  ('GET',    '/api/v1/feature-flags',                        'metastore.http_flags_list(jsonb)',          true, 'listFlags',         'feature-flags', 'List flags (?namespace, prefix, environment, limit, offset)'),
  ('GET',    '/api/v1/feature-flags/{id}',                   'metastore.http_flags_get(jsonb)',           true, 'getFlag',           'feature-flags', 'Read a flag by id (or by name when not all digits)'),
  ('GET',    '/api/v1/feature-flags/name/{name}',            'metastore.http_flags_get_by_name(jsonb)',   true, 'getFlagByName',     'feature-flags', 'Read a flag by name'),
  ('GET',    '/api/v1/feature-flags/key/{name}',             'metastore.http_flags_get_by_name(jsonb)',   true, 'getFlagByKey',      'feature-flags', 'Read a flag by key (seed 002; the key is the name)'),
  ('PUT',    '/api/v1/feature-flags/{id}',                   'metastore.http_flags_update(jsonb)',        true, 'updateFlag',        'feature-flags', 'Update the given fields of a flag (If-Match honoured)'),
  ('DELETE', '/api/v1/feature-flags/{id}',                   'metastore.http_flags_delete(jsonb)',        true, 'deleteFlag',        'feature-flags', 'Soft-delete a flag'),
  ('POST',   '/api/v1/feature-flags/{id}/enable',            'metastore.http_flags_switch(jsonb)',        true, 'enableFlag',        'feature-flags', 'Turn a flag on (?environment= for one environment)'),
  ('POST',   '/api/v1/feature-flags/{id}/disable',           'metastore.http_flags_switch(jsonb)',       true, 'disableFlag',       'feature-flags', 'Turn a flag off (the kill switch)'),
  ('POST',   '/api/v1/feature-flags/{id}/rollout',           'metastore.http_flags_rollout(jsonb)',       true, 'rolloutFlag',       'feature-flags', 'Set the rollout percentage ({percentage} or ?percentage=)'),
  ('GET',    '/api/v1/feature-flags/{id}/versions',          'metastore.http_flags_versions(jsonb)',      true, 'flagVersions',      'feature-flags', 'Version history of a flag'),
  ('POST',   '/api/v1/feature-flags/{id}/rollback/{version}', 'metastore.http_flags_rollback(jsonb)',     true, 'rollbackFlag',      'feature-flags', 'Roll a flag back to a version'),
  ('POST',   '/api/v1/feature-flags/evaluate',               'metastore.http_flags_evaluate(jsonb)',      true, 'evaluateFlag',      'feature-flags', 'Evaluate one flag for a context'),
  ('POST',   '/api/v1/feature-flags/evaluate/bulk',          'metastore.http_flags_evaluate_bulk(jsonb)', true, 'evaluateFlagsBulk', 'feature-flags', 'Evaluate several (or all) flags for a context'),
  ('GET',    '/api/v1/feature-flags/evaluate/{key}',         'metastore.http_flags_evaluate_get(jsonb)',  true, 'evaluateFlagGet',   'feature-flags', 'Evaluate one flag, context from the query string (seed 002)'),
  ('GET',    '/api/v1/feature-flags/check/{key}',            'metastore.http_flags_check(jsonb)',         true, 'checkFlag',         'feature-flags', 'Is the flag on for ?user_id= (seed 002)'),
  ('PUT',    '/api/v1/feature-flags/toggle/{key}',           'metastore.http_flags_toggle(jsonb)',        true, 'toggleFlag',        'feature-flags', 'Flip a flag''s kill switch (seed 002)'),
  ('PUT',    '/api/v1/feature-flags/rollout/{key}',          'metastore.http_flags_rollout(jsonb)',       true, 'rolloutFlagByKey',  'feature-flags', 'Set the rollout percentage, ?percentage= (seed 002)'),
  ('GET',    '/api/v1/feature-flags/bulk',                   'metastore.http_flags_bulk_values(jsonb)',   true, 'flagValues',        'feature-flags', 'Every flag''s value for the query string''s context (seed 002)'),
  ('POST',   '/api/v1/feature-flags/import',                 'metastore.http_flags_import(jsonb)',        true, 'importUnleash',     'feature-flags', 'Import an Unleash client API document (?prune=true deletes flags it does not name)'),
  ('POST',   '/ofrep/v1/evaluate/flags/{key}',               'metastore.http_ofrep_flag(jsonb)',          true, 'ofrepEvaluateFlag', 'ofrep',         'OpenFeature Remote Evaluation Protocol: evaluate one flag'),
  ('POST',   '/ofrep/v1/evaluate/flags',                     'metastore.http_ofrep_bulk(jsonb)',          true, 'ofrepEvaluateFlags', 'ofrep',        'OpenFeature Remote Evaluation Protocol: evaluate every flag (ETag, If-None-Match -> 304)');
