import { describe, expect, it } from 'vitest'
import { ManualClock, ResourcePool, TaskExpiredError } from '../src/index.js'
import { controlledPool, flushPromises } from './helpers.js'

describe('results, progress and the mailbox', () => {
  it('every progress consumer gets every chunk from the first, however late it starts', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    const t = await pool.submit('gen')
    const early: unknown[] = []
    const consume = async (into: unknown[]): Promise<void> => {
      for await (const chunk of t.progress) into.push(chunk)
    }
    const earlyDone = consume(early)
    const ctx = jobs.find('gen').ctx
    ctx.emit('a')
    ctx.emit('b')
    await flushPromises()
    const late: unknown[] = []
    const lateDone = consume(late)
    ctx.emit('c')
    await jobs.finish('gen', 'abc')
    await Promise.all([earlyDone, lateDone])
    expect(early).toEqual(['a', 'b', 'c'])
    expect(late).toEqual(['a', 'b', 'c'])
    const after: unknown[] = []
    await consume(after)
    expect(after).toEqual(['a', 'b', 'c'])
  })

  it('a terminal message per task with the completion time, status and task id (seed defect 6)', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    const submittedAt = clock.now()
    const t = await pool.submit('job', { mailbox: { tenant: 't1', user: 'u1', session: 's1' } })
    await clock.advanceAsync(250)
    await jobs.finish('job', { text: 'hello' })
    const { messages } = await pool.mailbox.fetch({ tenant: 't1', user: 'u1' })
    expect(messages).toEqual([
      expect.objectContaining({
        taskId: t.id,
        status: 'completed',
        result: { text: 'hello' },
        submittedAt,
        completedAt: submittedAt + 250,
        attempts: 1,
        key: { tenant: 't1', user: 'u1', session: 's1' },
      }),
    ])
  })

  it('a result nobody awaits never surfaces as an unhandled rejection', async () => {
    const unhandled: unknown[] = []
    const onUnhandled = (reason: unknown): void => {
      unhandled.push(reason)
    }
    process.on('unhandledRejection', onUnhandled)
    try {
      const clock = new ManualClock()
      const pool = new ResourcePool<number, number>({ capacity: 1, clock, executor: () => Promise.reject(new Error('x')) })
      const a = await pool.submit(1)
      void a.result // looked at, never awaited
      await pool.submit(2, { waitTimeoutMs: 1 })
      await clock.advanceAsync(5)
      await flushPromises()
      await flushPromises()
    } finally {
      process.off('unhandledRejection', onUnhandled)
    }
    expect(unhandled).toEqual([])
  })

  it('pool.get(id) re-attaches to a live task, and forgets it once it ended', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    const running = await pool.submit('r')
    const parked = await pool.submit('p')
    expect(pool.get(running.id)).toBe(running)
    expect(pool.get(parked.id)?.status).toBe('parked')
    await jobs.finish('r')
    expect(pool.get(running.id)).toBeUndefined()
    expect(pool.get('nope')).toBeUndefined()
  })

  it('an expired task result rejects with TaskExpiredError', async () => {
    const { pool, clock } = controlledPool({ capacity: 1 })
    await pool.submit('r')
    const t = await pool.submit('w', { waitTimeoutMs: 10 })
    const result = t.result
    await clock.advanceAsync(10)
    await expect(result).rejects.toBeInstanceOf(TaskExpiredError)
  })
})
