// Group commit for the shared queues: work that arrives while a write is in flight goes in the next one.

export interface Gathered<T, V> {
  readonly item: T
  resolve(value: V): void
  reject(error: unknown): void
}

/** Gathers work while a write is in flight and writes it together next (group commit). */
export class Batcher<T, V> {
  #waiting: Gathered<T, V>[] = []
  #writing = false
  readonly #idle: (() => void)[] = []
  readonly #write: (batch: readonly Gathered<T, V>[]) => Promise<void>

  constructor(write: (batch: readonly Gathered<T, V>[]) => Promise<void>) {
    this.#write = write
  }

  add(item: T): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject })
      if (!this.#writing) queueMicrotask(() => this.#next())
    })
  }

  /** Resolves once nothing is gathered or being written. */
  whenIdle(): Promise<void> {
    if (!this.#writing && this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #next(): void {
    if (this.#writing) return
    if (this.#waiting.length === 0) {
      for (const resolve of this.#idle.splice(0)) resolve()
      return
    }
    const batch = this.#waiting
    this.#waiting = []
    this.#writing = true
    this.#write(batch)
      .catch((error: unknown) => {
        for (const entry of batch) entry.reject(error)
      })
      .finally(() => {
        this.#writing = false
        this.#next()
      })
  }
}
