/**
 * Models on a WorkerPool in real Chromium: instances load in a worker (through the worker's
 * `defineHandlers` loaders), their tasks run on that worker, and units are checked from inside the
 * workers with Web Locks (test/workers/model-handlers.ts): a load or a task that finds too few
 * free locks would mean the pool had more units in use than it has.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ModelLoadError, ModelPool, TaskFailedError, WorkerCrashedError } from '../src/index.js'
import { WorkerPool } from '../src/worker.js'
import { mulberry32 } from './random.js'
import { CAPACITY, MODEL_UNITS, type Generated } from './workers/model-units.js'

const url = new URL('./workers/model-handlers.ts', import.meta.url)
const opened: { close(): Promise<void> }[] = []

function setup(size = 2) {
  const workers = new WorkerPool({ url, size, abortGraceMs: 200 })
  const models = Object.fromEntries(Object.entries(MODEL_UNITS).map(([id, units]) => [id, { cost: { vram: units } }]))
  const pool = new ModelPool<unknown, unknown>({
    capacity: { vram: CAPACITY },
    executor: workers,
    maxAttempts: 1,
    models: { ...models, missing: { cost: { vram: 1 } } },
  })
  opened.push({ close: () => pool.close() }, { close: () => workers.terminate() })
  return { workers, pool }
}

afterEach(async () => {
  for (const item of opened.splice(0)) await item.close()
})

describe('models on a WorkerPool', () => {
  it("loads an instance in a worker; the model's tasks run on that worker with the instance as ctx.model", async () => {
    const { pool } = setup()
    const first = await pool.submit({ units: 1, ms: 1 }, { handler: 'generate', model: 'small', cost: { vram: 1 } })
    const a = (await first.result) as Generated
    const second = await pool.submit({ units: 1, ms: 1 }, { handler: 'generate', model: 'small', cost: { vram: 1 } })
    const b = (await second.result) as Generated
    expect([a.model, a.instance, a.ranIn]).toEqual(['small', 'small#1', a.loadedIn])
    expect([b.instance, b.ranIn]).toEqual(['small#1', a.loadedIn])
    const [instance] = pool.snapshot().models
    expect(instance?.worker).toBeTypeOf('number')
    expect(pool.stats().models).toMatchObject({ loads: 1, coldStarts: 1, warmStarts: 1 })
  })

  it('a seeded trace over three models on 8 units: never over-subscribed from inside the workers, every task on its instance’s worker', async () => {
    const { pool } = setup()
    const random = mulberry32(7)
    const ids = Object.keys(MODEL_UNITS)
    const tasks = await pool.submitAll(
      Array.from({ length: 30 }, () => {
        const units = 1 + Math.floor(random() * 2)
        return {
          payload: { units, ms: 2 + Math.floor(random() * 10) },
          options: { handler: 'generate', model: ids[Math.floor(random() * ids.length)]!, cost: { vram: units } },
        }
      }),
    )
    const results = (await Promise.all(tasks.map((task) => task.result))) as Generated[]
    expect(results.filter((r) => r.oversubscribed)).toEqual([])
    expect(results.filter((r) => r.ranIn !== r.loadedIn)).toEqual([])
    const stats = pool.stats().models!
    expect(stats.evictions).toBeGreaterThan(0) // large (5) and medium (4) never fit together in 8
    expect(stats.loads).toBeLessThan(30)
  })

  it('a worker that dies frees its instance’s units only once it is gone; the next task loads anew', async () => {
    const { pool, workers } = setup(1)
    const usedWhenGone: number[] = []
    workers.onExit(() => usedWhenGone.push(pool.snapshot().used['vram'] ?? 0))
    const reasons: string[] = []
    pool.on('unloaded', (event) => reasons.push(`${event.instance}:${event.reason}`))
    const crash = await pool.submit(null, { handler: 'crashWorker', model: 'small', cost: { vram: 1 } })
    const error = await crash.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    expect(usedWhenGone).toEqual([4]) // the model's 3 and the task's 1, still held when the worker left
    expect(reasons).toEqual(['small#1:crashed'])
    expect(pool.snapshot().used['vram'] ?? 0).toBe(0)
    const next = await pool.submit({ units: 1, ms: 1 }, { handler: 'generate', model: 'small', cost: { vram: 1 } })
    expect(((await next.result) as Generated).instance).toBe('small#2')
  })

  it('an instance its loader reports lost frees its units; the next task loads a new one', async () => {
    const { pool } = setup(1)
    const killed = await pool.submit(null, { handler: 'killEngine', model: 'medium', cost: { vram: 1 } })
    const error = await killed.result.catch((e: unknown) => e)
    // The task on the lost instance ends with the loss, even though its handler went on to return.
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(String((error as TaskFailedError).cause)).toMatch(/the engine was killed/)
    await pool.onIdle()
    expect(pool.snapshot().models).toEqual([])
    expect(pool.snapshot().used['vram'] ?? 0).toBe(0)
    const next = await pool.submit({ units: 1, ms: 1 }, { handler: 'generate', model: 'medium', cost: { vram: 1 } })
    expect(((await next.result) as Generated).instance).toBe('medium#2')
  })

  it('a model the workers have no loader for fails its tasks with a ModelLoadError that says so', async () => {
    const { pool } = setup(1)
    const task = await pool.submit(null, { handler: 'generate', model: 'missing', cost: { vram: 1 } })
    const error = await task.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect((error as TaskFailedError).cause).toBeInstanceOf(ModelLoadError)
    expect(String((error as TaskFailedError).cause)).toMatch(/no loader for model `missing`/)
    expect(pool.snapshot().used['vram'] ?? 0).toBe(0)
  })
})
