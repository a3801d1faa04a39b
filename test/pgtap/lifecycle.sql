-- pgTAP: lifecycle state machines (src/lifecycle.c, sql/install/60_lifecycle.sql,
-- docs/lifecycle.md).
--
--   1. the installed machine ml_feature is seed 004's lifecycle;
--   2. every legal path, walked by principals holding exactly the role each
--      transition needs: results, machine_transitions rows, entity_state;
--   3. every illegal (state, action) pair: MS423 naming the current state,
--      the detail listing exactly the actions allowed there, nothing changed;
--   4. every wrong role for every legal transition: 42501, nothing changed;
--   5. required payload fields, and the argument errors of transition();
--   6. check_machine / put_machine: valid definitions, every fault with its
--      place, admin only, expected_version, history; a machine of our own run
--      end to end, and redefined under its entities;
--   7. events (SET CONSTRAINTS ALL IMMEDIATE): one 'transition' event per
--      transition, also when the transition is taken by a lifecycle principal.
--
-- Expectations come from the stored definition (table lc_def below), never
-- from the engine's own output.  Calls as other principals switch the session
-- user (SET SESSION AUTHORIZATION) inside ms_lc.run_as, which keeps the
-- effects of a call that succeeds (so a wrongly accepted call shows up in the
-- "nothing changed" checks) and returns the error of one that fails.  Every
-- assertion itself runs as the superuser.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(416);

\ir helpers/as_role.sql

CREATE SCHEMA ms_lc;
GRANT USAGE ON SCHEMA ms_lc TO PUBLIC;

-- Run p_sql as p_role (NULL: the superuser) and keep its effects:
-- {"ok": <first column as text>}, or the error {"sqlstate", "message",
-- "detail"} (and then nothing of it is kept).
CREATE FUNCTION ms_lc.run_as(p_role text, p_sql text) RETURNS jsonb
LANGUAGE plpgsql AS $f$
DECLARE
  r text;
  st text;
  msg text;
  det text;
BEGIN
  BEGIN
    IF p_role IS NOT NULL THEN
      EXECUTE format('SET SESSION AUTHORIZATION %I', p_role);
    END IF;
    EXECUTE p_sql INTO r;
    RESET SESSION AUTHORIZATION;
    RETURN jsonb_build_object('ok', r);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, det = PG_EXCEPTION_DETAIL;
    RETURN jsonb_build_object('sqlstate', st, 'message', msg, 'detail', nullif(det, ''));
  END;
END
$f$;

-- An outcome of run_as as one line: 'ok' or 'SQLSTATE: message / detail'.
CREATE FUNCTION ms_lc.line(j jsonb) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE WHEN j ? 'ok' THEN 'ok' ELSE format('%s: %s / %s', j->>'sqlstate', j->>'message', j->>'detail') END
$$;

-- The SQL of one call of transition().
CREATE FUNCTION ms_lc.tr(p_entity text, p_action text, p_actor text DEFAULT NULL, p_payload jsonb DEFAULT NULL,
                         p_machine text DEFAULT 'ml_feature') RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT format('SELECT metastore.transition(%L, %L, %L, %L, %L::jsonb)', p_machine, p_entity, p_action, p_actor, p_payload)
$$;

-- An entity as the superuser sees it: state, version and number of transitions.
CREATE FUNCTION ms_lc.snap(p_entity text, p_machine text DEFAULT 'ml_feature') RETURNS text LANGUAGE sql STABLE AS $$
  SELECT format('state=%s version=%s transitions=%s',
                coalesce((SELECT state FROM metastore.machine_entities WHERE machine = p_machine AND entity = p_entity), '<none>'),
                coalesce((SELECT version FROM metastore.machine_entities WHERE machine = p_machine AND entity = p_entity), 0),
                (SELECT count(*) FROM metastore.machine_transitions WHERE machine = p_machine AND entity = p_entity))
$$;

-- Everything a lifecycle call could have touched, as one comparable string.
CREATE FUNCTION ms_lc.digest() RETURNS text LANGUAGE sql STABLE AS $$
  SELECT format('entities=%s transitions=%s machines=%s history=%s digest=%s',
                (SELECT count(*) FROM metastore.machine_entities),
                (SELECT count(*) FROM metastore.machine_transitions),
                (SELECT count(*) FROM metastore.state_machines),
                (SELECT count(*) FROM metastore.history),
                md5(coalesce((SELECT string_agg(e::text, '|' ORDER BY e.id) FROM metastore.machine_entities e), '')
                    || coalesce((SELECT string_agg(t::text, '|' ORDER BY t.id) FROM metastore.machine_transitions t), '')
                    || coalesce((SELECT string_agg(m::text, '|' ORDER BY m.id) FROM metastore.state_machines m), '')))
$$;

-- The sorted list of actions an MS423 detail names ('allowed actions: a, b.'; 'none' is the empty list).
CREATE FUNCTION ms_lc.allowed_in_detail(p_detail text) RETURNS text[] LANGUAGE sql IMMUTABLE AS $$
  SELECT coalesce((SELECT array_agg(a ORDER BY a)
                     FROM unnest(string_to_array(substring(p_detail FROM 'allowed actions: (.*)\.$'), ', ')) AS a
                    WHERE a <> 'none'), '{}')
$$;

-- ================================================================ principals
-- Exactly one role each on namespace features (and lc-x, for our own machine).
CREATE ROLE ms_lc_dev NOLOGIN;
CREATE ROLE ms_lc_appr NOLOGIN;
CREATE ROLE ms_lc_test NOLOGIN;
CREATE ROLE ms_lc_reader NOLOGIN;
CREATE ROLE ms_lc_writer NOLOGIN;
CREATE ROLE ms_lc_admin NOLOGIN;
CREATE ROLE ms_lc_none NOLOGIN;
CREATE ROLE ms_lc_xadmin NOLOGIN;
CREATE ROLE ms_lc_xadmin2 NOLOGIN;
CREATE ROLE ms_lc_xwriter NOLOGIN;
CREATE ROLE ms_lc_xappr NOLOGIN;
CREATE ROLE ms_lc_xdev NOLOGIN;
CREATE ROLE ms_lc_ywriter NOLOGIN;
CREATE TEMP TABLE lc_who (principal text, namespace text, role text, PRIMARY KEY (principal, namespace));
INSERT INTO lc_who VALUES
  ('ms_lc_dev',     'features', 'developer'),
  ('ms_lc_appr',    'features', 'approver'),
  ('ms_lc_test',    'features', 'external_testing_system'),
  ('ms_lc_reader',  'features', 'reader'),
  ('ms_lc_writer',  'features', 'writer'),
  ('ms_lc_admin',   'features', 'admin'),
  ('ms_lc_xadmin',  'lc-x',     'admin'),
  ('ms_lc_xadmin2', 'lc-x',     'admin'),
  ('ms_lc_xadmin2', 'features', 'reader'),
  ('ms_lc_xwriter', 'lc-x',     'writer'),
  ('ms_lc_xappr',   'lc-x',     'approver'),
  ('ms_lc_xdev',    'lc-x',     'developer'),
  ('ms_lc_ywriter', 'lc-y',     'writer');
SELECT metastore."grant"(principal, namespace, role) FROM lc_who \g /dev/null

-- ================================================================ 1. the installed machine
-- The definition, expanded: one row per (from state, action); from_state NULL
-- for the creating action.  Every later expectation is computed from it.
CREATE TEMP TABLE lc_def AS
SELECT x.ord::int AS ord, f.from_state, x.t->>'action' AS action, x.t->>'to' AS to_state, x.t->>'role' AS role,
       ARRAY(SELECT jsonb_array_elements_text(coalesce(x.t->'requires', '[]'))) AS requires
  FROM jsonb_array_elements((SELECT definition FROM metastore.state_machines WHERE name = 'ml_feature')->'transitions')
       WITH ORDINALITY AS x(t, ord)
 CROSS JOIN LATERAL jsonb_array_elements_text(CASE jsonb_typeof(x.t->'from')
                                                WHEN 'array' THEN x.t->'from'
                                                WHEN 'string' THEN jsonb_build_array(x.t->'from')
                                                ELSE '[null]' END) AS f(from_state);
