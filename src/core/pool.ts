/*
 * The pool as its users see it: one interface for a pool in this page (`ResourcePool`) and a
 * pool hosted elsewhere (`SharedPool`, in a SharedWorker or the leader tab). Members that need
 * the host answer with a promise there and with a value here; `await` works on both.
 */
import type { CapacityInput } from './capacity.js'
import type { DurationStats } from './stats.js'
import type { TaskFailedError, TaskExpiredError, TaskDroppedError, TaskCancelledError } from './errors.js'
import type { TaskHandle } from './handle.js'
import type { FetchOptions, FetchResult } from './mailbox.js'
import type { SubmitItem, SubmitOptions } from './options.js'
import type { MailboxKey, MaybePromise, Priority, PriorityName, TerminalStatus } from './types.js'
import type { ModelEventMap, ModelInstanceSnapshot, ModelStats } from './models.js'

/** Events a pool emits, each with what happened. Listeners run synchronously. */
export interface PoolEventMap<R, C = unknown> extends ModelEventMap {
  submitted: { readonly task: TaskHandle<R, C> }
  parked: { readonly task: TaskHandle<R, C> }
  started: { readonly task: TaskHandle<R, C>; readonly attempt: number }
  progress: { readonly task: TaskHandle<R, C>; readonly chunk: C }
  completed: { readonly task: TaskHandle<R, C>; readonly result: R }
  failed: { readonly task: TaskHandle<R, C>; readonly error: TaskFailedError }
  retrying: { readonly task: TaskHandle<R, C>; readonly attempt: number; readonly delayMs: number; readonly error: unknown }
  expired: { readonly task: TaskHandle<R, C>; readonly error: TaskExpiredError }
  dropped: { readonly task: TaskHandle<R, C>; readonly error: TaskDroppedError }
  cancelled: { readonly task: TaskHandle<R, C>; readonly error: TaskCancelledError }
  idle: Record<string, never>
  /**
   * Something failed where nobody awaits it: a backend write after its task was accepted (the task
   * goes on), or a malformed message on a port (dropped). `context` says which.
   */
  error: { readonly error: unknown; readonly context: string }
}

/** The pool's state at one moment. A plain object (safe to put in reactive stores). */
export interface PoolSnapshot {
  readonly name: string
  readonly capacity: Record<string, number>
  readonly used: Record<string, number>
  /** Attempts running whose outcome is still open. */
  readonly running: number
  /** Attempts whose outcome is decided (timeout, cancel) but whose executor has not returned yet. */
  readonly stopping: number
  readonly parked: Readonly<Record<PriorityName, number>>
  readonly parkedTotal: number
  /** Of the parked tasks, those not due yet (`delayMs` / `runAt`, or a stored retry's backoff after a restart). */
  readonly delayed: number
  /** Tasks waiting out a retry backoff. */
  readonly retrying: number
  readonly isPaused: boolean
  readonly isClosed: boolean
  /** Model instances (loading, ready or unloading), with the units each holds. */
  readonly models: ModelInstanceSnapshot[]
}

export interface PoolStats {
  /** From entering the lot to starting, per attempt. */
  readonly wait: DurationStats
  /** From start until the executor settled, per attempt. */
  readonly run: DurationStats
  readonly outcomes: Readonly<Record<TerminalStatus, number>>
  /** Warm and cold starts, loads, evictions and load times; undefined on a pool without `models`. */
  readonly models: ModelStats | undefined
}

/** A pool's mailbox, as its users read it. */
export interface PoolMailbox<R> {
  fetch(key: MailboxKey, options?: FetchOptions): MaybePromise<FetchResult<R>>
  ack(key: MailboxKey, messageIds: readonly string[]): MaybePromise<number>
}

type Listener<E> = (event: E) => void

export interface CloseOptions {
  /** Cancel running tasks (through `ctx.signal`) instead of letting them finish. @default false */
  readonly abort?: boolean
}

/**
 * What every pool does. `P` is the payload type, `R` the result type, `C` the type of progress
 * chunks. Refusals are the same everywhere (the same error classes for the same input).
 */
