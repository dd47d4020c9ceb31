import { describe, expect, it, vi } from 'vitest'
import { ResourcePool } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('events and state', () => {
  it('emits typed events in order and onIdle resolves when all work is done', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    const seen: string[] = []
    for (const name of ['submitted', 'parked', 'started', 'progress', 'completed', 'failed', 'cancelled', 'idle'] as const) {
      pool.on(name, () => seen.push(name))
    }
    await pool.submit('a')
    const b = await pool.submit('b')
    jobs.find('a').ctx.emit('tok')
    await jobs.finish('a')
    b.cancel()
    let idle = false
    const idleDone = pool.onIdle().then(() => (idle = true))
    await Promise.resolve()
    expect(seen).toEqual(['submitted', 'started', 'submitted', 'parked', 'progress', 'completed', 'started', 'cancelled'])
    expect(idle).toBe(false) // b's executor still holds its slot
    await jobs.fail('b', new Error('stopped'))
    await idleDone
    expect(seen.at(-1)).toBe('idle')
  })

  it('size, pending, isPaused and snapshot() reflect the lot', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 4 } })
    await pool.submit('a', { cost: { vram: 3 } })
    await pool.submit('b', { cost: { vram: 2 }, priority: 'high' })
    await pool.submit('c', { cost: { vram: 2 }, priority: 'low' })
    expect(pool.size).toBe(2)
    expect(pool.pending).toBe(1)
    expect(pool.snapshot()).toMatchObject({
      capacity: { vram: 4 },
      used: { vram: 3 },
      running: 1,
      stopping: 0,
      parked: { low: 1, normal: 0, high: 1, critical: 0 },
      parkedTotal: 2,
    })
    pool.pause()
    expect(pool.isPaused).toBe(true)
    await jobs.finish('a')
    expect(jobs.order).toEqual(['a'])
    pool.resume()
    expect(jobs.order).toEqual(['a', 'b', 'c'])
  })

  it('pause() from a listener stops further starts at once, even with synchronous executors', async () => {
    const started: string[] = []
    const sync = new ResourcePool<string, string>({ capacity: 1, executor: (p) => (started.push(p), p) })
    sync.on('completed', ({ result }) => {
      if (result === 'b') sync.pause()
    })
    sync.pause()
    for (const name of ['a', 'b', 'c', 'd']) await sync.submit(name)
    sync.resume()
    expect(started).toEqual(['a', 'b'])
    expect(sync.size).toBe(2)
  })

  it('a listener that throws never breaks accounting (it is reported)', async () => {
    const reportError = vi.fn()
    vi.stubGlobal('reportError', reportError)
    try {
      const { pool, jobs } = controlledPool({ capacity: 1 })
      pool.on('started', () => {
        throw new Error('bad listener')
      })
      await pool.submit('a')
      await pool.submit('b')
      await jobs.finish('a')
      expect(jobs.order).toEqual(['a', 'b'])
      expect(pool.snapshot().used).toEqual({ slots: 1 })
      expect(reportError).toHaveBeenCalledTimes(2)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  it('wait and run statistics', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1 })
    await pool.submit('a')
    await pool.submit('b')
    await clock.advanceAsync(100)
    await jobs.finish('a')
    await clock.advanceAsync(300)
    await jobs.finish('b')
    const stats = pool.stats()
    expect(stats.wait).toMatchObject({ count: 2, min: 0, max: 100 })
    expect(stats.run).toMatchObject({ count: 2, min: 100, max: 300, mean: 200 })
  })
})