CREATE TEMP TABLE lc_states AS
SELECT s AS state, o::int AS ord
  FROM jsonb_array_elements_text((SELECT definition->'states' FROM metastore.state_machines WHERE name = 'ml_feature'))
       WITH ORDINALITY AS x(s, o);
CREATE TEMP TABLE lc_actions AS SELECT DISTINCT action FROM lc_def;
-- the principal that holds exactly a role on features
CREATE FUNCTION ms_lc.holder(p_role text) RETURNS text LANGUAGE sql STABLE AS $$
  SELECT principal FROM lc_who WHERE namespace = 'features' AND role = p_role AND principal <> 'ms_lc_xadmin2'
$$;

SELECT is((SELECT (namespace, version, deleted_at IS NULL)::text FROM metastore.state_machines WHERE name = 'ml_feature'),
          '(features,1,t)', 'ml_feature is installed in namespace features, version 1, live');
SELECT is(metastore.check_machine((SELECT definition FROM metastore.state_machines WHERE name = 'ml_feature')),
          (SELECT definition FROM metastore.state_machines WHERE name = 'ml_feature'),
          'the installed definition passes check_machine');
SELECT is((SELECT array_agg(state ORDER BY ord) FROM lc_states),
          ARRAY['DRAFT', 'READY_FOR_TESTING', 'TEST_SUCCEEDED', 'TEST_FAILED', 'APPROVED', 'REJECTED', 'DEPLOYED'],
          'seed 004: the seven states');
SELECT is((SELECT definition->>'initial' FROM metastore.state_machines WHERE name = 'ml_feature'), 'DRAFT',
          'seed 004: features start in DRAFT');
SELECT set_eq(
  $$SELECT coalesce(from_state, '(new)'), action, to_state, role, requires FROM lc_def$$,
  $$VALUES ('(new)', 'create', 'DRAFT', 'developer', '{}'::text[]),
           ('DRAFT', 'ready_test', 'READY_FOR_TESTING', 'developer', '{}'),
           ('READY_FOR_TESTING', 'test_succeeded', 'TEST_SUCCEEDED', 'external_testing_system', '{}'),
           ('READY_FOR_TESTING', 'test_failed', 'TEST_FAILED', 'external_testing_system', '{}'),
           ('TEST_SUCCEEDED', 'approve', 'APPROVED', 'approver', '{}'),
           ('TEST_SUCCEEDED', 'reject', 'REJECTED', 'approver', '{rejection_reason}'),
           ('APPROVED', 'deploy', 'DEPLOYED', 'approver', '{}'),
           ('TEST_FAILED', 'fix', 'DRAFT', 'developer', '{fix_description}'),
           ('REJECTED', 'fix', 'DRAFT', 'developer', '{fix_description}')$$,
  'seed 004: the transitions of the feature lifecycle, with their roles and required fields');
SELECT is(metastore.get_machine('ml_feature'), (SELECT m FROM metastore.state_machines m WHERE name = 'ml_feature'),
          'get_machine returns the stored row');
SELECT is(ms_lc.run_as('ms_lc_dev', $$SELECT (metastore.get_machine('ml_feature')).name$$), '{"ok": "ml_feature"}',
          'a developer of features reads the machine');
SELECT is(ms_lc.run_as('ms_lc_xadmin', $$SELECT (metastore.get_machine('ml_feature')).name$$), '{"ok": null}',
          'a principal without a role on features does not see it (get_machine is NULL)');

-- ================================================================ 2. legal paths
-- Walks: a path is an entity; each step an action, an optional actor and
-- payload.  The engine is asked to take each step as the principal holding
-- the role lc_def names for (expected state, action); the expected state
-- follows lc_def, not the engine.  A step without a payload gets the
-- transition's required fields filled in ('auto <field>').
CREATE TEMP TABLE lc_walk (path text, step int, action text, actor text, payload jsonb, PRIMARY KEY (path, step));
INSERT INTO lc_walk (path, step, action, actor, payload)
SELECT 'deploy', o::int, a, NULL, NULL
  FROM unnest(ARRAY['create', 'ready_test', 'test_succeeded', 'approve', 'deploy']) WITH ORDINALITY AS x(a, o);
INSERT INTO lc_walk VALUES
  ('failed', 1, 'create',         NULL,              '{"note": "a new feature"}'),
  ('failed', 2, 'ready_test',     NULL,              NULL),
  ('failed', 3, 'test_failed',    'ci-pipeline-17',  '{"report": "3 of 40 checks failed", "run": 17}'),
  ('failed', 4, 'fix',            NULL,              '{"fix_description": "null handling in the encoder"}'),
  ('failed', 5, 'ready_test',     NULL,              NULL),
  ('failed', 6, 'test_succeeded', 'ci-pipeline-18',  '{"run": 18}'),
  ('failed', 7, 'approve',        'alice@example.com', '{"comment": "lgtm"}'),
  ('failed', 8, 'deploy',         NULL,              NULL),
  ('rejected', 1, 'create',         NULL, NULL),
  ('rejected', 2, 'ready_test',     NULL, NULL),
  ('rejected', 3, 'test_succeeded', NULL, NULL),
  ('rejected', 4, 'reject',         NULL, '{"rejection_reason": "leaks the label", "severity": "high"}'),
  ('rejected', 5, 'fix',            NULL, '{"fix_description": "label removed"}'),
  ('rejected', 6, 'ready_test',     NULL, NULL),
  ('rejected', 7, 'test_failed',    NULL, NULL),
  ('rejected', 8, 'fix',            NULL, '{"fix_description": "retrained", "extra": [1, 2]}'),
  ('rejected', 9, 'ready_test',     NULL, NULL),
  ('rejected', 10, 'test_succeeded', NULL, NULL),
  ('rejected', 11, 'reject',        NULL, '{"rejection_reason": "still too slow"}'),
  ('rejected', 12, 'fix',           NULL, '{"fix_description": "cached"}'),
  ('rejected', 13, 'ready_test',    NULL, NULL),
  ('rejected', 14, 'test_succeeded', NULL, NULL),
  ('rejected', 15, 'approve',       NULL, NULL),
  ('rejected', 16, 'deploy',        NULL, NULL);
-- One entity parked in each state, by a shortest path from creation (for the
-- illegal pairs, wrong roles and required fields below).
WITH RECURSIVE r(state, actions) AS (
  SELECT to_state, ARRAY[action] FROM lc_def WHERE from_state IS NULL
  UNION ALL
  SELECT d.to_state, r.actions || d.action FROM r JOIN lc_def d ON d.from_state = r.state
   WHERE cardinality(r.actions) < (SELECT count(*) FROM lc_states)
), shortest AS (
  SELECT DISTINCT ON (state) state, actions FROM r ORDER BY state, cardinality(actions), actions
)
INSERT INTO lc_walk (path, step, action)
SELECT 'at-' || s.state, x.o::int, x.a FROM shortest s, unnest(s.actions) WITH ORDINALITY AS x(a, o);

CREATE TEMP TABLE lc_walk_out (path text, step int, action text, principal text, actor text, sent jsonb,
                               exp_from text, exp_to text, result jsonb, PRIMARY KEY (path, step));
DO $$
DECLARE
  w record;
  d record;
  cur text;
  last_path text := NULL;
  who text;
  body jsonb;
BEGIN
  FOR w IN SELECT * FROM lc_walk ORDER BY path, step LOOP
    IF w.path IS DISTINCT FROM last_path THEN
      cur := NULL;
      last_path := w.path;
    END IF;
    SELECT * INTO d FROM lc_def WHERE from_state IS NOT DISTINCT FROM cur AND action = w.action;
    IF NOT FOUND THEN
      RAISE EXCEPTION 'walk % step %: % is not legal from % by the definition', w.path, w.step, w.action, cur;
    END IF;
    who := ms_lc.holder(d.role);
    body := coalesce(w.payload, (SELECT jsonb_object_agg(f, 'auto ' || f) FROM unnest(d.requires) AS f));
    INSERT INTO lc_walk_out VALUES (w.path, w.step, w.action, who, w.actor, body, cur, d.to_state,
                                    ms_lc.run_as(who, ms_lc.tr('lc-' || w.path, w.action, w.actor, body)));
    cur := d.to_state;
  END LOOP;
