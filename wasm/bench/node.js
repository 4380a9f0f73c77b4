// One Node measurement run (spawned by run.js): cold start, SELECT 1, 10,000 rows via neon.
import { performance } from 'node:perf_hooks';
import { loopMs, splitSelect1 } from './split.js';

const t0 = performance.now();
// POSTWIRE_PKG: another build of the package (to compare before and after).
const { MockServer } = await import(process.env.POSTWIRE_PKG ? `${process.env.POSTWIRE_PKG}/index.js` : '../pkg/index.js');
const tOurs = performance.now();
const { Client } = await import('@neondatabase/serverless');
const tImported = performance.now();
const url = 'postgresql://alice:pw@mock.local/app';

// neon's coalesceWrites batches writes behind setTimeout(0): every round trip
// then waits for a timer (1 ms in Node, 4 ms in browsers). Measured both ways.
async function connect(server, coalesceWrites = false) {
  const client = new Client(url);
  client.neonConfig.webSocketConstructor = server.WebSocket;
  client.neonConfig.coalesceWrites = coalesceWrites;
  await client.connect();
  return client;
}

const server = new MockServer();
const tServer = performance.now();
const rows = Array.from({ length: 10_000 }, (_, i) => [i, `name ${i}`, i * 0.5, i % 2 === 0]);
server.when('SELECT * FROM big').reply({ columns: ['id', 'name', 'score', 'even'], rows });
const tRules = performance.now();
const client = await connect(server);
const tConnect = performance.now();
await client.query('SELECT 1');
const coldStartMs = performance.now() - t0;
const parts = {
  importOurs: tOurs - t0,
  importNeon: tImported - tOurs,
  newMockServer: tServer - tImported,
  rules: tRules - tServer,
  connect: tConnect - tRules,
  firstQuery: performance.now() - tConnect,
};
const select1Ms = await loopMs(() => client.query('SELECT 1'));
const coalesced = await connect(server, true);
let t = performance.now();
for (let i = 0; i < 200; i++) await coalesced.query('SELECT 1');
const select1CoalescedMs = (performance.now() - t) / 200;
await coalesced.end();
await client.query('SELECT * FROM big');
const reps = 10;
t = performance.now();
for (let i = 0; i < reps; i++) await client.query('SELECT * FROM big');
const bigQueryMs = (performance.now() - t) / reps;
await client.end();
const split = await splitSelect1(MockServer, (s, pipelineConnect, coalesceWrites) => connect(s, coalesceWrites));
console.log(JSON.stringify({ ...split, coldStartMs, parts, importMs: tImported - t0, select1Ms, select1CoalescedMs, bigQueryMs, rowsPerSecond: Math.round(10_000 / (bigQueryMs / 1000)) }));
