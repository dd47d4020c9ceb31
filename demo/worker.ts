// The demo's handlers, run in a tab's dedicated worker: `generate` streams a prompt's answer from
// a real llama.cpp engine (wllama, in WebAssembly) on a tiny model written here, no download;
// `job` is a WebGPU compute pass over a buffer of the job's size (the same arithmetic on the CPU
// without WebGPU).
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { buildTinyModel, wllamaGenerate, wllamaLoader } from '../src/wllama/index.js'
import { defineHandlers, type HandlerContext } from '../src/worker.js'
import { CONTEXT, MODELS, UNIT_BYTES, type ComputeJob, type ComputeResult, type SyncJob } from './config.js'

/* Minimal WebGPU shapes used here (the DOM lib has no WebGPU types). */
interface GpuBuffer {
  destroy(): void
  mapAsync(mode: number): Promise<void>
  getMappedRange(): ArrayBuffer
  unmap(): void
}
interface GpuDevice {
  createBuffer(d: { size: number; usage: number }): GpuBuffer
  createShaderModule(d: { code: string }): unknown
  createComputePipeline(d: { layout: 'auto'; compute: { module: unknown; entryPoint: string } }): { getBindGroupLayout(i: number): unknown }
  createBindGroup(d: { layout: unknown; entries: { binding: number; resource: { buffer: GpuBuffer } }[] }): unknown
  createCommandEncoder(): {
    beginComputePass(): {
      setPipeline(p: unknown): void
      setBindGroup(i: number, g: unknown): void
      dispatchWorkgroups(x: number, y?: number): void
      end(): void
    }
    copyBufferToBuffer(a: GpuBuffer, ao: number, b: GpuBuffer, bo: number, size: number): void
    finish(): unknown
  }
  queue: { submit(c: unknown[]): void; onSubmittedWorkDone(): Promise<void> }
}

const STORAGE = 0x80
const COPY_SRC = 0x04
const COPY_DST = 0x08
const MAP_READ = 0x01

const SHADER = `
@group(0) @binding(0) var<storage, read_write> data: array<u32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  let i = id.x + id.y * 65535u * 64u;
  if (i < arrayLength(&data)) { data[i] = data[i] * 1664525u + 1013904223u + i; }
}`

let device: Promise<GpuDevice | undefined> | undefined

function gpuDevice(): Promise<GpuDevice | undefined> {
  device ??= (async () => {
    const gpu = (navigator as { gpu?: { requestAdapter(): Promise<{ requestDevice(d?: unknown): Promise<GpuDevice> } | null> } }).gpu
    const adapter = await gpu?.requestAdapter()
    return adapter === null || adapter === undefined ? undefined : adapter.requestDevice()
  })()
  return device
}

async function onGpu(gpu: GpuDevice, job: ComputeJob, ctx: HandlerContext): Promise<number> {
  const size = job.units * UNIT_BYTES
  const buffer = gpu.createBuffer({ size, usage: STORAGE | COPY_SRC })
  const readback = gpu.createBuffer({ size: 4, usage: MAP_READ | COPY_DST })
  try {
    const pipeline = gpu.createComputePipeline({
      layout: 'auto',
      compute: { module: gpu.createShaderModule({ code: SHADER }), entryPoint: 'main' },
    })
    const group = gpu.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer } }] })
    const groups = Math.ceil(size / 4 / 64)
    for (let step = 1; step <= job.steps; step++) {
      ctx.signal.throwIfAborted()
      const encoder = gpu.createCommandEncoder()
      const pass = encoder.beginComputePass()
      pass.setPipeline(pipeline)
      pass.setBindGroup(0, group)
      pass.dispatchWorkgroups(Math.min(groups, 65535), Math.ceil(groups / 65535))
      pass.end()
      gpu.queue.submit([encoder.finish()])
      await gpu.queue.onSubmittedWorkDone()
      ctx.emit(`${job.label}: pass ${step}/${job.steps} over ${job.units} MiB (WebGPU)`)
    }
    const encoder = gpu.createCommandEncoder()
    encoder.copyBufferToBuffer(buffer, 0, readback, 0, 4)
    gpu.queue.submit([encoder.finish()])
    await readback.mapAsync(MAP_READ)
    const checksum = new Uint32Array(readback.getMappedRange())[0]!
    readback.unmap()
    return checksum
  } finally {
    buffer.destroy()
    readback.destroy()
  }
}

async function onCpu(job: ComputeJob, ctx: HandlerContext): Promise<number> {
  const data = new Uint32Array((job.units * UNIT_BYTES) / 4)
  for (let step = 1; step <= job.steps; step++) {
    ctx.signal.throwIfAborted()
    for (let i = 0; i < data.length; i++) data[i] = (Math.imul(data[i]!, 1664525) + 1013904223 + i) >>> 0
    ctx.emit(`${job.label}: pass ${step}/${job.steps} over ${job.units} MiB (CPU)`)
    await new Promise((resolve) => setTimeout(resolve, 0)) // let an abort in
  }
  return data[0]!
}

const loaders = Object.fromEntries(
  Object.entries(MODELS).map(([id, model]) => [
    id,
    wllamaLoader({ wasmUrl, source: () => buildTinyModel(model).bytes, nCtx: CONTEXT, nThreads: 1 }),
  ]),
)

defineHandlers(
  {
    generate: wllamaGenerate,
    async job(job: ComputeJob, ctx): Promise<ComputeResult> {
      const gpu = await gpuDevice()
      const checksum = gpu === undefined ? await onCpu(job, ctx) : await onGpu(gpu, job, ctx)
      return { label: job.label, backend: gpu === undefined ? 'cpu' : 'webgpu', checksum, attempt: ctx.attempt }
    },
    /** A network task: its request fails while offline, and its retry policy decides. */
    async sync(job: SyncJob, ctx): Promise<string> {
      const response = await fetch('/api/sync', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: job.id, priority: job.priority }),
        signal: ctx.signal,
      })
      if (!response.ok) throw new Error(`POST /api/sync answered ${response.status}`)
      return `synced ${job.id}`
    },
  },
  { models: loaders },
)