END
$$;

SELECT is(CASE WHEN o.result ? 'ok' THEN (o.result->>'ok')::jsonb ELSE o.result END,
          jsonb_build_object('machine', 'ml_feature', 'entity', 'lc-' || o.path, 'action', o.action,
                             'state', o.exp_to, 'previous_state', o.exp_from,
                             'actor', coalesce(o.actor, o.principal), 'version', o.step),
          format('walk %s, step %s: %s by %s (%s) %s -> %s', o.path, o.step, o.action, o.principal,
                 (SELECT role FROM lc_who WHERE principal = o.principal), coalesce(o.exp_from, '(new)'), o.exp_to))
  FROM lc_walk_out o WHERE o.path IN ('deploy', 'failed', 'rejected') ORDER BY o.path, o.step;
SELECT is_empty($$SELECT path, step, result FROM lc_walk_out WHERE path LIKE 'at-%' AND NOT result ? 'ok'$$,
                'every walk parking an entity in a state succeeded');

SELECT is((SELECT jsonb_agg(jsonb_build_object('namespace', t.namespace, 'action', t.action, 'from', t.from_state,
                                               'to', t.to_state, 'actor', t.actor, 'principal', t.principal,
                                               'payload', t.payload, 'version', t.version, 'at_now', t.at = now())
                            ORDER BY t.id)
             FROM metastore.entity_transitions('ml_feature', 'lc-' || p.path) t),
          (SELECT jsonb_agg(jsonb_build_object('namespace', 'features', 'action', o.action, 'from', o.exp_from,
                                               'to', o.exp_to, 'actor', coalesce(o.actor, o.principal), 'principal', o.principal,
                                               'payload', coalesce(o.sent, '{}'), 'version', o.step, 'at_now', true)
                            ORDER BY o.step)
             FROM lc_walk_out o WHERE o.path = p.path),
          format('walk %s: machine_transitions holds each step (from, to, actor, principal, payload, version), in order', p.path))
  FROM (VALUES ('deploy'), ('failed'), ('rejected')) AS p(path);
SELECT is((SELECT to_jsonb(e) - 'id' - 'created_at' - 'updated_at' FROM metastore.entity_state('ml_feature', 'lc-' || p.path) e),
          jsonb_build_object('namespace', 'features', 'machine', 'ml_feature', 'entity', 'lc-' || p.path,
                             'state', (SELECT exp_to FROM lc_walk_out WHERE path = p.path ORDER BY step DESC LIMIT 1),
                             'version', (SELECT max(step) FROM lc_walk_out WHERE path = p.path),
                             'created_by', (SELECT principal FROM lc_walk_out WHERE path = p.path AND step = 1),
                             'updated_by', (SELECT principal FROM lc_walk_out WHERE path = p.path ORDER BY step DESC LIMIT 1),
                             'deleted_at', NULL),
          format('walk %s: entity_state is the last state, version = steps, created_by the creator, updated_by the last actor', p.path))
  FROM (VALUES ('deploy'), ('failed'), ('rejected')) AS p(path);
SELECT is_empty($$SELECT coalesce(from_state, '(new)'), action FROM lc_def d
                   WHERE NOT EXISTS (SELECT 1 FROM lc_walk_out o WHERE o.path IN ('deploy', 'failed', 'rejected')
                                        AND o.exp_from IS NOT DISTINCT FROM d.from_state AND o.action = d.action)$$,
                'the three walks take every legal transition of the definition, including fix from both TEST_FAILED and REJECTED');
SELECT is((SELECT array_agg(exp_to ORDER BY exp_to) FROM lc_walk_out o
            WHERE path LIKE 'at-%' AND step = (SELECT max(step) FROM lc_walk_out WHERE path = o.path)),
          (SELECT array_agg(state ORDER BY state) FROM lc_states),
          'an entity is parked in each of the seven states');
SELECT is((SELECT array_agg(s.state || '=' || e.state ORDER BY s.state) FROM lc_states s
             LEFT JOIN metastore.machine_entities e ON e.machine = 'ml_feature' AND e.entity = 'lc-at-' || s.state),
          (SELECT array_agg(state || '=' || state ORDER BY state) FROM lc_states),
          '... and each really is in its state');
SELECT is(ms_lc.run_as('ms_lc_reader', $$SELECT (metastore.entity_state('ml_feature', 'lc-deploy')).state$$)->>'ok',
          'DEPLOYED', 'a reader of features reads an entity''s state');
SELECT is(ms_lc.run_as('ms_lc_xadmin', $$SELECT count(*) FROM metastore.entity_transitions('ml_feature', 'lc-deploy')$$)->>'ok'
          || ' ' || coalesce(ms_lc.run_as('ms_lc_xadmin', $$SELECT (metastore.entity_state('ml_feature', 'lc-deploy')).state$$)->>'ok', 'NULL'),
          '0 NULL', 'a principal without a role on features sees neither the transitions nor the state');
SELECT is(ms_lc.run_as('ms_lc_admin', $$UPDATE metastore.machine_entities SET state = 'DEPLOYED'$$)->>'sqlstate', '42501',
          'the entity table is closed to principals: no state change around transition()');

-- ================================================================ 3. illegal (state, action) pairs
-- For each state and each action not allowed there, taken by the holder of
-- the role that action needs elsewhere (so the role is never the reason),
-- with the fields it requires.
CREATE TEMP TABLE lc_illegal AS
SELECT s.state, s.ord, a.action,
       (SELECT ms_lc.holder(min(role)) FROM lc_def WHERE action = a.action) AS principal,
       ARRAY(SELECT DISTINCT d.action FROM lc_def d WHERE d.from_state = s.state ORDER BY 1) AS allowed,
       NULL::text AS before, NULL::jsonb AS result, NULL::text AS after
  FROM lc_states s CROSS JOIN lc_actions a
 WHERE NOT EXISTS (SELECT 1 FROM lc_def d WHERE d.from_state = s.state AND d.action = a.action);
UPDATE lc_illegal SET before = ms_lc.snap('lc-at-' || state);
UPDATE lc_illegal i SET result = ms_lc.run_as(i.principal,
         ms_lc.tr('lc-at-' || i.state, i.action, NULL,
                  (SELECT jsonb_object_agg(f, 'x') FROM lc_def d, unnest(d.requires) f WHERE d.action = i.action)));
UPDATE lc_illegal SET after = ms_lc.snap('lc-at-' || state);

SELECT is((SELECT count(*) FROM lc_illegal),
          (SELECT count(*) FROM lc_states) * (SELECT count(*) FROM lc_actions)
          - (SELECT count(*) FROM lc_def WHERE from_state IS NOT NULL),
          'the illegal pairs: 7 states x 8 actions less the 8 legal (state, action) pairs');
SELECT is(format('%s; names the state: %s; allowed: %s', i.result->>'sqlstate',
                 coalesce(position(format('"%s"', i.state) IN i.result->>'message') > 0, false)::text,
                 ms_lc.allowed_in_detail(i.result->>'detail')),
          format('MS423; names the state: true; allowed: %s', i.allowed),
          format('%s x %s (by %s): MS423 naming the state, detail listing exactly %s', i.state, i.action, i.principal, i.allowed))
  FROM lc_illegal i ORDER BY i.ord, i.action;
SELECT is(i.after, i.before, format('%s x %s: nothing changed (state, version, transitions)', i.state, i.action))
  FROM lc_illegal i ORDER BY i.ord, i.action;
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_dev', ms_lc.tr('lc-at-DRAFT', 'create'))),
          'MS423: action "create" is not allowed in state "DRAFT" / Entity "lc-at-DRAFT" of machine "ml_feature" is in state "DRAFT"; allowed actions: ready_test.',
          'creating an existing entity: MS423, the whole message and detail');
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_appr', ms_lc.tr('lc-at-DEPLOYED', 'deploy'))),
          'MS423: action "deploy" is not allowed in state "DEPLOYED" / Entity "lc-at-DEPLOYED" of machine "ml_feature" is in state "DEPLOYED"; allowed actions: none.',
          'DEPLOYED is final: deploying again is MS423, no action allowed');
