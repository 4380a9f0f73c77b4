// The mock server over its raw duplex: the extended protocol in detail,
// rules, the query log, snapshots, faults and bad input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { MockServer, PostwireError } from '../pkg/index.js';
import * as w from './wire.js';

async function session(server, params) {
  const wire = new w.Wire(server.connect());
  const login = await wire.login(params);
  assert.equal(login.at(-1).tag, 'Z');
  return wire;
}

test('md5 and scram need a password to check against', () => {
  for (const auth of ['md5', 'scram']) {
    assert.throws(() => new MockServer({ auth }), /needs `password` or `users`/);
  }
  assert.throws(() => new MockServer({ auth: 'password' }), /needs `password` or `users`/);
  assert.throws(() => new MockServer({ auth: 'kerberos' }), /unknown auth/);
});

test('login messages: parameters, key data, first ReadyForQuery', async () => {
  const s = new MockServer({ parameters: { server_version: '16.4', TimeZone: 'Europe/Paris', custom: 'x' } });
  const wire = new w.Wire(s.connect());
  const msgs = await wire.login({ user: 'alice', database: 'db', application_name: 'tests' });
  assert.equal(w.tags(msgs), 'R' + 'S'.repeat(14) + 'KZ');
  const params = Object.fromEntries(
    msgs.filter((m) => m.tag === 'S').map((m) => w.text(m.body).split('\0').slice(0, 2)),
  );
  assert.equal(params.server_version, '16.4');
  assert.equal(params.TimeZone, 'Europe/Paris');
  assert.equal(params.application_name, 'tests');
  assert.equal(params.custom, 'x');
  assert.equal(s.sessions[0].user, 'alice');
});

test('extended protocol: row limits suspend the portal, binary results, describe', async () => {
  const s = new MockServer();
  s.when('SELECT n FROM series').reply({
    columns: [
      { name: 'n', type: 'int4' },
      { name: 'label', type: 'text' },
    ],
    rows: Array.from({ length: 5 }, (_, i) => [i, `#${i}`]),
  });
  const wire = await session(s);
  wire.send(w.parse('s1', 'SELECT n FROM series'), w.bind('p1', 's1', [], { resultFormats: [1, 0] }));
  wire.send(w.describe('P', 'p1'), w.execute('p1', 2), w.execute('p1', 2), w.execute('p1', 2), w.sync());
  const msgs = await wire.until('Z');
  assert.equal(w.tags(msgs), '12TDDsDDsDCZ');
  const rows = msgs.filter((m) => m.tag === 'D').map((m) => w.dataRow(m.body));
  assert.deepEqual(
    rows.map(([n, label]) => [new DataView(n.buffer).getInt32(0), w.text(label)]),
    [0, 1, 2, 3, 4].map((i) => [i, `#${i}`]),
  );
  // As PostgreSQL: the tag counts the rows of the Execute that completed.
  assert.equal(w.text(msgs.at(-2).body), 'SELECT 1\0');
  assert.equal(s.queries.length, 1, 'the portal ran its query once');
  // A limit of exactly the rows left suspends; the next Execute completes with 0.
  wire.send(w.bind('p2', 's1', []), w.execute('p2', 5), w.execute('p2', 5), w.sync());
  const exact = await wire.until('Z');
  assert.equal(w.tags(exact), '2DDDDDsCZ');
  assert.equal(w.text(exact.at(-2).body), 'SELECT 0\0');

  // Describe of a statement: parameter types, then the static rule's columns.
  wire.send(w.parse('s2', 'SELECT n FROM series WHERE n > $1'), w.describe('S', 's2'), w.sync());
  s.when('SELECT n FROM series WHERE n > $1').reply({ columns: [{ name: 'n', type: 'int8' }], rows: [] });
  const described = await wire.until('Z');
  assert.equal(w.tags(described), '1tTZ');
  assert.deepEqual([...described[1].body], [0, 1, 0, 0, 0, 25]);
  // A statement without a rule is described by constant evaluation, or as NoData.
  wire.send(w.parse('s3', 'SELECT 1 AS one'), w.describe('S', 's3'), w.parse('s4', 'DELETE FROM t'), w.describe('S', 's4'), w.sync());
  assert.equal(w.tags(await wire.until('Z')), '1tT1tnZ');
});

