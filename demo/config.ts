// What every part of the demo agrees on.

/** Name of the pool and of its IndexedDB database. */
export const POOL = 'demo'
export const DATABASE = 'ppl-demo'
/** One VRAM unit of the demo is this many bytes of GPU (or, without WebGPU, CPU) buffer. */
export const UNIT_BYTES = 4 * 1024 * 1024
/** The shared VRAM budget, in units (the user's choice: WebGPU does not report total VRAM). */
export const VRAM_UNITS = 12
/** Everyone who opens the demo is this user; each tab is its own session. */
export const USER = 'demo-user'

/** A job: hold `units` of buffer and run `steps` passes over it. */
export interface Job {
  readonly units: number
  readonly steps: number
  readonly label: string
}

export interface JobResult {
  readonly label: string
  readonly backend: 'webgpu' | 'cpu'
  readonly checksum: number
  readonly attempt: number
}
