-- metastore core: identity, the shared history mechanism.
-- (install script part; concatenated into metastore--<version>.sql by the Makefile)

\echo Use "CREATE EXTENSION metastore" to load this file. \quit

COMMENT ON SCHEMA metastore IS 'metastore: metadata, configuration and feature flags inside PostgreSQL';

CREATE FUNCTION metastore.current_principal()
RETURNS text
LANGUAGE c STABLE PARALLEL RESTRICTED
AS 'MODULE_PATHNAME', 'current_principal';
COMMENT ON FUNCTION metastore.current_principal() IS
  'The acting principal: the API key''s principal after metastore.authenticate() in this transaction, else the session user. The only source of "who" for audit columns and access checks.';

-- One history table for every aggregate.  Rows are written only by
-- metastore.history_trigger; each holds the whole row as it was at `version`.
CREATE TABLE metastore.history (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  aggregate   text        NOT NULL,
  entity_id   bigint      NOT NULL,
  namespace   text        NOT NULL,
  entity_key  text        NOT NULL,
  version     integer     NOT NULL,
  operation   text        NOT NULL
              CHECK (operation IN ('create', 'update', 'delete', 'restore', 'rollback', 'purge')),
  snapshot    jsonb       NOT NULL,
  changed_by  text        NOT NULL,
  changed_at  timestamptz NOT NULL,
  UNIQUE (aggregate, entity_id, version)
);
CREATE INDEX history_by_key ON metastore.history (aggregate, namespace, entity_key, id);
COMMENT ON TABLE metastore.history IS
  'Every version of every aggregate row, written by metastore.history_trigger.';

CREATE FUNCTION metastore.history_trigger()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'history_trigger';
COMMENT ON FUNCTION metastore.history_trigger() IS
  'AFTER ROW trigger (args: aggregate name, key column) that appends each row version to metastore.history.';
REVOKE ALL ON FUNCTION metastore.history_trigger() FROM PUBLIC;

-- One invalidation path for every backend-local cache (src/cache.c).
CREATE FUNCTION metastore.cache_invalidate()
RETURNS trigger
LANGUAGE c
AS 'MODULE_PATHNAME', 'cache_invalidate';
COMMENT ON FUNCTION metastore.cache_invalidate() IS
  'Statement trigger: tells every backend that a table feeding a cache changed (one invalidation path for all caches).';
REVOKE ALL ON FUNCTION metastore.cache_invalidate() FROM PUBLIC;

