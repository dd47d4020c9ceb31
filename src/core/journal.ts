/*
 * The journal: every word the pool says to its queue and mailbox. The scheduler decides (starts,
 * ends, retries) synchronously; the journal writes those decisions down and reports a write that
 * fails after the fact as the pool's `error` event, never swallowed.
 *
 * Writes it makes, by moment of a task's life:
 *   accept  -> queue.put          (awaited by submit: acceptance is durable)
 *   start   -> queue.claim        (durable queues: a lease, renewed while it runs)
 *   retry   -> queue.release      (durable queues: back to waiting, with its backoff)
 *   end     -> mailbox message + queue.settle (one transaction when the queue covers the store;
 *              otherwise message first, so a crash between them can only repeat a message)
 *
 * This is the seam for queues many schedulers share (Postgres): there the store orders and
 * claims, and the journal is what changes.
 */
import type { Clock, TimerHandle } from './clock.js'
import { InvalidResultError, TaskFailedError } from './errors.js'
import type { Lease, TaskRecord } from './record.js'
import { uuidv7 } from './ids.js'
import type { Mailbox, MailboxMessage } from './mailbox.js'
import type { KeyRecord, TaskQueue } from './queue.js'
import { andThen, isPromiseLike, noop, type MailboxKey, type MaybePromise, type TerminalStatus } from './types.js'

/** How a task ended, as the journal writes it. */
export type Outcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error }

export interface JournalOptions<P, R> {
  readonly queue: TaskQueue<P>
  readonly mailbox: Mailbox<R>
  /** Whether `close()` closes the mailbox too (the pool made it), or leaves it to its owner. */
  readonly ownsMailbox: boolean
  readonly clock: Clock
  readonly leaseMs: number
  readonly keyRetentionMs: number
  /** The tasks running now, whose leases are renewed. */
  readonly running: () => readonly TaskRecord<P>[]
  /** A write failed after its task was accepted: the pool reports it. */
  readonly onError: (error: unknown, context: string) => void
  /** The last write in flight settled. */
  readonly onWritten: () => void
}

/** What `write` answers; a throw becomes a rejected promise, as an async write's failure would be. */
function settled<T>(write: () => MaybePromise<T>): MaybePromise<T> {
  try {
    return write()
  } catch (error) {
    return Promise.reject(error)
  }
}

export class Journal<P, R> {
  readonly mailbox: Mailbox<R>
  readonly #queue: TaskQueue<P>
  readonly #options: JournalOptions<P, R>
  readonly #writes = new Set<Promise<unknown>>()
  #lease: Lease | undefined
  /** Who holds the leases this journal takes. */
  readonly #owner: string
  #renewTimer: TimerHandle | undefined
  /** Whether the queue writes the mailbox's messages in its own transactions (asked once: a mismatch is refused here). */
  readonly #sharesTransaction: boolean

  constructor(options: JournalOptions<P, R>) {
    this.#options = options
    this.#owner = uuidv7(options.clock.now())
    this.#queue = options.queue
    this.mailbox = options.mailbox
    this.#sharesTransaction = options.queue.sharesTransactionWith(options.mailbox.store)
  }

  /** True when accepted tasks survive the process. */
  get durable(): boolean {
    return this.#queue.durable
  }

  /** Writes still in flight. */
  get pending(): number {
    return this.#writes.size
  }

