/*
 * The tab side of a shared pool: `connectSharedPool` gives a tab the pool API (submit, handles
 * with result/progress/cancel, get, events, snapshot, mailbox) backed by a SharedPoolHost, and
 * lends the host this tab's workers. The tab holds a Web Lock for as long as it lives; the host
 * waits on that lock to learn when the tab is gone.
 */
import { BackendError, InvalidOptionError, PoolClosedError, WorkerCrashedError } from '../../core/errors.js'
import { TypedEmitter } from '../../core/events.js'
import { makeHandle, type ProgressStep, type TaskControl, type TaskHandle } from '../../core/handle.js'
import type { FetchOptions, FetchResult } from '../../core/mailbox.js'
import type { SubmitOptions } from '../../core/options.js'
import type { PoolEventMap, PoolSnapshot } from '../../core/scheduler.js'
import type { MailboxKey, Priority, TaskStatus } from '../../core/types.js'
import { WorkerPool, type WorkerPoolOptions } from '../worker-pool.js'
import { fromWire, toWire, type WireError } from '../wire-errors.js'
import type { SharedPoolHost } from './host.js'
import { connectThroughLeader } from './leader.js'
import { TAB_LOCK_PREFIX, type HostMessage, type Port, type TabMessage, type TaskView } from './protocol.js'

export interface ConnectSharedPoolOptions {
  /** This tab's workers, lent to the host for pools that run on the tabs: a WorkerPool, or options to make one. */
  readonly workers?: WorkerPool<unknown, unknown> | WorkerPoolOptions
  /** The default mailbox key's user. */
  readonly user?: string
  /** The default mailbox key's session. @default an id kept in sessionStorage (it survives reloads of this tab) */
  readonly session?: string
  /** The SharedWorker's name (one host per name). @default 'prometheus-parking-lot' */
  readonly workerName?: string
  /**
   * Makes the SharedWorker, for bundlers that must see it: `() => new SharedWorker(new
   * URL('./host.ts', import.meta.url), { type: 'module', name })`. Then `url` only names it in errors.
   */
  readonly createWorker?: () => SharedWorker
  /** A port to a host you connected yourself (tests, or a host in this page); skips the SharedWorker. */
  readonly port?: Port
  /**
   * Builds the host in this tab when it is elected leader: used where SharedWorker is missing, or
   * always with `mode: 'leader'`. Tabs elect one leader with a Web Lock and talk to it over
   * BroadcastChannel; when it closes, the next tab in line builds the host and recovers the queue.
   */
  readonly createHost?: () => SharedPoolHost | Promise<SharedPoolHost>
  /** `'auto'`: a SharedWorker where there is one, else leader election. @default 'auto' */
  readonly mode?: 'auto' | 'shared-worker' | 'leader'
}

/** Pool events, plus `snapshot`: the pool's state, pushed after changes (coalesced). */
export type SharedPoolEventMap<R> = PoolEventMap<R> & { snapshot: PoolSnapshot }

/**
 * Connects this tab to the pool `name` hosted by the SharedWorker at `url`.
 *
 * @example
 * const pool = await connectSharedPool<Job, string>(new URL('./host.ts', import.meta.url), 'gpu', {
 *   workers: { url: new URL('./worker.ts', import.meta.url) },
 * })
 * const task = await pool.submit(job, { cost: { vram: 4 }, handler: 'generate' })
 */
export async function connectSharedPool<P = unknown, R = unknown>(
  url: string | URL,
  name: string,
  options: ConnectSharedPoolOptions = {},
): Promise<SharedPool<P, R>> {
  if (typeof name !== 'string' || name === '') throw new InvalidOptionError('Expected a pool name (a non-empty string)', 'name')
  const mode = options.mode ?? 'auto'
  if (options.port === undefined && (mode === 'leader' || (mode === 'auto' && typeof SharedWorker === 'undefined'))) {
    if (options.createHost === undefined) {
      throw new InvalidOptionError(
        mode === 'leader'
          ? "`mode: 'leader'` needs `createHost`: the function that builds the host in the elected tab"
          : 'This browser has no SharedWorker; pass `createHost` so that tabs can elect a leader to host the pool',
        'createHost',
      )
    }
    return connectThroughLeader<P, R>(name, options, options.createHost)
  }
  let port = options.port
  let worker: SharedWorker | undefined
  if (port === undefined) {
    if (typeof SharedWorker === 'undefined') {
      throw new InvalidOptionError("This browser has no SharedWorker (`mode: 'shared-worker'` was asked for)", 'mode')
    }
    worker = options.createWorker?.() ?? new SharedWorker(url, { type: 'module', name: options.workerName ?? 'prometheus-parking-lot' })
    port = worker.port
  }
  const pool = new SharedPool<P, R>(name, port, lentWorkers(options), options)
  const failed = new Promise<never>((_, reject) => {
    worker?.addEventListener('error', () => reject(new WorkerCrashedError(`The shared pool host at ${String(url)} failed to start`)))
  })
  await Promise.race([pool.start(), failed])
  return pool
}

