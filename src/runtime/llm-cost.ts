/*
 * VRAM arithmetic for LLM inference, from the seed's cost model (weights, KV cache per token,
 * overhead), with one correction: weights are paid once per loaded model, not once per request.
 * Two requests against one loaded model share its weights; only their KV caches add up.
 */
import { InvalidOptionError } from '../core/errors.js'
import { onlyKnownKeys, optionalNumber } from '../core/validate.js'

const MiB = 1024 * 1024

export interface LlmCostModelOptions {
  /** Bytes of the model's weights as loaded on the GPU (quantized size). */
  readonly weightBytes: number
  /** KV-cache bytes per token: 2 × layers × kv_heads × head_dim × bytes per element. */
  readonly kvBytesPerToken: number
  /** Runtime buffers besides weights and KV cache (activations, scratch). @default 0 */
  readonly overheadBytes?: number
  /** Bytes per capacity unit. @default 64 MiB */
  readonly unitBytes?: number
}

export interface LlmRequest {
  readonly promptTokens: number
  /** The most tokens the request may generate. */
  readonly maxTokens: number
}

/**
 * Turns a request into VRAM units and a VRAM budget into a pool's capacity.
 *
 * @example
 * const model = new LlmCostModel({ weightBytes: 2.2e9, kvBytesPerToken: 114_688, overheadBytes: 300e6 })
 * const pool = new ResourcePool({ capacity: model.capacity(6e9), executor })
 * await pool.submit(req, { cost: model.cost({ promptTokens: 900, maxTokens: 512 }) })
 */
export class LlmCostModel {
  readonly weightBytes: number
  readonly kvBytesPerToken: number
  readonly overheadBytes: number
  readonly unitBytes: number

  constructor(options: LlmCostModelOptions) {
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('Expected LlmCostModel options: { weightBytes, kvBytesPerToken }', 'options')
    }
    onlyKnownKeys(
      options,
      { weightBytes: 1, kvBytesPerToken: 1, overheadBytes: 1, unitBytes: 1 } satisfies Record<keyof LlmCostModelOptions, 1>,
      '',
    )
    this.weightBytes = required(options.weightBytes, 'weightBytes')
    this.kvBytesPerToken = required(options.kvBytesPerToken, 'kvBytesPerToken')
    this.overheadBytes = optionalNumber(options.overheadBytes, 'overheadBytes') ?? 0
    this.unitBytes = optionalNumber(options.unitBytes, 'unitBytes', { min: 1 }) ?? 64 * MiB
  }

  /** Units the KV cache of one request needs at its longest (prompt plus every generated token). */
  requestUnits(request: LlmRequest): number {
    const tokens = tokenCount(request.promptTokens, 'promptTokens') + tokenCount(request.maxTokens, 'maxTokens')
    return Math.max(1, Math.ceil((tokens * this.kvBytesPerToken) / this.unitBytes))
  }

  /** The submit cost of a request: `{ vram: requestUnits }`. */
  cost(request: LlmRequest): { vram: number } {
    return { vram: this.requestUnits(request) }
  }

  /** Units one loaded model holds for as long as it is loaded (weights and overhead). */
  modelUnits(): number {
    return Math.ceil((this.weightBytes + this.overheadBytes) / this.unitBytes)
  }

  /**
   * The pool capacity a VRAM budget leaves for requests once `residentModels` copies of the model
   * are loaded: `{ vram: units }`. Throws when the budget cannot even hold the models.
   */
  capacity(vramBudgetBytes: number, residentModels = 1): { vram: number } {
    const budget = required(vramBudgetBytes, 'vramBudgetBytes')
    const units = Math.floor(budget / this.unitBytes) - residentModels * this.modelUnits()
    if (units < 1) {
      throw new InvalidOptionError(
        `A VRAM budget of ${(budget / MiB).toFixed(0)} MiB cannot hold ${residentModels} model(s) of ${((this.weightBytes + this.overheadBytes) / MiB).toFixed(0)} MiB and any KV cache`,
        'vramBudgetBytes',
      )
    }
    return { vram: units }
  }

  /** The longest context (prompt plus generated tokens) that fits in `units`. */
  tokensFor(units: number): number {
    return Math.floor((units * this.unitBytes) / this.kvBytesPerToken)
  }
}

function required(value: unknown, name: string): number {
  const n = optionalNumber(value, name, { min: 1 })
  if (n === undefined) throw new InvalidOptionError(`Expected \`${name}\` (bytes, a number >= 1)`, name)
  return n
}

function tokenCount(value: unknown, name: string): number {
  const n = optionalNumber(value, name, { integer: true })
  if (n === undefined) throw new InvalidOptionError(`Expected \`${name}\` (a token count)`, name)
  return n
}