SELECT is(format('%s %s', r->>'sqlstate', ms_lc.allowed_in_detail(r->>'detail')),
          format('MS423 %s', ARRAY(SELECT action FROM lc_def WHERE from_state = 'READY_FOR_TESTING' ORDER BY 1)),
          'an action the machine does not know at all: MS423 with the allowed actions')
  FROM ms_lc.run_as('ms_lc_test', ms_lc.tr('lc-at-READY_FOR_TESTING', 'frobnicate')) AS r;
SELECT is(ms_lc.run_as(NULL, ms_lc.tr('lc-at-APPROVED', 'reject', NULL, '{"rejection_reason": "x"}'))->>'sqlstate', 'MS423',
          'even the superuser cannot take an illegal transition');

-- ================================================================ 4. wrong roles
-- Every legal transition, tried by each principal of features that lacks
-- its role (the other lifecycle roles, and reader, writer, admin: none of
-- them implies a lifecycle role), with the required fields.
CREATE TEMP TABLE lc_wrong AS
SELECT d.from_state, d.action, d.role, w.principal, w.role AS held,
       CASE WHEN d.from_state IS NULL THEN 'lc-new' ELSE 'lc-at-' || d.from_state END AS entity,
       NULL::text AS before, NULL::jsonb AS result, NULL::text AS after
  FROM lc_def d JOIN lc_who w ON w.namespace = 'features' AND w.role <> d.role AND w.principal <> 'ms_lc_xadmin2';
UPDATE lc_wrong SET before = ms_lc.snap(entity);
UPDATE lc_wrong w SET result = ms_lc.run_as(w.principal,
         ms_lc.tr(w.entity, w.action, NULL, (SELECT jsonb_object_agg(f, 'x') FROM lc_def d, unnest(d.requires) f
                                              WHERE d.action = w.action AND d.from_state IS NOT DISTINCT FROM w.from_state)));
UPDATE lc_wrong SET after = ms_lc.snap(entity);
SELECT is(format('%s / %s / unchanged: %s', w.result->>'sqlstate', w.result->>'detail', (w.after = w.before)::text),
          format('42501 / Principal "%s" does not hold role %s there. / unchanged: true', w.principal, w.role),
          format('%s -> %s needs %s: %s (%s) gets 42501, nothing changed', coalesce(w.from_state, '(new)'), w.action, w.role,
                 w.principal, w.held))
  FROM lc_wrong w JOIN lc_def d ON d.action = w.action AND d.from_state IS NOT DISTINCT FROM w.from_state
 ORDER BY d.ord, w.from_state, w.principal;
SELECT is((SELECT count(*) FROM lc_wrong), (SELECT count(*) * 5 FROM lc_def),
          'every legal transition was tried by the five principals of features without its role');
-- without any role on features the machine is not visible: the same answer as an unknown machine
SELECT is(replace(ms_lc.line(ms_lc.run_as('ms_lc_xadmin', ms_lc.tr('lc-at-' || coalesce(d.from_state, 'new'), d.action))), 'ml_feature', 'M'),
          replace(ms_lc.line(ms_lc.run_as('ms_lc_xadmin', ms_lc.tr('lc-at-' || coalesce(d.from_state, 'new'), d.action, NULL, NULL, 'lc-no-machine'))), 'lc-no-machine', 'M'),
          format('%s -> %s by a principal without a role on features: the same error as for an unknown machine', coalesce(d.from_state, '(new)'), d.action))
  FROM lc_def d ORDER BY d.ord, d.from_state;
SELECT is(ms_lc.run_as('ms_lc_xadmin', ms_lc.tr('lc-at-DRAFT', 'ready_test'))->>'sqlstate', 'MS404',
          '... which is MS404');
SELECT is(ms_lc.run_as('ms_lc_dev', ms_lc.tr('lc-at-TEST_SUCCEEDED', 'reject'))->>'sqlstate', '42501',
          'the role is checked before the required fields: a developer rejecting without a reason gets 42501');

-- ================================================================ 5. required fields, argument errors
-- Each required field of each transition, missing in five ways.
CREATE TEMP TABLE lc_req AS
SELECT d.from_state, d.action, d.role, f AS field, v.label, v.payload
  FROM lc_def d, unnest(d.requires) AS f,
       LATERAL (VALUES ('no payload', NULL::jsonb),
                       ('{}', '{}'::jsonb),
                       ('other fields only', jsonb_build_object('note', 'x', upper(f), 'x')),
                       ('""', jsonb_build_object(f, '')),
                       ('null', jsonb_build_object(f, NULL))) AS v(label, payload);
SELECT is(format('%s %s unchanged: %s', r->>'sqlstate', r->>'detail', (ms_lc.snap('lc-at-' || q.from_state) = b)::text),
          format('22023 At payload.%s. unchanged: true', q.field),
          format('%s from %s with %s as %s: 22023 at payload.%s', q.action, q.from_state, q.field, q.label, q.field))
  FROM lc_req q,
       LATERAL (SELECT ms_lc.snap('lc-at-' || q.from_state) AS b) s,
       LATERAL ms_lc.run_as(ms_lc.holder(q.role), ms_lc.tr('lc-at-' || q.from_state, q.action, NULL, q.payload)) AS r
 ORDER BY q.action, q.from_state, q.label;
SELECT is((SELECT count(*) FROM lc_req), 15::bigint, 'required fields: reject (1) and fix from two states (2), five ways each');

-- unknown machine, missing entity
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_dev', ms_lc.tr('e', 'create', NULL, NULL, 'lc-no-machine'))),
          'MS404: state machine "lc-no-machine" not found / ', 'an unknown machine: MS404');
SELECT is(ms_lc.line(ms_lc.run_as(NULL, ms_lc.tr('e', 'create', NULL, NULL, 'lc-no-machine'))),
          'MS404: state machine "lc-no-machine" not found / ', '... also for the superuser');
SELECT is(format('%s unchanged: %s', ms_lc.line(r), (ms_lc.snap('lc-missing') = 'state=<none> version=0 transitions=0')::text),
          format('MS404: entity "lc-missing" does not exist in machine "ml_feature" / Only a creating action can start it: %s. unchanged: true',
                 (SELECT string_agg(action, ', ' ORDER BY ord) FROM lc_def WHERE from_state IS NULL)),
          format('%s on an entity that does not exist: MS404 naming the creating action', a.action))
  FROM (SELECT DISTINCT action FROM lc_def WHERE from_state IS NOT NULL) a,
       LATERAL ms_lc.run_as(ms_lc.holder((SELECT min(role) FROM lc_def WHERE action = a.action)),
                            ms_lc.tr('lc-missing', a.action, NULL, '{"rejection_reason": "x", "fix_description": "x"}')) AS r
 ORDER BY a.action;

-- NULL arguments, payloads that are not objects, entity names
SELECT is(ms_lc.run_as('ms_lc_dev', s)->>'sqlstate', '22004', format('NULL %s: 22004', arg))
  FROM (VALUES ('machine', $$SELECT metastore.transition(NULL, 'lc-n', 'create')$$),
               ('entity', $$SELECT metastore.transition('ml_feature', NULL, 'create')$$),
               ('action', $$SELECT metastore.transition('ml_feature', 'lc-n', NULL)$$)) AS v(arg, s);
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_dev', ms_lc.tr('lc-n', 'create', NULL, p))),
          '22023: payload must be a JSON object / ', format('payload %s: 22023', p))
  FROM unnest(ARRAY['[]', '"text"', '1', 'null', 'true', '[{"fix_description": "x"}]']::jsonb[]) AS p;
SELECT is(ms_lc.snap('lc-n'), 'state=<none> version=0 transitions=0', '... none of them created the entity');
SELECT is(ms_lc.run_as('ms_lc_dev', ms_lc.tr('', 'create'))->>'sqlstate', '22023', 'an empty entity name: 22023');
SELECT is(ms_lc.run_as('ms_lc_dev', ms_lc.tr(repeat('e', 1025), 'create'))->>'sqlstate', '22023', 'an entity name of 1025 bytes: 22023');
SELECT is((ms_lc.run_as('ms_lc_dev', ms_lc.tr(repeat('é', 512), 'create'))->>'ok')::jsonb->>'state', 'DRAFT',
          'an entity name of 1024 bytes (512 two-byte letters) is accepted');
