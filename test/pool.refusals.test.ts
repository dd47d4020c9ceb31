import { describe, expect, it } from 'vitest'
import {
  checkCloneable,
  checkJson,
  InvalidCostError,
  InvalidOptionError,
  InvalidPayloadError,
  MemoryQueue,
  ResourcePool,
  type TaskQueue,
} from '../src/index.js'
import { controlledPool } from './helpers.js'

/** A memory queue that, like a durable store, keeps payloads as JSON. */
class JsonQueue extends MemoryQueue {
  readonly checkValue = checkJson
}

describe('refusals at submit', () => {
  it.each([
    [{ vram: -1 }, /`cost.vram` to be a finite number >= 0, got -1/],
    [{ vram: Number.NaN }, /`cost.vram` to be a finite number >= 0, got NaN/],
    [{ vram: Infinity }, /got Infinity/],
    [{ vram: 0 }, /at least one unit above 0/],
    ['3' as unknown as number, /`cost` to be a number or an object/],
  ])('refuses cost %o with InvalidCostError naming it', async (cost, message) => {
    const { pool } = controlledPool({ capacity: { vram: 10 } })
    const error = await pool.submit('x', { cost }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidCostError)
    expect((error as Error).message).toMatch(message)
    expect(pool.size + pool.pending).toBe(0)
  })

  it('refuses a payload a JSON store cannot keep, naming the part', async () => {
    const pool = new ResourcePool<unknown, unknown>({
      capacity: 1,
      executor: () => 1,
      queue: new JsonQueue() as TaskQueue<unknown>,
    })
    const error = await pool.submit({ messages: [{ text: 'hi' }, { onToken: () => 1 }] }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidPayloadError)
    expect(error).toMatchObject({ path: 'payload.messages[1].onToken' })
    await expect(pool.submit({ when: new Date() })).rejects.toThrow(/payload.when` .*Date/)
    await expect(pool.submit({ n: Number.NaN })).rejects.toBeInstanceOf(InvalidPayloadError)
    const cyclic: Record<string, unknown> = {}
    cyclic['self'] = cyclic
    await expect(pool.submit(cyclic)).rejects.toThrow(/cycle/)
    await expect(pool.submit({ ok: [1, 'two', null, { three: true }] })).resolves.toBeDefined()
  })

  it('refuses a payload a worker cannot receive (structured clone)', async () => {
    const pool = new ResourcePool<unknown, unknown>({
      capacity: 1,
      executor: { execute: async () => 1, checkValue: checkCloneable },
    })
    await expect(pool.submit({ fn: () => 1 })).rejects.toBeInstanceOf(InvalidPayloadError)
    await expect(pool.submit({ when: new Date(), bytes: new Uint8Array(4) })).resolves.toBeDefined()
  })

  it('refuses bad options with the option named', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    await expect(pool.submit('x', { priority: 'urgent' as never })).rejects.toThrow(
      /`priority` to be one of 'low', 'normal', 'high', 'critical', got "urgent"/,
    )
    await expect(pool.submit('x', { runTimeoutMs: -5 })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(pool.submit('x', { mailbox: { tenant: '' } })).rejects.toThrow(/`mailbox.tenant`/)
    await expect(pool.submit('x', { maxAttempts: 1.5 })).rejects.toThrow(/`maxAttempts` to be an integer/)
    expect(pool.size + pool.pending).toBe(0)
  })

  it('refuses bad pool options with the option named', () => {
    expect(() => new ResourcePool({ capacity: { vram: -1 }, executor: () => 1 })).toThrow(
      /`capacity.vram` to be a finite number >= 0, got -1 \(number\)/,
    )
    expect(() => new ResourcePool({ capacity: 1, executor: 'nope' as never })).toThrow(InvalidOptionError)
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, policy: { onFull: 'drop' as never } })).toThrow(/policy.onFull/)
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, maxQueueDepth: -1 })).toThrow(/maxQueueDepth/)
  })
})
