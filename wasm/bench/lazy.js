// What V8 compiles of the wasm during a cold start in Chromium. Wasm
// functions are compiled (Liftoff) when first called, on the main thread, so
// this is part of import() → first SELECT 1. Read from Chromium's trace, in
// COLD_RUNS fresh browsers (default 3): the functions compiled between the
// page's cold-start marks, their code size and the compile's CPU time (thread
// time: it does not grow with the machine's load; tracing adds a little).
//
//   bash wasm/build.sh && node wasm/bench/lazy.js [#cold|#cold-mock]
//
// TOP=n lists the n slowest function indices (names: wasm/.build's module,
// before wasm-opt, keeps them).
import { runPage } from '../test/browser/harness.js';

const hash = process.argv[2] ?? '#cold';
const runs = Number(process.env.COLD_RUNS ?? 3);
for (let i = 0; i < runs; i++) {
  const { results, errors, trace } = await runPage(hash, {
    copyWasm: true,
    trace: ['blink.user_timing', 'disabled-by-default-v8.wasm.detailed'],
  });
  if (errors.length || results.failure) throw new Error(errors.join('\n') || results.failure);
  const mark = (name) => trace.find((e) => e.name === name && e.cat.includes('blink.user_timing'));
  const [start, end] = [mark('cold-start'), mark('cold-end')];
  const compiled = trace.filter(
    (e) => e.name === 'wasm.CompileBaseline' && e.pid === start.pid && e.ts >= start.ts && e.ts <= end.ts,
  );
  const cpu = compiled.reduce((n, e) => n + (e.tdur ?? e.dur), 0) / 1000;
  const bytes = compiled.reduce((n, e) => n + e.args.bodySize, 0);
  const top = [...compiled].sort((a, b) => b.tdur - a.tdur).slice(0, Number(process.env.TOP ?? 5));
  console.log(
    `cold start ${results.coldStartMs.toFixed(1)} ms (traced): ${compiled.length} wasm functions compiled, ` +
      `${bytes} bytes of code, ${cpu.toFixed(2)} ms CPU; slowest: ` +
      top.map((e) => `#${e.args.funcIndex} ${e.tdur} µs (${e.args.bodySize} B)`).join(', '),
  );
}
