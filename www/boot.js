// Starts the lab (index.html and embed.html both load this). Relative paths only:
// the folder can be served from any sub-path.
import init, { start_app } from './wasm-pkg/icl_lab.js';

try {
  await init();
  start_app();
} catch (e) {
  document.getElementById('app').innerHTML =
    '<p class="notice error" role="alert">ICL Lab could not start: ' + String(e) +
    '. It needs a browser with WebAssembly (any current Chrome, Edge, Firefox or Safari).</p>';
  throw e;
}
