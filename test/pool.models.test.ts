/**
 * Models: a rule of docs/semantics.md "Models" per test, on a ManualClock with loads the test
 * finishes by hand, so every step (loading, ready, unloading) is observed where it happens.
 */
import { describe, expect, it } from 'vitest'
import {
  CostExceedsCapacityError,
  InvalidOptionError,
  ManualClock,
  ModelLoadError,
  ModelPool,
  ResourcePool,
  TaskFailedError,
  type ModelLoadContext,
  type ModelSpec,
  type PoolOptions,
} from '../src/index.js'
import { ControlledExecutor, flushPromises, settled } from './helpers.js'

interface Loader {
  readonly loads: { model: string; ctx: ModelLoadContext; resolve(value: unknown): void; reject(error: unknown): void }[]
  readonly unloads: unknown[]
  spec(cost: number, rest?: Partial<ModelSpec>): ModelSpec
}

/** Loads that stay in flight until the test resolves them; unloads that are recorded and finish at once. */
function loader(): Loader {
  const loads: Loader['loads'] = []
  const unloads: unknown[] = []
  return {
    loads,
    unloads,
    spec: (cost, rest = {}) => ({
      cost: { vram: cost },
      load: (model, ctx) => new Promise((resolve, reject) => loads.push({ model, ctx, resolve, reject })),
      unload: (instance) => void unloads.push(instance),
      ...rest,
    }),
  }
}

function modelPool(models: Record<string, ModelSpec>, options: Partial<PoolOptions<string, unknown>> = {}) {
  const clock = new ManualClock(1_000)
  const jobs = new ControlledExecutor<string>()
  const pool = new ModelPool<string, unknown>({ capacity: { vram: 12 }, clock, executor: jobs.execute, models, ...options })
  const used = (): number => pool.snapshot().used.vram ?? 0
  const states = (): string[] => pool.snapshot().models.map((m) => `${m.instance}:${m.state}:${m.running}`)
  return { pool, jobs, clock, used, states }
}

/** Resolves the oldest load still in flight with an instance named after its model. */
async function finishLoad(l: Loader, model: string): Promise<void> {
  const at = l.loads.findIndex((load) => load.model === model)
  if (at < 0) throw new Error(`no load of ${model} in flight`)
  l.loads.splice(at, 1)[0]!.resolve(`${model}-weights`)
  await flushPromises()
}

describe('models: placement', () => {
  it('loads a model for its first task, then runs the next task on the warm instance (no second load)', async () => {
    const l = loader()
    const { pool, jobs, used, states } = modelPool({ a: l.spec(5) })
    await pool.submit('one', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    expect(states()).toEqual(['a#1:loading:0'])
    expect(used()).toBe(5) // the instance holds its cost from the start of its load
    await finishLoad(l, 'a')
    expect(jobs.order).toEqual(['one'])
    expect(jobs.started[0]!.ctx.model).toBe('a-weights')
    expect(used()).toBe(6)
    await jobs.finish('one')
    expect(used()).toBe(5) // the task's own units are back; the model stays resident
    await pool.submit('two', { model: 'a', cost: { vram: 1 } })
    expect(jobs.order).toEqual(['one', 'two'])
    expect(l.loads).toHaveLength(0)
    const stats = pool.stats().models!
    expect([stats.loads, stats.coldStarts, stats.warmStarts]).toEqual([1, 1, 1])
  })

  it('a task whose model is loading waits for that load: one load for many tasks', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ a: l.spec(5, { maxParallel: 2 }) })
    await pool.submitAll(['x', 'y', 'z'].map((payload) => ({ payload, options: { model: 'a', cost: { vram: 1 } } })))
    await flushPromises()
    expect(l.loads).toHaveLength(1)
    await finishLoad(l, 'a')
    expect(jobs.order).toEqual(['x', 'y']) // maxParallel 2 on the one instance
    await jobs.finish('x')
    expect(jobs.order).toEqual(['x', 'y', 'z'])
    expect(l.loads).toHaveLength(0)
  })

  it('maxReplicas: a second instance loads when every instance is busy and it fits', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({ a: l.spec(4, { maxReplicas: 2 }) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    expect(states()).toEqual(['a#1:ready:1', 'a#2:loading:0'])
    await finishLoad(l, 'a')
    expect(jobs.order).toEqual(['x', 'y'])
    expect(pool.snapshot().used.vram).toBe(10)
  })
})

