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

// Every WebGPU device the trainer asks for is watched: when one is lost (a driver
// reset, the GPU process gone) the page hears of it and goes on on the CPU from the
// last checkpoint. A device destroyed on purpose (a run's end) is not a loss, unless
// a reliability test destroyed it (iclLoseDevices, after Control::InjectDeviceLoss).
const devices = [];
let injected = false;
self.iclLoseDevices = () => {
  injected = true;
  for (const d of devices) d.destroy();
};
if (self.GPUAdapter) {
  const request = GPUAdapter.prototype.requestDevice;
  GPUAdapter.prototype.requestDevice = async function (...args) {
    const device = await request.apply(this, args);
    devices.push(device);
    device.lost.then((info) => {
      if (info.reason === 'destroyed' && !injected) return;
      const message = info.message || info.reason || 'no reason given';
      self.postMessage(JSON.stringify({ type: 'device_lost', message }));
    });
    return device;
  };
}

const webgpu = backend === 'webgpu' || (backend === 'auto' && (await hardwareAdapter()));
const trainer = await import(
  webgpu ? './wasm-pkg/icl_lab_trainer_webgpu.js' : './wasm-pkg/icl_lab_trainer.js'
);
await trainer.default();
trainer.worker_main();
for (const e of early) self.onmessage(e);
