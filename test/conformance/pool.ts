/**
 * The `Pool` contract, one body for `ResourcePool` and `SharedPool`: the same members, the same
 * refusals. A test calls `describePoolConformance(name, make)`; `make` builds a pool named `p`
 * with capacity `{ slots: 2 }` and `maxQueueDepth: 2` whose executor runs the jobs below (`hold`
 * waits until released).
 */
import { describe, expect, it } from 'vitest'
import {
  ResourcePool,
  CostExceedsCapacityError,
  InvalidCostError,
  PoolClosedError,
  QueueFullError,
  TaskCancelledError,
  type Pool,
  type TaskHandle,
  type TaskQueue,
} from '../../src/index.js'

/** What the pool's executor does: `echo` returns its value; `hold` waits for `release(tag)`; `fail` throws. */
export type Job = { readonly echo: string } | { readonly hold: string } | { readonly fail: string }

export interface PoolUnderTest {
  readonly pool: Pool<Job, string, string>
  /** Lets the `hold` job with this tag finish. */
  release(tag: string): void
  /** Closes whatever the pool runs on. */
  dispose(): Promise<void>
}

/** An executor for the body's jobs; `release` lets a `hold` job finish with its tag. */
export function jobRunner(): {
  execute(job: Job, ctx: { emit(chunk: string): void }): Promise<string>
  release(tag: string): void
  /** Lets every `hold` job finish, those to come too (so a failed test can still close its pool). */
  releaseAll(): void
} {
  let all = false
  const waiting = new Map<string, () => void>()
  const released = new Set<string>()
  return {
    async execute(job, ctx) {
      if ('echo' in job) {
        ctx.emit(`chunk of ${job.echo}`)
        return job.echo
      }
      if ('fail' in job) throw new Error(job.fail)
      if (!all && !released.has(job.hold)) await new Promise<void>((resolve) => waiting.set(job.hold, resolve))
      return job.hold
    },
    release(tag) {
      released.add(tag)
      waiting.get(tag)?.()
    },
    releaseAll() {
      all = true
      for (const resolve of waiting.values()) resolve()
    },
  }
}

/** The body's pool (`p`, capacity 2, maxQueueDepth 2) on `queue`; `close` closes what the queue runs on, after the pool. */
export function conformancePoolOn(queue: TaskQueue<Job>, close: () => Promise<void>): PoolUnderTest {
  const runner = jobRunner()
  const pool = new ResourcePool<Job, string, string>({ name: 'p', capacity: 2, maxQueueDepth: 2, executor: runner.execute, queue })
  return {
    pool,
    release: runner.release,
    dispose: async () => {
      runner.releaseAll()
      await pool.close()
      await close()
    },
  }
}

