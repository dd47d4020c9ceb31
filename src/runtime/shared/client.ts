/*
 * The tab side of a shared pool: `SharedPool` gives a tab the `Pool` interface (submit, handles
 * with result/progress/cancel, get, events, snapshot, mailbox, pause, clear, onIdle...) backed by
 * a SharedPoolHost, and lends the host this tab's workers. The tab holds a Web Lock for as long as
 * it lives; the host waits on that lock to learn when the tab is gone.
 *
 * What travels is checked on arrival (protocol.ts): a message that does not decode is dropped
 * with an `error` event. The tab keeps only the tasks it follows, until they end.
 */
import type { CapacityInput } from '../../core/capacity.js'
import * as d from '../../core/decode.js'
import {
  BackendError,
  InvalidPayloadError,
  InvalidOptionError,
  PoolClosedError,
  TaskCancelledError,
  TaskDetachedError,
  WorkerCrashedError,
} from '../../core/errors.js'
import { TypedEmitter } from '../../core/events.js'
import { ackArguments, fetchArguments, type FetchOptions, type FetchResult } from '../../core/mailbox.js'
import { checkCloneable } from '../../core/storable.js'
import { SUBMIT_KEYS } from '../../core/submit.js'
import { onlyKnownKeys, optionalBoolean, optionsObject, refuse } from '../../core/validate.js'
import { makeHandle, type ProgressStep, type TaskControl, type TaskHandle } from '../../core/handle.js'
import type { SubmitItem, SubmitOptions } from '../../core/options.js'
import type { CloseOptions, Pool, PoolEventMap, PoolMailbox, PoolSnapshot, PoolStats } from '../../core/pool.js'
import type { TaskInfo } from '../../core/record.js'
import { metricsText } from '../../core/metrics.js'
import { isTerminal, type MailboxKey, type Priority, type TaskStatus } from '../../core/types.js'
import type { WorkerPool } from '../worker-pool.js'
import { decodeWireError, fromWire, toWire } from '../wire-errors.js'
import {
  TAB_LOCK_PREFIX,
  decodeFetchResult,
  decodeHostMessage,
  decodeSnapshot,
  decodeStats,
  decodeTaskView,
  type HostMessage,
  type Port,
  type TabMessage,
  type TabRequest,
  type TaskView,
} from './protocol.js'

/** Pool events, plus `snapshot`: the pool's state, pushed after changes (coalesced). */
export type SharedPoolEventMap<R, C = unknown> = PoolEventMap<R, C> & { snapshot: PoolSnapshot }

type Listener<E> = (event: E) => void

/** @internal Who may construct a SharedPool: `connectSharedPool`. */
export const CONNECT = Symbol('prometheus-parking-lot.connect')

/** What a SharedPool is made with (`connectSharedPool` options that concern the tab). */
export interface SharedPoolSetup {
  readonly user?: string | undefined
  readonly session?: string | undefined
  /** Called once when this tab's connection closes (what the transport holds is let go). */
  readonly onClose?: (() => void) | undefined
}

const decodeCount = d.integer
const decodeViews = d.array(decodeTaskView)
const decodeNothing: d.Decoder<undefined> = () => undefined

/** A pool hosted elsewhere (a SharedWorker or the leader tab), used from this tab. Made by `connectSharedPool`. */
export class SharedPool<P = unknown, R = unknown, C = unknown> implements Pool<P, R, C> {
  readonly clientId: string
  readonly user: string | undefined
  readonly session: string
  readonly #emitter = new Emitter<SharedPoolEventMap<R, C>>()
  readonly #subscribed = new Set<string>()
  /** The tasks this tab follows, until they end. */
  readonly #tasks = new Map<string, RemoteTask<R, C>>()
  readonly #requests = new Map<number, { resolve(value: unknown): void; reject(error: Error): void; decode: d.Decoder<unknown> }>()
  readonly #runs = new Map<number, AbortController>()
  /** Runs of a previous host (leader mode) that have not stopped yet, by call id. */
  readonly #staleRuns = new Set<number>()
  /** Model instances this tab's workers loaded for the host, by the host's key. */
  readonly #instances = new Map<number, unknown>()
  /** Loads in flight, by the host's key (an unload waits for its load), and how to stop each. */
  readonly #loading = new Map<number, Promise<void>>()
  readonly #loadAborts = new Map<number, AbortController>()
  #nextRequest = 1
  #releaseLock: (() => void) | undefined
  #closed = false
  #lastSnapshot: PoolSnapshot | undefined
  /** The latest handshake with a host (a new leader starts a new one). */
  #joined: Promise<void> | undefined
  /** Counts the hosts this tab joined: a rejoin that a newer one overtook stops quietly. */
  #epoch = 0
  #started = false
  #ready: Promise<void> | undefined
  readonly #onClose: (() => void) | undefined

