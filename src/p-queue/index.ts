/*
 * A drop-in for p-queue 9: change `import PQueue from 'p-queue'` to
 * `import PQueue from 'prometheus-parking-lot/p-queue'` and the program runs as before. The queue
 * is a `ResourcePool` underneath: concurrency is its `slots` capacity, priorities are its numeric
 * priorities (the pool orders the tasks; `setPriority` is the pool's), `strict` rate limits are a
 * pool rate (a sliding window), and p-queue's default fixed windows are counted here, holding the
 * pool's starts while a window is full. Events, ids, timeouts and aborts follow p-queue's source;
 * docs/p-queue.md lists where they differ.
 */
import { EventEmitter } from 'eventemitter3'
import type { ResourceVector } from '../core/capacity.js'
import { InvalidOptionError } from '../core/errors.js'
import type { TaskHandle } from '../core/handle.js'
import type { PolicyOptions, SubmitOptions } from '../core/options.js'
import { submitNow } from '../core/scheduler.js'
import { isPromiseLike } from '../core/types.js'
import { ResourcePool } from '../pool.js'
import { PriorityQueue, type Queue, type RunFunction } from './priority-queue.js'
import { Roster, type Listed } from './roster.js'

export { PriorityQueue, type Queue, type RunFunction } from './priority-queue.js'

export type EventName =
  'active' | 'idle' | 'empty' | 'add' | 'next' | 'completed' | 'error' | 'pendingZero' | 'rateLimit' | 'rateLimitCleared'

/** p-timeout's error, which p-queue re-exports: a task ran past its `timeout`. */
export class TimeoutError extends Error {
  override readonly name = 'TimeoutError'
}

export interface TaskOptions {
  /** Aborting removes a waiting task (its `add` rejects with the signal's reason) or rejects a running one's `add`. */
  readonly signal?: AbortSignal | undefined
}

interface TimeoutOptions {
  /** Ms a task may run, counted from its start; then its `add` rejects with `TimeoutError`. */
  timeout?: number
}

export type QueueAddOptions = {
  /** Higher runs first. @default 0 */
  readonly priority?: number
  /** For `setPriority`. @default '1', '2', ... per queue */
  id?: string
  /** Beyond p-queue: units of the queue's `capacity` the task holds while it runs, beside its slot. */
  readonly cost?: ResourceVector
} & TaskOptions &
  TimeoutOptions

export type Options<QueueType extends Queue<RunFunction, QueueOptions>, QueueOptions extends QueueAddOptions> = {
  /** Most tasks running at once (at least 1). @default Infinity */
  readonly concurrency?: number
  /** false: nothing starts until `start()`. @default true */
  readonly autoStart?: boolean
  /** Only `PriorityQueue` (the default): the pool orders the tasks, so another class is refused. */
  readonly queueClass?: new () => QueueType
  /** Most starts per `interval` (at least 1). @default Infinity */
  readonly intervalCap?: number
  /** Ms per rate-limit window (0: no limit). @default 0 */
  readonly interval?: number
  /** At each new window, count the tasks still running as started in it. @default false */
  readonly carryoverIntervalCount?: boolean
  /** @deprecated Renamed `carryoverIntervalCount`; as in p-queue, it has no effect beside that option's default. */
  readonly carryoverConcurrencyCount?: boolean
  /** A sliding window: never more than `intervalCap` starts in any `interval` ms. @default false */
  readonly strict?: boolean
  /** Beyond p-queue: resources beside the concurrency slots, which tasks hold through `cost`. @example { vram: 8 } */
  readonly capacity?: ResourceVector
  /** Beyond p-queue: the pool's name (in errors and metrics) and parking-lot policy. */
  readonly pool?: { readonly name?: string; readonly policy?: PolicyOptions }
} & TimeoutOptions

type Task<TaskResultType> = ((options: TaskOptions) => PromiseLike<TaskResultType>) | ((options: TaskOptions) => TaskResultType)

