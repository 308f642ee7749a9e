// Starts the lab (index.html and embed.html both load this). Relative paths only:
// the folder can be served from any sub-path.
//
// The trainer's worker starts first, so its module (the CPU or the WebGPU trainer,
// which worker.js picks) downloads while the page's small module loads and paints.
// What the worker says before the page listens is kept and handed over.
import init, { start_app } from './wasm-pkg/icl_lab_page.js';

const backend = new URLSearchParams(location.hash.slice(1)).get('backend') ?? 'auto';
const early = [];
let worker;
try {
  worker = new Worker(`./worker.js?backend=${encodeURIComponent(backend)}`, { type: 'module' });
  worker.onmessage = (e) => early.push(e.data);
  worker.onerror = (e) => early.push({ error: String(e.message ?? e) });
} catch (e) {
  // The page starts one itself and reports what went wrong.
  worker = undefined;
}

try {
  await init();
  start_app(worker, early, backend);
} catch (e) {
  document.getElementById('app').innerHTML =
    '<p class="notice error" role="alert">ICL Lab could not start: ' + String(e) +
    '. It needs a browser with WebAssembly (any current Chrome, Edge, Firefox or Safari).</p>';
  throw e;
}