SELECT is((SELECT (actor, principal, payload)::text FROM metastore.machine_transitions WHERE entity = 'lc-deploy' AND version = 1),
          '(ms_lc_dev,ms_lc_dev,{})', 'without actor and payload: the actor is the principal, the payload {}');

-- ================================================================ 6. check_machine and put_machine
CREATE TEMP TABLE lc_base AS SELECT $j${
  "states": ["A", "B", "C"],
  "initial": "A",
  "transitions": [
    {"action": "make", "to": "A", "role": "developer"},
    {"from": "A", "action": "go", "to": "B", "role": "developer"},
    {"from": ["A", "B"], "action": "end", "to": "C", "role": "approver", "requires": ["why"]}
  ]
}$j$::jsonb AS d;
CREATE FUNCTION ms_lc.base() RETURNS jsonb LANGUAGE sql STABLE AS $$ SELECT d FROM lc_base $$;
-- base with transition i replaced (or appended when i is the length)
CREATE FUNCTION ms_lc.with_t(i int, t jsonb) RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_set(ms_lc.base(), ARRAY['transitions', i::text], t, true)
$$;

-- valid definitions
CREATE TEMP TABLE lc_good (label text, def jsonb);
INSERT INTO lc_good VALUES
  ('the base machine (a creating action, a from-list, requires)', ms_lc.base()),
  ('one state, no transitions', '{"states": ["ONLY"], "initial": "ONLY", "transitions": []}'),
  ('a description', ms_lc.base() || '{"description": "what it is for"}'),
  ('every role', jsonb_build_object('states', '["S"]'::jsonb, 'initial', 'S', 'transitions',
     (SELECT jsonb_agg(jsonb_build_object('from', 'S', 'action', 'a-' || r, 'to', 'S', 'role', r))
        FROM unnest(ARRAY['reader', 'writer', 'admin', 'developer', 'approver', 'external_testing_system']) r))),
  ('two creating actions, both to the initial state', ms_lc.with_t(3, '{"action": "import", "to": "A", "role": "admin"}')),
  ('the same action from different states (separate transitions)', jsonb_set(ms_lc.base(), '{transitions}',
     (ms_lc.base()->'transitions') - 2 || '[{"from": "A", "action": "end", "to": "C", "role": "approver"}, {"from": "B", "action": "end", "to": "C", "role": "admin"}]'::jsonb)),
  ('cycles and self loops', '{"states": ["X", "Y"], "initial": "X", "transitions": [{"from": "X", "action": "f", "to": "Y", "role": "writer"}, {"from": "Y", "action": "b", "to": "X", "role": "writer"}, {"from": "Y", "action": "stay", "to": "Y", "role": "writer"}]}'),
  ('requires null, an empty requires list', jsonb_set(ms_lc.with_t(3, '{"from": "C", "action": "again", "to": "C", "role": "admin", "requires": []}'),
     '{transitions,2,requires}', 'null')),
  ('names of 128 bytes', jsonb_build_object('states', jsonb_build_array(repeat('s', 128), repeat('é', 64)), 'initial', repeat('s', 128),
     'transitions', jsonb_build_array(jsonb_build_object('from', repeat('s', 128), 'action', repeat('a', 128), 'to', repeat('é', 64), 'role', 'writer')))),
  ('256 states in a chain', (SELECT jsonb_build_object('states', jsonb_agg('s' || i ORDER BY i), 'initial', 's1',
     'transitions', jsonb_agg(jsonb_build_object('from', 's' || i, 'action', 'next', 'to', 's' || (i + 1), 'role', 'writer') ORDER BY i)
                    FILTER (WHERE i < 256))
     FROM generate_series(1, 256) i));
SELECT is(ms_lc.line(ms_lc.run_as(NULL, format('SELECT metastore.check_machine(%L::jsonb) = %L::jsonb', g.def, g.def))),
          'ok', format('check_machine accepts %s', g.label))
  FROM lc_good g;
SELECT is(ms_lc.run_as(NULL, format('SELECT metastore.check_machine(%L::jsonb)', g.def))->>'ok',
          g.def::text, 'check_machine returns the definition as given') FROM lc_good g WHERE g.label LIKE 'the base%';
SELECT is(metastore.check_machine(NULL), NULL, 'check_machine(NULL) is NULL (strict)');

-- faults, each with its place
CREATE TEMP TABLE lc_bad (n serial, label text, def jsonb, place text);
INSERT INTO lc_bad (label, def, place) VALUES
  ('not an object', '[]', 'definition'),
  ('an unknown field', ms_lc.base() || '{"owner": "x"}', 'definition.owner'),
  ('an unknown field of a transition', jsonb_set(ms_lc.base(), '{transitions,1,guard}', '"x"'), 'definition.transitions[1].guard'),
  ('no states', ms_lc.base() - 'states', 'definition.states'),
  ('states not an array', jsonb_set(ms_lc.base(), '{states}', '"A"'), 'definition.states'),
  ('empty states', '{"states": [], "initial": "A", "transitions": []}', 'definition.states'),
  ('257 states', (SELECT jsonb_build_object('states', jsonb_agg('s' || i), 'initial', 's1', 'transitions', '[]'::jsonb)
                    FROM generate_series(1, 257) i), 'definition.states'),
  ('a state listed twice', jsonb_set(ms_lc.base(), '{states}', '["A", "B", "A", "C"]'), 'definition.states[2]'),
  ('a state that is not a string', jsonb_set(ms_lc.base(), '{states}', '["A", 1, "B", "C"]'), 'definition.states[1]'),
  ('an empty state name', jsonb_set(ms_lc.base(), '{states}', '["A", "B", "C", ""]'), 'definition.states[3]'),
  ('a state name of 129 bytes', jsonb_set(ms_lc.base(), '{states}', jsonb_build_array('A', 'B', 'C', repeat('s', 129))), 'definition.states[3]'),
  ('a state name of 130 bytes in 65 letters', jsonb_set(ms_lc.base(), '{states}', jsonb_build_array('A', 'B', repeat('é', 65), 'C')), 'definition.states[2]'),
  ('no initial', ms_lc.base() - 'initial', 'definition.initial'),
  ('an unknown initial', jsonb_set(ms_lc.base(), '{initial}', '"Z"'), 'definition.initial'),
  ('an initial of 129 bytes', jsonb_set(ms_lc.base(), '{initial}', to_jsonb(repeat('s', 129))), 'definition.initial'),
  ('no transitions', ms_lc.base() - 'transitions', 'definition.transitions'),
  ('transitions not an array', jsonb_set(ms_lc.base(), '{transitions}', '{}'), 'definition.transitions'),
  ('a transition that is not an object', ms_lc.with_t(1, '"go"'), 'definition.transitions[1]'),
  ('a transition without action', ms_lc.with_t(1, '{"from": "A", "to": "B", "role": "developer"}'), 'definition.transitions[1].action'),
  ('an action of 129 bytes', ms_lc.with_t(1, jsonb_build_object('from', 'A', 'action', repeat('a', 129), 'to', 'B', 'role', 'developer')), 'definition.transitions[1].action'),
  ('an unknown state in to', ms_lc.with_t(1, '{"from": "A", "action": "go", "to": "Z", "role": "developer"}'), 'definition.transitions[1].to'),
  ('no to', ms_lc.with_t(1, '{"from": "A", "action": "go", "role": "developer"}'), 'definition.transitions[1].to'),
  ('a to of 129 bytes', ms_lc.with_t(1, jsonb_build_object('from', 'A', 'action', 'go', 'to', repeat('s', 129), 'role', 'developer')), 'definition.transitions[1].to'),
  ('an unknown state in from', ms_lc.with_t(1, '{"from": "Z", "action": "go", "to": "B", "role": "developer"}'), 'definition.transitions[1].from'),
  ('an unknown state in a from-list', jsonb_set(ms_lc.base(), '{transitions,2,from}', '["A", "Z"]'), 'definition.transitions[2].from'),
  ('an empty from-list', jsonb_set(ms_lc.base(), '{transitions,2,from}', '[]'), 'definition.transitions[2].from'),
  ('from a number', jsonb_set(ms_lc.base(), '{transitions,1,from}', '1'), 'definition.transitions[1].from'),
  ('a from-list with a number', jsonb_set(ms_lc.base(), '{transitions,2,from}', '["A", 2]'), 'definition.transitions[2].from[1]'),
  ('the same action twice from one state', ms_lc.with_t(3, '{"from": "A", "action": "go", "to": "C", "role": "developer"}'), 'definition.transitions[3]'),
  ('the same action twice from one state, via a from-list', ms_lc.with_t(3, '{"from": ["B", "A"], "action": "go", "to": "C", "role": "developer"}'), 'definition.transitions[3]'),
  ('a state twice in one from-list', jsonb_set(ms_lc.base(), '{transitions,2,from}', '["A", "B", "A"]'), 'definition.transitions[2]'),
  ('the creating action twice', ms_lc.with_t(3, '{"action": "make", "to": "A", "role": "admin"}'), 'definition.transitions[3]'),
  ('an unreachable state', jsonb_set(ms_lc.base(), '{states}', '["A", "B", "C", "D"]'), 'definition.states[3]'),
  ('states reachable only from an unreachable one', jsonb_set(ms_lc.with_t(3, '{"from": "D", "action": "on", "to": "E", "role": "writer"}'),
     '{states}', '["A", "B", "C", "D", "E"]'), 'definition.states[3]'),
  ('a creating transition not leading to the initial state', ms_lc.with_t(0, '{"action": "make", "to": "B", "role": "developer"}'), 'definition.transitions[0].to'),
  ('an unknown role', ms_lc.with_t(1, '{"from": "A", "action": "go", "to": "B", "role": "owner"}'), 'definition.transitions[1].role'),
  ('a role in the wrong case', ms_lc.with_t(1, '{"from": "A", "action": "go", "to": "B", "role": "Developer"}'), 'definition.transitions[1].role'),
  ('no role', ms_lc.with_t(1, '{"from": "A", "action": "go", "to": "B"}'), 'definition.transitions[1].role'),
  ('a role of 129 bytes', ms_lc.with_t(1, jsonb_build_object('from', 'A', 'action', 'go', 'to', 'B', 'role', repeat('r', 129))), 'definition.transitions[1].role'),
  ('requires not an array', jsonb_set(ms_lc.base(), '{transitions,2,requires}', '"why"'), 'definition.transitions[2].requires'),
  ('an empty required field name', jsonb_set(ms_lc.base(), '{transitions,2,requires}', '["why", ""]'), 'definition.transitions[2].requires[1]'),
  ('a required field that is not a string', jsonb_set(ms_lc.base(), '{transitions,2,requires}', '[7]'), 'definition.transitions[2].requires[0]');
