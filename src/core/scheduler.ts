/*
 * The scheduler: one pool's counters, its pump (the only place tasks start) and the life cycle
 * of its tasks. What it decides is written down by the journal (journal.ts). The task and run
 * objects (task.ts), pool and submit options (pool-options.ts, submit.ts), costs (costs.ts),
 * queue depth (room.ts), wait deadlines (deadlines.ts), idempotency keys (keys.ts) and retry
 * backoff (retry.ts) each have a module of their own.
 *
 * Task states and transitions (every accepted task ends in exactly one terminal status):
 *
 *   submit ─▶ parked ──start──▶ running ──settle ok──▶ completed
 *               ▲  │               │  └──throw / run timeout──▶ retrying ─backoff─▶ parked
 *               │  │               │                       └─(no attempts left)──▶ failed
 *               │  ├─wait limit──▶ expired          (retrying also expires at its wait limit)
 *               │  ├─cancel / clear()──▶ cancelled  (running: signal aborts, then cancelled)
 *               │  ├─drop-lowest──▶ dropped
 *               │  └─close() on a durable queue──▶ detached (kept in the queue for the next start)
 *
 * An attempt ("run") holds capacity from its start until its executor really settles, even when
 * the task's outcome was decided earlier (run timeout, cancel): that run is "stopping". We keep
 * the units because the work (GPU memory) is still allocated until the executor returns.
 *
 * Accounting is synchronous and single-owner: all state changes happen in this class's methods,
 * never across an await, and `#pump` is the only place tasks start.
 */
import { CapacityLedger, type CapacityInput } from './capacity.js'
import type { Clock } from './clock.js'
import { Admission } from './admission.js'
import { CostTable } from './costs.js'
import { DeadlineWatch, isWaiting } from './deadlines.js'
import {
  InvalidOptionError,
  PoolClosedError,
  TaskCancelledError,
  TaskDetachedError,
  TaskExpiredError,
  describeError,
  type FailureReason,
} from './errors.js'
import { TypedEmitter } from './events.js'
import { FairShareLedger } from './fair-share.js'
import type { TaskHandle } from './handle.js'
import { Journal, type Outcome } from './journal.js'
import { ParkingLot } from './lot.js'
import type { Mailbox } from './mailbox.js'
import type { ModelInstance, ModelParts, Models } from './models.js'
import type { PoolOptions, SubmitItem, SubmitOptions } from './options.js'
import { runClosers } from './owned.js'
import { resolvePoolOptions, withRuntimeResources, type ResolvedPoolOptions } from './pool-options.js'
import type { CloseOptions, Pool, PoolEventMap, PoolSnapshot, PoolStats } from './pool.js'
import type { SharedQueue, TaskQueue } from './queue.js'
import type { TaskRecord } from './record.js'
import { RateWindows, withRateLimits } from './rates.js'
import { Backoffs, RetryPolicy, failureOf } from './retry.js'
import { metricsText } from './metrics.js'
import { PoolCounters } from './stats.js'
import { describeValue, optionalBoolean, optionalPriority, optionsObject, refuse } from './validate.js'
import type { CostVector } from './capacity.js'
import { Waiters } from './waiters.js'
import { Run, RunningTasks, Task, type TaskHost } from './task.js'
import {
  TERMINAL_STATUSES,
  andThen,
  isPromiseLike,
  levelOf,
  rankOf,
  type MaybePromise,
  type Priority,
  type TaskStatus,
  type TerminalStatus,
} from './types.js'

export type { PoolEventMap, PoolSnapshot, PoolStats } from './pool.js'

/** @internal Who may make a Scheduler: `ResourcePool`. */
export const MADE_HERE = Symbol('prometheus-parking-lot.pool')
/** The key of `Scheduler[submitNow]`, for this package's adapters only (not exported from the root). */
export const submitNow = Symbol()

/** The pool's collaborators, resolved (the public `ResourcePool` supplies in-memory defaults). */
export interface SchedulerParts<P, R> {
  readonly queue: TaskQueue<P>
  readonly mailbox: Mailbox<R>
  /** The pool made the mailbox, so `close()` closes it. */
  readonly ownsMailbox: boolean
  /** Makes the pool's models (`ModelPool` passes it): the model code stays out of bundles that use none. */
  readonly models?: (specs: unknown, parts: ModelParts) => Models
}

type AnyTask<P, R, C> = Task<P, R, C>

/** Tasks a claim takes at most (more come with the next claim, right after). */
const CLAIM_LIMIT = 256

/** Whether the queue opened: `then` handlers of the opening. */
const OPENED = [() => true, () => false] as const

/**
 * The parking-lot scheduler. Construct it through `ResourcePool`, which fills in the in-memory
 * queue and mailbox when none are given.
 */
export class Scheduler<P, R, C = unknown> extends TypedEmitter<PoolEventMap<R, C>> implements Pool<P, R, C> {
  readonly name: string
  readonly #journal: Journal<P, R>
  readonly #clock: Clock
  readonly #options: ResolvedPoolOptions<P, R, C>
  readonly #ledger: CapacityLedger
  /** Gives rates' draws back with time; undefined without `rates`. */
  readonly #rates: RateWindows | undefined
  readonly #fair: FairShareLedger | undefined
  readonly #models: Models | undefined
  readonly #lot: ParkingLot<AnyTask<P, R, C>>
  readonly #admission: Admission<P, R, C>
  readonly #retry: RetryPolicy
  readonly #deadlines: DeadlineWatch<AnyTask<P, R, C>>
  /** What tasks see of the pool (kept off its public surface). */
  readonly #tasks: TaskHost<C>

