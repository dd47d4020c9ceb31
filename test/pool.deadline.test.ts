import { describe, expect, it } from 'vitest'
import { TaskExpiredError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('wait limits', () => {
  it('expires a parked task on time by a timer, not only when something finishes (seed defect 5)', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const waiting = await pool.submit('w', { waitTimeoutMs: 500, mailbox: { tenant: 't' } })
    const expired: string[] = []
    pool.on('expired', ({ task }) => expired.push(task.id))
    await clock.advanceAsync(499)
    expect(waiting.status).toBe('parked')
    await clock.advanceAsync(1)
    expect(waiting.status).toBe('expired')
    expect(expired).toEqual([waiting.id])
    expect(pool.size).toBe(0)
    await expect(waiting.result).rejects.toBeInstanceOf(TaskExpiredError)
    const { messages } = await pool.mailbox.fetch({ tenant: 't' })
    expect(messages).toMatchObject([{ taskId: waiting.id, status: 'expired', completedAt: clock.now() }])
    await jobs.finish('running')
    expect(jobs.order).toEqual(['running'])
  })

  it('waitDeadline is absolute; the earlier of it and waitTimeoutMs wins', async () => {
    const { pool, clock } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const t = await pool.submit('w', { waitDeadline: clock.now() + 100, waitTimeoutMs: 1_000 })
    await clock.advanceAsync(100)
    expect(t.status).toBe('expired')
  })

  it('defaultWaitTimeoutMs applies to tasks without a limit (the seed default_timeout_secs)', async () => {
    const { pool, clock } = controlledPool({ capacity: 1, defaultWaitTimeoutMs: 50 })
    await pool.submit('running')
    const t = await pool.submit('w')
    await clock.advanceAsync(50)
    expect(t.status).toBe('expired')
  })

  it('refuses a deadline already past at submit', async () => {
    const { pool, clock } = controlledPool({ capacity: 1 })
    await expect(pool.submit('x', { waitDeadline: clock.now() })).rejects.toBeInstanceOf(TaskExpiredError)
    expect(pool.size).toBe(0)
  })

  it('a running task does not expire', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    const t = await pool.submit('r', { waitTimeoutMs: 10 })
    await clock.advanceAsync(100)
    expect(t.status).toBe('running')
    await jobs.finish('r', 'ok')
    await expect(t.result).resolves.toBe('ok')
  })

  it('a task that failed and waits out its backoff past its wait limit expires once (found by the fuzz test)', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, maxAttempts: 2, retryBaseDelayMs: 10_000, random: () => 0 })
    const ends: string[] = []
    for (const status of ['completed', 'failed', 'expired', 'cancelled'] as const) pool.on(status, () => ends.push(status))
    const task = await pool.submit('fails first', { waitTimeoutMs: 1_000 }) // starts at once
    await jobs.fail('fails first', new Error('once'))
    expect(task.status).toBe('retrying') // its backoff (5 s) outlasts its wait limit
    await clock.advanceAsync(20_000)
    expect(task.status).toBe('expired')
    expect(ends).toEqual(['expired'])
  })
})
