import { describe, expect, it } from 'vitest'
import { IdempotencyConflictError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('idempotency keys', () => {
  it('a submit with a known key returns the existing task, never a duplicate', async () => {
    const { pool, jobs } = controlledPool<{ prompt: string }>({ capacity: 1 })
    const a = await pool.submit({ prompt: 'hi' }, { key: 'req-42' })
    const b = await pool.submit({ prompt: 'hi' }, { key: 'req-42' })
    expect(b).toBe(a)
    expect(jobs.started).toHaveLength(1)
  })

  it('the same key with a different payload is refused and changes nothing', async () => {
    const { pool } = controlledPool<{ prompt: string }>({ capacity: 1 })
    const a = await pool.submit({ prompt: 'hi' }, { key: 'k' })
    const error = await pool.submit({ prompt: 'other' }, { key: 'k' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(IdempotencyConflictError)
    expect(error).toMatchObject({ key: 'k', existingTaskId: a.id })
  })

  it('keys are remembered for keyRetentionMs after the task ends, then forgotten', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, keyRetentionMs: 1_000 })
    const a = await pool.submit('x', { key: 'k' })
    await jobs.finish('x', 'done')
    await clock.advanceAsync(999)
    const again = await pool.submit('x', { key: 'k' })
    // The same task, ended: its outcome is kept, not its payload or chunks.
    expect(again.id).toBe(a.id)
    expect(again.status).toBe('completed')
    await expect(again.result).resolves.toBe('done')
    expect(jobs.started).toHaveLength(1)
    await clock.advanceAsync(1)
    const fresh = await pool.submit('x', { key: 'k' })
    expect(fresh.id).not.toBe(a.id)
  })

  it('payloads compare by value, key order aside', async () => {
    const { pool } = controlledPool<Record<string, unknown>>({ capacity: 1 })
    const a = await pool.submit({ a: 1, b: [1, 2] }, { key: 'k' })
    expect(await pool.submit({ b: [1, 2], a: 1 }, { key: 'k' })).toBe(a)
  })
})
