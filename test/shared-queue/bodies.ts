/*
 * What every shared queue (PostgresQueue, PgmqQueue) must do for pools that share it, one body
 * for both. `make(name, capacity, options)` gives a pool on the shared queue `name` with its own
 * connections (the file closes them after each test); `stored(name)` counts the tasks the store
 * still holds for that queue.
 */
import { expect, it } from 'vitest'
import { TaskCancelledError, TaskFailedError, type CostInput } from '../../src/index.js'
import { progressOf, type Member, type MemberOptions } from './members.js'

export interface SharedQueueUnderTest {
  member(name: string, capacity: Record<string, number>, options?: MemberOptions): Member
  stored(name: string): Promise<number>
  /** A fresh queue name. */
  name(label: string): string
}

export function sharedQueueBodies({ member, stored, name: fresh }: SharedQueueUnderTest): void {
  it('runs what one pool submits; its handle resolves with the result and streams progress; nothing is left stored', async () => {
    const name = fresh('solo')
    const { pool, ran } = member(name, { slots: 2 })
    const handles = await pool.submitAll(['a', 'b', 'c'].map((echo) => ({ payload: { echo } })))
    expect(await Promise.all(handles.map((h) => h.result))).toEqual(['a', 'b', 'c'])
    expect(await progressOf(handles[0]!)).toEqual(['chunk of a'])
    expect(ran.sort()).toEqual(['a', 'b', 'c'])
    await pool.onIdle()
    expect(await stored(name)).toBe(0)
  })

  it('a task submitted by one pool runs on another; the submitter gets progress and the result through the database', async () => {
    const name = fresh('pair')
    const submitter = member(name, { slots: 2 }, { paused: true })
    const runner = member(name, { slots: 2 })
    const handle = await submitter.pool.submit({ hold: 'remote' })
    const chunks = progressOf(handle)
    await expect.poll(() => runner.ran).toEqual(['remote'])
    runner.release('remote')
    expect(await handle.result).toBe('remote')
    expect(await chunks).toEqual(['holding remote'])
    expect(submitter.ran).toEqual([])
    await submitter.pool.onIdle()
  })

  it('each pool takes only what fits its free units, per resource; a task over a pool’s capacity runs on one it fits; each runs once', async () => {
    const name = fresh('fit')
    const submitter = member(name, { gpu: 8, cpu: 8 }, { paused: true })
    const small = member(name, { gpu: 2, cpu: 4 })
    const big = member(name, { gpu: 8, cpu: 1 })
    const costs: CostInput[] = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? { gpu: 5, cpu: 1 } : { gpu: 1, cpu: 2 }))
    const handles = await submitter.pool.submitAll(costs.map((cost, i) => ({ payload: { echo: `t${i}`, cost }, options: { cost } })))
    expect((await Promise.all(handles.map((h) => h.result))).sort()).toEqual(costs.map((_, i) => `t${i}`).sort())
    expect(small.peak['gpu']).toBeLessThanOrEqual(2)
    expect(small.peak['cpu']).toBeLessThanOrEqual(4)
    expect(big.peak['gpu']).toBeLessThanOrEqual(8)
    expect(big.peak['cpu']).toBeLessThanOrEqual(1)
    const gpu5 = costs.flatMap((cost, i) => ((cost as { gpu: number }).gpu === 5 ? [`t${i}`] : []))
    expect(small.ran.filter((t) => gpu5.includes(t))).toEqual([])
    expect([...small.ran, ...big.ran].sort()).toEqual(costs.map((_, i) => `t${i}`).sort())
  })

  it('a delayed task (delayMs) waits in the store until its time by the database clock, while later tasks run; then it runs once, woken at its time (not by a poll)', async () => {
    const name = fresh('delay')
    const submitter = member(name, { slots: 1 }, { paused: true, pollMs: 60_000 })
    const runner = member(name, { slots: 1 }, { pollMs: 60_000 })
    const startedAt = new Map<string, number>()
    runner.pool.on('started', ({ task }) => startedAt.set(task.id, Date.now()))
    const submittedAt = Date.now()
    const later = await submitter.pool.submit({ echo: 'later' }, { delayMs: 400 })
    expect(submitter.pool.snapshot()).toMatchObject({ parkedTotal: 1, delayed: 1 })
    const now = await submitter.pool.submit({ echo: 'now' })
    expect(await now.result).toBe('now')
    expect(await later.result).toBe('later')
    // Had it been claimable early, the runner would have taken it first (same priority, older).
    expect(runner.ran).toEqual(['now', 'later'])
    const waited = startedAt.get(later.id)! - submittedAt
    expect(waited).toBeGreaterThanOrEqual(400)
    // A poll comes 30 s or more apart here: only the submitter's wake at the due time starts it this soon.
    expect(waited).toBeLessThan(20_000)
    await submitter.pool.onIdle()
    expect(await stored(name)).toBe(0)
  })

  it('the store orders by the named priorities: a number between them is refused and nothing of the batch is kept; 0 to 3 are the names; setPriority is refused', async () => {
    const name = fresh('numeric')
    const { pool } = member(name, { slots: 1 }, { paused: true })
    await expect(pool.submit({ echo: 'between' }, { priority: 2.5 })).rejects.toMatchObject({
      name: 'InvalidOptionError',
      path: 'priority',
    })
    await expect(
      pool.submitAll([{ payload: { echo: 'ok' } }, { payload: { echo: 'between' }, options: { priority: -1 } }]),
    ).rejects.toThrow(/named priorities only/)
    expect(await stored(name)).toBe(0)
    const named = await pool.submit({ echo: 'two' }, { priority: 2 })
    expect(named.priority).toBe('high')
    expect(() => pool.setPriority(named.id, 'low')).toThrow(/shared queue/)
    pool.resume()
    expect(await named.result).toBe('two')
  })

  it('a failed attempt waits out its backoff in the store and runs again as attempt 2', async () => {
    const runner = member(fresh('retry'), { slots: 1 })
    const handle = await runner.pool.submit({ fail: 1, then: 'second time' }, { maxAttempts: 3 })
    expect(await handle.result).toBe('second time')
    expect(runner.ran).toEqual(['fail 1 attempt 1', 'fail 1 attempt 2'])
  })

  it('the last failed attempt fails the task, and the submitter in another pool gets a TaskFailedError', async () => {
    const name = fresh('fails')
    const submitter = member(name, { slots: 1 }, { paused: true })
    member(name, { slots: 1 })
    const handle = await submitter.pool.submit({ fail: 5, then: 'never' }, { maxAttempts: 2 })
    const error = await handle.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'error', attempts: 2, message: expect.stringMatching(/failure 2/) })
  })

  it('cancelling a task nobody runs yet removes it from the store', async () => {
    const name = fresh('cancel')
    const submitter = member(name, { slots: 1 }, { paused: true })
    const handle = await submitter.pool.submit({ echo: 'never' })
    expect(handle.cancel()).toBe(true)
    await expect(handle.result).rejects.toBeInstanceOf(TaskCancelledError)
    expect(await stored(name)).toBe(0)
  })

  it('cancelling a task another pool runs stops it there (at its next renewal); the submitter gets the cancel', async () => {
    const name = fresh('stop')
    const submitter = member(name, { slots: 1 }, { paused: true })
    const runner = member(name, { slots: 1 }, { leaseMs: 1_500 })
    const handle = await submitter.pool.submit({ hold: 'long' })
    await expect.poll(() => runner.ran).toEqual(['long'])
    const cancelled = new Promise((resolve) => runner.pool.once('cancelled', resolve))
    handle.cancel()
    await expect(handle.result).rejects.toBeInstanceOf(TaskCancelledError)
    await cancelled
    expect((await runner.pool.stats()).outcomes.cancelled).toBe(1)
  })
}
