// The trainer's Web Worker: the same wasm module as the page, started at
// `worker_main`, which trains and posts events back. Loaded as a module worker.
import init, { worker_main } from './wasm-pkg/icl_lab.js';

await init();
worker_main();
