/*
 * A drop-in for p-queue 9: change `import PQueue from 'p-queue'` to
 * `import PQueue from 'prometheus-parking-lot/p-queue'` and the program runs as before. The queue
 * is a `ResourcePool` underneath: concurrency is its `slots` capacity, priorities are its numeric
 * priorities (the pool orders the tasks; `setPriority` is the pool's). The rest is p-queue's
 * bookkeeping, step for step, so that events, settlements and starts come in the same order and
 * microtask: where p-queue tries to start a task, the queue lets the pool start one (under a rate
 * limit the pool is held between attempts); the rate limits (fixed windows and strict's sliding
 * log) are counted here as p-queue counts them, holding the pool while a window is full. Where
 * this differs from p-queue, on purpose, docs/p-queue.md says so.
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
  /** Where it waits now (\`setPriority\` moves it): what \`sizeBy\` counts. */
  priority: number
  /** The priority it was added with: what \`runningTasks\` shows, as p-queue's. */
  readonly addedPriority: number
  readonly timeout: number | undefined
  readonly signal: AbortSignal | undefined
  readonly resolve: (value: unknown) => void
  readonly reject: (reason: unknown) => void
  handle: TaskHandle<unknown> | undefined
  /** Removes the abort listener of a waiting task. */
  forgetSignal: (() => void) | undefined
  // While it runs:
  startTime: number
  /** What the pool waits on: its slot comes back when the queue settles it. */
  release: Slot | undefined
  timer: ReturnType<typeof setTimeout> | undefined
  forgetAbort: (() => void) | undefined
}

/**
 * What the pool waits on for a running task, in place of a promise: the pool calls `then` once as
 * the task starts, and the queue settles it when p-queue frees the slot (in `#next`), so the pool
 * starts the next task in that same step, not a microtask later.
 */
class Slot implements PromiseLike<unknown> {
  #fulfil: ((value: unknown) => unknown) | null | undefined
  #reject: ((reason: unknown) => unknown) | null | undefined

