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
  PoolClosedError,
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

  it('maxReplicas bounds the instances: a task beyond the busy ones waits for a slot, no further load', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({ two: l.spec(2, { maxReplicas: 2 }) })
    await pool.submitAll(['t1', 't2', 't3'].map((payload) => ({ payload, options: { model: 'two', cost: { vram: 1 } } })))
    await flushPromises()
    await finishLoad(l, 'two')
    await flushPromises()
    await finishLoad(l, 'two')
    expect(l.loads).toHaveLength(0) // 7 units are free: room for a third, but maxReplicas is 2
    expect(jobs.order).toEqual(['t1', 't2'])
    expect(states()).toEqual(['two#1:ready:1', 'two#2:ready:1'])
    await jobs.finish('t1')
    expect(jobs.order).toEqual(['t1', 't2', 't3'])
  })

  it('an instance still unloading counts toward maxReplicas: the next instance loads once it is gone', async () => {
    const l = loader()
    let finishUnload!: () => void
    const { pool, jobs, states } = modelPool({
      a: l.spec(3, { unload: () => new Promise<void>((resolve) => (finishUnload = resolve)) }),
    })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    await jobs.finish('x')
    const gone = pool.unload('a')
    await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    expect(states()).toEqual(['a#1:unloading:0']) // room for another, but maxReplicas is 1
    finishUnload()
    await gone
    await flushPromises()
    expect(states()).toEqual(['a#2:loading:0'])
  })

  it('a task does not start on an instance that is to unload once idle: a new instance loads after it is gone', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({ a: l.spec(5, { maxParallel: 2 }) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    const gone = pool.unload('a')
    await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    expect(jobs.order).toEqual(['x'])
    await jobs.finish('x')
    await gone
    await flushPromises()
    expect(states()).toEqual(['a#2:loading:0'])
    await finishLoad(l, 'a')
    expect(jobs.order).toEqual(['x', 'y'])
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

  it('a task starting on an instance stops its keep-alive timer; the next idle spell starts a new one', async () => {
    const l = loader()
    const { pool, jobs, clock, states } = modelPool({ a: l.spec(3, { keepAliveMs: 100 }) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    await jobs.finish('x') // keep-alive until 1_100
    await clock.advanceAsync(90)
    await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await clock.advanceAsync(5)
    await jobs.finish('y') // idle again at 1_095: kept until 1_195, not 1_100
    await clock.advanceAsync(99)
    expect(states()).toEqual(['a#1:ready:0'])
    await clock.advanceAsync(1)
    expect(states()).toEqual([])
  })

  it('never unloads a busy instance, even when that alone would make room; it goes once idle', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({ a: l.spec(5), b: l.spec(7) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    // b needs 8; 6 are free; a busy would free 5 more.
    await pool.submit('y', { model: 'b', cost: { vram: 1 } })
    await flushPromises()
    expect([l.unloads, states()]).toEqual([[], ['a#1:ready:1']])
    await jobs.finish('x')
    expect(l.unloads).toEqual(['a-weights'])
    expect(states()).toEqual(['b#1:loading:0'])
  })

  it('a head that waits only for its own units (its model warm, or no model) unloads idle instances of other models', async () => {
    const l = loader()
    const { pool, jobs, clock, states } = modelPool({ a: l.spec(4), b: l.spec(6) })
    for (const model of ['a', 'b']) {
      await pool.submit(model, { model, cost: { vram: 1 } })
      await finishLoad(l, model)
      clock.advance(10)
      await jobs.finish(model)
    }
    // 2 free. A task of a (warm) costing 3: a's own instance stays; b (idle) goes.
    await pool.submit('a-big', { model: 'a', cost: { vram: 3 } })
    await flushPromises()
    expect(jobs.order.at(-1)).toBe('a-big')
    expect(states()).toEqual(['a#1:ready:1'])
    await jobs.finish('a-big')
    // A task with no model costing 9 (8 free): a goes.
    await pool.submit('plain', { cost: { vram: 9 } })
    await flushPromises()
    expect(jobs.order.at(-1)).toBe('plain')
    expect(states()).toEqual([])
    expect(pool.stats().models!.evictions).toBe(2)
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

  it('after headReserveAfterMs the head holds back its model cost and its own: warm tasks that would eat into it wait', async () => {
    const l = loader()
    const { pool, jobs, clock } = modelPool(
      { warm: l.spec(3, { maxParallel: 3 }), cold: l.spec(8) },
      { policy: { backfill: true, headReserveAfterMs: 100 } },
    )
    await pool.submit('warm-1', { model: 'warm', cost: { vram: 1 } })
    await finishLoad(l, 'warm')
    // cold needs 9; 8 are free and warm is busy: the head waits for room.
    await pool.submit('cold', { model: 'cold', cost: { vram: 1 }, priority: 'high' })
    await pool.submit('warm-2', { model: 'warm', cost: { vram: 1 } })
    expect(jobs.order).toEqual(['warm-1', 'warm-2']) // before the bound: backfill as usual
    await clock.advanceAsync(100)
    await pool.submit('warm-3', { model: 'warm', cost: { vram: 1 } })
    expect(jobs.order).toEqual(['warm-1', 'warm-2']) // 7 free < the 9 held back
    expect(l.loads).toHaveLength(0)
  })

  it('a backfill candidate does not evict: only the head does', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ warm: l.spec(3), idle: l.spec(4) }, { policy: { backfill: true } })
    await pool.submit('idle', { model: 'idle', cost: { vram: 1 } })
    await finishLoad(l, 'idle')
    await jobs.finish('idle')
    await pool.submit('w', { model: 'warm', cost: { vram: 1 } })
    await finishLoad(l, 'warm')
    // 12 - 7 resident - 1 running = 4 free. Head: a warm task (instance busy, maxParallel 1) waits for a slot.
    await pool.submit('head', { model: 'warm', cost: { vram: 1 }, priority: 'high' })
    // Behind it, a plain task of 6 would need idle's units: as a backfill candidate it may not evict.
    await pool.submit('plain', { cost: { vram: 6 } })
    await flushPromises()
    expect(l.unloads).toEqual([])
    expect(jobs.order).toEqual(['idle', 'w'])
  })

  it('only the head begins a load: a backfill candidate of another cold model does not', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ warm: l.spec(3), big: l.spec(9), small: l.spec(1) }, { policy: { backfill: true } })
    await pool.submit('warm-1', { model: 'warm', cost: { vram: 1 } })
    await finishLoad(l, 'warm')
    await pool.submit('big', { model: 'big', cost: { vram: 1 }, priority: 'high' })
    await pool.submit('small', { model: 'small', cost: { vram: 1 } })
    await flushPromises()
    expect(l.loads).toEqual([])
    expect(jobs.order).toEqual(['warm-1'])
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

  it('an instance lost while it loads frees its units at once and fails its tasks; a late result is ignored', async () => {
    const l = loader()
    const { pool, clock, used, states } = modelPool({ a: l.spec(5) })
    const task = await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    const load = l.loads.shift()!
    load.ctx.lost(new Error('worker died'))
    expect([used(), states()]).toEqual([0, []])
    const outcome = await settled(task.result)
    expect(((outcome as { error: TaskFailedError }).error.cause as Error).message).toMatch(/a#1 was lost: worker died/)
    const loaded: string[] = []
    pool.on('loaded', (event) => loaded.push(event.instance))
    load.resolve('late')
    await flushPromises()
    await clock.advanceAsync(600_000) // past any keep-alive: a late instance would have been unloaded by now
    expect([used(), states(), loaded, l.unloads]).toEqual([0, [], [], []])
    expect(pool.stats().models!.loadTime.count).toBe(0)
  })

  it('a load past loadTimeoutMs fails its tasks at once and is told to stop; its units stay held until it settles', async () => {
    const l = loader()
    const { pool, clock, used, states } = modelPool({ a: l.spec(5, { loadTimeoutMs: 1_000 }) })
    const reasons: string[] = []
    pool.on('unloaded', (event) => reasons.push(`${event.instance}:${event.reason}`))
    const task = await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    const load = l.loads[0]!
    await clock.advanceAsync(999)
    expect(load.ctx.signal.aborted).toBe(false)
    await clock.advanceAsync(1)
    expect(load.ctx.signal.aborted).toBe(true)
    const outcome = await settled(task.result)
    expect(String((outcome as { error: TaskFailedError }).error.cause)).toMatch(/longer than loadTimeoutMs \(1000 ms\)/)
    // The loader has not stopped yet: the memory may be in use, so the units are too.
    expect([used(), states()]).toEqual([5, ['a#1:unloading:0']])
    let isClosed = false
    const closed = pool.close().then(() => (isClosed = true))
    await flushPromises()
    expect(isClosed).toBe(false) // close waits for the loader it told to stop
    load.resolve('late weights') // it finished after all: what it made is unloaded, then the units are free
    await closed
    expect([used(), l.unloads, reasons]).toEqual([0, ['late weights'], ['a#1:crashed']])
    expect(pool.stats().models!.loadFailures).toBe(1)
  })

  it('a load given up on frees its units once its loader reports the instance lost, and does not hold up evictions', async () => {
    const l = loader()
    const { pool, jobs, clock, used } = modelPool({ a: l.spec(5, { loadTimeoutMs: 1_000 }), b: l.spec(4), c: l.spec(5) })
    await pool.submit('b', { model: 'b', cost: { vram: 1 } })
    await finishLoad(l, 'b')
    await jobs.finish('b')
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    const load = l.loads.find((entry) => entry.model === 'a')!
    await clock.advanceAsync(1_000) // a given up on: 9 of 12 held (a 5, b 4)
    // c needs 6: with only 3 free it must evict b; a given-up load is not counted on to free its 5.
    await pool.submit('y', { model: 'c', cost: { vram: 1 } })
    await flushPromises()
    expect(l.unloads).toEqual(['b-weights'])
    load.ctx.lost(new Error('worker ended'))
    expect(used()).toBe(5) // c loading: a's units came back when its engine was reported gone
    await finishLoad(l, 'c')
    expect(jobs.order).toEqual(['b', 'y'])
  })

  it('a loss reported while an unload is in flight frees the units only once the unload settled', async () => {
    const l = loader()
    let finishUnload!: () => void
    const { pool, jobs, used } = modelPool({
      a: l.spec(5, { unload: () => new Promise<void>((resolve) => (finishUnload = resolve)) }),
    })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    const { ctx } = l.loads[0]!
    await finishLoad(l, 'a')
    await jobs.finish('x')
    const gone = pool.unload('a')
    await flushPromises()
    ctx.lost(new Error('died while unloading'))
    expect(used()).toBe(5) // the memory may be held until the unload is done
    finishUnload()
    await gone
    expect(used()).toBe(0)
  })

  it('an instance lost while tasks run on it ends them with its error; their own units free when they settle', async () => {
    const l = loader()
    const { pool, jobs, used } = modelPool({ a: l.spec(5) })
    const task = await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    const { ctx } = l.loads[0]!
    await finishLoad(l, 'a')
    const running = jobs.find('x')
    ctx.lost(new Error('device lost'))
    expect(running.ctx.signal.aborted).toBe(true)
    const outcome = await settled(task.result)
    expect(((outcome as { error: TaskFailedError }).error.cause as Error).message).toMatch(/device lost/)
    expect(used()).toBe(1) // the attempt still holds its own units
    running.reject(new Error('aborted'))
    await flushPromises()
    expect(used()).toBe(0)
  })

  it('a failed load fails the waiting tasks when the only other instance is on its way out', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ a: l.spec(4, { maxReplicas: 2 }) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    void pool.unload('a') // a#1 is busy: it goes once idle, and takes no new task
    const y = await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    l.loads.shift()!.reject(new Error('out of memory'))
    const outcome = await settled(y.result)
    expect(String((outcome as { error: TaskFailedError }).error.cause)).toMatch(/out of memory/)
    await jobs.finish('x')
  })

  it('a preload waiting for an instance to go does not load after the pool closed', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ a: l.spec(5) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    void pool.unload('a')
    const preloaded = settled(pool.preload('a'))
    const closed = pool.close()
    await jobs.finish('x')
    await closed
    const outcome = await preloaded
    expect(String((outcome as { error: Error }).error)).toMatch(/the pool is closing/)
    expect(l.loads).toHaveLength(0)
  })

  it('a failed load of a second instance fails nobody while another instance serves the model', async () => {
    const l = loader()
    const { pool, jobs } = modelPool({ a: l.spec(4, { maxReplicas: 2 }) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    const y = await pool.submit('y', { model: 'a', cost: { vram: 1 } })
    await flushPromises()
    l.loads.shift()!.reject(new Error('out of memory'))
    await flushPromises()
    expect(y.status).toBe('parked')
    await jobs.finish('x')
    expect(jobs.order).toEqual(['x', 'y'])
  })

  it('preload: refuses what cannot fit now, reports a failed load, respects maxReplicas, and refuses after close', async () => {
    const l = loader()
    const { pool, jobs, states } = modelPool({ a: l.spec(5), b: l.spec(8) })
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    await expect(pool.preload('b')).rejects.toThrow(ModelLoadError) // a is busy: 6 free of the 8
    // a busy instance asked to unload: a preload waits until it is gone, then loads one (not two at once).
    const gone = pool.unload('a')
    const preloaded = pool.preload('a')
    await flushPromises()
    expect(states()).toEqual(['a#1:ready:1'])
    await jobs.finish('x')
    await gone
    await flushPromises()
    expect(states()).toEqual(['a#2:loading:0'])
    l.loads.shift()!.reject(new Error('bad file'))
    await expect(preloaded).rejects.toThrow(/Model 'a' failed to load: bad file/)
    await pool.close()
    await expect(pool.preload('a')).rejects.toThrow(PoolClosedError)
    expect(l.loads).toHaveLength(0)
  })

  it('unload of an idle instance unloads it now (reason requested)', async () => {
    const l = loader()
    const { pool, jobs, used } = modelPool({ a: l.spec(5) })
    const reasons: string[] = []
    pool.on('unloaded', (event) => reasons.push(event.reason))
    await pool.submit('x', { model: 'a', cost: { vram: 1 } })
    await finishLoad(l, 'a')
    await jobs.finish('x')
    await pool.unload('a')
    expect([reasons, used(), l.unloads]).toEqual([['requested'], 0, ['a-weights']])
    expect(pool.stats().models!.evictions).toBe(0) // a requested unload is not an eviction
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
    void pool.unload('a') // busy: it waits, and closing changes why it goes
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
    const loadsInWorkers = { execute: () => Promise.resolve(1), loadModel: () => Promise.resolve({}) }
    expect(
      () => new ModelPool({ capacity: { vram: 4 }, executor: loadsInWorkers, models: { a: { cost: { vram: 1 }, load: () => 1 } } }),
    ).toThrow(/`models.a.load` runs in this thread, but this pool's executor loads models where its tasks run/)
    const plain = new ResourcePool({ capacity: 1, executor: () => 1 })
    await expect(plain.submit('x', { model: 'a' })).rejects.toThrow(/declares none/)
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, models: {} })).toThrow(/needs a ModelPool/)
  })
})

describe('models: in a SharedPoolHost', () => {
  it('a hosted pool that declares models is a ModelPool: tasks run on warm instances in the host', async () => {
    const { SharedPoolHost } = await import('../src/worker.js')
    const host = new SharedPoolHost({ tenant: 't' })
    const loads: string[] = []
    const pool = host.addPool<string, string>('gpu', {
      capacity: { vram: 8 },
      executor: (prompt, ctx) => `${String(ctx.model)}: ${prompt}`,
      models: { a: { cost: { vram: 5 }, load: (id) => (loads.push(id), `${id}-weights`) } },
    })
    expect(pool).toBeInstanceOf(ModelPool)
    const first = await pool.submit('hi', { model: 'a', cost: { vram: 1 } })
    const second = await pool.submit('again', { model: 'a', cost: { vram: 1 } })
    expect([await first.result, await second.result]).toEqual(['a-weights: hi', 'a-weights: again'])
    expect(loads).toEqual(['a'])
    await host.close()
  })
})
