import { describe, expect, it } from 'vitest'
import { CostExceedsCapacityError, InvalidCostError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('capacity', () => {
  it('a plain number is { slots: n } and a task without a cost costs one slot', async () => {
    const { pool, jobs } = controlledPool({ capacity: 2 })
    for (const name of ['a', 'b', 'c']) await pool.submit(name)
    expect(jobs.order).toEqual(['a', 'b'])
    expect(pool.snapshot().used).toEqual({ slots: 2 })
    expect(pool.size).toBe(1)
    await jobs.finish('a')
    expect(jobs.order).toEqual(['a', 'b', 'c'])
  })

  it('a task fits only when every resource fits', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 10, cpu: 2 } })
    await pool.submit('big-vram', { cost: { vram: 8, cpu: 1 } })
    await pool.submit('cpu-only', { cost: { cpu: 1 } })
    await pool.submit('needs-both', { cost: { vram: 2, cpu: 1 } })
    expect(jobs.order).toEqual(['big-vram', 'cpu-only'])
    expect(pool.snapshot().used).toEqual({ vram: 8, cpu: 2 })
    await jobs.finish('cpu-only')
    expect(jobs.order).toEqual(['big-vram', 'cpu-only', 'needs-both'])
    expect(pool.snapshot().used).toEqual({ vram: 10, cpu: 2 })
  })

  it('named resources require a cost', async () => {
    const { pool } = controlledPool({ capacity: { vram: 10 } })
    await expect(pool.submit('x')).rejects.toBeInstanceOf(InvalidCostError)
  })

  it('fractional costs add up without drifting over capacity', async () => {
    const { pool, jobs } = controlledPool({ capacity: { gpu: 1 } })
    for (let i = 0; i < 10; i++) await pool.submit(`t${i}`, { cost: { gpu: 0.1 } })
    expect(jobs.running.size).toBe(10)
    await pool.submit('one-more', { cost: { gpu: 0.1 } })
    expect(jobs.running.size).toBe(10)
  })

  it('setCapacity grows: parked tasks start', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    await pool.submit('a')
    await pool.submit('b')
    pool.setCapacity(2)
    expect(jobs.order).toEqual(['a', 'b'])
  })

  it('setCapacity shrinks below used: running work goes on, new starts wait until used fits', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 10 } })
    await pool.submit('a', { cost: { vram: 4 } })
    await pool.submit('b', { cost: { vram: 4 } })
    pool.setCapacity({ vram: 5 })
    await pool.submit('c', { cost: { vram: 1 } })
    expect(jobs.running.size).toBe(2)
    expect(pool.snapshot()).toMatchObject({ capacity: { vram: 5 }, used: { vram: 8 }, parkedTotal: 1 })
    await jobs.finish('a')
    // Used is now 4; 4 + 1 <= 5, so c starts.
    expect(jobs.order).toEqual(['a', 'b', 'c'])
    expect(pool.snapshot().used).toEqual({ vram: 5 })
    expect([...jobs.running].map((s) => s.payload).sort()).toEqual(['b', 'c'])
  })

  it('a cost above capacity is refused at submit, not parked forever (seed defect 2)', async () => {
    const { pool } = controlledPool({ capacity: { vram: 10 } })
    const error = await pool.submit('x', { cost: { vram: 11 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CostExceedsCapacityError)
    expect(error).toMatchObject({ code: 'COST_EXCEEDS_CAPACITY', resource: 'vram', cost: 11, capacity: 10 })
    await expect(pool.submit('y', { cost: { disk: 1 } })).rejects.toBeInstanceOf(CostExceedsCapacityError)
    expect(pool.size).toBe(0)
  })
})