/** A running task, as `runningTasks` shows it. */
export interface RunningTask {
  readonly id: string | undefined
  readonly priority: number
  readonly startTime: number
  readonly timeout: number | undefined
  readonly timeoutRemaining: number | undefined
}

/** One `add`: what the pool runs (its payload) and the caller's promise. */
export interface PQueueTask extends Listed<PQueueTask> {
  readonly run: Task<unknown>
  /** The id given, or the queue's count (spelled out only when asked: most tasks never are). */
  readonly id: string | number
  readonly priority: number
  readonly timeout: number | undefined
  readonly signal: AbortSignal | undefined
  readonly resolve: (value: unknown) => void
  readonly reject: (reason: unknown) => void
  handle: TaskHandle<unknown> | undefined
  /** Removes the abort listener of a waiting task. */
  forgetSignal: (() => void) | undefined
  // While it runs:
  startTime: number
  /** Frees its slot in the pool; undefined when the pool waits on the task's own promise. */
  release: (() => void) | undefined
  settled: boolean
  timer: ReturnType<typeof setTimeout> | undefined
  forgetAbort: (() => void) | undefined
}

const RESOLVED = Promise.resolve()
/** queueMicrotask, minus what Node adds to each call (an async resource): the same microtask queue, in the same order. */
const soon = (callback: () => void): void => void RESOLVED.then(callback)
/** What a task without a signal is given (p-queue passes `{ signal: undefined }`): one object for all. */
const NO_SIGNAL: TaskOptions = Object.freeze({ signal: undefined })
const idOf = (entry: PQueueTask): string => (typeof entry.id === 'string' ? entry.id : String(entry.id))
const NO_OPTIONS: Partial<QueueAddOptions> = Object.freeze({})
const SLOTS_FOR_INFINITY = Number.MAX_SAFE_INTEGER
const SLOTS = 'slots'
const STARTS = 'starts'

function checkCount(value: unknown, name: 'concurrency' | 'intervalCap'): number {
  if (!(typeof value === 'number' && value >= 1)) {
    // p-queue prints a missing cap as nothing and a missing concurrency as `undefined`.
    const shown = name === 'concurrency' || (value !== undefined && value !== null) ? String(value) : ''
    throw new TypeError(`Expected \`${name}\` to be a number from 1 and up, got \`${shown}\` (${typeof value})`)
  }
  return value
}

function checkTimeout(timeout: unknown): void {
  if (timeout !== undefined && !(typeof timeout === 'number' && Number.isFinite(timeout) && timeout > 0)) {
    throw new TypeError(`Expected \`timeout\` to be a positive finite number, got \`${String(timeout)}\` (${typeof timeout})`)
  }
}

/** A capacity or cost may not name the queue's own resources: its slots (the concurrency) and its strict window's starts. */
function checkOwnResources(units: ResourceVector | undefined, path: 'capacity' | 'cost'): void {
  if (units === undefined) return
  for (const name of [SLOTS, STARTS]) {
    if (typeof units === 'object' && units !== null && Object.hasOwn(units, name)) {
      throw new InvalidOptionError(
        `\`${path}.${name}\`: \`${name}\` is the queue's own (its concurrency and its strict window count them; each task takes one); name another resource`,
        `${path}.${name}`,
      )
    }
  }
}

/** Promise queue with concurrency control, p-queue's interface over a `ResourcePool`. */
export class PQueue<
  QueueType extends Queue<RunFunction, EnqueueOptionsType> = PriorityQueue,
  EnqueueOptionsType extends QueueAddOptions = QueueAddOptions,