export interface Pool<P = unknown, R = unknown, C = unknown> {
  readonly name: string
  /** Parked tasks. On a `SharedPool`: the last value the host pushed. */
  readonly size: number
  /** Attempts holding capacity (running or stopping). On a `SharedPool`: the last value the host pushed. */
  readonly pending: number
  readonly isPaused: boolean
  readonly isClosed: boolean
  /** Resolves once the pool has opened its queue and recovered stored tasks. */
  readonly ready: Promise<void>
  readonly mailbox: PoolMailbox<R>
  /**
   * Accepts a task. Resolves with its handle once it is accepted (durably written, with a durable
   * queue), whether it started or parked. Rejects, with nothing accepted, on a refusal:
   * `CostExceedsCapacityError`, `InvalidCostError`, `InvalidPayloadError`, `InvalidOptionError`,
   * `QueueFullError`, `TaskExpiredError` (wait deadline already past), `TaskCancelledError` (signal
   * already aborted), `IdempotencyConflictError`, `PoolClosedError`.
   *
   * A known idempotency key returns that task's handle: a live one, or one that ended (also
   * before a restart, within `keyRetentionMs`), whose handle reports how it ended; nothing runs
   * again.
   */
  submit(payload: P, options?: SubmitOptions): Promise<TaskHandle<R, C>>
  /**
   * Accepts every item, or none: a refusal of any item (its error, with `submitAll item N` in the
   * message) refuses them all and changes nothing. The new tasks go to the queue in one durable
   * write. Needs room in the lot for every new task, as if each parks (under `'drop-lowest'`, by
   * dropping lower-priority tasks, only if room can be made for all).
   */
  submitAll(items: readonly SubmitItem<P>[]): Promise<TaskHandle<R, C>[]>
  /** The live task with this id (parked, running or retrying), or undefined. */
  get(id: string): MaybePromise<TaskHandle<R, C> | undefined>
  snapshot(): MaybePromise<PoolSnapshot>
  stats(): MaybePromise<PoolStats>
  /**
   * The snapshot and stats in the Prometheus text format, for a `/metrics` endpoint: parked tasks
   * by priority, running, capacity and used units per resource, wait and run time histograms,
   * ends by status. For several pools on one page, `metricsText(pools)`.
   */
  metrics(): Promise<string>
  /** Resolves when nothing is parked, retrying, running or stopping, and every outcome is written. */
  onIdle(): Promise<void>
  /** Resolves once fewer than `limit` tasks are parked (at once if already so): backpressure for producers. */
  onSizeLessThan(limit: number): Promise<void>
  /**
   * Changes the capacity at run time. Shrinking below what is used never stops running work; it
   * holds new starts until used fits again. Resources left out drop to 0.
   */
  setCapacity(capacity: CapacityInput): void
  /**
   * Moves a parked task (waiting in the lot, its delay or a retry's backoff) to another priority.
   * It goes behind the tasks parked at that priority now, as if submitted again (p-queue does the
   * same). False when no task with this id waits here: it started, it ended, or it is unknown.
   * A durable queue keeps the submitted priority: after a restart the task has that one again.
   * A shared queue (Postgres) orders its tasks in the store, so it refuses (`InvalidOptionError`).
   */
  setPriority(id: string, priority: Priority): MaybePromise<boolean>
  /** Loads an instance of a model of the pool's `models` now; see `ResourcePool.preload`. */
  preload(id: string): Promise<void>
  /** Unloads every instance of a model (busy ones once idle); resolves once they are gone. */
  unload(id: string): Promise<void>
  /** Stops starting tasks; running ones go on. */
  pause(): void
  resume(): void
  /** Cancels every parked and retrying task (running ones go on); how many. */
  clear(): MaybePromise<number>
  /**
   * Refuses new submits (`PoolClosedError`), lets running work finish, then closes what the pool
   * opened: its queue (giving up ownership), the mailbox it made, and the databases a builder
   * opened for it; a queue's database or a mailbox you passed in stays yours. Without a durable
   * queue parked tasks are cancelled; in a durable queue they stay for the next start and their
   * handles turn `detached` (`TaskDetachedError`). With `{ abort: true }`, running tasks are
   * cancelled too (their `ctx.signal` aborts) and `close` resolves once their executors stopped.
   * A `SharedPool` closes this tab's connection only; the runs it lends stop either way.
   */
  close(options?: CloseOptions): Promise<void>
  on<K extends keyof PoolEventMap<R, C>>(event: K, listener: Listener<PoolEventMap<R, C>[K]>): () => void
  once<K extends keyof PoolEventMap<R, C>>(event: K, listener: Listener<PoolEventMap<R, C>[K]>): () => void
  off<K extends keyof PoolEventMap<R, C>>(event: K, listener: Listener<PoolEventMap<R, C>[K]>): void
}
