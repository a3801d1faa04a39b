-- pgTAP: API keys -- format, storage (prefix + keyed hash only), authenticate()
-- and the transaction-scoped principal, revocation, expiry, who may manage
-- whose keys, and a scan proving no plaintext key is stored anywhere.
--
-- authenticate() binds the acting principal until the (sub)transaction that
-- ran it ends, and this whole file is one transaction.  So every successful
-- authentication runs between SAVEPOINT and ROLLBACK TO SAVEPOINT, with no
-- pgTAP assertion in between (ROLLBACK TO would undo pgTAP's own counters):
-- what happens inside is captured in psql variables (\gset) and asserted
-- after the rollback.  Keys are kept in psql variables and in the temp table
-- acl_plain, never in a test description.
--
-- Helpers (scratch schema, gone with the transaction):
--   ms_test.attempt_err(sql)        runs sql in a subtransaction that is always
--                                rolled back: 'ok' or 'SQLSTATE: message / detail'.
--   ms_test.try_as(role, sql)   the same as another session role, returning
--                                'ok' or the SQLSTATE only.
--   ms_test.query_as(role, sql) runs sql as another session role and keeps
--                                its effects; first column as text.
BEGIN;
CREATE EXTENSION IF NOT EXISTS pgtap;
CREATE EXTENSION metastore;
SELECT plan(99);

\ir helpers/as_role.sql
CREATE SCHEMA ms_acl_k;
GRANT USAGE ON SCHEMA ms_acl_k TO PUBLIC;

-- authenticate inside a PL/pgSQL block with an exception handler (a
-- subtransaction that commits), as an API wrapper turning errors into
-- status codes would
CREATE FUNCTION ms_acl_k.authenticate_in_block(p_key text) RETURNS text
LANGUAGE plpgsql AS $f$
DECLARE
  r text;
BEGIN
  BEGIN
    r := metastore.authenticate(p_key);
  EXCEPTION WHEN invalid_authorization_specification THEN
    r := 'unauthorized';
  END;
  RETURN r;
END
$f$;

SELECT session_user AS me \gset

-- every plaintext key this file keeps (excluded from the scan below)
CREATE TEMP TABLE acl_plain (label text PRIMARY KEY, api_key text NOT NULL);

-- ================================================================ principals
CREATE ROLE ms_acl_k_alice NOLOGIN;      -- a non-admin principal with a login role
CREATE ROLE ms_acl_k_bob NOLOGIN;
CREATE ROLE ms_acl_k_root NOLOGIN;       -- admin of *
CREATE ROLE ms_acl_k_teamadm NOLOGIN;    -- admin of acl-k.* only
SELECT metastore."grant"('ms_acl_k_alice', 'acl-k-alice', 'writer') \g /dev/null
SELECT metastore."grant"('ms_acl_k_root', '*', 'admin') \g /dev/null
SELECT metastore."grant"('ms_acl_k_teamadm', 'acl-k.*', 'admin') \g /dev/null
-- key principals without a database role
SELECT metastore."grant"('acl-k-writer', 'acl-k-ns', 'writer') \g /dev/null
SELECT metastore."grant"('acl-k-other', 'acl-k-ns', 'reader') \g /dev/null
-- (acl-k-nogrant holds nothing)

-- ================================================================ creating keys
SELECT * FROM metastore.create_api_key('acl-k-writer', 'the writer''s key') \gset w_
SELECT * FROM metastore.create_api_key('acl-k-writer', 'a second key') \gset w2_
SELECT * FROM metastore.create_api_key('acl-k-other') \gset o_
SELECT * FROM metastore.create_api_key('acl-k-nogrant') \gset n_
SELECT * FROM metastore.create_api_key('acl-k-writer', 'to be revoked') \gset r_
SELECT * FROM metastore.create_api_key('acl-k-writer', 'to expire', now() + interval '1 day') \gset e_
INSERT INTO acl_plain VALUES ('w', :'w_api_key'), ('w2', :'w2_api_key'), ('o', :'o_api_key'),
                             ('n', :'n_api_key'), ('r', :'r_api_key'), ('e', :'e_api_key');

SELECT ok(:'w_api_key' ~ '^ms_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$',
  'create_api_key returns a key of the form ms_<12 hex>_<43 base64url>');
SELECT is_empty(
  $$SELECT label FROM acl_plain WHERE api_key !~ '^ms_[0-9a-f]{12}_[A-Za-z0-9_-]{43}$' OR length(api_key) <> 59$$,
  'every created key has that form and 59 characters');
SELECT is(:'w_prefix'::text, left(:'w_api_key', 15), 'the prefix is the first 15 characters of the key');
SELECT results_eq(
  format($$SELECT %s::bigint, %L::text, NULL::timestamptz$$, :'w_id', :'w_key_principal'),
  $$SELECT id, principal, expires_at FROM metastore.api_keys WHERE prefix = '$$ || :'w_prefix' || $$'$$,
  'create_api_key returns the id, principal and expiry of the stored row');
SELECT is(:'w_key_principal'::text, 'acl-k-writer', 'key_principal is the key''s principal');
SELECT is(:'e_key_expires_at'::timestamptz, now() + interval '1 day', 'key_expires_at echoes expires_at');
SELECT isnt(:'w_prefix'::text, :'w2_prefix'::text, 'two keys of one principal get different prefixes');
SELECT isnt(substr(:'w_api_key', 17), substr(:'w2_api_key', 17), 'two keys of one principal get different secrets');
SELECT results_eq(
  $$SELECT principal, description, created_by, created_at, revoked_at, revoked_by FROM metastore.api_keys
     WHERE prefix = '$$ || :'w_prefix' || $$'$$,
  $$VALUES ('acl-k-writer'::text, 'the writer''s key'::text, (session_user::text COLLATE "default"), now(), NULL::timestamptz, NULL::text)$$,
  'the stored row: principal, description, created_by = the creating principal, created_at = now(), not revoked');
SELECT is_empty($$SELECT prefix FROM metastore.api_keys WHERE octet_length(hash) <> 32$$,
  'every stored hash is 32 bytes (BLAKE2b-256)');
SELECT is_empty(
  $$SELECT k.prefix FROM metastore.api_keys k JOIN acl_plain p ON left(p.api_key, 15) = k.prefix
     WHERE k.hash = sha256(convert_to(p.api_key, 'UTF8')) OR k.hash = convert_to(substr(p.api_key, 17), 'UTF8')$$,
  'the stored hash is not an unkeyed SHA-256 of the key, nor the secret itself');
SELECT is((SELECT count(DISTINCT hash) FROM metastore.api_keys), (SELECT count(*) FROM metastore.api_keys),
  'no two keys share a hash');
SELECT is_empty($$SELECT prefix FROM metastore.api_keys WHERE secret_id !~ '^[0-9a-f]{16}$'$$,
  'each row records the 16-hex fingerprint of the server secret that keyed its hash');

-- argument checks of create_api_key
SELECT throws_ok($$SELECT metastore.create_api_key('acl-k-writer', NULL, now() - interval '1 hour')$$,
  '22023', 'expires_at must be in the future', 'create_api_key with expires_at in the past -> 22023');
SELECT throws_ok($$SELECT metastore.create_api_key('acl-k-writer', NULL, now())$$,
  '22023', 'expires_at must be in the future', 'create_api_key with expires_at = now() -> 22023');
SELECT throws_ok($$SELECT metastore.create_api_key(NULL)$$, '22004', NULL, 'create_api_key with NULL principal -> 22004');
SELECT throws_ok($$SELECT metastore.create_api_key('bad name')$$, '22023', NULL, 'create_api_key with an invalid principal -> 22023');
SELECT throws_ok($$SELECT metastore.create_api_key('')$$, '22023', NULL, 'create_api_key with an empty principal -> 22023');

-- ================================================================ authenticate
SAVEPOINT auth1;
SELECT metastore.authenticate(:'w_api_key') AS auth1_returned \gset
SELECT metastore.current_principal() AS auth1_principal \gset
SELECT metastore.authenticate(:'w_api_key') AS auth1_again \gset
SELECT ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'o_api_key')) AS auth1_second \gset
SELECT ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'w2_api_key')) AS auth1_samekey2 \gset
SELECT created_by AS auth1_created_by, updated_by AS auth1_updated_by
  FROM metastore.put_record('acl-k-ns', 'k1', '{"a": 1}') \gset
