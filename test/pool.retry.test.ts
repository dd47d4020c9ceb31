import { describe, expect, it } from 'vitest'
import { TaskFailedError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('retries', () => {
  it('retries a failure with exponential backoff and jitter while attempts remain', async () => {
    const { pool, jobs, clock } = controlledPool({
      capacity: 1,
      maxAttempts: 3,
      retryBaseDelayMs: 100,
      retryMaxDelayMs: 10_000,
      random: () => 1, // the top of the jitter range: delays are exactly 100, 200
    })
    const delays: number[] = []
    pool.on('retrying', ({ delayMs }) => delays.push(delayMs))
    const t = await pool.submit('flaky')
    await jobs.fail('flaky', new Error('boom 1'))
    await clock.advanceAsync(100)
    await jobs.fail('flaky', new Error('boom 2'))
    await clock.advanceAsync(200)
    await jobs.finish('flaky', 'finally')
    expect(delays).toEqual([100, 200])
    await expect(t.result).resolves.toBe('finally')
    expect(jobs.started.map((s) => s.ctx.attempt)).toEqual([1, 2, 3])
  })

  it('jitter keeps the delay between half and all of the exponential step', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1, maxAttempts: 2, retryBaseDelayMs: 100, random: () => 0 })
    const delays: number[] = []
    pool.on('retrying', ({ delayMs }) => delays.push(delayMs))
    await pool.submit('x')
    await jobs.fail('x', new Error('e'))
    expect(delays).toEqual([50])
  })

  it('a retry re-enters the lot at its original position', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, maxAttempts: 2, retryBaseDelayMs: 10, random: () => 1 })
    await pool.submit('first')
    await pool.submit('second')
    await jobs.fail('first', new Error('e')) // second starts; first waits 10 ms, then parks
    await clock.advanceAsync(10)
    await pool.submit('third')
    await jobs.finish('second')
    expect(jobs.order).toEqual(['first', 'second', 'first'])
  })

  it('gives up after maxAttempts, failing with the last error as cause', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, maxAttempts: 2, retryBaseDelayMs: 10, random: () => 1 })
    const t = await pool.submit('x')
    await jobs.fail('x', new Error('first'))
    expect(t.status).toBe('retrying')
    await clock.advanceAsync(10)
    await jobs.fail('x', new RangeError('second'))
    const error = await t.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'error', attempts: 2, message: expect.stringContaining('second') })
    expect((error as Error).cause).toBeInstanceOf(RangeError)
    expect(jobs.started.map((s) => s.ctx.attempt)).toEqual([1, 2])
    expect(t.status).toBe('failed')
  })

  it('gives up at once when retryOn says no, though attempts remain', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1, maxAttempts: 5, retryOn: (e) => !(e instanceof TypeError) })
    const t = await pool.submit('x', { maxAttempts: 5 })
    await jobs.fail('x', new TypeError('bad input'))
    const error = await t.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'error', attempts: 1, message: expect.stringContaining('bad input') })
    expect((error as Error).cause).toBeInstanceOf(TypeError)
    expect(jobs.started).toHaveLength(1)
  })

  it('a cancelled or expired task never retries', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, maxAttempts: 3, retryBaseDelayMs: 1_000 })
    const t = await pool.submit('x', { waitTimeoutMs: 500 })
    await jobs.fail('x', new Error('e'))
    expect(t.status).toBe('retrying')
    await clock.advanceAsync(500) // its wait limit passes during the backoff
    expect(t.status).toBe('expired')
    const u = await pool.submit('y')
    u.cancel()
    await jobs.fail('y', new Error('after cancel'))
    expect(u.status).toBe('cancelled')
    expect(jobs.order).toEqual(['x', 'y'])
  })

  it('a retry of a task that started by backfill (out of its lane) comes back to one place: positions count it once', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 2, maxAttempts: 2, retryBaseDelayMs: 10, policy: { backfill: true } })
    await pool.submit('hold', { cost: 1 })
    const a = await pool.submit('A', { cost: 2 })
    const x = await pool.submit('X', { cost: 1 })
    const y = await pool.submit('Y', { cost: 2 })
    await pool.submit('Z', { cost: 1 })
    await jobs.fail('X', new Error('once'))
    expect(jobs.order).toEqual(['hold', 'X', 'Z'])
    await clock.advanceAsync(10)
    expect([a.position, x.position, y.position]).toEqual([0, 1, 2])
    expect(pool.clear()).toBe(3)
  })
})
