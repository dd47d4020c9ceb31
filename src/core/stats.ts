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
}

const WINDOW = 1024

/** Count, mean and extremes over all samples; percentiles over a window of recent ones. */
export class DurationSeries {
  #count = 0
  #sum = 0
  #min = Infinity
  #max = -Infinity
  readonly #window = new Float64Array(WINDOW)

  add(ms: number): void {
    this.#window[this.#count % WINDOW] = ms
    this.#count++
    this.#sum += ms
    if (ms < this.#min) this.#min = ms
    if (ms > this.#max) this.#max = ms
  }

  summary(): DurationStats {
    const count = this.#count
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
