// @neondatabase/serverless (Client and Pool) against the mock server's WebSocket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Client, Pool, neonConfig } from '@neondatabase/serverless';
import { MockServer } from '../pkg/index.js';
import { cancelRequest } from './wire.js';

/** Waits (bounded) until `condition` holds. */
async function until(condition) {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(condition());
}

const url = 'postgresql://alice:secret@mock.local/app';

function server(options = {}) {
  const s = new MockServer({ auth: 'password', users: { alice: 'secret' }, ...options });
  neonConfig.webSocketConstructor = s.WebSocket;
  return s;
}

async function connect(s, { pipelineConnect = 'password', coalesceWrites = true } = {}) {
  const client = new Client(url);
  client.neonConfig.webSocketConstructor = s.WebSocket;
  client.neonConfig.pipelineConnect = pipelineConnect;
  client.neonConfig.coalesceWrites = coalesceWrites;
  await client.connect();
  return client;
}

for (const pipelineConnect of ['password', false]) {
  for (const coalesceWrites of [true, false]) {
    test(`connect, query, end: pipelineConnect=${pipelineConnect} coalesceWrites=${coalesceWrites}`, async () => {
      const s = server();
      s.when('SELECT * FROM users').reply({ columns: ['id', 'name'], rows: [[1, 'ann'], [2, 'bob']] });
      const client = await connect(s, { pipelineConnect, coalesceWrites });
      assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
      const users = await client.query('SELECT * FROM users');
      assert.deepEqual(users.rows, [
        { id: 1, name: 'ann' },
        { id: 2, name: 'bob' },
      ]);
      assert.equal(users.rowCount, 2);
      assert.equal(users.command, 'SELECT');
      assert.equal(s.sessions.length, 1);
      assert.equal(s.sessions[0].user, 'alice');
      assert.equal(s.sessions[0].database, 'app');
      // end() resolves only if the server closes the socket after Terminate.
      await client.end();
      assert.equal(s.sessions.length, 0);
    });
  }
}

test('SCRAM-SHA-256 login without pipelined connect, right and wrong password', async () => {
  const s = server({ auth: 'scram' });
  const client = await connect(s, { pipelineConnect: false });
  assert.deepEqual((await client.query('SELECT 1 AS one')).rows, [{ one: 1 }]);
  await client.end();
  const wrong = new Client('postgresql://alice:nope@mock.local/app');
  wrong.neonConfig.webSocketConstructor = s.WebSocket;
  wrong.neonConfig.pipelineConnect = false;
  await assert.rejects(wrong.connect(), (e) => e.code === '28P01');
});

test('wrong password fails with 28P01, in both connect modes', async () => {
  const s = server();
  for (const pipelineConnect of ['password', false]) {
    const client = new Client('postgresql://alice:nope@mock.local/app');
    client.neonConfig.webSocketConstructor = s.WebSocket;
    client.neonConfig.pipelineConnect = pipelineConnect;
    client.on('error', () => {});
    // With a pipelined connect, connect() resolves before the server answers:
    // the error then fails the first query.
    const attempt = async () => {
      await client.connect();
      await client.query('SELECT 1');
    };
    await assert.rejects(attempt(), (e) => e.code === '28P01' && /password authentication failed/.test(e.message));
  }
});

