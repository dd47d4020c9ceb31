/*
 * The shared side of a pool every tab uses: runs in a SharedWorker (or in the leader tab where
 * SharedWorker is missing). It owns the budget, the lot and the durable queue. Tasks run either
 * in the host (pools given an `executor`, e.g. GPU work: WebGPU works in a SharedWorker) or on
 * dedicated workers that tabs own and register (pools without one; a SharedWorker cannot start
 * workers). A tab that closes is noticed through its Web Lock: its slots leave the capacity and
 * its running tasks fail with WorkerCrashedError, so they re-run elsewhere with attempt + 1.
 *
 * Every message from a tab is decoded on arrival (protocol.ts); one that does not decode is
 * dropped with an `error` event.
 */
import type { CapacityInput, ResourceVector } from '../../core/capacity.js'
import { BackendError, InvalidOptionError, WorkerCrashedError } from '../../core/errors.js'
import { TypedEmitter } from '../../core/events.js'
import type { Executor, ModelLoadContext, TaskContext } from '../../core/executor.js'
import { chunksSoFar, type TaskHandle } from '../../core/handle.js'
import type { MailboxKey, Priority } from '../../core/types.js'
import { isTerminal } from '../../core/types.js'
import type { PoolOptions, SubmitOptions } from '../../core/options.js'
import type { PoolEventMap } from '../../core/pool.js'
import { INFO_FIELDS } from '../../core/record.js'
import { ModelPool } from '../../model-pool.js'
import { ResourcePool } from '../../pool.js'
import { decodeWireError, fromWire, toWire } from '../wire-errors.js'
import { decodeTabMessage, type HostMessage, type Port, type TabMessage, type TaskView } from './protocol.js'
import { checkCloneable } from '../../core/storable.js'
import { checkHandlerName } from '../handler-names.js'
import { optionalString, optionsObject } from '../../core/validate.js'

/** A hosted pool: a `ModelPool` when its options declare `models`, else a `ResourcePool`. */
export type HostedPoolOf<P, R> = ResourcePool<P, R> | ModelPool<P, R>

/** A pool definition: ResourcePool options (ModelPool's with `models`); leave out `executor` to run tasks on the tabs' workers. */
export type SharedPoolOptions<P, R> = Omit<PoolOptions<P, R>, 'executor'> & { readonly executor?: PoolOptions<P, R>['executor'] }

export interface SharedPoolHostOptions {
  /** The default mailbox tenant of tasks that give none. @default location.origin */
  readonly tenant?: string
}

/** What the host reports where nobody awaits it: a malformed message from a tab (dropped). */
export interface SharedPoolHostEventMap {
  error: { readonly error: unknown; readonly context: string }
}

const SNAPSHOT_EVENTS = [
  'submitted',
  'parked',
  'started',
  'completed',
  'failed',
  'expired',
  'dropped',
  'cancelled',
  'retrying',
  'loading',
  'loaded',
  'unloaded',
] as const

/**
 * Hosts pools for every tab of an origin.
 *
 * @example
 * // shared-worker.ts, opened by connectSharedPool(new URL('./shared-worker.ts', import.meta.url), 'cpu')
 * const host = new SharedPoolHost()
 * host.addPool('cpu', { capacity: {}, queue: new IndexedDBQueue({ name: 'cpu' }) })
 * host.listen()
 */
export class SharedPoolHost extends TypedEmitter<SharedPoolHostEventMap> {
  readonly tenant: string
  readonly #pools = new Map<string, HostedPool>()
  readonly #connections = new Set<Connection>()
  #starting: Promise<void> | undefined
  #closed = false

  constructor(options: SharedPoolHostOptions = {}) {
    super()
    optionsObject(options, { tenant: 1 } satisfies Record<keyof SharedPoolHostOptions, 1>, 'options')
    this.tenant = optionalString(options.tenant, 'tenant') ?? (typeof location === 'object' ? location.origin : 'local')
  }

