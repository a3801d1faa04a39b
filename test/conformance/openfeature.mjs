// An OpenFeature client against the running HTTP shim: the pinned npm
// @openfeature/server-sdk with @openfeature/ofrep-provider (package.json)
// evaluates flags through POST /ofrep/v1/evaluate/flags/{key}.  The test is
// self-contained: it creates its own flags through POST /api/v1/feature-flags
// (names suffixed with the process id), evaluates them through the client,
// and deletes them at the end.  Prints TAP; exits non-zero on any failure.
//
// Environment (provided by scripts/run-suites.sh, after test/http/*.t, while
// the shim still runs):
//   METASTORE_URL        the shim, e.g. http://127.0.0.1:8002
//   METASTORE_OFREP_KEY  an API key of a principal with role writer on the
//                        namespace "default"; the runner makes it with psql:
//                          SELECT metastore.grant('ofrep-test', 'default', 'writer');
//                          SELECT api_key FROM metastore.create_api_key('ofrep-test');
//   then: node test/conformance/openfeature.mjs
//
// Rollouts and variant splits are checked from first principles: the bucket
// is murmur3_x86_32(UTF-8 of "<groupId>:<targetingKey>", seed) % n + 1, as
// metastore.bucket and Unleash compute it (seed 0 for rollouts, 86028157 for
// variants), implemented below.
import { OpenFeature } from '@openfeature/server-sdk';
import { OFREPProvider } from '@openfeature/ofrep-provider';

const base = process.env.METASTORE_URL;
const apiKey = process.env.METASTORE_OFREP_KEY;
if (!base || !apiKey) {
  console.log('1..1');
  console.log('not ok 1 - METASTORE_URL and METASTORE_OFREP_KEY are set');
  process.exit(1);
}

// ---- TAP ----
let n = 0;
let failed = 0;
function ok(cond, name, diag) {
  n++;
  if (cond) console.log(`ok ${n} - ${name}`);
  else {
    failed++;
    console.log(`not ok ${n} - ${name}`);
    if (diag !== undefined) {
      for (const line of String(typeof diag === 'string' ? diag : JSON.stringify(diag)).split('\n')) {
        console.log(`#   ${line}`);
      }
    }
  }
}
function same(a, b) {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const ka = Object.keys(a).sort();
  const kb = Object.keys(b).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k]));
}
function is(got, want, name) {
  let diag = `got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`;
  if (got && want && typeof got === 'object' && typeof want === 'object' && !Array.isArray(want)) {
    // per key: only the entries that differ
    const keys = [...new Set([...Object.keys(got), ...Object.keys(want)])].filter((k) => !same(got[k], want[k]));
    diag = keys.map((k) => `${k}: got ${JSON.stringify(got[k])}, want ${JSON.stringify(want[k])}`).join('\n');
  }
  ok(same(got, want), name, diag);
}