SELECT updated_by AS auth1_updated_by2 FROM metastore.put_record('acl-k-ns', 'k1', '{"a": 2}') \gset
SELECT (metastore.delete_record('acl-k-ns', 'k1')).updated_by AS auth1_deleted_by \gset
SELECT string_agg(changed_by, ',' ORDER BY version) AS auth1_changed_by FROM metastore.record_history('acl-k-ns', 'k1') \gset
SELECT ms_test.attempt_err($$SELECT metastore.put_record('acl-k-elsewhere', 'k1', '{}')$$) AS auth1_elsewhere \gset
SELECT ms_test.attempt_err($$SELECT metastore."grant"('acl-k-writer', '*', 'admin')$$) AS auth1_grant \gset
SELECT ms_test.attempt_err($$SELECT metastore.create_api_key('acl-k-other')$$) AS auth1_key_other \gset
SELECT ms_test.attempt_err($$SELECT metastore.create_api_key('acl-k-writer', 'made by the key')$$) AS auth1_key_own \gset
SELECT string_agg(DISTINCT principal, ',') AS auth1_listed FROM metastore.list_api_keys() \gset
SELECT metastore.current_principal() AS auth1_principal_end \gset
ROLLBACK TO SAVEPOINT auth1;
SELECT metastore.current_principal() AS auth1_after \gset
RELEASE SAVEPOINT auth1;

