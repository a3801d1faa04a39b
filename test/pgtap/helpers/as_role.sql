-- Shared by the access suites (\ir helpers/as_role.sql): run SQL as another
-- role, or catch the SQLSTATE it raises.  Every call ends in an exception
-- (or resets the session), so nothing it does outlives the call.
CREATE SCHEMA ms_test;
GRANT USAGE ON SCHEMA ms_test TO PUBLIC;

-- 'ok' or the SQLSTATE, running p_sql as p_role (optionally after SET ROLE).
CREATE FUNCTION ms_test.try_as(p_role text, p_sql text, p_set_role text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $f$
BEGIN
  BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', p_role);
    IF p_set_role IS NOT NULL THEN
      EXECUTE format('SET ROLE %I', p_set_role);
    END IF;
    EXECUTE p_sql;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'undo';
  EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'MSOK0' THEN 'ok' ELSE SQLSTATE END;
  END;
END
$f$;

-- 'ok' or 'SQLSTATE: message / detail', running p_sql as p_role.
CREATE FUNCTION ms_test.err_as(p_role text, p_sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  v_detail text;
BEGIN
  BEGIN
    EXECUTE format('SET SESSION AUTHORIZATION %I', p_role);
    EXECUTE p_sql;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'undo';
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = 'MSOK0' THEN
      RETURN 'ok';
    END IF;
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || coalesce(v_detail, '');
  END;
END
$f$;

-- The single value p_sql returns when run as p_role (optionally after SET ROLE).
CREATE FUNCTION ms_test.query_as(p_role text, p_sql text, p_set_role text DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  EXECUTE format('SET SESSION AUTHORIZATION %I', p_role);
  IF p_set_role IS NOT NULL THEN
    EXECUTE format('SET ROLE %I', p_set_role);
  END IF;
  EXECUTE p_sql INTO r;
  RESET ROLE;
  RESET SESSION AUTHORIZATION;
  RETURN r;
END
$f$;

-- 'ok' or the SQLSTATE, running p_sql as the current session.
CREATE FUNCTION ms_test.attempt(p_sql text) RETURNS text
LANGUAGE plpgsql AS $f$
BEGIN
  BEGIN
    EXECUTE p_sql;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'undo';
  EXCEPTION WHEN OTHERS THEN
    RETURN CASE SQLSTATE WHEN 'MSOK0' THEN 'ok' ELSE SQLSTATE END;
  END;
END
$f$;

-- 'ok' or 'SQLSTATE: message / detail', running p_sql as the current session.
CREATE FUNCTION ms_test.attempt_err(p_sql text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  v_detail text;
BEGIN
  BEGIN
    EXECUTE p_sql;
    RAISE EXCEPTION USING ERRCODE = 'MSOK0', MESSAGE = 'undo';
  EXCEPTION WHEN OTHERS THEN
    IF SQLSTATE = 'MSOK0' THEN
      RETURN 'ok';
    END IF;
    GET STACKED DIAGNOSTICS v_detail = PG_EXCEPTION_DETAIL;
    RETURN SQLSTATE || ': ' || SQLERRM || ' / ' || coalesce(v_detail, '');
  END;
END
$f$;
