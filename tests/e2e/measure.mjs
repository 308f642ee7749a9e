// Measurements quoted in notes, not tests: the bench page (#bench) on the wasm CPU
// backend and on WebGPU, and the time from pressing Train to the model's error with
// all examples falling below half of the averaging baseline's on the default lesson
// (CPU backend), and the bench page's time to ICL. Needs a built site/.
// Usage: node tests/e2e/measure.mjs [cpu] [webgpu] [lesson] [icl | icl-<preset>]
//   [bench-<preset>] (the bench page on another preset, wasm CPU: 20 steps)
//   [load] (a first visit on a 10 Mbit/s line with 40 ms latency: when Train shows,
//   when it can be pressed, and the bytes of every file, the worker's included)
import { existsSync, mkdtempSync, readFileSync, statSync } from 'node:fs';
import http from 'node:http';
import { gzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SITE = process.env.SITE || path.resolve(import.meta.dirname, '../../site');
const port = 8000 + Math.floor(Math.random() * 1000);
// A static host as people deploy the lab: files under /lab/, gzipped when the
// browser accepts it (what GitHub Pages or any CDN does), with the right types.
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.css': 'text/css', '.wasm': 'application/wasm', '.json': 'application/json', '.md': 'text/markdown', '.svg': 'image/svg+xml' };
const gzipped = new Map();
// `load` throttles the host itself, so the worker's downloads share the same line as
// the page's (Chromium's network emulation is set per page). One 10 Mbit/s line:
// 16 KiB chunks queue on a shared clock; each response starts after 40 ms.
const line = { on: false, bytesPerSec: 10e6 / 8, latencyMs: 40, freeAt: 0, served: [] };
function send(res, body, t0) {
  let offset = 0;
  const next = () => {
    if (offset >= body.length) {
      res.end();
      line.served.push({ url: res.req.url, bytes: body.length, end: Date.now() - t0 });
      return;
    }
    const chunk = body.subarray(offset, offset + 16384);
    offset += chunk.length;
    const start = Math.max(Date.now(), line.freeAt);
    line.freeAt = start + (chunk.length / line.bytesPerSec) * 1000;
    setTimeout(() => res.write(chunk, next), line.freeAt - Date.now());
  };
  setTimeout(next, line.latencyMs);
}
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://x');
  let rel = decodeURIComponent(url.pathname).replace(/^\/lab\/?/, '');
  if (rel === '' || rel.endsWith('/')) rel += 'index.html';
  const file = path.join(SITE, rel);
  if (!file.startsWith(SITE) || !existsSync(file) || statSync(file).isDirectory()) {
    res.writeHead(404);
    res.end();
    return;
  }
  const headers = { 'content-type': TYPES[path.extname(file)] || 'application/octet-stream' };
  let body = readFileSync(file);
  if ((req.headers['accept-encoding'] || '').includes('gzip')) {
    if (!gzipped.has(file)) gzipped.set(file, gzipSync(body));
    body = gzipped.get(file);
    headers['content-encoding'] = 'gzip';
  }
  res.writeHead(200, headers);
  if (line.on) send(res, body, line.t0);
  else res.end(body);
});
await new Promise((r) => server.listen(port, '127.0.0.1', r));
const base = `http://127.0.0.1:${port}/lab/`;
const context = await chromium.launchPersistentContext(mkdtempSync(path.join(tmpdir(), 'icl-chrome-')), {
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  headless: true,
  args: ['--no-sandbox', '--enable-unsafe-webgpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
});
const which = process.argv.slice(2);
const want = (k) => which.length === 0 || which.includes(k);

async function open(hash) {
  const page = await context.newPage();
  await page.goto(base + hash);
  await page.waitForFunction(() => { const b = document.querySelector('#train, #bench-run'); return b && !b.disabled; });
  return page;
}

async function bench(hash) {
  const page = await open(hash);
  await page.click('#bench-run');
  await page.waitForFunction(() => document.querySelector('#bench-state')?.textContent === 'finished', null, { timeout: 3_600_000 });
  const out = `${await page.textContent('#backend-badge')}: ${await page.textContent('#bench-rate')}; first step ${await page.textContent('#bench-first')}`;
  await page.close();
  return out;
}

try {
  if (want('cpu')) console.log(`bench garg-tiny, wasm CPU: ${await bench('#bench=30&backend=cpu')}`);
  for (const a of which.filter((a) => a.startsWith('bench-'))) {
    console.log(`bench ${a.slice(6)}, wasm CPU: ${await bench(`#bench=20&preset=${a.slice(6)}&backend=cpu`)}`);
  }
  if (want('webgpu')) console.log(`bench garg-tiny, WebGPU: ${await bench('#bench=4&backend=webgpu')}`);
  for (const preset of ['icl-in-a-minute', 'garg-tiny']) {
    if (!want('icl') && !want(`icl-${preset}`)) continue;
    // The bench page's time to ICL (evaluated every 50 steps, as the CLI does).
    const page = await open(`#bench&preset=${preset}&backend=cpu`);
    await page.click('#bench-icl-run');
    await page.waitForFunction(() => document.querySelector('#bench-icl')?.dataset.seconds, null, { timeout: 3_600_000 });
    const [step, secs] = await page.$eval('#bench-icl', (e) => [e.dataset.step, e.dataset.seconds]);
    console.log(`#bench time to ICL, ${preset}, wasm CPU: step ${step}, ${secs} s`);
    await page.close();
  }
  for (const backend of want('load') ? ['auto', 'webgpu'] : []) {
    // A first visit on a slow line (the host throttled, above), no cache, files
    // gzipped as a static host sends them.
    const page = await context.newPage();
    const cdp = await context.newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    line.on = true;
    line.served = [];
    const t0 = Date.now();
    line.t0 = t0;
    await page.goto(base + `#backend=${backend}`);
    await page.waitForFunction(() => document.querySelector('#train'), null, { timeout: 600_000 });
    const painted = (Date.now() - t0) / 1000;
    await page.waitForFunction(() => { const b = document.querySelector('#train'); return b && !b.disabled; }, null, { timeout: 600_000 });
    const ready = (Date.now() - t0) / 1000;
    line.on = false;
    const bytes = line.served.reduce((a, s) => a + s.bytes, 0);
    const wasm = line.served.filter((s) => s.url.endsWith('.wasm')).map((s) => `${s.url.split('/').pop()} ${(s.bytes / 1e6).toFixed(2)} MB (done at ${(s.end / 1000).toFixed(1)} s)`);
    console.log(`first visit at 10 Mbit/s, backend=${backend}: Train shown after ${painted.toFixed(1)} s, usable after ${ready.toFixed(1)} s; ${(bytes / 1e6).toFixed(2)} MB sent gzipped in ${line.served.length} files; ${wasm.join('; ')}`);
    await page.close();
  }
  if (want('lesson')) {
    const page = await open('#backend=cpu');
    const t0 = Date.now();
    await page.click('#train');
    await page.waitForSelector('#milestone', { timeout: 1_800_000 });
    const [step, secs] = await page.$eval('#milestone', (e) => [e.dataset.step, e.dataset.seconds]);
    console.log(`default lesson, wasm CPU: error below half of averaging's at step ${step}, ${secs} s after Train (${((Date.now() - t0) / 1000).toFixed(1)} s seen here)`);
    await page.close();
  }
} finally {
  await context.close();
  server.close();
}
