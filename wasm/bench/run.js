// Benchmarks for the wasm package: module size, cold start, SELECT 1 round
// trips and 10,000-row results through @neondatabase/serverless, in Chromium
// and in Node; PGlite side by side in Node.
//
//   bash wasm/build.sh && node wasm/bench/run.js
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPage, chromiumPath } from '../test/browser/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const wasm = readFileSync(join(here, '..', 'pkg', 'postwire_wasm_bg.wasm'));
const fmt = (n, digits = 3) => Number(n).toPrecision(digits);

console.log(`module: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzip -9`);

// Node: each measurement in a fresh process, so the cold start is cold.
const node = JSON.parse(execFileSync(process.execPath, [join(here, 'node.js')], { encoding: 'utf8' }));
console.log(
  `node ${process.version}: cold start ${fmt(node.coldStartMs)} ms (imports ${fmt(node.importMs)} ms), ` +
    `SELECT 1 ${fmt(node.select1Ms * 1000)} µs (coalesceWrites: ${fmt(node.select1CoalescedMs * 1000)} µs), ` +
    `10,000 rows ${fmt(node.bigQueryMs)} ms (${node.rowsPerSecond.toLocaleString('en')} rows/s)`,
);
console.log(
  '  cold start parts: ' +
    Object.entries(node.parts)
      .map(([k, v]) => `${k} ${fmt(v)}`)
      .join(', '),
);

if (existsSync(chromiumPath)) {
  const { results, errors } = await runPage('#bench', { copyWasm: true });
  if (errors.length || results.failure) throw new Error(errors.join('\n') || results.failure);
  console.log(
    `chromium: cold start ${fmt(results.coldStartMs)} ms (import ${fmt(results.importMs)} ms), ` +
      `SELECT 1 ${fmt(results.select1Ms * 1000)} µs (coalesceWrites: ${fmt(results.select1CoalescedMs * 1000)} µs), ` +
      `10,000 rows ${fmt(results.bigQueryMs)} ms (${results.rowsPerSecond.toLocaleString('en')} rows/s)`,
  );
  console.log(
    `  neon alone (a WebSocket replaying recorded answers, no server): SELECT 1 ${fmt(results.replaySelect1Ms * 1000)} µs`,
  );
  // Where the cold start went (ms from the import() call): the fetches
  // (resource timing), wasm compile and instantiate, then each step.
  const p = results.parts;
  const span = (s) => (s ? `${fmt(s.start)}→${fmt(s.end)}` : '-');
  const fetches = Object.entries(p)
    .filter(([k]) => k.startsWith('fetch ') || k === 'wasmFetch')
    .map(([k, v]) => `${k} ${span(v)} (first byte ${fmt(v.firstByte)})`);
  console.log(
    `  cold start parts: ${fetches.join(', ')}, ` +
      `${p.wasmCalls.map((c) => `${c.name} ${span(c)}`).join(', ')}; ` +
      `import ${fmt(p.import)}, new MockServer ${fmt(p.newMockServer)}, connect ${fmt(p.connect)}, ` +
      `first SELECT 1 ${fmt(p.firstQuery)}; before the clock (page, neon's bundle) ${fmt(p.beforeClock)}`,
  );
}

try {
  const pglite = JSON.parse(execFileSync(process.execPath, [join(here, 'pglite.js')], { encoding: 'utf8' }));
  console.log(
    `pglite (node): cold start ${fmt(pglite.coldStartMs)} ms, SELECT 1 ${fmt(pglite.select1Ms * 1000)} µs, ` +
      `10,000 rows ${fmt(pglite.bigQueryMs)} ms (${pglite.rowsPerSecond.toLocaleString('en')} rows/s)`,
  );
} catch (e) {
  console.log(`pglite: not measured (${e.message.split('\n')[0]})`);
}
