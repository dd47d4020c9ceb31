/**
 * Time for the scheduler. Every deadline, timeout, backoff and lease in `core/` reads and waits
 * through a Clock, so tests replace real time with a ManualClock and stay deterministic.
 */
export interface Clock {
  /** Milliseconds since the epoch (or since an arbitrary origin for a ManualClock). */
  now(): number
  /** Calls `callback` once, `delayMs` from now. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle
  clearTimeout(handle: TimerHandle): void
}

/** Opaque: whatever the clock's setTimeout returned. */
export type TimerHandle = unknown

/** The longest delay the platform timers take (about 24.8 days); a longer one fires at once, in a loop. */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1

/** A timer longer than the platform allows, re-armed in steps until it is due. */
class LongTimer {
  current: ReturnType<typeof globalThis.setTimeout> | undefined
}

/**
 * Real time: `Date.now()` and the global timers. A delay above 2^31-1 ms is waited out in steps
 * (a raw `setTimeout` would fire at once and warn), so a 30-day wait limit costs one timer.
 */
export class SystemClock implements Clock {
  now(): number {
    return Date.now()
  }
  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const delay = delayMs > 0 ? delayMs : 0
    if (delay <= MAX_TIMER_DELAY_MS) return globalThis.setTimeout(callback, delay)
    const due = Date.now() + delay
    const timer = new LongTimer()
    const arm = (): void => {
      const left = due - Date.now()
      timer.current =
        left > MAX_TIMER_DELAY_MS ? globalThis.setTimeout(arm, MAX_TIMER_DELAY_MS) : globalThis.setTimeout(callback, Math.max(0, left))
    }
    arm()
    return timer
  }
  clearTimeout(handle: TimerHandle): void {
    globalThis.clearTimeout((handle instanceof LongTimer ? handle.current : handle) as ReturnType<typeof globalThis.setTimeout>)
  }
}

interface ManualTimer {
  readonly id: number
  readonly at: number
  readonly callback: () => void
}

/**
 * Time that moves only when a test says so. Timers due at the same instant fire in the order they
 * were set.
 *
 * @example
 * const clock = new ManualClock()
 * const pool = new ResourcePool({ capacity: 1, clock, executor })
 * await clock.advanceAsync(1_000) // fires due timers, letting promises settle between them
 */
export class ManualClock implements Clock {
  #now: number
  #nextId = 1
  // Kept sorted by (at, id); tests hold few timers, so a sorted array is simplest.
  #timers: ManualTimer[] = []

  constructor(startMs = 0) {
    this.#now = startMs
  }

  now(): number {
    return this.#now
  }

  setTimeout(callback: () => void, delayMs: number): TimerHandle {
    const timer: ManualTimer = { id: this.#nextId++, at: this.#now + Math.max(0, delayMs), callback }
    let i = this.#timers.length
    while (i > 0 && this.#timers[i - 1]!.at > timer.at) i--
    this.#timers.splice(i, 0, timer)
    return timer.id
  }

  clearTimeout(handle: TimerHandle): void {
    const i = this.#timers.findIndex((t) => t.id === handle)
    if (i >= 0) this.#timers.splice(i, 1)
  }

  /** Number of timers not yet fired. */
  get pendingTimers(): number {
    return this.#timers.length
  }

  /** Time of the next timer, or undefined when none is set. */
  get nextTimerAt(): number | undefined {
    return this.#timers[0]?.at
  }

  /** Moves time forward by `ms`, firing due timers synchronously in order. */
  advance(ms: number): void {
    this.#advanceTo(this.#now + ms)
  }

  /**
   * Moves time forward by `ms`, firing due timers in order and letting pending promise callbacks
   * run before and after each one, so async work triggered by a timer completes at its instant.
   */
  async advanceAsync(ms: number): Promise<void> {
    const target = this.#now + ms
    await flushPromises()
    for (;;) {
      const next = this.#timers[0]
      if (next === undefined || next.at > target) break
      this.#timers.shift()
      this.#now = next.at
      next.callback()
      await flushPromises()
    }
    this.#now = target
    await flushPromises()
  }

  /** Advances to the next timer and fires it (and any due at the same instant). */
  async runNextAsync(): Promise<boolean> {
    const next = this.#timers[0]
    if (next === undefined) return false
    await this.advanceAsync(next.at - this.#now)
    return true
  }

  #advanceTo(target: number): void {
    for (;;) {
      const next = this.#timers[0]
      if (next === undefined || next.at > target) break
      this.#timers.shift()
      this.#now = next.at
      next.callback()
    }
    this.#now = target
  }
}

/**
 * Lets every queued promise callback run. A macrotask boundary is the only reliable way to drain
 * chains of any depth; it does not let ManualClock time move. A MessageChannel message is a
 * macrotask without the timer clamp (1 ms in Node, 4 ms in nested browser timers).
 */
export function flushPromises(): Promise<void> {
  if (typeof MessageChannel !== 'function') return new Promise((resolve) => globalThis.setTimeout(resolve, 0))
  return new Promise((resolve) => {
    const channel = new MessageChannel()
    channel.port1.onmessage = () => {
      channel.port1.close()
      resolve()
    }
    channel.port2.postMessage(null)
  })
}