SELECT is(:'auth1_returned'::text, 'acl-k-writer', 'authenticate(key) returns the key''s principal');
SELECT is(:'auth1_principal'::text, 'acl-k-writer', 'after authenticate, current_principal() is the key''s principal');
SELECT is(:'auth1_principal_end'::text, 'acl-k-writer', '... and stays so for the following statements of the transaction');
SELECT is(:'auth1_again'::text, 'acl-k-writer', 'authenticating with the same key again is fine');
SELECT is(:'auth1_samekey2'::text, 'ok', 'authenticating with another key of the same principal is fine');
SELECT is(:'auth1_second'::text,
  '42501: this transaction is already authenticated as "acl-k-writer" / ',
  'authenticating a second, different principal in the same transaction -> 42501');
SELECT is(:'auth1_created_by' || ' ' || :'auth1_updated_by', 'acl-k-writer acl-k-writer',
  'a put after authenticate writes created_by and updated_by = the key''s principal, not the connection role');
SELECT is(:'auth1_updated_by2' || ' ' || :'auth1_deleted_by', 'acl-k-writer acl-k-writer',
  'an update and a delete after authenticate write updated_by = the key''s principal');
SELECT is(:'auth1_changed_by'::text, 'acl-k-writer,acl-k-writer,acl-k-writer',
  'history changed_by = the key''s principal for create, update and delete');
SELECT is(:'auth1_elsewhere'::text,
  '42501: permission denied for namespace "acl-k-elsewhere" / Principal "acl-k-writer" does not hold role writer there.',
  'a superuser connection authenticated with a key acts with the key''s grants only (42501 elsewhere)');
SELECT is(left(:'auth1_grant', 5), '42501', '... and loses the superuser''s power to grant (42501)');
SELECT is(left(:'auth1_key_other', 5), '42501', '... and cannot create keys for another principal (42501)');
SELECT is(:'auth1_key_own'::text, 'ok', 'a key''s principal may create keys for itself');
SELECT is(:'auth1_listed'::text, 'acl-k-writer', 'list_api_keys() of a key''s principal shows its own keys only');
SELECT is(:'auth1_after'::text, :'me'::text,
  'ROLLBACK TO a savepoint taken before authenticate undoes it: the principal is the session user again');
SELECT is_empty($$SELECT 1 FROM metastore.records WHERE namespace = 'acl-k-ns'$$,
  'precondition: the authenticated writes were rolled back with the savepoint');

