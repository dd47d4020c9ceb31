// SystemClock and delays above 2^31-1 ms (about 24.8 days): a platform timer that long fires at
// once (Node also prints TimeoutOverflowWarning), so the clock waits them out in steps.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ResourcePool, SystemClock } from '../src/index.js'

const DAY = 86_400_000
const MAX = 2 ** 31 - 1

afterEach(() => {
  vi.restoreAllMocks()
  vi.useRealTimers()
})

describe('SystemClock long delays', () => {
  it('waits 30 days in steps that the platform takes, firing once, when due', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const delays: number[] = []
    const realSetTimeout = globalThis.setTimeout
    vi.spyOn(globalThis, 'setTimeout').mockImplementation(((callback: () => void, delay: number) => {
      delays.push(delay)
      return realSetTimeout(callback, delay)
    }) as typeof setTimeout)
    const clock = new SystemClock()
    let fired = 0
    clock.setTimeout(() => fired++, 30 * DAY)
    vi.advanceTimersByTime(30 * DAY - 1)
    expect(fired).toBe(0)
    vi.advanceTimersByTime(1)
    expect(fired).toBe(1)
    expect(delays.every((delay) => delay <= MAX)).toBe(true)
    expect(delays).toHaveLength(2) // one full step, then the rest
  })

  it('can be cleared at any step', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    const clock = new SystemClock()
    let fired = 0
    const timer = clock.setTimeout(() => fired++, 60 * DAY)
    vi.advanceTimersByTime(40 * DAY) // past the first step
    clock.clearTimeout(timer)
    vi.advanceTimersByTime(30 * DAY)
    expect(fired).toBe(0)
  })

  it('a real 30-day timer makes Node print no TimeoutOverflowWarning', async () => {
    const warnings: Error[] = []
    const onWarning = (warning: Error) => warnings.push(warning)
    process.on('warning', onWarning)
    const clock = new SystemClock()
    const timer = clock.setTimeout(() => {}, 30 * DAY)
    // Node emits the warning on the next tick of the call that overflowed.
    await new Promise((resolve) => setImmediate(resolve))
    clock.clearTimeout(timer)
    process.off('warning', onWarning)
    expect(warnings.map((w) => w.name)).toEqual([])
  })
})

describe('a pool with a 30-day wait limit', () => {
  it('keeps the task parked, with no timer firing before it is due', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] })
    let release!: () => void
    const pool = new ResourcePool<string, string>({
      capacity: 1,
      executor: (name) => (name === 'blocker' ? new Promise<string>((resolve) => (release = () => resolve(name))) : name),
    })
    await pool.submit('blocker')
    const waiting = await pool.submit('patient', { waitTimeoutMs: 30 * DAY })
    const timersBefore = vi.getTimerCount()
    vi.advanceTimersByTime(29 * DAY)
    expect(waiting.status).toBe('parked')
    expect(vi.getTimerCount()).toBe(timersBefore) // still the one (stepped) deadline timer
    vi.advanceTimersByTime(DAY)
    expect(waiting.status).toBe('expired')
    release()
    vi.useRealTimers()
    await pool.close()
  })
})