  /** @internal */
  constructor(
    token: typeof CONNECT,
    readonly name: string,
    readonly port: Port,
    /** This tab's workers lent to the host, if any. */
    readonly workers: WorkerPool<unknown, unknown> | undefined,
    setup: SharedPoolSetup,
    clientId: string = crypto.randomUUID(),
  ) {
    if (token !== CONNECT) throw new TypeError('A SharedPool is made by connectSharedPool(), not by new')
    this.clientId = clientId
    this.user = setup.user
    this.session = setup.session ?? tabSession()
    this.#onClose = setup.onClose
    port.addEventListener('message', (event: MessageEvent) => this.#arrive(event.data))
    // Workers that become ready after this tab attached tell the host their handlers then.
    workers?.on('ready', () => {
      if (this.#joined !== undefined && !this.#closed) this.#attach()
    })
    port.start?.()
  }

  // ─── Pool state: the host's, as last pushed ────────────────────────────────

  /** Parked tasks, as the host last pushed (a `snapshot` event). */
  get size(): number {
    return this.#lastSnapshot?.parkedTotal ?? 0
  }

  /** Attempts holding capacity, as the host last pushed. */
  get pending(): number {
    return this.#lastSnapshot === undefined ? 0 : this.#lastSnapshot.running + this.#lastSnapshot.stopping
  }

  get isPaused(): boolean {
    return this.#lastSnapshot?.isPaused ?? false
  }

  /** This tab's connection is closed (the pool itself lives on in its host). */
  get isClosed(): boolean {
    return this.#closed
  }

  /** Resolves once the host answered this tab (and, in leader mode, once a leader serves). */
  get ready(): Promise<void> {
    return this.#ready ?? Promise.resolve()
  }

  /** The latest snapshot this tab received (from `snapshot()` or a `snapshot` event). */
  get lastSnapshot(): PoolSnapshot | undefined {
    return this.#lastSnapshot
  }

  /** The pool's mailbox, read through the host. */
  get mailbox(): PoolMailbox<R> {
    return {
      // Checked here as the pool's own mailbox checks them: the same refusals, before anything is sent.
      fetch: async (key: MailboxKey, options?: FetchOptions) => {
        const checked = fetchArguments(key, options)
        const sent = { since: checked.options.since, limit: checked.options.limit }
        const message = { t: 'fetch', rid: 0, pool: this.name, key: wireKey(checked.key), options: sent } as const
        return (await this.#request(message, decodeFetchResult)) as FetchResult<R>
      },
      ack: async (key: MailboxKey, ids: readonly string[]) => {
        const checked = ackArguments(key, ids)
        return this.#request({ t: 'ack', rid: 0, pool: this.name, key: wireKey(checked.key), ids: [...checked.ids] }, decodeCount)
      },
    }
  }

  /** This tab's default mailbox key (the host addresses tasks without one to it). */
  mailboxKey(tenant: string = location.origin): MailboxKey {
    return { tenant, user: this.user, session: this.session }
  }

  // ─── Pool operations, through the host ─────────────────────────────────────

  async submit(payload: P, options: SubmitOptions = {}): Promise<TaskHandle<R, C>> {
    const { signal, rest } = splitSignal(payload, options)
    const view = await this.#request({ t: 'submit', rid: 0, pool: this.name, payload, options: rest }, decodeTaskView)
    return this.#follow(view, signal)
  }

  async submitAll(items: readonly SubmitItem<P>[]): Promise<TaskHandle<R, C>[]> {
    if (!Array.isArray(items)) throw new InvalidOptionError('Expected `items` to be an array of { payload, options? }', 'items')
    const split = items.map((item, index) => {
      try {
        if (typeof item !== 'object' || item === null) refuse(`items[${index}]`, '{ payload, options? }', item)
        return { payload: item.payload, ...splitSignal(item.payload, item.options ?? {}) }
      } catch (error) {
        if (error instanceof Error) error.message = `submitAll item ${index}: ${error.message}`
        throw error
      }
    })
    const message = {
      t: 'submit-all',
      rid: 0,
      pool: this.name,
      items: split.map(({ payload, rest }) => ({ payload, options: rest })),
    } as const
    const views = await this.#request(message, decodeViews)
    return views.map((view, i) => this.#follow(view, split[i]!.signal))
  }

  /** The task with this id, if the host still holds it; its handle then follows the task. */
  async get(id: string): Promise<TaskHandle<R, C> | undefined> {
    const view = await this.#request({ t: 'get', rid: 0, pool: this.name, id }, d.optional(decodeTaskView))
    return view === undefined ? undefined : this.#follow(view, undefined)
  }

  /** The pool's state, asked of the host now. */
  async snapshot(): Promise<PoolSnapshot> {
    this.#lastSnapshot = await this.#request({ t: 'snapshot', rid: 0, pool: this.name }, decodeSnapshot)
    return this.#lastSnapshot
  }

  stats(): Promise<PoolStats> {
    return this.#request({ t: 'stats', rid: 0, pool: this.name }, decodeStats)
  }

  metrics(): Promise<string> {
    return metricsText([this])
  }

  /** Resolves when the hosted pool is idle. */
  async onIdle(): Promise<void> {
    await this.#request({ t: 'idle', rid: 0, pool: this.name }, decodeNothing)
  }

  /** Resolves once fewer than `limit` tasks are parked in the hosted pool. */
  async onSizeLessThan(limit: number): Promise<void> {
    if (typeof limit !== 'number' || !(limit >= 1)) {
      throw new InvalidOptionError(`Expected \`limit\` to be a number >= 1, got ${String(limit)}`, 'limit')
    }
    await this.#request({ t: 'size-below', rid: 0, pool: this.name, limit }, decodeNothing)
  }

  /** Sets the hosted pool's capacity (the worker slots tabs lend stay as they are). A refusal is an `error` event. */
  /** Asks the host to move a parked task to another priority; see `Pool.setPriority`. */
  setPriority(id: string, priority: Priority): Promise<boolean> {
    return this.#request({ t: 'set-priority', rid: 0, pool: this.name, id, priority }, d.boolean)
  }

  setCapacity(capacity: CapacityInput): void {
    this.#request({ t: 'set-capacity', rid: 0, pool: this.name, capacity }, decodeNothing).catch((error: unknown) =>
      this.#emitter.emit('error', { error, context: 'setCapacity' }),
    )
  }

  /** Pauses the hosted pool, for every tab. */
  pause(): void {
    this.#send({ t: 'pause', pool: this.name })
  }

  resume(): void {
    this.#send({ t: 'resume', pool: this.name })
  }

  /** Loads an instance of one of the hosted pool's models; see `ResourcePool.preload`. */
  async preload(model: string): Promise<void> {
    await this.#request({ t: 'preload', rid: 0, pool: this.name, model }, decodeNothing)
  }

  /** Unloads every instance of one of the hosted pool's models; see `ResourcePool.unload`. */
  async unload(model: string): Promise<void> {
    await this.#request({ t: 'unload', rid: 0, pool: this.name, model }, decodeNothing)
  }

  /** Cancels every parked and retrying task of the hosted pool; how many. */
  clear(): Promise<number> {
    return this.#request({ t: 'clear', rid: 0, pool: this.name }, decodeCount)
  }

  on<K extends keyof SharedPoolEventMap<R, C>>(event: K, listener: Listener<SharedPoolEventMap<R, C>[K]>): () => void {
    this.#subscribe(event as string)
    return this.#emitter.on(event, listener)
  }

  once<K extends keyof SharedPoolEventMap<R, C>>(event: K, listener: Listener<SharedPoolEventMap<R, C>[K]>): () => void {
    this.#subscribe(event as string)
    return this.#emitter.once(event, listener)
  }

  off<K extends keyof SharedPoolEventMap<R, C>>(event: K, listener: Listener<SharedPoolEventMap<R, C>[K]>): void {
    this.#emitter.off(event, listener)
  }

  /**
   * Leaves the pool (the pool itself lives on in its host): this tab's workers are withdrawn (their
   * tasks re-run elsewhere); requests in flight reject with `BackendError` (they may or may not
   * have been done); the handles this tab follows turn `detached` and reject with
   * `TaskDetachedError` (their tasks go on in the host, outcomes to their mailbox). Later calls
   * are refused with `PoolClosedError`.
   */
  /** Closes this tab's connection (the pool lives on in its host); the runs this tab lends stop, with or without `abort`. */
  async close(options?: CloseOptions): Promise<void> {
    optionalBoolean(optionsObject(options, { abort: 1 }, 'options').abort, 'abort')
    if (this.#closed) return
    this.#send({ t: 'bye' })
    this.#shutdown(
      new BackendError(
        `This tab's connection to pool \`${this.name}\` closed while this request was in flight; it may or may not have been done`,
      ),
    )
    const detached = new TaskDetachedError(
      `This tab's connection to pool \`${this.name}\` closed; the task goes on in its host and its outcome goes to its mailbox`,
    )
    for (const task of [...this.#tasks.values()]) {
      task.status = 'detached'
      this.#end(task, false, detached)
    }
    await this.workers?.terminate()
  }

  // ─── Joining a host ────────────────────────────────────────────────────────

  /** @internal Takes the tab lock, says hello, lends the workers, and checks the pool exists. */
  start(): Promise<void> {
    return (this.#ready ??= this.#start())
  }

  async #start(): Promise<void> {
    const lock = TAB_LOCK_PREFIX + this.clientId
    await new Promise<void>((granted) => {
      void navigator.locks.request(lock, () => {
        granted()
        return new Promise<void>((release) => (this.#releaseLock = release))
      })
    })
    this.#joined ??= this.#handshake()
    // A new leader during the handshake starts another; this tab is ready once the latest succeeds.
    for (;;) {
      const joining: Promise<void> | undefined = this.#joined
      try {
        await joining
        if (joining === this.#joined) {
          this.#started = true
          return
        }
      } catch (error) {
        if (joining === this.#joined) throw error
      }
    }
  }

  async #handshake(): Promise<void> {
    this.#send({ t: 'hello', client: this.clientId, lock: TAB_LOCK_PREFIX + this.clientId, user: this.user, session: this.session })
    this.#lastSnapshot = await this.#request({ t: 'snapshot', rid: 0, pool: this.name }, decodeSnapshot)
    this.#attach()
    // `size`, `pending` and `isPaused` follow the host's pushed snapshots.
    this.#send({ t: 'on', pool: this.name, event: 'snapshot' })
  }

  /** Lends this tab's free slots: those still running work for a previous host are not free yet. */
  #attach(): void {
    if (this.workers === undefined) return
    const slots = this.workers.size * this.workers.concurrency - this.#staleRuns.size
    const handlers = this.workers.handlerNames()
    this.#send({ t: 'attach', pool: this.name, slots, handlers: handlers === undefined ? undefined : [...handlers] })
  }

  /**
   * @internal A new host took over (leader mode): what was in flight with the old one is
   * answered here, then this tab introduces itself again and follows its open tasks on the new host.
   */
  async rejoin(): Promise<void> {
    const epoch = ++this.#epoch
    const overtaken = (): boolean => epoch !== this.#epoch || this.#closed
    this.#abandonRequests(
      new BackendError(`The tab hosting pool \`${this.name}\` closed while this request was in flight; it may or may not have been done`),
    )
    // Runs for the old host: the new one re-runs what its queue recovered. Their slots are lent
    // again as each one stops.
    for (const [call, controller] of this.#runs) {
      this.#staleRuns.add(call)
      controller.abort(new BackendError(`The tab hosting pool \`${this.name}\` closed`))
    }
    this.#runs.clear()
    this.#unloadAll()
    const joining = this.#handshake()
    this.#joined = joining
    try {
      await joining
    } catch (error) {
      if (overtaken()) return // a newer host took over; its own rejoin goes on
      throw error
    }
    if (overtaken()) return
    for (const event of this.#subscribed) this.#send({ t: 'on', pool: this.name, event })
    for (const [id, task] of [...this.#tasks]) {
      let view: TaskView | undefined
      try {
        view = await this.#request({ t: 'get', rid: 0, pool: this.name, id }, d.optional(decodeTaskView))
      } catch (error) {
        if (overtaken()) return
        throw error
      }
      if (overtaken()) return
      if (view !== undefined) task.update(view)
      else
        this.#end(
          task,
          false,
          new WorkerCrashedError(`Task ${id} was lost with the tab that hosted pool \`${this.name}\` (its queue is not durable)`),
        )
    }
  }

  /** @internal Something failed where nobody awaits it (a malformed message, dropped): an `error` event. */
  reportError(error: unknown, context: string): void {
    this.#emitter.emit('error', { error, context })
  }

  /** @internal The host that was to serve failed to start (leader mode): what waits on it fails with why. */
  hostFailed(error: Error): void {
    this.#abandonRequests(error)
    // Before this tab joined, its connect rejects with the error instead.
    if (this.#started) this.#emitter.emit('error', { error, context: 'the shared pool host failed to start' })
  }

  /** @internal */
  requestCancel(id: string, reason: unknown): void {
    this.#send({
      t: 'cancel',
      pool: this.name,
      id,
      reason: reason === undefined ? undefined : String(reason instanceof Error ? reason.message : reason),
    })
  }

  /** @internal A task ended: its handle settles, and this tab stops following it. */
  forget(task: RemoteTask<R, C>): void {
    if (this.#tasks.get(task.id) === task) this.#tasks.delete(task.id)
  }

  // ─── Messages ──────────────────────────────────────────────────────────────

  #subscribe(event: string): void {
    if (this.#subscribed.has(event)) return
    this.#subscribed.add(event)
    if (!this.#closed) this.#send({ t: 'on', pool: this.name, event })
  }

  #abandonRequests(error: Error): void {
    const requests = [...this.#requests.values()]
    this.#requests.clear()
    for (const request of requests) request.reject(error)
  }

  #shutdown(error: Error): void {
    this.#closed = true
    this.#releaseLock?.()
    this.#abandonRequests(error)
    for (const controller of this.#runs.values()) controller.abort(error)
    this.port.close?.()
    this.#onClose?.()
  }

  /** The handle of a task this tab submitted or looked up: it follows the task until it ends. */
  #follow(view: TaskView, signal: AbortSignal | undefined): TaskHandle<R, C> {
    let task = this.#tasks.get(view.id)
    if (task === undefined) {
      // The host watches every task it answers about, so its end will come (even if it ended already).
      task = new RemoteTask<R, C>(this, view)
      this.#tasks.set(view.id, task)
    } else {
      task.update(view)
    }
    const handle = task.handle
    if (signal !== undefined) {
      if (signal.aborted) handle.cancel(signal.reason)
      else signal.addEventListener('abort', () => handle.cancel(signal.reason), { once: true })
    }
    return handle
  }

  #end(task: RemoteTask<R, C>, ok: boolean, value: unknown): void {
    task.end(ok, value)
    this.forget(task)
  }

  #send(message: TabMessage): void {
    this.port.postMessage(message)
  }

  #request<T>(message: TabRequest, decode: d.Decoder<T>): Promise<T> {
    if (this.#closed) return Promise.reject(new PoolClosedError(`This tab's connection to pool \`${this.name}\` is closed`))
    const rid = this.#nextRequest++
    return new Promise<T>((resolve, reject) => {
      this.#requests.set(rid, { resolve: resolve as (value: unknown) => void, reject, decode })
      this.#send({ ...message, rid })
    })
  }

  #arrive(data: unknown): void {
    let message: HostMessage
    try {
      message = decodeHostMessage(data, 'host message')
    } catch (error) {
      this.#emitter.emit('error', { error, context: 'a malformed message from the shared pool host was dropped' })
      return
    }
    this.#receive(message)
  }

  #receive(message: HostMessage): void {
    switch (message.t) {
      case 'reply': {
        const request = this.#requests.get(message.rid)
        if (request === undefined) return
        this.#requests.delete(message.rid)
        if (!message.ok) return request.reject(fromWire(message.error))
        try {
          request.resolve(request.decode(message.value, 'reply'))
        } catch (error) {
          request.reject(new BackendError(`The shared pool host sent a malformed reply: ${(error as Error).message}`, { cause: error }))
        }
        return
      }
      case 'status':
        this.#tasks.get(message.id)?.setStatus(message.status, message.attempt)
        return
      case 'end': {
        const task = this.#tasks.get(message.view.id)
        if (task === undefined) return
        task.update(message.view)
        if (message.ok) this.#end(task, true, message.value)
        else this.#end(task, false, message.error === undefined ? new BackendError('The task failed in its host') : fromWire(message.error))
        return
      }
      case 'chunk':
        this.#tasks.get(message.id)?.chunk(message.chunk as C)
        return
      case 'event':
        return this.#event(message)
      case 'snapshot-push':
        this.#lastSnapshot = message.snapshot
        for (const [id, position] of message.positions) this.#tasks.get(id)?.setPosition(position)
        this.#emitter.emit('snapshot', message.snapshot)
        return
      case 'run':
        return this.#run(message.call, message.payload, message.attempt, message.task, message.instance)
      case 'load-model':
        return this.#loadModel(message.call, message.model, message.instance)
      case 'unload-model':
        return this.#unloadModel(message.call, message.key)
      case 'abort-load':
        return this.#loadAborts.get(message.call)?.abort(new Error('the host gave up on this load (loadTimeoutMs)'))
      case 'abort': {
        const error = new Error(message.reason)
        error.name = 'AbortError'
        this.#runs.get(message.call)?.abort(error)
        return
      }
    }
  }

  /** A pool event the host forwards: errors are rebuilt; a task event carries a handle (the host follows the task for this tab). */
  #event(message: Extract<HostMessage, { t: 'event' }>): void {
    const data: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(message.data)) {
      const wrapped = value as { __error?: unknown } | null
      data[name] = typeof wrapped === 'object' && wrapped !== null && wrapped.__error !== undefined ? this.#errorOf(wrapped.__error) : value
    }
    const view = message.view
    if (view !== undefined) {
      if (this.#tasks.has(view.id) || !isTerminal(view.status)) {
        data['task'] = this.#follow(view, undefined)
      } else {
        // The end of a task this tab does not follow: its handle is settled from the event.
        const ended = new RemoteTask<R, C>(this, view)
        ended.end(view.status === 'completed', view.status === 'completed' ? data['result'] : data['error'])
        data['task'] = ended.handle
      }
    }
    this.#emitter.emit(message.event as keyof PoolEventMap<R, C>, data as never)
  }

  /** An error an event carries; one that does not decode is reported and stands in as a BackendError. */
  #errorOf(wire: unknown): Error {
    try {
      return fromWire(decodeWireError(wire, 'event error'))
    } catch (error) {
      this.reportError(error, 'an event from the shared pool host carried a malformed error')
      return new BackendError('The shared pool host sent an error that does not decode', { cause: error })
    }
  }

  /**
   * Loads a model instance in this tab's workers for the host; its key is the host's call id.
   * Keys are the host's: one that a newer host (leader mode) overtook is unloaded and never
   * answered, since the newer host reuses the numbers.
   */
  #loadModel(call: number, model: string, instance: string): void {
    const workers = this.workers
    const epoch = this.#epoch
    const current = (): boolean => epoch === this.#epoch && !this.#closed
    const reply = (ok: boolean, value: unknown): void => {
      if (current()) this.#send({ t: 'ran', pool: this.name, call, ok, value: ok ? null : toWire(value) })
    }
    if (workers === undefined) return reply(false, new WorkerCrashedError('This tab lent no workers'))
    let loaded: unknown
    const lost = (error: Error): void => {
      if (!current() || this.#instances.get(call) !== loaded) return
      this.#instances.delete(call)
      this.#send({ t: 'model-lost', pool: this.name, key: call, reason: error.message })
    }
    const aborts = new AbortController()
    this.#loadAborts.set(call, aborts)
    const loading = workers.loadModel(model, { instance, lost, signal: aborts.signal }).then(
      (value) => {
        loaded = value
        if (!current()) return void this.#unloadQuietly(value)
        this.#instances.set(call, value)
        reply(true, null)
      },
      (error: unknown) => reply(false, error),
    )
    this.#loading.set(call, loading)
    void loading.finally(() => {
      // Only this load's entries: a newer host may have reused the key meanwhile.
      if (this.#loading.get(call) === loading) this.#loading.delete(call)
      if (this.#loadAborts.get(call) === aborts) this.#loadAborts.delete(call)
    })
  }

  #unloadModel(call: number, key: number): void {
    const epoch = this.#epoch
    const reply = (ok: boolean, value: unknown): void => {
      if (epoch === this.#epoch && !this.#closed) this.#send({ t: 'ran', pool: this.name, call, ok, value: ok ? null : toWire(value) })
    }
    // An unload asked while the load is in flight waits for it, then unloads what it made.
    void Promise.resolve(this.#loading.get(key)).then(() => {
      const loaded = this.#instances.get(key)
      this.#instances.delete(key)
      Promise.resolve(loaded === undefined ? undefined : this.workers?.unloadModel(loaded)).then(
        () => reply(true, null),
        (error: unknown) => reply(false, error),
      )
    })
  }

  /** Instances loaded for a host that is gone: its successor knows nothing of them, so they go. */
  #unloadAll(): void {
    const loaded = [...this.#instances.values()]
    this.#instances.clear()
    for (const instance of loaded) this.#unloadQuietly(instance)
  }

  #unloadQuietly(instance: unknown): void {
    this.workers?.unloadModel(instance).catch((error: unknown) => this.reportError(error, 'unloading a model instance of a previous host'))
  }

  /** Runs a task the host handed to this tab on this tab's workers (on the instance `instance` it loaded here, for a model task). */
  #run(call: number, payload: unknown, attempt: number, task: TaskInfo, instance?: number): void {
    const workers = this.workers
    const controller = new AbortController()
    const reply = (ok: boolean, value: unknown) => {
      if (this.#runs.get(call) !== controller) {
        // A previous host's run (call ids restart with each host): free its slot, send nothing.
        if (this.#staleRuns.delete(call) && !this.#closed) this.#attach()
        return
      }
      this.#runs.delete(call)
      if (this.#closed) return
      if (ok) this.#send({ t: 'ran', pool: this.name, call, ok: true, value })
      else this.#send({ t: 'ran', pool: this.name, call, ok: false, value: toWire(value) })
    }
    if (workers === undefined) {
      this.#send({ t: 'ran', pool: this.name, call, ok: false, value: toWire(new WorkerCrashedError('This tab lent no workers')) })
      return
    }
    const model = instance === undefined ? undefined : this.#instances.get(instance)
    if (instance !== undefined && model === undefined) {
      this.#send({
        t: 'ran',
        pool: this.name,
        call,
        ok: false,
        value: toWire(new WorkerCrashedError(`Model instance ${instance} is not loaded in this tab`)),
      })
      return
    }
    this.#runs.set(call, controller)
    const ctx = {
      signal: controller.signal,
      attempt,
      task,
      model,
      emit: (chunk: unknown) => {
        if (!this.#closed) this.#send({ t: 'ran-chunk', pool: this.name, call, chunk })
      },
    }
    workers.execute(payload, ctx).then(
      (value) => reply(true, value),
      (error: unknown) => reply(false, error),
    )
  }
}

