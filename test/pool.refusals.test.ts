import { describe, expect, it } from 'vitest'
import {
  ManualClock,
  TaskCancelledError,
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
import { checkHandlerName } from '../src/runtime/handler-names.js'

/** A memory queue that, like a durable store, keeps payloads as JSON. */
class JsonQueue extends MemoryQueue {
  readonly checkValue = checkJson
}

describe('refusals at submit', () => {
  it.each([
    [{ vram: -1 }, /`cost.vram` to be a finite number >= 0, got -1/],
    [{ vram: Number.NaN }, /`cost.vram` to be a finite number >= 0, got NaN/],
    [{ vram: Infinity }, /got Infinity/],
    [{ vram: 0 }, /cost above 0 in some resource/],
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
      /`priority` to be a finite number or one of 'low', 'normal', 'high', 'critical', got "urgent"/,
    )
    await expect(pool.submit('x', { runTimeoutMs: -5 })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(pool.submit('x', { mailbox: { tenant: '' } })).rejects.toThrow(/`mailbox.tenant`/)
    await expect(pool.submit('x', { maxAttempts: 1.5 })).rejects.toThrow(/`maxAttempts` to be an integer/)
    expect(pool.size + pool.pending).toBe(0)
  })

  it('refuses bad pool options with the option named', () => {
    expect(() => new ResourcePool({ capacity: { vram: -1 }, executor: () => 1 })).toThrow(
      /`capacity.vram` to be a finite number >= 0, got -1$/,
    )
    expect(() => new ResourcePool({ capacity: 1, executor: 'nope' as never })).toThrow(InvalidOptionError)
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, policy: { onFull: 'drop' as never } })).toThrow(/policy.onFull/)
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, maxQueueDepth: -1 })).toThrow(/maxQueueDepth/)
  })

  it('refuses unknown pool and policy options, naming the closest known one', () => {
    const base = { capacity: 1, executor: () => 1 }
    const typo = (options: object): unknown => {
      try {
        new ResourcePool({ ...base, ...options } as never)
      } catch (error) {
        return error
      }
      return undefined
    }
    expect(typo({ maxQueDepth: 3 })).toMatchObject({
      name: 'InvalidOptionError',
      path: 'maxQueDepth',
      message: expect.stringMatching(/did you mean `maxQueueDepth`\?/),
    })
    expect(typo({ policy: { fairshare: true } })).toMatchObject({
      path: 'policy.fairshare',
      message: expect.stringMatching(/did you mean `fairShare`\?/),
    })
    expect(typo({ zzzzzzzzzz: 1 })).toMatchObject({ path: 'zzzzzzzzzz', message: expect.stringMatching(/known: `name`, `capacity`/) })
  })

  it('refuses unknown submit options, naming the closest known one; nothing is accepted', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    const error = await pool.submit('x', { prority: 'high' } as never).catch((e: unknown) => e)
    expect(error).toMatchObject({
      name: 'InvalidOptionError',
      path: 'prority',
      message: expect.stringMatching(/did you mean `priority`\?/),
    })
    await expect(pool.submitAll([{ payload: 'x', options: { runTimeout: 5 } as never }])).rejects.toThrow(
      /submitAll item 0: Unknown option `runTimeout`; did you mean `runTimeoutMs`\?/,
    )
    expect(pool.size + pool.pending).toBe(0)
  })

  it('an in-process pool refuses `handler` (it has no handlers to pick from)', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    await expect(pool.submit('x', { handler: 'generate' })).rejects.toMatchObject({
      name: 'InvalidOptionError',
      path: 'handler',
      message: expect.stringMatching(/runs in this thread/),
    })
  })

  it('a runtime that announced its handlers refuses one it lacks, and a missing one when it has several', async () => {
    const workers: { announced: readonly string[] | undefined } = { announced: undefined }
    const pool = new ResourcePool<string, string>({
      capacity: 1,
      executor: { execute: async (p) => p, checkHandler: (handler: string | undefined) => checkHandlerName(handler, workers.announced) },
    })
    // Before the workers announce theirs, the name is taken on trust (the worker checks it).
    await expect(pool.submit('x', { handler: 'anything' })).resolves.toBeDefined()
    workers.announced = ['generate', 'embed']
    await expect(pool.submit('x', { handler: 'genrate' })).rejects.toThrow(
      /handlers \(`generate`, `embed`\), got "genrate"; did you mean `generate`\?/,
    )
    await expect(pool.submit('x')).rejects.toThrow(/pass \{ handler \}/)
    await expect(pool.submit('x', { handler: 'embed' })).resolves.toBeDefined()
    await pool.onIdle()
  })

  it('mailbox fetch and ack refuse the keys that submit refuses, with typed errors', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    const fetch = (key: unknown, options?: unknown): unknown => {
      try {
        return pool.mailbox.fetch(key as never, options as never)
      } catch (error) {
        return error
      }
    }
    expect(fetch({})).toMatchObject({ name: 'InvalidOptionError', path: 'key.tenant' })
    expect(fetch({ user: 'u' })).toMatchObject({ path: 'key.tenant' })
    expect(fetch({ tenant: '' })).toMatchObject({ path: 'key.tenant', message: expect.stringMatching(/non-empty string, got ""/) })
    expect(fetch(null)).toMatchObject({ name: 'InvalidOptionError', path: 'key' })
    expect(fetch({ tenant: 't', sesion: 's' })).toMatchObject({
      path: 'key.sesion',
      message: expect.stringMatching(/did you mean `session`/),
    })
    expect(fetch({ tenant: 't' }, { limt: 5 })).toMatchObject({
      path: 'options.limt',
      message: expect.stringMatching(/did you mean `limit`/),
    })
    expect(fetch({ tenant: 't' }, { limit: 0 })).toMatchObject({ path: 'options.limit' })
    expect(() => pool.mailbox.ack({ tenant: 't' }, 'id' as never)).toThrow(/`messageIds` to be an array of message ids/)
    await expect(Promise.resolve(pool.mailbox.fetch({ tenant: 't' }, { limit: 5 }))).resolves.toMatchObject({ messages: [] })
  })

  it('edges of numbers: capacity 0 only for an elastic resource, wait limits above 0, durations not epochs, arrays shown as arrays', async () => {
    expect(() => new ResourcePool({ capacity: 0, executor: () => 1 })).toThrow(
      /`capacity` to be above 0: nothing needing `slots` could start/,
    )
    expect(() => new ResourcePool({ capacity: { vram: 0, cpu: 2 }, executor: () => 1 })).toThrow(
      /`capacity.vram` to be above 0.*elasticResources/,
    )
    // An elastic resource may start at 0; a cost above its capacity parks until it grows.
    const clock = new ManualClock(1_000_000)
    const elastic = new ResourcePool({ capacity: { gpu: 0 }, elasticResources: ['gpu'], executor: () => 'ran', clock })
    const parked = await elastic.submit('x', { cost: { gpu: 2 } })
    expect(parked.status).toBe('parked')
    elastic.setCapacity({ gpu: 2 })
    await expect(parked.result).resolves.toBe('ran')
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, elasticResources: 'gpu' as never })).toThrow(
      /`elasticResources` to be an array/,
    )
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, defaultWaitTimeoutMs: 0 })).toThrow(
      /`defaultWaitTimeoutMs` to be a finite number > 0, got 0/,
    )

    const { pool } = controlledPool({ capacity: 1, clock })
    await expect(pool.submit('x', { waitTimeoutMs: 0 })).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'waitTimeoutMs' })
    const past = await pool.submit('x', { waitDeadline: clock.now() - 1_500 }).catch((e: unknown) => e)
    expect(past).toMatchObject({ name: 'TaskExpiredError', message: expect.stringMatching(/passed 1500 ms ago/) })
    expect((past as Error).message).not.toMatch(/1000000|998500/)
    await expect(pool.submit('x', { cost: [5] as never })).rejects.toThrow(/got an array \[5\]$/)
    expect(pool.size + pool.pending).toBe(0)
  })

  it('close({ abort: true }) cancels running work through ctx.signal and resolves once it stopped', async () => {
    const stopped: string[] = []
    const pool = new ResourcePool<string, string>({
      capacity: 2,
      executor: (name, ctx) =>
        new Promise((_resolve, reject) =>
          ctx.signal.addEventListener('abort', () => {
            stopped.push(name)
            reject(ctx.signal.reason)
          }),
        ),
    })
    const a = await pool.submit('a')
    const b = await pool.submit('b')
    const parked = await pool.submit('c')
    await pool.close({ abort: true })
    expect(stopped.sort()).toEqual(['a', 'b'])
    for (const task of [a, b, parked]) {
      expect(task.status).toBe('cancelled')
      await expect(task.result).rejects.toBeInstanceOf(TaskCancelledError)
    }
    await expect(a.result).rejects.toThrow(/closed with \{ abort: true \}/)
    expect(() => pool.close({ abrot: true } as never)).toThrow(/did you mean `abort`/)
  })
})
