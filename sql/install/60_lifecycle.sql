-- Lifecycle state machines (docs/lifecycle.md): machines are data, checked
-- when stored; every entity moves only through metastore.transition (C,
-- src/lifecycle.c), under a row lock, with its history recorded.

CREATE TABLE metastore.state_machines (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace   text        NOT NULL,
  name        text        NOT NULL UNIQUE,
  definition  jsonb       NOT NULL,
  version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at  timestamptz NOT NULL,
  created_by  text        NOT NULL,
  updated_at  timestamptz NOT NULL,
  updated_by  text        NOT NULL,
  deleted_at  timestamptz
);
COMMENT ON TABLE metastore.state_machines IS
  'State machine definitions {states, initial, transitions}; the namespace decides who may change them (admin) and run them (per transition role).';

CREATE TABLE metastore.machine_entities (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace   text        NOT NULL,
  machine     text        NOT NULL,
  entity      text        NOT NULL,
  state       text        NOT NULL,
  version     integer     NOT NULL DEFAULT 1 CHECK (version > 0),
  created_at  timestamptz NOT NULL,
  created_by  text        NOT NULL,
  updated_at  timestamptz NOT NULL,
  updated_by  text        NOT NULL,
  deleted_at  timestamptz,
  UNIQUE (machine, entity)
);
COMMENT ON TABLE metastore.machine_entities IS
  'The current state of each entity of each machine. Written only by metastore.transition.';

CREATE TABLE metastore.machine_transitions (
  id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  namespace   text        NOT NULL,
  machine     text        NOT NULL,
  entity      text        NOT NULL,
  action      text        NOT NULL,
  from_state  text,
  to_state    text        NOT NULL,
  actor       text        NOT NULL,
  principal   text        NOT NULL,
  payload     jsonb       NOT NULL DEFAULT '{}',
  version     integer     NOT NULL,
  at          timestamptz NOT NULL
);
CREATE INDEX machine_transitions_by_entity ON metastore.machine_transitions (machine, entity, id);
COMMENT ON TABLE metastore.machine_transitions IS
  'Every transition: who (actor as given, principal as authenticated), when, from, to, and the payload (reasons, notes).';

CREATE TRIGGER state_machines_history
  AFTER INSERT OR UPDATE OR DELETE ON metastore.state_machines
  FOR EACH ROW EXECUTE FUNCTION metastore.history_trigger('machine', 'name');
SELECT metastore.protect_aggregate('metastore.state_machines');
-- transition() keeps compiled machines per backend; a change resets them everywhere
CREATE TRIGGER state_machines_cache AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON metastore.state_machines
  FOR EACH STATEMENT EXECUTE FUNCTION metastore.cache_invalidate();
