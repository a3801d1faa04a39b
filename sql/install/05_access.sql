-- Identity and access: API keys, namespace roles, row level security.

-- Tables and SECURITY DEFINER functions are owned by this NOLOGIN role, not by
-- a superuser, so that row level security (FORCE) applies inside our own
-- functions too: a bug in a C access check still cannot leak another
-- namespace's rows.  Roles are cluster-wide: it is shared by every database
-- that has the extension and is left in place by DROP EXTENSION.
DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'metastore_owner') THEN
    CREATE ROLE metastore_owner NOLOGIN;
  END IF;
END
$$;
GRANT USAGE ON SCHEMA metastore TO metastore_owner;

CREATE TABLE metastore.api_keys (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  principal   text        NOT NULL,
  prefix      text        NOT NULL UNIQUE,  -- "ms_<12 hex>": the non-secret lookup id
  hash        bytea       NOT NULL,         -- BLAKE2b-256 of the whole key, keyed by the server secret
  secret_id   text        NOT NULL,         -- fingerprint of the server secret that keyed the hash
  description text,
  created_at  timestamptz NOT NULL,
  created_by  text        NOT NULL,
  expires_at  timestamptz,
  revoked_at  timestamptz,
  revoked_by  text
);
CREATE INDEX api_keys_by_principal ON metastore.api_keys (principal);
COMMENT ON TABLE metastore.api_keys IS
  'API keys: only a lookup prefix and a keyed hash are stored, never the key.';

CREATE TABLE metastore.grants (
  principal         text        NOT NULL,
  namespace_pattern text        NOT NULL,  -- "*", "team-a.*" or an exact namespace
  role              text        NOT NULL
                    CHECK (role IN ('reader', 'writer', 'admin', 'developer', 'approver',
                                    'external_testing_system')),
  granted_at        timestamptz NOT NULL,
  granted_by        text        NOT NULL,
  PRIMARY KEY (principal, namespace_pattern, role)
);
COMMENT ON TABLE metastore.grants IS
  'Roles of principals on namespace patterns; admin implies writer implies reader.';

-- Backends cache verified keys and grants; a change resets those caches everywhere.
CREATE TRIGGER api_keys_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metastore.api_keys
  FOR EACH STATEMENT EXECUTE FUNCTION metastore.cache_invalidate();
CREATE TRIGGER grants_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metastore.grants
  FOR EACH STATEMENT EXECUTE FUNCTION metastore.cache_invalidate();

-- Only the owner role reaches these two tables, and only through our functions.
ALTER TABLE metastore.api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE metastore.api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON metastore.api_keys TO metastore_owner USING (true) WITH CHECK (true);
ALTER TABLE metastore.grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE metastore.grants FORCE ROW LEVEL SECURITY;
CREATE POLICY owner_only ON metastore.grants TO metastore_owner USING (true) WITH CHECK (true);

-- has_role is SECURITY DEFINER (it reads grants) but sets no search_path: it is
-- C, its one query is schema-qualified, and RLS policies call it per row.
CREATE FUNCTION metastore.has_role(namespace text, role text)
RETURNS boolean
LANGUAGE c STABLE PARALLEL RESTRICTED SECURITY DEFINER
AS 'MODULE_PATHNAME', 'has_role';
COMMENT ON FUNCTION metastore.has_role(text, text) IS
  'Whether the acting principal holds role (or one implying it) on namespace. Used by every row level security policy.';

CREATE FUNCTION metastore.require_role(namespace text, role text)
RETURNS void
LANGUAGE c STABLE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'require_role';
COMMENT ON FUNCTION metastore.require_role(text, text) IS
  'Raise SQLSTATE 42501 unless the acting principal holds role on namespace.';

CREATE FUNCTION metastore."grant"(principal text, namespace text, role text)
RETURNS boolean
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'grant_role';
COMMENT ON FUNCTION metastore."grant"(text, text, text) IS
  'Give principal a role on a namespace pattern ("*", "team-a.*", or a namespace). Needs admin on a pattern covering it. True when newly granted.';

CREATE FUNCTION metastore."revoke"(principal text, namespace text, role text)
RETURNS boolean
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'revoke_role';
COMMENT ON FUNCTION metastore."revoke"(text, text, text) IS
  'Take a role back. Needs admin on a pattern covering it. True when a grant was removed.';

CREATE FUNCTION metastore.list_grants(principal text DEFAULT NULL)
RETURNS TABLE (principal text, namespace text, role text, granted_at timestamptz, granted_by text)
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'list_grants';
COMMENT ON FUNCTION metastore.list_grants(text) IS
  'Grants the acting principal may see: its own, and those on patterns it administers.';

CREATE FUNCTION metastore.create_api_key(principal text, description text DEFAULT NULL,
                                         expires_at timestamptz DEFAULT NULL,
                                         OUT id bigint, OUT api_key text, OUT prefix text,
                                         OUT key_principal text, OUT key_expires_at timestamptz)
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'create_api_key';
COMMENT ON FUNCTION metastore.create_api_key(text, text, timestamptz) IS
  'Create an API key for principal (yourself, or anyone if you are admin of "*"). The plaintext key is returned once and never stored.';

CREATE FUNCTION metastore.revoke_api_key(prefix text)
RETURNS boolean
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'revoke_api_key';
COMMENT ON FUNCTION metastore.revoke_api_key(text) IS
  'Revoke a key by its prefix (ms_<id>) or whole key. True when a live key was revoked.';

CREATE FUNCTION metastore.list_api_keys(principal text DEFAULT NULL)
RETURNS TABLE (id bigint, prefix text, principal text, description text,
               created_at timestamptz, created_by text, expires_at timestamptz,
               revoked_at timestamptz, status text)
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'list_api_keys';
COMMENT ON FUNCTION metastore.list_api_keys(text) IS
  'API keys without their secrets: your own, or everyone''s for an admin of "*".';

CREATE FUNCTION metastore.authenticate(api_key text)
RETURNS text
LANGUAGE c VOLATILE PARALLEL RESTRICTED SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'authenticate';
COMMENT ON FUNCTION metastore.authenticate(text) IS
  'Verify an API key (constant time) and act as its principal for the rest of the transaction. SQLSTATE 28000 when it is malformed, unknown, revoked or expired.';

-- The one helper that puts an aggregate table under namespace row level
-- security: read needs reader, write needs writer, a hard delete needs admin.
CREATE FUNCTION metastore.protect_aggregate(tbl regclass)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', tbl);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', tbl);
  EXECUTE format('CREATE POLICY namespace_read ON %s FOR SELECT'
                 ' USING (metastore.has_role(namespace, %L))', tbl, 'reader');
  EXECUTE format('CREATE POLICY namespace_insert ON %s FOR INSERT'
                 ' WITH CHECK (metastore.has_role(namespace, %L))', tbl, 'writer');
  EXECUTE format('CREATE POLICY namespace_update ON %s FOR UPDATE'
                 ' USING (metastore.has_role(namespace, %L)) WITH CHECK (metastore.has_role(namespace, %L))',
                 tbl, 'writer', 'writer');
  EXECUTE format('CREATE POLICY namespace_purge ON %s FOR DELETE'
                 ' USING (metastore.has_role(namespace, %L))', tbl, 'admin');
END
$$;
COMMENT ON FUNCTION metastore.protect_aggregate(regclass) IS
  'Install time: enable and force namespace row level security on an aggregate table.';
REVOKE ALL ON FUNCTION metastore.protect_aggregate(regclass) FROM PUBLIC;

SELECT metastore.protect_aggregate('metastore.history');
