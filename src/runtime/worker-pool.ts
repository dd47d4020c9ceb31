/*
 * The main-thread side of a Web Worker pool: an Executor for ResourcePool. It never queues: the
 * pool's capacity includes its slots (`workers`), so a task only reaches `execute` when a slot is
 * free. It owns the workers' lives: abort forwarding, hard timeouts, crash and hang detection, and
 * replacing a dead worker before the capacity of its tasks is freed.
 */
import { wrap, releaseProxy, type Remote } from 'comlink'
import type { ResourceVector } from '../core/capacity.js'
import { SystemClock, type TimerHandle } from '../core/clock.js'
import * as d from '../core/decode.js'
import { InvalidOptionError, WorkerCrashedError } from '../core/errors.js'
import { TypedEmitter } from '../core/events.js'
import type { Executor, ModelLoadContext, TaskContext } from '../core/executor.js'
import { onlyKnownKeys, optionalNumber, refuse } from '../core/validate.js'
import {
  ABORT,
  CHUNK,
  DONE,
  DROPPED,
  FAIL,
  FATAL,
  LOAD,
  LOST,
  NO_INSTANCE,
  READY,
  RUN,
  UNLOAD,
  decodeFromWorker,
  toTaskTuple,
  type FromWorkerOp,
  type InitMessage,
  type ToWorkerOp,
  type WorkerControl,
} from './protocol.js'
import { transferablesOf } from './transfer.js'
import { fromWire, type WireError } from './wire-errors.js'
import { checkCloneable, type ValueCheck } from '../core/storable.js'
import { checkHandlerName } from './handler-names.js'

export interface WorkerPoolOptions {
  /** The module worker's script (it calls `defineHandlers`). Give this or `create`. */
  readonly url?: string | URL
  /**
   * Makes one worker. Use it when a bundler must see the worker: `() => new Worker(new
   * URL('./worker.ts', import.meta.url), { type: 'module' })`.
   */
  readonly create?: () => Worker
  /** Workers to keep alive. @default navigator.hardwareConcurrency - 1, at least 1 */
  readonly size?: number
  /** Tasks one worker runs at once (for handlers that mostly await). @default 1 */
  readonly concurrency?: number
  /** After a cancel or run timeout, how long a worker may take to stop before it is terminated. @default 1000 */
  readonly abortGraceMs?: number
  /** A busy worker that misses a heartbeat this long is treated as hung and replaced; 0 turns it off. At most 2^31-1. @default 10000 */
  readonly heartbeatMs?: number
  /** Shown in the workers' names (devtools). @default 'parking-lot' */
  readonly name?: string
}

const WORKER_POOL_KEYS: Record<keyof WorkerPoolOptions, 1> = {
  url: 1,
  create: 1,
  size: 1,
  concurrency: 1,
  abortGraceMs: 1,
  heartbeatMs: 1,
  name: 1,
}

/** Why a worker left the pool. */
export interface WorkerExit {
  readonly worker: Worker
  readonly reason: 'crashed' | 'hung' | 'abort-timeout' | 'terminated'
  readonly description: string
}

export interface WorkerPoolEventMap {
  /** A worker left the pool, after it was terminated and before its tasks settle. */
  exit: WorkerExit
  /** The first worker is ready; `handlers` are the names it defines (every worker runs the same script). */
  ready: { readonly handlers: readonly string[] }
  /** A message across the worker boundary did not decode and was dropped (either side). */
  error: { readonly error: unknown; readonly context: string; readonly worker: Worker }
}

/** The longest delay a timer takes (about 24.8 days); `setInterval` with more fires at once. */
const MAX_INTERVAL_MS = 2 ** 31 - 1

interface Call {
  readonly ctx: TaskContext
  readonly resolve: (value: unknown) => void
  readonly reject: (error: unknown) => void
  onAbort: (() => void) | undefined
  graceTimer: TimerHandle | undefined
}

/**
 * A model instance a worker of the pool holds: what the scheduler gets from `loadModel` and
 * hands back as the task's `ctx.model`, so the task runs on that worker.
 */
export interface WorkerModelInstance {
  /** The worker's number (1 for the first started; replacements get new numbers). */
  readonly worker: number
  /** The instance's key in that worker. */
  readonly key: number
}

/** A load or unload in flight in a worker. */
interface Request {
  readonly resolve: () => void
  readonly reject: (error: unknown) => void
  /** An unload is done when its worker is gone; a load fails. */
  readonly unload: boolean
}

