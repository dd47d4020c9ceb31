/*
 * The worker side of a WorkerPool: `defineHandlers` in a module worker. It answers the lean
 * per-task protocol (protocol.ts) and exposes a small control surface over comlink.
 */
import { expose } from 'comlink'
import type { TaskInfo } from '../core/fields.js'
import { InvalidOptionError } from '../core/errors.js'
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
  decodeToWorker,
  fromTaskTuple,
  isInitMessage,
  type FromWorkerOp,
  type TaskTuple,
  type ToWorkerOp,
  type WorkerControl,
} from './protocol.js'
import { transferablesOf } from './transfer.js'
import { toWire } from './wire-errors.js'

/** What a handler knows about the task it runs; the worker-side twin of `TaskContext`. */
export interface HandlerContext<M = unknown> {
  /**
   * The model instance the task runs on: what its loader's `load` returned, for a task submitted
   * with a `model` (undefined for one without; type a handler's `ctx` as `HandlerContext<M>` only
   * for tasks that name a model).
   */
  readonly model: M
  /** Aborted when the task is cancelled or runs past its run timeout. Stop promptly: after
   * `abortGraceMs` the worker is terminated. */
  readonly signal: AbortSignal
  /** Streams a partial result to every `handle.progress` consumer of the task. */
  emit(chunk: unknown): void
  /** 1 on the first run, 2 on the first retry, ... */
  readonly attempt: number
  readonly task: TaskInfo
}

export type Handler<P = never, R = unknown, M = unknown> = (payload: P, ctx: HandlerContext<M>) => R | PromiseLike<R>

/** What a model loader knows about the instance it loads. */
export interface ModelLoaderContext {
  /** The model's id (a key of the pool's `models`). */
  readonly model: string
  /** This instance's id in the pool (`model#n`). */
  readonly instance: string
  /** Call when the loaded instance died on its own (its engine was killed): the pool frees its units and ends its tasks. */
  lost(reason: string): void
}

/** Loads and unloads one model in a worker; `M` is what handlers get as `ctx.model`. */
export interface ModelLoader<M = unknown> {
  load(model: string, ctx: ModelLoaderContext): M | PromiseLike<M>
  /** Frees what `load` made; the pool frees the model's units once this settles. */
  unload?(instance: M): void | PromiseLike<void>
}

export interface DefineHandlersOptions {
  /** A loader per model id, for the pool's `models` that name no loader of their own. */
  readonly models?: Readonly<Record<string, ModelLoader>>
}

interface LoadedInstance {
  readonly loader: ModelLoader
  readonly value: unknown
}

/** The part of a dedicated worker's global scope this module uses (no WebWorker lib needed). */
interface WorkerScope {
  postMessage(message: unknown, transfer?: Transferable[]): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  addEventListener(type: 'unhandledrejection', listener: (event: PromiseRejectionEvent) => void): void
  close(): void
}

/**
 * Registers the task handlers of this module worker. A task picks one with the `handler` submit
 * option; a task without one runs the only handler, when there is exactly one.
 *
 * @example
 * // worker.ts, started by `new WorkerPool({ url: new URL('./worker.ts', import.meta.url) })`
 * defineHandlers({
 *   async generate(prompt: string, ctx) {
 *     for await (const token of model.stream(prompt, { signal: ctx.signal })) ctx.emit(token)
 *     return 'done'
 *   },
 * })
 */
