// What the p-queue compatible class does beyond p-queue: a task's cost in units of the queue's
// capacity, the pool's name and policy, and the pool itself (snapshot, stats, events).
import { describe, expect, it, vi } from 'vitest'
import { CostExceedsCapacityError, InvalidCostError, InvalidOptionError } from '../../src/index.js'
import PQueue from '../../src/p-queue/index.js'

/** A task the test ends by hand: `run` goes to `add`, `finish` settles it. */
function deferred<T>(value: T): { run: () => Promise<T>; finish: () => void; started: boolean } {
  let finish!: () => void
  const task = {
    started: false,
    run: () =>
      new Promise<T>((resolve) => {
        task.started = true
        finish = () => resolve(value)
      }),
    finish: () => finish(),
  }
  return task
}

describe('beyond p-queue', () => {
  it('a task holds its cost in units of the capacity beside its slot: it waits for units though a slot is free', async () => {
    const queue = new PQueue({ concurrency: 4, capacity: { vram: 8 } })
    const big = deferred('big')
    const small = deferred('small')
    const none = deferred('none')
    const results = [queue.add(big.run, { cost: { vram: 5 } }), queue.add(small.run, { cost: { vram: 4 } }), queue.add(none.run)]
    expect([big.started, small.started]).toEqual([true, false])
    // Head of line: the task without a cost waits behind the one that does not fit.
    expect([none.started, queue.pending, queue.size]).toEqual([false, 1, 2])
    expect(queue.pool.snapshot().used).toMatchObject({ slots: 1, vram: 5 })
    big.finish()
    await results[0]
    expect([small.started, none.started]).toEqual([true, true])
    expect(queue.pool.snapshot().used).toMatchObject({ slots: 2, vram: 4 })
    small.finish()
    none.finish()
    expect(await Promise.all(results)).toEqual(['big', 'small', 'none'])
  })

  it('a cost above the capacity or naming an unknown resource rejects that add with a typed error; what was added stays', async () => {
    const queue = new PQueue({ concurrency: 1, capacity: { vram: 8 } })
    const running = deferred('running')
    const waiting = deferred('waiting')
    const accepted = [queue.add(running.run), queue.add(waiting.run, { cost: { vram: 8 } })]
    const nextEvents: string[] = []
    queue.on('next', () => nextEvents.push('next'))
    await expect(queue.add(async () => 'never', { cost: { vram: 9 } })).rejects.toMatchObject({
      constructor: CostExceedsCapacityError,
      resource: 'vram',
      cost: 9,
      capacity: 8,
    })
    // A resource the capacity does not name has none of it: no task could ever hold it.
    await expect(queue.add(async () => 'never', { cost: { gpu: 1 } })).rejects.toMatchObject({
      constructor: CostExceedsCapacityError,
      resource: 'gpu',
      capacity: 0,
    })
    await expect(queue.add(async () => 'never', { cost: { vram: -1 } })).rejects.toBeInstanceOf(InvalidCostError)
    // The slot is the queue's own: each task takes one.
    await expect(queue.add(async () => 'never', { cost: { slots: 2 } })).rejects.toMatchObject({
      constructor: InvalidOptionError,
      path: 'cost.slots',
    })
    expect([queue.size, queue.pending]).toEqual([1, 1])
    running.finish()
    await accepted[0]
    waiting.finish()
    expect(await Promise.all(accepted)).toEqual(['running', 'waiting'])
    expect(nextEvents).toEqual(['next', 'next'])
  })

  it('the pool underneath is reachable: its name, policy, snapshot, stats and events', async () => {
    const queue = new PQueue({ concurrency: 2, capacity: { vram: 4 }, pool: { name: 'llm-calls', policy: { backfill: true } } })
    expect(queue.pool.name).toBe('llm-calls')
    const started: number[] = []
    queue.pool.on('started', ({ task }) => started.push(task.priority === 'normal' ? 1 : 0))
    const holder = deferred('holder')
    const blocked = deferred('blocked')
    const results = [
      queue.add(holder.run, { cost: { vram: 3 } }),
      queue.add(blocked.run, { cost: { vram: 2 } }),
      queue.add(async () => 'backfilled'),
    ]
    // Backfill: the task that needs no vram starts past the blocked head.
    expect(await results[2]).toBe('backfilled')
    expect(blocked.started).toBe(false)
    expect(queue.pool.snapshot()).toMatchObject({ parkedTotal: 1, used: { slots: 1, vram: 3 } })
    holder.finish()
    await results[0]
    blocked.finish()
    await Promise.all(results)
    expect(started).toHaveLength(3)
    expect(queue.pool.stats().outcomes).toMatchObject({ completed: 3, failed: 0 })
    await expect(queue.add(async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom')
    // A task that fails counts as failed in the pool's statistics too.
    expect(queue.pool.stats().outcomes).toMatchObject({ completed: 3, failed: 1 })
  })

  it('refuses a capacity that names `slots` (its concurrency), or a bad one, by path', () => {
    expect(() => new PQueue({ capacity: { slots: 2 } })).toThrow(InvalidOptionError)
    expect(() => new PQueue({ capacity: { slots: 2 } })).toThrow(/`capacity.slots`: `slots` is the queue's own/)
    expect(() => new PQueue({ capacity: { vram: 0 } })).toThrow(InvalidOptionError)
  })

  it('a rate limit counts starts whatever their cost: a task that fits its units still waits for the window', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setInterval', 'clearInterval', 'Date'] })
    try {
      for (const strict of [false, true]) {
        const queue = new PQueue({ concurrency: 4, capacity: { vram: 8 }, interval: 1_000, intervalCap: 1, strict })
        const starts: number[] = []
        const t0 = Date.now()
        const results = [1, 2].map((vram) => queue.add(() => void starts.push(Date.now() - t0), { cost: { vram } }))
        await vi.advanceTimersByTimeAsync(999)
        expect(starts).toEqual([0])
        expect(queue.isRateLimited).toBe(true)
        await vi.advanceTimersByTimeAsync(1)
        await Promise.all(results)
        expect(starts).toEqual([0, 1_000])
      }
    } finally {
      vi.useRealTimers()
    }
  })
})
