// PGlite (PostgreSQL compiled to WebAssembly) on the same workload, for comparison.
import { performance } from 'node:perf_hooks';

const t0 = performance.now();
const { PGlite } = await import('@electric-sql/pglite');
const db = await PGlite.create();
await db.query('SELECT 1');
const coldStartMs = performance.now() - t0;
await db.exec(
  "CREATE TABLE big AS SELECT i AS id, 'name ' || i AS name, i * 0.5::float8 AS score, i % 2 = 0 AS even FROM generate_series(0, 9999) i",
);
for (let i = 0; i < 500; i++) await db.query('SELECT 1');
const n = 5000;
let t = performance.now();
for (let i = 0; i < n; i++) await db.query('SELECT 1');
const select1Ms = (performance.now() - t) / n;
await db.query('SELECT * FROM big');
const reps = 10;
t = performance.now();
for (let i = 0; i < reps; i++) await db.query('SELECT * FROM big');
const bigQueryMs = (performance.now() - t) / reps;
await db.close();
console.log(JSON.stringify({ coldStartMs, select1Ms, bigQueryMs, rowsPerSecond: Math.round(10_000 / (bigQueryMs / 1000)) }));