class Slot {
  readonly calls = new Map<number, Call>()
  readonly requests = new Map<number, Request>()
  /** Instances this worker holds (or is loading), by key: their `lost` is called if the worker dies. */
  readonly instances = new Map<number, ModelLoadContext>()
  ready = false
  alive = true
  pingOutstanding = false
  outbox: ToWorkerOp[] | undefined
  transfer: Transferable[] = []
  constructor(
    readonly worker: Worker,
    readonly control: Remote<WorkerControl>,
    readonly number: number,
  ) {}
}

/** Crashes in a row before any worker became ready: the script itself is broken. */
const MAX_LOAD_FAILURES = 3

/**
 * Runs tasks on a pool of module Web Workers whose handlers come from `defineHandlers`.
 *
 * @example
 * const workers = new WorkerPool<Job, string>({ url: new URL('./worker.ts', import.meta.url) })
 * const pool = new ResourcePool<Job, string>({ capacity: { vram: 20 }, executor: workers })
 * const task = await pool.submit(job, { handler: 'generate', cost: { vram: 5 } })
 */
export class WorkerPool<P = unknown, R = unknown> extends TypedEmitter<WorkerPoolEventMap> implements Executor<P, R> {
  readonly checkValue: ValueCheck = (payload, path) => checkCloneable(payload, path, transferablesOf(payload))
  /** The pool's slots, added to its capacity as `workers`. */
  readonly resources: ResourceVector
  /** Every task takes one slot. */
  readonly costPerTask: ResourceVector = Object.freeze({ workers: 1 })
  readonly size: number
  readonly concurrency: number
  readonly abortGraceMs: number
  readonly heartbeatMs: number

  readonly #create: () => Worker
  readonly #slots: Slot[] = []
  readonly #issued = new WeakSet<object>()
  // Long delays are re-armed in steps by the clock (a raw setTimeout above 2^31-1 ms fires at once).
  readonly #clock = new SystemClock()
  #nextId = 1
  #heartbeat: ReturnType<typeof setInterval> | undefined
  #loadFailures = 0
  #broken: Error | undefined
  #terminated = false
  #spawned = 0
  #exits = 0
  /** The handler names the first ready worker announced (every worker runs the same script). */
  #announced: readonly string[] | undefined

  constructor(options: WorkerPoolOptions) {
    super()
    if (typeof options !== 'object' || options === null) refuse('options', 'WorkerPool options: { url } or { create }', options)
    onlyKnownKeys(options, WORKER_POOL_KEYS, '')
    const { url, create, name = 'parking-lot' } = options
    if (create !== undefined && typeof create !== 'function') {
      throw new InvalidOptionError('Expected `create` to be a function returning a Worker', 'create')
    }
    if (create === undefined && !(typeof url === 'string' || url instanceof URL)) {
      throw new InvalidOptionError('Expected `url` (the module worker script) or `create`', 'url')
    }
    this.size = optionalNumber(options.size, 'size', { integer: true, min: 1 }) ?? defaultSize()
    this.concurrency = optionalNumber(options.concurrency, 'concurrency', { integer: true, min: 1 }) ?? 1
    this.abortGraceMs = optionalNumber(options.abortGraceMs, 'abortGraceMs', { min: 0 }) ?? 1000
    this.heartbeatMs = optionalNumber(options.heartbeatMs, 'heartbeatMs', { min: 0 }) ?? 10_000
    if (this.heartbeatMs > MAX_INTERVAL_MS) {
      throw new InvalidOptionError(
        `Expected \`heartbeatMs\` to be at most ${MAX_INTERVAL_MS} (about 24.8 days), got ${this.heartbeatMs}`,
        'heartbeatMs',
      )
    }
    this.resources = Object.freeze({ workers: this.size * this.concurrency })
    let n = 0
    this.#create = create ?? (() => new Worker(url!, { type: 'module', name: `${name}-${++n}` }))
    for (let i = 0; i < this.size; i++) this.#spawn()
  }

  /** Workers started so far, replacements included. */
  get spawned(): number {
    return this.#spawned
  }

  /** Workers that left: crashed, hung, overran an abort, or terminated. */
  get exits(): number {
    return this.#exits
  }

  /** Live workers (always `size` until `terminate`). */
  get workers(): readonly Worker[] {
    return this.#slots.map((slot) => slot.worker)
  }