SELECT is(format('%s %s', r->>'sqlstate', r->>'detail'), format('22023 At %s.', b.place),
          format('check_machine refuses %s: 22023 at %s', b.label, b.place))
  FROM lc_bad b, LATERAL ms_lc.run_as(NULL, format('SELECT metastore.check_machine(%L::jsonb)', b.def)) AS r
 ORDER BY b.n;
SELECT ms_lc.digest() AS digest_before_bad_puts \gset
SELECT is(format('%s %s', r->>'sqlstate', r->>'detail'), format('22023 At %s.', b.place),
          format('put_machine (by an admin) refuses %s: 22023 at %s', b.label, b.place))
  FROM lc_bad b, LATERAL ms_lc.run_as('ms_lc_xadmin', format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'lc_bad_' || b.n, b.def, 'lc-x')) AS r
 ORDER BY b.n;
SELECT is(ms_lc.digest(), :'digest_before_bad_puts', '... and none of them stored anything');

-- put_machine: admin of the namespace only
SELECT is(format('%s %s', r->>'sqlstate', r->>'detail'),
          format('42501 Principal "%s" does not hold role admin there.', p),
          format('put_machine in lc-x by %s: 42501', p))
  FROM unnest(ARRAY['ms_lc_xwriter', 'ms_lc_xappr', 'ms_lc_xdev', 'ms_lc_admin', 'ms_lc_none']) AS p,
       LATERAL ms_lc.run_as(p, format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'lc_review', ms_lc.base(), 'lc-x')) AS r;
SELECT is(ms_lc.run_as('ms_lc_xwriter', format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'lc_review', '[]', 'lc-x'))->>'sqlstate',
          '42501', 'a non-admin with an invalid definition: 42501 before the definition is judged');
SELECT is(ms_lc.digest(), :'digest_before_bad_puts', '... nothing stored');
SELECT is(ms_lc.run_as(NULL, s)->>'sqlstate', '22004', format('put_machine with NULL %s: 22004', arg))
  FROM (VALUES ('name', $$SELECT metastore.put_machine(NULL, '{"states": ["A"], "initial": "A", "transitions": []}', 'lc-x')$$),
               ('definition', $$SELECT metastore.put_machine('lc_n', NULL, 'lc-x')$$),
               ('namespace', $$SELECT metastore.put_machine('lc_n', '{"states": ["A"], "initial": "A", "transitions": []}', NULL)$$)) AS v(arg, s);
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT metastore.put_machine(%L, %L, %L)', n, '{"states": ["A"], "initial": "A", "transitions": []}', 'lc-x'))->>'sqlstate',
          '22023', format('put_machine with the name %s: 22023', left(n, 20)))
  FROM unnest(ARRAY['', 'has space', '-lead', 'a/b', repeat('n', 129)]) AS n;
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT (metastore.put_machine(%L, %L, %L)).version', repeat('n', 128), '{"states": ["A"], "initial": "A", "transitions": []}', 'lc-x'))->>'ok',
          '1', 'a machine name of 128 characters is accepted');

-- create, read, history, expected_version
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT to_jsonb(m) - %L - %L - %L FROM metastore.put_machine(%L, %L::jsonb, %L, 0) m',
                                              'id', 'created_at', 'updated_at', 'lc_versions', ms_lc.base(), 'lc-x'))->>'ok',
          jsonb_build_object('namespace', 'lc-x', 'name', 'lc_versions', 'definition', ms_lc.base(), 'version', 1,
                             'created_by', 'ms_lc_xadmin', 'updated_by', 'ms_lc_xadmin', 'deleted_at', NULL)::text,
          'put_machine (expected_version 0) creates version 1 in the namespace, by the admin');
SELECT is((ms_lc.run_as('ms_lc_xdev', $$SELECT to_jsonb(metastore.get_machine('lc_versions'))$$)->>'ok')::jsonb->'definition',
          ms_lc.base(), 'get_machine as a developer of lc-x returns the definition');
SELECT is(ms_lc.run_as('ms_lc_dev', $$SELECT metastore.get_machine('lc_versions')$$)->>'ok', NULL,
          'get_machine as a principal without a role on lc-x: NULL');
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT (metastore.put_machine(%L, %L::jsonb, %L, 1)).version', 'lc_versions', ms_lc.base(), 'lc-x'))->>'ok',
          '1', 'an identical put creates no version');
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT (metastore.put_machine(%L, %L::jsonb, %L, 1)).version', 'lc_versions',
                                              ms_lc.base() || '{"description": "v2"}', 'lc-x'))->>'ok',
          '2', 'a changed definition with expected_version 1: version 2');
SELECT ms_lc.digest() AS digest_v2 \gset
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_xadmin', format('SELECT metastore.put_machine(%L, %L::jsonb, %L, %s)', 'lc_versions',
                                                         ms_lc.base() || '{"description": "v3"}', 'lc-x', v))),
          format('MS409: version conflict on state machine "lc_versions" / expected_version is %s, but the stored version is 2.', v),
          format('expected_version %s against version 2: MS409', v))
  FROM unnest(ARRAY[0, 1, 3]) AS v;
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_xadmin', format('SELECT metastore.put_machine(%L, %L::jsonb, %L, 1)', 'lc_nothing', ms_lc.base(), 'lc-x'))),
          'MS409: version conflict on state machine "lc_nothing" / expected_version is 1, but the stored version is 0.',
          'expected_version 1 for a machine that does not exist: MS409');