-- Entities and their transitions are written only by transition(), which
-- checks the role each transition needs (developer, approver, ...) in C:
-- the policies ask for any role on the namespace (every role implies reader).
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['machine_entities', 'machine_transitions'] LOOP
    EXECUTE format('ALTER TABLE metastore.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('ALTER TABLE metastore.%I FORCE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY namespace_read ON metastore.%I FOR SELECT USING (metastore.has_role(namespace, %L))', t, 'reader');
    EXECUTE format('CREATE POLICY transition_insert ON metastore.%I FOR INSERT WITH CHECK (metastore.has_role(namespace, %L))', t, 'reader');
    EXECUTE format('CREATE POLICY transition_update ON metastore.%I FOR UPDATE USING (metastore.has_role(namespace, %L)) WITH CHECK (metastore.has_role(namespace, %L))', t, 'reader', 'reader');
    EXECUTE format('CREATE POLICY namespace_purge ON metastore.%I FOR DELETE USING (metastore.has_role(namespace, %L))', t, 'admin');
  END LOOP;
END
$$;
CREATE CONSTRAINT TRIGGER machine_entities_events
  AFTER INSERT OR UPDATE OR DELETE ON metastore.machine_entities
  DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
  EXECUTE FUNCTION metastore.event_trigger('transition', 'entity', 'machine', 'entity', 'state');

CREATE FUNCTION metastore.check_machine(definition jsonb)
RETURNS jsonb
LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
AS 'MODULE_PATHNAME', 'check_machine';
COMMENT ON FUNCTION metastore.check_machine(jsonb) IS
  'The definition if it is a valid state machine; else 22023 naming the fault (unknown fields, states listed twice, a transition defined twice, an unreachable state, an unknown role).';

CREATE FUNCTION metastore.put_machine(name text, definition jsonb, namespace text DEFAULT 'default',
                                      expected_version integer DEFAULT NULL)
RETURNS metastore.state_machines
LANGUAGE plpgsql VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  m metastore.state_machines;
  who text := metastore.current_principal();
BEGIN
  IF $1 IS NULL OR $2 IS NULL OR $3 IS NULL THEN
    RAISE EXCEPTION USING ERRCODE = '22004', MESSAGE = 'name, definition and namespace must not be null';
  END IF;
  IF $1 !~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$' THEN
    RAISE EXCEPTION USING ERRCODE = '22023', MESSAGE = 'a machine name is 1..128 of [A-Za-z0-9._-]';
  END IF;
  PERFORM metastore.require_role($3, 'admin');
  PERFORM metastore.check_machine($2);
  -- a machine the principal can read but not administer: 42501 naming its namespace
  SELECT * INTO m FROM metastore.state_machines sm WHERE sm.name = $1;
  IF m.id IS NOT NULL THEN
    PERFORM metastore.require_role(m.namespace, 'admin');
  END IF;
  SELECT * INTO m FROM metastore.state_machines sm WHERE sm.name = $1 FOR UPDATE;
  IF m.id IS NOT NULL THEN
    PERFORM metastore.require_role(m.namespace, 'admin');
  END IF;
  IF $4 IS NOT NULL AND $4 <> coalesce(m.version, 0) THEN
    RAISE EXCEPTION USING ERRCODE = 'MS409', MESSAGE = format('version conflict on state machine "%s"', $1),
      DETAIL = format('expected_version is %s, but the stored version is %s.', $4, coalesce(m.version, 0));
  END IF;
  IF m.id IS NOT NULL AND m.namespace <> $3 AND EXISTS (
       SELECT 1 FROM metastore.machine_entities e WHERE e.machine = $1) THEN
    RAISE EXCEPTION USING ERRCODE = '22023',
      MESSAGE = format('state machine "%s" has entities and cannot move to another namespace', $1),
      HINT = 'Define a machine under a new name in the other namespace.';
  END IF;
  IF m.id IS NULL THEN
    BEGIN
      INSERT INTO metastore.state_machines (namespace, name, definition, created_at, created_by, updated_at, updated_by)
      VALUES ($3, $1, $2, now(), who, now(), who) RETURNING * INTO m;
    EXCEPTION WHEN unique_violation THEN
      -- the name is taken in a namespace this principal may not change (hidden by RLS)
      RAISE EXCEPTION USING ERRCODE = '42501',
        MESSAGE = format('permission denied for state machine "%s"', $1),
        DETAIL = 'The name is used in a namespace where the principal is not an admin.';
    END;
  ELSIF m.definition IS DISTINCT FROM $2 OR m.namespace <> $3 OR m.deleted_at IS NOT NULL THEN
    UPDATE metastore.state_machines sm SET definition = $2, namespace = $3, version = sm.version + 1,
           updated_at = now(), updated_by = who, deleted_at = NULL
     WHERE sm.id = m.id RETURNING * INTO m;
  END IF;
  RETURN m;
END
$$;
COMMENT ON FUNCTION metastore.put_machine(text, jsonb, text, integer) IS
  'Create or replace a state machine (admin of its namespace); the definition is checked first (check_machine).';

CREATE FUNCTION metastore.get_machine(name text)
RETURNS metastore.state_machines
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM metastore.state_machines sm WHERE sm.name = $1 AND sm.deleted_at IS NULL $$;
COMMENT ON FUNCTION metastore.get_machine(text) IS 'A live state machine the principal may read, or NULL.';

CREATE FUNCTION metastore.transition(machine text, entity text, action text, actor text DEFAULT NULL,
                                     payload jsonb DEFAULT NULL)
RETURNS jsonb
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'transition';
COMMENT ON FUNCTION metastore.transition(text, text, text, text, jsonb) IS
  'Take action on an entity of a machine: checked against the state found under a row lock, the role the transition needs and its required payload fields; recorded in machine_transitions. A creating action (no "from") starts a new entity. MS423 names the current state and the allowed actions.';

CREATE FUNCTION metastore.entity_state(machine text, entity text)
RETURNS metastore.machine_entities
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM metastore.machine_entities e WHERE e.machine = $1 AND e.entity = $2 $$;
COMMENT ON FUNCTION metastore.entity_state(text, text) IS 'An entity''s current state, or NULL.';

CREATE FUNCTION metastore.entity_transitions(machine text, entity text)
RETURNS SETOF metastore.machine_transitions
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT * FROM metastore.machine_transitions t WHERE t.machine = $1 AND t.entity = $2 ORDER BY t.id $$;
COMMENT ON FUNCTION metastore.entity_transitions(text, text) IS 'Every transition of an entity, oldest first.';

-- The first machine: seed 004's ML feature lifecycle.
INSERT INTO metastore.state_machines (namespace, name, definition, created_at, created_by, updated_at, updated_by)
SELECT 'features', 'ml_feature', metastore.check_machine($json$
{
  "description": "Seed 004: ML feature metadata, DRAFT to DEPLOYED; deployed features are immutable",
  "states": ["DRAFT", "READY_FOR_TESTING", "TEST_SUCCEEDED", "TEST_FAILED", "APPROVED", "REJECTED", "DEPLOYED"],
  "initial": "DRAFT",
  "transitions": [
    {"action": "create", "to": "DRAFT", "role": "developer"},
    {"from": "DRAFT", "action": "ready_test", "to": "READY_FOR_TESTING", "role": "developer"},
    {"from": "READY_FOR_TESTING", "action": "test_succeeded", "to": "TEST_SUCCEEDED", "role": "external_testing_system"},
    {"from": "READY_FOR_TESTING", "action": "test_failed", "to": "TEST_FAILED", "role": "external_testing_system"},
    {"from": "TEST_SUCCEEDED", "action": "approve", "to": "APPROVED", "role": "approver"},
    {"from": "TEST_SUCCEEDED", "action": "reject", "to": "REJECTED", "role": "approver", "requires": ["rejection_reason"]},
    {"from": "APPROVED", "action": "deploy", "to": "DEPLOYED", "role": "approver"},
    {"from": ["TEST_FAILED", "REJECTED"], "action": "fix", "to": "DRAFT", "role": "developer", "requires": ["fix_description"]}
  ]
}
$json$::jsonb), now(), 'metastore', now(), 'metastore';