/** A mailbox key with every field (the wire form); a malformed one is refused by the host. */
function wireKey(key: MailboxKey): { tenant: string; user: string | undefined; session: string | undefined } {
  return { tenant: key.tenant, user: key.user, session: key.session }
}

/**
 * A submit checked in the tab, as the pool would check it, before anything is posted: its
 * payload must survive `postMessage` (the part that would not is named), its options must be
 * known ones; the signal stays in the tab.
 */
function splitSignal(payload: unknown, options: SubmitOptions): { signal: AbortSignal | undefined; rest: Record<string, unknown> } {
  if (typeof options !== 'object' || options === null) refuse('options', 'an object', options)
  onlyKnownKeys(options, SUBMIT_KEYS, '')
  const problem = checkCloneable(payload, 'payload')
  if (problem !== undefined) throw new InvalidPayloadError(`\`${problem.path}\` ${problem.reason}; the task was not accepted`, problem.path)
  const { signal, ...rest } = options
  if (signal !== undefined && !(signal instanceof AbortSignal))
    throw new InvalidOptionError('Expected `signal` to be an AbortSignal', 'signal')
  if (signal?.aborted === true)
    throw new TaskCancelledError('The signal was already aborted; the task was not accepted', { cause: signal.reason })
  return { signal, rest }
}

