import { describe, expect, it } from 'vitest'
import { controlledPool } from './helpers.js'

describe('aging', () => {
  it('raises a waiting task one priority level per agingMs', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, policy: { agingMs: 1_000 } })
    await pool.submit('blocker')
    await pool.submit('old-low', { priority: 'low' })
    await clock.advanceAsync(2_000) // low + 2 levels = high
    await pool.submit('new-normal')
    await pool.submit('new-high', { priority: 'high' })
    await jobs.finish('blocker')
    await jobs.finish('old-low') // high vs high: older first
    await jobs.finish('new-high')
    expect(jobs.order).toEqual(['blocker', 'old-low', 'new-high', 'new-normal'])
  })

  it('is off by default', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    await pool.submit('blocker')
    await pool.submit('old-low', { priority: 'low' })
    await clock.advanceAsync(1_000_000)
    await pool.submit('new-normal')
    await jobs.finish('blocker')
    expect(jobs.order).toEqual(['blocker', 'new-normal'])
  })
})
