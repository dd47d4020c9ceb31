import { describe, expect, it } from 'vitest'
import { ManualClock, ResourcePool, TaskFailedError } from '../src/index.js'
import { flushPromises } from './helpers.js'

describe('failures', () => {
  it("a throwing or rejecting executor gives 'failed' with the error's message, and the pool keeps going (seed defect 7)", async () => {
    const clock = new ManualClock()
    const pool = new ResourcePool<string, string>({
      capacity: 1,
      clock,
      executor: (payload) => {
        if (payload === 'sync-throw') throw new Error('thrown synchronously')
        if (payload === 'reject') return Promise.reject(new Error('rejected'))
        return `ok:${payload}`
      },
    })
    const a = await pool.submit('sync-throw', { mailbox: { tenant: 't' } })
    const b = await pool.submit('reject', { mailbox: { tenant: 't' } })
    const c = await pool.submit('fine', { mailbox: { tenant: 't' } })
    await flushPromises()
    await expect(a.result).rejects.toThrow('thrown synchronously')
    await expect(b.result).rejects.toBeInstanceOf(TaskFailedError)
    await expect(c.result).resolves.toBe('ok:fine')
    const { messages } = await pool.mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => [m.status, m.error?.message ?? m.result])).toEqual([
      ['failed', expect.stringContaining('thrown synchronously')],
      ['failed', expect.stringContaining('rejected')],
      ['completed', 'ok:fine'],
    ])
    expect(pool.stats().outcomes).toMatchObject({ failed: 2, completed: 1 })
  })
})
