/*
 * The scheduler: one pool's accounting, lot, timers and task lifecycle.
 *
 * Task states and transitions (every accepted task ends in exactly one terminal status):
 *
 *   submit ─▶ parked ──start──▶ running ──settle ok──▶ completed
 *               ▲  │               │  └──throw / run timeout──▶ retrying ─backoff─▶ parked
 *               │  │               │                       └─(no attempts left)──▶ failed
 *               │  ├─wait limit──▶ expired          (retrying also expires at its wait limit)
 *               │  ├─cancel / clear()──▶ cancelled  (running: signal aborts, then cancelled)
 *               │  └─drop-lowest──▶ dropped
 *
 * An attempt ("run") holds capacity from its start until its executor really settles, even when
 * the task's outcome was decided earlier (run timeout, cancel): that run is "stopping". We keep
 * the units because the work (GPU memory) is still allocated until the executor returns.
 *
 * Accounting is synchronous and single-owner: all state changes happen in this class's methods,
 * never across an await, and `#pump` is the only place tasks start.
 */
import { CapacityLedger, type CapacityInput, type CostInput, type CostVector, type ResourceVector } from './capacity.js'
import { SystemClock, type Clock, type TimerHandle } from './clock.js'
import {
  IdempotencyConflictError,
  InvalidOptionError,
  PoolClosedError,
  QueueFullError,
  TaskCancelledError,
  TaskDroppedError,
  TaskExpiredError,
  TaskFailedError,
  WorkerCrashedError,
  describeError,
  type FailureReason,
} from './errors.js'
import { TypedEmitter } from './events.js'
import { FairShareLedger } from './fair-share.js'
import { TaskHandle, type ProgressStep, type TaskControl } from './handle.js'
import { formatId, stampCounter, stampId, stampMs, stampTail, uuidv7 } from './ids.js'
import { ParkingLot, type LotEntry } from './lot.js'
import { newMessageId, reportUnhandled, type Mailbox, type MailboxMessage } from './mailbox.js'
import { MinHeap } from './min-heap.js'
import type { PoolOptions, SubmitOptions } from './options.js'
import { assertPayloadTravels, fingerprint } from './payload.js'
import type { Lease, TaskQueue, TaskRecord } from './queue.js'
import { DurationSeries, type DurationStats } from './stats.js'
import {
  PRIORITIES,
  isPromiseLike,
  type Executor,
  type ExecutorFunction,
  type MailboxKey,
  type PayloadFormat,
  type Priority,
  type TaskContext,
  type TaskInfo,
  type TaskStatus,
  type TerminalStatus,
} from './types.js'
import { optionalBoolean, optionalFunction, optionalMailboxKey, optionalNumber, optionalPriority, optionalString } from './validate.js'

/** Events a pool emits, each with what happened. Listeners run synchronously. */
export interface PoolEventMap<R> {
  submitted: { readonly task: TaskHandle<R> }
  parked: { readonly task: TaskHandle<R> }
  started: { readonly task: TaskHandle<R>; readonly attempt: number }
  progress: { readonly task: TaskHandle<R>; readonly chunk: unknown }
  completed: { readonly task: TaskHandle<R>; readonly result: R }
  failed: { readonly task: TaskHandle<R>; readonly error: TaskFailedError }
  retrying: { readonly task: TaskHandle<R>; readonly attempt: number; readonly delayMs: number; readonly error: unknown }
  expired: { readonly task: TaskHandle<R>; readonly error: TaskExpiredError }
  dropped: { readonly task: TaskHandle<R>; readonly error: TaskDroppedError }
  cancelled: { readonly task: TaskHandle<R>; readonly error: TaskCancelledError }
  idle: Record<string, never>
  /** A backend write (queue or mailbox) failed after the task was accepted; the task itself goes on. */
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
  readonly parked: Readonly<Record<Priority, number>>
  readonly parkedTotal: number
  /** Tasks waiting out a retry backoff. */
  readonly retrying: number
  readonly isPaused: boolean
  readonly isClosed: boolean
}

export interface PoolStats {
  /** From entering the lot to starting, per attempt. */
  readonly wait: DurationStats
  /** From start until the executor settled, per attempt. */
  readonly run: DurationStats
  readonly outcomes: Readonly<Record<TerminalStatus, number>>
}

/** The pool's collaborators, resolved (the public `ResourcePool` supplies in-memory defaults). */
export interface SchedulerParts<P, R> {
  readonly queue: TaskQueue<P>
  readonly mailbox: Mailbox<R>
}

type Outcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error }

interface Deferred<R> {
  readonly promise: Promise<R>
  resolve(value: R): void
  reject(error: Error): void
}

const noop = (): void => {}

/** Submit options most tasks leave unset; tasks that set none share one frozen object. */
interface RareOptions {
  /** Undefined means '' (no tenant). */
  readonly tenant?: string | undefined
  /** Undefined means the pool's `maxAttempts`. */
  readonly maxAttempts?: number | undefined
  readonly mailbox?: MailboxKey | undefined
  readonly key?: string | undefined
  readonly fingerprint?: string | undefined
  readonly handler?: string | undefined
  readonly waitDeadline?: number | undefined
  readonly runTimeoutMs?: number | undefined
}

const NO_RARE_OPTIONS: RareOptions = Object.freeze({})

function rareOptions(options: RareOptions, defaultMaxAttempts: number): RareOptions {
  const { mailbox, key, fingerprint, handler, waitDeadline, runTimeoutMs } = options
  const tenant = options.tenant === '' ? undefined : options.tenant
  const maxAttempts = options.maxAttempts === defaultMaxAttempts ? undefined : options.maxAttempts
  if (
    tenant === undefined &&
    maxAttempts === undefined &&
    mailbox === undefined &&
    key === undefined &&
    fingerprint === undefined &&
    handler === undefined &&
    waitDeadline === undefined &&
    runTimeoutMs === undefined
  ) {
    return NO_RARE_OPTIONS
  }
  return { tenant, maxAttempts, mailbox, key, fingerprint, handler, waitDeadline, runTimeoutMs }
}

interface TaskLife<R> {
  costObject: ResourceVector | undefined
  parkedAt: number | undefined
  notBefore: number | undefined
  lease: Lease | undefined
  backoffTimer: TimerHandle | undefined
  lastError: unknown
  deferred: Deferred<R> | undefined
  chunks: unknown[] | undefined
  chunkWaiters: (() => void)[] | undefined
  detachSignal: (() => void) | undefined
}

