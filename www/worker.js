// The trainer's Web Worker (a module worker). It loads one of two trainer modules:
// the WebGPU one when the page asks for WebGPU (`?backend=webgpu`), or for `auto`
// when the browser offers a hardware adapter; otherwise the CPU-only one, which is
// smaller. `worker_main` then trains and posts events back. Messages that arrive
// while the module loads are kept and handed to it in order.
const early = [];
self.onmessage = (e) => early.push(e);

const backend = new URL(self.location.href).searchParams.get('backend') ?? 'auto';

// Whether navigator.gpu gives an adapter that is not a software fallback (the
// trainer asks again, to name it; a software adapter is slower than the CPU).
async function hardwareAdapter() {
  try {
    const adapter = await navigator.gpu?.requestAdapter();
    if (!adapter) return false;
    return !(adapter.info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false);
  } catch {
    return false;
  }
}

const webgpu = backend === 'webgpu' || (backend === 'auto' && (await hardwareAdapter()));
const trainer = await import(
  webgpu ? './wasm-pkg/icl_lab_trainer_webgpu.js' : './wasm-pkg/icl_lab_trainer.js'
);
await trainer.default();
trainer.worker_main();
for (const e of early) self.onmessage(e);