-- a key principal without grants: 42501 on records, though the connection is a superuser
SAVEPOINT auth2;
SELECT metastore.authenticate(:'n_api_key') AS auth2_returned \gset
SELECT ms_test.attempt_err($$SELECT metastore.get_record('acl-k-ns', 'k1')$$) AS auth2_get \gset
SELECT ms_test.attempt_err($$SELECT metastore.put_record('acl-k-ns', 'k1', '{}')$$) AS auth2_put \gset
SELECT ms_test.attempt_err($$SELECT metastore.delete_record('acl-k-ns', 'k1')$$) AS auth2_delete \gset
SELECT ms_test.attempt_err($$SELECT metastore.rollback_record('acl-k-ns', 'k1', 1)$$) AS auth2_rollback \gset
SELECT ms_test.attempt_err($$SELECT * FROM metastore.record_history('acl-k-ns', 'k1')$$) AS auth2_history \gset
SELECT ms_test.attempt_err($$SELECT metastore.bulk_records('acl-k-ns', '[{"op": "put", "key": "b", "metadata": 1}]')$$) AS auth2_bulk \gset
SELECT metastore.has_role('acl-k-ns', 'reader')::text AS auth2_has_role \gset
SELECT count(*) AS auth2_grants FROM metastore.list_grants() \gset
ROLLBACK TO SAVEPOINT auth2;
RELEASE SAVEPOINT auth2;

SELECT is(:'auth2_returned'::text, 'acl-k-nogrant', 'precondition: authenticated as a principal without grants');
SELECT is(left(:'auth2_get', 5) || left(:'auth2_put', 5) || left(:'auth2_delete', 5) || left(:'auth2_rollback', 5)
          || left(:'auth2_history', 5) || left(:'auth2_bulk', 5),
  '425014250142501425014250142501',
  'a key principal without grants gets 42501 from get, put, delete, rollback, history and bulk on a superuser connection');
SELECT is(:'auth2_has_role'::text, 'false', '... and has_role() is false for it');
SELECT is(:'auth2_grants'::text, '0', '... and list_grants() shows it nothing');

-- a non-superuser login role that authenticates acts with the key's grants,
-- not its own (the HTTP shim's situation)
SAVEPOINT auth3;
SELECT ms_test.query_as('ms_acl_k_alice', format('SELECT metastore.authenticate(%L)', :'w_api_key')) AS auth3_returned \gset
SELECT ms_test.query_as('ms_acl_k_alice', 'SELECT metastore.current_principal()') AS auth3_principal \gset
SELECT ms_test.try_as('ms_acl_k_alice', $$SELECT metastore.put_record('acl-k-ns', 'k3', '{}')$$) AS auth3_key_ns \gset
SELECT ms_test.try_as('ms_acl_k_alice', $$SELECT metastore.put_record('acl-k-alice', 'k3', '{}')$$) AS auth3_own_ns \gset
ROLLBACK TO SAVEPOINT auth3;
RELEASE SAVEPOINT auth3;

SELECT is(:'auth3_returned' || ' ' || :'auth3_principal', 'acl-k-writer acl-k-writer',
  'a non-superuser session authenticating a key acts as the key''s principal');
SELECT is(:'auth3_key_ns' || ' ' || :'auth3_own_ns', 'ok 42501',
  '... with the key''s grants (writer on acl-k-ns), not the session role''s (writer on acl-k-alice)');

-- ================================================================ subtransactions
SAVEPOINT sub_outer;
SAVEPOINT sub_inner;
SELECT metastore.authenticate(:'w_api_key') AS sub_inner_returned \gset
ROLLBACK TO SAVEPOINT sub_inner;
SELECT metastore.current_principal() AS sub_after_rollback \gset
-- the undone authentication no longer binds the transaction to its principal
SELECT metastore.authenticate(:'o_api_key') AS sub_other \gset
ROLLBACK TO SAVEPOINT sub_outer;
RELEASE SAVEPOINT sub_outer;

SELECT is(:'sub_inner_returned'::text, 'acl-k-writer', 'precondition: authenticated inside a savepoint');
SELECT is(:'sub_after_rollback'::text, :'me'::text,
  'ROLLBACK TO SAVEPOINT undoes an authentication made after it');
SELECT is(:'sub_other'::text, 'acl-k-other',
  'after that rollback another principal may authenticate (the undone one binds nothing)');

SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'w_api_key')), 'ok',
  'precondition: authenticate succeeds inside a subtransaction that is then rolled back');
SELECT is(metastore.current_principal(), :'me'::text,
  'an authentication inside a rolled-back PL/pgSQL exception block is undone with it');