  /**
   * Takes ownership of the queue and hands its stored tasks to `recover`; a promise while the
   * queue opens (a refusal rejects it: the pool shows it through `ready` and every submit).
   */
  open(recover: (records: readonly TaskRecord<P>[]) => void): Promise<void> | undefined {
    const opened = settled(() => this.#queue.open(this.#owner, (error) => this.#options.onError(error, 'keeping the stored queue')))
    if (!isPromiseLike(opened)) {
      recover(opened)
      return undefined
    }
    const opening = Promise.resolve(opened).then(recover)
    opening.catch(noop)
    return opening
  }

  /**
   * The failure of a recovered task whose owner died on its last allowed attempt (a poison
   * task ends there), or undefined when it may run again.
   */
  poisoned(record: TaskRecord<P>): TaskFailedError | undefined {
    if (record.attempt < record.maxAttempts || record.lease === undefined) return undefined
    const message = `Task ${record.id} was running when its owner stopped, on attempt ${record.attempt} of ${record.maxAttempts}; it will not run again`
    return new TaskFailedError(message, 'crashed', record.attempt)
  }

  /** Records accepted tasks in one write; the caller awaits it (a sync answer for memory). */
  accept(records: readonly TaskRecord<P>[]): MaybePromise<void> {
    return this.#queue.put(records)
  }

  /** The stored key record, for a key the pool does not know (after a restart). */
  findKey(key: string, now: number): MaybePromise<KeyRecord | undefined> {
    return this.#queue.findKey(key, now)
  }

  /** An attempt started: a durable queue records the claim under a lease. */
  started(record: TaskRecord<P>, attempt: number, now: number): void {
    // Leases exist for recovery after a crash; a queue that does not survive one needs none.
    if (!this.#queue.durable) return
    this.#track(() => this.#queue.claim(record, attempt, this.#leaseFrom(now)), 'claim')
    this.armRenewal()
  }

  /** A failed attempt waits out its backoff: a durable queue puts it back to waiting. */
  retrying(record: TaskRecord<P>, notBefore: number): void {
    if (this.#queue.durable) this.#track(() => this.#queue.release(record, notBefore), 'release for retry')
  }

  /** The error for a result the task's mailbox could not store (the part named), or undefined when it can (or it has none). */
  unstorableResult(record: TaskRecord<P>, result: unknown): InvalidResultError | undefined {
    const problem = record.mailbox === undefined ? undefined : this.mailbox.store.checkValue?.(result, 'result')
    if (problem === undefined) return undefined
    return new InvalidResultError(
      `Task ${record.id}'s mailbox cannot store its result: \`${problem.path}\` ${problem.reason}`,
      problem.path,
    )
  }

  /**
   * Writes a task's end: its mailbox message (if it has a key) and the queue's ack. The pool
   * reports the end only once this is written; a failed write is the caller's to handle (the
   * promise rejects), and nothing was acked.
   */
  ended(record: TaskRecord<P>, attempts: number, status: TerminalStatus, outcome: Outcome<R>, now: number): MaybePromise<void | 'kept'> {
    const message = record.mailbox === undefined ? undefined : this.#message(record, attempts, record.mailbox, status, outcome, now)
    const shared = message !== undefined && this.#sharesTransaction
    const settle = (): MaybePromise<void | 'kept'> =>
      this.#queue.settle(record, {
        status,
        endedAt: now,
        retainKeyUntil: now + this.#options.keyRetentionMs,
        message: shared ? message : undefined,
        outcome,
      })
    const write = (): MaybePromise<unknown> => {
      if (message === undefined) return settle()
      // In the ack's transaction; the notifiers hear of it once that commits (if the store ended the task).
      if (shared) return andThen(settle(), (kept) => (kept === 'kept' ? kept : this.mailbox.announce(message)))
      // Stored before the ack (a crash between the two can only repeat a run, never lose its
      // end); announced after it, if it was new.
      return andThen(this.mailbox.store.put(message), (isNew) =>
        andThen(settle(), (kept) => (kept === 'kept' ? kept : isNew && this.mailbox.announce(message))),
      )
    }
    let written: MaybePromise<unknown>
    try {
      written = write()
    } catch (error) {
      // Refused at once: the caller hears of it now, and it holds nothing up.
      return Promise.reject(error)
    }
    if (!isPromiseLike(written)) return
    const done = Promise.resolve(written).then((kept) => (kept === 'kept' ? kept : undefined))
    this.#hold(done.then(noop, noop))
    return done
  }

  /** Resolves once every write made so far has settled. */
  async whenWritten(): Promise<void> {
    while (this.#writes.size > 0) await Promise.allSettled([...this.#writes])
  }

  /**
   * Stops renewing, waits for every write, then gives up the queue (when it was opened: one that
   * refused us is not ours to close) and closes the mailbox if the pool made it.
   */
  async close(queueOpened: boolean): Promise<void> {
    if (this.#renewTimer !== undefined) this.#options.clock.clearTimeout(this.#renewTimer)
    this.#renewTimer = undefined
    await this.whenWritten()
    if (queueOpened) await this.#queue.close()
    if (this.#options.ownsMailbox) await this.mailbox.close()
  }

  #message(
    record: TaskRecord<P>,
    attempts: number,
    key: MailboxKey,
    status: TerminalStatus,
    outcome: Outcome<R>,
    now: number,
  ): MailboxMessage<R> {
    const base = {
      id: uuidv7(now),
      taskId: record.id,
      key,
      status,
      attempts,
      submittedAt: record.submittedAt,
      completedAt: now,
    }
    if (outcome.ok) return { ...base, result: outcome.value }
    const error = outcome.error as Error & { code?: unknown }
    return { ...base, error: { code: typeof error.code === 'string' ? error.code : error.name, message: error.message } }
  }

  /** Makes and tracks a write; a failure (thrown at once, or later) is reported, never swallowed. */
  #track(write: () => unknown, context: string): void {
    const result = settled(write)
    if (isPromiseLike(result)) this.#hold(Promise.resolve(result).then(noop, (error: unknown) => this.#options.onError(error, context)))
  }

  /** Counts a write (that never rejects) as in flight until it settles. */
  #hold(write: Promise<void>): void {
    this.#writes.add(write)
    void write.then(() => {
      this.#writes.delete(write)
      if (this.#writes.size === 0) this.#options.onWritten()
    })
  }

  /** Starts at one instant share one (immutable) lease. */
  #leaseFrom(now: number): Lease {
    const expiresAt = now + this.#options.leaseMs
    if (this.#lease === undefined || this.#lease.expiresAt !== expiresAt) this.#lease = { owner: this.#owner, expiresAt }
    return this.#lease
  }

  /** Keeps leases renewed (claimed tasks of a shared queue hold one before they start). */
  armRenewal(): void {
    if (this.#renewTimer !== undefined) return
    const { clock, leaseMs } = this.#options
    this.#renewTimer = clock.setTimeout(() => {
      this.#renewTimer = undefined
      const running = this.#options.running()
      if (running.length === 0) return
      this.#track(() => this.#queue.renew(running, clock.now() + leaseMs), 'lease renewal')
      this.armRenewal()
    }, leaseMs / 3)
  }
}