  /** Tasks running now. */
  get running(): number {
    let n = 0
    for (const slot of this.#slots) n += slot.calls.size
    return n
  }

  /** Called each time a worker leaves the pool, after it was terminated and before its tasks settle (the `exit` event). */
  onExit(listener: (exit: WorkerExit) => void): () => void {
    return this.on('exit', listener)
  }

  /** The handler names the workers announced when ready; undefined until the first one is. */
  handlerNames(): readonly string[] | undefined {
    return this.#announced
  }

  /** Refuses a handler the workers do not define, once they announced theirs. */
  checkHandler(handler: string | undefined): void {
    checkHandlerName(handler, this.#announced)
  }

  /** The handler names the workers define (asks one worker over comlink). */
  async handlers(): Promise<string[]> {
    const slot = this.#slots[0]
    if (slot === undefined) throw new WorkerCrashedError('The WorkerPool has no live worker')
    const names: unknown = await slot.control.handlers()
    return d.array(d.string)(names, 'handlers()')
  }

  /**
   * Loads an instance of `model` in the worker that holds the fewest instances (the `ModelPool`
   * calls this for models that bring no loader; the worker's `defineHandlers` loaders do the work).
   */
  loadModel(model: string, ctx: ModelLoadContext): Promise<WorkerModelInstance> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken)
    let slot: Slot | undefined
    for (const candidate of this.#slots) {
      if (slot === undefined || candidate.instances.size < slot.instances.size) slot = candidate
    }
    if (slot === undefined) return Promise.reject(new WorkerCrashedError('The WorkerPool was terminated'))
    const key = this.#nextId++
    slot.instances.set(key, ctx)
    const chosen = slot
    // The pool gave up on this load (loadTimeoutMs): a worker stuck in a load is ended like one stuck in a task.
    ctx.signal.addEventListener(
      'abort',
      () => {
        if (chosen.instances.has(key))
          this.#crash(chosen, 'abort-timeout', `the load of model instance ${ctx.instance} was given up on (loadTimeoutMs)`)
      },
      { once: true },
    )
    return this.#request(slot, false, (id) => [LOAD, id, model, key, ctx.instance]).then(
      () => {
        const instance: WorkerModelInstance = Object.freeze({ worker: chosen.number, key })
        this.#issued.add(instance)
        return instance
      },
      (error: unknown) => {
        chosen.instances.delete(key)
        throw error
      },
    )
  }

  /** Unloads an instance `loadModel` made; done at once if its worker is gone. */
  async unloadModel(instance: unknown): Promise<void> {
    if (!this.#isInstance(instance)) return
    const slot = this.#slots.find((candidate) => candidate.number === instance.worker)
    if (slot === undefined || !slot.instances.delete(instance.key)) return
    await this.#request(slot, true, (id) => [UNLOAD, id, instance.key])
  }

  #request(slot: Slot, unload: boolean, op: (id: number) => ToWorkerOp): Promise<void> {
    const id = this.#nextId++
    return new Promise<void>((resolve, reject) => {
      slot.requests.set(id, { resolve, reject, unload })
      this.#post(slot, op(id), undefined)
      this.#armHeartbeat() // a worker that hangs in a load is noticed like one that hangs in a task
    })
  }

  /** One of the instances this pool's `loadModel` made (not any object with the same fields). */
  #isInstance(value: unknown): value is WorkerModelInstance {
    return typeof value === 'object' && value !== null && this.#issued.has(value)
  }

  execute(payload: P, ctx: TaskContext): Promise<R> {
    if (this.#broken !== undefined) return Promise.reject(this.#broken)
    const instance = ctx.model
    const placed = this.#isInstance(instance)
    // A task on a model instance runs on the worker that holds it (beside what else runs there: the model's maxParallel bounds it).
    const slot = placed ? this.#slots.find((candidate) => candidate.number === instance.worker) : this.#freeSlot()
    if (placed && slot === undefined) {
      return Promise.reject(new WorkerCrashedError(`The worker that held model instance ${instance.key} is gone`))
    }
    if (slot === undefined) {
      return Promise.reject(
        new WorkerCrashedError(
          this.#terminated
            ? 'The WorkerPool was terminated'
            : 'No free worker slot: the pool started more tasks than the WorkerPool has slots (is one WorkerPool shared by two pools?)',
        ),
      )
    }
    const id = this.#nextId++
    return new Promise<R>((resolve, reject) => {
      const call: Call = { ctx, resolve: resolve as (value: unknown) => void, reject, onAbort: undefined, graceTimer: undefined }
      slot.calls.set(id, call)
      const key = placed ? instance.key : NO_INSTANCE
      this.#post(slot, [RUN, id, payload, ctx.attempt, toTaskTuple(ctx.task), key], transferablesOf(payload))
      const signal = ctx.signal
      if (signal.aborted) this.#abort(slot, id, call)
      else {
        call.onAbort = () => this.#abort(slot, id, call)
        signal.addEventListener('abort', call.onAbort, { once: true })
      }
      this.#armHeartbeat()
    })
  }

  /** Terminates every worker; running tasks fail with `WorkerCrashedError`. */
  async terminate(): Promise<void> {
    if (this.#terminated) return
    this.#terminated = true
    if (this.#heartbeat !== undefined) clearInterval(this.#heartbeat)
    this.#heartbeat = undefined
    for (const slot of [...this.#slots]) this.#retire(slot, 'terminated', 'the WorkerPool was terminated', undefined)
  }

  /**
   * A worker with a free slot for a task without a model: one that holds the fewest model
   * instances first (their tasks must run where they are), then the least busy.
   */
  #freeSlot(): Slot | undefined {
    let best: Slot | undefined
    for (const slot of this.#slots) {
      if (slot.calls.size >= this.concurrency) continue
      if (
        best === undefined ||
        slot.instances.size < best.instances.size ||
        (slot.instances.size === best.instances.size && slot.calls.size < best.calls.size)
      ) {
        best = slot
      }
    }
    return best
  }

  #spawn(): void {
    const worker = this.#create()
    const channel = new MessageChannel()
    this.#spawned++
    const slot = new Slot(worker, wrap<WorkerControl>(channel.port1), this.#spawned)
    worker.postMessage({ init: channel.port2 } satisfies InitMessage, [channel.port2])
    worker.addEventListener('message', (event: MessageEvent) => {
      let ops: FromWorkerOp[]
      try {
        ops = decodeFromWorker(event.data, 'message')
      } catch (error) {
        this.emit('error', { error, context: 'a malformed message from a worker was dropped', worker })
        return
      }
      this.#receive(slot, ops)
    })
    worker.addEventListener('error', (event: ErrorEvent) => {
      // Handled here: the pool replaces the worker, so the page should not see an uncaught error.
      event.preventDefault()
      const where = event.filename ? ` (${event.filename}:${event.lineno})` : ''
      this.#crash(slot, 'crashed', `uncaught error in the worker: ${event.message || 'the script failed to load'}${where}`)
    })
    worker.addEventListener('messageerror', () => this.#crash(slot, 'crashed', 'a message from the worker could not be deserialized'))
    this.#slots.push(slot)
  }

  #post(slot: Slot, op: ToWorkerOp, transfer: Transferable[] | undefined): void {
    if (slot.outbox === undefined) {
      slot.outbox = []
      queueMicrotask(() => this.#flush(slot))
    }
    slot.outbox.push(op)
    if (transfer !== undefined) slot.transfer.push(...transfer)
  }

  #flush(slot: Slot): void {
    const ops = slot.outbox
    if (ops === undefined) return
    const transfer = slot.transfer
    slot.outbox = undefined
    slot.transfer = []
    if (!slot.alive) return
    try {
      slot.worker.postMessage(ops, transfer)
    } catch {
      // A payload that cannot be cloned fails its own call; the rest of the batch still goes.
      for (const op of ops) {
        try {
          slot.worker.postMessage([op])
        } catch (error) {
          const call = slot.calls.get(op[1])
          if (call === undefined) continue
          slot.calls.delete(op[1])
          this.#settle(call, false, error)
        }
      }
    }
  }

  #receive(slot: Slot, ops: FromWorkerOp[]): void {
    if (!slot.alive) return
    for (const op of ops) {
      switch (op[0]) {
        case DONE:
        case FAIL: {
          const request = slot.requests.get(op[1])
          if (request !== undefined) {
            slot.requests.delete(op[1])
            if (op[0] === DONE) request.resolve()
            else request.reject(op[3] ? fromWire(op[2] as WireError) : op[2])
            break
          }
          const call = slot.calls.get(op[1])
          if (call === undefined) break
          slot.calls.delete(op[1])
          if (op[0] === DONE) this.#settle(call, true, op[2])
          else this.#settle(call, false, op[3] ? fromWire(op[2] as WireError) : op[2])
          break
        }
        case CHUNK:
          slot.calls.get(op[1])?.ctx.emit(op[2])
          break
        case FATAL:
          this.#crash(slot, 'crashed', op[1])
          return
        case READY:
          slot.ready = true
          this.#loadFailures = 0
          if (this.#announced === undefined) {
            this.#announced = Object.freeze([...op[1]])
            this.emit('ready', { handlers: this.#announced })
          }
          break
        case DROPPED:
          this.emit('error', { error: new Error(op[1]), context: 'a worker dropped a malformed message', worker: slot.worker })
          break
        case LOST: {
          const ctx = slot.instances.get(op[1])
          slot.instances.delete(op[1])
          ctx?.lost(new Error(op[2]))
          break
        }
      }
    }
  }

  #settle(call: Call, ok: boolean, value: unknown): void {
    if (call.graceTimer !== undefined) this.#clock.clearTimeout(call.graceTimer)
    if (call.onAbort !== undefined) call.ctx.signal.removeEventListener('abort', call.onAbort)
    if (ok) call.resolve(value)
    else call.reject(value)
  }

  #abort(slot: Slot, id: number, call: Call): void {
    if (!slot.alive || !slot.calls.has(id)) return
    const reason = call.ctx.signal.reason as unknown
    this.#post(slot, [ABORT, id, reason instanceof Error ? reason.message : String(reason)], undefined)
    call.graceTimer = this.#clock.setTimeout(() => {
      if (!slot.calls.has(id)) return
      this.#crash(
        slot,
        'abort-timeout',
        `task ${call.ctx.task.id} did not stop within abortGraceMs (${this.abortGraceMs} ms) of its abort`,
        id,
      )
    }, this.abortGraceMs)
  }

  /** A worker died or must die: terminate it, replace it, then fail its calls. */
  #crash(slot: Slot, reason: WorkerExit['reason'], description: string, overranId?: number): void {
    if (!slot.alive) return
    if (!slot.ready && reason === 'crashed') this.#loadFailures++
    this.#retire(slot, reason, description, overranId)
    if (this.#terminated) return
    if (this.#loadFailures >= MAX_LOAD_FAILURES) {
      this.#broken = new WorkerCrashedError(`Workers keep dying before they start (${description}); the WorkerPool stopped replacing them`)
      return
    }
    this.#spawn()
  }

  #retire(slot: Slot, reason: WorkerExit['reason'], description: string, overranId: number | undefined): void {
    slot.alive = false
    slot.worker.terminate()
    slot.control[releaseProxy]()
    const index = this.#slots.indexOf(slot)
    if (index >= 0) this.#slots.splice(index, 1)
    this.#exits++
    this.emit('exit', { worker: slot.worker, reason, description })
    // Only now, with the worker gone, do its model instances free their units and its calls settle.
    const lost = new WorkerCrashedError(
      `The worker holding this instance ${reason === 'hung' ? 'stopped answering' : 'died'}: ${description}`,
    )
    const instances = [...slot.instances.values()]
    slot.instances.clear()
    for (const ctx of instances) ctx.lost(lost)
    const requests = [...slot.requests.values()]
    slot.requests.clear()
    for (const request of requests) {
      if (request.unload)
        request.resolve() // the instance is gone with its worker: that is an unload done
      else request.reject(lost)
    }
    const calls = [...slot.calls]
    slot.calls.clear()
    for (const [id, call] of calls) {
      const error =
        id === overranId
          ? (call.ctx.signal.reason as unknown)
          : new WorkerCrashedError(
              `The worker running task ${call.ctx.task.id} ${reason === 'hung' ? 'stopped answering' : 'died'}: ${description}`,
            )
      this.#settle(call, false, error)
    }
  }

  #armHeartbeat(): void {
    if (this.heartbeatMs === 0 || this.#heartbeat !== undefined) return
    this.#heartbeat = setInterval(() => this.#beat(), this.heartbeatMs)
  }

  /** Each beat pings the busy workers; one that has not answered the previous ping is hung. */
  #beat(): void {
    let busy = false
    for (const slot of [...this.#slots]) {
      if (slot.calls.size === 0 && slot.requests.size === 0) {
        slot.pingOutstanding = false
        continue
      }
      busy = true
      if (!slot.ready) continue // still loading its module: nothing answers pings yet
      if (slot.pingOutstanding) {
        this.#crash(slot, 'hung', `no heartbeat answer within ${this.heartbeatMs} ms`)
        continue
      }
      slot.pingOutstanding = true
      slot.control.ping().then(
        () => (slot.pingOutstanding = false),
        () => {}, // the worker is gone; #crash already handled it
      )
    }
    if (!busy) {
      clearInterval(this.#heartbeat)
      this.#heartbeat = undefined
    }
  }
}

function defaultSize(): number {
  const cores = typeof navigator === 'object' ? navigator.hardwareConcurrency : undefined
  return Math.max(1, (cores ?? 2) - 1)
}
