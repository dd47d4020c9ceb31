/*
 * The promises a pool hands out for a state it will reach: idle, fewer than n parked, every run
 * stopped. Each is resolved by `check` once its condition holds (the pool calls it after every
 * change that could make one hold).
 */
export class Waiters {
  #idle: (() => void)[] = []
  #size: { readonly limit: number; readonly resolve: () => void }[] = []
  #stopped: (() => void)[] = []

  idle(): Promise<void> {
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  sizeBelow(limit: number): Promise<void> {
    return new Promise((resolve) => this.#size.push({ limit, resolve }))
  }

  stopped(): Promise<void> {
    return new Promise((resolve) => this.#stopped.push(resolve))
  }

  /** Resolves the size waiters that `size` satisfies, and the idle ones when `idle`. */
  check(size: number, idle: boolean): void {
    if (this.#size.length > 0) {
      const waiting = this.#size
      this.#size = waiting.filter((waiter) => size >= waiter.limit)
      for (const waiter of waiting) if (size < waiter.limit) waiter.resolve()
    }
    if (idle) this.#idle = resolveAll(this.#idle)
  }

  /** Every run has stopped. */
  allStopped(): void {
    this.#stopped = resolveAll(this.#stopped)
  }
}

function resolveAll(waiters: readonly (() => void)[]): (() => void)[] {
  for (const resolve of waiters) resolve()
  return []
}