-- An authentication in a subtransaction that COMMITS (RELEASE SAVEPOINT, or
-- a PL/pgSQL exception block that completes) belongs to the parent from then
-- on: rolling back some later, unrelated subtransaction must not undo it.
-- (psql's ON_ERROR_ROLLBACK and JDBC's autosave wrap every statement so.)
SAVEPOINT rel_outer;
SAVEPOINT rel_inner;
SELECT metastore.authenticate(:'w_api_key') AS rel_returned \gset
RELEASE SAVEPOINT rel_inner;
SELECT metastore.current_principal() AS rel_after_release \gset
SAVEPOINT rel_unrelated;
ROLLBACK TO SAVEPOINT rel_unrelated;
RELEASE SAVEPOINT rel_unrelated;
SELECT metastore.current_principal() AS rel_after_unrelated \gset
SELECT ms_test.attempt_err($$SELECT metastore.put_record('acl-k-elsewhere', 'k', '{}')$$) AS rel_elsewhere \gset
SELECT ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'o_api_key')) AS rel_second \gset
ROLLBACK TO SAVEPOINT rel_outer;
RELEASE SAVEPOINT rel_outer;

SELECT is(:'rel_returned' || ' ' || :'rel_after_release', 'acl-k-writer acl-k-writer',
  'precondition: an authentication in a released savepoint holds after RELEASE');
SELECT is(:'rel_after_unrelated'::text, 'acl-k-writer',
  'rolling back a later, unrelated savepoint does not drop the principal authenticated in a released one');
SELECT is(left(:'rel_elsewhere', 5), '42501',
  '... so the superuser connection does not regain its own powers (put elsewhere -> 42501)');
SELECT is(left(:'rel_second', 5), '42501',
  '... and a second principal still cannot authenticate (42501)');

SAVEPOINT blk_outer;
SELECT ms_acl_k.authenticate_in_block(:'w_api_key') AS blk_returned \gset
SELECT ms_test.attempt_err('SELECT 1 / 0') AS blk_caught \gset
SELECT metastore.current_principal() AS blk_after_caught \gset
SELECT ms_test.attempt_err($$SELECT metastore.get_record('acl-k-elsewhere', 'k')$$) AS blk_elsewhere \gset
ROLLBACK TO SAVEPOINT blk_outer;
RELEASE SAVEPOINT blk_outer;

SELECT is(:'blk_returned' || ' / ' || left(:'blk_caught', 5), 'acl-k-writer / 22012',
  'precondition: authenticated in a completed exception block, then an unrelated error was caught');
SELECT is(:'blk_after_caught'::text, 'acl-k-writer',
  'a caught, unrelated error does not drop the principal authenticated in an earlier, completed block');
SELECT is(left(:'blk_elsewhere', 5), '42501',
  '... so the superuser connection does not regain its own powers (get elsewhere -> 42501)');

-- ================================================================ bad keys
SELECT left(:'w_api_key', 58) || CASE right(:'w_api_key', 1) WHEN 'A' THEN 'B' ELSE 'A' END AS wrong_key \gset
SELECT 'ms_000000000000_' || substr(:'w_api_key', 17) AS unknown_key \gset

SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'wrong_key'), '28000', 'invalid API key',
  'a key with a valid prefix and an altered secret -> 28000 invalid API key');
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'unknown_key'), '28000', 'invalid API key',
  'a well-formed key with an unknown prefix -> 28000 invalid API key');
SELECT throws_ok($$SELECT metastore.authenticate('')$$, '28000', 'invalid API key', 'an empty key -> 28000');
SELECT throws_ok($$SELECT metastore.authenticate('garbage')$$, '28000', 'invalid API key', '"garbage" -> 28000');
SELECT throws_ok($$SELECT metastore.authenticate('ms_x')$$, '28000', 'invalid API key', '"ms_x" -> 28000');
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'w_api_key' || 'x'), '28000', 'invalid API key',
  'a valid key with a character appended -> 28000');
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', upper(left(:'w_api_key', 3)) || substr(:'w_api_key', 4)),
  '28000', 'invalid API key', 'a valid key with an upper-case MS_ -> 28000');
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'w_prefix'), '28000', 'invalid API key',
  'the prefix alone -> 28000');