test('parameters decode by declared type, in text and binary', async () => {
  const s = new MockServer();
  let seen;
  s.onQuery((sql, params) => {
    seen = params;
    return {};
  });
  const wire = await session(s);
  const int4 = new Uint8Array([0, 0, 1, 0]);
  const int8 = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0]);
  const float8 = new Uint8Array(8);
  new DataView(float8.buffer).setFloat64(0, -1.5);
  const array = new Uint8Array([0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 23, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 4, 0, 0, 0, 7, 255, 255, 255, 255]);
  // int4, int8, float8, bool, bytea, int4[], unknown (binary), text, int4 text, timestamptz text, json text
  const types = [23, 20, 701, 16, 17, 1007, 0, 25, 23, 1184, 114];
  const params = [int4, int8, float8, new Uint8Array([1]), new Uint8Array([7, 0]), array, new Uint8Array([1, 2]), 'txt', '-12', '2001-02-03 04:05:06+00', '{"a":[true]}'];
  const formats = [1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0];
  wire.send(w.parse('', 'CALL p($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11)', types), w.bind('', '', params, { paramFormats: formats }));
  wire.send(w.execute(''), w.sync());
  assert.equal(w.tags(await wire.until('Z')), '12CZ');
  assert.equal(seen[0], 256);
  assert.equal(seen[1], 4294967296n);
  assert.equal(seen[2], -1.5);
  assert.equal(seen[3], true);
  assert.deepEqual([...seen[4]], [7, 0]);
  assert.deepEqual(seen[5], [7, null]);
  assert.deepEqual([...seen[6]], [1, 2]);
  assert.equal(seen[7], 'txt');
  assert.equal(seen[8], -12);
  assert.equal(seen[9].toISOString(), '2001-02-03T04:05:06.000Z');
  assert.deepEqual(seen[10], { a: [true] });
});

test('rules: string, RegExp and predicate matchers, once/times, order, fail', async () => {
  const s = new MockServer();
  s.when('SELECT   count(*)\n FROM t;').once().reply({ rows: [{ count: 1 }] });
  s.when(/count\(\*\) from t/i).times(2).reply({ rows: [{ count: 2 }] });
  s.when((sql, params) => params[0] === 'magic').reply({ rows: [{ magic: true }] });
  s.when(/^DELETE/).fail('nope');
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await c.connect();
  const counts = [];
  for (let i = 0; i < 3; i++) counts.push((await c.query('SELECT count(*) FROM t')).rows[0].count);
  assert.deepEqual(counts, [1, 2, 2]);
  await assert.rejects(c.query('SELECT count(*) FROM t'), (e) => e.code === '0A000', 'rules used up');
  assert.deepEqual((await c.query('SELECT $1', ['magic'])).rows, [{ magic: true }]);
  await assert.rejects(c.query('DELETE FROM t'), (e) => e.code === 'XX000' && e.message === 'nope');
  await c.end();
});

test('query log, reset, snapshot and restore', async () => {
  const s = new MockServer();
  const rule = s.when('SELECT a').times(2).reply({ rows: [{ a: 1 }] });
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await c.connect();
  await c.query('SELECT a');
  const snap = s.snapshot();
  await c.query('SELECT a');
  await c.query('BEGIN');
  await c.query('COMMIT');
  assert.deepEqual(
    s.queries.map((q) => [q.sql, q.builtin]),
    [
      ['SELECT a', false],
      ['SELECT a', false],
      ['BEGIN', true],
      ['COMMIT', true],
    ],
  );
  assert.equal(rule.hits, 2);
  await assert.rejects(c.query('SELECT a'), (e) => e.code === '0A000');
  s.restore(snap);
  assert.equal(s.queries.length, 1);
  assert.deepEqual((await c.query('SELECT a')).rows, [{ a: 1 }], 'the rule has its count back');
  s.reset();
  assert.equal(s.queries.length, 0);
  await assert.rejects(c.query('SELECT a'), (e) => e.code === '0A000', 'no rules after reset');
  await c.end();
});

test('fault: ErrorResponse at startup (53300)', async () => {
  const s = new MockServer({ faults: { startupError: { code: '53300', message: 'sorry, too many clients already' } } });
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await assert.rejects(c.connect(), (e) => e.code === '53300' && e.severity === 'FATAL');
  s.setFaults({});
  const ok = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await ok.connect();
  await ok.end();
});

test('fault: refused authentication, under trust and password', async () => {
  const trust = new MockServer({ faults: { refuseAuth: true } });
  await assert.rejects(new pg.Client({ user: 'u', stream: () => trust.pgStream() }).connect(), (e) => e.code === '28000');
  const pw = new MockServer({ auth: 'password', password: 'pw', faults: { refuseAuth: true } });
  await assert.rejects(
    new pg.Client({ user: 'u', password: 'pw', stream: () => pw.pgStream() }).connect(),
    (e) => e.code === '28P01',
  );
});