  then<A = unknown, B = never>(
    onfulfilled?: ((value: unknown) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): PromiseLike<A | B> {
    this.#fulfil = onfulfilled
    this.#reject = onrejected
    return NEVER
  }

  /** The pool hears how the task ended (a failure counts in its statistics). */
  settle(ok: boolean, value: unknown): void {
    if (ok) this.#fulfil?.(value)
    else this.#reject?.(value)
  }
}

/** Returned by `Slot.then`: the pool never chains on it. */
const NEVER: PromiseLike<never> = new Promise<never>(() => {})
const RESOLVED = Promise.resolve()
/** queueMicrotask, minus what Node adds to each call (an async resource): the same microtask queue, in the same order. */
const soon = (callback: () => void): void => void RESOLVED.then(callback)
/** What a task without a signal is given (p-queue passes `{ signal: undefined }`): one object for all. */
const NO_SIGNAL: TaskOptions = Object.freeze({ signal: undefined })
const idOf = (entry: PQueueTask): string => (typeof entry.id === 'string' ? entry.id : String(entry.id))
const NO_OPTIONS: Partial<QueueAddOptions> = Object.freeze({})
const SLOTS_FOR_INFINITY = Number.MAX_SAFE_INTEGER
const SLOTS = 'slots'

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

/** A capacity or cost may not name the queue's own resource: its slots, which the concurrency counts. */
function checkOwnResources(units: ResourceVector | undefined, path: 'capacity' | 'cost'): void {
  if (typeof units === 'object' && units !== null && Object.hasOwn(units, SLOTS)) {
    throw new InvalidOptionError(
      `\`${path}.${SLOTS}\`: \`${SLOTS}\` is the queue's own (its concurrency; each task takes one); name another resource`,
      `${path}.${SLOTS}`,
    )
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
  /** Tasks started so far: tells an attempt that started one from one that did not. */
  #starts = 0
  /** The pool holds again after its next start (an attempt starts one task). */
  #oneStart = false
  /** Whether a start in this attempt begins the fixed windows' ticking (not while the last window is waited out). */
  #mayStartTicking = true
  /** No \`capacity\` beyond the slots: p-queue's queue, where an attempt starts one task. */
  readonly #costless: boolean
  #userPaused: boolean
  /** Waiting tasks, in add order. */
  readonly #waiting = new Roster<PQueueTask>()
  readonly #running = new Roster<PQueueTask>()
  readonly #sharedOptions = new Map<number, SubmitOptions>()

  // Rate limiting, as p-queue counts it: starts per fixed window, or a log of start times (strict).
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
  // Strict: the start times still in the window, oldest first.
  #strictStarts: number[] = []
  #strictHead = 0

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
    this.#costless = given.capacity === undefined
    this.#pool = new ResourcePool<PQueueTask, unknown>({
      name: given.pool?.name ?? 'p-queue',
      capacity: this.#capacityFor(this.#concurrency),
      executor: (entry) => this.#execute(entry),
      ...(given.pool?.policy === undefined ? {} : { policy: given.pool.policy }),
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
    this.#pool.pause()
    this.#pool.setCapacity(this.#capacityFor(newConcurrency))
    this.#processQueue()
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
    first.priority = priority
  }

  /**
   * Adds a task; resolves with what it returns, rejects with what it throws. An async function
   * returning the task's promise, as p-queue's, so that callers resume after the same microtasks.
   */
  async add<TaskResultType>(function_: Task<TaskResultType>, given?: Partial<EnqueueOptionsType>): Promise<TaskResultType> {
    const options: Partial<QueueAddOptions> = given ?? NO_OPTIONS
    // As p-queue: an explicit `timeout: undefined` turns the queue's default off for this task.
    const timeout = 'timeout' in options ? options.timeout : this.timeout
    const id = options.id ?? this.#idAssigner++
    const priority = options.priority ?? 0
    checkTimeout(timeout)
    if (typeof priority !== 'number' || !Number.isFinite(priority)) {
      throw new TypeError(`Expected \`priority\` to be a finite number, got \`${String(priority)}\` (${typeof priority})`)
    }
    checkOwnResources(options.cost, 'cost')
    return new Promise<TaskResultType>((resolve, reject) => {
      const entry: PQueueTask = {
        run: function_,
        id,
        priority,
        addedPriority: priority,
        timeout,
        signal: options.signal,
        resolve: resolve as (value: unknown) => void,
        reject,
        handle: undefined,
        forgetSignal: undefined,
        startTime: 0,
        release: undefined,
        timer: undefined,
        forgetAbort: undefined,
        roster: undefined,
      }
      const signal = entry.signal
      if (signal?.aborted === true) {
        reject(signal.reason)
        this.#tryToStart()
        this.#emitNext()
        return
      }
      this.#waiting.add(entry)
      if (signal !== undefined) {
        const onAbort = (): void => {
          this.#waiting.delete(entry)
          entry.handle?.cancel(signal.reason)
          reject(signal.reason)
          this.#tryToStart()
          this.#emitNext()
        }
        signal.addEventListener('abort', onAbort, { once: true })
        entry.forgetSignal = () => signal.removeEventListener('abort', onAbort)
      }
      if (options.cost === undefined && !this.#limited && !this.#pool.isPaused && this.listenerCount('add') === 0) {
        // Nothing can refuse it, only a slot decides, and nobody hears \`add\`: handing it to the
        // pool is p-queue's attempt (no other task waits while a slot is free).
        this.#submit(entry, this.#submitOptions(priority, undefined))
        return
      }
      // Into the pool, held: \`add\` is heard first, then one attempt to start (as p-queue). A cost
      // above the capacity is refused here, and then nothing was added. An \`add\` listener that
      // throws breaks off the attempt: the task waits, held, for the next one.
      this.#pool.pause()
      try {
        this.#submit(entry, this.#submitOptions(priority, options.cost))
      } catch (error) {
        this.#syncPause()
        this.#refused(entry, error)
        return
      }
      this.#emitAdd()
      this.#tryToStart()
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
    this.#processQueue()
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
      const { addedPriority, startTime, timeout } = entry
      return {
        id: idOf(entry),
        priority: addedPriority,
        startTime,
        timeout,
        timeoutRemaining: timeout ? Math.max(0, startTime + timeout - Date.now()) : undefined,
      }
    })
  }

  // ─── Running a task (the pool's executor) ──────────────────────────────────

  #execute(entry: PQueueTask): PromiseLike<unknown> {
    this.#waiting.delete(entry)
    entry.forgetSignal?.()
    entry.forgetSignal = undefined
    this.#starts++
    if (this.#oneStart) {
      this.#oneStart = false
      this.#pool.pause()
    }
    const now = Date.now()
    if (this.#limited) {
      if (this.#strict) this.#consumeStrictSlot(now)
      else this.#consumeIntervalSlot()
      this.#scheduleRateLimitUpdate()
    }
    this.#pending++
    entry.startTime = now
    this.#running.add(entry)
    const slot = new Slot()
    entry.release = slot
    try {
      const { signal, timeout } = entry
      // p-queue's chain: the task, p-timeout's wrapper, a race with the abort, awaited.
      let operation: unknown = entry.run(signal === undefined ? NO_SIGNAL : { signal })
      if (timeout !== undefined) operation = this.#withTimeout(entry, Promise.resolve(operation), timeout)
      if (signal !== undefined) operation = Promise.race([operation, this.#abortOf(entry, signal)])
      Promise.resolve(operation).then(
        (value) => this.#settle(entry, true, value),
        (error: unknown) => this.#settle(entry, false, error),
      )
    } catch (error) {
      try {
        this.#settle(entry, false, error)
      } catch (listenerError) {
        // An \`error\` listener threw: the pool must not take the run for failed (its slot is the queue's).
        soon(() => {
          throw listenerError
        })
      }
    }
    try {
      this.emit('active')
    } catch (error) {
      // The task runs, and the pool must not take it for failed: the listener's error surfaces on its own.
      soon(() => {
        throw error
      })
    }
    return slot
  }

  /** Rejects with a \`TimeoutError\` once the task ran \`timeout\` ms, as p-timeout does. */
  #withTimeout(entry: PQueueTask, operation: Promise<unknown>, timeout: number): Promise<unknown> {
    const message = `Task timed out after ${timeout}ms (queue has ${this.#pending} running, ${this.size} waiting)`
    return new Promise((resolve, reject) => {
      operation.then(resolve, reject)
      entry.timer = setTimeout(() => reject(new TimeoutError(message)), timeout)
    }).finally(() => clearTimeout(entry.timer))
  }

  /** Rejects with the signal's reason once it aborts (the task may abort it itself as it starts). */
  #abortOf(entry: PQueueTask, signal: AbortSignal): Promise<never> {
    return new Promise((_resolve, reject) => {
      const onAbort = (): void => reject(signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      entry.forgetAbort = () => signal.removeEventListener('abort', onAbort)
      if (signal.aborted) onAbort()
    })
  }

  /** The task's chain settled (its result, its error, its timeout or its abort): its caller hears now, its slot frees a microtask later. */
  #settle(entry: PQueueTask, ok: boolean, value: unknown): void {
    // p-queue's try, catch and finally: a \`completed\` listener that throws is an \`error\`.
    try {
      if (ok) {
        entry.resolve(value)
        this.emit('completed', value)
      } else {
        entry.reject(value)
        this.emit('error', value)
      }
    } catch (error) {
      if (!ok) throw error
      entry.reject(error)
      this.emit('error', error)
    } finally {
      entry.forgetAbort?.()
      this.#running.delete(entry)
      soon(() => this.#next(entry, ok, value))
    }
  }

  /** p-queue's \`#next\`: the slot comes back, one attempt to start, then \`next\`. */
  #next(entry: PQueueTask, ok: boolean, value: unknown): void {
    this.#pending--
    const slot = entry.release!
    entry.release = undefined
    if (this.#limited) {
      // The window decides what starts: the pool hears of the free slot while held, then one attempt.
      this.#pool.pause()
      slot.settle(ok, value)
      if (this.#pending === 0) this.emit('pendingZero')
      this.#tryToStart()
    } else {
      // Nothing but the slot decides: the pool starts the next task as it hears of it.
      let nothingWaits: boolean
      try {
        if (this.#pending === 0) this.emit('pendingZero')
      } finally {
        // A listener that throws never keeps the slot.
        nothingWaits = this.size === 0
        slot.settle(ok, value)
      }
      // An attempt an \`add\` listener broke off left the pool held: this one goes on.
      this.#syncPause()
      if (nothingWaits) this.#emptyIfNothingWaits()
    }
    this.#emitNext()
  }

  /**
   * p-queue's attempt to start a task (after an add, an abort, an end): \`empty\` if nothing
   * waits, else the window is checked and the pool may start one task (\`all\`: what fits).
   */
  #tryToStart(all = false): boolean {
    if (this.size === 0) {
      // An \`empty\` or \`idle\` listener that throws must not leave the pool held.
      this.#syncPause()
      this.#emptyIfNothingWaits()
      return false
    }
    // An attempt starts one task (as in p-queue; the pool holds again after it), unless tasks have
    // costs (with \`capacity\`), which start whenever they fit.
    this.#oneStart = !all && this.#costless
    if (!this.#userPaused) this.#beforeStart()
    const before = this.#starts
    // p-queue's concurrency check: with every slot taken the held pool need not look.
    if (this.#oneStart && this.#pending >= this.#concurrency) this.#pool.pause()
    else this.#syncPause()
    this.#oneStart = false
    return this.#starts !== before
  }

  /** p-queue's attempts until none starts a task (\`start()\`, a new concurrency, a window's end). */
  #processQueue(): void {
    // p-queue's last attempt, after one that started tasks: \`empty\` if nothing waits, else a full
    // window is waited out. (Starts made by listeners of an \`empty\` event do not count.)
    if (this.#tryToStart(true)) this.#tryToStart(true)
  }

  #emitAdd(): void {
    if (this.#limited && this.size > 0) this.#scheduleRateLimitUpdate()
    this.emit('add')
  }

  #emitNext(): void {
    this.#scheduleRateLimitUpdate()
    this.emit('next')
  }

  /** What p-queue does when an attempt to start finds nothing waiting: \`empty\`, and \`idle\` if nothing runs either. */
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
    if (cost !== undefined) return { priority, cost: { ...cost, [SLOTS]: 1 } }
    let shared = this.#sharedOptions.get(priority)
    if (shared === undefined) {
      shared = Object.freeze({ priority })
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
    const hold = this.#userPaused || (this.#limited && this.#windowFull())
    if (hold) this.#pool.pause()
    else this.#pool.resume()
  }

  // ─── Fixed windows (p-queue's default rate limit) ──────────────────────────

  /**
   * p-queue's window check before an attempt (it starts nothing itself): a fixed window that ended
   * while nothing ticked starts over; one not ended yet is waited out; a full strict window waits
   * for its oldest start to leave.
   */
  #beforeStart(): void {
    this.#mayStartTicking = true
    if (!this.#limited || this.#intervalId !== undefined) return
    if (this.#strict) return this.#strictBeforeStart()
    const delay = this.#intervalEnd - Date.now()
    // p-queue takes a window that ends this very millisecond (\`delay === 0\`, as when its own timer
    // fires on time) for one still running, and its timer then opens a second window a
    // millisecond later: two bursts in one window. Here that window has ended.
    if (delay <= 0) {
      this.#intervalCount = this.#carryover ? this.#pending : 0
      return
    }
    // Still inside the last window: its remaining time is waited out (its count still allows starts).
    this.#mayStartTicking = false
    if (this.#timeoutId !== undefined) return
    this.#timeoutId = setTimeout(() => {
      this.#timeoutId = undefined
      this.#onInterval()
      this.#startTicking()
    }, delay)
  }

  #consumeIntervalSlot(): void {
    this.#intervalCount++
    if (this.#mayStartTicking) this.#startTicking()
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
    this.#processQueue()
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
    const limited = this.#limited && this.size > 0 && this.#windowFull()
    if (limited === this.#rateLimited) return
    this.#rateLimited = limited
    this.emit(limited ? 'rateLimit' : 'rateLimitCleared')
  }

  /** Whether the window holds `intervalCap` starts: the fixed window's count, or the strict window's starts of the last `interval` ms. */
  #windowFull(): boolean {
    return (this.#strict ? this.#strictCount(Date.now()) : this.#intervalCount) >= this.#intervalCap
  }

  // ─── Strict windows (a sliding log of start times, as p-queue's) ───────────

  #consumeStrictSlot(at: number): void {
    this.#strictStarts.push(at)
    if (this.#strictStarts.length - this.#strictHead >= this.#intervalCap) this.#syncPause()
  }

  /** How many starts the strict window holds now; older ones leave it. */
  #strictCount(now: number): number {
    const starts = this.#strictStarts
    while (this.#strictHead < starts.length && now - starts[this.#strictHead]! >= this.#interval) this.#strictHead++
    if (this.#strictHead > 1024 && this.#strictHead * 2 > starts.length) {
      this.#strictStarts = starts.slice(this.#strictHead)
      this.#strictHead = 0
    }
    return this.#strictStarts.length - this.#strictHead
  }

  /** A full strict window holds the pool and sets a timer for when its oldest start leaves (then p-queue's interval tick). */
  #strictBeforeStart(): void {
    if (this.size === 0 || this.#userPaused) return
    const now = Date.now()
    if (this.#strictCount(now) < this.#intervalCap) return
    this.#pool.pause()
    if (this.#timeoutId !== undefined) return
    this.#timeoutId = setTimeout(
      () => {
        this.#timeoutId = undefined
        this.#processQueue()
        this.#scheduleRateLimitUpdate()
      },
      this.#strictStarts[this.#strictHead]! + this.#interval - now,
    )
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