SELECT throws_ok($$SELECT metastore.authenticate(NULL)$$, '28000', 'invalid API key', 'NULL -> 28000');
SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'wrong_key')),
          ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'unknown_key')),
  'a wrong secret and an unknown prefix fail identically (SQLSTATE, message and detail): no oracle');
SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'wrong_key')), '28000: invalid API key / ',
  'a wrong secret carries no detail');
SELECT is(metastore.current_principal(), :'me'::text, 'failed authentications leave the principal alone');

-- ================================================================ revocation
SELECT is(metastore.revoke_api_key(:'r_prefix'), true, 'revoke_api_key(prefix) returns true for a live key');
SELECT is(metastore.revoke_api_key(:'r_prefix'), false, 'revoke_api_key(prefix) returns false on repeat');
SELECT results_eq(
  $$SELECT revoked_at, revoked_by FROM metastore.api_keys WHERE prefix = '$$ || :'r_prefix' || $$'$$,
  $$VALUES (now(), (session_user::text COLLATE "default"))$$,
  'the revoked row records revoked_at and revoked_by');
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'r_api_key'), '28000', 'invalid API key',
  'a revoked key -> 28000 invalid API key');
SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'r_api_key')),
  '28000: invalid API key / The key has been revoked.',
  'the detail of a revoked (but otherwise valid) key says it was revoked');
SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)',
                                  left(:'r_api_key', 58) || CASE right(:'r_api_key', 1) WHEN 'A' THEN 'B' ELSE 'A' END)),
  '28000: invalid API key / ',
  'a wrong secret for a revoked prefix does not reveal the revocation');
SELECT throws_ok($$SELECT metastore.revoke_api_key('ms_000000000000')$$, 'MS404', NULL,
  'revoke_api_key of an unknown prefix -> MS404');
SELECT throws_ok($$SELECT metastore.revoke_api_key(NULL)$$, '22004', NULL, 'revoke_api_key(NULL) -> 22004');

-- ================================================================ expiry
SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'e_api_key')), 'ok',
  'a key expiring tomorrow authenticates today');
UPDATE metastore.api_keys SET expires_at = now() - interval '1 hour' WHERE prefix = :'e_prefix';
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'e_api_key'), '28000', 'invalid API key',
  'an expired key -> 28000 invalid API key');
SELECT is(ms_test.attempt_err(format('SELECT metastore.authenticate(%L)', :'e_api_key')),
  '28000: invalid API key / The key has expired.',
  'the detail of an expired (but otherwise valid) key says it expired');

-- ================================================================ list_api_keys
SELECT is(
  (SELECT array_agg(n ORDER BY i) FROM pg_proc p,
          unnest(p.proargnames, p.proargmodes) WITH ORDINALITY AS a(n, m, i)
    WHERE p.oid = 'metastore.list_api_keys(text)'::regprocedure AND a.m = 't'),
  ARRAY['id', 'prefix', 'principal', 'description', 'created_at', 'created_by', 'expires_at', 'revoked_at', 'status'],
  'list_api_keys returns id, prefix, principal, description, created_at, created_by, expires_at, revoked_at, status');
SELECT is_empty(
  $$SELECT a.n FROM pg_proc p, unnest(p.proargnames, p.proargmodes) AS a(n, m)
     WHERE p.oid = 'metastore.list_api_keys(text)'::regprocedure AND a.m = 't'
       AND (a.n ~* 'key|hash|secret|token|plain')$$,
  'list_api_keys has no column for the key, its hash or the secret');
SELECT results_eq(
  format($$SELECT prefix, status FROM metastore.list_api_keys() WHERE prefix IN (%L, %L, %L) ORDER BY id$$,
         :'w_prefix', :'r_prefix', :'e_prefix'),
  format($$VALUES (%L::text, 'active'::text), (%L, 'revoked'), (%L, 'expired')$$,
         :'w_prefix', :'r_prefix', :'e_prefix'),
  'list_api_keys shows status active, revoked and expired');
SELECT is_empty(
  $$SELECT l.prefix FROM metastore.list_api_keys() l JOIN acl_plain p ON l.prefix = left(p.api_key, 15)
     WHERE row_to_json(l)::text LIKE '%' || substr(p.api_key, 17) || '%'$$,
  'no row of list_api_keys contains a key''s secret part');