describe('models: eviction', () => {
  it('unloads idle instances least recently used first, only as many as make room', async () => {
    const l = loader()
    const { pool, jobs, clock, states, used } = modelPool({ a: l.spec(5), b: l.spec(4), c: l.spec(6) })
    for (const model of ['a', 'b']) {
      await pool.submit(model, { model, cost: { vram: 1 } })
      await finishLoad(l, model)
      clock.advance(10)
      await jobs.finish(model)
    }
    expect(states()).toEqual(['a#1:ready:0', 'b#1:ready:0'])
    const unloaded: string[] = []
    pool.on('unloaded', (event) => unloaded.push(`${event.instance}:${event.reason}`))
    // c needs 6 + 1; 3 are free: evicting a (used longest ago) frees 5, enough. b stays.
    await pool.submit('c', { model: 'c', cost: { vram: 1 } })
    await flushPromises()
    expect(unloaded).toEqual(['a#1:evicted'])
    expect(l.unloads).toEqual(['a-weights'])
    expect(states()).toEqual(['b#1:ready:0', 'c#1:loading:0'])
    await finishLoad(l, 'c')
    expect(jobs.order.at(-1)).toBe('c')
    expect(used()).toBe(11)
    expect(pool.stats().models!.evictions).toBe(1)
  })

  it('unloads nothing when even every idle instance would not free enough; never a busy or pinned one', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({
      pinned: l.spec(5, { keepAliveMs: Infinity }),
      busy: l.spec(3),
      idle: l.spec(2),
      big: l.spec(7),
    })
    for (const model of ['pinned', 'busy', 'idle']) {
      await pool.submit(model, { model, cost: { vram: 0.5 } })
      await finishLoad(l, model)
    }
    await jobs.finish('pinned')
    await jobs.finish('idle')
    // 12 - 10 resident - 0.5 running = 1.5 free; big needs 8; only `idle` (2) may go: not enough.
    await pool.submit('big', { model: 'big', cost: { vram: 1 } })
    await flushPromises()
    expect(l.unloads).toEqual([])
    expect(states()).toEqual(['pinned#1:ready:0', 'busy#1:ready:1', 'idle#1:ready:0'])
    // Once `busy` is idle: 2 free, and busy and idle together free 5: 7, still short of 8 (pinned stays).
    await jobs.finish('busy')
    await flushPromises()
    expect(l.unloads).toEqual([])
    expect(pool.snapshot().parkedTotal).toBe(1)
  })

  it('an idle instance unloads by itself after keepAliveMs; 0 unloads it as soon as it is idle', async () => {
    const l = loader()
    const { pool, jobs, clock, states } = modelPool({ kept: l.spec(3, { keepAliveMs: 1_000 }), brief: l.spec(3, { keepAliveMs: 0 }) })
    const reasons: string[] = []
    pool.on('unloaded', (event) => reasons.push(`${event.instance}:${event.reason}`))
    await pool.submit('kept', { model: 'kept', cost: { vram: 1 } })
    await finishLoad(l, 'kept')
    await pool.submit('brief', { model: 'brief', cost: { vram: 1 } })
    await finishLoad(l, 'brief')
    await jobs.finish('brief')
    expect(reasons).toEqual(['brief#1:idle'])
    await jobs.finish('kept')
    await clock.advanceAsync(999)
    expect(states()).toEqual(['kept#1:ready:0'])
    await clock.advanceAsync(1)
    expect(reasons).toEqual(['brief#1:idle', 'kept#1:idle'])
    expect(pool.snapshot().used.vram ?? 0).toBe(0)
  })

  it('a task starting on an instance stops its keep-alive timer', async () => {
    const l = loader()
    const { pool, jobs, clock, states } = modelPool({ a: l.spec(3, { keepAliveMs: 100 }) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    await jobs.finish('x')
    await clock.advanceAsync(90)
    await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await clock.advanceAsync(500)
    expect(states()).toEqual(['a#1:ready:1'])
  })
})

describe('models: backfill', () => {
  async function headWaitingForLoad(backfill: boolean) {
    const l = loader()
    const setup = modelPool({ warm: l.spec(3), cold: l.spec(5) }, { policy: { backfill } })
    const { pool, jobs } = setup
    await pool.submit('warm-1', { model: 'warm', cost: { vram: 1 } })
    await finishLoad(l, 'warm')
    await jobs.finish('warm-1')
    await pool.submit('cold', { model: 'cold', cost: { vram: 1 }, priority: 'high' })
    await pool.submit('warm-2', { model: 'warm', cost: { vram: 1 } })
    await flushPromises()
    return { ...setup, l }
  }

  it('off: a head waiting for its load blocks a warm task behind it', async () => {
    const { jobs, l } = await headWaitingForLoad(false)
    expect(jobs.order).toEqual(['warm-1'])
    await finishLoad(l, 'cold')
    expect(jobs.order).toEqual(['warm-1', 'cold', 'warm-2'])
  })

  it('on: the warm task starts beside the head that waits for its load', async () => {
    const { jobs } = await headWaitingForLoad(true)
    expect(jobs.order).toEqual(['warm-1', 'warm-2'])
  })
})

describe('models: failures, cancel, preload and unload', () => {
  it('a failed load frees its units and fails the tasks waiting on it, with ModelLoadError as the cause', async () => {
    const l = loader()
    const { pool, used, states } = modelPool({ a: l.spec(5) })
    const task = await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    l.loads.shift()!.reject(new Error('bad file'))
    const outcome = await settled(task.result)
    expect(outcome.ok).toBe(false)
    const error = (outcome as { error: TaskFailedError }).error
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error.cause).toBeInstanceOf(ModelLoadError)
    expect((error.cause as ModelLoadError).model).toBe('a')
    expect(used()).toBe(0)
    expect(states()).toEqual([])
  })

  it('with attempts left, a task waiting on a failed load retries and runs on the next load', async () => {
    const l = loader()
    const { pool, jobs, clock } = modelPool({ a: l.spec(5) }, { maxAttempts: 2, retryBaseDelayMs: 10, random: () => 0 })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    l.loads.shift()!.reject(new Error('device lost'))
    await flushPromises()
    await clock.advanceAsync(20)
    await finishLoad(l, 'a')
    expect(jobs.order).toEqual(['x'])
    expect(jobs.started[0]!.ctx.attempt).toBe(2)
  })

  it('cancelling the task a load began for does not cancel the load', async () => {
    const l = loader()
    const { pool, states } = modelPool({ a: l.spec(5) })
    const events: string[] = []
    pool.on('loaded', (event) => events.push(`loaded ${event.instance}`))
    const task = await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    task.cancel()
    await finishLoad(l, 'a')
    expect(events).toEqual(['loaded a#1'])
    expect(states()).toEqual(['a#1:ready:0']) // kept warm for its keep-alive
  })

  it('an instance lost on its own (a crashed worker) frees its units', async () => {
    const l = loader()
    const { pool, jobs, used } = modelPool({ a: l.spec(5) })
    const reasons: string[] = []
    pool.on('unloaded', (event) => reasons.push(`${event.reason}:${event.error?.name}`))
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    const { ctx } = l.loads[0]!
    await finishLoad(l, 'a')
    await jobs.finish('x')
    ctx.lost(new Error('worker died'))
    expect(reasons).toEqual(['crashed:ModelLoadError'])
    expect(used()).toBe(0)
  })

  it('preload loads now; unload waits for a busy instance to go idle', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({ a: l.spec(5) })
    const preloaded = pool.preload('a')
    await flushPromises()
    await finishLoad(l, 'a')
    await preloaded
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    expect(pool.stats().models!.warmStarts).toBe(1) // loaded before it was needed
    let gone = false
    void pool.unload('a').then(() => (gone = true))
    await flushPromises()
    expect([gone, states()]).toEqual([false, ['a#1:ready:1']])
    await jobs.finish('x')
    await flushPromises()
    expect(gone).toBe(true)
    expect(l.unloads).toEqual(['a-weights'])
  })

  it('close unloads every instance (reason closed)', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ a: l.spec(5) })
    const reasons: string[] = []
    pool.on('unloaded', (event) => reasons.push(event.reason))
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    const closed = pool.close()
    await jobs.finish('x')
    await closed
    expect(reasons).toEqual(['closed'])
  })
})

