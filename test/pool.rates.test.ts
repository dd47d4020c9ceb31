import { describe, expect, it } from 'vitest'
import { CostExceedsCapacityError, InvalidOptionError, ManualClock, ResourcePool, TaskExpiredError } from '../src/index.js'
import { controlledPool, flushPromises } from './helpers.js'
import { mulberry32 } from './random.js'

const perSecond = (limit: number) => ({ requests: { limit, intervalMs: 1_000 } })

describe('rates: resources that refill with time (a sliding window)', () => {
  it('draws stay out for intervalMs after each start, not until the task ends; parked tasks start as the window frees room', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 10, rates: perSecond(3) })
    for (const name of ['a', 'b', 'c', 'd', 'e']) await pool.submit(name, { cost: { slots: 1, requests: 1 } })
    expect(jobs.order).toEqual(['a', 'b', 'c'])
    for (const name of ['a', 'b', 'c']) await jobs.finish(name)
    // The slots came back; the draws did not.
    expect(pool.snapshot()).toMatchObject({ capacity: { slots: 10, requests: 3 }, used: { slots: 0, requests: 3 }, parkedTotal: 2 })
    await clock.advanceAsync(999)
    expect(jobs.order).toEqual(['a', 'b', 'c'])
    await clock.advanceAsync(1)
    expect(jobs.order).toEqual(['a', 'b', 'c', 'd', 'e'])
  })

  it('the window slides: a draw made later comes back later (not at a fixed window edge)', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 10, rates: perSecond(3) })
    await pool.submit('t0', { cost: { slots: 1, requests: 1 } })
    await clock.advanceAsync(500)
    await pool.submit('t500', { cost: { slots: 1, requests: 2 } })
    for (const name of ['x', 'y', 'z']) await pool.submit(name, { cost: { slots: 1, requests: 1 } })
    expect(jobs.order).toEqual(['t0', 't500'])
    await clock.advanceAsync(500) // t0's draw is back: one more
    expect(jobs.order).toEqual(['t0', 't500', 'x'])
    await clock.advanceAsync(499)
    expect(jobs.order).toEqual(['t0', 't500', 'x'])
    await clock.advanceAsync(1) // t500's two units are back
    expect(jobs.order).toEqual(['t0', 't500', 'x', 'y', 'z'])
  })

  it('waits on one timer for the oldest draw, and none once no draw is out: nothing polls', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 10, rates: perSecond(1) })
    await pool.submit('a', { cost: { slots: 1, requests: 1 } })
    await pool.submit('b', { cost: { slots: 1, requests: 1 } })
    await jobs.finish('a')
    expect(clock.pendingTimers).toBe(1)
    await clock.advanceAsync(1_000)
    expect(jobs.order).toEqual(['a', 'b'])
    await jobs.finish('b')
    expect(clock.pendingTimers).toBe(1) // b's draw
    await clock.advanceAsync(1_000)
    expect(clock.pendingTimers).toBe(0)
    expect(pool.snapshot().used['requests']).toBe(0)
  })

  it('a cost that draws more than a limit is refused (it could never start); what was accepted stays', async () => {
    const { pool, jobs } = controlledPool({ capacity: 2, rates: { tokens: { limit: 1_000, intervalMs: 60_000 } } })
    await pool.submit('ok', { cost: { slots: 1, tokens: 1_000 } })
    await pool.submit('parked', { cost: { slots: 1, tokens: 10 } })
    const refused = pool.submit('huge', { cost: { slots: 1, tokens: 1_001 } })
    await expect(refused).rejects.toBeInstanceOf(CostExceedsCapacityError)
    await expect(refused).rejects.toMatchObject({ resource: 'tokens', cost: 1_001, capacity: 1_000 })
    expect(jobs.order).toEqual(['ok'])
    expect(pool.size).toBe(1)
  })

  it('checks the option: limit and intervalMs above 0, known keys, and a resource held or drawn but not both', () => {
    const make = (options: object): unknown => new ResourcePool({ capacity: { slots: 1, requests: 2 }, executor: () => 1, ...options })
    const refusal = (options: object): unknown => {
      try {
        make(options)
      } catch (error) {
        return error
      }
      return undefined
    }
    expect(refusal({ rates: { tokens: { limit: 0, intervalMs: 10 } } })).toMatchObject({ path: 'rates.tokens.limit' })
    expect(refusal({ rates: { tokens: { limit: 5, intervalMs: -1 } } })).toMatchObject({ path: 'rates.tokens.intervalMs' })
    expect(refusal({ rates: { tokens: { limit: 5 } } })).toMatchObject({ path: 'rates.tokens.intervalMs' })
    expect(refusal({ rates: { tokens: { limit: 5, intervalMs: 10, burst: 2 } } })).toMatchObject({ path: 'rates.tokens.burst' })
    expect(refusal({ rates: { tokens: 5 } })).toMatchObject({ path: 'rates.tokens' })
    expect(refusal({ rates: [] })).toMatchObject({ path: 'rates' })
    expect(refusal({ rates: { requests: { limit: 5, intervalMs: 10 } } })).toMatchObject({ path: 'capacity.requests' })
    for (const bad of [{ rates: { tokens: { limit: 0, intervalMs: 10 } } }, { rates: { requests: { limit: 5, intervalMs: 10 } } }]) {
      expect(refusal(bad)).toBeInstanceOf(InvalidOptionError)
    }
  })

  it('setCapacity keeps the rates and their draws; a capacity that names a rate is refused', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, rates: perSecond(2) })
    await pool.submit('a', { cost: { slots: 1, requests: 1 } })
    await pool.submit('b', { cost: { slots: 1, requests: 1 } })
    await pool.submit('c', { cost: { slots: 1, requests: 1 } })
    pool.setCapacity(5)
    expect(jobs.order).toEqual(['a', 'b'])
    expect(pool.snapshot()).toMatchObject({ capacity: { slots: 5, requests: 2 }, used: { requests: 2 } })
    expect(() => pool.setCapacity({ slots: 5, requests: 9 })).toThrow(InvalidOptionError)
    expect(pool.snapshot().capacity).toEqual({ slots: 5, requests: 2 })
    await clock.advanceAsync(1_000)
    expect(jobs.order).toEqual(['a', 'b', 'c'])
  })

  it('priorities order who gets the room the window frees', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 10, rates: perSecond(1) })
    await pool.submit('first', { cost: { slots: 1, requests: 1 } })
    await pool.submit('low', { cost: { slots: 1, requests: 1 }, priority: 'low' })
    await pool.submit('normal', { cost: { slots: 1, requests: 1 } })
    await pool.submit('critical', { cost: { slots: 1, requests: 1 }, priority: 'critical' })
    for (let i = 0; i < 3; i++) await clock.advanceAsync(1_000)
    expect(jobs.order).toEqual(['first', 'critical', 'normal', 'low'])
  })

  it('a parked task still expires at its wait limit while it waits for the window', async () => {
    const { pool, clock } = controlledPool({ capacity: 10, rates: perSecond(1) })
    await pool.submit('a', { cost: { slots: 1, requests: 1 } })
    const late = await pool.submit('late', { cost: { slots: 1, requests: 1 }, waitTimeoutMs: 300 })
    await clock.advanceAsync(300)
    await expect(late.result).rejects.toBeInstanceOf(TaskExpiredError)
  })

  it('head of line by default: a task that needs no draw waits behind a head the window blocks; with backfill it starts', async () => {
    for (const backfill of [false, true]) {
      const { pool, jobs } = controlledPool({ capacity: 10, rates: perSecond(1), policy: { backfill } })
      await pool.submit('draws', { cost: { slots: 1, requests: 1 } })
      await pool.submit('blocked', { cost: { slots: 1, requests: 1 } })
      await pool.submit('slots only', { cost: { slots: 1 } })
      expect(jobs.order).toEqual(backfill ? ['draws', 'slots only'] : ['draws'])
    }
  })

  it('fair share: the tenant that used less gets the next refill', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 10, rates: perSecond(1), policy: { fairShare: true } })
    await pool.submit('a1', { cost: { slots: 1, requests: 1 }, tenant: 'a' })
    for (const name of ['a2', 'a3']) await pool.submit(name, { cost: { slots: 1, requests: 1 }, tenant: 'a' })
    await clock.advanceAsync(10)
    await pool.submit('b1', { cost: { slots: 1, requests: 1 }, tenant: 'b' })
    await clock.advanceAsync(990)
    expect(jobs.order).toEqual(['a1', 'b1'])
  })

  it('each attempt draws: a retry waits for the window like any start', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 10, rates: perSecond(1), maxAttempts: 2, retryBaseDelayMs: 10 })
    const task = await pool.submit('flaky', { cost: { slots: 1, requests: 1 } })
    await jobs.fail('flaky', new Error('503'))
    await clock.advanceAsync(500) // backoff over, window still full
    expect(jobs.started).toHaveLength(1)
    await clock.advanceAsync(500)
    expect(jobs.started).toHaveLength(2)
    await jobs.finish('flaky')
    expect(await task.result).toBe('flaky')
  })

  it('over a long randomized run on the clock, draws in any window never exceed the limit, and every task runs', async () => {
    for (let seed = 1; seed <= 20; seed++) {
      const random = mulberry32(seed)
      const clock = new ManualClock(0)
      const limit = 2 + Math.floor(random() * 10)
      const intervalMs = 50 + Math.floor(random() * 2_000)
      const draws: { at: number; units: number }[] = []
      const pool = new ResourcePool<{ ms: number; units: number }, number>({
        capacity: 1 + Math.floor(random() * 6),
        clock,
        rates: { requests: { limit, intervalMs } },
        executor: ({ ms, units }) =>
          new Promise((resolve) => {
            draws.push({ at: clock.now(), units })
            clock.setTimeout(() => resolve(ms), ms)
          }),
      })
      const results: Promise<number>[] = []
      for (let i = 0; i < 300; i++) {
        await clock.advanceAsync(random() < 0.5 ? 0 : random() * intervalMs * 0.3)
        const units = Math.floor(random() * Math.min(limit, 4))
        const cost: Record<string, number> = units === 0 ? { slots: 1 } : { slots: 1, requests: units }
        const handle = await pool.submit({ ms: Math.floor(random() * intervalMs), units }, { cost })
        results.push(handle.result)
      }
      while (await clock.runNextAsync()) {
        // run out every timer: runs ending, draws coming back
      }
      expect(await Promise.all(results)).toHaveLength(300)
      expect(draws).toHaveLength(300)
      expect(draws.reduce((sum, d) => sum + d.units, 0)).toBeGreaterThan(limit * 10) // the limit was met, many times over
      // The worst window starts at some draw: sum the draws in [at, at + intervalMs).
      for (const first of draws) {
        const inWindow = draws.filter((d) => d.at >= first.at && d.at < first.at + intervalMs).reduce((sum, d) => sum + d.units, 0)
        expect(inWindow, `seed ${seed}: window from ${first.at}`).toBeLessThanOrEqual(limit)
      }
      expect(clock.pendingTimers).toBe(0)
      await pool.close()
    }
  })

  it('close stops the refill timer', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, rates: perSecond(1) })
    await pool.submit('a', { cost: { slots: 1, requests: 1 } })
    await jobs.finish('a')
    expect(clock.pendingTimers).toBe(1)
    await pool.close()
    await flushPromises()
    expect(clock.pendingTimers).toBe(0)
  })
})
