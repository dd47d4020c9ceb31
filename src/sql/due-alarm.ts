/*
 * Wakes every claimer of a shared queue when a delayed task (`delayMs` / `runAt`) comes due. The
 * store knows the time, but Postgres has no timed notification: so the process that submitted
 * the task sends the queue's work notification then, and claimers need not wait for their poll
 * (which still covers a submitter that died meanwhile).
 */

/** A little after the delay, so the database's clock has passed the task's time too. */
const SLACK_MS = 5

export class DueAlarm {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  readonly #ring: () => Promise<unknown>
  readonly #onError: (error: unknown) => void

  constructor(ring: () => Promise<unknown>, onError: (error: unknown) => void) {
    this.#ring = ring
    this.#onError = onError
  }

  /** Rings once per distinct delay (ms from now) of these; none for tasks due at once. */
  after(delaysMs: Iterable<number>): void {
    for (const delayMs of new Set(delaysMs)) {
      if (delayMs <= 0) continue
      const timer = setTimeout(() => {
        this.#timers.delete(timer)
        this.#ring().catch(this.#onError)
      }, delayMs + SLACK_MS)
      // A wake-up alone must not keep a process alive (Node; a browser's timer is a number).
      if (typeof timer === 'object' && 'unref' in timer) timer.unref()
      this.#timers.add(timer)
    }
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
  }
}
