import { describe, expect, it } from 'vitest'
import { controlledPool } from './helpers.js'

async function runFlood(fairShare: boolean): Promise<number> {
  const { pool, jobs, clock } = controlledPool({ capacity: 2, policy: { fairShare } })
  for (let i = 0; i < 1_000; i++) await pool.submit(`a${i}`, { tenant: 'flood' })
  for (let i = 0; i < 10; i++) await pool.submit(`b${i}`, { mailbox: { tenant: 'small' } })
  // Every task takes 1 s; finish them in start order and see when tenant 'small' is done.
  let doneAt = -1
  let finished = 0
  while (jobs.running.size > 0) {
    clock.advance(1_000)
    for (const started of [...jobs.running]) {
      started.resolve(started.payload)
      finished++
      if (started.payload === 'b9') doneAt = finished
    }
    // Settling runs in a few promise ticks (deterministic: no timers are involved).
    for (let tick = 0; tick < 10; tick++) await Promise.resolve()
  }
  return doneAt
}

describe('fair share', () => {
  it("one tenant's flood of 1,000 tasks does not make another tenant's 10 tasks wait behind all of them", async () => {
    const fifo = await runFlood(false)
    const fair = await runFlood(true)
    expect(fifo).toBe(1_010) // plain FIFO: the small tenant finishes last
    expect(fair).toBeLessThanOrEqual(30) // fair share: its 10 tasks interleave with the flood
  })

  it('the tenant defaults to the mailbox key tenant and shows on the handle', async () => {
    const { pool } = controlledPool({ capacity: 1, policy: { fairShare: true } })
    const a = await pool.submit('a', { mailbox: { tenant: 't1', user: 'u' } })
    const b = await pool.submit('b', { tenant: 'explicit', mailbox: { tenant: 't1' } })
    const c = await pool.submit('c')
    expect([a.tenant, b.tenant, c.tenant]).toEqual(['t1', 'explicit', ''])
  })
})