SELECT is(ms_lc.digest(), :'digest_v2', '... the conflicts stored nothing');
SELECT results_eq(
  $$SELECT namespace, entity_key, version, operation, changed_by, snapshot->'definition'
      FROM metastore.history WHERE aggregate = 'machine' AND entity_key = 'lc_versions' ORDER BY version$$,
  format($$VALUES ('lc-x'::text, 'lc_versions'::text, 1, 'create'::text, 'ms_lc_xadmin'::text, %L::jsonb),
                  ('lc-x', 'lc_versions', 2, 'update', 'ms_lc_xadmin', %L::jsonb)$$, ms_lc.base(), ms_lc.base() || '{"description": "v2"}'),
  'history (aggregate machine): a create and an update row, with the definition of each version');
SELECT is((SELECT count(*) FROM metastore.history WHERE aggregate = 'machine' AND entity_key = 'ml_feature'), 1::bigint,
          'the installed ml_feature has its create row in the history');
SELECT is(ms_test.try_as('ms_lc_admin', format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'ml_feature',
                                              (SELECT definition FROM metastore.state_machines WHERE name = 'ml_feature') || '{"description": "x"}', 'features')),
          'ok', 'an admin of features may change ml_feature (tried and rolled back)');
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_xadmin2', format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'ml_feature', ms_lc.base(), 'lc-x'))),
          '42501: permission denied for namespace "features" / Principal "ms_lc_xadmin2" does not hold role admin there.',
          'an admin of lc-x who reads features cannot move ml_feature into lc-x (admin of features needed)');
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'ml_feature', ms_lc.base(), 'lc-x'))->>'sqlstate',
          '42501', 'an admin of lc-x without any role on features cannot take over ml_feature: 42501 (not a unique violation that reveals the name)');
SELECT is(ms_lc.digest(), :'digest_v2', '... ml_feature is untouched');

-- ================================================================ a machine of our own, end to end
CREATE TEMP TABLE lc_review AS SELECT $j${
  "description": "test: a document review",
  "states": ["NEW", "IN_REVIEW", "DONE", "CANCELLED"],
  "initial": "NEW",
  "transitions": [
    {"action": "open", "to": "NEW", "role": "writer"},
    {"from": "NEW", "action": "submit", "to": "IN_REVIEW", "role": "writer", "requires": ["summary", "link"]},
    {"from": "IN_REVIEW", "action": "revise", "to": "NEW", "role": "reader"},
    {"from": "IN_REVIEW", "action": "accept", "to": "DONE", "role": "approver"},
    {"from": ["NEW", "IN_REVIEW"], "action": "cancel", "to": "CANCELLED", "role": "admin", "requires": ["reason"]}
  ]
}$j$::jsonb AS d;
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT (metastore.put_machine(%L, %L::jsonb, %L)).version', 'lc_review',
                                              (SELECT d FROM lc_review), 'lc-x'))->>'ok', '1', 'our own machine lc_review is stored in lc-x');
CREATE TEMP TABLE lc_run (n int PRIMARY KEY, principal text, entity text, action text, payload jsonb, expect text);
INSERT INTO lc_run VALUES
  (1,  'ms_lc_xwriter', 'doc-1', 'open',   NULL, '(new) -> NEW v1'),
  (2,  'ms_lc_xwriter', 'doc-1', 'submit', '{"summary": "s"}', '22023 At payload.link.'),
  (3,  'ms_lc_xwriter', 'doc-1', 'submit', '{"summary": "s", "link": "l"}', 'NEW -> IN_REVIEW v2'),
  (4,  'ms_lc_xwriter', 'doc-1', 'accept', NULL, '42501 Principal "ms_lc_xwriter" does not hold role approver there.'),
  (5,  'ms_lc_xappr',   'doc-1', 'revise', NULL, 'IN_REVIEW -> NEW v3'),
  (6,  'ms_lc_xadmin',  'doc-1', 'submit', '{"summary": "s2", "link": "l2"}', 'NEW -> IN_REVIEW v4'),
  (7,  'ms_lc_xdev',    'doc-1', 'revise', '{"why": "any role reads"}', 'IN_REVIEW -> NEW v5'),
  (8,  'ms_lc_xwriter', 'doc-1', 'submit', '{"summary": "s3", "link": "l3"}', 'NEW -> IN_REVIEW v6'),
  (9,  'ms_lc_xappr',   'doc-1', 'accept', NULL, 'IN_REVIEW -> DONE v7'),
  (10, 'ms_lc_xadmin',  'doc-1', 'cancel', '{"reason": "r"}', 'MS423 Entity "doc-1" of machine "lc_review" is in state "DONE"; allowed actions: none.'),
  (11, 'ms_lc_xdev',    'doc-2', 'open',   NULL, '42501 Principal "ms_lc_xdev" does not hold role writer there.'),
  (12, 'ms_lc_xadmin',  'doc-2', 'open',   NULL, '(new) -> NEW v1'),
  (13, 'ms_lc_xwriter', 'doc-2', 'cancel', '{"reason": "r"}', '42501 Principal "ms_lc_xwriter" does not hold role admin there.'),
  (14, 'ms_lc_xadmin',  'doc-2', 'cancel', '{"reason": ""}', '22023 At payload.reason.'),
  (15, 'ms_lc_xadmin',  'doc-2', 'cancel', '{"reason": "duplicate"}', 'NEW -> CANCELLED v2'),
  (16, 'ms_lc_dev',     'doc-3', 'open',   NULL, 'MS404 '),
  (17, 'ms_lc_xwriter', 'doc-3', 'submit', '{"summary": "s", "link": "l"}', 'MS404 Only a creating action can start it: open.');
CREATE TEMP TABLE lc_run_out AS SELECT n, NULL::jsonb AS result FROM lc_run WHERE false;
DO $$
DECLARE
  s record;
BEGIN
  FOR s IN SELECT * FROM lc_run ORDER BY n LOOP
    INSERT INTO lc_run_out VALUES (s.n, ms_lc.run_as(s.principal, ms_lc.tr(s.entity, s.action, NULL, s.payload, 'lc_review')));
  END LOOP;
END
$$;
SELECT is(CASE WHEN o.result ? 'ok'
               THEN format('%s -> %s v%s', coalesce((o.result->>'ok')::jsonb->>'previous_state', '(new)'),
                           (o.result->>'ok')::jsonb->>'state', (o.result->>'ok')::jsonb->>'version')
               ELSE format('%s %s', o.result->>'sqlstate', o.result->>'detail') END,
          r.expect, format('lc_review %s: %s %s by %s', r.n, r.entity, r.action, r.principal))
  FROM lc_run r JOIN lc_run_out o USING (n) ORDER BY r.n;
SELECT results_eq(
  $$SELECT namespace, entity, action, coalesce(from_state, '-'), to_state, principal, payload
      FROM metastore.machine_transitions WHERE machine = 'lc_review' ORDER BY id$$,
  $$VALUES ('lc-x'::text, 'doc-1'::text, 'open'::text, '-'::text, 'NEW'::text, 'ms_lc_xwriter'::text, '{}'::jsonb),
           ('lc-x', 'doc-1', 'submit', 'NEW', 'IN_REVIEW', 'ms_lc_xwriter', '{"summary": "s", "link": "l"}'),
           ('lc-x', 'doc-1', 'revise', 'IN_REVIEW', 'NEW', 'ms_lc_xappr', '{}'),
           ('lc-x', 'doc-1', 'submit', 'NEW', 'IN_REVIEW', 'ms_lc_xadmin', '{"summary": "s2", "link": "l2"}'),
           ('lc-x', 'doc-1', 'revise', 'IN_REVIEW', 'NEW', 'ms_lc_xdev', '{"why": "any role reads"}'),
           ('lc-x', 'doc-1', 'submit', 'NEW', 'IN_REVIEW', 'ms_lc_xwriter', '{"summary": "s3", "link": "l3"}'),
           ('lc-x', 'doc-1', 'accept', 'IN_REVIEW', 'DONE', 'ms_lc_xappr', '{}'),
           ('lc-x', 'doc-2', 'open', '-', 'NEW', 'ms_lc_xadmin', '{}'),
           ('lc-x', 'doc-2', 'cancel', 'NEW', 'CANCELLED', 'ms_lc_xadmin', '{"reason": "duplicate"}')$$,
  'lc_review: only the successful transitions are recorded, in namespace lc-x');