// ---- murmur3_x86_32 and Unleash's bucket ----
function murmur3(bytes, seed) {
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  const len = bytes.length;
  const blocks = len >> 2;
  let h = seed >>> 0;
  let k;
  for (let i = 0; i < blocks; i++) {
    const j = i * 4;
    k = bytes[j] | (bytes[j + 1] << 8) | (bytes[j + 2] << 16) | (bytes[j + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const t = blocks * 4;
  k = 0;
  switch (len & 3) {
    case 3: k ^= bytes[t + 2] << 16; // fall through
    case 2: k ^= bytes[t + 1] << 8; // fall through
    case 1:
      k ^= bytes[t];
      k = Math.imul(k, c1);
      k = (k << 15) | (k >>> 17);
      k = Math.imul(k, c2);
      h ^= k;
  }
  h ^= len;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
const bucket = (s, seed = 0, normalizer = 100) => (murmur3(Buffer.from(s, 'utf8'), seed) % normalizer) + 1;

// ---- REST setup ----
const suffix = `${process.pid}-${Date.now().toString(36)}`;
const name = (p) => `of-${p}-${suffix}`;
const created = [];

async function rest(method, path, body) {
  const res = await fetch(base + path, {
    method,
    headers: { Authorization: `ApiKey ${apiKey}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json;
  try { json = text ? JSON.parse(text) : undefined; } catch { json = undefined; }
  return { status: res.status, body: json, text };
}

async function createFlag(def) {
  const res = await rest('POST', '/api/v1/feature-flags', def);
  ok(res.status === 201, `create flag ${def.name} through the REST API: 201`, res.text);
  if (res.status === 201) created.push(res.body);
  return res.body;
}

let exitCode = 0;
try {
  const f = {
    on: name('bool-on'),
    off: name('bool-off'),
    split: name('str-split'),
    single: name('str-single'),
    strOff: name('str-off'),
    num: name('num'),
    obj: name('obj'),
    users: name('target-users'),
    country: name('country'),
    roll: name('rollout'),
    env: name('env'),
    envRoll: name('env-rollout'),
    boolVariant: name('bool-variant'),
    missing: name('missing'),
  };
  await createFlag({ name: f.on, enabled: true, description: 'OpenFeature: on' });
  await createFlag({ name: f.off, enabled: false });
  await createFlag({
    name: f.split, enabled: true, value_type: 'string', default_value: 'off',
    variants: [{ name: 'red', weight: 500, value: 'R' }, { name: 'green', weight: 500, value: 'G' }],
  });
  await createFlag({
    name: f.single, enabled: true, value_type: 'string', default_value: 'off',
    variants: [{ name: 'only', weight: 1000, value: 'the-one' }],
  });
  await createFlag({ name: f.strOff, enabled: false, value_type: 'string', default_value: 'fallback', value: 'served' });
  await createFlag({ name: f.num, enabled: true, value_type: 'number', default_value: 0, value: 42.5 });
  await createFlag({
    name: f.obj, enabled: true, value_type: 'object', default_value: {},
    variants: [{ name: 'cfg', weight: 1000, value: { theme: 'dark', size: 3, tags: ['a', 'b'] } }],
  });
  await createFlag({ name: f.users, enabled: true, target_users: ['alice', 'carol'] });
  await createFlag({ name: f.country, enabled: true, rules: [{ attribute: 'country', operator: 'in', values: ['NL', 'BE'] }] });
  await createFlag({ name: f.roll, enabled: true, rollout_percentage: 30 });
  await createFlag({ name: f.env, enabled: false, environment_overrides: { production: { enabled: true } } });
  // seed 001's shape: the fields given with "environment" apply to that environment
  await createFlag({ name: f.envRoll, is_enabled: true, rollout_percentage: 40, environment: 'production' });
  await createFlag({
    name: f.boolVariant, enabled: true,
    variants: [{ name: 'blue', weight: 1000, payload: { type: 'string', value: 'b' } }],
  });

  const provider = new OFREPProvider({ baseUrl: base, headers: [['Authorization', `ApiKey ${apiKey}`]] });
  await OpenFeature.setProviderAndWait(provider);
  const client = OpenFeature.getClient('metastore-conformance');

  // boolean
  is(await client.getBooleanValue(f.on, false), true, 'getBooleanValue: an enabled flag is true');
  let d = await client.getBooleanDetails(f.on, false, { targetingKey: 'u1' });
  is([d.value, d.reason, d.variant, d.errorCode], [true, 'STATIC', undefined, undefined],
    'getBooleanDetails: value true, reason STATIC, no variant, no error');
  is(d.flagKey, f.on, 'getBooleanDetails: flagKey');
  is([d.flagMetadata.valueType, d.flagMetadata.version, d.flagMetadata.enabled], ['boolean', 1, true],
    'flag metadata: valueType, version, enabled');
  d = await client.getBooleanDetails(f.off, true);
  is([d.value, d.reason, d.errorCode], [false, 'DISABLED', undefined], 'a disabled flag: false, reason DISABLED');
  is(d.variant, undefined, 'a disabled flag: no variant');
  d = await client.getBooleanDetails(f.boolVariant, false, { targetingKey: 'u1' });
  is([d.value, d.variant, d.errorCode], [true, 'blue', undefined], 'getBooleanDetails: a boolean flag\'s variant');

  // string, number, object
  d = await client.getStringDetails(f.single, 'dflt');
  is([d.value, d.variant, d.errorCode], ['the-one', 'only', undefined], 'getStringDetails: the single variant\'s value');
  is(await client.getStringValue(f.single, 'dflt'), 'the-one', 'getStringValue');
  {
    const got = {};
    const want = {};
    for (let i = 1; i <= 40; i++) {
      const key = `user-${i}`;
      const r = await client.getStringDetails(f.split, 'dflt', { targetingKey: key });
      got[key] = [r.value, r.variant, r.reason];
      want[key] = bucket(`${f.split}:${key}`, 86028157, 1000) <= 500 ? ['R', 'red', 'SPLIT'] : ['G', 'green', 'SPLIT'];
    }
    is(got, want, 'string variants: red exactly when bucket("<name>:<targetingKey>", 86028157, 1000) <= 500, reason SPLIT');
    ok(Object.values(want).some((v) => v[1] === 'red') && Object.values(want).some((v) => v[1] === 'green'),
      'the sample has both variants');
  }
  d = await client.getStringDetails(f.strOff, 'dflt');
  is([d.value, d.reason], ['fallback', 'DISABLED'], 'a disabled string flag: its default_value, reason DISABLED');
  d = await client.getNumberDetails(f.num, 0);
  is([d.value, d.reason, d.errorCode], [42.5, 'STATIC', undefined], 'getNumberDetails: 42.5, STATIC');
  is(await client.getNumberValue(f.num, 7), 42.5, 'getNumberValue');
  is(await client.getObjectValue(f.obj, { fallback: true }), { theme: 'dark', size: 3, tags: ['a', 'b'] },
    'getObjectValue: the variant\'s object');
  d = await client.getObjectDetails(f.obj, {});
  is([d.variant, d.errorCode], ['cfg', undefined], 'getObjectDetails: variant cfg');

  // errors
  d = await client.getBooleanDetails(f.missing, true);
  is([d.value, d.reason, d.errorCode], [true, 'ERROR', 'FLAG_NOT_FOUND'], 'a flag that does not exist: the default, FLAG_NOT_FOUND');
  d = await client.getStringDetails(f.on, 'dflt');
  is([d.value, d.reason, d.errorCode], ['dflt', 'ERROR', 'TYPE_MISMATCH'], 'getStringValue on a boolean flag: the default, TYPE_MISMATCH');
  d = await client.getNumberDetails(f.split, 5, { targetingKey: 'x' });
  is([d.value, d.errorCode], [5, 'TYPE_MISMATCH'], 'getNumberValue on a string flag: TYPE_MISMATCH');
  d = await client.getBooleanDetails(f.num, false);
  is([d.value, d.errorCode], [false, 'TYPE_MISMATCH'], 'getBooleanValue on a number flag: TYPE_MISMATCH');

  // targeting
  d = await client.getBooleanDetails(f.users, false, { targetingKey: 'alice' });
  is([d.value, d.reason], [true, 'TARGETING_MATCH'], 'targetingKey in target_users: true, TARGETING_MATCH');
  d = await client.getBooleanDetails(f.users, false, { targetingKey: 'bob' });
  is([d.value, d.reason], [false, 'DEFAULT'], 'targetingKey not in target_users: false, DEFAULT');
  d = await client.getBooleanDetails(f.country, false, { targetingKey: 'x', country: 'NL' });
  is([d.value, d.reason], [true, 'TARGETING_MATCH'], 'a context attribute that matches a rule: true, TARGETING_MATCH');
  d = await client.getBooleanDetails(f.country, false, { targetingKey: 'x', country: 'DE' });
  is([d.value, d.reason], [false, 'DEFAULT'], 'a context attribute that does not match: false, DEFAULT');
  d = await client.getBooleanDetails(f.country, false, { targetingKey: 'x' });
  is([d.value, d.reason], [false, 'DEFAULT'], 'the attribute missing from the context: false, DEFAULT');
  {
    const got = {};
    const want = {};
    for (let i = 1; i <= 50; i++) {
      const key = `member-${i}`;
      const r = await client.getBooleanDetails(f.roll, false, { targetingKey: key });
      got[key] = [r.value, r.reason];
      want[key] = bucket(`${f.roll}:${key}`) <= 30 ? [true, 'SPLIT'] : [false, 'DEFAULT'];
    }
    is(got, want, '30% rollout: true exactly when bucket("<name>:<targetingKey>") <= 30, reason SPLIT; else DEFAULT');
  }
  d = await client.getBooleanDetails(f.env, false, { targetingKey: 'x', environment: 'production' });
  is([d.value, d.reason], [true, 'STATIC'], 'context.environment selects the environment override');
  d = await client.getBooleanDetails(f.env, true, { targetingKey: 'x', environment: 'staging' });
  is([d.value, d.reason], [false, 'DISABLED'], 'another environment: the base (disabled)');
  {
    const got = {};
    const want = {};
    for (let i = 1; i <= 50; i++) {
      const key = `member-${i}`;
      const r = await client.getBooleanDetails(f.envRoll, false, { targetingKey: key, environment: 'production' });
      got[key] = [r.value, r.reason];
      want[key] = bucket(`${f.envRoll}:${key}`) <= 40 ? [true, 'SPLIT'] : [false, 'DEFAULT'];
    }
    is(got, want, 'a 40% rollout in production: true exactly when bucket("<name>:<targetingKey>") <= 40');
  }

  // a change through the REST API is seen by the next evaluation
  let res = await rest('POST', `/api/v1/feature-flags/${created.find((c) => c.name === f.off).id}/enable`);
  ok(res.status === 200, 'enable a flag through the REST API', res.text);
  d = await client.getBooleanDetails(f.off, false);
  is([d.value, d.reason], [true, 'STATIC'], 'the client sees the flag enabled');

  // a provider with a bad key: the default, with an error
  const bad = new OFREPProvider({ baseUrl: base, headers: [['Authorization', 'ApiKey ms_000000000000_' + 'A'.repeat(43)]] });
  await OpenFeature.setProviderAndWait('bad-key', bad);
  d = await OpenFeature.getClient('bad-key').getBooleanDetails(f.on, false);
  is([d.value, d.reason], [false, 'ERROR'], 'a bad API key: the default value, reason ERROR');
  ok(d.errorCode !== undefined, 'a bad API key: an error code', d);

  // deleted flags are not found
  for (const c of created) {
    res = await rest('DELETE', `/api/v1/feature-flags/${c.id}`);
    ok(res.status === 204, `delete ${c.name}: 204`, res.text);
  }
  created.length = 0;
  d = await client.getBooleanDetails(f.on, false);
  is([d.value, d.errorCode], [false, 'FLAG_NOT_FOUND'], 'a deleted flag: FLAG_NOT_FOUND');
} catch (e) {
  ok(false, 'the test ran to the end', e && e.stack ? e.stack : String(e));
  exitCode = 1;
} finally {
  for (const c of created) await rest('DELETE', `/api/v1/feature-flags/${c.id}`).catch(() => {});
  await OpenFeature.close().catch(() => {});
}
console.log(`1..${n}`);
if (failed > 0) console.log(`# failed ${failed} of ${n}`);
process.exit(failed > 0 || exitCode ? 1 : 0);
