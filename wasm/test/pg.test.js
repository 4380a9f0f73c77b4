// node-postgres (`pg`) over `server.pgStream()`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import pg from 'pg';
import { MockServer } from '../pkg/index.js';

function client(server, extra = {}) {
  return new pg.Client({ user: 'bob', database: 'shop', password: 'pw', stream: () => server.pgStream(), ...extra });
}

test('trust login, simple and parameterised queries', async () => {
  const s = new MockServer();
  s.when('SELECT * FROM products').reply({
    rows: [
      { id: 1, name: 'pen', price: 1.5 },
      { id: 2, name: 'ink', price: 2 },
    ],
  });
  s.when(/WHERE name = \$1/).reply((sql, params) => ({ rows: [{ name: params[0], n: params.length }] }));
  const c = client(s);
  await c.connect();
  const all = await c.query('SELECT * FROM products');
  assert.deepEqual(all.rows, [
    { id: 1, name: 'pen', price: 1.5 },
    { id: 2, name: 'ink', price: 2 },
  ]);
  assert.equal(all.fields[2].dataTypeID, 701, 'a column with a fraction is float8');
  const one = await c.query('SELECT * FROM products WHERE name = $1', ['ink']);
  assert.deepEqual(one.rows, [{ name: 'ink', n: 1 }]);
  assert.deepEqual(s.queries.map((q) => q.sql), ['SELECT * FROM products', 'SELECT * FROM products WHERE name = $1']);
  assert.deepEqual(s.queries[1].params, ['ink']);
  await c.end();
});

test('password auth with per-user passwords', async () => {
  const s = new MockServer({ auth: 'password', users: { bob: 'pw', eve: 'other' } });
  const ok = client(s);
  await ok.connect();
  assert.deepEqual((await ok.query('SELECT 1 AS n')).rows, [{ n: 1 }]);
  await ok.end();
  const wrong = client(s, { user: 'eve' });
  await assert.rejects(wrong.connect(), (e) => e.code === '28P01');
  const unknown = client(s, { user: 'mallory' });
  await assert.rejects(unknown.connect(), (e) => e.code === '28P01');
});

for (const auth of ['md5', 'scram']) {
  test(`${auth} auth, checked by the codec's machine`, async () => {
    const s = new MockServer({ auth, users: { bob: 'pw', eve: 'other' } });
    const ok = client(s);
    await ok.connect();
    assert.deepEqual((await ok.query('SELECT 1 AS n')).rows, [{ n: 1 }]);
    await ok.end();
    const wrong = client(s, { user: 'eve' });
    await assert.rejects(wrong.connect(), (e) => e.code === '28P01');
    const unknown = client(s, { user: 'mallory' });
    await assert.rejects(unknown.connect(), (e) => e.code === '28P01');
  });
}

test('constant SELECTs without rules, with casts and parameters', async () => {
  const s = new MockServer();
  const c = client(s);
  await c.connect();
  const r = await c.query("SELECT $1::int AS n, 'it''s' AS s, true AS b, NULL AS z, 1.25 AS d", ['41']);
  assert.deepEqual(r.rows, [{ n: 41, s: "it's", b: true, z: null, d: '1.25' }]);
  await assert.rejects(c.query('SELECT $1::int', ['x']), (e) => e.code === '22P02');
  await c.end();
});

test('errors, transactions, and the pipeline after an error', async () => {
  const s = new MockServer();
  s.when('SELECT boom').fail({ code: '22012', message: 'division by zero', position: 8 });
  const c = client(s);
  await c.connect();
  await assert.rejects(c.query('SELECT boom'), (e) => e.code === '22012' && e.position === '8');
  const queries = [c.query('SELECT $1::int AS a', [1]), c.query('SELECT boom'), c.query('SELECT $1::int AS a', [3])];
  const settled = await Promise.allSettled(queries);
  assert.deepEqual(
    settled.map((x) => (x.status === 'fulfilled' ? x.value.rows[0].a : x.reason.code)),
    [1, '22012', 3],
  );
  await c.query('BEGIN');
  await assert.rejects(c.query('SELECT boom'));
  await assert.rejects(c.query('SELECT 1'), (e) => e.code === '25P02');
  const commit = await c.query('COMMIT');
  assert.equal(commit.command, 'ROLLBACK', 'COMMIT of a failed transaction rolls back');
  await c.end();
});

test('LISTEN over pg, notified by the server', async () => {
  const s = new MockServer();
  const c = client(s);
  await c.connect();
  const got = new Promise((resolve) => c.on('notification', resolve));
  await c.query('LISTEN "Orders"');
  assert.equal(s.notify('Orders', '{"id":1}'), 1);
  const n = await got;
  assert.equal(n.channel, 'Orders');
  assert.equal(n.payload, '{"id":1}');
  assert.equal(n.processId, 0);
  await c.end();
});

test("pg's cancel() reaches a delayed query through a second stream", async () => {
  const s = new MockServer();
  s.when('SELECT pg_sleep(60)').delay(60_000).reply({ rows: [] });
  const c = client(s);
  await c.connect();
  const q = new pg.Query('SELECT pg_sleep(60)');
  const done = new Promise((resolve) => q.on('error', resolve).on('end', () => resolve(null)));
  c.query(q);
  await new Promise((r) => setTimeout(r, 10));
  client(s).cancel(c, q);
  const err = await done;
  assert.equal(err?.code, '57014');
  assert.deepEqual((await c.query('SELECT 5 AS five')).rows, [{ five: 5 }]);
  await c.end();
});

test('unmatched: "empty" answers with the command tag', async () => {
  const s = new MockServer({ unmatched: 'empty' });
  const c = client(s);
  await c.connect();
  const r = await c.query('INSERT INTO t VALUES (1)');
  assert.equal(r.command, 'INSERT');
  assert.equal(r.rowCount, 0);
  await c.end();
});

test('float4 and float8 text as PostgreSQL prints it (digits from the JS engine)', async () => {
  const float8 = [1e15, 1e14, 1e-5, 1e-4, -0, Number.MAX_VALUE, -123.456, 1 / 3, 12345678.9, 5e-324, NaN, -Infinity];
  const float4 = [1e6, 123456, 0.1, 1.5e-45, 100, 3.4028234663852886e38, 16777217, -2.5, 1e39];
  const s = new MockServer();
  s.when('SELECT floats').reply({
    columns: [
      { name: 'f8', type: 'float8' },
      { name: 'f4', type: 'float4' },
      { name: 'a', type: 'float8[]' },
    ],
    rows: float8.map((f8, i) => [f8, float4[i] ?? null, i === 0 ? [1.5, 1e20, null, -7, 0, 999999999999999] : null]),
  });
  const c = client(s, { types: { getTypeParser: () => (text) => text } });
  await c.connect();
  const { rows } = await c.query('SELECT floats');
  // Each checked with `SELECT '…'::float8` / `::float4` on PostgreSQL.
  assert.deepEqual(
    rows.map((r) => r.f8),
    ['1e+15', '100000000000000', '1e-05', '0.0001', '-0', '1.7976931348623157e+308', '-123.456',
      '0.3333333333333333', '12345678.9', '5e-324', 'NaN', '-Infinity'],
  );
  assert.deepEqual(
    rows.map((r) => r.f4),
    ['1e+06', '123456', '0.1', '1e-45', '100', '3.4028235e+38', '1.6777216e+07', '-2.5', 'Infinity', null, null, null],
  );
  assert.equal(rows[0].a, '{1.5,1e+20,NULL,-7,0,999999999999999}');
  await c.end();
});
