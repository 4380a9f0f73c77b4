// The browser page: bundled by esbuild with the package and
// @neondatabase/serverless. `#checks` runs the correctness checks that
// test/browser.test.js asserts on; `#bench` measures (bench/run.js).
import { Client, neonConfig } from '@neondatabase/serverless';
import { startup, password, query } from '../wire.js';
import { loopMs, splitSelect1 } from '../../bench/split.js';

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
  const select1Ms = await loopMs(() => client.query('SELECT 1'));
  await client.query('SELECT * FROM big');
  const reps = 5;
  t = performance.now();
  for (let i = 0; i < reps; i++) await client.query('SELECT * FROM big');
  const bigMs = (performance.now() - t) / reps;
  await client.end();
  return { coldStartMs, importMs, select1Ms, select1CoalescedMs, rowsPerSecond: Math.round(10_000 / (bigMs / 1000)), bigQueryMs: bigMs };
}

/**
 * Wraps WebAssembly's compile and instantiate entry points to time them (the
 * bench only): returns the spans recorded, in ms since navigation start.
 */
function timeWasmCalls() {
  const spans = [];
  for (const name of ['compile', 'compileStreaming', 'instantiate', 'instantiateStreaming']) {
    const original = WebAssembly[name];
    WebAssembly[name] = async function (...args) {
      const start = performance.now();
      try {
        return await original.apply(this, args);
      } finally {
        spans.push({ name, start, end: performance.now() });
      }
    };
  }
  return spans;
}

/** The cold start, split into its parts (ms). */
function breakdown(t0, marks, wasmSpans) {
  const out = {};
  for (const e of performance.getEntriesByType('resource')) {
    if (e.startTime < t0) continue;
    const key = e.name.endsWith('.wasm') ? 'wasmFetch' : `fetch ${e.name.split('/').pop()}`;
    out[key] = { start: e.startTime - t0, firstByte: e.responseStart - t0, end: e.responseEnd - t0, bytes: e.encodedBodySize };
  }
  out.wasmCalls = wasmSpans.map((s) => ({ name: s.name, start: s.start - t0, end: s.end - t0 }));
  let last = t0;
  for (const [name, t] of marks) {
    out[name] = t - last;
    last = t;
  }
  // When the clock started: the page loaded (neon's bundle, a static import
  // of this page, parsed and evaluated), plus the settling wait.
  out.beforeClock = t0;
  return out;
}

async function main() {
  const measuring = location.hash !== '#checks';
  // #cold: the cold start only; #cold-mock: the same without neon; #profile:
  // the cold start, then SELECT 1 in a loop; #bench: everything.
  const wasmSpans = measuring ? timeWasmCalls() : [];
  if (measuring) {
    // The clock starts once the page has loaded and settled (neon's bundle
    // evaluated, the test driver's setup done), so that the cold start holds
    // only the package's own work; nothing of it is loaded before import().
    await new Promise((resolve) => (document.readyState === 'complete' ? resolve() : addEventListener('load', resolve)));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  if (location.hash === '#cold-mock') return coldMock(wasmSpans);
  // Marks for traces (bench/lazy.js), outside the clock.
  performance.mark('cold-start');
  const t0 = performance.now();
  const { MockServer } = await import('postwire-wasm');
  const tImport = performance.now();
  // neon is a static import of this page: loaded before the clock starts.
  const importMs = tImport - t0;
  const server = new MockServer();
  const tServer = performance.now();
  const client = await connect(server, 'password', false);
  const tConnect = performance.now();
  await client.query('SELECT 1');
  const tQuery = performance.now();
  performance.mark('cold-end');
  const coldStartMs = tQuery - t0;
  await client.end();
  if (!measuring) return checks(MockServer);
  const parts = breakdown(
    t0,
    [
      ['import', tImport],
      ['newMockServer', tServer],
      ['connect', tConnect],
      ['firstQuery', tQuery],
    ],
    wasmSpans,
  );
  if (location.hash === '#cold') return { coldStartMs, parts };
  if (location.hash === '#profile') return profileLoop(MockServer, coldStartMs, parts);
  return { ...(await bench(MockServer, coldStartMs, importMs)), parts, ...(await splitSelect1(MockServer, connect)) };
}

/**
 * The cold start of the mock alone, without a driver: import(), new
 * MockServer, a WebSocket, then a login (startup and password) and SELECT 1
 * written by hand, until its ReadyForQuery.
 */
async function coldMock(wasmSpans) {
  // Marks for traces (bench/lazy.js), outside the clock.
  performance.mark('cold-start');
  const t0 = performance.now();
  const { MockServer } = await import('postwire-wasm');
  const tImport = performance.now();
  const server = new MockServer();
  const tServer = performance.now();
  const ws = new server.WebSocket('ws://mock.local/v2');
  ws.binaryType = 'arraybuffer';
  await new Promise((resolve) => ws.addEventListener('open', resolve));
  const tOpen = performance.now();
  let readyForQuery = 0;
  await new Promise((resolve) => {
    ws.addEventListener('message', (e) => {
      const bytes = new Uint8Array(e.data);
      for (let at = 0; at + 5 <= bytes.length; at += 1 + new DataView(e.data, at + 1, 4).getInt32(0)) {
        if (bytes[at] === 0x5a && ++readyForQuery === 2) resolve();
      }
    });
    ws.send(startup({ user: 'alice', database: 'app' }));
    ws.send(password('pw'));
    ws.send(query('SELECT 1'));
  });
  const tQuery = performance.now();
  performance.mark('cold-end');
  ws.close();
  const marks = [
    ['import', tImport],
    ['newMockServer', tServer],
    ['open', tOpen],
    ['loginAndQuery', tQuery],
  ];
  return { coldStartMs: tQuery - t0, parts: breakdown(t0, marks, wasmSpans) };
}

/** SELECT 1 in a loop only (bench/profile.js profiles it). */
async function profileLoop(MockServer, coldStartMs, parts) {
  const server = new MockServer();
  const client = await connect(server, 'password', false);
  const n = 5000;
  const t = performance.now();
  for (let i = 0; i < n; i++) await client.query('SELECT 1');
  const select1Ms = (performance.now() - t) / n;
  await client.end();
  return { coldStartMs, parts, select1Ms };
}

main()
  .then(
    (results) => {
      window.results = results;
    },
    (e) => {
      window.results = { failure: String(e && e.stack ? e.stack : e) };
    },
  )
  .then(() => {
    // Opened without DevTools (harness.js, `devtools: false`): results go
    // back by POST.
    if (location.search === '?post') fetch('/results', { method: 'POST', body: JSON.stringify(window.results) });
  });
