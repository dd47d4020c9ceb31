import { describe, expect, it } from 'vitest'
import { TaskFailedError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('run timeouts', () => {
  it('rejects at once with cause timeout, aborts the signal, and holds capacity until the executor settles', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    const t = await pool.submit('slow', { runTimeoutMs: 100 })
    await pool.submit('next')
    const signal = jobs.find('slow').ctx.signal
    await clock.advanceAsync(100)
    expect(signal.aborted).toBe(true)
    expect(t.status).toBe('failed')
    const error = await t.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'timeout', attempts: 1 })
    // The executor has not returned: its units are still held, and 'next' waits.
    expect(pool.snapshot()).toMatchObject({ running: 0, stopping: 1, used: { slots: 1 } })
    expect(jobs.order).toEqual(['slow'])
    await jobs.finish('slow')
    expect(pool.snapshot()).toMatchObject({ stopping: 0 })
    expect(jobs.order).toEqual(['slow', 'next'])
    await expect(t.result).rejects.toBeInstanceOf(TaskFailedError) // a late success changes nothing
  })

  it('defaultRunTimeoutMs applies per pool; with attempts left the handle stays pending on the retry', async () => {
    const { pool, jobs, clock } = controlledPool({
      capacity: 2,
      defaultRunTimeoutMs: 100,
      maxAttempts: 2,
      retryBaseDelayMs: 10,
      retryMaxDelayMs: 10,
    })
    const t = await pool.submit('x')
    await clock.advanceAsync(100)
    expect(t.status).toBe('retrying')
    expect(pool.snapshot().stopping).toBe(1)
    await clock.advanceAsync(10)
    expect(t.status).toBe('running')
    expect(t.attempt).toBe(2)
    expect(jobs.started.map((s) => s.ctx.attempt)).toEqual([1, 2])
    jobs.started[1]!.resolve('second')
    await clock.advanceAsync(0)
    await expect(t.result).resolves.toBe('second')
  })
})