test('parameters reach handlers and values come back typed', async () => {
  const s = server();
  s.when(/FROM items WHERE id = \$1 AND tag = \$2/).reply((sql, params) => ({
    columns: [
      'id',
      'tag',
      { name: 'price', type: 'numeric' },
      'ratio',
      'big',
      'ok',
      'at',
      'data',
      'doc',
      'nums',
      'words',
      { name: 'nothing', type: 'int4' },
    ],
    rows: [
      [
        Number(params[0]),
        params[1],
        '12.50',
        0.25,
        9007199254740993n,
        true,
        new Date('2024-05-06T07:08:09.123Z'),
        new Uint8Array([0, 1, 255]),
        { a: [1, 'x'] },
        [1, 2, null],
        ['a', 'b c'],
        null,
      ],
    ],
  }));
  const client = await connect(s);
  const { rows, fields } = await client.query('SELECT * FROM items WHERE id = $1 AND tag = $2', [42, 'red']);
  assert.deepEqual(s.queries.at(-1).params, ['42', 'red']);
  const row = rows[0];
  assert.equal(row.id, 42);
  assert.equal(row.tag, 'red');
  assert.equal(row.price, '12.50');
  assert.equal(row.ratio, 0.25);
  assert.equal(row.big, '9007199254740993');
  assert.equal(row.ok, true);
  assert.equal(row.at.toISOString(), '2024-05-06T07:08:09.123Z');
  assert.deepEqual([...row.data], [0, 1, 255]);
  assert.deepEqual(row.doc, { a: [1, 'x'] });
  assert.deepEqual(row.nums, [1, 2, null]);
  assert.deepEqual(row.words, ['a', 'b c']);
  assert.equal(row.nothing, null);
  assert.deepEqual(
    fields.map((f) => f.dataTypeID),
    [23, 25, 1700, 701, 20, 16, 1184, 17, 114, 1007, 1009, 23],
  );
  // Parameters of other types: NULL, bytea (sent binary by the driver), dates, JSON.
  s.when('SELECT echo($1, $2, $3, $4)').reply((sql, params) => {
    assert.equal(params[0], null);
    assert.ok(params[1] instanceof Uint8Array);
    assert.deepEqual([...params[1]], [9, 8]);
    assert.equal(params[2], '2024-01-02T03:04:05.000Z');
    assert.equal(params[3], '{"k":1}');
    return { rows: [{ ok: true }] };
  });
  const echoed = await client.query('SELECT echo($1, $2, $3, $4)', [
    null,
    Buffer.from([9, 8]),
    new Date('2024-01-02T03:04:05Z').toISOString(),
    JSON.stringify({ k: 1 }),
  ]);
  assert.deepEqual(echoed.rows, [{ ok: true }]);
  await client.end();
});

test('errors carry their code, detail and hint; the session survives', async () => {
  const s = server();
  s.when(/INSERT INTO users/).fail({ code: '23505', message: 'duplicate key', detail: 'Key (id)=(1) exists.', hint: 'pick another' });
  s.onQuery((sql) => {
    if (sql.startsWith('THROW')) throw Object.assign(new Error('boom'), { code: '22012' });
    return undefined;
  });
  const client = await connect(s);
  await assert.rejects(client.query('INSERT INTO users VALUES (1)'), (e) => {
    assert.equal(e.code, '23505');
    assert.equal(e.detail, 'Key (id)=(1) exists.');
    assert.equal(e.hint, 'pick another');
    return true;
  });
  await assert.rejects(client.query('THROW now'), (e) => e.code === '22012' && e.message === 'boom');
  await assert.rejects(client.query('SELECT * FROM nowhere'), (e) => e.code === '0A000');
  assert.deepEqual((await client.query('SELECT 2 AS two')).rows, [{ two: 2 }]);
  await client.end();
});

test('transactions: status tracked, failed transaction refuses commands until ROLLBACK', async () => {
  const s = server();
  s.when('UPDATE t SET a = 1').reply({ rowCount: 3 });
  s.when('BAD').fail({ code: '42601', message: 'syntax error' });
  const client = await connect(s);
  await client.query('BEGIN');
  assert.equal(s.sessions[0].transactionStatus, 'T');
  const updated = await client.query('UPDATE t SET a = 1');
  assert.equal(updated.rowCount, 3);
  await assert.rejects(client.query('BAD'), (e) => e.code === '42601');
  assert.equal(s.sessions[0].transactionStatus, 'E');
  await assert.rejects(client.query('SELECT 1'), (e) => e.code === '25P02');
  await assert.rejects(client.query('SELECT $1::int', [1]), (e) => e.code === '25P02');
  await client.query('ROLLBACK');
  assert.equal(s.sessions[0].transactionStatus, 'I');
  assert.deepEqual((await client.query('SELECT 1 AS x')).rows, [{ x: 1 }]);
  await client.query('BEGIN');
  await client.query('COMMIT');
  assert.equal(s.sessions[0].transactionStatus, 'I');
  await client.end();
});