-- version 2 of the machine: CANCELLED and cancel gone, reopen added
SELECT is(ms_lc.run_as('ms_lc_xadmin', format('SELECT (metastore.put_machine(%L, %L::jsonb, %L, 1)).version', 'lc_review',
            jsonb_build_object('states', '["NEW", "IN_REVIEW", "DONE"]'::jsonb, 'initial', 'NEW',
                               'transitions', (SELECT jsonb_agg(t) FROM lc_review, jsonb_array_elements(d->'transitions') t WHERE t->>'action' <> 'cancel')
                                              || '[{"from": "DONE", "action": "reopen", "to": "IN_REVIEW", "role": "approver"}]'::jsonb),
            'lc-x'))->>'ok', '2', 'lc_review version 2: without CANCELLED, with reopen from DONE');
SELECT is((ms_lc.run_as('ms_lc_xappr', ms_lc.tr('doc-1', 'reopen', NULL, NULL, 'lc_review'))->>'ok')::jsonb->>'state', 'IN_REVIEW',
          'the new definition applies to existing entities at once: doc-1 reopens');
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_xadmin', ms_lc.tr('doc-2', 'open', NULL, NULL, 'lc_review'))),
          'MS423: entity "doc-2" is in state "CANCELLED", which machine "lc_review" no longer has / ',
          'an entity in a state the machine no longer has: MS423 naming it');
SELECT is(ms_lc.snap('doc-2', 'lc_review'), 'state=CANCELLED version=2 transitions=2', '... and it stays there');

-- a machine moved to another namespace (put_machine with a new namespace, by
-- an admin of both): its entities must not be stranded in the old one.
-- Either put_machine refuses the move, or the entities move along; both keep
-- every entity in its machine's namespace and usable there.
CREATE FUNCTION ms_lc.move_def() RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_set(ms_lc.base(), '{transitions,1,role}', '"writer"')
$$;
SELECT is(ms_lc.line(ms_lc.run_as(NULL, format('SELECT metastore.put_machine(%L, %L::jsonb, %L)', 'lc_move', ms_lc.move_def(), 'lc-x'))),
          'ok', 'lc_move is stored in lc-x');
SELECT is((ms_lc.run_as('ms_lc_xdev', ms_lc.tr('m-1', 'make', NULL, NULL, 'lc_move'))->>'ok')::jsonb->>'state', 'A',
          'a developer of lc-x creates m-1 in state A');
SELECT ms_lc.run_as(NULL, format('SELECT (metastore.put_machine(%L, %L::jsonb, %L)).namespace', 'lc_move', ms_lc.move_def(), 'lc-y'))
       AS move_result \gset
SELECT is(coalesce(:'move_result'::jsonb->>'sqlstate', 'ok') !~ '^(23|XX)', true,
          'moving lc_move to lc-y (by the superuser) is done or refused cleanly');
SELECT is_empty($$SELECT e.entity, e.namespace, m.namespace FROM metastore.machine_entities e
                    JOIN metastore.state_machines m ON m.name = e.machine WHERE e.namespace <> m.namespace$$,
                'after moving a machine (or refusing to), every entity is in its machine''s namespace');
SELECT is(ms_lc.line(ms_lc.run_as(who, ms_lc.tr('m-1', 'go', NULL, NULL, 'lc_move'))), 'ok',
          format('m-1 stays usable: go (role writer) by a writer of the machine''s namespace %s', ns))
  FROM (SELECT namespace AS ns, CASE namespace WHEN 'lc-y' THEN 'ms_lc_ywriter' ELSE 'ms_lc_xwriter' END AS who
          FROM metastore.state_machines WHERE name = 'lc_move') m;

-- ================================================================ 7. events
-- The principals below hold only lifecycle roles on features, no writer: the
-- event rows of their transitions must be accepted all the same.
-- The event trigger is deferred to commit; before SET CONSTRAINTS nothing is appended.
SELECT is((SELECT count(*) FROM metastore.events WHERE resource_type = 'transition'), 0::bigint,
          'before SET CONSTRAINTS ALL IMMEDIATE no transition event exists yet (deferred to commit)');
SELECT coalesce(max(id), 0) AS ev0 FROM metastore.events \gset
SET CONSTRAINTS ALL IMMEDIATE;
-- fired now, as the superuser: one event per transition taken so far, in order
SELECT is((SELECT jsonb_agg(jsonb_build_object('action', e.action, 'id', e.resource_id, 'ns', e.namespace, 'data', e.data) ORDER BY e.id)
             FROM metastore.events e WHERE e.id > :ev0 AND e.resource_type = 'transition'),
          (SELECT jsonb_agg(jsonb_build_object('action', CASE WHEN t.from_state IS NULL THEN 'create' ELSE 'update' END,
                                               'id', t.entity, 'ns', t.namespace,
                                               'data', jsonb_build_object('namespace', t.namespace, 'version', t.version,
                                                                          'machine', t.machine, 'entity', t.entity, 'state', t.to_state))
                            ORDER BY t.id)
             FROM metastore.machine_transitions t),
          'at SET CONSTRAINTS ALL IMMEDIATE every pending transition becomes one event (create / update, data: machine, entity, state, version)');
SELECT is((SELECT count(*) FROM metastore.events WHERE id > :ev0), (SELECT count(*) FROM metastore.machine_transitions),
          '... and nothing else (machines publish no events)');
-- from here on, each transition appends its event at the end of its statement
SELECT coalesce(max(id), 0) AS ev1 FROM metastore.events \gset
SELECT is(ms_lc.run_as(NULL, ms_lc.tr('lc-ev-su', 'create'))->>'ok' IS NOT NULL, true, 'the superuser creates lc-ev-su');
SELECT is((SELECT array_agg(format('%s %s %s/%s %s', action, resource_type, namespace, resource_id, data->>'state') ORDER BY id)
             FROM metastore.events WHERE id > :ev1),
          ARRAY['create transition features/lc-ev-su DRAFT'], '... one create event at once');
SELECT is(ms_test.attempt(ms_lc.tr('lc-ev-su', 'ready_test')), 'ok', 'a transition rolled back with its subtransaction ...');
SELECT is((SELECT count(*) FROM metastore.events WHERE id > :ev1), 1::bigint, '... leaves no event');
-- taken by the principals holding exactly the lifecycle roles
SELECT coalesce(max(id), 0) AS ev2 FROM metastore.events \gset
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_dev', ms_lc.tr('lc-ev-dev', 'create'))), 'ok',
          'a developer creates lc-ev-dev: its event is appended (the developer holds no writer role)');
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_dev', ms_lc.tr('lc-ev-su', 'ready_test'))), 'ok',
          'a developer takes ready_test: its event is appended');
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_test', ms_lc.tr('lc-at-READY_FOR_TESTING', 'test_succeeded'))), 'ok',
          'the testing system takes test_succeeded: its event is appended');
SELECT is(ms_lc.line(ms_lc.run_as('ms_lc_appr', ms_lc.tr('lc-at-APPROVED', 'deploy'))), 'ok',
          'an approver deploys: its event is appended');
SELECT is((SELECT array_agg(format('%s %s/%s %s by %s', action, namespace, resource_id, data->>'state', actor) ORDER BY id)
             FROM metastore.events WHERE id > :ev2 AND resource_type = 'transition'),
          ARRAY['create features/lc-ev-dev DRAFT by ms_lc_dev', 'update features/lc-ev-su READY_FOR_TESTING by ms_lc_dev',
                'update features/lc-at-READY_FOR_TESTING TEST_SUCCEEDED by ms_lc_test', 'update features/lc-at-APPROVED DEPLOYED by ms_lc_appr'],
          'one transition event per transition, its actor the lifecycle principal');
SET CONSTRAINTS ALL DEFERRED;

SELECT * FROM finish();
ROLLBACK;
