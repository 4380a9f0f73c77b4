// The browser page: bundled by esbuild with the package and
// @neondatabase/serverless. `#checks` runs the correctness checks that
// test/browser.test.js asserts on; `#bench` measures (bench/run.js).
import { Client, neonConfig } from '@neondatabase/serverless';

const url = 'postgresql://alice:pw@mock.local/app';

async function connect(server, pipelineConnect = 'password', coalesceWrites = true) {
  const client = new Client(url);
  client.neonConfig.coalesceWrites = coalesceWrites;
  client.neonConfig.webSocketConstructor = server.WebSocket;
  client.neonConfig.pipelineConnect = pipelineConnect;
  client.neonConfig.disableWarningInBrowsers = true;
  await client.connect();
  return client;
}

async function checks(MockServer) {
  const out = {};
  const server = new MockServer({ auth: 'password', password: 'pw' });
  server.when(/FROM users WHERE id = \$1/).reply((sql, params) => ({
    rows: [{ id: Number(params[0]), name: 'ann', tags: ['a', 'b'], seen: new Date(Date.UTC(2024, 0, 2)), n: 10n }],
  }));
  server.when('SELECT fail').fail({ code: '23505', message: 'duplicate', detail: 'd' });
  for (const mode of ['password', false]) {
    const client = await connect(server, mode);
    const r = await client.query('SELECT * FROM users WHERE id = $1', [5]);
    out[`row_${mode}`] = r.rows[0];
    out[`seenIso_${mode}`] = r.rows[0].seen.toISOString();
    await client.end();
  }
  const client = await connect(server);
  try {
    await client.query('SELECT fail');
  } catch (e) {
    out.error = { code: e.code, detail: e.detail };
  }
  await client.query('BEGIN');
  out.inTransaction = server.sessions[0].transactionStatus;
  await client.query('ROLLBACK');
  const notified = new Promise((resolve) => client.on('notification', (n) => resolve(n.payload)));
  await client.query('LISTEN ch');
  server.notify('ch', 'hello browser');
  out.notification = await notified;
  await client.end();
  out.sessionsAfterEnd = server.sessions.length;
  out.binaryType = new server.WebSocket('ws://x').binaryType;
  return out;
}

async function bench(MockServer, coldStartMs, importMs) {
  const server = new MockServer();
  const rows = Array.from({ length: 10_000 }, (_, i) => [i, `name ${i}`, i * 0.5, i % 2 === 0]);
  server.when('SELECT * FROM big').reply({ columns: ['id', 'name', 'score', 'even'], rows });
  // neon's coalesceWrites (the default) waits for a setTimeout(0) per write:
  // measured both ways.
  const coalesced = await connect(server);
  let t = performance.now();
  for (let i = 0; i < 100; i++) await coalesced.query('SELECT 1');
  const select1CoalescedMs = (performance.now() - t) / 100;
  await coalesced.end();
  const client = await connect(server, 'password', false);
  for (let i = 0; i < 200; i++) await client.query('SELECT 1');
  const n = 2000;
  t = performance.now();
  for (let i = 0; i < n; i++) await client.query('SELECT 1');
  const select1Ms = (performance.now() - t) / n;
  await client.query('SELECT * FROM big');
  const reps = 5;
  t = performance.now();
  for (let i = 0; i < reps; i++) await client.query('SELECT * FROM big');
  const bigMs = (performance.now() - t) / reps;
  await client.end();
  return { coldStartMs, importMs, select1Ms, select1CoalescedMs, rowsPerSecond: Math.round(10_000 / (bigMs / 1000)), bigQueryMs: bigMs };
}

async function main() {
  const t0 = performance.now();
  const { MockServer } = await import('postwire-wasm');
  const importMs = performance.now() - t0;
  const server = new MockServer();
  const client = await connect(server, 'password', false);
  await client.query('SELECT 1');
  const coldStartMs = performance.now() - t0;
  await client.end();
  if (location.hash === '#bench') return bench(MockServer, coldStartMs, importMs);
  return checks(MockServer);
}

main().then(
  (results) => {
    window.results = results;
  },
  (e) => {
    window.results = { failure: String(e && e.stack ? e.stack : e) };
  },
);
