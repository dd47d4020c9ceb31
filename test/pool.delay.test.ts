import { describe, expect, it } from 'vitest'
import { InvalidOptionError, QueueFullError, TaskCancelledError, TaskExpiredError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('delayed tasks (delayMs / runAt)', () => {
  it('a delayed task is parked, not started, until its time on the clock, then starts at once', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 2 })
    const startedAt: number[] = []
    pool.on('started', () => startedAt.push(clock.now()))
    const t = await pool.submit('later', { delayMs: 1_000 })
    expect(t.status).toBe('parked')
    expect(pool.size).toBe(1)
    expect(pool.snapshot()).toMatchObject({ parkedTotal: 1, delayed: 1, parked: { normal: 1 } })
    let idle = false
    void pool.onIdle().then(() => (idle = true))
    await clock.advanceAsync(999)
    expect(jobs.order).toEqual([])
    await clock.advanceAsync(1)
    expect(jobs.order).toEqual(['later'])
    expect(startedAt).toEqual([clock.now()])
    expect(pool.snapshot()).toMatchObject({ parkedTotal: 0, delayed: 0 })
    expect(idle).toBe(false)
    await jobs.finish('later')
    expect(await t.result).toBe('later')
    expect(idle).toBe(true)
  })

  it('runAt is absolute; one in the past, like delayMs 0, starts at once', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 3 })
    await pool.submit('at', { runAt: clock.now() + 300 })
    await pool.submit('past', { runAt: clock.now() - 5 })
    await pool.submit('zero', { delayMs: 0 })
    expect(jobs.order).toEqual(['past', 'zero'])
    await clock.advanceAsync(300)
    expect(jobs.order).toEqual(['past', 'zero', 'at'])
  })

  it('once due, a task takes its place by priority, then submit order, among the parked tasks', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    await pool.submit('early-delayed', { delayMs: 100 })
    await pool.submit('plain')
    await pool.submit('high-delayed', { delayMs: 200, priority: 'high' })
    await pool.submit('late-delayed', { delayMs: 10_000 })
    await clock.advanceAsync(200)
    for (const name of ['running', 'high-delayed', 'early-delayed']) await jobs.finish(name)
    await jobs.finish('plain')
    expect(jobs.order).toEqual(['running', 'high-delayed', 'early-delayed', 'plain'])
    expect(pool.size).toBe(1)
    await clock.advanceAsync(10_000)
    expect(jobs.order.at(-1)).toBe('late-delayed')
  })

  it('counts against maxQueueDepth even when capacity is free (it parks whatever fits), but never stands ahead of a task that starts at once', async () => {
    const { pool, clock } = controlledPool({ capacity: 5, maxQueueDepth: 1 })
    await pool.submit('d', { delayMs: 50 })
    await expect(pool.submit('x', { delayMs: 50 })).rejects.toBeInstanceOf(QueueFullError)
    await expect(pool.submitAll([{ payload: 'y', options: { delayMs: 1 } }])).rejects.toBeInstanceOf(QueueFullError)
    expect(pool.size).toBe(1)
    const starts = await pool.submit('starts now')
    expect(starts.status).toBe('running')
    await clock.advanceAsync(50)
    expect(pool.size).toBe(0)
    await pool.submit('z', { delayMs: 50 })
  })

  it('under drop-lowest, a delayed task may be dropped for a higher one, like any parked task; one that starts at once needs no room', async () => {
    const { pool } = controlledPool({ capacity: 1, maxQueueDepth: 1, policy: { onFull: 'drop-lowest' } })
    const low = await pool.submit('low', { delayMs: 100, priority: 'low' })
    await pool.submit('starts', { priority: 'normal' }) // it starts at once: no room needed, none taken
    expect(low.status).toBe('parked')
    const critical = await pool.submit('critical', { priority: 'critical' })
    expect(low.status).toBe('dropped')
    expect(critical.status).toBe('parked')
    expect(pool.snapshot()).toMatchObject({ parkedTotal: 1, delayed: 0 })
    // A batch, too: the newest of the lowest goes first, delayed or not.
    const { pool: batch } = controlledPool({ capacity: 1, maxQueueDepth: 2, policy: { onFull: 'drop-lowest' } })
    await batch.submit('runs')
    const older = await batch.submit('older low', { priority: 'low' })
    const newer = await batch.submit('newer low', { priority: 'low', delayMs: 50 })
    await batch.submitAll([{ payload: 'high', options: { priority: 'high' } }])
    expect([older.status, newer.status]).toEqual(['parked', 'dropped'])
  })

  it('aging counts from the end of the delay, not from the submit', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, policy: { agingMs: 1_000 } })
    await pool.submit('running')
    await pool.submit('low, delayed', { priority: 'low', delayMs: 5_000 })
    await clock.advanceAsync(5_000)
    await pool.submit('high')
    await jobs.finish('running')
    expect(jobs.order).toEqual(['running', 'high'])
  })

  it("under fair share, a tenant whose only task is delayed banks no credit: it becomes active when the task is due, at the others' usage", async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, policy: { fairShare: true } })
    await pool.submit('a late', { tenant: 'a', delayMs: 100_000 })
    for (let i = 0; i < 6; i++) await pool.submit(`b${i}`, { tenant: 'b' })
    const runFor = async (ms: number): Promise<void> => {
      await clock.advanceAsync(ms)
      await jobs.finish(jobs.order.at(-1)!)
    }
    for (let i = 0; i < 3; i++) await runFor(1_000)
    for (let i = 0; i < 3; i++) await pool.submit(`a${i}`, { tenant: 'a' })
    while (jobs.order.length < 9) await runFor(1_000)
    // a joins at b's usage: the two alternate instead of a's three running back to back.
    expect(jobs.order).toEqual(['b0', 'b1', 'b2', 'b3', 'a0', 'b4', 'a1', 'b5', 'a2'])
  })

  it('the wait limit counts from when the task may start; a waitDeadline before that is refused', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const t = await pool.submit('w', { delayMs: 1_000, waitTimeoutMs: 500 })
    await clock.advanceAsync(1_499)
    expect(t.status).toBe('parked')
    await clock.advanceAsync(1)
    expect(t.status).toBe('expired')
    await expect(t.result).rejects.toBeInstanceOf(TaskExpiredError)
    const deadline = pool.submit('d', { runAt: clock.now() + 100, waitDeadline: clock.now() + 100 })
    await expect(deadline).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'waitDeadline' })
    // A waitDeadline after runAt holds, and expires a delayed task still waiting.
    const later = await pool.submit('l', { runAt: clock.now() + 100, waitDeadline: clock.now() + 150 })
    await clock.advanceAsync(150)
    expect(later.status).toBe('expired')
    await jobs.finish('running')
    expect(jobs.order).toEqual(['running'])
  })

  it('a delayed task cancelled or cleared never starts; its timer goes with it', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 3 })
    const cancelled = await pool.submit('c', { delayMs: 100 })
    const cleared = await pool.submit('k', { delayMs: 100 })
    const controller = new AbortController()
    await pool.submit('s', { delayMs: 100, signal: controller.signal })
    const timers = clock.pendingTimers
    cancelled.cancel()
    await expect(cancelled.result).rejects.toBeInstanceOf(TaskCancelledError)
    controller.abort()
    expect(clock.pendingTimers).toBe(timers - 2)
    expect(pool.clear()).toBe(1)
    await expect(cleared.result).rejects.toBeInstanceOf(TaskCancelledError)
    expect(clock.pendingTimers).toBe(0)
    await clock.advanceAsync(1_000)
    expect(jobs.order).toEqual([])
    expect(pool.size).toBe(0)
    await pool.onIdle()
  })

  it('refuses bad delays with a typed error naming the option, accepting nothing', async () => {
    const { pool, clock } = controlledPool({ capacity: 1 })
    for (const delayMs of [-1, Number.NaN, Infinity, '10']) {
      await expect(pool.submit('x', { delayMs: delayMs as number })).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'delayMs' })
    }
    await expect(pool.submit('x', { delayMs: 8.64e15 })).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'delayMs' })
    for (const runAt of [Infinity, Number.NaN, '2026-01-01', 8.64e15 + 1]) {
      await expect(pool.submit('x', { runAt: runAt as number })).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'runAt' })
    }
    const both = pool.submit('x', { delayMs: 5, runAt: clock.now() + 5 })
    await expect(both).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(both).rejects.toMatchObject({ path: 'runAt', message: expect.stringMatching(/not both/) })
    const batch = pool.submitAll([
      { payload: 'ok', options: { delayMs: 5 } },
      { payload: 'bad', options: { delayMs: -5 } },
    ])
    await expect(batch).rejects.toMatchObject({ path: 'delayMs', message: expect.stringMatching(/item 1/) })
    expect(pool.size).toBe(0)
  })

  it('submitAll takes delayed and plain tasks in one write: the plain ones start, the delayed wait', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 2 })
    const handles = await pool.submitAll([
      { payload: 'd', options: { delayMs: 10 } },
      { payload: 'a' },
      { payload: 'b', options: { priority: 'high' } },
    ])
    expect(handles.map((h) => h.status)).toEqual(['parked', 'running', 'running'])
    await jobs.finish('a')
    await clock.advanceAsync(10)
    expect(jobs.order).toEqual(['b', 'a', 'd'])
  })
})