-- ================================================================ who manages whose keys
SELECT ms_test.query_as('ms_acl_k_alice', $$SELECT api_key FROM metastore.create_api_key('ms_acl_k_alice', 'alice''s own')$$)
  AS alice_key \gset
SELECT ms_test.query_as('ms_acl_k_root', $$SELECT api_key FROM metastore.create_api_key('ms_acl_k_bob', 'made by root')$$)
  AS bob_key \gset
SELECT ms_test.query_as('ms_acl_k_bob', $$SELECT api_key FROM metastore.create_api_key('ms_acl_k_bob', 'bob''s own')$$)
  AS bob_key2 \gset
INSERT INTO acl_plain VALUES ('alice', :'alice_key'), ('bob', :'bob_key'), ('bob2', :'bob_key2');

SELECT is((SELECT principal || ' by ' || created_by FROM metastore.api_keys WHERE prefix = left(:'alice_key', 15)),
  'ms_acl_k_alice by ms_acl_k_alice', 'a non-admin principal may create a key for itself');
SELECT is((SELECT principal || ' by ' || created_by FROM metastore.api_keys WHERE prefix = left(:'bob_key', 15)),
  'ms_acl_k_bob by ms_acl_k_root', 'an admin of * may create a key for another principal (created_by = the admin)');
SELECT is(ms_test.try_as('ms_acl_k_alice', $$SELECT metastore.create_api_key('ms_acl_k_bob')$$), '42501',
  'a non-admin principal cannot create a key for another -> 42501');
SELECT is(ms_test.try_as('ms_acl_k_teamadm', $$SELECT metastore.create_api_key('ms_acl_k_bob')$$), '42501',
  'an admin of acl-k.* (not of *) cannot create a key for another -> 42501');
SELECT is(ms_test.try_as('ms_acl_k_alice', format('SELECT metastore.revoke_api_key(%L)', left(:'bob_key', 15))), '42501',
  'a non-admin principal cannot revoke another''s key -> 42501');
SELECT is(ms_test.try_as('ms_acl_k_teamadm', format('SELECT metastore.revoke_api_key(%L)', left(:'bob_key', 15))), '42501',
  'an admin of acl-k.* cannot revoke another''s key -> 42501');
SELECT is(ms_test.query_as('ms_acl_k_alice', $$SELECT string_agg(DISTINCT principal, ',') FROM metastore.list_api_keys()$$),
  'ms_acl_k_alice', 'list_api_keys() of a non-admin shows its own keys only');
SELECT is(ms_test.query_as('ms_acl_k_alice', $$SELECT count(*)::text FROM metastore.list_api_keys('ms_acl_k_bob')$$),
  '0', 'list_api_keys(another principal) of a non-admin shows nothing');
SELECT is(ms_test.query_as('ms_acl_k_teamadm', $$SELECT count(*)::text FROM metastore.list_api_keys()$$),
  '0', 'list_api_keys() of an admin of acl-k.* (not of *) shows only its own keys (none)');
SELECT is(ms_test.query_as('ms_acl_k_root', $$SELECT count(*)::text FROM metastore.list_api_keys()$$),
  (SELECT count(*)::text FROM metastore.api_keys), 'list_api_keys() of an admin of * shows every key');
SELECT is(ms_test.query_as('ms_acl_k_root', $$SELECT string_agg(DISTINCT principal, ',') FROM metastore.list_api_keys('ms_acl_k_bob')$$),
  'ms_acl_k_bob', 'list_api_keys(principal) of an admin of * shows that principal''s keys');
SELECT is(ms_test.query_as('ms_acl_k_alice', format('SELECT metastore.revoke_api_key(%L)::text', left(:'alice_key', 15))),
  'true', 'a non-admin principal may revoke its own key');
SELECT is(ms_test.query_as('ms_acl_k_alice', format('SELECT metastore.revoke_api_key(%L)::text', left(:'alice_key', 15))),
  'false', '... and revoking it again returns false');
SELECT is(ms_test.query_as('ms_acl_k_root', format('SELECT metastore.revoke_api_key(%L)::text', :'bob_key')),
  'true', 'an admin of * may revoke another''s key (given the whole key, only its prefix is used)');
SELECT is((SELECT revoked_by FROM metastore.api_keys WHERE prefix = left(:'bob_key', 15)),
  'ms_acl_k_root', 'revoked_by names the revoking admin');