/** A TypedEmitter this module may emit on. */
class Emitter<M extends object> extends TypedEmitter<M> {
  override emit<K extends keyof M>(name: K, event: M[K]): void {
    super.emit(name, event)
  }
}

/** A task's state as this tab knows it; the host keeps it current for followed tasks. */
class RemoteTask<R, C> implements TaskControl<R, C> {
  readonly handle: TaskHandle<R, C>
  readonly id: string
  readonly priority: Priority
  readonly cost: Record<string, number>
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  readonly handler: string | undefined
  readonly submittedAt: number
  status: TaskStatus
  attempt: number
  #position: number | undefined
  readonly #chunks: C[] = []
  #chunksEnded = false
  #wake: (() => void) | undefined
  #ready: Promise<void> | undefined
  readonly #result: Promise<R>
  #settle!: (ok: boolean, value: unknown) => void

  constructor(
    readonly pool: SharedPool<unknown, R, C>,
    view: TaskView,
  ) {
    this.id = view.id
    this.priority = view.priority
    this.cost = view.cost
    this.tenant = view.tenant
    this.mailbox = view.mailbox
    this.key = view.key
    this.handler = view.handler
    this.submittedAt = view.submittedAt
    this.status = view.status
    this.attempt = view.attempt
    this.#position = view.position
    this.#result = new Promise<R>((resolve, reject) => {
      this.#settle = (ok, value) => (ok ? resolve(value as R) : reject(value as Error))
    })
    this.#result.catch(() => {}) // like a local handle: a rejection nobody awaits is not reported
    this.handle = makeHandle<R, C>(this)
  }

  update(view: TaskView): void {
    this.status = view.status
    this.attempt = view.attempt
    this.#position = view.position
  }

  setStatus(status: TaskStatus, attempt: number): void {
    this.status = status
    this.attempt = attempt
    if (status !== 'parked') this.#position = undefined
  }

  setPosition(position: number): void {
    this.#position = position
  }

  position(): number | undefined {
    return this.status === 'parked' ? this.#position : undefined
  }

  result(): Promise<R> {
    return this.#result
  }

  end(ok: boolean, value: unknown): void {
    this.#position = undefined
    if (!isTerminal(this.status) && this.status !== 'detached') this.status = ok ? 'completed' : 'failed'
    this.#settle(ok, value)
    // The host sends a task's chunks before its end, so the stream is complete now.
    this.#chunksEnded = true
    this.#notify()
  }

  chunk(chunk: C): void {
    // Chunks the host sent before it heard of this tab's cancel are not the caller's any more.
    if (this.#chunksEnded) return
    this.#chunks.push(chunk)
    this.#notify()
  }

  progressAt(index: number): ProgressStep<C> {
    if (index < this.#chunks.length) return { kind: 'chunk', chunk: this.#chunks[index]! }
    if (this.#chunksEnded) return { kind: 'end' }
    this.#ready ??= new Promise<void>((resolve) => (this.#wake = resolve))
    return { kind: 'wait', ready: this.#ready }
  }

  cancel(reason?: unknown): boolean {
    if (isTerminal(this.status) || this.status === 'detached') return false
    this.pool.requestCancel(this.id, reason)
    // As in the pool itself: once cancelled, no further chunk reaches `progress`.
    this.#chunksEnded = true
    this.#notify()
    return true
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    this.#ready = undefined
    wake?.()
  }
}

/** An id for this tab's browsing session: kept in sessionStorage, so a reload keeps it. */
function tabSession(): string {
  const key = 'prometheus-parking-lot:session'
  try {
    const known = sessionStorage.getItem(key)
    if (known !== null) return known
    const id = crypto.randomUUID()
    sessionStorage.setItem(key, id)
    return id
  } catch {
    return crypto.randomUUID() // no sessionStorage here (a worker): a session per connection
  }
}