/** A pool hosted elsewhere (a SharedWorker or the leader tab), used from this tab. */
export class SharedPool<P = unknown, R = unknown> {
  readonly clientId: string
  readonly user: string | undefined
  readonly session: string
  readonly #emitter = new Emitter<SharedPoolEventMap<R>>()
  readonly #subscribed = new Set<string>()
  readonly #tasks = new Map<string, RemoteTask<R>>()
  readonly #requests = new Map<number, { resolve(value: unknown): void; reject(error: Error): void }>()
  readonly #runs = new Map<number, AbortController>()
  /** Runs of a previous host (leader mode) that have not stopped yet, by call id. */
  readonly #staleRuns = new Set<number>()
  #nextRequest = 1
  #releaseLock: (() => void) | undefined
  #closed = false
  #lastSnapshot: PoolSnapshot | undefined

  /** @internal Use `connectSharedPool`. */
  constructor(
    readonly name: string,
    readonly port: Port,
    /** This tab's workers lent to the host, if any. */
    readonly workers: WorkerPool<unknown, unknown> | undefined,
    options: ConnectSharedPoolOptions,
    clientId: string = crypto.randomUUID(),
  ) {
    this.clientId = clientId
    this.user = options.user
    this.session = options.session ?? tabSession()
    port.addEventListener('message', (event: MessageEvent) => this.#receive(event.data as HostMessage))
    port.start?.()
  }

  /** @internal Takes the tab lock, says hello, lends the workers, and checks the pool exists. */
  async start(): Promise<void> {
    const lock = TAB_LOCK_PREFIX + this.clientId
    await new Promise<void>((granted) => {
      void navigator.locks.request(lock, () => {
        granted()
        return new Promise<void>((release) => (this.#releaseLock = release))
      })
    })
    await this.#handshake()
  }

  async #handshake(): Promise<void> {
    this.#send({ t: 'hello', client: this.clientId, lock: TAB_LOCK_PREFIX + this.clientId, user: this.user, session: this.session })
    this.#lastSnapshot = (await this.#request({ t: 'snapshot', rid: 0, pool: this.name })) as PoolSnapshot
    this.#attach()
  }

  /** Lends this tab's free slots: those still running work for a previous host are not free yet. */
  #attach(): void {
    if (this.workers === undefined) return
    this.#send({ t: 'attach', pool: this.name, slots: this.workers.size * this.workers.concurrency - this.#staleRuns.size })
  }

  /**
   * @internal A new host took over (leader mode): what was in flight with the old one is
   * answered here, then this tab introduces itself again and follows its open tasks on the new host.
   */
  async rejoin(): Promise<void> {
    const lost = new BackendError(
      `The tab hosting pool \`${this.name}\` closed while this request was in flight; it may or may not have been done`,
    )
    for (const request of this.#requests.values()) request.reject(lost)
    this.#requests.clear()
    // Runs for the old host: the new one re-runs what its queue recovered. Their slots are lent
    // again as each one stops.
    for (const [call, controller] of this.#runs) {
      this.#staleRuns.add(call)
      controller.abort(lost)
    }
    this.#runs.clear()
    await this.#handshake()
    for (const event of this.#subscribed) this.#send({ t: 'on', pool: this.name, event })
    for (const [id, task] of this.#tasks) {
      if (isTerminal(task.status)) continue
      const view = (await this.#request({ t: 'get', rid: 0, pool: this.name, id })) as TaskView | undefined
      if (view !== undefined) task.update(view)
      else
        task.end(
          false,
          new WorkerCrashedError(`Task ${id} was lost with the tab that hosted pool \`${this.name}\` (its queue is not durable)`),
        )
    }
  }

  /** Submits a task to the shared pool; resolves once the host accepted it (or rejects with why not). */
  async submit(payload: P, options: SubmitOptions = {}): Promise<TaskHandle<R>> {
    if (this.#closed) throw new PoolClosedError(`This tab's connection to pool \`${this.name}\` is closed`)
    const { signal, ...rest } = options
    const view = (await this.#request({ t: 'submit', rid: 0, pool: this.name, payload, options: rest })) as TaskView
    const handle = this.#handleFor(view)
    if (signal !== undefined) {
      if (signal.aborted) handle.cancel(signal.reason)
      else signal.addEventListener('abort', () => handle.cancel(signal.reason), { once: true })
    }
    return handle
  }

  /** The task with this id, if the host still knows it; its handle then follows the task. */
  async get(id: string): Promise<TaskHandle<R> | undefined> {
    const view = (await this.#request({ t: 'get', rid: 0, pool: this.name, id })) as TaskView | undefined
    return view === undefined ? undefined : this.#handleFor(view)
  }

  /** The pool's state, asked of the host now. */
  async snapshot(): Promise<PoolSnapshot> {
    this.#lastSnapshot = (await this.#request({ t: 'snapshot', rid: 0, pool: this.name })) as PoolSnapshot
    return this.#lastSnapshot
  }

  /** The latest snapshot this tab received (from `snapshot()` or a `snapshot` event). */
  get lastSnapshot(): PoolSnapshot | undefined {
    return this.#lastSnapshot
  }

  /** The pool's mailbox, read through the host. */
  get mailbox(): {
    fetch(key: MailboxKey, options?: FetchOptions): Promise<FetchResult<R>>
    ack(key: MailboxKey, ids: readonly string[]): Promise<number>
  } {
    return {
      fetch: async (key, options) => (await this.#request({ t: 'fetch', rid: 0, pool: this.name, key, options })) as FetchResult<R>,
      ack: async (key, ids) => (await this.#request({ t: 'ack', rid: 0, pool: this.name, key, ids })) as number,
    }
  }

  /** This tab's default mailbox key (the host addresses tasks without one to it). */
  mailboxKey(tenant: string = location.origin): MailboxKey {
    return { tenant, user: this.user, session: this.session }
  }

  on<K extends keyof SharedPoolEventMap<R>>(event: K, listener: (data: SharedPoolEventMap<R>[K]) => void): () => void {
    if (!this.#subscribed.has(event as string)) {
      this.#subscribed.add(event as string)
      this.#send({ t: 'on', pool: this.name, event: event as string })
    }
    return this.#emitter.on(event, listener)
  }

  off<K extends keyof SharedPoolEventMap<R>>(event: K, listener: (data: SharedPoolEventMap<R>[K]) => void): void {
    this.#emitter.off(event, listener)
  }

  /** Leaves the pool: this tab's workers are withdrawn (their tasks re-run elsewhere) and open requests fail. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#send({ t: 'bye' })
    this.#shutdown(new PoolClosedError(`This tab's connection to pool \`${this.name}\` is closed`))
    await this.workers?.terminate()
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

  #shutdown(error: Error): void {
    this.#closed = true
    this.#releaseLock?.()
    for (const request of this.#requests.values()) request.reject(error)
    this.#requests.clear()
    for (const controller of this.#runs.values()) controller.abort(error)
    this.port.close?.()
  }

  #handleFor(view: TaskView): TaskHandle<R> {
    let task = this.#tasks.get(view.id)
    if (task === undefined) {
      task = new RemoteTask<R>(this, view)
      this.#tasks.set(view.id, task)
    } else {
      task.update(view)
    }
    return task.handle
  }

  #send(message: TabMessage): void {
    this.port.postMessage(message)
  }

  #request(message: TabMessage & { rid: number }): Promise<unknown> {
    if (this.#closed) return Promise.reject(new PoolClosedError(`This tab's connection to pool \`${this.name}\` is closed`))
    const rid = this.#nextRequest++
    return new Promise((resolve, reject) => {
      this.#requests.set(rid, { resolve, reject })
      this.#send({ ...message, rid } as TabMessage)
    })
  }

  #receive(message: HostMessage): void {
    switch (message.t) {
      case 'reply': {
        const request = this.#requests.get(message.rid)
        if (request === undefined) return
        this.#requests.delete(message.rid)
        if (message.ok) request.resolve(message.value)
        else request.reject(fromWire(message.error))
        return
      }
      case 'status':
        this.#tasks.get(message.id)?.setStatus(message.status, message.attempt)
        return
      case 'end': {
        const task = this.#tasks.get(message.view.id)
        if (task === undefined) return
        task.update(message.view)
        if (message.ok) task.end(true, message.value)
        else task.end(false, fromWire(message.error))
        return
      }
      case 'chunk':
        this.#tasks.get(message.id)?.chunk(message.chunk)
        return
      case 'event': {
        const data: Record<string, unknown> = {}
        for (const [name, value] of Object.entries(message.data)) {
          const wrapped = value as { __error?: WireError } | null
          data[name] = typeof wrapped === 'object' && wrapped !== null && wrapped.__error !== undefined ? fromWire(wrapped.__error) : value
        }
        if (message.view !== undefined) data['task'] = this.#handleFor(message.view)
        this.#emitter.emit(message.event as keyof PoolEventMap<R>, data as never)
        return
      }
      case 'snapshot-push':
        this.#lastSnapshot = message.snapshot
        for (const [id, position] of message.positions) this.#tasks.get(id)?.setPosition(position)
        this.#emitter.emit('snapshot', message.snapshot)
        return
      case 'run':
        this.#run(message.call, message.payload, message.attempt, message.task)
        return
      case 'abort': {
        const error = new Error(message.reason)
        error.name = 'AbortError'
        this.#runs.get(message.call)?.abort(error)
        return
      }
    }
  }

  /** Runs a task the host handed to this tab on this tab's workers. */
  #run(call: number, payload: unknown, attempt: number, task: Extract<HostMessage, { t: 'run' }>['task']): void {
    const workers = this.workers
    const controller = new AbortController()
    const reply = (ok: boolean, value: unknown) => {
      if (this.#runs.get(call) !== controller) {
        // A previous host's run (call ids restart with each host): free its slot, send nothing.
        if (this.#staleRuns.delete(call) && !this.#closed) this.#attach()
        return
      }
      this.#runs.delete(call)
      if (!this.#closed) this.#send({ t: 'ran', pool: this.name, call, ok, value: ok ? value : toWire(value) })
    }
    if (workers === undefined) {
      this.#send({ t: 'ran', pool: this.name, call, ok: false, value: toWire(new WorkerCrashedError('This tab lent no workers')) })
      return
    }
    this.#runs.set(call, controller)
    const ctx = {
      signal: controller.signal,
      attempt,
      task,
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

/** @internal The workers a tab lends: the given WorkerPool, or one made from the given options. */
export function lentWorkers(options: ConnectSharedPoolOptions): WorkerPool<unknown, unknown> | undefined {
  const { workers } = options
  return workers === undefined ? undefined : workers instanceof WorkerPool ? workers : new WorkerPool(workers)
}

/** A TypedEmitter this module may emit on. */
class Emitter<M extends object> extends TypedEmitter<M> {
  override emit<K extends keyof M>(name: K, event: M[K]): void {
    super.emit(name, event)
  }
}

/** A task's state as this tab knows it; the host keeps it current for watched tasks. */
class RemoteTask<R> implements TaskControl<R> {
  readonly handle: TaskHandle<R>
  readonly id: string
  readonly priority: Priority
  readonly cost: Record<string, number>
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  readonly submittedAt: number
  status: TaskStatus
  attempt: number
  #position: number | undefined
  readonly #chunks: unknown[] = []
  #chunksEnded = false
  #wake: (() => void) | undefined
  #ready: Promise<void> | undefined
  readonly #result: Promise<R>
  #settle!: (ok: boolean, value: unknown) => void

  constructor(
    readonly pool: SharedPool<unknown, R>,
    view: TaskView,
  ) {
    this.id = view.id
    this.priority = view.priority
    this.cost = view.cost
    this.tenant = view.tenant
    this.mailbox = view.mailbox
    this.key = view.key
    this.submittedAt = view.submittedAt
    this.status = view.status
    this.attempt = view.attempt
    this.#position = view.position
    this.#result = new Promise<R>((resolve, reject) => {
      this.#settle = (ok, value) => (ok ? resolve(value as R) : reject(value as Error))
    })
    this.#result.catch(() => {}) // like a local handle: a rejection nobody awaits is not reported
    this.handle = makeHandle<R, unknown>(this)
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
    if (!isTerminal(this.status)) this.status = ok ? 'completed' : 'failed'
    this.#settle(ok, value)
    // The host sends a task's chunks before its end, so the stream is complete now.
    this.#chunksEnded = true
    this.#notify()
  }

  chunk(chunk: unknown): void {
    this.#chunks.push(chunk)
    this.#notify()
  }

  progressAt(index: number): ProgressStep {
    if (index < this.#chunks.length) return { kind: 'chunk', chunk: this.#chunks[index] }
    if (this.#chunksEnded) return { kind: 'end' }
    this.#ready ??= new Promise<void>((resolve) => (this.#wake = resolve))
    return { kind: 'wait', ready: this.#ready }
  }

  cancel(reason?: unknown): boolean {
    if (isTerminal(this.status)) return false
    this.pool.requestCancel(this.id, reason)
    return true
  }

  #notify(): void {
    const wake = this.#wake
    this.#wake = undefined
    this.#ready = undefined
    wake?.()
  }
}

function isTerminal(status: TaskStatus): boolean {
  return status !== 'parked' && status !== 'running' && status !== 'retrying'
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
