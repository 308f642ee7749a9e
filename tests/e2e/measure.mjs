// Measurements quoted in notes, not tests: the bench page (#bench) on the wasm CPU
// backend and on WebGPU, and the time from pressing Train to the model's error with
// all examples falling below half of the averaging baseline's on the default lesson
// (CPU backend), and the bench page's time to ICL. Needs a built site/.
// Usage: node tests/e2e/measure.mjs [cpu] [webgpu] [lesson] [icl | icl-<preset>]
//   [bench-<preset>] (the bench page on another preset, wasm CPU: 20 steps)
import { spawn } from 'node:child_process';
import { mkdtempSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

const SITE = process.env.SITE || path.resolve(import.meta.dirname, '../../site');
const port = 8000 + Math.floor(Math.random() * 1000);
const root = mkdtempSync(path.join(tmpdir(), 'icl-serve-'));
symlinkSync(SITE, path.join(root, 'lab'));
const server = spawn('python3', ['-m', 'http.server', String(port), '--bind', '127.0.0.1', '--directory', root], { stdio: 'ignore' });
await new Promise((r) => setTimeout(r, 1000));
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
  server.kill();
}