  // No index by id: a Map of every parked task costs more than the whole schedule on the hot
  // path, and `get(id)` is rare (re-attaching after a reload), so it scans.
  readonly #running = new RunningTasks<AnyTask<P, R, C>>()
  readonly #retrying: Backoffs<AnyTask<P, R, C>>
  /** Parked tasks not due yet (`delayMs` / `runAt`, or a stored retry's backoff): they enter the lot when due. */
  readonly #delayed: Backoffs<AnyTask<P, R, C>>
  /** Tasks whose end is being written: reported once it is. */
  readonly #ending = new Set<AnyTask<P, R, C>>()
  /** The queue many pools share, when it is one (see `#follow`, `#claim`). */
  readonly #shared: SharedQueue<P> | undefined
  /** Tasks submitted here to a shared queue, waiting for the end of a run in any process. */
  readonly #remote = new Map<string, AnyTask<P, R, C>>()
  readonly #submittedHere = new WeakSet<AnyTask<P, R, C>>()
  /** Claimed from the shared queue and not started yet: their attempt is the claimed run's. */
  readonly #claimedRuns = new WeakSet<AnyTask<P, R, C>>()
  /** Ends reported by the shared queue while the task's own end was being written. */
  readonly #lateEnds = new Map<AnyTask<P, R, C>, () => void>()
  #claiming = false
  #claimAgain = false

  #holding = 0
  #stopping = 0
  #paused = false
  #closed = false
  #closing: Promise<void> | undefined
  #pumping = false
  #pumpAgain = false
  #wasBusy = false
  #headTask: AnyTask<P, R, C> | undefined
  #headSince = 0
  #opening: Promise<void> | undefined
  readonly #waiters = new Waiters()
  readonly #counters = new PoolCounters<TerminalStatus>(TERMINAL_STATUSES)

