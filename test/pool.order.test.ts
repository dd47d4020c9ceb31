import { describe, expect, it } from 'vitest'
import { controlledPool } from './helpers.js'

describe('start order', () => {
  it('higher priority first, FIFO within a priority (seed defect 4: its heap was reversed)', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    await pool.submit('blocker')
    await pool.submit('low-1', { priority: 'low' })
    await pool.submit('normal-1')
    await pool.submit('critical-1', { priority: 'critical' })
    await pool.submit('high-1', { priority: 'high' })
    await pool.submit('normal-2')
    await pool.submit('critical-2', { priority: 'critical' })
    for (const name of ['blocker', 'critical-1', 'critical-2', 'high-1', 'normal-1', 'normal-2']) await jobs.finish(name)
    expect(jobs.order).toEqual(['blocker', 'critical-1', 'critical-2', 'high-1', 'normal-1', 'normal-2', 'low-1'])
  })

  it('a new task that fits does not jump ahead of parked tasks (seed defect 3)', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 10 } })
    await pool.submit('running', { cost: { vram: 6 } })
    await pool.submit('parked-big', { cost: { vram: 8 } })
    await pool.submit('small-normal', { cost: { vram: 1 } })
    await pool.submit('small-low', { cost: { vram: 1 }, priority: 'low' })
    expect(jobs.order).toEqual(['running'])
    expect(pool.get(jobs.started[0]!.ctx.task.id)?.status).toBe('running')
  })

  it('head of line by default: a blocked head holds everything behind it, then they start in order', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 10 } })
    await pool.submit('a', { cost: { vram: 6 } })
    await pool.submit('head', { cost: { vram: 10 } })
    await pool.submit('small', { cost: { vram: 1 } })
    expect(pool.snapshot().parkedTotal).toBe(2)
    await jobs.finish('a')
    expect(jobs.order).toEqual(['a', 'head'])
    await jobs.finish('head')
    expect(jobs.order).toEqual(['a', 'head', 'small'])
  })

  it('a higher-priority task that does not fit still blocks lower ones (no starvation of large jobs)', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 10 } })
    await pool.submit('a', { cost: { vram: 5 } })
    await pool.submit('big-high', { cost: { vram: 10 }, priority: 'high' })
    await pool.submit('small-normal', { cost: { vram: 1 } })
    expect(jobs.order).toEqual(['a'])
  })

  it('handle.position follows the start order while parked', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const normal = await pool.submit('n')
    const high = await pool.submit('h', { priority: 'high' })
    expect(high.position).toBe(0)
    expect(normal.position).toBe(1)
    expect(high.status).toBe('parked')
  })
})