describe('models: refusals', () => {
  it('names what is wrong, and accepts nothing', async () => {
    const l = loader()
    const { pool } = modelPool({ a: l.spec(5) })
    await expect(pool.submit('x', { model: 'b', cost: { vram: 1 } })).rejects.toThrow(InvalidOptionError)
    await expect(pool.submit('x', { model: 'a', cost: { vram: 8 } })).rejects.toThrow(CostExceedsCapacityError)
    await expect(pool.preload('nope')).rejects.toThrow(/to name a model of the pool \('a'\)/)
    expect(pool.snapshot().parkedTotal).toBe(0)
    expect(() => new ModelPool({ capacity: { vram: 4 }, executor: () => 1, models: { a: { cost: { vram: 5 } } } })).toThrow(
      CostExceedsCapacityError,
    )
    expect(
      () => new ModelPool({ capacity: { vram: 4 }, executor: () => 1, models: { a: { cost: { vram: 1 }, keepAlive: 5 } as ModelSpec } }),
    ).toThrow(/Unknown option `models.a.keepAlive`/)
    const plain = new ResourcePool({ capacity: 1, executor: () => 1 })
    await expect(plain.submit('x', { model: 'a' })).rejects.toThrow(/declares none/)
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, models: {} })).toThrow(/needs a ModelPool/)
  })
})
