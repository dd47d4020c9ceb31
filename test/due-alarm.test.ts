import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DueAlarm } from '../src/sql/due-alarm.js'

describe('DueAlarm (the wake a submitter sends when its delayed tasks come due)', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(0)
  })
  afterEach(() => vi.useRealTimers())

  it('rings once per due time (delays a few ms apart are one), a little after it, never before', async () => {
    const rings: number[] = []
    const alarm = new DueAlarm(
      async () => void rings.push(Date.now()),
      (error) => rings.push(-1, Number(error)),
    )
    alarm.after([0, -5, 100, 103, 100, 400])
    await vi.advanceTimersByTimeAsync(104)
    expect(rings).toEqual([])
    await vi.advanceTimersByTimeAsync(1_000)
    expect(rings).toEqual([110, 410])
  })

  it('waits out a delay longer than a timer can (2^31 - 1 ms) in steps, without ringing early', async () => {
    const rings: number[] = []
    const alarm = new DueAlarm(
      async () => void rings.push(Date.now()),
      () => {},
    )
    const delay = 3 * 2 ** 31
    alarm.after([delay])
    await vi.advanceTimersByTimeAsync(delay - 1)
    expect(rings).toEqual([])
    await vi.advanceTimersByTimeAsync(20)
    expect(rings).toHaveLength(1)
    expect(rings[0]).toBeGreaterThanOrEqual(delay)
  })

  it('reports a ring that fails; stop() cancels what is armed', async () => {
    const errors: unknown[] = []
    const failing = new DueAlarm(
      () => Promise.reject(new Error('connection gone')),
      (error) => errors.push(error),
    )
    failing.after([10])
    await vi.advanceTimersByTimeAsync(100)
    expect(errors).toMatchObject([{ message: 'connection gone' }])
    let rang = false
    const stopped = new DueAlarm(
      async () => void (rang = true),
      () => {},
    )
    stopped.after([10, 5_000])
    stopped.stop()
    await vi.advanceTimersByTimeAsync(10_000)
    expect(rang).toBe(false)
    expect(vi.getTimerCount()).toBe(0)
  })
})
