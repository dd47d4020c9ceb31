import { describe, expect, it } from 'vitest'
import { controlledPool } from './helpers.js'

describe('backfill', () => {
  it('starts smaller tasks behind a blocked head', async () => {
    const { pool, jobs } = controlledPool({ capacity: { vram: 10 }, policy: { backfill: true } })
    await pool.submit('a', { cost: { vram: 6 } })
    await pool.submit('head', { cost: { vram: 8 } })
    await pool.submit('s1', { cost: { vram: 2 } })
    await pool.submit('s2', { cost: { vram: 3 } }) // does not fit beside a + s1
    await pool.submit('s3', { cost: { vram: 2 } })
    expect(jobs.order).toEqual(['a', 's1', 's3'])
  })

  it('reserves the head once it has been the head for headReserveAfterMs, counted from becoming head', async () => {
    const { pool, jobs, clock } = controlledPool({
      capacity: { vram: 10 },
      policy: { backfill: true, headReserveAfterMs: 100 },
    })
    await pool.submit('a', { cost: { vram: 6 } })
    await pool.submit('first-head', { cost: { vram: 5 } })
    await clock.advanceAsync(500) // first-head has waited long, but it is not the head we test
    await pool.submit('head', { cost: { vram: 9 } })
    // 'head' arrived at 500 and is behind first-head. first-head starts when a finishes.
    await jobs.finish('a')
    expect(jobs.order).toEqual(['a', 'first-head'])
    // Now 'head' is the head, since now. It arrived 0 ms ago but has waited 0 ms as head.
    await pool.submit('s1', { cost: { vram: 1 } })
    expect(jobs.order).toEqual(['a', 'first-head', 's1']) // backfilled: no reservation yet
    await clock.advanceAsync(100)
    // Reserved now: 9 for head; used 6 (first-head 5 + s1 1); 10 - 6 - 9 < 1, so nothing starts.
    await pool.submit('s2', { cost: { vram: 1 } })
    expect(jobs.order).toEqual(['a', 'first-head', 's1'])
    await jobs.finish('first-head')
    // Used 1 (s1): head fits (1 + 9 = 10) and starts; s2 waits behind it.
    expect(jobs.order).toEqual(['a', 'first-head', 's1', 'head'])
    await jobs.finish('s1')
    expect(jobs.order).toEqual(['a', 'first-head', 's1', 'head', 's2'])
  })

  it('an arrival-age guard is not what bounds it: a task old on arrival at the head is not reserved at once', async () => {
    const { pool, jobs, clock } = controlledPool({
      capacity: { vram: 10 },
      policy: { backfill: true, headReserveAfterMs: 100 },
    })
    await pool.submit('a', { cost: { vram: 9 } })
    await pool.submit('b', { cost: { vram: 9 } })
    await pool.submit('old', { cost: { vram: 9 } })
    await clock.advanceAsync(1_000)
    await jobs.finish('a') // b starts; old becomes head now, 1000 ms after arriving
    await pool.submit('small', { cost: { vram: 1 } })
    expect(jobs.order).toEqual(['a', 'b', 'small'])
  })
})
