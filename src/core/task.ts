/*
 * A task inside the scheduler, and one attempt of it (a run). A task is its own queue record (the
 * memory queue keeps it as is; durable queues copy the `TaskRecord` fields) and implements what
 * its handle needs. Memory matters here: thousands of parked tasks are most of a busy pool's
 * heap, so rarely set state lives in side objects made on first write.
 */
import type { CostVector, ResourceVector } from './capacity.js'
import type { CostTable } from './costs.js'
import type { TimerHandle } from './clock.js'
import type { TaskContext } from './executor.js'
import { taskInfo, type Lease, type TaskInfo, type TaskRecord } from './record.js'
import { makeHandle, type ProgressStep, type TaskControl, type TaskHandle } from './handle.js'
import { formatId, stampCounter, stampId, stampMs, stampTail } from './ids.js'
import type { LotEntry } from './lot.js'
import type { ModelInstance } from './models.js'
import { noop, priorityOf, rankOf, type MailboxKey, type Priority, type TaskStatus } from './types.js'

/**
 * What tasks and runs need of their scheduler: an object the scheduler makes for its tasks (not
 * the pool itself, so none of this is reachable from a pool's public surface).
 */
export interface TaskHost<C> {
  readonly defaultMaxAttempts: number
  /** Costs checked; the default one (vector and object) is shared by tasks submitted without one. */
  readonly costs: CostTable
  positionOf(task: Task<unknown, unknown, C>): number | undefined
  cancelTask(task: Task<unknown, unknown, C>, reason?: unknown): boolean
  onProgress(task: Task<unknown, unknown, C>, chunk: C): void
}

type Outcome<R> = { readonly ok: true; readonly value: R } | { readonly ok: false; readonly error: Error }

interface Deferred<R> {
  readonly promise: Promise<R>
  resolve(value: R): void
  reject(error: Error): void
}

/** Submit options most tasks leave unset; tasks that set none share one frozen object. */
export interface RareOptions {
  /** Undefined means '' (no tenant). */
  readonly tenant?: string | undefined
  /** Undefined means the pool's `maxAttempts`. */
  readonly maxAttempts?: number | undefined
  readonly mailbox?: MailboxKey | undefined
  readonly key?: string | undefined
  readonly fingerprint?: string | undefined
  readonly handler?: string | undefined
  readonly model?: string | undefined
  readonly waitDeadline?: number | undefined
  readonly runTimeoutMs?: number | undefined
}

const NO_RARE_OPTIONS: RareOptions = Object.freeze({})

/**
 * `key` and `fingerprint` come apart from the other options (a submit has them beside its parsed
 * options): merging them by spread first made a slow object, read on every submit.
 */
export function rareOptions(
  options: RareOptions,
  defaultMaxAttempts: number,
  key: string | undefined = options.key,
  fingerprint: string | undefined = options.fingerprint,
): RareOptions {
  const { mailbox, handler, model, waitDeadline, runTimeoutMs } = options
  const tenant = options.tenant === '' ? undefined : options.tenant
  const maxAttempts = options.maxAttempts === defaultMaxAttempts ? undefined : options.maxAttempts
  // Spelled out, not a loop over the fields: this runs per submit, and the common task sets none.
  if (
    tenant === undefined &&
    maxAttempts === undefined &&
    mailbox === undefined &&
    key === undefined &&
    fingerprint === undefined &&
    handler === undefined &&
    model === undefined &&
    waitDeadline === undefined &&
    runTimeoutMs === undefined
  ) {
    return NO_RARE_OPTIONS
  }
  return { tenant, maxAttempts, mailbox, key, fingerprint, handler, model, waitDeadline, runTimeoutMs }
}

interface TaskLife<R, C> {
  costObject: ResourceVector | undefined
  parkedAt: number | undefined
  notBefore: number | undefined
  /** The end of its delay (`delayMs` / `runAt`): it ages from then. */
  delayedUntil: number | undefined
  lease: Lease | undefined
  lastError: unknown
  deferred: Deferred<R> | undefined
  chunks: C[] | undefined
  chunkWaiters: (() => void)[] | undefined
  detachSignal: (() => void) | undefined
  onAdmitted: (() => void) | undefined
}

/** One attempt of a task, and the context its executor sees. Holds capacity from start until its executor settles. */
export class Run<C = unknown> implements TaskContext<C> {
  state: 'running' | 'stopping' = 'running'
  controller: AbortController | undefined
  abortReason: Error | undefined
  timer: TimerHandle | undefined
  /** The model instance it runs on. */
  instance: ModelInstance | undefined
  constructor(
    readonly owner: Task<unknown, unknown, C>,
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
    return taskInfo(this.owner)
  }