test('LISTEN/NOTIFY: server.notify and SQL NOTIFY reach listening sessions only', async () => {
  const s = server();
  const listener = await connect(s);
  const other = await connect(s);
  const received = [];
  listener.on('notification', (n) => received.push([n.channel, n.payload]));
  await listener.query('LISTEN jobs');
  assert.deepEqual(s.sessions.find((x) => x.listening.length).listening, ['jobs']);
  assert.equal(s.notify('jobs', 'first'), 1);
  assert.equal(s.notify('elsewhere', 'x'), 0);
  await other.query("NOTIFY jobs, 'second'");
  for (let i = 0; i < 100 && received.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.deepEqual(received, [
    ['jobs', 'first'],
    ['jobs', 'second'],
  ]);
  await listener.query('UNLISTEN *');
  assert.equal(s.notify('jobs', 'third'), 0);
  await listener.end();
  await other.end();
});

test('a CancelRequest through a second WebSocket cancels a delayed query with 57014', async () => {
  const s = server();
  s.when('SELECT slow()').delay(60_000).reply({ rows: [{ never: 1 }] });
  const client = await connect(s);
  const slow = client.query('SELECT slow()');
  await new Promise((r) => setTimeout(r, 20));
  const ws = new s.WebSocket('wss://mock.local/v2');
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve) => ws.addEventListener('open', resolve, { once: true }));
  const closed = new Promise((resolve) => ws.addEventListener('close', resolve, { once: true }));
  const secret = new Uint8Array(4);
  new DataView(secret.buffer).setInt32(0, client.secretKey);
  ws.send(cancelRequest(client.processID, secret));
  await closed;
  await assert.rejects(slow, (e) => e.code === '57014');
  assert.deepEqual((await client.query('SELECT 3 AS n')).rows, [{ n: 3 }]);
  await client.end();
});

test('20 concurrent clients are isolated sessions', async () => {
  const s = server();
  s.when('BAD').fail({ code: '42601', message: 'syntax error' });
  s.onQuery((sql, params, session) => ({ rows: [{ pid: session.processId, n: Number(params[0]) }] }));
  const clients = await Promise.all(Array.from({ length: 20 }, () => connect(s)));
  assert.equal(new Set(s.sessions.map((x) => x.processId)).size, 20);
  await Promise.all(clients.map((c, i) => c.query('BEGIN').then(() => (i % 2 ? c.query('BAD') : null)).catch(() => {})));
  const results = await Promise.all(clients.map((c, i) => c.query('SELECT who($1)', [i]).catch((e) => e.code)));
  for (let i = 0; i < 20; i++) {
    if (i % 2) assert.equal(results[i], '25P02', 'only the failed transactions refuse');
    else assert.equal(results[i].rows[0].n, i);
  }
  const pids = results.filter((r) => r.rows).map((r) => r.rows[0].pid);
  assert.equal(new Set(pids).size, 10);
  await Promise.all(clients.map((c) => c.end()));
  assert.equal(s.sessions.length, 0);
});

test('Pool, in both pipelineConnect modes', async () => {
  for (const pipelineConnect of ['password', false]) {
    const s = server();
    neonConfig.pipelineConnect = pipelineConnect;
    s.when(/^SELECT n/).reply((sql, params) => ({ rows: [{ n: Number(params[0]) * 2 }] }));
    const pool = new Pool({ connectionString: url, max: 4 });
    const results = await Promise.all(Array.from({ length: 12 }, (_, i) => pool.query('SELECT n($1)', [i])));
    assert.deepEqual(
      results.map((r) => r.rows[0].n),
      Array.from({ length: 12 }, (_, i) => i * 2),
    );
    assert.ok(s.sessions.length <= 4);
    await pool.end();
    await until(() => s.sessions.length === 0);
  }
  neonConfig.pipelineConnect = 'password';
});

test('trust auth over WebSocket still takes the pipelined password', async () => {
  const s = server({ auth: 'trust', users: undefined });
  const client = await connect(s);
  assert.deepEqual((await client.query("SELECT 'ok' AS status")).rows, [{ status: 'ok' }]);
  await client.end();
});
