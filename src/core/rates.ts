/*
 * Rates: resources that refill with time instead of coming back when a task ends (requests or
 * tokens per minute). The pool's ledger counts a rate's draws as used units with the rate's
 * `limit` as capacity, and `release` leaves them alone; this module gives each draw back
 * `intervalMs` after its start. That is a sliding-window log: a task starts only if its draw fits
 * beside the draws of the last `intervalMs`, so the draws in any window of that length never
 * exceed `limit`. One timer, on the pool's clock, waits for the oldest draw; nothing polls.
 */
import { SLOTS, type CapacityInput, type CapacityLedger, type CostVector } from './capacity.js'
import type { Clock, TimerHandle } from './clock.js'
import { InvalidOptionError } from './errors.js'
import { optionalNumber, optionsObject, refuse } from './validate.js'

/** A resource that refills: at most `limit` units drawn in any `intervalMs`. */
export interface RateLimit {
  readonly limit: number
  readonly intervalMs: number
}

/** Rates by resource name, e.g. `{ requests: { limit: 60, intervalMs: 60_000 } }`. */
export type RateLimits = Readonly<Record<string, RateLimit>>

const RATE_KEYS: Record<keyof RateLimit, 1> = { limit: 1, intervalMs: 1 }

/** The `rates` option checked. */
export function resolveRates(input: unknown): RateLimits {
  if (input === undefined) return {}
  if (typeof input !== 'object' || input === null || Array.isArray(input)) refuse('rates', 'an object of rates by resource', input)
  const out: Record<string, RateLimit> = {}
  for (const [name, rate] of Object.entries(input as Record<string, unknown>)) {
    const path = `rates.${name}`
    if (typeof rate !== 'object' || rate === null) refuse(path, 'an object `{ limit, intervalMs }`', rate)
    const given = optionsObject(rate as Partial<RateLimit>, RATE_KEYS, path)
    // Both required, above 0.
    const number = (key: keyof RateLimit): number =>
      optionalNumber(given[key], `${path}.${key}`, { positive: true }) ?? refuse(`${path}.${key}`, 'a finite number > 0', undefined)
    out[name] = { limit: number('limit'), intervalMs: number('intervalMs') }
  }
  return out
}

/** A capacity with the rates' limits as units beside the held resources (which may not name a rate too). */
export function withRateLimits(capacity: CapacityInput, rates: RateLimits): CapacityInput {
  const names = Object.keys(rates)
  if (names.length === 0) return capacity
  const out: Record<string, number> = typeof capacity === 'number' ? { [SLOTS]: capacity } : { ...capacity }
  for (const name of names) {
    if (Object.hasOwn(out, name)) {
      throw new InvalidOptionError(`\`${name}\` is a rate, not a capacity`, `capacity.${name}`)
    }
    out[name] = rates[name]!.limit
  }
  return out
}

/** One rate's draws in the window, oldest first: `[givenBackAt, units, ...]` pairs in a flat array. */
interface Window {
  readonly index: number
  readonly intervalMs: number
  draws: number[]
  head: number
}

/** Gives the rates' draws back to the ledger as the window slides past them. */
export class RateWindows {
  readonly #windows: Window[]
  #timer: TimerHandle | undefined
  #timerAt = Infinity

  constructor(
    readonly ledger: CapacityLedger,
    readonly clock: Clock,
    rates: RateLimits,
    /** Units came back: parked tasks may fit now. */
    readonly refilled: () => void,
  ) {
    this.#windows = Object.entries(rates).map(([name, rate]) => ({
      index: ledger.refills(name),
      intervalMs: rate.intervalMs,
      draws: [],
      head: 0,
    }))
  }

  /** A task started at `now` with this cost (already acquired from the ledger). */
  drew(cost: CostVector, now: number): void {
    for (const window of this.#windows) {
      const units = cost[window.index]
      if (!units) continue // 0, or past the vector's end (a resource named after it was made)
      const at = now + window.intervalMs
      window.draws.push(at, units)
      this.#arm(at, now)
    }
  }

  /** Stops the timer (the pool closed); draws still out stay counted. */
  stop(): void {
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Infinity
  }

  #arm(at: number, now: number): void {
    if (at >= this.#timerAt) return
    if (this.#timer !== undefined) this.clock.clearTimeout(this.#timer)
    this.#timerAt = at
    this.#timer = this.clock.setTimeout(() => this.#refill(at), at - now)
  }

  /** The timer set for `at` fired (the clock's `now` may differ from `at` in its last bit). */
  #refill(at: number): void {
    this.stop()
    const now = Math.max(at, this.clock.now())
    for (const window of this.#windows) {
      const draws = window.draws
      while (window.head < draws.length && draws[window.head]! <= now) {
        this.ledger.refill(window.index, draws[window.head + 1]!)
        window.head += 2
      }
      if (window.head === draws.length) {
        window.draws = []
        window.head = 0
      } else if (window.head > 1024) {
        window.draws = draws.slice(window.head)
        window.head = 0
      }
    }
    // The next draw to come back, if any is out.
    let next = Infinity
    for (const window of this.#windows) if (window.head < window.draws.length) next = Math.min(next, window.draws[window.head]!)
    if (next !== Infinity) this.#arm(next, now)
    this.refilled()
  }
}
