/** Summary of a series of durations in ms. */
export interface DurationStats {
  readonly count: number
  readonly mean: number
  readonly min: number
  readonly max: number
  /** Percentiles over the most recent samples (up to 1,024). */
  readonly p50: number
  readonly p95: number
  readonly p99: number
  /** The sum of all samples, in ms. */
  readonly sum: number
  /** Samples at most each of `HISTOGRAM_BOUNDS_MS`, cumulative (as a Prometheus histogram). */
  readonly buckets: readonly number[]
}

const WINDOW = 1024

/** Upper bounds, in ms, of the duration histograms (`pool.metrics()`), from 5 ms to 5 minutes. */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000, 30_000, 60_000, 300_000]

/** Count, mean and extremes over all samples; percentiles over a window of recent ones. */
export class DurationSeries {
  #count = 0
  #sum = 0
  #min = Infinity
  #max = -Infinity
  readonly #window = new Float64Array(WINDOW)
  readonly #buckets = HISTOGRAM_BOUNDS_MS.map(() => 0)

  add(ms: number): void {
    // Counted in its own bucket; the cumulative counts are summed when asked.
    const bucket = HISTOGRAM_BOUNDS_MS.findIndex((bound) => ms <= bound)
    if (bucket >= 0) this.#buckets[bucket]!++
    this.#window[this.#count % WINDOW] = ms
    this.#count++
    this.#sum += ms
    if (ms < this.#min) this.#min = ms
    if (ms > this.#max) this.#max = ms
  }

  summary(): DurationStats {
    const count = this.#count
    let cumulative = 0
    const recent = this.#window.slice(0, Math.min(count, WINDOW)).sort()
    // With no samples yet, every figure is 0.
    const at = (q: number): number => recent[Math.min(recent.length - 1, Math.floor(q * recent.length))] ?? 0
    return {
      count,
      mean: count && this.#sum / count,
      min: count && this.#min,
      max: count && this.#max,
      p50: at(0.5),
      p95: at(0.95),
      p99: at(0.99),
      sum: this.#sum,
      buckets: this.#buckets.map((n) => (cumulative += n)),
    }
  }
}

/** What a pool counts: wait and run times per attempt, and outcomes. */
export class PoolCounters<S extends string> {
  readonly wait = new DurationSeries()
  readonly run = new DurationSeries()
  readonly outcomes: Record<S, number>

  constructor(statuses: readonly S[]) {
    this.outcomes = Object.fromEntries(statuses.map((status) => [status, 0])) as Record<S, number>
  }

  summary(): { wait: DurationStats; run: DurationStats; outcomes: Record<S, number> } {
    return { wait: this.wait.summary(), run: this.run.summary(), outcomes: { ...this.outcomes } }
  }
}
