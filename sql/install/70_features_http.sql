-- REST routes of seed 004 (RPC-style POSTs). A body's user_role is checked
-- against the authenticated key's grants: a body cannot claim a role the
-- key does not hold (403); the lifecycle checks the role each action needs.

-- The body of a feature request: known fields only, and user_role (if any)
-- held by the key on namespace "features".
CREATE FUNCTION metastore.http_feature_body(req jsonb, allowed text[], required text[] DEFAULT '{}')
RETURNS jsonb
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_body(req, allowed || ARRAY['user_role'], required);
  r text := metastore.http_text(b, 'user_role');
BEGIN
  IF r IS NOT NULL THEN
    IF r NOT IN ('developer', 'approver', 'external_testing_system', 'reader', 'writer', 'admin') THEN
      RAISE EXCEPTION 'unknown user_role "%"', r USING ERRCODE = '22023';
    END IF;
    IF NOT metastore.has_role('features', r) THEN
      RAISE EXCEPTION 'user_role "%" is not held by this API key', r USING ERRCODE = '42501',
        DETAIL = format('Principal "%s" does not hold role %s on namespace "features".', metastore.current_principal(), r),
        HINT = 'Roles come from the key''s grants (metastore.grant), not from the request body.';
    END IF;
  END IF;
  RETURN b;
END
$$;
COMMENT ON FUNCTION metastore.http_feature_body(jsonb, text[], text[]) IS
  'Internal: a seed 004 request body, with user_role checked against the key''s grants.';

CREATE FUNCTION metastore.http_features_reply(message text, metadata jsonb, status integer DEFAULT 200)
RETURNS metastore.http_response
LANGUAGE sql IMMUTABLE
AS $$ SELECT metastore.http_reply(status, jsonb_build_object('message', message, 'metadata', metadata)) $$;
COMMENT ON FUNCTION metastore.http_features_reply(text, jsonb, integer) IS
  'Internal: seed 004''s response shape {message, metadata}.';