> extends EventEmitter<EventName> {
  /** The default timeout of tasks added from now on (ms from each start). */
  timeout?: number

  readonly #pool: ResourcePool<PQueueTask, unknown>
  readonly #capacity: ResourceVector
  #concurrency: number
  /** The next default id: p-queue counts with a bigint; a number counts as far (2^53) at a fraction of the cost. */
  #idAssigner = 1
  #pending = 0
  #userPaused: boolean
  /** Waiting tasks, in add order. */
  readonly #waiting = new Roster<PQueueTask>()
  readonly #running = new Roster<PQueueTask>()
  readonly #sharedOptions = new Map<number, SubmitOptions>()

  // Rate limiting: `strict` is the pool's rate; fixed windows are counted here.
  readonly #interval: number
  readonly #intervalCap: number
  readonly #strict: boolean
  readonly #limited: boolean
  readonly #carryover: boolean
  #intervalCount = 0
  #intervalEnd = 0
  #intervalId: ReturnType<typeof setInterval> | undefined
  #timeoutId: ReturnType<typeof setTimeout> | undefined
  #rateLimited = false
  #rateLimitUpdate = false

  constructor(options?: Options<QueueType, EnqueueOptionsType>) {
    super()
    const given = {
      carryoverIntervalCount: false,
      intervalCap: Infinity,
      interval: 0,
      concurrency: Infinity,
      autoStart: true,
      queueClass: PriorityQueue,
      strict: false,
      ...options,
    }
    const intervalCap = checkCount(given.intervalCap, 'intervalCap')
    const interval: unknown = given.interval
    if (!(typeof interval === 'number' && Number.isFinite(interval) && interval >= 0)) {
      const shown = interval === undefined || interval === null ? '' : String(interval)
      throw new TypeError(`Expected \`interval\` to be a finite number >= 0, got \`${shown}\` (${typeof interval})`)
    }
    if (given.strict && interval === 0) throw new TypeError('The `strict` option requires a non-zero `interval`')
    if (given.strict && intervalCap === Infinity) throw new TypeError('The `strict` option requires a finite `intervalCap`')
    if ((given.queueClass as unknown) !== PriorityQueue) {
      throw new TypeError(
        '`queueClass`: this PQueue orders its tasks in its pool (priority, then add order), so it takes no queue class but its own `PriorityQueue`; leave `queueClass` out',
      )
    }
    this.#interval = interval
    this.#intervalCap = intervalCap
    this.#strict = given.strict === true
    this.#limited = intervalCap !== Infinity && interval !== 0
    this.#carryover = given.carryoverIntervalCount ?? given.carryoverConcurrencyCount ?? false
    this.#concurrency = checkCount(given.concurrency, 'concurrency')
    checkTimeout(given.timeout)
    this.timeout = given.timeout
    this.#userPaused = given.autoStart === false
    checkOwnResources(given.capacity, 'capacity')
    this.#capacity = given.capacity ?? {}
    this.#pool = new ResourcePool<PQueueTask, unknown>({
      name: given.pool?.name ?? 'p-queue',
      capacity: this.#capacityFor(this.#concurrency),
      executor: (entry) => this.#execute(entry),
      ...(given.pool?.policy === undefined ? {} : { policy: given.pool.policy }),
      // A strict window is a pool rate: at most intervalCap starts in any interval (p-queue lets a fractional cap round up).
      ...(this.#strict && this.#limited ? { rates: { [STARTS]: { limit: Math.ceil(intervalCap), intervalMs: interval } } } : {}),
    })
    this.#syncPause()
  }

  /** The pool underneath: its snapshot, stats, metrics and events. */
  get pool(): ResourcePool<PQueueTask, unknown> {
    return this.#pool
  }

  get concurrency(): number {
    return this.#concurrency
  }

  set concurrency(newConcurrency: number) {
    this.#concurrency = checkCount(newConcurrency, 'concurrency')
    this.#beforeStart()
    this.#pool.setCapacity(this.#capacityFor(newConcurrency))
    this.#emptyIfNothingWaits()
  }

  /** Moves a waiting task (the first with this id) behind the tasks already at its new priority. */
  setPriority(id: string, priority: number): void {
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`Expected \`priority\` to be a finite number, got \`${String(priority)}\` (${typeof priority})`)
    }
    let first: PQueueTask | undefined
    for (const entry of this.#waiting) {
      if (idOf(entry) !== id || entry.handle === undefined) continue
      // Several waiting tasks may share an id: the one that would start first, as p-queue's queue finds it.
      if (first === undefined || (entry.handle.position ?? Infinity) < (first.handle!.position ?? Infinity)) first = entry
    }
    if (first === undefined || !this.#pool.setPriority(first.handle!.id, priority)) {
      throw new ReferenceError(`No promise function with the id "${id}" exists in the queue.`)
    }
    ;(first as { priority: number }).priority = priority
  }

  /** Adds a task; resolves with what it returns, rejects with what it throws. */
  add<TaskResultType>(function_: Task<TaskResultType>, given?: Partial<EnqueueOptionsType>): Promise<TaskResultType> {
    const options: Partial<QueueAddOptions> = given ?? NO_OPTIONS
    // As p-queue: an explicit `timeout: undefined` turns the queue's default off for this task.
    const timeout = 'timeout' in options ? options.timeout : this.timeout
    const id = options.id ?? this.#idAssigner++
    const priority = options.priority ?? 0
    // Not an async function (one promise less per task), yet it never throws: a bad option rejects.
    try {
      checkTimeout(timeout)
      checkOwnResources(options.cost, 'cost')
      if (typeof priority !== 'number' || !Number.isFinite(priority)) {
        throw new TypeError(`Expected \`priority\` to be a finite number, got \`${String(priority)}\` (${typeof priority})`)
      }
    } catch (error) {
      return Promise.reject(error)
    }
    return new Promise<TaskResultType>((resolve, reject) => {
      const entry: PQueueTask = {
        run: function_,
        id,
        priority,
        timeout,
        signal: options.signal,
        resolve: resolve as (value: unknown) => void,
        reject,
        handle: undefined,
        forgetSignal: undefined,
        startTime: 0,
        release: undefined,
        settled: false,
        timer: undefined,
        forgetAbort: undefined,
        roster: undefined,
      }
      const signal = entry.signal
      if (signal?.aborted === true) {
        reject(signal.reason)
        this.#emptyIfNothingWaits()
        this.emit('next')
        return
      }
      this.#waiting.add(entry)
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#waiting.delete(entry)
          entry.handle?.cancel(signal.reason)
          reject(signal.reason)
          this.#beforeStart()
          this.#emptyIfNothingWaits()
          this.emit('next')
        }
        signal.addEventListener('abort', onAbort, { once: true })
        entry.forgetSignal = () => signal.removeEventListener('abort', onAbort)
      }
      this.#beforeStart()
      if (options.cost === undefined) {
        // Nothing else a task says can be refused: `add` is heard before the task may start, as in p-queue.
        this.emit('add')
        if (!this.#waiting.has(entry)) return // an `add` listener cleared the queue or aborted the task
        this.#submit(entry, this.#submitOptions(priority, undefined))
      } else {
        // A cost can be refused (above the capacity): the pool holds the start until `add` is heard.
        this.#pool.pause()
        try {
          this.#submit(entry, this.#submitOptions(priority, options.cost))
        } catch (error) {
          this.#refused(entry, error)
          return
        } finally {
          this.#syncPause()
        }
        this.emit('add')
      }
      if (this.#limited && this.#waiting.has(entry)) this.#scheduleRateLimitUpdate()
    })
  }

  /** Hands the task to the pool: its handle comes back at once (the pool's queue is in memory). */
  #submit(entry: PQueueTask, options: SubmitOptions): void {
    const handle = this.#pool[submitNow](entry, options)
    if (!isPromiseLike(handle)) {
      entry.handle = handle
      return
    }
    handle.then(
      (accepted) => (entry.handle = accepted),
      (error: unknown) => this.#refused(entry, error),
    )
  }

  /** The pool refused the task: its `add` rejects with the pool's error, and the queue forgets it. */
  #refused(entry: PQueueTask, error: unknown): void {
    this.#waiting.delete(entry)
    entry.forgetSignal?.()
    entry.reject(error)
  }

  /** `add` for each function, with the same options; resolves with every result, in order. */
  async addAll<TaskResultsType>(
    functions: ReadonlyArray<Task<TaskResultsType>>,
    options?: Partial<EnqueueOptionsType>,
  ): Promise<TaskResultsType[]> {
    return Promise.all(functions.map(async (function_) => this.add(function_, options)))
  }

  /** Starts (or resumes) running waiting tasks. */
  start(): this {
    if (!this.#userPaused) return this
    this.#userPaused = false
    this.#beforeStart()
    this.#syncPause()
    this.#emptyIfNothingWaits()
    return this
  }

  /** Holds new starts; running tasks go on. */
  pause(): void {
    this.#userPaused = true
    this.#syncPause()
  }

  /** Drops every waiting task: their `add` promises never settle (as in p-queue). */
  clear(): void {
    for (const entry of this.#waiting) entry.forgetSignal?.()
    this.#waiting.clear()
    this.#pool.clear()
    this.#clearIntervalTimer()
    this.#updateRateLimitState()
    this.emit('empty')
    if (this.#pending === 0) {
      this.#clearTimeoutTimer()
      this.emit('idle')
    }
    this.emit('next')
  }

  async onEmpty(): Promise<void> {
    if (this.size === 0) return
    await this.#onEvent('empty')
  }

  async onSizeLessThan(limit: number): Promise<void> {
    if (this.size < limit) return
    await this.#onEvent('next', () => this.size < limit, 'active')
  }

  async onIdle(): Promise<void> {
    if (this.#pending === 0 && this.size === 0) return
    await this.#onEvent('idle')
  }

  async onPendingZero(): Promise<void> {
    if (this.#pending === 0) return
    await this.#onEvent('pendingZero')
  }

  async onRateLimit(): Promise<void> {
    if (this.isRateLimited) return
    await this.#onEvent('rateLimit')
  }

  async onRateLimitCleared(): Promise<void> {
    if (!this.isRateLimited) return
    await this.#onEvent('rateLimitCleared')
  }

  /** Rejects with the first task error from now on. */
  async onError(): Promise<never> {
    return new Promise<never>((_resolve, reject) => {
      const handler = (error: unknown): void => {
        this.off('error', handler)
        reject(error)
      }
      this.on('error', handler)
    })
  }

  /** Tasks waiting to start. */
  get size(): number {
    return this.#waiting.size
  }

  /** Waiting tasks of exactly this priority. */
  sizeBy(options: Readonly<Partial<EnqueueOptionsType>>): number {
    let n = 0
    for (const entry of this.#waiting) if (entry.priority === options.priority) n++
    return n
  }

  /** Tasks running. */
  get pending(): number {
    return this.#pending
  }

  get isPaused(): boolean {
    return this.#userPaused
  }

  /** Whether the rate limit holds waiting tasks back now. */
  get isRateLimited(): boolean {
    return this.#rateLimited
  }

  /** Whether a new task would wait: every slot taken, or the rate limit holds. */
  get isSaturated(): boolean {
    return (this.#pending === this.#concurrency && this.size > 0) || (this.isRateLimited && this.size > 0)
  }

  /** The running tasks, in start order. */
  get runningTasks(): readonly RunningTask[] {
    return [...this.#running].map((entry) => {
      const { priority, startTime, timeout } = entry
      return {
        id: idOf(entry),
        priority,
        startTime,
        timeout,
        timeoutRemaining: timeout ? Math.max(0, startTime + timeout - Date.now()) : undefined,
      }
    })
  }

  // ─── Running a task (the pool's executor) ──────────────────────────────────

  #execute(entry: PQueueTask): Promise<unknown> {
    this.#waiting.delete(entry)
    entry.forgetSignal?.()
    entry.forgetSignal = undefined
    this.#pending++
    entry.startTime = Date.now()
    this.#running.add(entry)
    if (this.#limited) {
      if (!this.#strict) this.#consumeIntervalSlot()
      this.#scheduleRateLimitUpdate()
    }
    let held: Promise<unknown>
    try {
      const { signal, timeout } = entry
      const operation = Promise.resolve(entry.run(signal === undefined ? NO_SIGNAL : { signal }))
      if (timeout === undefined && signal === undefined) {
        // Nothing can end it early: the pool holds the slot until the task's own promise settles,
        // and hears of it just after this queue does (its reaction is registered second).
        entry.release = undefined
        operation.then(
          (value) => this.#settleAtOnce(entry, true, value),
          (error: unknown) => this.#settleAtOnce(entry, false, error),
        )
        held = operation
      } else {
        held = new Promise<void>((release) => (entry.release = release))
        operation.then(
          (value) => this.#settle(entry, true, value),
          (error: unknown) => this.#settle(entry, false, error),
        )
        if (timeout !== undefined) {
          const message = `Task timed out after ${timeout}ms (queue has ${this.#pending} running, ${this.size} waiting)`
          entry.timer = setTimeout(() => this.#settle(entry, false, new TimeoutError(message)), timeout)
        }
        if (signal !== undefined) {
          const onAbort = (): void => this.#settle(entry, false, signal.reason)
          // The task may abort its own signal as it starts: a result already there still wins, as in p-queue.
          if (signal.aborted) soon(onAbort)
          else {
            signal.addEventListener('abort', onAbort, { once: true })
            entry.forgetAbort = () => signal.removeEventListener('abort', onAbort)
          }
        }
      }
    } catch (error) {
      held = new Promise<void>((release) => (entry.release = release))
      this.#settle(entry, false, error)
    }
    this.emit('active')
    return held
  }

  /** The task's promise settled, or its timeout or abort came first (then what it does later is ignored). */
  #settle(entry: PQueueTask, ok: boolean, value: unknown): void {
    if (entry.settled) return
    entry.settled = true
    if (entry.timer !== undefined) clearTimeout(entry.timer)
    entry.forgetAbort?.()
    this.#running.delete(entry)
    this.emit(ok ? 'completed' : 'error', value)
    soon(() => this.#next(entry, ok, value))
  }

  /**
   * A task without a timeout or signal settled; the pool's own reaction comes next and may start
   * the next task at once, so the count of running tasks drops here (`pendingZero` before that
   * task's `active`, as in p-queue).
   */
  #settleAtOnce(entry: PQueueTask, ok: boolean, value: unknown): void {
    entry.settled = true
    this.#running.delete(entry)
    this.emit(ok ? 'completed' : 'error', value)
    if (this.size === 0) {
      soon(() => this.#next(entry, ok, value))
      return
    }
    this.#pending--
    if (this.#pending === 0) this.emit('pendingZero')
    this.#beforeStart()
    soon(() => this.#done(entry, ok, value))
  }

  /** After a task settled: its slot goes back (the pool may start the next), then `next`, then its caller hears. */
  #next(entry: PQueueTask, ok: boolean, value: unknown): void {
    const release = entry.release
    this.#pending--
    if (this.#pending === 0) this.emit('pendingZero')
    if (this.size === 0) {
      this.#emptyIfNothingWaits()
      release?.()
      this.#done(entry, ok, value)
      return
    }
    this.#beforeStart()
    release?.()
    // After the pool's own reaction to the release: it starts what now fits (`active` before `next`).
    soon(() => this.#done(entry, ok, value))
  }

  #done(entry: PQueueTask, ok: boolean, value: unknown): void {
    this.emit('next')
    this.#scheduleRateLimitUpdate()
    if (ok) entry.resolve(value)
    else entry.reject(value)
  }

  /** What p-queue does when an attempt to start finds nothing waiting: `empty`, and `idle` if nothing runs either. */
  #emptyIfNothingWaits(): void {
    if (this.size > 0) return
    this.#clearIntervalTimer()
    this.emit('empty')
    if (this.#pending === 0) {
      this.#clearTimeoutTimer()
      this.emit('idle')
    }
  }

  /** The pool's submit options for a task: one object per priority when the cost is the default (most tasks). */
  #submitOptions(priority: number, cost: ResourceVector | undefined): SubmitOptions {
    const starts = this.#strict && this.#limited
    if (cost !== undefined) return { priority, cost: { ...cost, [SLOTS]: 1, ...(starts ? { [STARTS]: 1 } : {}) } }
    let shared = this.#sharedOptions.get(priority)
    if (shared === undefined) {
      shared = Object.freeze(starts ? { priority, cost: { slots: 1, [STARTS]: 1 } } : { priority })
      if (this.#sharedOptions.size < 256) this.#sharedOptions.set(priority, shared)
    }
    return shared
  }

  #capacityFor(concurrency: number): ResourceVector {
    // A fractional concurrency lets a task start while fewer run than it (p-queue: 1.5 runs 2).
    return { ...this.#capacity, slots: concurrency === Infinity ? SLOTS_FOR_INFINITY : Math.ceil(concurrency) }
  }

  /** The pool starts tasks only while the user has not paused it and the window has room. */
  #syncPause(): void {
    const hold = this.#userPaused || (this.#limited && !this.#strict && this.#intervalCount >= this.#intervalCap)
    if (hold) this.#pool.pause()
    else this.#pool.resume()
  }

  // ─── Fixed windows (p-queue's default rate limit) ──────────────────────────

  /** Before the pool may start: a window that ended while nothing ticked starts over; one not ended yet is waited out. */
  #beforeStart(): void {
    if (!this.#limited || this.#strict || this.#intervalId !== undefined) return
    const delay = this.#intervalEnd - Date.now()
    if (delay < 0) {
      this.#intervalCount = this.#carryover ? this.#pending : 0
      this.#syncPause()
    } else if (this.#timeoutId === undefined) {
      this.#timeoutId = setTimeout(() => {
        this.#timeoutId = undefined
        this.#startTicking()
        this.#onInterval()
      }, delay)
    }
  }

  #consumeIntervalSlot(): void {
    if (this.#intervalId === undefined && this.#timeoutId === undefined) this.#startTicking()
    this.#intervalCount++
    if (this.#intervalCount >= this.#intervalCap) this.#syncPause()
  }

  #startTicking(): void {
    if (this.#intervalId !== undefined) return
    this.#intervalId = setInterval(() => this.#onInterval(), this.#interval)
    this.#intervalEnd = Date.now() + this.#interval
  }

  #onInterval(): void {
    if (this.#intervalId !== undefined) {
      if (this.#intervalCount === 0 && this.#pending === 0) this.#clearIntervalTimer()
      else this.#intervalEnd = Date.now() + this.#interval
    }
    this.#intervalCount = this.#carryover ? this.#pending : 0
    this.#syncPause()
    this.#emptyIfNothingWaits()
    this.#scheduleRateLimitUpdate()
  }

  #clearIntervalTimer(): void {
    if (this.#intervalId === undefined) return
    clearInterval(this.#intervalId)
    this.#intervalId = undefined
  }

  #clearTimeoutTimer(): void {
    if (this.#timeoutId === undefined) return
    clearTimeout(this.#timeoutId)
    this.#timeoutId = undefined
  }

  // ─── Rate-limit state ──────────────────────────────────────────────────────

  #scheduleRateLimitUpdate(): void {
    if (this.#rateLimitUpdate || !this.#limited) return
    this.#rateLimitUpdate = true
    soon(() => {
      this.#rateLimitUpdate = false
      this.#updateRateLimitState()
    })
  }

  #updateRateLimitState(): void {
    const full = this.#strict
      ? (this.#pool.snapshot().used[STARTS] ?? 0) >= Math.ceil(this.#intervalCap)
      : this.#intervalCount >= this.#intervalCap
    const limited = this.#limited && this.size > 0 && full
    if (limited === this.#rateLimited) return
    this.#rateLimited = limited
    this.emit(limited ? 'rateLimit' : 'rateLimitCleared')
  }

  async #onEvent(event: EventName, filter?: () => boolean, alsoOn?: EventName): Promise<void> {
    return new Promise((resolve) => {
      const listener = (): void => {
        if (filter !== undefined && !filter()) return
        this.off(event, listener)
        if (alsoOn !== undefined) this.off(alsoOn, listener)
        resolve()
      }
      this.on(event, listener)
      if (alsoOn !== undefined) this.on(alsoOn, listener)
    })
  }
}

export default PQueue