test('fault: latency per message still delivers everything in order', async () => {
  const s = new MockServer({ faults: { latency: 2 } });
  s.when('SELECT x').reply({ rows: [{ x: 'y' }] });
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await c.connect();
  assert.deepEqual((await c.query('SELECT x')).rows, [{ x: 'y' }]);
  await c.end();
});

test('fault: split frames into seeded random chunks', async () => {
  const chunkSizes = async (seed) => {
    const s = new MockServer({ faults: { splitFrames: { seed, max: 7 } } });
    const conn = s.connect();
    const sizes = [];
    conn.on('data', (b) => sizes.push(b.length));
    const wire = new w.Wire(conn);
    await wire.login();
    return sizes;
  };
  const a = await chunkSizes(42);
  assert.deepEqual(await chunkSizes(42), a, 'same seed, same split');
  assert.ok(a.length > 20 && a.every((n) => n >= 1 && n <= 7));
  // Real drivers cope with it.
  const s = new MockServer({ faults: { splitFrames: { seed: 7, max: 3 } } });
  s.when('SELECT many').reply({ rows: Array.from({ length: 50 }, (_, i) => ({ i, s: 'x'.repeat(i) })) });
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await c.connect();
  const r = await c.query('SELECT many');
  assert.equal(r.rows.length, 50);
  assert.equal(r.rows[49].s.length, 49);
  await c.end();
});

test('fault: drop after N messages and on a matching query', async () => {
  const s = new MockServer({ faults: { dropAfterMessages: 3 } });
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  c.on('error', () => {});
  await c.connect(); // message 1: startup
  await c.query('SELECT 1'); // 2
  await assert.rejects(c.query('SELECT 2'), /connection dropped|Connection terminated/); // 3: dropped
  assert.equal(s.sessions.length, 0);

  s.setFaults({ dropOnQuery: /DROP ME/ });
  const d = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  d.on('error', () => {});
  await d.connect();
  await assert.rejects(d.query('SELECT 1 -- DROP ME'), /connection dropped|Connection terminated/);

  const r = new MockServer();
  r.when('SELECT x').drop();
  const e = new pg.Client({ user: 'u', stream: () => r.pgStream() });
  e.on('error', () => {});
  await e.connect();
  await assert.rejects(e.query('SELECT x'), /connection dropped|Connection terminated/);
});

test('bad input: garbage startup gets a FATAL ErrorResponse and a clean close', async () => {
  const s = new MockServer();
  const wire = new w.Wire(s.connect());
  wire.send(new Uint8Array([0, 0, 0, 2, 1, 2, 3, 4]));
  const msgs = await wire.until('never');
  assert.equal(w.tags(msgs), 'E');
  const f = w.errorFields(msgs[0].body);
  assert.equal(f.S, 'FATAL');
  assert.equal(f.C, '08P01');
  assert.deepEqual(wire.closed, { clean: true, reason: 'closed by server' });
  // An unknown protocol version: 0A000, as PostgreSQL says.
  const other = new w.Wire(s.connect());
  other.send(new Uint8Array([0, 0, 0, 8, 1, 2, 3, 4]));
  const refused = await other.until('never');
  assert.equal(w.errorFields(refused[0].body).C, '0A000');
  assert.ok(other.closed);
});

test('bad input: an unknown message after login, then a write after close throws', async () => {
  const s = new MockServer();
  const conn = s.connect();
  const wire = new w.Wire(conn);
  await wire.login();
  wire.send(w.message('!', new Uint8Array([1, 2, 3])));
  const msgs = await wire.until('never');
  assert.equal(w.errorFields(msgs[0].body).C, '08P01');
  assert.ok(wire.closed);
  assert.throws(() => conn.write(new Uint8Array([1])), (e) => e instanceof PostwireError && e.code === 'ERR_CLOSED');
  assert.throws(() => s.connect().write(42), TypeError);
});

test('bad input: an oversized message is refused with 08P01', async () => {
  const s = new MockServer({ maxMessageSize: 1024 });
  const wire = await session(s);
  wire.send(w.query('SELECT ' + 'x'.repeat(2000)));
  const msgs = await wire.until('never');
  const f = w.errorFields(msgs[0].body);
  assert.equal(f.S, 'FATAL');
  assert.equal(f.C, '08P01');
  assert.ok(wire.closed);
});

