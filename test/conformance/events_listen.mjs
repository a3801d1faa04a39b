// LISTEN metastore_events with a real PostgreSQL client (the pinned npm `pg`,
// package.json): a second connection listens while another one commits
// changes through the SQL API, and the notifications are checked against
// metastore.events: one per committed change, delivered at commit, in id
// (commit) order, with a payload that is only a wake-up ({id, action,
// resource_type}: no data, since any role may LISTEN); a rolled-back change
// notifies nobody.  Prints TAP; exits non-zero on any failure.
//
// Environment: PGHOST, PGPORT, PGUSER, PGPASSWORD (pg_virtualenv sets them;
// the role must be able to write records and flags, e.g. the superuser) and
// METASTORE_TEST_DB, a database with the extension installed:
//   METASTORE_TEST_DB=metastore_http node test/conformance/events_listen.mjs
import pg from 'pg';

const database = process.env.METASTORE_TEST_DB;
if (!database) {
  console.log('1..1');
  console.log('not ok 1 - METASTORE_TEST_DB is set');
  process.exit(1);
}

// ---- TAP ----
let n = 0;
let failed = 0;
function ok(cond, name, diag) {
  n++;
  console.log(`${cond ? 'ok' : 'not ok'} ${n} - ${name}`);
  if (!cond) {
    failed++;
    if (diag !== undefined) {
      for (const line of (typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n')) {
        console.log(`#   ${line}`);
      }
    }
  }
}
function is(got, want, name) {
  ok(got === want, name, `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`);
}

// ---- the two connections ----
const listener = new pg.Client({ database, application_name: 'events_listen.mjs listener' });
const writer = new pg.Client({ database, application_name: 'events_listen.mjs writer' });
const tag = `listen-${process.pid}-${Date.now()}`;
const ns = tag;

// notifications from the writer's backend only (other tests may write to the same database)
const queue = [];
let waiter = null;
let writerPid = null;
listener.on('notification', (msg) => {
  if (msg.processId !== writerPid) return;
  queue.push(msg);
  if (waiter) waiter();
});

// the next notification from the writer, or null after ms
async function next(ms) {
  if (queue.length === 0) {
    await new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      waiter = () => { clearTimeout(t); resolve(); };
    });
    waiter = null;
  }
  return queue.shift() ?? null;
}

async function eventRow(id) {
  const r = await writer.query(
    'SELECT id::text, action, resource_type, resource_id, namespace FROM metastore.events WHERE id = $1', [id]);
  return r.rows[0] ?? null;
}

function parse(msg) {
  try { return JSON.parse(msg.payload); } catch { return null; }
}

async function main() {
  await listener.connect();
  await writer.connect();
  writerPid = (await writer.query('SELECT pg_backend_pid() AS pid')).rows[0].pid;
  const ext = await writer.query("SELECT to_regclass('metastore.events') IS NOT NULL AS present");
  ok(ext.rows[0].present, 'metastore.events exists in the installed extension');
  await listener.query('LISTEN metastore_events');
  ok(true, 'a second connection LISTENs on metastore_events');

  // ---- a committed put_record ----
  const t0 = Date.now();
  await writer.query("SELECT metastore.put_record($1, 'k1', '{\"v\": 1}')", [ns]);
  let msg = await next(5000);
  ok(msg !== null, `a committed put_record notifies (${Date.now() - t0} ms)`);
  is(msg?.channel, 'metastore_events', 'on channel metastore_events');
  let p = msg ? parse(msg) : null;
  ok(p !== null, 'the payload is JSON', msg?.payload);
  const newest = await writer.query(
    "SELECT max(id)::text AS id FROM metastore.events WHERE namespace = $1 AND resource_id = 'k1'", [ns]);
  is(String(p?.id), newest.rows[0].id, 'payload id = the new row of metastore.events');
  is(p?.action, 'create', 'payload action: create');
  is(p?.resource_type, 'record', 'payload resource_type: record');
  is(JSON.stringify(Object.keys(p ?? {}).sort()), JSON.stringify(['action', 'id', 'resource_type']),
    'the payload is a wake-up only: id, action, resource_type, no data');
  const firstId = BigInt(p?.id ?? 0);

  // ---- an update ----
  await writer.query("SELECT metastore.put_record($1, 'k1', '{\"v\": 2}')", [ns]);
  msg = await next(5000);
  p = msg ? parse(msg) : null;
  is(p?.action, 'update', 'an update notifies with action update');
  ok(p && BigInt(p.id) > firstId, 'with a larger id');
  const row = p ? await eventRow(p.id) : null;
  is(row?.resource_id, 'k1', 'its row names the record');
  is(row?.namespace, ns, 'and its namespace');

  // ---- a rolled-back change: nothing ----
  await writer.query('BEGIN');
  await writer.query("SELECT metastore.put_record($1, 'never', '{\"v\": 1}')", [ns]);
  await writer.query('ROLLBACK');
  msg = await next(1000);
  is(msg, null, 'a rolled-back put_record: no notification within 1 s');
  const none = await writer.query(
    "SELECT count(*)::int AS n FROM metastore.events WHERE namespace = $1 AND resource_id = 'never'", [ns]);
  is(none.rows[0].n, 0, 'and no event row');

  // ---- nothing before commit, everything at commit, in id order ----
  await writer.query('BEGIN');
  await writer.query("SELECT metastore.put_record($1, 'k2', '{\"v\": 1}')", [ns]);
  await writer.query("SELECT metastore.put_record($1, 'k3', '{\"v\": 1}')", [ns]);
  msg = await next(500);
  is(msg, null, 'an open transaction has notified nobody yet');
  await writer.query('COMMIT');
  const a = await next(5000);
  const b = await next(5000);
  ok(a !== null && b !== null, 'two changes in one transaction: two notifications at commit');
  const pa = a ? parse(a) : null;
  const pb = b ? parse(b) : null;
  ok(pa && pb && BigInt(pb.id) === BigInt(pa.id) + 1n, 'delivered in id order, consecutive ids',
    `${pa?.id}, ${pb?.id}`);
  const keys = await Promise.all([pa, pb].map((x) => (x ? eventRow(x.id) : null)));
  is(keys.map((r) => r?.resource_id).join(','), 'k2,k3', 'ids follow the order of the changes');

  // ---- a flag ----
  const flag = `${tag}-flag`.replace(/[^A-Za-z0-9._-]/g, '-');
  await writer.query("SELECT metastore.put_flag($1, '{\"is_enabled\": true}', NULL, $2)", [flag, ns]);
  msg = await next(5000);
  p = msg ? parse(msg) : null;
  is(p?.resource_type, 'flag', 'put_flag notifies with resource_type flag');
  is((p ? await eventRow(p.id) : null)?.resource_id, flag, 'its row names the flag');

  msg = await next(300);
  is(msg, null, 'no stray notifications');
}

try {
  await main();
} catch (e) {
  ok(false, 'no exception', e.stack ?? String(e));
} finally {
  await listener.end().catch(() => {});
  await writer.end().catch(() => {});
}
console.log(`1..${n}`);
process.exit(failed ? 1 : 0);