  /** Creates the pool `name`. Tasks run on the tabs' workers unless `options.executor` is given. */
  addPool<P, R>(name: string, options: SharedPoolOptions<P, R>): HostedPoolOf<P, R> {
    if (typeof name !== 'string' || name === '') throw new InvalidOptionError('Expected a pool name (a non-empty string)', 'name')
    if (this.#pools.has(name)) throw new InvalidOptionError(`A pool named \`${name}\` is already hosted`, 'name')
    const tabs = options.executor === undefined ? new TabsExecutor(name) : undefined
    // On the tabs' workers, `workers` starts at 0 (so `capacity: {}` is fine): tasks park until a tab lends some.
    const capacity = tabs === undefined ? options.capacity : { ...asVector(options.capacity), workers: 0 }
    const resolved = {
      ...options,
      name: options.name ?? name,
      capacity,
      executor: options.executor ?? (tabs as unknown as Executor<P, R>),
    } as PoolOptions<P, R>
    const pool = options.models === undefined ? new ResourcePool<P, R>(resolved) : new ModelPool<P, R>(resolved)
    this.#pools.set(name, new HostedPool(name, pool as HostedPoolOf<unknown, unknown>, tabs, options.capacity))
    return pool
  }

  /**
   * Adds a pool whose options take a while (a durable queue that must wait for the previous
   * host's lock, a GPU probe). Call `listen()` first: tabs that connect meanwhile are served once
   * it is ready (every message waits, in order), and recovery of its queue is done by then.
   */
  async addPoolLater<P, R>(name: string, options: Promise<SharedPoolOptions<P, R>>): Promise<HostedPoolOf<P, R>> {
    const added = options.then(async (resolved) => {
      const pool = this.addPool(name, resolved)
      await pool.ready
      return pool
    })
    const settled = added.then(
      () => {},
      () => {},
    )
    const before = this.#starting
    const starting = (before === undefined ? settled : Promise.all([before, settled]).then(() => {})).then(() => {
      if (this.#starting === starting) this.#starting = undefined
    })
    this.#starting = starting
    this.#adding.push(added)
    return added
  }

  readonly #adding: Promise<unknown>[] = []

  /** Resolves once every pool is ready (durable queues recovered); rejects with why one could not be added or opened. */
  async whenReady(): Promise<void> {
    await this.#starting
    await Promise.all(this.#adding)
    await Promise.all([...this.#pools.values()].map((hosted) => hosted.pool.ready))
  }

  /** @internal Resolves when every pool added with `addPoolLater` is ready; undefined when none is pending. */
  get starting(): Promise<void> | undefined {
    return this.#starting
  }

  pool<P = unknown, R = unknown>(name: string): HostedPoolOf<P, R> | undefined {
    return this.#pools.get(name)?.pool as HostedPoolOf<P, R> | undefined
  }

  /** Tabs connected now. */
  get connections(): number {
    return this.#connections.size
  }

  /** Serves tabs that connect to this SharedWorker. */
  listen(scope: { addEventListener(type: 'connect', listener: (event: MessageEvent) => void): void } = globalThis as never): void {
    scope.addEventListener('connect', (event) => {
      for (const port of event.ports) this.connect(port)
    })
  }

  /** Serves one tab's connection. */
  connect(port: Port): void {
    const connection = new Connection(this, port)
    this.#connections.add(connection)
    port.addEventListener('message', (event: MessageEvent) => {
      let message: TabMessage
      try {
        message = decodeTabMessage(event.data, 'tab message')
      } catch (error) {
        this.report(error, 'a malformed message from a tab was dropped')
        return
      }
      connection.receive(message)
    })
    port.start?.()
  }

  /** Closes every pool (durable queues keep their parked tasks for the next host). */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    for (const connection of [...this.#connections]) connection.gone()
    await Promise.all([...this.#pools.values()].map((hosted) => hosted.pool.close()))
  }

  /** @internal */
  report(error: unknown, context: string): void {
    this.emit('error', { error, context })
  }

  /** @internal */
  hosted(name: string): HostedPool {
    const hosted = this.#pools.get(name)
    if (hosted === undefined) {
      const known = [...this.#pools.keys()].map((n) => `\`${n}\``).join(', ') || 'none'
      throw new InvalidOptionError(`The shared host has no pool \`${name}\`; it hosts ${known}`, 'name')
    }
    return hosted
  }

  /** @internal */
  dropConnection(connection: Connection): void {
    this.#connections.delete(connection)
    for (const hosted of this.#pools.values()) hosted.detach(connection)
  }
}

/** @internal One hosted pool and who watches what in it. */
class HostedPool {
  /** Tabs to tell when a task changes, by task id. */
  readonly watchers = new Map<string, Set<Connection>>()
  /** Tabs told of each event, with the pool listener that tells them (removed when no tab is left). */
  readonly #eventSubscribers = new Map<string, { readonly tabs: Set<Connection>; readonly off: () => void }>()
  readonly #snapshotSubscribers = new Set<Connection>()
  #watchingForSnapshots = false
  #snapshotTimer: ReturnType<typeof setTimeout> | undefined
  #baseCapacity: CapacityInput

  constructor(
    readonly name: string,
    readonly pool: HostedPoolOf<unknown, unknown>,
    readonly tabs: TabsExecutor | undefined,
    baseCapacity: CapacityInput,
  ) {
    this.#baseCapacity = baseCapacity
    pool.on('started', ({ task, attempt }) => this.#status(task, attempt))
    pool.on('retrying', ({ task }) => this.#status(task, task.attempt))
    // Chunks go to every watcher as they are made, in order before the task's end.
    pool.on('progress', ({ task, chunk }) => {
      const set = this.watchers.get(task.id)
      if (set === undefined) return
      for (const connection of set) connection.send({ t: 'chunk', pool: this.name, id: task.id, chunk })
    })
    if (tabs !== undefined) this.#resize() // `workers` starts at 0: tasks park until a tab lends workers
  }

  /** Tells `connection` of the task's chunks (those so far, then as they come) and its end. */
  watch(connection: Connection, handle: TaskHandle<unknown>): void {
    if (handle.status !== 'parked') {
      for (const chunk of chunksSoFar(handle)) connection.send({ t: 'chunk', pool: this.name, id: handle.id, chunk })
    }
    let set = this.watchers.get(handle.id)
    if (set === undefined) {
      set = new Set()
      this.watchers.set(handle.id, set)
      // Every watched task reports its end once, to whoever watches then.
      handle.result.then(
        (value) => this.#end(handle, true, value),
        (error: unknown) => this.#end(handle, false, error),
      )
    }
    set.add(connection)
  }

  attach(connection: Connection, slots: number, handlers: readonly string[] | undefined): void {
    if (this.tabs === undefined) return // this pool runs its tasks in the host
    this.tabs.slots.set(connection, slots)
    if (handlers !== undefined) this.tabs.handlers.set(connection, handlers)
    this.#resize()
  }

  detach(connection: Connection): void {
    for (const set of this.watchers.values()) set.delete(connection)
    for (const [event, subscribers] of this.#eventSubscribers) {
      subscribers.tabs.delete(connection)
      if (subscribers.tabs.size > 0) continue
      subscribers.off() // the pool's own `error` reporting, say, comes back when no tab listens
      this.#eventSubscribers.delete(event)
    }
    this.#snapshotSubscribers.delete(connection)
    this.tabs?.handlers.delete(connection)
    if (this.tabs?.slots.delete(connection) === true) this.#resize()
    // With its slots gone from the capacity, fail what ran there: the scheduler retries it elsewhere.
    this.tabs?.abandon(connection)
  }

  /** A tab's `setCapacity`: the pool's own resources; the worker slots tabs lend stay the tabs'. */
  setCapacity(capacity: CapacityInput): void {
    if (this.tabs === undefined) {
      this.pool.setCapacity(capacity)
    } else {
      asVector(capacity) // refuse a malformed capacity before it replaces the base
      this.#baseCapacity = capacity
      this.#resize()
    }
    this.#scheduleSnapshot()
  }

  subscribe(connection: Connection, event: string): void {
    if (event === 'snapshot') {
      if (!this.#watchingForSnapshots) {
        this.#watchingForSnapshots = true
        for (const name of SNAPSHOT_EVENTS) this.pool.on(name, () => this.#scheduleSnapshot())
        this.pool.on('idle', () => this.#scheduleSnapshot())
      }
      this.#snapshotSubscribers.add(connection)
      this.#scheduleSnapshot()
      return
    }
    let subscribers = this.#eventSubscribers.get(event)
    if (subscribers === undefined) {
      const off = this.pool.on(event as keyof PoolEventMap<unknown>, (data: object) => this.#forwardEvent(event, data))
      subscribers = { tabs: new Set(), off }
      this.#eventSubscribers.set(event, subscribers)
    }
    subscribers.tabs.add(connection)
  }

  /** Fresh state pushed soon to snapshot subscribers (after pause and resume, say). */
  changed(): void {
    this.#scheduleSnapshot()
  }

  #resize(): void {
    let slots = 0
    for (const n of this.tabs?.slots.values() ?? []) slots += n
    this.pool.setCapacity({ ...asVector(this.#baseCapacity), workers: slots })
    this.#scheduleSnapshot() // a capacity change is news too
  }

  #status(task: TaskHandle<unknown>, attempt: number): void {
    const set = this.watchers.get(task.id)
    if (set === undefined) return
    for (const connection of set) connection.send({ t: 'status', pool: this.name, id: task.id, status: task.status, attempt })
  }

  #end(handle: TaskHandle<unknown>, ok: boolean, valueOrError: unknown): void {
    const set = this.watchers.get(handle.id)
    this.watchers.delete(handle.id)
    if (set === undefined) return
    const view = viewOf(handle)
    for (const connection of set) {
      if (ok) connection.send({ t: 'end', pool: this.name, view, ok: true, value: valueOrError, error: undefined })
      else connection.send({ t: 'end', pool: this.name, view, ok: false, value: undefined, error: toWire(valueOrError) })
    }
  }

  #forwardEvent(event: string, data: object): void {
    const set = this.#eventSubscribers.get(event)?.tabs
    if (set === undefined || set.size === 0) return
    let handle: TaskHandle<unknown> | undefined
    const rest: Record<string, unknown> = {}
    for (const [name, value] of Object.entries(data)) {
      if (name === 'task') handle = value as TaskHandle<unknown>
      else rest[name] = value instanceof Error ? { __error: toWire(value) } : value
    }
    const view = handle === undefined ? undefined : viewOf(handle)
    for (const connection of set) {
      // A tab told of a live task follows it (its handle settles when the task ends).
      if (handle !== undefined && !isTerminal(handle.status) && handle.status !== 'detached') this.watch(connection, handle)
      connection.send({ t: 'event', pool: this.name, event, view, data: rest })
    }
  }

  #scheduleSnapshot(): void {
    if (this.#snapshotTimer !== undefined || this.#snapshotSubscribers.size === 0) return
    // Coalesced: a burst of events costs one snapshot per subscriber.
    this.#snapshotTimer = setTimeout(() => {
      this.#snapshotTimer = undefined
      const snapshot = this.pool.snapshot()
      for (const connection of this.#snapshotSubscribers) {
        const positions: [string, number][] = []
        for (const [id, set] of this.watchers) {
          if (!set.has(connection)) continue
          const position = this.pool.get(id)?.position
          if (position !== undefined) positions.push([id, position])
        }
        connection.send({ t: 'snapshot-push', pool: this.name, snapshot, positions })
      }
    }, 30)
  }
}

/** A model instance a tab loaded in its workers for the host: the `ctx.model` of its tasks here. */
interface TabInstance {
  readonly connection: Connection
  readonly key: number
  readonly ctx: ModelLoadContext
}

/** A load or unload a tab was asked for. */
interface TabRequest {
  readonly connection: Connection
  readonly unload: boolean
  resolve(): void
  reject(error: unknown): void
}

/**
 * @internal A pool's executor that runs each task on a worker slot some tab registered. Model
 * instances load in a tab's workers (the tab lending the most free slots and the fewest
 * instances); their tasks run in that tab; a tab that closes takes its instances with it.
 */
class TabsExecutor implements Executor<unknown, unknown> {
  readonly checkValue = checkCloneable
  readonly costPerTask: ResourceVector = Object.freeze({ workers: 1 })
  readonly elasticResources = ['workers']
  readonly #calls = new Map<number, { connection: Connection; ctx: TaskContext; resolve(v: unknown): void; reject(e: unknown): void }>()
  readonly #requests = new Map<number, TabRequest>()
  readonly #instances = new Map<number, TabInstance>()
  readonly #busy = new Map<Connection, number>()
  /** Worker slots each tab registered for this pool. */
  readonly slots = new Map<Connection, number>()
  /** The handlers each tab's workers announced. */
  readonly handlers = new Map<Connection, readonly string[]>()
  #nextCall = 1
  #rotation = 0

  constructor(readonly poolName: string) {}

  /** Refuses a handler no tab's workers define, once some tab's workers announced theirs. */
  checkHandler(handler: string | undefined): void {
    checkHandlerName(handler, this.handlers.size === 0 ? undefined : [...new Set([...this.handlers.values()].flat())])
  }

  loadModel(model: string, ctx: ModelLoadContext): Promise<TabInstance> {
    const connection = this.#pick(true)
    if (connection === undefined) return Promise.reject(new WorkerCrashedError(`No tab lends workers to load model '${model}' in`))
    const key = this.#nextCall++
    const instance: TabInstance = Object.freeze({ connection, key, ctx })
    this.#instances.set(key, instance)
    // The pool gave up on the load (loadTimeoutMs): the tab is told to stop it (its WorkerPool ends that worker).
    ctx.signal.addEventListener(
      'abort',
      () => {
        if (this.#requests.has(key)) connection.send({ t: 'abort-load', call: key, pool: this.poolName })
      },
      { once: true },
    )
    return this.#request(connection, false, { t: 'load-model', call: key, pool: this.poolName, model, instance: ctx.instance }).then(
      () => instance,
      (error: unknown) => {
        this.#instances.delete(key)
        throw error
      },
    )
  }

  /** Asks the tab that holds it to unload it; done at once if that tab is gone. */
  async unloadModel(value: unknown): Promise<void> {
    const instance = this.#instanceOf(value)
    if (instance === undefined || !this.#instances.delete(instance.key)) return
    const call = this.#nextCall++
    await this.#request(instance.connection, true, { t: 'unload-model', call, pool: this.poolName, key: instance.key })
  }

  /** A tab says an instance it loaded died on its own. */
  lost(connection: Connection, key: number, reason: string): void {
    const instance = this.#instances.get(key)
    if (instance === undefined || instance.connection !== connection) return
    this.#instances.delete(key)
    instance.ctx.lost(new WorkerCrashedError(reason))
  }

  #request(connection: Connection, unload: boolean, message: HostMessage & { readonly call: number }): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#requests.set(message.call, { connection, unload, resolve, reject })
      connection.send(message)
    })
  }

  #instanceOf(value: unknown): TabInstance | undefined {
    const key = (value as { key?: unknown } | undefined)?.key
    const instance = typeof key === 'number' ? this.#instances.get(key) : undefined
    return instance === value ? instance : undefined
  }

  execute(payload: unknown, ctx: TaskContext): Promise<unknown> {
    const instance = ctx.model === undefined ? undefined : this.#instanceOf(ctx.model)
    if (ctx.model !== undefined && instance === undefined) {
      return Promise.reject(new WorkerCrashedError(`The tab that held the model instance of task ${ctx.task.id} is gone`))
    }
    // A task on a model instance runs in the tab whose workers hold it.
    const connection = instance?.connection ?? this.#pick(false)
    if (connection === undefined) {
      return Promise.reject(new WorkerCrashedError(`No tab has a free worker slot for pool \`${this.poolName}\``))
    }
    const call = this.#nextCall++
    this.#busy.set(connection, (this.#busy.get(connection) ?? 0) + 1)
    return new Promise((resolve, reject) => {
      this.#calls.set(call, { connection, ctx, resolve, reject })
      connection.send({ t: 'run', call, pool: this.poolName, payload, attempt: ctx.attempt, task: ctx.task, instance: instance?.key })
      const signal = ctx.signal
      const onAbort = () => {
        const reason = signal.reason as unknown
        connection.send({ t: 'abort', call, reason: reason instanceof Error ? reason.message : String(reason) })
      }
      if (signal.aborted) onAbort()
      else signal.addEventListener('abort', onAbort, { once: true })
    })
  }

  settle(connection: Connection, call: number, ok: boolean, value: unknown): void {
    const request = this.#requests.get(call)
    if (request !== undefined && request.connection === connection) {
      this.#requests.delete(call)
      if (ok) request.resolve()
      else request.reject(value)
      return
    }
    const entry = this.#calls.get(call)
    if (entry === undefined || entry.connection !== connection) return
    this.#calls.delete(call)
    this.#busy.set(connection, this.#busy.get(connection)! - 1)
    if (ok) entry.resolve(value)
    else entry.reject(value)
  }

  chunk(connection: Connection, call: number, chunk: unknown): void {
    const entry = this.#calls.get(call)
    if (entry !== undefined && entry.connection === connection) entry.ctx.emit(chunk)
  }

  /** The tab is gone (its worker with it): its calls fail as crashes, so they are retried. */
  abandon(connection: Connection): void {
    this.#busy.delete(connection)
    // Its workers are gone with it: so are the instances they held (their units free now).
    const gone = new WorkerCrashedError('The tab holding this model instance closed or crashed')
    for (const [key, instance] of [...this.#instances]) {
      if (instance.connection !== connection) continue
      this.#instances.delete(key)
      instance.ctx.lost(gone)
    }
    for (const [call, request] of [...this.#requests]) {
      if (request.connection !== connection) continue
      this.#requests.delete(call)
      if (request.unload) request.resolve()
      else request.reject(gone)
    }
    for (const [call, entry] of [...this.#calls]) {
      if (entry.connection !== connection) continue
      this.#calls.delete(call)
      entry.reject(new WorkerCrashedError(`The tab running task ${entry.ctx.task.id} closed or crashed`))
    }
  }

  /**
   * The tab with the most free slots; ties rotate, so every tab's workers take turns. For a load,
   * any tab that lends slots, fewest instances first (a load runs beside its tasks).
   */
  #pick(forLoad: boolean): Connection | undefined {
    const entries = [...this.slots]
    const start = this.#rotation++ % Math.max(1, entries.length)
    let best: Connection | undefined
    let bestScore = forLoad ? -Infinity : 0
    for (let i = 0; i < entries.length; i++) {
      const [connection, slots] = entries[(start + i) % entries.length]!
      if (slots === 0) continue
      const free = slots - (this.#busy.get(connection) ?? 0)
      const score = forLoad ? -this.#instancesIn(connection) * 1000 + free : free
      if (score > bestScore) {
        best = connection
        bestScore = score
      }
    }
    return best
  }

  #instancesIn(connection: Connection): number {
    let n = 0
    for (const instance of this.#instances.values()) if (instance.connection === connection) n++
    return n
  }
}

/** @internal One tab's connection. */
class Connection {
  client = ''
  user: string | undefined
  session = ''
  alive = true

  constructor(
    readonly host: SharedPoolHost,
    readonly port: Port,
  ) {}

  send(message: HostMessage): void {
    if (!this.alive) return
    try {
      this.port.postMessage(message)
    } catch (error) {
      // A result or chunk that cannot be cloned: the tab gets an error in its place.
      if (message.t === 'end' && message.ok) this.port.postMessage({ ...message, value: undefined, ok: false, error: toWire(error) })
      else if (message.t === 'reply' && message.ok) this.port.postMessage({ t: 'reply', rid: message.rid, ok: false, error: toWire(error) })
      else throw error
    }
  }

  receive(message: TabMessage): void {
    const starting = this.host.starting
    // While a pool is being added, every message waits behind it, in arrival order.
    if (starting !== undefined) starting.then(() => this.#receiveNow(message))
    else this.#receiveNow(message)
  }

  #receiveNow(message: TabMessage): void {
    if (!this.alive) return
    try {
      this.#handle(message)
    } catch (error) {
      if ('rid' in message) this.send({ t: 'reply', rid: message.rid, ok: false, error: toWire(error) })
      else this.host.report(error, `handling a '${message.t}' message from a tab`)
    }
  }

  #handle(message: TabMessage): void {
    switch (message.t) {
      case 'hello':
        this.client = message.client
        this.user = message.user
        this.session = message.session
        // Granted only once the tab's own hold on it ends: when the tab closes or crashes.
        void navigator.locks.request(message.lock, () => this.gone())
        return
      case 'attach':
        return this.host.hosted(message.pool).attach(this, message.slots, message.handlers)
      case 'submit': {
        const hosted = this.host.hosted(message.pool)
        hosted.pool.submit(message.payload, this.#withMailbox(message.options)).then(
          (handle) => {
            // The reply first: the tab makes the task's handle from it before chunks arrive.
            this.send({ t: 'reply', rid: message.rid, ok: true, value: viewOf(handle) })
            hosted.watch(this, handle)
          },
          (error: unknown) => this.send({ t: 'reply', rid: message.rid, ok: false, error: toWire(error) }),
        )
        return
      }
      case 'submit-all': {
        const hosted = this.host.hosted(message.pool)
        const items = message.items.map((item) => ({ payload: item.payload, options: this.#withMailbox(item.options) }))
        hosted.pool.submitAll(items).then(
          (handles) => {
            this.send({ t: 'reply', rid: message.rid, ok: true, value: handles.map(viewOf) })
            for (const handle of handles) hosted.watch(this, handle)
          },
          (error: unknown) => this.send({ t: 'reply', rid: message.rid, ok: false, error: toWire(error) }),
        )
        return
      }
      case 'cancel':
        this.host.hosted(message.pool).pool.get(message.id)?.cancel(message.reason)
        return
      case 'get': {
        const hosted = this.host.hosted(message.pool)
        const handle = hosted.pool.get(message.id)
        this.send({ t: 'reply', rid: message.rid, ok: true, value: handle === undefined ? undefined : viewOf(handle) })
        if (handle !== undefined) hosted.watch(this, handle)
        return
      }
      case 'snapshot':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.snapshot())
      case 'stats':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.stats())
      case 'fetch':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.mailbox.fetch(message.key, message.options))
      case 'ack':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.mailbox.ack(message.key, message.ids))
      case 'clear':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.clear())
      case 'preload':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.preload(message.model))
      case 'unload':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.unload(message.model))
      case 'idle':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.onIdle())
      case 'size-below':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.onSizeLessThan(message.limit))
      case 'set-capacity':
        return this.#reply(message.rid, this.host.hosted(message.pool).setCapacity(message.capacity as CapacityInput))
      case 'set-priority':
        return this.#reply(message.rid, this.host.hosted(message.pool).pool.setPriority(message.id, message.priority as Priority))
      case 'pause':
      case 'resume': {
        const hosted = this.host.hosted(message.pool)
        if (message.t === 'pause') hosted.pool.pause()
        else hosted.pool.resume()
        return hosted.changed()
      }
      case 'on':
        return this.host.hosted(message.pool).subscribe(this, message.event)
      case 'ran':
        return this.host
          .hosted(message.pool)
          .tabs?.settle(this, message.call, message.ok, message.ok ? message.value : errorFromTab(message.value))
      case 'ran-chunk':
        return this.host.hosted(message.pool).tabs?.chunk(this, message.call, message.chunk)
      case 'model-lost':
        return this.host.hosted(message.pool).tabs?.lost(this, message.key, message.reason)
      case 'bye':
        return this.gone()
    }
  }

  /** Tasks without a mailbox key are addressed to the submitting tab's session. */
  #withMailbox(options: Readonly<Record<string, unknown>> | undefined): SubmitOptions {
    const given = { ...options } as SubmitOptions & { mailbox?: MailboxKey }
    given.mailbox ??= { tenant: given.tenant ?? this.host.tenant, user: this.user, session: this.session }
    return given
  }

  #reply(rid: number, value: unknown): void {
    Promise.resolve(value).then(
      (v) => this.send({ t: 'reply', rid, ok: true, value: v }),
      (error: unknown) => this.send({ t: 'reply', rid, ok: false, error: toWire(error) }),
    )
  }

  gone(): void {
    if (!this.alive) return
    this.alive = false
    this.host.dropConnection(this)
    this.port.close?.()
  }
}

/** A run's error as a tab sent it; one that does not decode still fails the run, saying so. */
function errorFromTab(value: unknown): Error {
  try {
    return fromWire(decodeWireError(value, 'error'))
  } catch (error) {
    return new BackendError(`The tab that ran the task sent an error that does not decode: ${(error as Error).message}`, { cause: error })
  }
}

/** A capacity as an object: a plain number `n` is `{ slots: n }`. */
function asVector(capacity: CapacityInput): ResourceVector {
  if (typeof capacity === 'number') return { slots: capacity }
  if (typeof capacity !== 'object' || capacity === null)
    throw new InvalidOptionError('Expected `capacity` to be a number or an object of resource units', 'capacity')
  return capacity
}

/** What a tab is told of a task: its info fields (the field table's), status, attempt and position. */
function viewOf(handle: TaskHandle<unknown>): TaskView {
  const view: Record<string, unknown> = { status: handle.status, attempt: handle.attempt, position: handle.position }
  const fields = handle as unknown as Record<string, unknown>
  for (const name of INFO_FIELDS) view[name] = name === 'cost' ? { ...handle.cost } : fields[name]
  return view as TaskView
}