  /** @internal Made through `ResourcePool`. */
  constructor(token: typeof MADE_HERE, options: PoolOptions<P, R, C>, parts: SchedulerParts<P, R>) {
    super()
    if (token !== MADE_HERE) throw new TypeError('Make a pool with new ResourcePool(options)')
    const resolved = resolvePoolOptions(options, parts.queue.checkValue)
    this.name = resolved.name
    this.#options = resolved
    this.#clock = resolved.clock
    this.#ledger = new CapacityLedger(resolved.capacity, resolved.elastic)
    this.#rates =
      Object.keys(resolved.rates).length === 0 ? undefined : new RateWindows(this.#ledger, this.#clock, resolved.rates, () => this.#pump())
    this.#retry = new RetryPolicy(resolved.retry)
    this.#retrying = new Backoffs(this.#clock)
    this.#delayed = new Backoffs(this.#clock)
    this.#fair = resolved.fairShare ? new FairShareLedger() : undefined
    if (options.models !== undefined && parts.models === undefined) {
      throw new InvalidOptionError(
        "`models` needs a ModelPool (import { ModelPool } from 'prometheus-parking-lot'), which adds the model code to a bundle only where it is used",
        'models',
      )
    }
    this.#models =
      options.models === undefined
        ? undefined
        : parts.models!(options.models, {
            ledger: this.#ledger,
            clock: this.#clock,
            executor: resolved.executor,
            emit: (name, event) => this.emit(name, event as PoolEventMap<R, C>[typeof name]),
            pump: () => this.#pump(),
            loadFailed: (model, error) => this.#failTasksOf(model, error),
            instanceLost: (instance, error) => this.#stopRunsOn(instance, error),
            onError: (error, context) => this.#reportError(error, context),
          })
    this.#lot = new ParkingLot({ agingMs: resolved.agingMs, fairShare: this.#fair })
    this.#shared = parts.queue.shared
    this.#deadlines = new DeadlineWatch<AnyTask<P, R, C>>(
      this.#clock,
      (task, now) => this.#expire(task, now),
      () => this.#pump(),
    )
    this.#journal = new Journal<P, R>({
      ...parts,
      ...resolved,
      // A shared queue's claimed tasks hold their leases from the claim, started or not.
      running: () => (this.#shared === undefined ? this.#running.slice() : [...this.#running, ...this.#lot.all()]),
      onError: (error, context) => this.#reportError(error, context),
      onWritten: () => this.#checkWaiters(),
    })
    this.#tasks = {
      defaultMaxAttempts: resolved.submit.maxAttempts,
      costs: new CostTable(this.#ledger, resolved.executor.costPerTask),
      positionOf: (task) => this.#lot.positionOf(task as AnyTask<P, R, C>, this.#clock.now()),
      cancelTask: (task, reason) => this.#cancel(task as AnyTask<P, R, C>, reason),
      onProgress: (task, chunk) => this.#progress(task as AnyTask<P, R, C>, chunk),
    }
    this.#admission = new Admission<P, R, C>({
      options: resolved,
      journal: this.#journal,
      ledger: this.#ledger,
      lot: this.#lot,
      fair: this.#fair,
      models: this.#models,
      tasks: this.#tasks,
      isClosed: () => this.#closed,
      isPaused: () => this.#paused,
      waitingElsewhere: () => this.#remote.size,
      delayed: () => this.#delayed.size,
      delayedTasks: () => this.#delayed,
      drop: (task, error) => {
        this.#unpark(task)
        this.#finish(task, 'dropped', error)
      },
      admit: (tasks, now) => this.#admitAll(tasks, now),
    })
    this.#opening = this.#journal.open((records) => {
      this.#opening = undefined
      this.#shared?.attach({
        leaseMs: resolved.leaseMs,
        maxQueueDepth: this.#options.maxQueueDepth,
        agingMs: resolved.agingMs,
        fairShare: resolved.fairShare,
        wake: () => this.#pump(),
        stopRun: (id, why) => this.#stopRequested(id, why),
      })
      this.#recover(records)
    })
  }

  // ─── Public state ──────────────────────────────────────────────────────────

  get mailbox(): Mailbox<R> {
    return this.#journal.mailbox
  }

  /** Tasks waiting to start: in the lot, delayed, and (a shared queue) submitted here and not started anywhere we know of. */
  get size(): number {
    return this.#lot.size + this.#delayed.size + this.#remote.size
  }

  get pending(): number {
    return this.#holding
  }

  get isPaused(): boolean {
    return this.#paused
  }

  get isClosed(): boolean {
    return this.#closed
  }

  get ready(): Promise<void> {
    return this.#opening ?? Promise.resolve()
  }

  snapshot(): PoolSnapshot {
    const counts = this.#lot.countByLevel()
    const now = this.#clock.now()
    let delayed = this.#delayed.size
    for (const task of this.#delayed) counts[levelOf(task.rank)]!++
    for (const task of this.#remote.values()) {
      counts[levelOf(task.rank)]!++
      if (task.notBefore !== undefined && task.notBefore > now) delayed++
    }
    return {
      name: this.name,
      capacity: this.#ledger.capacityObject(),
      used: this.#ledger.usedObject(),
      running: this.#holding - this.#stopping,
      stopping: this.#stopping,
      parked: { low: counts[0]!, normal: counts[1]!, high: counts[2]!, critical: counts[3]! },
      parkedTotal: this.size,
      delayed,
      retrying: this.#retrying.size,
      isPaused: this.#paused,
      isClosed: this.#closed,
      models: this.#models?.snapshot() ?? [],
    }
  }

  stats(): PoolStats {
    return { ...this.#counters.summary(), models: this.#models?.stats() }
  }

  metrics(): Promise<string> {
    return metricsText([this])
  }

  /**
   * Loads an instance of a model now (unloading idle ones least recently used first if that makes
   * room), unless one is loaded or loading. Rejects with `ModelLoadError` if it fails or cannot
   * fit now, `InvalidOptionError` for an id the pool does not declare.
   */
  preload(id: string): Promise<void> {
    return this.#withModels((models) => models.preload(id))
  }

  /** Unloads every instance of a model: idle ones now, busy ones once their tasks end. Resolves once all are gone. */
  unload(id: string): Promise<void> {
    return this.#withModels((models) => models.unload(id))
  }

  #withModels(use: (models: Models) => Promise<void>): Promise<void> {
    try {
      if (this.#models === undefined) throw new InvalidOptionError('This pool declares no `models`', 'models')
      if (this.#closed) throw new PoolClosedError(`Pool '${this.#options.name}' is closed`)
      return use(this.#models)
    } catch (error) {
      return Promise.reject(error)
    }
  }

  get(id: string): TaskHandle<R, C> | undefined {
    for (const task of this.#liveTasks()) if (task.id === id) return task.handle
    for (const task of this.#ending) if (task.id === id) return task.handle
    return undefined
  }

  onIdle(): Promise<void> {
    return this.#isIdle() ? Promise.resolve() : this.#waiters.idle()
  }

  onSizeLessThan(limit: number): Promise<void> {
    if (!(typeof limit === 'number' && limit >= 1))
      return Promise.reject(new InvalidOptionError(`Expected \`limit\` to be a number >= 1, got ${describeValue(limit)}`, 'limit'))
    return this.size < limit ? Promise.resolve() : this.#waiters.sizeBelow(limit)
  }

  // ─── Control ───────────────────────────────────────────────────────────────

  setCapacity(capacity: CapacityInput): void {
    this.#ledger.set(withRateLimits(withRuntimeResources(capacity, this.#options.executor), this.#options.rates))
    this.#tasks.costs.reset()
    this.#pump()
  }

  setPriority(id: string, priority: Priority): boolean {
    const rank = rankOf(optionalPriority(priority, 'priority') ?? refuse('priority', 'given', priority))
    // A shared queue's store orders its tasks.
    if (this.#remote.has(id)) throw new InvalidOptionError(`Task ${id} waits in a shared queue, which orders it`, 'id')
    for (const task of [...this.#lot.all(), ...this.#delayed, ...this.#retrying]) {
      if (task.id !== id) continue
      const inLot = task.inLot
      if (inLot) this.#lot.remove(task, true)
      task.rank = rank
      task.seq = ++this.#admission.seq
      if (inLot) {
        this.#lot.add(task)
        this.#pump()
      }
      return true
    }
    return false
  }

  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#pump()
  }

  clear(): number {
    let cancelled = 0
    for (const task of [...this.#liveTasks()]) {
      if (isWaiting(task) && this.#cancel(task, 'cleared')) cancelled++
    }
    return cancelled
  }

  close(options?: CloseOptions): Promise<void> {
    const { abort } = optionsObject(options, { abort: 1 }, 'options')
    if (optionalBoolean(abort, 'abort') === true) {
      // Asked for again after a plain close, it still stops what runs.
      this.#closed = true
      for (const task of [...this.#running]) this.#cancel(task, 'the pool closed with { abort: true }')
    }
    return (this.#closing ??= this.#close())
  }

  async #close(): Promise<void> {
    this.#closed = true
    // Nothing starts any more: idle instances go now, busy ones once their tasks end (reason closed).
    const modelsGone = this.#models?.close()
    // One error for every task let go: making thousands of stack traces is what closing costs otherwise.
    const kept = this.#keptError()
    for (const task of [...this.#liveTasks()]) if (isWaiting(task) || this.#remote.has(task.id)) this.#closeOut(task, kept)
    this.#checkWaiters()
    // A queue that refused to open (another owner) is not ours to close; what the pool made still is.
    const opened = await Promise.resolve(this.#opening).then(...OPENED)
    if (opened && this.#holding > 0) await this.#waiters.stopped()
    await modelsGone
    this.#deadlines.stop()
    this.#rates?.stop()
    await this.#journal.close(opened)
    await runClosers(this)
  }

  /** The pool closed before the task started: a durable queue keeps it for the next start; else it is cancelled. */
  #closeOut(task: AnyTask<P, R, C>, kept: TaskDetachedError): void {
    if (this.#journal.durable) this.#detach(task, kept)
    else this.#cancel(task, 'the pool closed')
  }

  #keptError(): TaskDetachedError {
    return new TaskDetachedError(
      `Pool '${this.name}' closed before this task started; it is kept in the durable queue and runs after the next start`,
    )
  }

  // ─── Submit ────────────────────────────────────────────────────────────────

  submit(payload: P, options: SubmitOptions = {}): Promise<TaskHandle<R, C>> {
    try {
      return Promise.resolve(this[submitNow](payload, options))
    } catch (error) {
      return Promise.reject(error)
    }
  }

  /**
   * @internal `submit` for this package's adapters (the p-queue class): the handle at once when
   * the queue answers at once (memory), so a caller can act on it in the same tick, with no
   * promise made per task. A refusal throws.
   */
  [submitNow](payload: P, options: SubmitOptions): MaybePromise<TaskHandle<R, C>> {
    return andThen(this.#opening, () => this.#admission.accept(payload, options))
  }

  async submitAll(items: readonly SubmitItem<P>[]): Promise<TaskHandle<R, C>[]> {
    if (this.#opening !== undefined) await this.#opening
    return this.#admission.submitAll(items)
  }

  /** The tasks are durably accepted: they enter the lot and may start. */
  #admitAll(tasks: readonly AnyTask<P, R, C>[], now: number): void {
    for (const task of tasks)
      if (this.#shared === undefined) this.#enter(task, true)
      else this.#follow(task, true)
    this.#pump(now)
    if (this.hasListeners('parked'))
      for (const task of tasks)
        if (task.inLot || this.#delayed.has(task) || this.#remote.has(task.id)) this.emit('parked', { task: task.handle })
  }

  /** A task accepted (or recovered: no event) enters the lot. */
  #enter(task: AnyTask<P, R, C>, fresh: boolean): void {
    if (task.outcome !== undefined || this.#ending.has(task)) return // cancelled while its write was in flight
    if (this.#closed) {
      // Accepted while the pool closed: a durable queue keeps it for the next start, as any parked task.
      this.#closeOut(task, new TaskDetachedError(`Pool '${this.name}' closed as this task was accepted; it runs after the next start`))
      return
    }
    this.#wasBusy = true
    if (task.waitDeadline !== undefined) this.#deadlines.watch(task)
    // The clock is read only for a task with a time (the common one has none).
    const due = task.notBefore
    const waitMs = due === undefined ? 0 : due - this.#clock.now()
    if (due !== undefined && waitMs > 0) {
      // Parked but not startable yet: it waits on the clock, then takes its place by seq.
      this.#delayed.wait(task, waitMs, () => {
        task.parkedAt = due
        this.#admission.wake(task, this.#clock.now())
        this.#lot.add(task)
        this.#pump()
      })
    } else {
      if (this.#fair !== undefined) this.#admission.wake(task, this.#clock.now())
      this.#lot.add(task)
    }
    if (fresh && this.hasListeners('submitted')) this.emit('submitted', { task: task.handle })
  }

  /**
   * A task submitted to a shared queue waits for its end, from whichever process runs it (this
   * one too: a claim takes the task object back, see `#adopt`). `started` marks one the store
   * says runs elsewhere now: its wait limit no longer applies.
   */
  #follow(task: AnyTask<P, R, C>, fresh: boolean, started = false): void {
    if (task.outcome !== undefined || this.#ending.has(task)) return
    if (this.#closed) {
      this.#closeOut(task, new TaskDetachedError(`Pool '${this.name}' closed as this task was accepted; another process may run it`))
      return
    }
    this.#wasBusy = true
    this.#admission.wake(task, this.#clock.now()) // its delay is the store's to keep
    this.#submittedHere.add(task)
    this.#remote.set(task.id, task)
    task.status = started ? 'running' : 'parked'
    if (!started && task.waitDeadline !== undefined) this.#deadlines.watch(task)
    this.#shared!.follow(task.id, {
      progress: (chunk) => this.#progress(task, chunk as C),
      ended: (status, value, error) => this.#followedEnded(task, status, value, error),
    })
    if (fresh && this.hasListeners('submitted')) this.emit('submitted', { task: task.handle })
  }

  /** The shared queue reports the end of a task submitted here. */
  #followedEnded(task: AnyTask<P, R, C>, status: TerminalStatus, value: unknown, error: Error | undefined): void {
    const end = (): void => {
      this.#remote.delete(task.id)
      this.#shared!.unfollow(task.id)
      this.#reportEnd(task, status, error === undefined ? { ok: true, value: value as R } : { ok: false, error }, this.#clock.now())
      this.#checkWaiters()
    }
    // Its own end (a cancel) is being written: whichever the store kept is reported then.
    if (this.#ending.has(task)) this.#lateEnds.set(task, end)
    else if (this.#remote.get(task.id) === task) end()
  }

  /** The shared queue did not end the task (another process runs it, or this run's lease was lost). */
  #kept(task: AnyTask<P, R, C>): void {
    this.#ending.delete(task)
    const late = this.#lateEnds.get(task)
    this.#lateEnds.delete(task)
    if (!this.#submittedHere.has(task)) {
      const error = new TaskDetachedError(`Task ${task.id}'s lease was lost; another process runs it`)
      this.#letGo(task, 'detached', { ok: false, error })
    } else if (late !== undefined) {
      this.#remote.set(task.id, task)
      late()
    } else {
      this.#follow(task, false, true)
    }
    this.#checkWaiters()
  }

  /** A task claimed here (running or in the lot) must stop (the shared queue says why). */
  #stopRequested(id: string, why: 'cancelled' | 'lease-lost'): void {
    const task = [...this.#running, ...this.#lot.all()].find((candidate) => candidate.id === id)
    if (task === undefined || this.#ending.has(task)) return
    if (why === 'cancelled') {
      this.#cancel(task, 'its submitter cancelled it')
      return
    }
    // Its lease is gone: another process may run it now, so this one lets go without an end.
    const error = new TaskDetachedError(`Task ${task.id}'s lease was lost; another process may run it`)
    if (task.run !== undefined) this.#stop(task.run, error)
    else this.#unpark(task)
    this.#claimedRuns.delete(task)
    if (this.#submittedHere.has(task)) this.#follow(task, false, true)
    else this.#letGo(task, 'detached', { ok: false, error })
    this.#pump()
  }

  /** Claims from the shared queue what fits the free units (one claim at a time; another after it when asked meanwhile). */
  #claim(): void {
    const shared = this.#shared!
    if (this.#claiming) {
      this.#claimAgain = true
      return
    }
    if (this.#paused || this.#closed || this.#opening !== undefined) return
    const prefetchMore = this.#lot.size < shared.prefetch / 2
    // Nothing free and enough prefetched: no claim (checked before summing the lot, per pump).
    if (!prefetchMore && this.#ledger.isExhausted()) return
    const capacity = this.#ledger.capacityObject()
    const free = { ...capacity }
    const used = this.#ledger.usedObject()
    const waiting = [...this.#lot.all()].map((task) => this.#ledger.toObject(task.vector))
    let room = prefetchMore
    for (const name of Object.keys(free)) {
      free[name] = Math.max(0, free[name]! - used[name]! - waiting.reduce((sum, cost) => sum + (cost[name] ?? 0), 0))
      if (free[name]! > 0) room = true
    }
    if (!room) return
    this.#claiming = true
    this.#claimAgain = false
    const { backfill, headReserveAfterMs } = this.#options
    shared.claim({ free, capacity, limit: CLAIM_LIMIT, backfill, reserveAfterMs: headReserveAfterMs, waiting: waiting.length }).then(
      ({ runs, spent, cancelled }) => {
        this.#claiming = false
        this.#adopt(runs, 'run')
        this.#adopt(spent, 'spent')
        this.#adopt(cancelled, 'cancelled')
        if (runs.length + spent.length + cancelled.length > 0 || this.#claimAgain) this.#pump()
        else this.#checkWaiters()
      },
      (error: unknown) => {
        this.#claiming = false
        this.#reportError(error, 'claiming tasks')
        this.#checkWaiters()
      },
    )
  }

  /**
   * Claimed tasks enter the lot (a task submitted here is its own object again); spent ones end
   * as failed, cancelled ones (their submitter asked, their runner died) as cancelled.
   */
  #adopt(records: readonly TaskRecord<P>[], kind: 'run' | 'spent' | 'cancelled'): void {
    const now = this.#clock.now()
    for (const record of records) {
      let task = this.#remote.get(record.id)
      if (task !== undefined) {
        this.#remote.delete(record.id)
        this.#shared!.unfollow(record.id)
        task.attempt = record.attempt
        task.lease = record.lease
      } else {
        try {
          task = this.#admission.recovered(record, now)
        } catch (error) {
          this.#reportError(error, `adopting claimed task ${record.id}`)
          continue
        }
      }
      this.#wasBusy = true
      if (kind === 'cancelled') {
        const message = `Task ${task.id} was cancelled by its submitter; the process running it stopped first`
        this.#finish(task, 'cancelled', new TaskCancelledError(message))
        continue
      }
      const poisoned = kind === 'spent' ? this.#journal.poisoned(record) : undefined
      if (poisoned !== undefined) {
        this.#finish(task, 'failed', poisoned)
        continue
      }
      this.#claimedRuns.add(task)
      task.status = 'parked'
      task.notBefore = undefined // the store handed it out: it is due by the database's clock
      this.#enter(task, false)
    }
    if (records.length > 0) this.#journal.armRenewal()
  }

  // ─── Scheduling ────────────────────────────────────────────────────────────

  /** Starts every task the policy allows now. Re-entrant calls only ask for another pass. */
  #pump(now?: number): void {
    if (this.#pumping) {
      this.#pumpAgain = true
      return
    }
    this.#pumping = true
    try {
      do {
        this.#pumpAgain = false
        // One instant per pass: tasks started together start at the same time.
        if (!this.#paused && !this.#closed) this.#startWhatFits(now ?? this.#clock.now())
        now = undefined
      } while (this.#pumpAgain)
    } finally {
      this.#pumping = false
    }
    if (this.#shared !== undefined) this.#claim()
    this.#checkWaiters()
  }

  #startWhatFits(now: number): void {
    const lot = this.#lot
    const ledger = this.#ledger
    for (;;) {
      // A listener or a synchronous executor may pause or close the pool mid-pass.
      if (this.#paused || this.#closed) return
      const head = lot.head(now)
      if (head === undefined) return
      const placed = this.#place(head, undefined, true)
      if (placed !== false) {
        this.#start(head, now, placed)
        continue
      }
      // The head is blocked. Remember since when: backfill's reservation counts from then.
      if (head !== this.#headTask) {
        this.#headTask = head
        this.#headSince = now
      }
      if (!this.#options.backfill) return
      const reserved = now - this.#headSince >= this.#options.headReserveAfterMs ? this.#reservation(head) : undefined
      let started = false
      for (const entry of lot.ordered(now)) {
        if (ledger.isExhausted(reserved)) break
        if (entry === head) continue
        const at = this.#place(entry, reserved, false)
        if (at === false) continue
        if (this.#paused || this.#closed) return
        this.#start(entry, now, at)
        started = true
        // Under fair share a start changes the tenant order: look again from the head.
        if (this.#fair !== undefined) break
      }
      if (!started || this.#fair === undefined) return
    }
  }

  /**
   * Whether the task starts now: false if not; else the model instance it runs on (undefined
   * without a model). For the head (`mayLoad`), its model's load or the evictions it needs begin.
   */
  #place(task: AnyTask<P, R, C>, reserved: CostVector | undefined, mayLoad: boolean): ModelInstance | undefined | false {
    const model = task.model
    const models = this.#models
    if (model === undefined || models === undefined) {
      if (this.#ledger.fits(task.vector, reserved)) return undefined
      if (mayLoad) models?.makeRoomFor(task.vector)
      return false
    }
    return models.place(model, task.vector, reserved, mayLoad) ?? false
  }

  /** What a blocked head holds back from backfill: its cost, and its model's unless an instance is there. */
  #reservation(head: AnyTask<P, R, C>): CostVector {
    const model = head.model
    return model === undefined || this.#models === undefined ? head.vector : this.#models.reservation(model, head.vector)
  }

  /** A model's only load failed: each task parked for it has failed an attempt (retried if attempts remain). */
  #failTasksOf(model: string, error: Error): void {
    const now = this.#clock.now()
    for (const task of [...this.#lot.all()]) {
      if (task.model !== model) continue
      this.#lot.remove(task)
      // Recorded as an attempt that started and failed, so a durable queue counts it across restarts.
      this.#journal.started(task, ++task.attempt, now)
      this.#fail(task, error, 'error')
    }
  }

  /** An instance died with tasks on it: they end now with its error (their units stay held until they settle). */
  #stopRunsOn(instance: ModelInstance, error: Error): void {
    for (const task of [...this.#running]) {
      const run = task.run
      if (run === undefined || run.instance !== instance || run.state !== 'running') continue
      this.#stop(run, error)
      this.#fail(task, error, 'error')
    }
  }

  #start(task: AnyTask<P, R, C>, now: number, instance?: ModelInstance): void {
    this.#lot.remove(task)
    this.#ledger.acquire(task.vector)
    this.#rates?.drew(task.vector, now)
    this.#holding++
    const attempt = this.#claimedRuns.delete(task) ? task.attempt : ++task.attempt
    const run = new Run<C>(task as AnyTask<unknown, unknown, C>, attempt, now)
    if (instance !== undefined) {
      run.instance = instance
      this.#models?.started(instance, now)
    }
    task.run = run
    task.status = 'running'
    this.#running.add(task)
    this.#fair?.started(task.tenant, run, this.#ledger.dominantShare(task.vector), now)
    this.#counters.wait.add(now - task.parkedAt)
    this.#journal.started(task, attempt, now)
    const runTimeoutMs = task.runTimeoutMs
    if (runTimeoutMs !== undefined) run.timer = this.#clock.setTimeout(() => this.#onRunTimeout(run, runTimeoutMs), runTimeoutMs)
    if (this.hasListeners('started')) this.emit('started', { task: task.handle, attempt })

    let result: R | PromiseLike<R>
    try {
      result = this.#options.executor.execute(task.payload, run)
    } catch (error) {
      this.#onRunSettled(run, false, error)
      return
    }
    if (!isPromiseLike<R>(result)) return this.#onRunSettled(run, true, result)
    result.then(
      (value) => this.#onRunSettled(run, true, value),
      (error: unknown) => this.#onRunSettled(run, false, error),
    )
  }

  /** A running attempt emitted a chunk. */
  #progress(task: AnyTask<P, R, C>, chunk: C): void {
    task.addChunk(chunk)
    if (this.#shared !== undefined && !this.#submittedHere.has(task)) this.#shared.progress(task, chunk)
    if (this.hasListeners('progress')) this.emit('progress', { task: task.handle, chunk })
  }

  /** The executor returned or threw. Frees the attempt's capacity; decides the outcome if still open. */
  #onRunSettled(run: Run<C>, ok: boolean, valueOrError: unknown): void {
    const now = this.#clock.now()
    const task = run.owner as AnyTask<P, R, C>
    if (run.timer !== undefined) this.#clock.clearTimeout(run.timer)
    this.#ledger.release(run.cost)
    this.#holding--
    this.#fair?.stopped(task.tenant, run, now)
    this.#counters.run.add(now - run.startedAt)
    if (run.state === 'stopping') {
      this.#stopping--
    } else {
      task.run = undefined
      this.#running.remove(task)
      // A result its mailbox cannot store fails the task, not retried: it would fail the same way.
      const unstorable = ok ? this.#journal.unstorableResult(task, valueOrError) : undefined
      if (unstorable !== undefined) this.#finish(task, 'failed', unstorable, now)
      else if (ok) this.#finish(task, 'completed', valueOrError as R, now)
      else this.#fail(task, valueOrError, 'error')
    }
    const instance = run.instance
    if (instance !== undefined) this.#models?.finished(instance, now)
    if (this.#holding === 0) this.#waiters.allStopped()
    this.#pump(now)
    if (instance !== undefined) this.#models?.idle(instance)
  }

  #onRunTimeout(run: Run<C>, runTimeoutMs: number): void {
    if (run.state !== 'running') return
    const task = run.owner as AnyTask<P, R, C>
    const error = new Error(`Task ${task.id} ran longer than its run timeout of ${runTimeoutMs} ms`)
    error.name = 'TimeoutError'
    this.#stop(run, error)
    this.#fail(task, error, 'timeout')
    this.#pump()
  }

  /** Ends an attempt's say in its task: aborts its signal; its capacity stays until it settles. */
  #stop(run: Run<C>, reason: Error): void {
    run.state = 'stopping'
    this.#stopping++
    if (run.timer !== undefined) this.#clock.clearTimeout(run.timer)
    run.timer = undefined
    const task = run.owner as AnyTask<P, R, C>
    if (task.run === run) {
      task.run = undefined
      this.#running.remove(task)
    }
    run.abort(reason)
  }

  /** An attempt failed: retry (after its backoff) if attempts remain and `retryOn` agrees, else the task failed. */
  #fail(task: AnyTask<P, R, C>, error: unknown, reason: FailureReason): void {
    task.lastError = error
    // A closing pool cannot wait out a backoff; a shared queue's task waits in the store, for any process.
    const cannotWait = this.#closed && this.#shared === undefined
    if (task.attempt >= task.maxAttempts || cannotWait || !this.#retry.mayRetry(error, task.attempt)) {
      this.#finish(task, 'failed', failureOf(task, error, reason))
      return
    }
    const delayMs = this.#retry.delayAfter(task.attempt)
    if (this.#shared !== undefined) return this.#retryShared(task, delayMs, error)
    task.status = 'retrying'
    // Its wait limit still holds: watched again (its entry may have gone when it started).
    if (task.waitDeadline !== undefined) this.#deadlines.watch(task)
    this.#journal.retrying(task, this.#clock.now() + delayMs)
    this.#retrying.wait(task, delayMs, () => {
      task.status = 'parked'
      task.parkedAt = this.#clock.now()
      this.#lot.add(task) // at its original place: the lot orders by the original seq
      this.#pump()
    })
    if (this.hasListeners('retrying')) this.emit('retrying', { task: task.handle, attempt: task.attempt + 1, delayMs, error })
  }

  /** A shared queue's task waits out its backoff in the store: any process may run it next. */
  #retryShared(task: AnyTask<P, R, C>, delayMs: number, error: unknown): void {
    this.#journal.retrying(task, this.#clock.now() + delayMs)
    task.lease = undefined
    if (this.hasListeners('retrying')) this.emit('retrying', { task: task.handle, attempt: task.attempt + 1, delayMs, error })
    if (this.#submittedHere.has(task)) this.#follow(task, false)
    else
      this.#letGo(task, 'detached', { ok: false, error: new TaskDetachedError(`Task ${task.id} waits for its retry in the shared queue`) })
  }

  // ─── Cancellation, expiry, ending ──────────────────────────────────────────

  /** A waiting task's wait limit came. */
  #expire(task: AnyTask<P, R, C>, now: number): void {
    if (this.#ending.has(task)) return // its end (a cancel, say) is being written
    this.#unpark(task)
    const message = `Task ${task.id} waited ${now - task.enqueuedAt} ms, past its wait limit; it will not run`
    this.#finish(task, 'expired', new TaskExpiredError(message, { cause: task.lastError }))
  }

  /** Cancels a live task (from its handle, its signal, `clear` or `close`). */
  #cancel(task: AnyTask<P, R, C>, reason?: unknown): boolean {
    // A task whose end is being written has ended as far as a cancel goes.
    if ((!isWaiting(task) && task.status !== 'running') || this.#ending.has(task)) return false
    const error = new TaskCancelledError(`Task ${task.id} was cancelled${reason === undefined ? '' : `: ${describeError(reason)}`}`, {
      cause: reason,
    })
    if (task.run !== undefined) this.#stop(task.run, error)
    else this.#unpark(task)
    this.#finish(task, 'cancelled', error)
    this.#pump()
    return true
  }

  /**
   * Ends a task's life with a terminal status: has its end written, and only then settles its
   * handle and tells the listeners (an outcome the store did not take is never reported). A
   * refused write (quota, a closed database) means the task did not end: the store still has it as
   * this pool's, so the pool lets go of it and the next start decides, as after a crash.
   */
  #finish(task: AnyTask<P, R, C>, status: TerminalStatus, valueOrError: R | Error, now = this.#clock.now()): void {
    const outcome: Outcome<R> =
      status === 'completed' ? { ok: true, value: valueOrError as R } : { ok: false, error: valueOrError as Error }
    const report = (): void => {
      this.#ending.delete(task)
      this.#lateEnds.delete(task)
      // Only a shared queue follows tasks: reading `id` formats it, which most tasks never need.
      if (this.#shared !== undefined && this.#remote.delete(task.id)) this.#shared.unfollow(task.id)
      this.#reportEnd(task, status, outcome, now)
    }
    const written = this.#journal.ended(task, task.attempt, status, outcome, now)
    if (!isPromiseLike(written)) return report()
    this.#ending.add(task)
    written.then(
      (kept) => (kept === 'kept' ? this.#kept(task) : report()),
      (error: unknown) => {
        this.#ending.delete(task)
        this.#lateEnds.delete(task)
        this.#reportError(error, `writing the end (${status}) of task ${task.id}`)
        const message = `Task ${task.id} ended as ${status}, but the store refused it (${describeError(error)}); it stays queued for the next start`
        this.#detach(task, new TaskDetachedError(message, { cause: error }))
        this.#checkWaiters()
      },
    )
  }

  /** A task's end is written: its handle settles and the listeners hear of it. */
  #reportEnd(task: AnyTask<P, R, C>, status: TerminalStatus, outcome: Outcome<R>, now: number): void {
    this.#letGo(task, status, outcome)
    this.#counters.outcomes[status]++
    this.#admission.ended(task, now)
    if (!this.hasListeners(status)) return
    // Each end event carries `result` (completed) or `error` (the others).
    const event = outcome.ok ? { task: task.handle, result: outcome.value } : { task: task.handle, error: outcome.error }
    this.emit(status, event as PoolEventMap<R, C>[typeof status])
  }

  /** A durable queue keeps the task for the next start; this process lets go of it. */
  #detach(task: AnyTask<P, R, C>, error: TaskDetachedError): void {
    this.#unpark(task)
    if (this.#remote.delete(task.id)) this.#shared!.unfollow(task.id)
    this.#letGo(task, 'detached', { ok: false, error })
  }

  /** Out of the lot, its delay or its backoff (each leaves alone a task it does not hold). */
  #unpark(task: AnyTask<P, R, C>): void {
    this.#lot.remove(task)
    this.#delayed.end(task)
    this.#retrying.end(task)
  }

  #letGo(task: AnyTask<P, R, C>, status: TaskStatus, outcome: Outcome<R>): void {
    task.status = status
    task.detachSignal?.()
    this.#admission.deactivate(task)
    task.settle(outcome)
  }

  /** An `error` event; with nobody listening it is reported (`reportError` or the console), never dropped. */
  #reportError(error: unknown, context: string): void {
    this.emit('error', { error, context: `${this.name}: ${context} failed` })
  }

  // ─── Recovery, idle ────────────────────────────────────────────────────────

  /** Puts stored tasks back: waiting ones into the lot; ones a dead owner was running run again. */
  #recover(records: readonly TaskRecord<P>[]): void {
    const now = this.#clock.now()
    for (const record of records) {
      let task: AnyTask<P, R, C>
      try {
        task = this.#admission.recovered(record, now)
      } catch (error) {
        this.#reportError(error, `recovering task ${record.id}`)
        continue
      }
      this.#wasBusy = true
      const poisoned = this.#journal.poisoned(record)
      if (poisoned !== undefined) this.#finish(task, 'failed', poisoned)
      else this.#enter(task, false)
    }
    this.#pump()
  }

  /** Tasks not yet ended that this process holds: running, retrying, parked. */
  *#liveTasks(): IterableIterator<AnyTask<P, R, C>> {
    yield* this.#running
    yield* this.#retrying
    yield* this.#delayed
    yield* this.#lot.all()
    yield* this.#remote.values()
  }

  /** Idle: nothing parked, retrying, running or being admitted, and every outcome recorded. */
  #isIdle(): boolean {
    return (
      this.#lot.size === 0 &&
      this.#delayed.size === 0 &&
      this.#retrying.size === 0 &&
      this.#holding === 0 &&
      this.#remote.size === 0 &&
      !this.#claiming &&
      this.#admission.admitting === 0 &&
      this.#journal.pending === 0
    )
  }

  /** Wakes `onSizeLessThan` and `onIdle` waiters whose condition now holds. */
  #checkWaiters(): void {
    const idle = this.#wasBusy && this.#isIdle()
    this.#waiters.check(this.size, idle)
    if (!idle) return
    this.#wasBusy = false
    if (this.hasListeners('idle')) this.emit('idle', {})
  }
}