/** One attempt of a task, and the context its executor sees. Holds capacity from start until its executor settles. */
class Run implements TaskContext {
  state: 'running' | 'stopping' = 'running'
  controller: AbortController | undefined
  abortReason: Error | undefined
  timer: TimerHandle | undefined
  constructor(
    readonly owner: Task<unknown, unknown>,
    readonly attempt: number,
    readonly startedAt: number,
  ) {}

  get cost(): CostVector {
    return this.owner.vector
  }

  // Created on first use: most executors never look at their signal.
  get signal(): AbortSignal {
    if (this.controller === undefined) {
      this.controller = new AbortController()
      if (this.abortReason !== undefined) this.controller.abort(this.abortReason)
    }
    return this.controller.signal
  }

  get task(): TaskInfo {
    const t = this.owner
    return {
      id: t.id,
      priority: t.priority,
      cost: t.cost,
      tenant: t.tenant,
      mailbox: t.mailbox,
      key: t.key,
      handler: t.handler,
      submittedAt: t.submittedAt,
    }
  }

  emit(chunk: unknown): void {
    // Chunks from an attempt that timed out or was cancelled are not the task's output any more.
    if (this.state === 'running' && this.owner.run === this) this.owner.scheduler.onProgress(this.owner, chunk)
  }

  abort(reason: Error): void {
    this.abortReason = reason
    this.controller?.abort(reason)
  }
}

/**
 * A task inside the scheduler. It is its own queue record (the memory queue keeps it as is;
 * durable queues copy the `TaskRecord` fields) and implements what its handle needs.
 */
class Task<P, R> implements LotEntry, TaskControl<R>, TaskRecord<P> {
  inLot = false
  status: TaskStatus = 'parked'
  run: Run | undefined = undefined
  outcome: Outcome<R> | undefined = undefined
  /** Place in the scheduler's list of running tasks, -1 when not running. */
  runningIndex = -1
  readonly handle: TaskHandle<R>
  // Rarely set state lives in a side object made on first write: a parked task is then ~40%
  // smaller, which is most of the pool's memory when thousands wait.
  #life: TaskLife<R> | undefined = undefined

  // The id is spelled out on first read (see `stampId`); until then its parts are kept.
  #id: string | undefined
  readonly #idMs: number
  readonly #idCounter: number
  readonly #idTail: string

  constructor(
    readonly scheduler: Scheduler<P, R>,
    /** A known id (a recovered task), or undefined to take the next one now. */
    id: string | undefined,
    readonly seq: number,
    readonly payload: P,
    /** The cost object, when the submit already has one; else made from `vector` on first read. */
    costObject: ResourceVector | undefined,
    /** The cost as the ledger counts it. */
    readonly vector: CostVector,
    readonly rank: number,
    readonly submittedAt: number,
    public attempt: number,
    /** Options most tasks do not set. */
    readonly rare: RareOptions,
  ) {
    if (costObject !== undefined && costObject !== scheduler.defaultCostObject) this.#lifeState().costObject = costObject
    this.#id = id
    if (id === undefined) stampId(submittedAt)
    this.#idMs = stampMs
    this.#idCounter = stampCounter
    this.#idTail = stampTail
    this.handle = new TaskHandle<R>(this)
  }

  get id(): string {
    return (this.#id ??= formatId(this.#idMs, this.#idCounter, this.#idTail))
  }

  static fromRecord<P, R>(scheduler: Scheduler<P, R>, record: TaskRecord<P>, vector: CostVector): Task<P, R> {
    const task = new Task<P, R>(
      scheduler,
      record.id,
      record.seq,
      record.payload,
      record.cost,
      vector,
      PRIORITIES.indexOf(record.priority),
      record.submittedAt,
      record.attempt,
      rareOptions(record, scheduler.defaultMaxAttempts),
    )
    if (record.notBefore !== undefined) task.notBefore = record.notBefore
    if (record.lease !== undefined) task.lease = record.lease
    return task
  }

  get priority(): Priority {
    return PRIORITIES[this.rank]!
  }
  get cost(): ResourceVector {
    const known = this.#life?.costObject
    if (known !== undefined) return known
    if (this.vector === this.scheduler.defaultCostVector) return this.scheduler.defaultCostObject!
    return (this.#lifeState().costObject = this.scheduler.costObject(this.vector))
  }
  /** When it last entered the lot (for wait statistics). */
  get parkedAt(): number {
    return this.#life?.parkedAt ?? this.submittedAt
  }
  set parkedAt(value: number) {
    this.#lifeState().parkedAt = value
  }

  get enqueuedAt(): number {
    return this.submittedAt
  }
  get tenant(): string {
    return this.rare.tenant ?? ''
  }
  get maxAttempts(): number {
    return this.rare.maxAttempts ?? this.scheduler.defaultMaxAttempts
  }
  get mailbox(): MailboxKey | undefined {
    return this.rare.mailbox
  }
  get key(): string | undefined {
    return this.rare.key
  }
  get fingerprint(): string | undefined {
    return this.rare.fingerprint
  }
  get handler(): string | undefined {
    return this.rare.handler
  }
  get waitDeadline(): number | undefined {
    return this.rare.waitDeadline
  }
  get runTimeoutMs(): number | undefined {
    return this.rare.runTimeoutMs
  }

  get notBefore(): number | undefined {
    return this.#life?.notBefore
  }
  set notBefore(value: number | undefined) {
    this.#lifeState().notBefore = value
  }
  get lease(): Lease | undefined {
    return this.#life?.lease
  }
  set lease(value: Lease | undefined) {
    this.#lifeState().lease = value
  }
  get backoffTimer(): TimerHandle | undefined {
    return this.#life?.backoffTimer
  }
  set backoffTimer(value: TimerHandle | undefined) {
    this.#lifeState().backoffTimer = value
  }
  get lastError(): unknown {
    return this.#life?.lastError
  }
  set lastError(value: unknown) {
    this.#lifeState().lastError = value
  }
  get deferred(): Deferred<R> | undefined {
    return this.#life?.deferred
  }
  set deferred(value: Deferred<R> | undefined) {
    this.#lifeState().deferred = value
  }
  get chunks(): unknown[] | undefined {
    return this.#life?.chunks
  }
  set chunks(value: unknown[] | undefined) {
    this.#lifeState().chunks = value
  }
  get chunkWaiters(): (() => void)[] | undefined {
    return this.#life?.chunkWaiters
  }
  set chunkWaiters(value: (() => void)[] | undefined) {
    this.#lifeState().chunkWaiters = value
  }
  get detachSignal(): (() => void) | undefined {
    return this.#life?.detachSignal
  }
  set detachSignal(value: (() => void) | undefined) {
    this.#lifeState().detachSignal = value
  }

  #lifeState(): TaskLife<R> {
    return (this.#life ??= {
      costObject: undefined,
      parkedAt: undefined,
      notBefore: undefined,
      lease: undefined,
      backoffTimer: undefined,
      lastError: undefined,
      deferred: undefined,
      chunks: undefined,
      chunkWaiters: undefined,
      detachSignal: undefined,
    })
  }