CREATE FUNCTION metastore.http_features_create(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_feature_body(req,
    '{feature_name,feature_type,feature_data_type,query,description,created_by}',
    '{feature_name,feature_type,feature_data_type,query}');
BEGIN
  RETURN metastore.http_features_reply('Feature created successfully', metastore.create_feature(
    metastore.http_text(b, 'feature_name'), metastore.http_text(b, 'feature_type'),
    metastore.http_text(b, 'feature_data_type'), metastore.http_text(b, 'query'),
    metastore.http_text(b, 'description'), metastore.http_text(b, 'created_by')), 201);
END
$$;

CREATE FUNCTION metastore.http_features_get(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  name text := req -> 'params' ->> 'name';
  b jsonb;
BEGIN
  IF name IS NULL THEN
    b := metastore.http_feature_body(req, '{feature_name}', '{feature_name}');
    name := metastore.http_text(b, 'feature_name');
  END IF;
  RETURN metastore.http_features_reply('Feature retrieved successfully', metastore.get_feature(name));
END
$$;

CREATE FUNCTION metastore.http_features_list(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  f jsonb := CASE WHEN req ->> 'method' = 'POST' AND jsonb_typeof(req -> 'body') = 'object'
                  THEN metastore.http_feature_body(req, '{status,feature_type,created_by}')
                  ELSE coalesce(req -> 'query', '{}') - 'namespace' END;
  items jsonb;
BEGIN
  IF EXISTS (SELECT 1 FROM jsonb_object_keys(f) k WHERE k NOT IN ('status', 'feature_type', 'created_by', 'user_role')) THEN
    RAISE EXCEPTION 'unknown filter; allowed: status, feature_type, created_by' USING ERRCODE = '22023';
  END IF;
  IF req ->> 'method' = 'GET' AND f ? 'user_role' THEN
    -- the same rule as in bodies: a query cannot claim a role the key does not hold
    PERFORM metastore.http_feature_body(jsonb_build_object('body', jsonb_build_object('user_role', f -> 'user_role')), '{}');
  END IF;
  SELECT coalesce(jsonb_agg(j), '[]') INTO items
    FROM metastore.list_features(f ->> 'status', f ->> 'feature_type', f ->> 'created_by') j;
  RETURN metastore.http_reply(200, jsonb_build_object('features', items, 'total', jsonb_array_length(items)));
END
$$;

CREATE FUNCTION metastore.http_features_deployed(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  items jsonb;
BEGIN
  SELECT coalesce(jsonb_agg(j), '[]') INTO items FROM metastore.list_features('DEPLOYED') j;
  RETURN metastore.http_reply(200, jsonb_build_object('features', items, 'total', jsonb_array_length(items)));
END
$$;

CREATE FUNCTION metastore.http_features_available(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  items jsonb;
BEGIN
  SELECT coalesce(jsonb_agg(j ->> 'feature_name'), '[]') INTO items FROM metastore.list_features('DEPLOYED') j;
  RETURN metastore.http_reply(200, jsonb_build_object('available_features', items, 'total', jsonb_array_length(items)));
END
$$;

CREATE FUNCTION metastore.http_features_values(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_feature_body(req, '{features,entities,event_timestamp}', '{features,entities}');
BEGIN
  IF jsonb_typeof(b -> 'features') <> 'array' OR EXISTS (
       SELECT 1 FROM jsonb_array_elements(b -> 'features') e WHERE jsonb_typeof(e) <> 'string') THEN
    RAISE EXCEPTION 'field "features" must be an array of feature names' USING ERRCODE = '22023';
  END IF;
  IF b ? 'event_timestamp' AND (b ->> 'event_timestamp') !~ '^[0-9]{1,15}$' THEN
    RAISE EXCEPTION 'field "event_timestamp" must be epoch milliseconds' USING ERRCODE = '22023';
  END IF;
  RETURN metastore.http_reply(200, metastore.feature_values(
    ARRAY(SELECT jsonb_array_elements_text(b -> 'features')), b -> 'entities', (b ->> 'event_timestamp')::bigint));
END
$$;

CREATE FUNCTION metastore.http_features_update(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_feature_body(req,
    '{feature_name,description,query,feature_type,feature_data_type,last_updated_by}', '{feature_name}');
BEGIN
  RETURN metastore.http_features_reply('Feature updated successfully', metastore.update_feature(
    metastore.http_text(b, 'feature_name'), metastore.http_text(b, 'description'), metastore.http_text(b, 'query'),
    metastore.http_text(b, 'feature_type'), metastore.http_text(b, 'feature_data_type'),
    metastore.http_text(b, 'last_updated_by')));
END
$$;

CREATE FUNCTION metastore.http_features_delete(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  b jsonb := metastore.http_feature_body(req, '{feature_name,deleted_by,deletion_reason}', '{feature_name,deletion_reason}');
BEGIN
  RETURN metastore.http_features_reply('Feature deleted successfully', metastore.delete_feature(
    metastore.http_text(b, 'feature_name'), metastore.http_text(b, 'deletion_reason'),
    metastore.http_text(b, 'deleted_by')));
END
$$;

-- The workflow routes: one handler, the action named by the path.
CREATE FUNCTION metastore.http_features_workflow(req jsonb)
RETURNS metastore.http_response
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  route text := substring(req ->> 'path' from '^/([a-z_]+)_feature_metadata$');
  b jsonb;
  action text;
  actor text;
  payload jsonb := '{}';
  result jsonb;
BEGIN
  CASE route
  WHEN 'ready_test' THEN
    b := metastore.http_feature_body(req, '{feature_name,submitted_by}', '{feature_name}');
    action := 'ready_test'; actor := metastore.http_text(b, 'submitted_by');
  WHEN 'test' THEN
    b := metastore.http_feature_body(req, '{feature_name,test_result,tested_by,test_notes}', '{feature_name,test_result}');
    IF metastore.http_text(b, 'test_result') NOT IN ('TEST_SUCCEEDED', 'TEST_FAILED') THEN
      RAISE EXCEPTION 'test_result must be TEST_SUCCEEDED or TEST_FAILED' USING ERRCODE = '22023';
    END IF;
    action := lower(b ->> 'test_result'); actor := metastore.http_text(b, 'tested_by');
    payload := jsonb_strip_nulls(jsonb_build_object('test_result', b -> 'test_result', 'test_notes', b -> 'test_notes'));
  WHEN 'approve' THEN
    b := metastore.http_feature_body(req, '{feature_name,approved_by,approval_notes}', '{feature_name}');
    action := 'approve'; actor := metastore.http_text(b, 'approved_by');
    payload := jsonb_strip_nulls(jsonb_build_object('approval_notes', b -> 'approval_notes'));
  WHEN 'reject' THEN
    b := metastore.http_feature_body(req, '{feature_name,rejected_by,rejection_reason}', '{feature_name,rejection_reason}');
    action := 'reject'; actor := metastore.http_text(b, 'rejected_by');
    payload := jsonb_build_object('rejection_reason', b -> 'rejection_reason');
  WHEN 'fix' THEN
    b := metastore.http_feature_body(req, '{feature_name,fixed_by,fix_description}', '{feature_name,fix_description}');
    action := 'fix'; actor := metastore.http_text(b, 'fixed_by');
    payload := jsonb_build_object('fix_description', b -> 'fix_description');
  ELSE
    RAISE EXCEPTION 'no workflow route %', req ->> 'path' USING ERRCODE = 'MS404';
  END CASE;
  result := metastore.feature_action(metastore.http_text(b, 'feature_name'), action, actor, payload);
  -- seed 004: "Approve and deploy feature"
  IF action = 'approve' THEN
    result := metastore.feature_action(metastore.http_text(b, 'feature_name'), 'deploy', actor, '{}');
  END IF;
  RETURN metastore.http_features_reply(format('Feature %s successfully', replace(action, '_', ' ')), result);
END
$$;

COMMENT ON FUNCTION metastore.http_features_create(jsonb) IS 'POST /create_feature_metadata';
COMMENT ON FUNCTION metastore.http_features_get(jsonb) IS 'POST /get_feature_metadata, GET /get_feature_metadata/{name}';
COMMENT ON FUNCTION metastore.http_features_list(jsonb) IS 'POST and GET /get_all_feature_metadata';
COMMENT ON FUNCTION metastore.http_features_deployed(jsonb) IS 'GET /get_deployed_features';
COMMENT ON FUNCTION metastore.http_features_available(jsonb) IS 'GET /features/available';
COMMENT ON FUNCTION metastore.http_features_values(jsonb) IS 'POST /features';
COMMENT ON FUNCTION metastore.http_features_update(jsonb) IS 'POST /update_feature_metadata';
COMMENT ON FUNCTION metastore.http_features_delete(jsonb) IS 'POST /delete_feature_metadata';
COMMENT ON FUNCTION metastore.http_features_workflow(jsonb) IS 'POST /ready_test|test|approve|reject|fix_feature_metadata';

INSERT INTO metastore.http_routes (method, path, handler, auth, operation_id, tag, summary) VALUES
  ('POST', '/create_feature_metadata',       'metastore.http_features_create(jsonb)',    true, 'createFeature',        'features', 'Create a feature in DRAFT (developer)'),
  ('POST', '/get_feature_metadata',          'metastore.http_features_get(jsonb)',       true, 'getFeature',           'features', 'A feature by name'),
  ('GET',  '/get_feature_metadata/{name}',   'metastore.http_features_get(jsonb)',       true, 'getFeatureByName',     'features', 'A feature by name'),
  ('POST', '/get_all_feature_metadata',      'metastore.http_features_list(jsonb)',      true, 'listFeaturesPost',     'features', 'Features, filtered by status, feature_type, created_by'),
  ('GET',  '/get_all_feature_metadata',      'metastore.http_features_list(jsonb)',      true, 'listFeatures',         'features', 'Features, filtered by ?status, ?feature_type, ?created_by'),
  ('GET',  '/get_deployed_features',         'metastore.http_features_deployed(jsonb)',  true, 'deployedFeatures',     'features', 'Deployed features'),
  ('GET',  '/features/available',            'metastore.http_features_available(jsonb)', true, 'availableFeatures',    'features', 'Names of the features values can be served for'),
  ('POST', '/features',                      'metastore.http_features_values(jsonb)',    true, 'featureValues',        'features', 'Batch feature values (deterministic; only deployed features)'),
  ('POST', '/update_feature_metadata',       'metastore.http_features_update(jsonb)',    true, 'updateFeature',        'features', 'Update a feature (developer; not when deployed)'),
  ('POST', '/delete_feature_metadata',       'metastore.http_features_delete(jsonb)',    true, 'deleteFeature',        'features', 'Soft-delete a feature with a reason (developer; not when deployed)'),
  ('POST', '/ready_test_feature_metadata',   'metastore.http_features_workflow(jsonb)',  true, 'readyTestFeature',     'features', 'Submit for testing (developer)'),
  ('POST', '/test_feature_metadata',         'metastore.http_features_workflow(jsonb)',  true, 'testFeature',          'features', 'Record a test result (external_testing_system)'),
  ('POST', '/approve_feature_metadata',      'metastore.http_features_workflow(jsonb)',  true, 'approveFeature',       'features', 'Approve and deploy (approver)'),
  ('POST', '/reject_feature_metadata',       'metastore.http_features_workflow(jsonb)',  true, 'rejectFeature',        'features', 'Reject with a reason (approver)'),
  ('POST', '/fix_feature_metadata',          'metastore.http_features_workflow(jsonb)',  true, 'fixFeature',           'features', 'Back to DRAFT after a failed test or a rejection (developer)');
