import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { Mailbox, ManualClock, ModelPool, ResourcePool, TaskDetachedError, type TaskContext } from '../src/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { flushPromises } from './helpers.js'

const dir = mkdtempSync(join(tmpdir(), 'ppl-durable-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

function durablePool(db: PGlite, executor: (n: number, ctx: TaskContext) => Promise<string>, name = 'jobs'): ResourcePool<number, string> {
  return new ResourcePool<number, string>({
    name,
    capacity: 1,
    executor,
    maxAttempts: 3,
    queue: new PGliteQueue<number>(db, { name }),
    mailbox: new Mailbox({ store: new PGliteMailboxStore<string>(db, { name }) }),
  })
}

describe('a pool on a durable queue (PGlite on a data directory)', () => {
  it('a failed model load counts as an attempt in the stored task: the next owner runs it with attempt 2', async () => {
    const db = await PGlite.create(join(dir, 'model-load'))
    let failed!: () => void
    const loadFailed = new Promise<void>((resolve) => (failed = resolve))
    const poolA = new ModelPool<number, string>({
      name: 'models',
      capacity: { vram: 4 },
      executor: () => 'never',
      maxAttempts: 3,
      retryBaseDelayMs: 60_000, // waits out its backoff until the pool closes
      clock: new ManualClock(0), // so the stored retry time is long past for the next owner
      queue: new PGliteQueue<number>(db, { name: 'models' }),
      models: { m: { cost: { vram: 2 }, load: () => Promise.reject(new Error('bad file')) } },
    })
    poolA.on('retrying', () => failed())
    const submitted = await poolA.submit(1, { model: 'm', cost: { vram: 1 } })
    await loadFailed
    await poolA.close()
    const runs: string[] = []
    const poolB = new ModelPool<number, string>({
      name: 'models',
      capacity: { vram: 4 },
      executor: (n: number, ctx: TaskContext) => {
        runs.push(`${n} on ${String(ctx.model)} at attempt ${ctx.attempt}`)
        return 'done'
      },
      queue: new PGliteQueue<number>(db, { name: 'models' }),
      models: { m: { cost: { vram: 2 }, load: () => 'weights' } },
    })
    await poolB.ready
    await poolB.onIdle()
    expect(runs).toEqual([`1 on weights at attempt 2`])
    expect(poolB.get(submitted.id)).toBeUndefined()
    await poolB.close()
    await db.close()
  })

  it("recovers parked tasks and re-runs a dead owner's running task with attempt + 1", async () => {
    const dataDir = join(dir, 'recover')
    const first = await PGlite.create(dataDir)
    const hung = new Promise<string>(() => {})
    const poolA = durablePool(first, () => hung)
    const running = await poolA.submit(1, { mailbox: { tenant: 't' } })
    const parked = await poolA.submit(2, { mailbox: { tenant: 't' }, priority: 'high' })
    await flushPromises()
    expect(running.status).toBe('running')
    // The process "dies": nothing is closed or acked; the database is closed under it.
    await first.close()

    const second = await PGlite.create(dataDir)
    const attempts: [number, number][] = []
    let open!: () => void
    const gate = new Promise<void>((resolve) => (open = resolve))
    const poolB = durablePool(second, async (n, ctx) => {
      attempts.push([n, ctx.attempt])
      await gate
      return `done ${n}`
    })
    await poolB.ready
    // Both are back under their ids: one running (capacity 1), one parked.
    expect(poolB.get(parked.id)?.id).toBe(parked.id)
    expect(poolB.get(running.id)?.id).toBe(running.id)
    open()
    await poolB.onIdle()
    expect(attempts.sort()).toEqual([
      [1, 2],
      [2, 1],
    ])
    const { messages } = await poolB.mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => [m.taskId, m.status, m.attempts]).sort()).toEqual(
      [
        [running.id, 'completed', 2],
        [parked.id, 'completed', 1],
      ].sort(),
    )
    await poolB.close()
    await second.close()
  }, 60_000)

  it('a delayed task (delayMs) and a stored retry backoff still wait for their time after a restart, then run once', async () => {
    const db = await PGlite.create(join(dir, 'delayed'))
    const clock = new ManualClock(1_000_000)
    const made = (executor: (n: number, ctx: TaskContext) => Promise<string>): ResourcePool<number, string> =>
      new ResourcePool<number, string>({
        name: 'later',
        capacity: 2,
        executor,
        clock,
        maxAttempts: 2,
        retryBaseDelayMs: 8_000,
        random: () => 0.5, // backoff = 8_000 / 2 + 0.5 * 8_000 / 2 = 6_000
        queue: new PGliteQueue<number>(db, { name: 'later' }),
      })
    let retrying!: () => void
    const failedOnce = new Promise<void>((resolve) => (retrying = resolve))
    const poolA = made(() => Promise.reject(new Error('first try fails')))
    poolA.on('retrying', () => retrying())
    const delayed = await poolA.submit(1, { delayMs: 10_000 })
    await poolA.submit(2)
    await failedOnce
    await poolA.close()
    await expect(delayed.result).rejects.toBeInstanceOf(TaskDetachedError)

    const ran: [number, number, number][] = []
    const poolB = made(async (n, ctx) => {
      ran.push([n, ctx.attempt, clock.now() - 1_000_000])
      return `done ${n}`
    })
    await poolB.ready
    expect(poolB.snapshot()).toMatchObject({ parkedTotal: 2, delayed: 2 })
    await clock.advanceAsync(5_999)
    await flushPromises()
    expect(ran).toEqual([])
    await clock.advanceAsync(1)
    await expect.poll(() => ran).toEqual([[2, 2, 6_000]])
    await clock.advanceAsync(4_000)
    await poolB.onIdle()
    expect(ran).toEqual([
      [2, 2, 6_000],
      [1, 1, 10_000],
    ])
    await poolB.close()
    await db.close()
  })

  it('ends a poison task as failed when its owner died on the last attempt', async () => {
    const dataDir = join(dir, 'poison')
    const first = await PGlite.create(dataDir)
    const poolA = durablePool(first, () => new Promise(() => {}))
    const task = await poolA.submit(7, { maxAttempts: 1, mailbox: { tenant: 't' } })
    await flushPromises()
    await first.close()
    const second = await PGlite.create(dataDir)
    let ran = false
    const poolB = durablePool(second, async () => {
      ran = true
      return 'no'
    })
    await poolB.ready
    await poolB.onIdle()
    expect(ran).toBe(false)
    const { messages } = await poolB.mailbox.fetch({ tenant: 't' })
    expect(messages).toMatchObject([{ taskId: task.id, status: 'failed', error: { code: 'TASK_FAILED' } }])
    await poolB.close()
    await second.close()
  }, 60_000)

  it('acks and writes the mailbox message in one transaction when both live in one database', async () => {
    const db = await PGlite.create(join(dir, 'shared'))
    const pool = durablePool(db, async (n) => `r${n}`, 'shared')
    const task = await pool.submit(3, { mailbox: { tenant: 't' } })
    await pool.onIdle()
    await pool.close()
    const jobs = await db.query<{ n: number }>("select count(*)::int as n from pl_queue_jobs where queue_name = 'shared'")
    const messages = await db.query<{ task_id: string; status: string }>(
      "select task_id, status from pl_mailbox_messages where mailbox_name = 'shared'",
    )
    expect(jobs.rows[0]!.n).toBe(0)
    expect(messages.rows).toEqual([{ task_id: task.id, status: 'completed' }])
    await db.close()
  }, 60_000)

  it('close() keeps parked tasks in the durable queue for the next start', async () => {
    const dataDir = join(dir, 'close')
    const db = await PGlite.create(dataDir)
    const pool = durablePool(db, () => new Promise(() => {}))
    await pool.submit(1)
    const parked = await pool.submit(2)
    const closing = pool.close()
    await expect(parked.result).rejects.toThrow(TaskDetachedError)
    await expect(parked.result).rejects.toThrow(/kept in the durable queue and runs after the next start/)
    expect(parked.status).toBe('detached')
    void closing // the running task never settles; this test does not wait for it
    await db.close()
    const again = await PGlite.create(dataDir)
    const ran: number[] = []
    const next = durablePool(again, async (n) => {
      ran.push(n)
      return 'ok'
    })
    await next.ready
    await next.onIdle()
    expect(ran.sort()).toEqual([1, 2])
    await next.close()
    await again.close()
  }, 60_000)
  it('rates on a durable queue: parked tasks start as the window frees room; a stored task keeps its draw after a restart', async () => {
    const dataDir = join(dir, 'rates')
    const db = await PGlite.create(dataDir)
    const ran: number[] = []
    const ratedPool = (on: PGlite, clock: ManualClock): ResourcePool<number, string> =>
      new ResourcePool<number, string>({
        name: 'rated',
        capacity: 4,
        rates: { requests: { limit: 2, intervalMs: 1_000 } },
        clock,
        executor: async (n) => {
          ran.push(n)
          return 'ok'
        },
        queue: new PGliteQueue<number>(on, { name: 'rated' }),
      })
    const clock = new ManualClock(0)
    const pool = ratedPool(db, clock)
    const draw = { cost: { slots: 1, requests: 1 } }
    const tasks = [await pool.submit(1, draw), await pool.submit(2, draw), await pool.submit(3, draw), await pool.submit(4, draw)]
    await Promise.all(tasks.slice(0, 2).map((t) => t.result))
    expect(tasks.map((t) => t.status)).toEqual(['completed', 'completed', 'parked', 'parked'])
    await clock.advanceAsync(1_000)
    await Promise.all(tasks.map((t) => t.result))
    expect(ran).toEqual([1, 2, 3, 4])
    // A restart: the window starts empty (draws are not stored), the stored tasks keep their draws.
    const parked = [await pool.submit(5, draw), await pool.submit(6, draw)]
    await pool.close()
    await expect(parked[0]!.result).rejects.toThrow(TaskDetachedError)
    await db.close()
    const again = await PGlite.create(dataDir)
    const next = ratedPool(again, new ManualClock(0))
    await next.ready
    await next.onIdle()
    expect(ran).toEqual([1, 2, 3, 4, 5, 6])
    const third = await next.submit(7, draw)
    expect(third.status).toBe('parked')
    expect(next.snapshot().used['requests']).toBe(2)
    await next.close()
    await again.close()
  }, 60_000)
})