SELECT throws_ok(format('SELECT metastore.authenticate(%L)', :'bob_key'), '28000', 'invalid API key',
  'a key revoked by an admin stops working at once');

-- ================================================================ no plaintext anywhere
-- A positive control first: a canary table holding a key in a text, a bytea
-- (the secret part's bytes) and a jsonb column must be found by the scan.
CREATE TABLE ms_acl_k.canary (t text, b bytea, j jsonb);
INSERT INTO ms_acl_k.canary VALUES
  ('x' || :'w2_api_key' || 'y', convert_to('x' || substr(:'w2_api_key', 17), 'UTF8'), jsonb_build_object('k', :'w2_api_key'));

-- every column of type text, varchar, bpchar, name, bytea, json, jsonb (or
-- an array of them) of every table the database holds, except pg_catalog,
-- information_schema and the table of plaintexts itself
CREATE FUNCTION ms_acl_k.plaintext_hits() RETURNS TABLE (tbl text, col text, hits bigint)
LANGUAGE plpgsql AS $f$
DECLARE
  c record;
BEGIN
  FOR c IN
    SELECT a.attrelid::regclass AS rel, a.attname, t.typname,
           (t.typcategory = 'A') AS is_array, coalesce(e.typname, t.typname) AS base
      FROM pg_attribute a
      JOIN pg_class r ON r.oid = a.attrelid
      JOIN pg_namespace n ON n.oid = r.relnamespace
      JOIN pg_type t ON t.oid = a.atttypid
      LEFT JOIN pg_type e ON e.oid = t.typelem AND t.typcategory = 'A'
     WHERE r.relkind IN ('r', 'p', 'm')
       AND n.nspname NOT IN ('pg_catalog', 'information_schema')
       AND (r.relpersistence <> 't' OR r.relnamespace = pg_my_temp_schema())
       AND r.oid <> 'pg_temp.acl_plain'::regclass
       AND a.attnum > 0 AND NOT a.attisdropped
       AND coalesce(e.typname, t.typname) IN ('text', 'varchar', 'bpchar', 'name', 'bytea', 'json', 'jsonb')
  LOOP
    tbl := c.rel::text;
    col := c.attname;
    IF c.base = 'bytea' THEN
      EXECUTE format(
        'SELECT count(*) FROM %s x CROSS JOIN LATERAL unnest(%s) AS v(val), pg_temp.acl_plain p'
        ' WHERE position(convert_to(p.api_key, ''UTF8'') IN v.val) > 0'
        '    OR position(convert_to(substr(p.api_key, 17), ''UTF8'') IN v.val) > 0',
        c.rel, CASE WHEN c.is_array THEN format('x.%I', c.attname) ELSE format('ARRAY[x.%I]', c.attname) END)
        INTO hits;
    ELSE
      EXECUTE format(
        'SELECT count(*) FROM %s x, pg_temp.acl_plain p'
        ' WHERE position(p.api_key IN x.%I::text) > 0 OR position(substr(p.api_key, 17) IN x.%I::text) > 0',
        c.rel, c.attname, c.attname)
        INTO hits;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$f$;

CREATE TEMP TABLE acl_scan AS SELECT * FROM ms_acl_k.plaintext_hits();

SELECT ok((SELECT count(*) FROM acl_scan WHERE tbl LIKE 'metastore.%') >= 20,
  'precondition: the scan covers the text/bytea/jsonb columns of the metastore tables');
SELECT set_eq($$SELECT tbl, col FROM acl_scan WHERE tbl = 'ms_acl_k.canary' AND hits > 0$$,
  $$VALUES ('ms_acl_k.canary', 't'), ('ms_acl_k.canary', 'b'), ('ms_acl_k.canary', 'j')$$,
  'precondition: the scan finds a planted key in a text, a bytea and a jsonb column');
SELECT is_empty($$SELECT tbl, col, hits FROM acl_scan WHERE tbl <> 'ms_acl_k.canary' AND hits > 0$$,
  'no plaintext key, nor its secret part, is stored in any column of any table');
SELECT is((SELECT count(*) FROM acl_plain), 9::bigint, 'precondition: the scan looked for 9 keys');

SELECT * FROM finish();
ROLLBACK;