  position(): number | undefined {
    return this.inLot ? this.scheduler.positionOf(this) : undefined
  }

  result(): Promise<R> {
    let promise: Promise<R>
    const outcome = this.outcome
    if (outcome !== undefined) {
      promise = outcome.ok ? Promise.resolve(outcome.value) : Promise.reject(outcome.error)
    } else {
      if (this.deferred === undefined) {
        let resolve!: (value: R) => void
        let reject!: (error: Error) => void
        const created = new Promise<R>((res, rej) => {
          resolve = res
          reject = rej
        })
        this.deferred = { promise: created, resolve, reject }
      }
      promise = this.deferred.promise
    }
    // Marks this promise handled; whoever awaits it still sees the rejection.
    promise.catch(noop)
    return promise
  }

  progressAt(index: number): ProgressStep {
    const chunks = this.chunks
    if (chunks !== undefined && index < chunks.length) return { kind: 'chunk', chunk: chunks[index] }
    if (this.outcome !== undefined) return { kind: 'end' }
    const waiters = (this.chunkWaiters ??= [])
    return { kind: 'wait', ready: new Promise<void>((resolve) => waiters.push(resolve)) }
  }

  cancel(reason?: unknown): boolean {
    return this.scheduler.cancelTask(this, reason)
  }

  wakeProgress(): void {
    const waiters = this.chunkWaiters
    if (waiters === undefined) return
    this.chunkWaiters = undefined
    for (const wake of waiters) wake()
  }
}

const DEFAULTS = {
  name: 'pool',
  maxAttempts: 1,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 30_000,
  keyRetentionMs: 300_000,
  headReserveAfterMs: 10_000,
  leaseMs: 30_000,
} as const

function toExecutor<P, R>(executor: ExecutorFunction<P, R> | Executor<P, R>): Executor<P, R> {
  if (typeof executor === 'function') {
    return { execute: executor as (payload: P, ctx: TaskContext) => PromiseLike<R> }
  }
  if (typeof executor === 'object' && executor !== null && typeof executor.execute === 'function') {
    return executor
  }
  throw new InvalidOptionError('Expected `executor` to be a function `(payload, ctx) => result` or an object with `execute`', 'executor')
}

const FORMAT_STRICTNESS: Record<PayloadFormat, number> = { any: 0, 'structured-clone': 1, json: 2 }

/**
 * The parking-lot scheduler. Construct it through `ResourcePool`, which fills in the in-memory
 * queue and mailbox when none are given.
 */
export class Scheduler<P, R> extends TypedEmitter<PoolEventMap<R>> {
  readonly name: string
  readonly mailbox: Mailbox<R>
  readonly #queue: TaskQueue<P>
  readonly #clock: Clock
  readonly #executor: Executor<P, R>
  readonly #ledger: CapacityLedger
  readonly #fair: FairShareLedger | undefined
  readonly #lot: ParkingLot<Task<P, R>>
  readonly #maxQueueDepth: number
  readonly #defaultWaitTimeoutMs: number | undefined
  readonly #defaultRunTimeoutMs: number | undefined
  readonly #maxAttempts: number
  readonly #retryOn: (error: unknown, attempt: number) => boolean
  readonly #retryBaseDelayMs: number
  readonly #retryMaxDelayMs: number
  readonly #keyRetentionMs: number
  readonly #leaseMs: number
  readonly #random: () => number
  readonly #onFull: 'reject' | 'drop-lowest'
  readonly #backfill: boolean
  readonly #headReserveAfterMs: number
  readonly #payloadFormat: PayloadFormat
  readonly #owner: string

  // No index by id: a Map of every parked task costs more than the whole schedule on the hot
  // path, and `get(id)` is rare (re-attaching after a reload), so it scans.
  // Running tasks in an array with each task's index on it: cheaper than a Set per start and end.
  readonly #runningTasks: Task<P, R>[] = []
  readonly #retryingTasks = new Set<Task<P, R>>()
  readonly #keys = new Map<string, Task<P, R>>()
  /** Ended keys in the order they may be forgotten (retention is one constant). */
  readonly #endedKeys: { key: string; task: Task<P, R>; until: number }[] = []
  #endedKeysHead = 0
  readonly #deadlines = new MinHeap<Task<P, R>>()
  #deadlineTimer: TimerHandle | undefined
  #deadlineTimerAt = Infinity
  #renewTimer: TimerHandle | undefined
  #lease: Lease | undefined

