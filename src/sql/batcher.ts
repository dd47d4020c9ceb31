// Group commit for the shared queues: work that arrives while a write is in flight goes in the next one.

export interface Gathered<T, V> {
  readonly item: T
  resolve(value: V): void
  reject(error: unknown): void
}

/**
 * Gathers work while writes are in flight and writes it together next (group commit). Up to
 * `concurrency` writes run at once (each on its own connection): Postgres commits them in
 * parallel, so a second write need not wait for the first one's round trip.
 */
export class Batcher<T, V> {
  #waiting: Gathered<T, V>[] = []
  #writing = 0
  readonly #concurrency: number
  readonly #idle: (() => void)[] = []
  readonly #write: (batch: readonly Gathered<T, V>[]) => Promise<void>

  constructor(write: (batch: readonly Gathered<T, V>[]) => Promise<void>, concurrency = 1) {
    this.#write = write
    this.#concurrency = concurrency
  }

  add(item: T): Promise<V> {
    return new Promise<V>((resolve, reject) => {
      this.#waiting.push({ item, resolve, reject })
      // A microtask later: what is added in the same turn goes in the same write.
      if (this.#waiting.length === 1 && this.#writing < this.#concurrency) queueMicrotask(() => this.#next())
    })
  }

  /** Resolves once nothing is gathered or being written. */
  whenIdle(): Promise<void> {
    if (this.#writing === 0 && this.#waiting.length === 0) return Promise.resolve()
    return new Promise((resolve) => this.#idle.push(resolve))
  }

  #next(): void {
    if (this.#writing >= this.#concurrency) return
    if (this.#waiting.length === 0) {
      if (this.#writing === 0) for (const resolve of this.#idle.splice(0)) resolve()
      return
    }
    const batch = this.#waiting
    this.#waiting = []
    this.#writing++
    this.#write(batch)
      .catch((error: unknown) => {
        for (const entry of batch) entry.reject(error)
      })
      .finally(() => {
        this.#writing--
        this.#next()
      })
  }
}

/**
 * Writes a batch of submits (each a list of records) together, all or none; if that fails,
 * each submit alone, so one refused submit (a key already live, a full queue) fails alone.
 */
export async function writeTogetherOrEach<T>(
  batch: readonly Gathered<readonly T[], void>[],
  write: (items: readonly T[]) => Promise<void>,
): Promise<void> {
  try {
    await write(batch.flatMap((entry) => entry.item))
    for (const entry of batch) entry.resolve(undefined)
    return
  } catch (error) {
    if (batch.length === 1) return batch[0]!.reject(error)
  }
  for (const entry of batch) await write(entry.item).then(() => entry.resolve(), entry.reject)
}
