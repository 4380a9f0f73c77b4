// Benchmarks for the wasm package: module size, cold start, SELECT 1 round
// trips and 10,000-row results through @neondatabase/serverless, in Chromium
// and in Node; PGlite side by side in Node.
//
//   bash wasm/build.sh && node wasm/bench/run.js
//
// POSTWIRE_PKG=/path/to/pkg measures another build of the package with the
// same benchmarks; COLD_RUNS sets how many cold starts (default 7).
import { readFileSync, existsSync } from 'node:fs';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runPage, chromiumPath } from '../test/browser/harness.js';

const here = dirname(fileURLToPath(import.meta.url));
const wasm = readFileSync(join(process.env.POSTWIRE_PKG ?? join(here, '..', 'pkg'), 'postwire_wasm_bg.wasm'));
const fmt = (n, digits = 3) => Number(n).toPrecision(digits);
const ms = (n) => Number(n).toFixed(1);

console.log(`module: ${wasm.length} bytes raw, ${gzipSync(wasm, { level: 9 }).length} bytes gzip -9`);

// Node: each measurement in a fresh process, so the cold start is cold.
const node = JSON.parse(execFileSync(process.execPath, [join(here, 'node.js')], { encoding: 'utf8' }));
console.log(
  `node ${process.version}: cold start ${fmt(node.coldStartMs)} ms (imports ${fmt(node.importMs)} ms), ` +
    `SELECT 1 ${fmt(node.select1Ms * 1000)} µs (coalesceWrites: ${fmt(node.select1CoalescedMs * 1000)} µs), ` +
    `10,000 rows ${fmt(node.bigQueryMs)} ms (${node.rowsPerSecond.toLocaleString('en')} rows/s)`,
);
console.log(
  `  SELECT 1 split: neon alone (a WebSocket replaying recorded answers) ${fmt(node.replaySelect1Ms * 1000)} µs, ` +
    `the mock alone (recorded frames sent to its WebSocket, no driver) ${fmt(node.serverSelect1Ms * 1000)} µs`,
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
    `chromium (one run): cold start ${fmt(results.coldStartMs)} ms (import ${fmt(results.importMs)} ms), ` +
      `SELECT 1 ${fmt(results.select1Ms * 1000)} µs (coalesceWrites: ${fmt(results.select1CoalescedMs * 1000)} µs), ` +
      `10,000 rows ${fmt(results.bigQueryMs)} ms (${results.rowsPerSecond.toLocaleString('en')} rows/s)`,
  );
  console.log(
    `  SELECT 1 split: neon alone (a WebSocket replaying recorded answers) ${fmt(results.replaySelect1Ms * 1000)} µs, ` +
      `the mock alone (recorded frames sent to its WebSocket, no driver) ${fmt(results.serverSelect1Ms * 1000)} µs`,
  );
}

// Cold starts in Chromium: each in a fresh browser, COLD_RUNS times (the
// machine's load makes single runs noisy); the median run's parts are shown.
// #cold: through neon's Client; #cold-mock: the mock alone (a WebSocket, a
// hand-written login and SELECT 1), without neon. The browser runs without
// DevTools attached (see harness.js); COLD_DEVTOOLS=1 drives it through
// playwright as before.
if (existsSync(chromiumPath)) {
  const runs = Number(process.env.COLD_RUNS ?? 7);
  const devtools = process.env.COLD_DEVTOOLS === '1';
  for (const [hash, what] of [
    ['#cold', 'through neon'],
    ['#cold-mock', 'the mock alone'],
  ]) {
    const all = [];
    for (let i = 0; i < runs; i++) {
      const { results, errors } = await runPage(hash, { copyWasm: true, devtools });
      if (errors.length || results.failure) throw new Error(errors.join('\n') || results.failure);
      all.push(results);
    }
    all.sort((a, b) => a.coldStartMs - b.coldStartMs);
    const median = all[Math.floor(all.length / 2)];
    console.log(
      `chromium cold start, ${what} (import() → first SELECT 1 answered), ${runs} runs${devtools ? ', DevTools attached' : ''}: ` +
        `median ${fmt(median.coldStartMs)} ms, min ${fmt(all[0].coldStartMs)} ms, max ${fmt(all.at(-1).coldStartMs)} ms`,
    );
    console.log(`  median run: ${coldParts(median.parts)}`);
  }
}

/** A cold start's parts, in ms from the import() call. */
function coldParts(p) {
  const span = (s) => `${ms(s.start)}→${ms(s.end)}`;
  const fetches = Object.entries(p)
    .filter(([k]) => k.startsWith('fetch ') || k === 'wasmFetch')
    .map(([k, v]) => `${k === 'wasmFetch' ? 'fetch .wasm' : k.replace(/-\w+\.js$/, ' chunk')} ${span(v)} (first byte ${ms(v.firstByte)})`);
  const calls = p.wasmCalls.map((c) => `${c.name} ${span(c)}`);
  const steps = Object.entries(p)
    .filter(([k, v]) => typeof v === 'number' && k !== 'beforeClock')
    .map(([k, v]) => `${k} ${ms(v)}`);
  return `${[...fetches, ...calls].join(', ')}; steps: ${steps.join(', ')}`;
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
