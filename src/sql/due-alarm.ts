/*
 * Wakes every claimer of a shared queue when a delayed task (`delayMs` / `runAt`) comes due. The
 * store knows the time, but Postgres has no timed notification: so the process that submitted
 * the task sends the queue's work notification then, and claimers need not wait for their poll
 * (which still covers a submitter that died meanwhile).
 */

/** A little after the delay, so the database's clock has passed the task's time too. */
const SLACK_MS = 5
/** Delays this close ring once (a batch of `runAt`s a few ms apart is one wake). */
const BUCKET_MS = 10
/** The longest a timer can wait (2^31 - 1 ms); a longer delay waits in steps. */
const MAX_TIMER_MS = 2 ** 31 - 1

export class DueAlarm {
  readonly #timers = new Set<ReturnType<typeof setTimeout>>()
  /** Due times (Date.now, bucketed) already armed. */
  readonly #armed = new Set<number>()
  readonly #ring: () => Promise<unknown>
  readonly #onError: (error: unknown) => void

  constructor(ring: () => Promise<unknown>, onError: (error: unknown) => void) {
    this.#ring = ring
    this.#onError = onError
  }

  /** Rings once per distinct due time of these delays (ms from now); none for tasks due at once. */
  after(delaysMs: Iterable<number>): void {
    const now = Date.now()
    for (const delayMs of delaysMs) {
      if (delayMs <= 0) continue
      const dueAt = Math.ceil((now + delayMs + SLACK_MS) / BUCKET_MS) * BUCKET_MS
      if (this.#armed.has(dueAt)) continue
      this.#armed.add(dueAt)
      this.#arm(dueAt)
    }
  }

  stop(): void {
    for (const timer of this.#timers) clearTimeout(timer)
    this.#timers.clear()
    this.#armed.clear()
  }

  #arm(dueAt: number): void {
    const timer = setTimeout(
      () => {
        this.#timers.delete(timer)
        if (Date.now() < dueAt) return this.#arm(dueAt) // a step of a long delay
        this.#armed.delete(dueAt)
        this.#ring().catch(this.#onError)
      },
      Math.min(MAX_TIMER_MS, Math.max(0, dueAt - Date.now())),
    )
    // A wake-up alone must not keep a process alive (Node; a browser's timer is a number).
    if (typeof timer === 'object' && 'unref' in timer) timer.unref()
    this.#timers.add(timer)
  }
}
