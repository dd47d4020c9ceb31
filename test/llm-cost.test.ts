import { describe, expect, it } from 'vitest'
import { InvalidOptionError } from '../src/index.js'
import { LlmCostModel } from '../src/runtime/llm-cost.js'

const MiB = 1024 * 1024
// A 1.5B model in 4-bit: ~1 GiB of weights; 28 layers × 2 KV heads × 128 dims × 2 (K and V) × 2 bytes.
const model = new LlmCostModel({ weightBytes: 1024 * MiB, kvBytesPerToken: 28 * 2 * 128 * 2 * 2, overheadBytes: 256 * MiB })

describe('LlmCostModel', () => {
  it('costs a request by its KV cache at full length, rounded up to whole units', () => {
    // 2,048 tokens × 28,672 B = 56 MiB: one 64 MiB unit; 4,096 tokens = 112 MiB: two.
    expect(model.requestUnits({ promptTokens: 1_024, maxTokens: 1_024 })).toBe(1)
    expect(model.requestUnits({ promptTokens: 3_000, maxTokens: 1_096 })).toBe(2)
    expect(model.cost({ promptTokens: 0, maxTokens: 1 })).toEqual({ vram: 1 })
  })

  it('pays weights once per loaded model, not once per request', () => {
    expect(model.modelUnits()).toBe(20) // 1,280 MiB / 64 MiB
    // A 4 GiB budget: 64 units, 20 for the model, 44 for KV caches.
    expect(model.capacity(4096 * MiB)).toEqual({ vram: 44 })
    expect(model.capacity(4096 * MiB, 2)).toEqual({ vram: 24 })
    expect(model.tokensFor(1)).toBe(2_340)
  })

  it('refuses a budget that cannot hold the model, and bad numbers, naming the field', () => {
    expect(() => model.capacity(1024 * MiB)).toThrow(/cannot hold 1 model/)
    expect(() => new LlmCostModel({ weightBytes: -1, kvBytesPerToken: 1 })).toThrow(InvalidOptionError)
    expect(() => new LlmCostModel({ weightBytes: 1, kvBytesPerToken: Number.NaN })).toThrow(/kvBytesPerToken/)
    expect(() => model.requestUnits({ promptTokens: 1.5, maxTokens: 1 })).toThrow(/promptTokens/)
  })
})
