// Where the main thread's CPU goes in a Chromium cold start, from Chromium's
// trace, without DevTools attached (the way bench/run.js measures). Thread
// time, so the machine's load inflates it far less than the wall clock;
// tracing adds some of its own. COLD_RUNS fresh browsers (default 3), one
// line each, then the medians.
//
//   bash wasm/build.sh && node wasm/bench/cpu.js [#cold|#cold-mock]
//
// Columns (ms of thread time unless noted):
// - parse: the package chunk's streaming parse (a worker thread, but before
//   the .wasm fetch can start), eval: its evaluation on the main thread;
// - decode: the .wasm's streaming compile on the main thread
//   (wasm.OnBytesReceived and wasm.FinishStreaming: V8 decodes there and
//   validates on workers);
// - jsCompile / wasmCompile: lazy compiles on first call (V8.CompileCode
//   outside the chunk's evaluation, wasm.CompileLazy), by phase: import,
//   new MockServer, connect (or open), first query (or login and query);
// - toFetch: the main thread's CPU from the start of the chunk's evaluation
//   to the .wasm's compileStreaming call (toFetchWall: the same in wall time);
// - main: all of the main thread's tasks inside the cold start; gc: V8's
//   garbage collections in it.
import { runPage } from '../test/browser/harness.js';

const hash = process.argv[2] ?? '#cold';
const runs = Number(process.env.COLD_RUNS ?? 3);
const categories = [
  'blink.user_timing',
  'toplevel',
  'v8',
  'devtools.timeline',
  'v8.wasm',
  'disabled-by-default-v8.compile',
];

const rows = [];
for (let i = 0; i < runs; i++) {
  const { results, trace } = await runPage(hash, { copyWasm: true, devtools: false, trace: categories });
  if (results.failure) throw new Error(results.failure);
  const row = analyse(trace, results);
  rows.push(row);
  console.log(format(row));
}
const median = {};
for (const key of Object.keys(rows[0])) {
  const sorted = rows.map((r) => r[key]).sort((a, b) => a - b);
  median[key] = sorted[Math.floor(sorted.length / 2)];
}
console.log(`medians of ${runs}: ${format(median)}`);

function analyse(trace, results) {
  const mark = (name) => trace.find((e) => e.name === name && e.cat.includes('blink.user_timing'));
  const [start, end] = [mark('cold-start'), mark('cold-end')];
  const { pid, tid } = start;
  const at = (e) => (e.ts - start.ts) / 1000;
  const cpu = (e) => (e.tdur ?? e.dur) / 1000;
  const inside = (e) => e.ph === 'X' && e.pid === pid && e.ts >= start.ts && e.ts <= end.ts;
  const main = trace.filter((e) => inside(e) && e.tid === tid);
  // Phase boundaries (ms from the start), from the page's own clock.
  const p = results.parts;
  const names = Object.keys(p).filter((k) => typeof p[k] === 'number' && k !== 'beforeClock');
  const bounds = [];
  let t = 0;
  for (const name of names) bounds.push([name, (t += p[name])]);
  const phaseOf = (e) => (bounds.find(([, b]) => at(e) < b) ?? bounds.at(-1))[0];

  // Top-level slices of the main thread (not nested in another one).
  const top = [];
  let until = -Infinity;
  for (const e of [...main].sort((a, b) => a.ts - b.ts || b.dur - a.dur)) {
    if (e.ts >= until) {
      top.push(e);
      until = e.ts + e.dur;
    }
  }
  const outermost = (name) => {
    const out = [];
    let stop = -Infinity;
    for (const e of main.filter((x) => x.name === name).sort((a, b) => a.ts - b.ts)) {
      if (e.ts >= stop) {
        out.push(e);
        stop = e.ts + e.dur;
      }
    }
    return out;
  };
  const sum = (list) => list.reduce((n, e) => n + cpu(e), 0);
  const evaluate = outermost('v8.evaluateModule');
  const inEvaluate = (e) => evaluate.some((v) => e.ts >= v.ts && e.ts < v.ts + v.dur);
  // The package's chunk: the page's other script (esbuild names it after the
  // package's directory).
  const chunk = (e) => /^http:.*\.js$/.test(e.args?.data?.url ?? '') && !/\/page\.js$/.test(e.args.data.url);
  const parse = trace.filter((e) => e.ph === 'X' && e.pid === pid && e.name === 'v8.parseOnBackground' && chunk(e));
  const row = {
    coldStartMs: results.coldStartMs,
    parse: sum(parse),
    eval: sum(evaluate),
    decode: sum(main.filter((e) => e.name === 'wasm.OnBytesReceived' || e.name === 'wasm.FinishStreaming')),
    main: sum(top),
    gc: sum(main.filter((e) => /^(MinorGC|MajorGC|V8.GC_SCAVENGER|V8.GC_MARK_COMPACTOR)$/.test(e.name))),
  };
  // From the chunk's evaluation to the .wasm's compileStreaming call (which
  // takes the fetch just started): the main thread's part of the gap
  // between the chunk's arrival and the .wasm's request.
  const stream = main.find((e) => e.name === 'wasm.StartStreamingCompilation');
  if (evaluate.length && stream) {
    row.toFetchWall = (stream.ts - evaluate[0].ts) / 1000;
    row.toFetch = (stream.tts - evaluate[0].tts) / 1000;
  }
  const js = outermost('V8.CompileCode').filter((e) => !inEvaluate(e));
  const wasm = main.filter((e) => e.name === 'wasm.CompileLazy');
  row.jsCompile = sum(js);
  row.wasmCompile = sum(wasm);
  for (const [name] of bounds) {
    row[`js:${name}`] = sum(js.filter((e) => phaseOf(e) === name));
    row[`wasm:${name}`] = sum(wasm.filter((e) => phaseOf(e) === name));
  }
  return row;
}

function format(row) {
  return Object.entries(row)
    .map(([k, v]) => `${k} ${v.toFixed(k === 'coldStartMs' ? 1 : 2)}`)
    .join(', ');
}