export function defineHandlers<H extends Record<string, Handler<never, unknown, never>>>(
  handlers: H,
  options: DefineHandlersOptions = {},
): H {
  if (typeof handlers !== 'object' || handlers === null) {
    throw new TypeError('defineHandlers expects an object of handler functions, e.g. { echo: (x) => x }')
  }
  const names = Object.keys(handlers)
  for (const name of names) {
    if (typeof handlers[name] !== 'function') {
      throw new TypeError(`defineHandlers: handler \`${name}\` is not a function (got ${typeof handlers[name]})`)
    }
  }
  const loaders = checkLoaders(options)
  const scope = globalThis as unknown as WorkerScope
  const running = new Map<number, Context>()
  const instances = new Map<number, LoadedInstance>()
  const outbox = new Outbox(scope)

  const control: WorkerControl = {
    ping: () => true,
    handlers: () => names,
    running: () => running.size,
  }

  const pick = (name: string | undefined): Handler<unknown, unknown> => {
    const key = name ?? (names.length === 1 ? names[0] : undefined)
    if (key !== undefined && Object.hasOwn(handlers, key)) return handlers[key] as Handler<unknown, unknown>
    const known = names.length === 0 ? 'none' : names.map((n) => `\`${n}\``).join(', ')
    // Refused, not failed: the same task would fail the same way on every attempt.
    throw new InvalidOptionError(
      name === undefined
        ? `The task names no \`handler\` and this worker defines ${names.length} (${known}); pass { handler } to submit`
        : `This worker defines no handler \`${name}\`; it defines ${known}`,
      'handler',
    )
  }

  const run = (id: number, payload: unknown, attempt: number, task: TaskTuple, key: number): void => {
    const instance = key === NO_INSTANCE ? undefined : instances.get(key)
    const ctx = new Context(id, attempt, task, outbox, instance?.value)
    running.set(id, ctx)
    let result: unknown
    try {
      if (key !== NO_INSTANCE && instance === undefined) throw new Error(`Model instance ${key} is not loaded in this worker`)
      result = pick(task[6])(payload, ctx)
    } catch (error) {
      settle(id, false, error)
      return
    }
    Promise.resolve(result).then(
      (value) => settle(id, true, value),
      (error: unknown) => settle(id, false, error),
    )
  }

  /** A load or unload: answered with DONE or FAIL under its op id. */
  const answer = (id: number, work: () => unknown): void => {
    Promise.resolve()
      .then(work)
      .then(
        () => outbox.send([DONE, id, null]),
        (error: unknown) => {
          // As for a task: a trap leaves the module's memory in an unknown state, so the worker goes.
          if (error instanceof WebAssembly.RuntimeError) outbox.fatal(`WebAssembly trap in a model loader: ${error.message}`)
          else outbox.send(error instanceof Error ? [FAIL, id, toWire(error), true] : [FAIL, id, String(error), false])
        },
      )
  }

  const load = (id: number, model: string, key: number, name: string): void => {
    answer(id, async () => {
      const loader = Object.hasOwn(loaders, model) ? loaders[model] : undefined
      if (loader === undefined) {
        const known =
          Object.keys(loaders)
            .map((n) => `\`${n}\``)
            .join(', ') || 'none'
        throw new InvalidOptionError(
          `This worker has no loader for model \`${model}\` (it has ${known}); pass defineHandlers(handlers, { models: { ${model}: loader } })`,
          'models',
        )
      }
      let lost = false
      const ctx: ModelLoaderContext = {
        model,
        instance: name,
        lost: (reason) => {
          if (lost) return
          lost = true
          instances.delete(key)
          outbox.send([LOST, key, String(reason)])
        },
      }
      const value: unknown = await loader.load(model, ctx)
      if (!lost) instances.set(key, { loader, value })
    })
  }

  const unload = (id: number, key: number): void => {
    const instance = instances.get(key)
    instances.delete(key)
    answer(id, () => instance?.loader.unload?.(instance.value))
  }

  const settle = (id: number, ok: boolean, value: unknown): void => {
    const ctx = running.get(id)
    if (ctx !== undefined) ctx.done = true
    running.delete(id)
    if (ok) {
      outbox.send([DONE, id, value], transferablesOf(value))
    } else if (value instanceof WebAssembly.RuntimeError) {
      // A trap leaves the module's memory in an unknown state: this worker must not run more.
      outbox.fatal(`WebAssembly trap: ${value.message}`)
    } else {
      outbox.send(value instanceof Error ? [FAIL, id, toWire(value), true] : [FAIL, id, value, false])
    }
  }

  scope.addEventListener('message', (event) => {
    const data: unknown = event.data
    if (isInitMessage(data)) {
      expose(control, data.init)
      return
    }
    let ops: ToWorkerOp[]
    try {
      ops = decodeToWorker(data, 'message')
    } catch (error) {
      // Not ours, or from a mismatched page build: dropped, and the page is told.
      scope.postMessage([[DROPPED, `the worker dropped a malformed message: ${describe(error)}`]])
      return
    }
    for (const op of ops) {
      if (op[0] === RUN) run(op[1], op[2], op[3], op[4], op[5])
      else if (op[0] === ABORT) running.get(op[1])?.abort(op[2])
      else if (op[0] === LOAD) load(op[1], op[2], op[3], op[4])
      else if (op[0] === UNLOAD) unload(op[1], op[2])
    }
  })
  // An async throw outside any handler: the worker's state is suspect, so it reports itself broken.
  scope.addEventListener('unhandledrejection', (event) => {
    outbox.fatal(`unhandled rejection in the worker: ${describe(event.reason)}`)
  })
  // `self.close()` ends the worker silently; say so first, so the pool need not wait for a heartbeat.
  const close = scope.close.bind(scope)
  scope.close = () => {
    outbox.fatal('the worker called self.close()')
    close()
  }
  // Right away, not batched: queued task messages may be dispatched before a microtask flush.
  scope.postMessage([[READY, names]])
  return handlers
}