  get model(): unknown {
    return this.instance?.value
  }

  emit(chunk: C): void {
    // Chunks from an attempt that timed out or was cancelled are not the task's output any more.
    if (this.state === 'running' && this.owner.run === this) this.owner.host.onProgress(this.owner, chunk)
  }

  abort(reason: Error): void {
    this.abortReason = reason
    this.controller?.abort(reason)
  }
}

export class Task<P, R, C = unknown> implements LotEntry, TaskControl<R, C>, TaskRecord<P> {
  inLot = false
  status: TaskStatus = 'parked'
  run: Run<C> | undefined = undefined
  outcome: Outcome<R> | undefined = undefined
  /** Place in the scheduler's list of running tasks, -1 when not running. */
  runningIndex = -1
  readonly handle: TaskHandle<R, C>
  #life: TaskLife<R, C> | undefined = undefined

  // The id is spelled out on first read (see `stampId`); until then its parts are kept.
  #id: string | undefined
  readonly #idMs: number
  readonly #idCounter: number
  readonly #idTail: string

  constructor(
    readonly host: TaskHost<C>,
    /** A known id (a recovered task), or undefined to take the next one now. */
    id: string | undefined,
    /** Its place among tasks of its priority (a new one when `setPriority` moves it). */
    public seq: number,
    readonly payload: P,
    /** The cost object, when the submit already has one; else made from `vector` on first read. */
    costObject: ResourceVector | undefined,
    /** The cost as the ledger counts it. */
    readonly vector: CostVector,
    /** Its priority as a number (see `rankOf`); `setPriority` changes it. */
    public rank: number,
    readonly submittedAt: number,
    public attempt: number,
    /** Options most tasks do not set. */
    readonly rare: RareOptions,
  ) {
    if (costObject !== undefined && costObject !== host.costs.defaultCost?.object) this.#lifeState().costObject = costObject
    this.#id = id
    if (id === undefined) stampId(submittedAt)
    this.#idMs = stampMs
    this.#idCounter = stampCounter
    this.#idTail = stampTail
    this.handle = makeHandle<R, C>(this)
  }

