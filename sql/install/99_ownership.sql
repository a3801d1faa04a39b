-- Last part: hand tables and SECURITY DEFINER functions to metastore_owner
-- (so FORCE ROW LEVEL SECURITY binds them), and open the schema.  Access is
-- decided by grants (metastore.grant), not by SQL privileges: tables stay
-- closed to PUBLIC, functions are open and check the acting principal.
DO $$
DECLARE
  r record;
BEGIN
  FOR r IN SELECT c.oid::regclass AS tbl FROM pg_class c
            WHERE c.relnamespace = 'metastore'::regnamespace AND c.relkind = 'r' LOOP
    EXECUTE format('ALTER TABLE %s OWNER TO metastore_owner', r.tbl);
  END LOOP;
  FOR r IN SELECT p.oid::regprocedure AS fn FROM pg_proc p
            WHERE p.pronamespace = 'metastore'::regnamespace AND p.prosecdef LOOP
    EXECUTE format('ALTER FUNCTION %s OWNER TO metastore_owner', r.fn);
  END LOOP;
END
$$;
REVOKE ALL ON ALL TABLES IN SCHEMA metastore FROM PUBLIC;
GRANT USAGE ON SCHEMA metastore TO PUBLIC;