/** A handler's context. The signal and the task object are made only if the handler reads them. */
class Context implements HandlerContext {
  done = false
  #controller: AbortController | undefined
  #abortReason: Error | undefined
  #task: TaskInfo | undefined

  constructor(
    readonly id: number,
    readonly attempt: number,
    readonly tuple: TaskTuple,
    readonly outbox: Outbox,
    readonly model: unknown,
  ) {}

  get signal(): AbortSignal {
    if (this.#controller === undefined) {
      this.#controller = new AbortController()
      if (this.#abortReason !== undefined) this.#controller.abort(this.#abortReason)
    }
    return this.#controller.signal
  }

  get task(): TaskInfo {
    return (this.#task ??= fromTaskTuple(this.tuple))
  }

  emit(chunk: unknown): void {
    if (!this.done) this.outbox.send([CHUNK, this.id, chunk], transferablesOf(chunk))
  }

  abort(reason: string): void {
    const error = new Error(reason)
    error.name = 'AbortError'
    this.#abortReason = error
    this.#controller?.abort(error)
  }
}

function checkLoaders(options: DefineHandlersOptions): Readonly<Record<string, ModelLoader>> {
  if (typeof options !== 'object' || options === null) throw new TypeError('defineHandlers: options must be an object { models? }')
  const models = options.models ?? {}
  for (const [id, loader] of Object.entries(models)) {
    if (typeof loader?.load !== 'function')
      throw new TypeError(`defineHandlers: models.${id} must be a loader { load(id, ctx), unload?(instance) }`)
    if (loader.unload !== undefined && typeof loader.unload !== 'function')
      throw new TypeError(`defineHandlers: models.${id}.unload is not a function`)
  }
  return models
}

function describe(reason: unknown): string {
  if (reason instanceof Error) return `${reason.name}: ${reason.message}`
  return String(reason)
}

/** Collects the ops of one turn into one message. */
class Outbox {
  #ops: FromWorkerOp[] | undefined
  #transfer: Transferable[] = []
  constructor(readonly scope: WorkerScope) {}

  send(op: FromWorkerOp, transfer?: Transferable[]): void {
    if (this.#ops === undefined) {
      this.#ops = []
      queueMicrotask(() => this.flush())
    }
    this.#ops.push(op)
    if (transfer !== undefined) this.#transfer.push(...transfer)
  }

  /** Sends what is queued, then the fatal report, right away (the worker may be about to stop). */
  fatal(description: string): void {
    this.flush()
    this.scope.postMessage([[FATAL, description]])
  }

  flush(): void {
    const ops = this.#ops
    if (ops === undefined) return
    const transfer = this.#transfer
    this.#ops = undefined
    this.#transfer = []
    try {
      this.scope.postMessage(ops, transfer)
    } catch {
      // Something in the batch cannot be cloned: send op by op, failing only the calls whose value cannot travel.
      for (const op of ops) this.#sendAlone(op)
    }
  }

  #sendAlone(op: FromWorkerOp): void {
    try {
      this.scope.postMessage([op])
    } catch (error) {
      if (op[0] === DONE || op[0] === FAIL || op[0] === CHUNK) {
        const what = op[0] === DONE ? 'result' : op[0] === FAIL ? 'error' : 'progress chunk'
        const failure = new Error(`The handler's ${what} cannot be sent from the worker (${describe(error)})`)
        failure.name = 'DataCloneError'
        this.scope.postMessage([[FAIL, op[1], toWire(failure), true]])
      } else {
        throw error
      }
    }
  }
}