  get id(): string {
    return (this.#id ??= formatId(this.#idMs, this.#idCounter, this.#idTail))
  }

  static fromRecord<P, R, C>(host: TaskHost<C>, record: TaskRecord<P>, vector: CostVector): Task<P, R, C> {
    const task = new Task<P, R, C>(
      host,
      record.id,
      record.seq,
      record.payload,
      record.cost,
      vector,
      rankOf(record.priority),
      record.submittedAt,
      record.attempt,
      rareOptions(record, host.defaultMaxAttempts),
    )
    if (record.notBefore !== undefined) task.notBefore = record.notBefore
    // Never run, yet a time to wait for: a delay (a retry's backoff comes after an attempt).
    if (record.notBefore !== undefined && record.attempt === 0) task.delayedUntil = record.notBefore
    if (record.lease !== undefined) task.lease = record.lease
    return task
  }

  get priority(): Priority {
    return priorityOf(this.rank)
  }
  get cost(): ResourceVector {
    const known = this.#life?.costObject
    if (known !== undefined) return known
    const shared = this.host.costs.defaultCost
    if (shared !== undefined && this.vector === shared.vector) return shared.object!
    return (this.#lifeState().costObject = this.host.costs.object(this.vector))
  }
  /** When it last entered the lot (for wait statistics). */
  get parkedAt(): number {
    return this.#life?.parkedAt ?? this.submittedAt
  }
  set parkedAt(value: number) {
    this.#lifeState().parkedAt = value
  }

  /** When it began to wait (for aging): its submit, or the end of its delay. */
  get enqueuedAt(): number {
    return this.#life?.delayedUntil ?? this.submittedAt
  }
  get tenant(): string {
    return this.rare.tenant ?? ''
  }
  get maxAttempts(): number {
    return this.rare.maxAttempts ?? this.host.defaultMaxAttempts
  }
  // Options most tasks leave unset, read from `rare`. Spelled out one by one, not defined in a
  // loop: V8 inlines a plain getter, and these are read per task on the hot path (a loop of
  // defineProperty made every submit about 3x slower).
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
  get model(): string | undefined {
    return this.rare.model
  }
  get waitDeadline(): number | undefined {
    return this.rare.waitDeadline
  }
  get runTimeoutMs(): number | undefined {
    return this.rare.runTimeoutMs
  }

  // Rarely set, so kept in the side object.
  get notBefore(): number | undefined {
    return this.#life?.notBefore
  }
  set notBefore(value: number | undefined) {
    this.#lifeState().notBefore = value
  }
  get delayedUntil(): number | undefined {
    return this.#life?.delayedUntil
  }
  set delayedUntil(value: number | undefined) {
    this.#lifeState().delayedUntil = value
  }
  get lease(): Lease | undefined {
    return this.#life?.lease
  }
  set lease(value: Lease | undefined) {
    this.#lifeState().lease = value
  }
  get lastError(): unknown {
    return this.#life?.lastError
  }
  set lastError(value: unknown) {
    this.#lifeState().lastError = value
  }
  get detachSignal(): (() => void) | undefined {
    return this.#life?.detachSignal
  }
  set detachSignal(value: (() => void) | undefined) {
    this.#lifeState().detachSignal = value
  }
  /** Runs once the task is durably accepted (a cancel asked for while its write was in flight acts then). */
  get onAdmitted(): (() => void) | undefined {
    return this.#life?.onAdmitted
  }
  set onAdmitted(value: (() => void) | undefined) {
    this.#lifeState().onAdmitted = value
  }

  /** Settles the handle's result and ends the progress stream. */
  settle(outcome: Outcome<R>): void {
    this.outcome = outcome
    const deferred = this.#life?.deferred
    if (deferred !== undefined) {
      if (outcome.ok) deferred.resolve(outcome.value)
      else deferred.reject(outcome.error)
    }
    this.#wakeProgress()
  }

  /** A chunk of the running attempt's output. */
  addChunk(chunk: C): void {
    const life = this.#lifeState()
    ;(life.chunks ??= []).push(chunk)
    this.#wakeProgress()
  }

  position(): number | undefined {
    return this.inLot ? this.host.positionOf(this as Task<unknown, unknown, C>) : undefined
  }

  result(): Promise<R> {
    let promise: Promise<R>
    const outcome = this.outcome
    if (outcome !== undefined) {
      promise = outcome.ok ? Promise.resolve(outcome.value) : Promise.reject(outcome.error)
    } else {
      const life = this.#lifeState()
      if (life.deferred === undefined) {
        let resolve!: (value: R) => void
        let reject!: (error: Error) => void
        const created = new Promise<R>((res, rej) => {
          resolve = res
          reject = rej
        })
        life.deferred = { promise: created, resolve, reject }
      }
      promise = life.deferred.promise
    }
    // Marks this promise handled; whoever awaits it still sees the rejection.
    promise.catch(noop)
    return promise
  }

  progressAt(index: number): ProgressStep<C> {
    const chunks = this.#life?.chunks
    if (chunks !== undefined && index < chunks.length) return { kind: 'chunk', chunk: chunks[index]! }
    if (this.outcome !== undefined) return { kind: 'end' }
    const life = this.#lifeState()
    const waiters = (life.chunkWaiters ??= [])
    return { kind: 'wait', ready: new Promise<void>((resolve) => waiters.push(resolve)) }
  }

  cancel(reason?: unknown): boolean {
    return this.host.cancelTask(this as Task<unknown, unknown, C>, reason)
  }

  #wakeProgress(): void {
    const life = this.#life
    const waiters = life?.chunkWaiters
    if (waiters === undefined) return
    life!.chunkWaiters = undefined
    for (const wake of waiters) wake()
  }

  #lifeState(): TaskLife<R, C> {
    return (this.#life ??= {
      costObject: undefined,
      parkedAt: undefined,
      notBefore: undefined,
      delayedUntil: undefined,
      lease: undefined,
      lastError: undefined,
      deferred: undefined,
      chunks: undefined,
      chunkWaiters: undefined,
      detachSignal: undefined,
      onAdmitted: undefined,
    })
  }
}

/** The running tasks, in an array with each task's index on it: cheaper than a Set per start and end. */
export class RunningTasks<T extends { runningIndex: number }> {
  readonly #list: T[] = []

  slice(): T[] {
    return this.#list.slice()
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.#list.values()
  }

  add(task: T): void {
    task.runningIndex = this.#list.push(task) - 1
  }

  remove(task: T): void {
    const list = this.#list
    const last = list.pop()!
    if (last !== task) {
      list[task.runningIndex] = last
      last.runningIndex = task.runningIndex
    }
    task.runningIndex = -1
  }
}
