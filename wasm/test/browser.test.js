// A real browser: Debian's Chromium runs a page bundled with esbuild that
// imports the package and @neondatabase/serverless.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { runPage, chromiumPath } from './browser/harness.js';

const skip = !existsSync(chromiumPath) && `no browser at ${chromiumPath}`;

for (const copyWasm of [false, true]) {
  test(`neon in Chromium against the mock server (${copyWasm ? 'streamed .wasm' : 'inlined .wasm'})`, { skip }, async () => {
    await checks(copyWasm);
  });
}

async function checks(copyWasm) {
  const { results, errors } = await runPage('#checks', { copyWasm });
  assert.deepEqual(errors, []);
  assert.equal(results.failure, undefined, results.failure);
  for (const mode of ['password', 'false']) {
    assert.deepEqual(results[`row_${mode}`], {
      id: 5,
      name: 'ann',
      tags: ['a', 'b'],
      seen: results[`row_${mode}`].seen,
      n: '10',
    });
    assert.equal(results[`seenIso_${mode}`], '2024-01-02T00:00:00.000Z');
  }
  assert.deepEqual(results.error, { code: '23505', detail: 'd' });
  assert.equal(results.inTransaction, 'T');
  assert.equal(results.notification, 'hello browser');
  assert.equal(results.sessionsAfterEnd, 0);
  assert.equal(results.binaryType, 'blob');
}
