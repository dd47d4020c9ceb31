// What every part of the demo agrees on.
import { LlmCostModel } from '../src/worker.js'
import { tinyModelParameters } from '../src/wllama/gguf-entry.js'

/** Name of the pool and of its IndexedDB database. */
export const POOL = 'demo'
export const DATABASE = 'ppl-demo'
/** One VRAM unit of the demo is this many bytes (of GPU buffer for compute jobs, of model weights and KV cache for prompts). */
export const UNIT_BYTES = 1024 * 1024
/** The shared VRAM budget, in units (the user's choice: WebGPU does not report total VRAM). */
export const VRAM_UNITS = 40
/** Everyone who opens the demo is this user; each tab is its own session. */
export const USER = 'demo-user'
/** Tokens a prompt may hold with its answer (llama.cpp allocates the context at load). */
export const CONTEXT = 512

/**
 * The demo's models: tiny llama models written in the worker (buildTinyModel), of three sizes,
 * each following the character bigrams of its own text. Untrained and first-order, they repeat
 * one word ("the" → " parking parking …"); the tokens are real llama.cpp output all the same.
 */
export const MODELS = {
  tiny: {
    label: 'tiny (2 layers)',
    text: 'the parking lot runs what fits and parks the rest. ',
    blocks: 2,
    feedForward: 256,
    contextLength: CONTEXT,
  },
  small: { label: 'small (6 layers)', text: 'big jumpy fox, quiet dwarves. ', blocks: 6, feedForward: 768, contextLength: CONTEXT },
  large: { label: 'large (12 layers)', text: 'lucky dwarf jigs on a quiet path. ', blocks: 12, feedForward: 1536, contextLength: CONTEXT },
} as const
export type ModelId = keyof typeof MODELS

/** Each model's cost: its F32 weights (plus a little for buffers) resident, and each request's KV cache on top. */
export const COSTS: Readonly<Record<ModelId, LlmCostModel>> = Object.fromEntries(
  Object.entries(MODELS).map(([id, model]) => [
    id,
    new LlmCostModel({
      weightBytes: 4 * tinyModelParameters(model),
      overheadBytes: UNIT_BYTES / 2,
      // llama.cpp's F16 KV cache: keys and values of 128 dims per layer per token.
      kvBytesPerToken: 2 * 2 * 128 * model.blocks,
      unitBytes: UNIT_BYTES,
    }),
  ]),
) as Record<ModelId, LlmCostModel>

/** A compute job: hold `units` of buffer and run `steps` passes over it. */
export interface ComputeJob {
  readonly kind?: 'compute'
  readonly units: number
  readonly steps: number
  readonly label: string
}

/** A prompt for one of the models (the `generate` handler reads `prompt` and `maxTokens`). */
export interface PromptJob {
  readonly kind: 'prompt'
  readonly model: ModelId
  readonly prompt: string
  readonly maxTokens: number
  readonly label: string
}

/** A network task: send one mailbox result to the demo's server (`POST /api/sync`). */
export interface SyncJob {
  readonly kind: 'sync'
  /** The mailbox message it sends (its id: the server counts arrivals by it). */
  readonly id: string
  readonly priority: string
  readonly label: string
}

export type Job = ComputeJob | PromptJob | SyncJob

/** Network tasks run at most this many at once while online. */
export const NETWORK_UNITS = 4

export interface ComputeResult {
  readonly label: string
  readonly backend: 'webgpu' | 'cpu'
  readonly checksum: number
  readonly attempt: number
}

/** A compute job's result, or the text a prompt generated. */
export type JobResult = ComputeResult | string