  #seq = 0
  #defaultCost: { vector: CostVector; object: ResourceVector | undefined } | undefined
  #holding = 0
  #stopping = 0
  #admitting = 0
  #paused = false
  #closed = false
  #pumping = false
  #pumpAgain = false
  #wasBusy = false
  #headTask: Task<P, R> | undefined
  #headSince = 0
  #opening: Promise<void> | undefined
  #idleWaiters: (() => void)[] = []
  #stoppedWaiters: (() => void)[] = []
  readonly #persisting = new Set<Promise<unknown>>()
  readonly #waitStats = new DurationSeries()
  readonly #runStats = new DurationSeries()
  readonly #outcomes: Record<TerminalStatus, number> = {
    completed: 0,
    failed: 0,
    expired: 0,
    dropped: 0,
    cancelled: 0,
  }

  constructor(options: PoolOptions<P, R>, parts: SchedulerParts<P, R>) {
    super()
    if (typeof options !== 'object' || options === null) {
      throw new InvalidOptionError('Expected pool options to be an object', '')
    }
    this.name = optionalString(options.name, 'name') ?? DEFAULTS.name
    this.#executor = toExecutor(options.executor)
    this.#queue = parts.queue
    this.mailbox = parts.mailbox
    this.#clock = options.clock ?? new SystemClock()
    this.#ledger = new CapacityLedger(withRuntimeResources(options.capacity, this.#executor), new Set(this.#executor.elasticResources))
    this.#maxQueueDepth = optionalNumber(options.maxQueueDepth, 'maxQueueDepth', { integer: true, allowInfinity: true }) ?? Infinity
    this.#defaultWaitTimeoutMs = optionalNumber(options.defaultWaitTimeoutMs, 'defaultWaitTimeoutMs')
    this.#defaultRunTimeoutMs = optionalNumber(options.defaultRunTimeoutMs, 'defaultRunTimeoutMs', { min: 1 })
    this.#maxAttempts = optionalNumber(options.maxAttempts, 'maxAttempts', { min: 1, integer: true }) ?? DEFAULTS.maxAttempts
    this.#retryOn = optionalFunction(options.retryOn, 'retryOn') ?? (() => true)
    this.#retryBaseDelayMs = optionalNumber(options.retryBaseDelayMs, 'retryBaseDelayMs') ?? DEFAULTS.retryBaseDelayMs
    this.#retryMaxDelayMs = optionalNumber(options.retryMaxDelayMs, 'retryMaxDelayMs') ?? DEFAULTS.retryMaxDelayMs
    this.#keyRetentionMs = optionalNumber(options.keyRetentionMs, 'keyRetentionMs') ?? DEFAULTS.keyRetentionMs
    this.#leaseMs = optionalNumber(options.leaseMs, 'leaseMs', { min: 1 }) ?? DEFAULTS.leaseMs
    this.#random = optionalFunction(options.random, 'random') ?? Math.random
    const policy = options.policy ?? {}
    const onFull = policy.onFull ?? 'reject'
    if (onFull !== 'reject' && onFull !== 'drop-lowest') {
      throw new InvalidOptionError(
        `Expected \`policy.onFull\` to be 'reject' or 'drop-lowest', got ${JSON.stringify(onFull)}`,
        'policy.onFull',
      )
    }
    this.#onFull = onFull
    this.#backfill = optionalBoolean(policy.backfill, 'policy.backfill') ?? false
    this.#headReserveAfterMs = optionalNumber(policy.headReserveAfterMs, 'policy.headReserveAfterMs') ?? DEFAULTS.headReserveAfterMs
    const agingMs = optionalNumber(policy.agingMs, 'policy.agingMs', { min: 1 })
    this.#fair = optionalBoolean(policy.fairShare, 'policy.fairShare') === true ? new FairShareLedger() : undefined
    this.#lot = new ParkingLot({ agingMs, fairShare: this.#fair })
    const formats = [this.#queue.payloadFormat, this.#executor.payloadFormat ?? 'any']
    this.#payloadFormat = formats.reduce((a, b) => (FORMAT_STRICTNESS[b] > FORMAT_STRICTNESS[a] ? b : a))
    this.#owner = uuidv7(this.#clock.now())
    this.#open()
  }

  // ─── Public state ──────────────────────────────────────────────────────────

  /** Parked tasks (waiting in the lot). */
  get size(): number {
    return this.#lot.size
  }

  /** Attempts holding capacity (running or stopping). */
  get pending(): number {
    return this.#holding
  }

  get isPaused(): boolean {
    return this.#paused
  }

  get isClosed(): boolean {
    return this.#closed
  }

  /** Resolves once the pool has opened its queue and recovered stored tasks. */
  get ready(): Promise<void> {
    return this.#opening ?? Promise.resolve()
  }

  snapshot(): PoolSnapshot {
    const counts = this.#lot.countByRank()
    return {
      name: this.name,
      capacity: this.#ledger.capacityObject(),
      used: this.#ledger.usedObject(),
      running: this.#holding - this.#stopping,
      stopping: this.#stopping,
      parked: { low: counts[0]!, normal: counts[1]!, high: counts[2]!, critical: counts[3]! },
      parkedTotal: this.#lot.size,
      retrying: this.#retryingTasks.size,
      isPaused: this.#paused,
      isClosed: this.#closed,
    }
  }

  stats(): PoolStats {
    return { wait: this.#waitStats.summary(), run: this.#runStats.summary(), outcomes: { ...this.#outcomes } }
  }

  /** The live task with this id (parked, running or retrying), or undefined. */
  get(id: string): TaskHandle<R> | undefined {
    for (const task of this.#liveTasks()) if (task.id === id) return task.handle
    return undefined
  }

  /** Resolves when nothing is parked, retrying, running or stopping, and every outcome is written. */
  onIdle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  // ─── Control ───────────────────────────────────────────────────────────────

  /**
   * Changes the capacity at run time. Shrinking below what is used never stops running work; it
   * holds new starts until used fits again. Resources left out drop to 0.
   */
  setCapacity(capacity: CapacityInput): void {
    this.#ledger.set(withRuntimeResources(capacity, this.#executor))
    this.#defaultCost = undefined
    this.#pump()
  }

  /** Stops starting tasks; running ones go on. */
  pause(): void {
    this.#paused = true
  }

  resume(): void {
    if (!this.#paused) return
    this.#paused = false
    this.#pump()
  }

  /** Cancels every parked and retrying task. Running tasks go on. Returns how many were cancelled. */
  clear(): number {
    let cancelled = 0
    for (const task of [...this.#liveTasks()]) {
      if ((task.status === 'parked' || task.status === 'retrying') && this.cancelTask(task, 'cleared')) cancelled++
    }
    return cancelled
  }

  /**
   * Refuses new submits (`PoolClosedError`), lets running work finish, then closes the queue. In a
   * memory queue parked tasks are cancelled; in a durable queue they stay for the next start.
   */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true
      // One error for every task let go: making thousands of stack traces is what closing costs otherwise.
      const kept = new PoolClosedError(
        `Pool '${this.name}' closed before this task started; it stays in the durable queue and runs after the next start`,
      )
      for (const task of [...this.#liveTasks()]) {
        if (task.status !== 'parked' && task.status !== 'retrying') continue
        if (this.#queue.durable) this.#detach(task, kept)
        else this.cancelTask(task, 'the pool closed')
      }
    }
    // A queue that failed to open (another owner) has nothing of ours to close.
    if (
      this.#opening !== undefined &&
      !(await this.#opening.then(
        () => true,
        () => false,
      ))
    )
      return
    if (this.#holding > 0) await new Promise<void>((resolve) => this.#stoppedWaiters.push(resolve))
    while (this.#persisting.size > 0) await Promise.allSettled([...this.#persisting])
    this.#clearTimer(this.#deadlineTimer)
    this.#clearTimer(this.#renewTimer)
    this.#deadlineTimer = this.#renewTimer = undefined
    await this.#queue.close()
  }

  // ─── Submit ────────────────────────────────────────────────────────────────

  /**
   * Accepts a task. Resolves with its handle once it is accepted (durably written, with a durable
   * queue), whether it started or parked. Rejects, with nothing accepted, on a refusal:
   * `CostExceedsCapacityError`, `InvalidCostError`, `InvalidPayloadError`, `InvalidOptionError`,
   * `QueueFullError`, `TaskExpiredError` (wait deadline already past), `TaskCancelledError` (signal
   * already aborted), `IdempotencyConflictError`, `PoolClosedError`.
   */
  submit(payload: P, options: SubmitOptions = {}): Promise<TaskHandle<R>> {
    if (this.#opening !== undefined) return this.#opening.then(() => this.submit(payload, options))
    let task: Task<P, R>
    try {
      const existing = this.#acceptOrFind(payload, options)
      if (existing instanceof TaskHandle) return Promise.resolve(existing)
      task = existing
    } catch (error) {
      return Promise.reject(error)
    }
    let written: unknown
    try {
      written = this.#queue.put([task])
    } catch (error) {
      this.#unaccept(task)
      return Promise.reject(error)
    }
    if (isPromiseLike(written)) {
      return Promise.resolve(written).then(
        () => this.#admit(task, this.#clock.now()),
        (error: unknown) => {
          this.#unaccept(task)
          throw error
        },
      )
    }
    return Promise.resolve(this.#admit(task, task.submittedAt))
  }

  /** Validates a submit and builds its task, or returns the handle an idempotency key names. */
  #acceptOrFind(payload: P, options: SubmitOptions): Task<P, R> | TaskHandle<R> {
    if (this.#closed) throw new PoolClosedError(`Pool '${this.name}' is closed; the task was not accepted`)
    const now = this.#clock.now()
    const key = optionalString(options.key, 'key')
    let print: string | undefined
    if (key !== undefined) {
      this.#forgetExpiredKeys(now)
      print = fingerprint(payload)
      const known = this.#keys.get(key)
      if (known !== undefined) {
        if (known.fingerprint !== print) {
          throw new IdempotencyConflictError(
            `Idempotency key '${key}' belongs to task ${known.id} with a different payload; nothing was submitted`,
            key,
            known.id,
          )
        }
        return known.handle
      }
    }
    const priority = optionalPriority(options.priority, 'priority') ?? 'normal'
    const rank = PRIORITIES.indexOf(priority)
    const mailbox = optionalMailboxKey(options.mailbox, 'mailbox')
    const tenant = optionalString(options.tenant, 'tenant') ?? mailbox?.tenant ?? ''
    const handler = optionalString(options.handler, 'handler')
    const maxAttempts = optionalNumber(options.maxAttempts, 'maxAttempts', { min: 1, integer: true }) ?? this.#maxAttempts
    const runTimeoutMs = optionalNumber(options.runTimeoutMs, 'runTimeoutMs', { min: 1 }) ?? this.#defaultRunTimeoutMs
    const waitDeadline = this.#waitDeadline(options, now)
    const cost = this.#costOf(options.cost)
    assertPayloadTravels(payload, this.#payloadFormat)
    const signal = options.signal
    if (signal !== undefined && !(signal instanceof AbortSignal)) {
      throw new InvalidOptionError('Expected `signal` to be an AbortSignal', 'signal')
    }
    if (signal?.aborted === true) {
      throw new TaskCancelledError('The signal was already aborted; the task was not accepted', { cause: signal.reason })
    }
    this.#makeRoom(rank, cost.vector)

    const task = new Task<P, R>(
      this,
      undefined,
      ++this.#seq,
      payload,
      cost.object,
      cost.vector,
      rank,
      now,
      0,
      rareOptions({ tenant, maxAttempts, mailbox, key, fingerprint: print, handler, waitDeadline, runTimeoutMs }, this.#maxAttempts),
    )
    if (key !== undefined) this.#keys.set(key, task)
    this.#fair?.activate(tenant, now)
    this.#admitting++
    if (signal !== undefined) {
      const onAbort = (): void => {
        this.cancelTask(task, signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      task.detachSignal = () => signal.removeEventListener('abort', onAbort)
    }
    return task
  }

  /**
   * The cost as a vector, and as an object when one is at hand: the default cost is made once
   * per capacity; an explicit cost's object is made only if someone reads it.
   */
  #costOf(input: CostInput | undefined): { vector: CostVector; object: ResourceVector | undefined } {
    if (input === undefined && this.#defaultCost !== undefined) return this.#defaultCost
    const vector = this.#ledger.toVector(input, this.#executor.costPerTask)
    if (input !== undefined) return { vector, object: undefined }
    this.#defaultCost = { vector, object: this.costObject(vector) }
    return this.#defaultCost
  }

  /** @internal */
  get defaultMaxAttempts(): number {
    return this.#maxAttempts
  }

  /** @internal The vector and object of the default cost, shared by tasks submitted without one. */
  get defaultCostVector(): CostVector | undefined {
    return this.#defaultCost?.vector
  }
  /** @internal */
  get defaultCostObject(): ResourceVector | undefined {
    return this.#defaultCost?.object
  }

  /** @internal A cost vector as a frozen object. */
  costObject(vector: CostVector): ResourceVector {
    return Object.freeze(this.#ledger.toObject(vector))
  }

  #waitDeadline(options: SubmitOptions, now: number): number | undefined {
    const timeout = optionalNumber(options.waitTimeoutMs, 'waitTimeoutMs') ?? this.#defaultWaitTimeoutMs
    const absolute = optionalNumber(options.waitDeadline, 'waitDeadline', { min: -Infinity })
    let deadline = timeout === undefined ? undefined : now + timeout
    if (absolute !== undefined) deadline = deadline === undefined ? absolute : Math.min(deadline, absolute)
    if (deadline !== undefined && deadline <= now) {
      throw new TaskExpiredError(`The task's wait deadline (${deadline}) is not after now (${now}); the task was not accepted`)
    }
    return deadline
  }

  /** Enforces `maxQueueDepth` for a task about to park: refuse, or drop a lower-priority task. */
  #makeRoom(rank: number, cost: CostVector): void {
    const parked = this.#lot.size + this.#admitting
    if (parked < this.#maxQueueDepth) return
    // A task that starts at once never parks, so it needs no room.
    if (parked === 0 && !this.#paused && this.#ledger.fits(cost)) return
    if (this.#onFull === 'drop-lowest') {
      const victim = this.#lot.lowestNewest()
      if (victim !== undefined && victim.rank < rank) {
        this.#lot.remove(victim)
        this.#finish(
          victim,
          'dropped',
          new TaskDroppedError(`Task ${victim.id} was dropped from a full lot for a higher-priority task; it never ran`),
        )
        return
      }
    }
    throw new QueueFullError(`Pool '${this.name}' has ${this.#maxQueueDepth} tasks parked (maxQueueDepth); the task was not accepted`)
  }

  /** Rolls back an accepted task whose durable write failed: it was never accepted. */
  #unaccept(task: Task<P, R>): void {
    this.#admitting--
    if (task.key !== undefined && this.#keys.get(task.key) === task) this.#keys.delete(task.key)
    task.detachSignal?.()
    this.#fair?.deactivate(task.tenant)
    task.status = 'cancelled'
  }

  /** The task is durably accepted: it enters the lot and may start. */
  #admit(task: Task<P, R>, now: number): TaskHandle<R> {
    this.#admitting--
    if (task.outcome !== undefined) return task.handle // cancelled while its write was in flight
    this.#wasBusy = true
    if (task.waitDeadline !== undefined) this.#watchDeadline(task)
    this.#lot.add(task)
    if (this.hasListeners('submitted')) this.emit('submitted', { task: task.handle })
    this.#pump(now)
    if (task.inLot && this.hasListeners('parked')) this.emit('parked', { task: task.handle })
    return task.handle
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
    this.#checkIdle()
  }

  #startWhatFits(now: number): void {
    const lot = this.#lot
    const ledger = this.#ledger
    for (;;) {
      // A listener or a synchronous executor may pause or close the pool mid-pass.
      if (this.#paused || this.#closed) return
      const head = lot.head(now)
      if (head === undefined) return
      if (ledger.fits(head.vector)) {
        this.#start(head, now)
        continue
      }
      // The head is blocked. Remember since when: backfill's reservation counts from then.
      if (head !== this.#headTask) {
        this.#headTask = head
        this.#headSince = now
      }
      if (!this.#backfill) return
      const reserved = now - this.#headSince >= this.#headReserveAfterMs ? head.vector : undefined
      let started = false
      for (const entry of lot.ordered(now)) {
        if (ledger.isExhausted(reserved)) break
        if (entry === head || !ledger.fits(entry.vector, reserved)) continue
        if (this.#paused || this.#closed) return
        this.#start(entry, now)
        started = true
        // Under fair share a start changes the tenant order: look again from the head.
        if (this.#fair !== undefined) break
      }
      if (!started || this.#fair === undefined) return
    }
  }

  #start(task: Task<P, R>, now: number): void {
    this.#lot.remove(task)
    this.#ledger.acquire(task.vector)
    this.#holding++
    const attempt = ++task.attempt
    const run = new Run(task as Task<unknown, unknown>, attempt, now)
    task.run = run
    task.status = 'running'
    task.runningIndex = this.#runningTasks.push(task) - 1
    this.#fair?.started(task.tenant, run, this.#ledger.dominantShare(task.vector), now)
    this.#waitStats.add(now - task.parkedAt)
    // Leases exist for recovery after a crash; a queue that does not survive one needs none.
    if (this.#queue.durable) {
      this.#persist(this.#queue.claim(task, attempt, this.#leaseFrom(now)), 'claim')
      this.#armLeaseRenewal()
    }
    const runTimeoutMs = task.runTimeoutMs
    if (runTimeoutMs !== undefined) {
      run.timer = this.#clock.setTimeout(() => this.#onRunTimeout(run, runTimeoutMs), runTimeoutMs)
    }
    if (this.hasListeners('started')) this.emit('started', { task: task.handle, attempt })

    let result: R | PromiseLike<R>
    try {
      result = this.#executor.execute(task.payload, run)
    } catch (error) {
      this.#onRunSettled(run, false, error)
      return
    }
    if (isPromiseLike<R>(result)) {
      result.then(
        (value) => this.#onRunSettled(run, true, value),
        (error: unknown) => this.#onRunSettled(run, false, error),
      )
    } else {
      this.#onRunSettled(run, true, result)
    }
  }

  /** @internal A running attempt emitted a chunk. */
  onProgress(task: Task<P, R>, chunk: unknown): void {
    ;(task.chunks ??= []).push(chunk)
    task.wakeProgress()
    if (this.hasListeners('progress')) this.emit('progress', { task: task.handle, chunk })
  }

  /** The executor returned or threw. Frees the attempt's capacity; decides the outcome if still open. */
  #onRunSettled(run: Run, ok: boolean, valueOrError: unknown): void {
    const now = this.#clock.now()
    const task = run.owner as Task<P, R>
    if (run.timer !== undefined) this.#clock.clearTimeout(run.timer)
    this.#ledger.release(run.cost)
    this.#holding--
    this.#fair?.stopped(task.tenant, run, now)
    this.#runStats.add(now - run.startedAt)
    if (run.state === 'stopping') {
      this.#stopping--
    } else {
      task.run = undefined
      this.#removeRunning(task)
      if (ok) this.#finish(task, 'completed', valueOrError as R, now)
      else this.#fail(task, valueOrError, 'error')
    }
    if (this.#holding === 0) this.#notifyStopped()
    this.#pump(now)
  }

  #onRunTimeout(run: Run, runTimeoutMs: number): void {
    if (run.state !== 'running') return
    const task = run.owner as Task<P, R>
    const error = new Error(`Task ${task.id} ran longer than its run timeout of ${runTimeoutMs} ms`)
    error.name = 'TimeoutError'
    this.#stop(run, error)
    this.#fail(task, error, 'timeout')
    this.#pump()
  }

  /** Ends an attempt's say in its task: aborts its signal; its capacity stays until it settles. */
  #stop(run: Run, reason: Error): void {
    run.state = 'stopping'
    this.#stopping++
    if (run.timer !== undefined) this.#clock.clearTimeout(run.timer)
    run.timer = undefined
    const task = run.owner as Task<P, R>
    if (task.run === run) {
      task.run = undefined
      this.#removeRunning(task)
    }
    run.abort(reason)
  }

  /** An attempt failed: retry if attempts remain and `retryOn` agrees, else the task failed. */
  #fail(task: Task<P, R>, error: unknown, reason: FailureReason): void {
    task.lastError = error
    if (task.attempt < task.maxAttempts && !this.#closed && this.#mayRetry(error, task.attempt)) {
      this.#scheduleRetry(task, error)
      return
    }
    const what = reason === 'timeout' ? 'timed out' : 'failed'
    const message = `Task ${task.id} ${what} on attempt ${task.attempt} of ${task.maxAttempts}: ${describeError(error)}`
    // A crashed worker keeps its error class so callers can tell a crash from a handler's throw.
    const failure =
      error instanceof WorkerCrashedError
        ? new WorkerCrashedError(message, task.attempt, { cause: error })
        : new TaskFailedError(message, reason, task.attempt, { cause: error })
    this.#finish(task, 'failed', failure)
  }

  #mayRetry(error: unknown, attempt: number): boolean {
    try {
      return this.#retryOn(error, attempt) === true
    } catch (thrown) {
      reportUnhandled(thrown, 'retryOn threw; the task will not be retried')
      return false
    }
  }

  #scheduleRetry(task: Task<P, R>, error: unknown): void {
    // Exponential backoff with "equal jitter": half fixed, half random, so retries spread out.
    const exponential = Math.min(this.#retryMaxDelayMs, this.#retryBaseDelayMs * 2 ** (task.attempt - 1))
    const delayMs = exponential / 2 + this.#random() * (exponential / 2)
    const now = this.#clock.now()
    task.status = 'retrying'
    this.#retryingTasks.add(task)
    if (this.#queue.durable) this.#persist(this.#queue.release(task, now + delayMs), 'release for retry')
    task.backoffTimer = this.#clock.setTimeout(() => {
      task.backoffTimer = undefined
      this.#retryingTasks.delete(task)
      task.status = 'parked'
      task.parkedAt = this.#clock.now()
      this.#lot.add(task) // at its original place: the lot orders by the original seq
      this.#pump()
    }, delayMs)
    if (this.hasListeners('retrying')) {
      this.emit('retrying', { task: task.handle, attempt: task.attempt + 1, delayMs, error })
    }
  }

  // ─── Cancellation, expiry, ending ──────────────────────────────────────────

  /** @internal Used by handles and abort signals. */
  cancelTask(task: Task<P, R>, reason?: unknown): boolean {
    const status = task.status
    if (status !== 'parked' && status !== 'retrying' && status !== 'running') return false
    const error = new TaskCancelledError(`Task ${task.id} was cancelled${reason === undefined ? '' : `: ${describeError(reason)}`}`, {
      cause: reason,
    })
    if (status === 'parked') this.#lot.remove(task)
    else if (status === 'retrying') this.#endBackoff(task)
    else if (task.run !== undefined) this.#stop(task.run, error)
    this.#finish(task, 'cancelled', error)
    this.#pump()
    return true
  }

  /** @internal Place in start order, for `handle.position`. */
  positionOf(task: Task<P, R>): number | undefined {
    let i = 0
    for (const entry of this.#lot.ordered(this.#clock.now())) {
      if (entry === task) return i
      i++
    }
    return undefined
  }

  #endBackoff(task: Task<P, R>): void {
    if (task.backoffTimer === undefined) return
    this.#clock.clearTimeout(task.backoffTimer)
    task.backoffTimer = undefined
    this.#retryingTasks.delete(task)
  }

  #watchDeadline(task: Task<P, R>): void {
    this.#deadlines.push(task.waitDeadline!, task)
    this.#armDeadlineTimer()
  }

  #armDeadlineTimer(): void {
    // Drop entries for tasks no longer waiting, so the timer targets a real deadline.
    for (;;) {
      const top = this.#deadlines.peek()
      if (top === undefined || top.status === 'parked' || top.status === 'retrying') break
      this.#deadlines.pop()
    }
    const next = this.#deadlines.peekKey() ?? Infinity
    if (next === this.#deadlineTimerAt) return
    this.#clearTimer(this.#deadlineTimer)
    this.#deadlineTimerAt = next
    this.#deadlineTimer = next === Infinity ? undefined : this.#clock.setTimeout(() => this.#expireDue(), next - this.#clock.now())
  }

  #expireDue(): void {
    this.#deadlineTimer = undefined
    this.#deadlineTimerAt = Infinity
    const now = this.#clock.now()
    let expired = 0
    while ((this.#deadlines.peekKey() ?? Infinity) <= now) {
      const task = this.#deadlines.pop()!
      if (task.status === 'parked') this.#lot.remove(task)
      else if (task.status === 'retrying') this.#endBackoff(task)
      else continue // started or ended since: a stale entry
      expired++
      const waited = now - task.submittedAt
      this.#finish(
        task,
        'expired',
        new TaskExpiredError(`Task ${task.id} did not start within its wait limit (waited ${waited} ms); it will not run`, {
          cause: task.lastError,
        }),
      )
    }
    this.#armDeadlineTimer()
    // A pass only when the lot changed: decisions happen at events, never at stale timers.
    if (expired > 0) this.#pump()
  }

  /** Ends a task's life with a terminal status: settles its handle, delivers its mailbox message. */
  #finish(task: Task<P, R>, status: TerminalStatus, valueOrError: R | Error, now = this.#clock.now()): void {
    task.status = status
    task.detachSignal?.()
    this.#fair?.deactivate(task.tenant)
    this.#outcomes[status]++
    const key = task.key
    if (key !== undefined) this.#endedKeys.push({ key, task, until: now + this.#keyRetentionMs })
    const outcome: Outcome<R> =
      status === 'completed' ? { ok: true, value: valueOrError as R } : { ok: false, error: valueOrError as Error }
    task.outcome = outcome
    const deferred = task.deferred
    if (deferred !== undefined) {
      if (outcome.ok) deferred.resolve(outcome.value)
      else deferred.reject(outcome.error)
    }
    task.wakeProgress()
    this.#emitEnd(task, status, valueOrError)
    this.#record(task, status, outcome, now)
  }

  #emitEnd(task: Task<P, R>, status: TerminalStatus, valueOrError: R | Error): void {
    if (!this.hasListeners(status)) return
    const handle = task.handle
    switch (status) {
      case 'completed':
        return this.emit('completed', { task: handle, result: valueOrError as R })
      case 'failed':
        return this.emit('failed', { task: handle, error: valueOrError as TaskFailedError })
      case 'expired':
        return this.emit('expired', { task: handle, error: valueOrError as TaskExpiredError })
      case 'dropped':
        return this.emit('dropped', { task: handle, error: valueOrError as TaskDroppedError })
      case 'cancelled':
        return this.emit('cancelled', { task: handle, error: valueOrError as TaskCancelledError })
    }
  }

  /**
   * Writes the end: the mailbox message and the queue's ack. In one transaction when the queue
   * covers the mailbox's store; otherwise message first, ack second, so a crash between them can
   * only repeat a message (the store keeps one per task and status), never lose one.
   */
  #record(task: Task<P, R>, status: TerminalStatus, outcome: Outcome<R>, now: number): void {
    const message = task.mailbox === undefined ? undefined : this.#message(task, task.mailbox, status, outcome, now)
    const shared = message !== undefined && this.#queue.sharesTransactionWith(this.mailbox.store)
    const settle = (): unknown =>
      this.#queue.settle(task, {
        status,
        endedAt: now,
        retainKeyUntil: now + this.#keyRetentionMs,
        message: shared ? message : undefined,
      })
    if (message === undefined || shared) {
      this.#persist(settle(), 'settle')
      return
    }
    let delivered: unknown
    try {
      delivered = this.mailbox.deliver(message)
    } catch (error) {
      this.#persist(Promise.reject(error), 'mailbox delivery')
      return
    }
    if (isPromiseLike(delivered)) this.#persist(Promise.resolve(delivered).then(settle), 'mailbox delivery and settle')
    else this.#persist(settle(), 'settle')
  }

  #message(task: Task<P, R>, key: MailboxKey, status: TerminalStatus, outcome: Outcome<R>, now: number): MailboxMessage<R> {
    const base = {
      id: newMessageId(now),
      taskId: task.id,
      key,
      status,
      attempts: task.attempt,
      submittedAt: task.submittedAt,
      completedAt: now,
    }
    if (outcome.ok) return { ...base, result: outcome.value }
    const error = outcome.error as Error & { code?: unknown }
    return { ...base, error: { code: typeof error.code === 'string' ? error.code : error.name, message: error.message } }
  }

  /** Tracks a backend write; a failure is reported as an `error` event, never swallowed. */
  #persist(result: unknown, context: string): void {
    if (!isPromiseLike(result)) return
    const tracked: Promise<unknown> = Promise.resolve(result).then(noop, (error: unknown) => {
      if (this.hasListeners('error')) this.emit('error', { error, context })
      else reportUnhandled(error, `${this.name}: ${context} failed`)
    })
    this.#persisting.add(tracked)
    void tracked.finally(() => {
      this.#persisting.delete(tracked)
      this.#checkIdle()
    })
  }

  #detach(task: Task<P, R>, error: PoolClosedError): void {
    // A durable queue keeps the task for the next start; this process lets go of it.
    if (task.status === 'parked') this.#lot.remove(task)
    else this.#endBackoff(task)
    task.detachSignal?.()
    task.outcome = { ok: false, error }
    task.deferred?.reject(error)
    task.wakeProgress()
  }

  #forgetExpiredKeys(now: number): void {
    const ended = this.#endedKeys
    while (this.#endedKeysHead < ended.length && ended[this.#endedKeysHead]!.until <= now) {
      const { key, task } = ended[this.#endedKeysHead++]!
      if (this.#keys.get(key) === task) this.#keys.delete(key)
    }
    if (this.#endedKeysHead > 1024 && this.#endedKeysHead * 2 > ended.length) {
      ended.splice(0, this.#endedKeysHead)
      this.#endedKeysHead = 0
    }
  }

  // ─── Leases, recovery, idle ────────────────────────────────────────────────

  /** Starts at one instant share one (immutable) lease. */
  #leaseFrom(now: number): Lease {
    if (this.#lease === undefined || this.#lease.expiresAt !== now + this.#leaseMs) {
      this.#lease = { owner: this.#owner, expiresAt: now + this.#leaseMs }
    }
    return this.#lease
  }

  #armLeaseRenewal(): void {
    if (this.#renewTimer !== undefined) return
    this.#renewTimer = this.#clock.setTimeout(() => {
      this.#renewTimer = undefined
      const running = this.#runningTasks.slice()
      if (running.length === 0) return
      this.#persist(this.#queue.renew(running, this.#clock.now() + this.#leaseMs), 'lease renewal')
      this.#armLeaseRenewal()
    }, this.#leaseMs / 3)
  }

  #open(): void {
    let opened: unknown
    try {
      opened = this.#queue.open(this.#owner)
    } catch (error) {
      this.#opening = Promise.reject(error)
      this.#opening.catch(noop)
      return
    }
    if (isPromiseLike<readonly TaskRecord<P>[]>(opened)) {
      this.#opening = Promise.resolve(opened).then((records) => {
        this.#opening = undefined
        this.#recover(records)
      })
      this.#opening.catch(noop)
    } else {
      this.#recover(opened as readonly TaskRecord<P>[])
    }
  }

  /** Puts stored tasks back: waiting ones into the lot; ones a dead owner was running run again. */
  #recover(records: readonly TaskRecord<P>[]): void {
    const now = this.#clock.now()
    for (const record of records) {
      this.#seq = Math.max(this.#seq, record.seq)
      let vector: CostVector
      try {
        vector = this.#ledger.toVector(record.cost)
      } catch (error) {
        this.#persist(Promise.reject(error), `recovering task ${record.id}`)
        continue
      }
      const task = Task.fromRecord<P, R>(this, record, vector)
      task.parkedAt = now
      if (record.key !== undefined) this.#keys.set(record.key, task)
      this.#fair?.activate(task.tenant, now)
      this.#wasBusy = true
      if (record.attempt >= record.maxAttempts && record.lease !== undefined) {
        // Its owner died on the last allowed attempt: a poison task ends here.
        this.#finish(
          task,
          'failed',
          new TaskFailedError(
            `Task ${task.id} was running when its owner stopped, on attempt ${record.attempt} of ${record.maxAttempts}; it will not run again`,
            'crashed',
            record.attempt,
          ),
        )
        continue
      }
      if (task.waitDeadline !== undefined) this.#watchDeadline(task)
      this.#lot.add(task)
    }
    this.#pump()
  }

  #removeRunning(task: Task<P, R>): void {
    const list = this.#runningTasks
    const last = list.pop()!
    if (last !== task) {
      list[task.runningIndex] = last
      last.runningIndex = task.runningIndex
    }
    task.runningIndex = -1
  }

  /** Tasks not yet ended that this process holds: running, retrying, parked. */
  *#liveTasks(): IterableIterator<Task<P, R>> {
    yield* this.#runningTasks
    yield* this.#retryingTasks
    yield* this.#lot.all()
  }

  /** Idle: nothing parked, retrying, running or being admitted, and every outcome recorded. */
  #isIdle(): boolean {
    return (
      this.#lot.size === 0 && this.#retryingTasks.size === 0 && this.#holding === 0 && this.#admitting === 0 && this.#persisting.size === 0
    )
  }

  #checkIdle(): void {
    if (!this.#wasBusy || !this.#isIdle()) return
    this.#wasBusy = false
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const resolve of waiters) resolve()
    if (this.hasListeners('idle')) this.emit('idle', {})
  }

  #notifyStopped(): void {
    const waiters = this.#stoppedWaiters
    this.#stoppedWaiters = []
    for (const resolve of waiters) resolve()
  }

  #clearTimer(handle: TimerHandle | undefined): void {
    if (handle !== undefined) this.#clock.clearTimeout(handle)
  }
}

/** Adds a runtime's own resources (worker slots) to the capacity the user gave. */
function withRuntimeResources<P, R>(capacity: CapacityInput, executor: Executor<P, R>): CapacityInput {
  const extra = executor.resources
  if (extra === undefined) return capacity
  const base = typeof capacity === 'number' ? { slots: capacity } : capacity
  return { ...base, ...extra }
}
