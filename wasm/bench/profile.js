// Where the time goes in Chromium: V8's sampling CPU profile of the page,
// self time summed by script and by function.
//
//   bash wasm/build.sh
//   node wasm/bench/profile.js        # cold start, then 5,000 SELECT 1 through neon
//   node wasm/bench/profile.js cold   # the cold start only, from the first sample in the package
//
// Function names of the wasm need a module with its name section: profile
// with wasm/.build/postwire_wasm_bg.wasm (before wasm-opt) copied into pkg/.
import { runPage } from '../test/browser/harness.js';

const cold = process.argv[2] === 'cold';
const { results, errors, profile } = await runPage(cold ? '#cold' : '#profile', { copyWasm: true, profile: true });
if (errors.length || results.failure) throw new Error(errors.join('\n') || results.failure);
console.log(JSON.stringify(results));

const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const ours = (id) => /pkg-|postwire_wasm/.test(byId.get(id).callFrame.url);
// For the cold start: samples from the first one in the package's code on
// (before it: the page and neon's bundle loading, and the fetch).
const first = cold ? profile.samples.findIndex(ours) : 0;
const self = new Map();
for (let i = Math.max(0, first); i < profile.samples.length; i++) {
  const dt = profile.timeDeltas[i + 1] ?? 0;
  self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + dt);
}
const total = [...self.values()].reduce((a, b) => a + b, 0);
const byScript = new Map();
const byFunction = new Map();
for (const [id, us] of self) {
  const { callFrame } = byId.get(id);
  const script = callFrame.url.split('/').pop() || '(native)';
  byScript.set(script, (byScript.get(script) ?? 0) + us);
  const fn = `${callFrame.functionName || '(anonymous)'} ${script}:${callFrame.lineNumber}:${callFrame.columnNumber}`;
  byFunction.set(fn, (byFunction.get(fn) ?? 0) + us);
}
const top = (m, n) =>
  [...m]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, us]) => `${((100 * us) / total).toFixed(1).padStart(5)}%  ${k}`)
    .join('\n');
console.log(`by script (self time, ${(total / 1000).toFixed(0)} ms sampled):\n${top(byScript, 12)}`);
console.log(`by function:\n${top(byFunction, Number(process.env.TOP ?? 40))}`);