export function describePoolConformance(name: string, make: () => Promise<PoolUnderTest>): void {
  describe(`Pool conformance: ${name}`, () => {
    const withPool = (body: (t: PoolUnderTest) => Promise<void>) => async () => {
      const t = await make()
      try {
        await body(t)
      } finally {
        await t.dispose()
      }
    }

    it(
      'runs a task: result, streamed chunks, status, the completed event with its handle',
      withPool(async ({ pool }) => {
        const completed = new Promise<{ id: string; result: string }>((resolve) =>
          pool.once('completed', ({ task, result }) => resolve({ id: task.id, result })),
        )
        const task = await pool.submit({ echo: 'hi' })
        const chunks: string[] = []
        for await (const chunk of task.progress) chunks.push(chunk)
        expect(await task.result).toBe('hi')
        expect(chunks).toEqual(['chunk of hi'])
        expect(task.status).toBe('completed')
        expect(await completed).toEqual({ id: task.id, result: 'hi' })
        await pool.onIdle()
        expect(await pool.metrics()).toMatch(/^parking_lot_tasks_total\{pool="p",status="completed"\} 1$/m)
      }),
    )

    it(
      'refuses the same inputs with the same errors, accepting nothing',
      withPool(async ({ pool }) => {
        await expect(pool.submit({ echo: 'x' }, { cost: { slots: 3 } })).rejects.toBeInstanceOf(CostExceedsCapacityError)
        await expect(pool.submit({ echo: 'x' }, { cost: { slots: -1 } })).rejects.toBeInstanceOf(InvalidCostError)
        const aborted = AbortSignal.abort('no')
        await expect(pool.submit({ echo: 'x' }, { signal: aborted })).rejects.toBeInstanceOf(TaskCancelledError)
        expect((await pool.stats()).outcomes).toEqual({ completed: 0, failed: 0, expired: 0, dropped: 0, cancelled: 0 })
      }),
    )

    it(
      'get, snapshot, clear, onSizeLessThan and onIdle answer about the same tasks',
      withPool(async ({ pool, release }) => {
        const a = await pool.submit({ hold: 'a' })
        const b = await pool.submit({ hold: 'b' })
        // Tasks that fit start: at once here, after a claim on a shared queue.
        await expect.poll(() => [a.status, b.status]).toEqual(['running', 'running'])
        const c = await pool.submit({ hold: 'c' })
        const d = await pool.submit({ hold: 'd' })
        expect(c.status).toBe('parked')
        expect((await pool.get(c.id))?.id).toBe(c.id)
        const snapshot = await pool.snapshot()
        expect(snapshot).toMatchObject({ name: 'p', parkedTotal: 2, running: 2, capacity: { slots: 2 }, used: { slots: 2 } })
        const belowTwo = pool.onSizeLessThan(2)
        release('a')
        await belowTwo
        expect(await pool.clear()).toBe(1) // d: c started when a ended
        await expect(d.result).rejects.toBeInstanceOf(TaskCancelledError)
        release('b')
        release('c')
        await pool.onIdle()
        expect(await Promise.all([a.result, b.result, c.result])).toEqual(['a', 'b', 'c'])
        expect((await pool.stats()).outcomes).toMatchObject({ completed: 3, cancelled: 1 })
      }),
    )

    it(
      'submitAll accepts every item or none',
      withPool(async ({ pool }) => {
        const handles = await pool.submitAll([{ payload: { echo: 'one' } }, { payload: { echo: 'two' }, options: { priority: 'high' } }])
        expect(await Promise.all(handles.map((h: TaskHandle<string, string>) => h.result))).toEqual(['one', 'two'])
        const refused = await pool
          .submitAll([{ payload: { echo: 'fine' } }, { payload: { echo: 'too big' }, options: { cost: 9 } }])
          .catch((e: unknown) => e)
        expect(refused).toBeInstanceOf(CostExceedsCapacityError)
        expect((refused as Error).message).toMatch(/^submitAll item 1: /)
        await pool.onIdle()
        expect((await pool.stats()).outcomes.completed).toBe(2)
      }),
    )

    it(
      'pause holds starts, resume lets them go; after close, submits are refused with PoolClosedError',
      withPool(async ({ pool }) => {
        pool.pause()
        const task = await pool.submit({ echo: 'later' })
        expect(task.status).toBe('parked')
        pool.resume()
        expect(await task.result).toBe('later')
        await pool.close()
        await expect(pool.submit({ echo: 'x' })).rejects.toBeInstanceOf(PoolClosedError)
      }),
    )

    it(
      'a full lot refuses with QueueFullError',
      withPool(async ({ pool, release }) => {
        const tags = ['w', 'x', 'y', 'z']
        const running = await Promise.all(tags.slice(0, 2).map((tag) => pool.submit({ hold: tag })))
        // Two run (at once here, after a claim on a shared queue), two park: the lot is full.
        await expect.poll(() => running.map((h) => h.status)).toEqual(['running', 'running'])
        const held = [...running, ...(await Promise.all(tags.slice(2).map((tag) => pool.submit({ hold: tag }))))]
        await expect(pool.submit({ echo: 'one too many' })).rejects.toBeInstanceOf(QueueFullError)
        for (const tag of tags) release(tag)
        expect(await Promise.all(held.map((h) => h.result))).toEqual(tags)
      }),
    )
  })
}
