// A WebGPU compute load: `passes` dispatches over a 16 MiB buffer, each awaited.
/* eslint-disable @typescript-eslint/no-explicit-any -- WebGPU has no types in the DOM lib; this is benchmark load only */
let device: Promise<any> | undefined

export async function gpuPasses(passes: number): Promise<number> {
  device ??= (async () => {
    const adapter = await (navigator as any).gpu?.requestAdapter()
    if (!adapter) throw new Error('no WebGPU adapter (start Chromium with --enable-unsafe-webgpu)')
    return adapter.requestDevice()
  })()
  const gpu = await device
  const size = 16 * 1024 * 1024
  const buffer = gpu.createBuffer({ size, usage: 0x80 })
  const module = gpu.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> d: array<u32>;
@compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * 65535u * 64u; if (i < arrayLength(&d)) { d[i] = d[i] * 1664525u + 1013904223u; } }`,
  })
  const pipeline = gpu.createComputePipeline({ layout: 'auto', compute: { module, entryPoint: 'main' } })
  const group = gpu.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] })
  const groups = size / 4 / 64
  for (let i = 0; i < passes; i++) {
    const encoder = gpu.createCommandEncoder()
    const pass = encoder.beginComputePass()
    pass.setPipeline(pipeline)
    pass.setBindGroup(0, group)
    pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535))
    pass.end()
    gpu.queue.submit([encoder.finish()])
    await gpu.queue.onSubmittedWorkDone()
  }
  buffer.destroy()
  return passes
}