test('bad input: a result the mock cannot encode is an error, not a crash', async () => {
  const s = new MockServer();
  s.when('SELECT bad_int').reply({ columns: [{ name: 'n', type: 'int4' }], rows: [['abc']] });
  s.when('SELECT bad_shape').reply({ rows: 'nope' });
  s.when('SELECT bad_type').reply({ columns: [{ name: 'n', type: 'money' }], rows: [] });
  const c = new pg.Client({ user: 'u', stream: () => s.pgStream() });
  await c.connect();
  await assert.rejects(c.query('SELECT bad_int'), (e) => e.code === '22P02' && /int4/.test(e.message));
  await assert.rejects(c.query('SELECT bad_shape'), (e) => e.code === 'XX000');
  await assert.rejects(c.query('SELECT bad_type'), (e) => e.code === 'XX000' && /money/.test(e.message));
  assert.deepEqual((await c.query('SELECT 1 AS ok')).rows, [{ ok: 1 }]);
  await c.end();
});

test('a client that disconnects mid-query leaves no session behind', async () => {
  const s = new MockServer();
  s.when('SELECT wait').delay(50).reply({ rows: [{ a: 1 }] });
  const wire = await session(s);
  wire.send(w.query('SELECT wait'));
  await new Promise((r) => setTimeout(r, 5));
  wire.conn.close();
  await Promise.resolve();
  assert.equal(s.sessions.length, 0);
  await new Promise((r) => setTimeout(r, 60));
});

/** Tags of the messages in a byte stream. */
function streamTags(bytes) {
  let tags = '';
  for (let at = 0; at + 5 <= bytes.length; ) {
    tags += String.fromCharCode(bytes[at]);
    at += 1 + new DataView(bytes.buffer, bytes.byteOffset + at + 1).getInt32(0);
  }
  return tags;
}

function concat(chunks) {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

test('WebSocket events are asynchronous and in order, answered at once or later', async () => {
  const s = new MockServer();
  s.when('SELECT later').reply(async () => ({ rows: [{ n: 2 }] }));
  const ws = new s.WebSocket('ws://mock.local/v2');
  ws.binaryType = 'arraybuffer';
  const log = [];
  const chunks = [];
  let inside = false;
  const record = (name) => () => {
    assert.equal(inside, false, `${name} fired synchronously`);
    log.push(name);
  };
  ws.onopen = record('onopen');
  ws.addEventListener('open', record('open'));
  ws.onmessage = (e) => {
    record('onmessage')();
    chunks.push(new Uint8Array(e.data));
  };
  ws.addEventListener('message', record('message'));
  const closed = new Promise((resolve) => ws.addEventListener('close', resolve));
  ws.addEventListener('close', record('close'));
  assert.deepEqual(log, [], 'nothing fires in the constructor');
  await new Promise((resolve) => ws.addEventListener('open', resolve));
  assert.deepEqual(log, ['onopen', 'open']);

  // A pipelined login, a query answered at once, one answered by a promise,
  // two more at once, and Terminate: all sent before any answer.
  inside = true;
  const frames = [w.startup(), w.password('x'), w.query('SELECT 1'), w.query('SELECT later')];
  for (const frame of [...frames, w.query('SELECT 3; SELECT 4'), w.terminate()]) ws.send(frame);
  inside = false;
  assert.equal(chunks.length, 0, 'no message inside send()');
  await closed;
  assert.equal(log.at(-1), 'close');
  const messages = log.filter((name) => name.endsWith('message'));
  assert.ok(messages.length >= 4, 'output before the promise went out first');
  assert.deepEqual(messages, chunks.flatMap(() => ['onmessage', 'message']));
  assert.match(streamTags(concat(chunks)), /^RRS+KZ(TDCZ){2}TDCTDCZ$/);
});

test('output stays in order when the latency fault is switched off mid-session', async () => {
  const s = new MockServer({ faults: { latency: 5 } });
  const conn = s.connect();
  const chunks = [];
  conn.on('data', (b) => chunks.push(b.slice()));
  const closed = conn.closed;
  conn.write(w.startup());
  conn.write(w.query('SELECT 1'));
  // Output queued behind the latency must not be overtaken by output sent
  // after the fault is gone.
  await new Promise((resolve) => queueMicrotask(resolve));
  s.setFaults({});
  conn.write(w.query('SELECT 2'));
  conn.write(w.terminate());
  await closed;
  assert.match(streamTags(concat(chunks)), /^RS+KZTDCZTDCZ$/);
});
