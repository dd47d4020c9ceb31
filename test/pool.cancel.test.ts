import { describe, expect, it } from 'vitest'
import { TaskCancelledError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('cancellation', () => {
  it('cancelling a parked task removes it; it never runs', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const t = await pool.submit('parked', { mailbox: { tenant: 't' } })
    expect(t.cancel('user left')).toBe(true)
    expect(t.status).toBe('cancelled')
    expect(pool.size).toBe(0)
    await expect(t.result).rejects.toBeInstanceOf(TaskCancelledError)
    await jobs.finish('running')
    expect(jobs.order).toEqual(['running'])
    const { messages } = await pool.mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => m.status)).toEqual(['cancelled'])
    expect(t.cancel()).toBe(false)
  })

  it('cancelling a running task aborts its signal and holds capacity until the executor settles', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    const t = await pool.submit('running')
    await pool.submit('next')
    t.cancel()
    expect(jobs.find('running').ctx.signal.aborted).toBe(true)
    expect(t.status).toBe('cancelled')
    expect(pool.snapshot()).toMatchObject({ stopping: 1, used: { slots: 1 } })
    expect(jobs.order).toEqual(['running'])
    await jobs.fail('running', new Error('aborted'))
    expect(jobs.order).toEqual(['running', 'next'])
  })

  it('an AbortSignal passed at submit cancels; one already aborted is refused', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const controller = new AbortController()
    const t = await pool.submit('parked', { signal: controller.signal })
    controller.abort()
    expect(t.status).toBe('cancelled')
    await expect(pool.submit('late', { signal: AbortSignal.abort() })).rejects.toBeInstanceOf(TaskCancelledError)
    expect(pool.size).toBe(0)
  })

  it('clear() cancels every parked task and leaves running ones', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    const running = await pool.submit('running')
    const a = await pool.submit('a')
    const b = await pool.submit('b', { priority: 'high' })
    expect(pool.clear()).toBe(2)
    expect([a.status, b.status, running.status]).toEqual(['cancelled', 'cancelled', 'running'])
  })
})
