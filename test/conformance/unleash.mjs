// The Unleash client specification (npm @unleash/client-specification,
// pinned in package.json), run against metastore.evaluate: each spec file's
// state is imported with metastore.import_unleash inside a transaction that
// is rolled back afterwards, and every test and variant test is evaluated
// through SQL.  Prints TAP; connection from the usual PG* variables and
// METASTORE_CONFORMANCE_DB.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import pg from 'pg';

const require = createRequire(import.meta.url);
const specDir = path.join(path.dirname(require.resolve('@unleash/client-specification/package.json')),
  'specifications');
const index = JSON.parse(readFileSync(path.join(specDir, 'index.json'), 'utf8'));

// Deep equality of JSON values (key order ignored).
function same(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return same(ka.join('\u0000'), kb.join('\u0000')) && ka.every((k) => same(a[k], b[k]));
}

// Our evaluation as Unleash's getVariant() result.
function asVariant(r) {
  const v = { name: r.variant ?? 'disabled', enabled: r.variant != null, feature_enabled: r.enabled };
  if (r.variant != null && r.payload) v.payload = r.payload;
  return v;
}

const client = new pg.Client({ database: process.env.METASTORE_CONFORMANCE_DB });
await client.connect();
let n = 0;
let failed = 0;
const lines = [];
for (const file of index) {
  const spec = JSON.parse(readFileSync(path.join(specDir, file), 'utf8'));
  await client.query('BEGIN');
  try {
    await client.query('SELECT metastore.import_unleash($1)', [spec.state]);
    for (const t of spec.tests ?? []) {
      const { rows } = await client.query('SELECT metastore.evaluate($1, $2) AS r',
        [t.toggleName, t.context ?? {}]);
      const got = rows[0].r.enabled;
      n++;
      if (got === t.expectedResult) lines.push(`ok ${n} - ${file}: ${t.description}`);
      else {
        failed++;
        lines.push(`not ok ${n} - ${file}: ${t.description}`);
        lines.push(`#   expected ${t.expectedResult}, got ${JSON.stringify(rows[0].r)}`);
      }
    }
    for (const t of spec.variantTests ?? []) {
      const { rows } = await client.query('SELECT metastore.evaluate($1, $2) AS r',
        [t.toggleName, t.context ?? {}]);
      const got = asVariant(rows[0].r);
      const want = { ...t.expectedResult };
      // the specification spells it both ways across versions
      if ('featureEnabled' in want) { want.feature_enabled = want.featureEnabled; delete want.featureEnabled; }
      n++;
      if (same(got, want)) lines.push(`ok ${n} - ${file} (variant): ${t.description}`);
      else {
        failed++;
        lines.push(`not ok ${n} - ${file} (variant): ${t.description}`);
        lines.push(`#   expected ${JSON.stringify(want)}, got ${JSON.stringify(got)} from ${JSON.stringify(rows[0].r)}`);
      }
    }
  } catch (e) {
    n++;
    failed++;
    lines.push(`not ok ${n} - ${file}: ${e.message}`);
  } finally {
    await client.query('ROLLBACK');
  }
}
await client.end();
console.log(`1..${n}`);
for (const l of lines) console.log(l);
console.log(`# Unleash client specification: ${n - failed}/${n} passed`);
process.exit(failed ? 1 : 0);
