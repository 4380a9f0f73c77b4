// Bundles test/browser/page.js with esbuild, serves it on 127.0.0.1 and
// opens it in Debian's Chromium through playwright-core. Used by the browser
// test and by bench/run.js.
import { createServer } from 'node:http';
import { spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { chromium } from 'playwright-core';

const here = dirname(fileURLToPath(import.meta.url));
// POSTWIRE_PKG: another build of the package (to compare before and after).
const pkg = process.env.POSTWIRE_PKG ?? join(here, '..', '..', 'pkg');

export const chromiumPath = process.env.CHROMIUM ?? '/usr/bin/chromium';

/**
 * Runs the page with `hash` (`#checks` or `#bench`) and returns its
 * `window.results`. With `copyWasm`, the .wasm is served next to the bundle
 * (fetched and compiled while streaming); without, the inlined copy is used.
 * With `profile`, V8's sampling CPU profile of the page (DevTools protocol) is
 * returned as `profile` too. With `trace` (a list of trace categories),
 * Chromium's trace of the run is returned as `trace` (its events).
 *
 * With `devtools: false` (measuring only), Chromium is started without
 * playwright, so no DevTools client is attached: playwright's enables the
 * Network domain, which has V8 collect the source positions of the calling
 * script for each request's initiator stack (about 1 ms of the main thread,
 * at the .wasm fetch). The page then POSTs its results; page errors outside
 * its main function are not seen. `trace` works there too: Chromium's startup
 * tracing (`--trace-startup`, JSON), written when `TRACE_SECONDS` (default 3)
 * have passed since the browser started.
 */
export async function runPage(hash, { copyWasm = false, profile = false, trace, devtools = true } = {}) {
  const dir = mkdtempSync(join(tmpdir(), 'postwire-page-'));
  await esbuild.build({
    entryPoints: [join(here, 'page.js')],
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outdir: dir,
    alias: { 'postwire-wasm': join(pkg, 'index.js') },
    logLevel: 'error',
  });
  if (copyWasm) copyFileSync(join(pkg, 'postwire_wasm_bg.wasm'), join(dir, 'postwire_wasm_bg.wasm'));
  // No favicon request (it would compete with the measured fetches).
  const html =
    '<!doctype html><meta charset="utf-8"><link rel="icon" href="data:,"><script type="module" src="/page.js"></script>';
  let posted;
  const resultsPosted = new Promise((resolve) => (posted = resolve));
  const http = createServer((req, res) => {
    const path = req.url.split('?')[0];
    if (req.method === 'POST' && path === '/results') {
      let body = '';
      req.on('data', (d) => (body += d)).on('end', () => {
        res.writeHead(204).end();
        posted(JSON.parse(body));
      });
      return;
    }
    if (path === '/') {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html);
      return;
    }
    try {
      const body = readFileSync(join(dir, path.replace(/^\/+/, '').replace(/\.\./g, '')));
      const type = path.endsWith('.wasm') ? 'application/wasm' : 'text/javascript';
      res.writeHead(200, { 'content-type': type }).end(body);
    } catch {
      res.writeHead(404).end();
    }
  });
  await new Promise((resolve) => http.listen(0, '127.0.0.1', resolve));
  if (!devtools) {
    try {
      const url = `http://127.0.0.1:${http.address().port}/?post${hash}`;
      return { ...(await runWithoutDevtools(url, resultsPosted, trace)), errors: [] };
    } finally {
      http.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }
  const browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox', '--disable-dev-shm-usage'] });
  try {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(String(e)));
    if (process.env.PAGE_CONSOLE) page.on('console', (m) => console.error('page:', m.text()));
    let cdp;
    if (profile) {
      cdp = await page.context().newCDPSession(page);
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.setSamplingInterval', { interval: 50 });
      await cdp.send('Profiler.start');
    }
    if (trace) await browser.startTracing(page, { categories: trace });
    await page.goto(`http://127.0.0.1:${http.address().port}/${hash}`);
    // Polled on a timer, not every animation frame, to stay out of the measurements.
    await page.waitForFunction(() => window.results !== undefined, null, {
      polling: 100,
      timeout: Number(process.env.PAGE_TIMEOUT ?? 120_000),
    });
    const results = await page.evaluate(() => window.results);
    if (trace) return { results, errors, trace: JSON.parse(await browser.stopTracing()).traceEvents };
    if (cdp) return { results, errors, profile: (await cdp.send('Profiler.stop')).profile };
    return { results, errors };
  } finally {
    await browser.close();
    http.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Opens `url` in a fresh headless Chromium of its own, without DevTools;
 * resolves with `{ results }`, and `trace` (its events) when `trace` lists
 * categories.
 */
async function runWithoutDevtools(url, results, trace) {
  const profileDir = mkdtempSync(join(tmpdir(), 'postwire-chromium-'));
  const traceFile = join(profileDir, 'trace.json');
  const tracing = trace
    ? [
        `--trace-startup=${trace.join(',')}`,
        `--trace-startup-file=${traceFile}`,
        '--trace-startup-format=json',
        `--trace-startup-duration=${Number(process.env.TRACE_SECONDS ?? 3)}`,
      ]
    : [];
  // The flags playwright starts Chromium with that keep background work
  // (updates, networking, extensions) out of the measurements, and the
  // omnibox popup's WebUI: headless Chromium 156 starts a renderer for it
  // with each fresh profile, still busy (9-41 ms of CPU on 2 cores) when a
  // cold start begins.
  const args = [
    '--headless',
    '--no-sandbox',
    '--disable-dev-shm-usage',
    `--user-data-dir=${profileDir}`,
    '--no-first-run',
    '--no-default-browser-check',
    '--disable-field-trial-config',
    '--disable-background-networking',
    '--disable-background-timer-throttling',
    '--disable-backgrounding-occluded-windows',
    '--disable-renderer-backgrounding',
    '--disable-component-update',
    '--disable-component-extensions-with-background-pages',
    '--disable-default-apps',
    '--disable-extensions',
    '--disable-sync',
    '--disable-breakpad',
    '--disable-hang-monitor',
    '--metrics-recording-only',
    '--password-store=basic',
    '--use-mock-keychain',
    '--disable-features=MediaRouter,OptimizationHints,NetworkTimeServiceQuerying,AimEnabled,PreconnectToSearch,LensOverlay,WebUIOmniboxPopup,WebUIOmniboxAimPopup',
    ...tracing,
    url,
  ];
  // A process group of its own, so that its renderer and GPU processes are
  // ended with it.
  const browser = spawn(chromiumPath, args, { stdio: 'ignore', detached: true });
  const exited = new Promise((resolve) => browser.once('exit', resolve));
  let timer;
  try {
    const out = {
      results: await Promise.race([
        results,
        exited.then(() => Promise.reject(new Error('Chromium exited before the page posted its results'))),
        new Promise((_, reject) => {
          timer = setTimeout(() => reject(new Error('no results from the page')), Number(process.env.PAGE_TIMEOUT ?? 120_000));
        }),
      ]),
    };
    if (trace) out.trace = await traceWritten(traceFile);
    return out;
  } finally {
    clearTimeout(timer);
    try {
      process.kill(-browser.pid, 'SIGTERM');
    } catch {
      // already gone
    }
    await exited;
    rmSync(profileDir, { recursive: true, force: true, maxRetries: 10, retryDelay: 50 });
  }
}

/** The events of a startup trace, once Chromium has written the whole file. */
async function traceWritten(file) {
  const deadline = Date.now() + 1000 * (Number(process.env.TRACE_SECONDS ?? 3) + 30);
  while (Date.now() < deadline) {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8'));
      return json.traceEvents ?? json;
    } catch {
      // not there or not complete yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`Chromium wrote no complete trace to ${file}`);
}
