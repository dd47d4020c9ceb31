import { describe, expect, it } from 'vitest'
import { QueueFullError, TaskDroppedError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('queue depth', () => {
  it("'reject' refuses a task once maxQueueDepth are parked, and keeps what it had", async () => {
    const { pool, jobs } = controlledPool({ capacity: 1, maxQueueDepth: 2 })
    await pool.submit('running')
    await pool.submit('p1')
    await pool.submit('p2')
    await expect(pool.submit('p3', { priority: 'critical' })).rejects.toBeInstanceOf(QueueFullError)
    expect(pool.size).toBe(2)
    await jobs.finish('running')
    await pool.submit('p3')
    expect(pool.size).toBe(2)
  })

  it('a task that starts at once never parks, so a depth of 0 still runs what fits', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1, maxQueueDepth: 0 })
    await pool.submit('a')
    await expect(pool.submit('b')).rejects.toBeInstanceOf(QueueFullError)
    expect(jobs.order).toEqual(['a'])
  })

  it("'drop-lowest' drops the newest parked task of the lowest priority for one that outranks it", async () => {
    const { pool, jobs } = controlledPool({ capacity: 1, maxQueueDepth: 3, policy: { onFull: 'drop-lowest' } })
    await pool.submit('running')
    const low1 = await pool.submit('low-1', { priority: 'low', mailbox: { tenant: 't' } })
    const low2 = await pool.submit('low-2', { priority: 'low', mailbox: { tenant: 't' } })
    await pool.submit('normal-1')
    const high = await pool.submit('high-1', { priority: 'high' })
    expect(low2.status).toBe('dropped')
    await expect(low2.result).rejects.toBeInstanceOf(TaskDroppedError)
    expect(low1.status).toBe('parked')
    expect(high.status).toBe('parked')
    // Equal priority does not outrank: refused.
    await expect(pool.submit('low-3', { priority: 'low' })).rejects.toBeInstanceOf(QueueFullError)
    const { messages } = await pool.mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => [m.taskId, m.status])).toEqual([[low2.id, 'dropped']])
    expect(jobs.order).toEqual(['running'])
  })
})
