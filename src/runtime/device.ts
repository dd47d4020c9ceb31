/*
 * What the device offers: CPU cores and memory from `navigator`, the GPU from WebGPU's adapter.
 * WebGPU reports limits (largest buffer, largest binding) but never total VRAM, so a GPU budget
 * is the user's choice; see docs/runtime.md "Budgeting VRAM".
 */

/** The subset of WebGPU's adapter this module reads (the DOM lib has no WebGPU types). */
interface GpuAdapterLike {
  readonly features: Iterable<string>
  readonly limits: { readonly maxBufferSize: number; readonly maxStorageBufferBindingSize: number }
  readonly info?: GpuAdapterInfo & { readonly isFallbackAdapter?: boolean }
  /** Older Chromium put it here; newer ones on `info`. */
  readonly isFallbackAdapter?: boolean
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: 'low-power' | 'high-performance' }): Promise<GpuAdapterLike | null>
}

export interface GpuAdapterInfo {
  readonly vendor: string
  readonly architecture: string
  readonly device: string
  readonly description: string
}

export interface CpuCapacity {
  /** Logical cores (`navigator.hardwareConcurrency`). */
  readonly hardwareConcurrency: number
  /** Approximate RAM in GiB (`navigator.deviceMemory`, rounded and capped by the browser); undefined where not exposed (SharedWorker, Firefox, Safari). */
  readonly deviceMemoryGiB: number | undefined
  /** Worker count to start: one core stays with the page. */
  readonly suggestedWorkers: number
}

export interface GpuCapacity {
  readonly available: true
  readonly info: GpuAdapterInfo
  readonly features: readonly string[]
  /** Largest single buffer, bytes. */
  readonly maxBufferSize: number
  /** Largest storage buffer binding, bytes. */
  readonly maxStorageBufferBindingSize: number
  /** A software adapter (e.g. SwiftShader): it works but runs on the CPU. */
  readonly isFallbackAdapter: boolean
}

export interface NoGpu {
  readonly available: false
  /** Why there is none, in words to show a user. */
  readonly reason: string
}

export interface DeviceCapacity {
  readonly cpu: CpuCapacity
  readonly gpu: GpuCapacity | NoGpu
}

export interface DetectCapacityOptions {
  readonly powerPreference?: 'low-power' | 'high-performance'
  /** Defaults to `navigator`; pass another for tests or other globals. */
  readonly navigator?: { readonly hardwareConcurrency?: number; readonly deviceMemory?: number; readonly gpu?: GpuLike }
}

/**
 * Reads the device's CPU and GPU capacity. Never throws for a missing GPU: `gpu.available` is
 * false and `gpu.reason` says why.
 *
 * @example
 * const { cpu, gpu } = await detectCapacity()
 * const workers = new WorkerPool({ url, size: cpu.suggestedWorkers })
 * if (!gpu.available) console.info(`CPU only: ${gpu.reason}`)
 */
export async function detectCapacity(options: DetectCapacityOptions = {}): Promise<DeviceCapacity> {
  const nav = options.navigator ?? (globalThis.navigator as DetectCapacityOptions['navigator'])
  const cores = nav?.hardwareConcurrency ?? 1
  const cpu: CpuCapacity = {
    hardwareConcurrency: cores,
    deviceMemoryGiB: typeof nav?.deviceMemory === 'number' ? nav.deviceMemory : undefined,
    suggestedWorkers: Math.max(1, cores - 1),
  }
  return { cpu, gpu: await detectGpu(nav?.gpu, options.powerPreference) }
}

async function detectGpu(
  gpu: GpuLike | undefined,
  powerPreference: DetectCapacityOptions['powerPreference'],
): Promise<GpuCapacity | NoGpu> {
  if (gpu === undefined) {
    return {
      available: false,
      reason: 'no WebGPU: this browser has no navigator.gpu (WebGPU needs a secure context and a browser that ships it)',
    }
  }
  let adapter: GpuAdapterLike | null
  try {
    adapter = await gpu.requestAdapter(powerPreference === undefined ? undefined : { powerPreference })
  } catch (error) {
    return { available: false, reason: `no WebGPU: requestAdapter() failed (${error instanceof Error ? error.message : String(error)})` }
  }
  if (adapter === null) {
    return {
      available: false,
      reason:
        'no WebGPU: navigator.gpu gave no adapter (the GPU is blocklisted or disabled; Chromium on Linux needs --enable-unsafe-webgpu)',
    }
  }
  const info = adapter.info
  return {
    available: true,
    info: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      device: info?.device ?? '',
      description: info?.description ?? '',
    },
    features: [...adapter.features].sort(),
    maxBufferSize: adapter.limits.maxBufferSize,
    maxStorageBufferBindingSize: adapter.limits.maxStorageBufferBindingSize,
    isFallbackAdapter: info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false,
  }
}
