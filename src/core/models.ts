/*
 * Models: warm state that holds units between tasks. An instance of a model holds the model's
 * cost from the start of its load until its unload has really happened; each task running on it
 * holds its own cost on top (the scheduler acquires that, as for any task).
 *
 *   (no instance) ─load─▶ loading ─ok─▶ ready ⇄ busy (tasks running, up to maxParallel)
 *                            │            │
 *                            └─fails─▶ gone ◀─unload (idle | evicted | requested | closed) / lost (crashed)
 *
 * Placement (`place`, asked by the scheduler for a task at the head, or for a backfill candidate):
 * a ready instance with a free slot; else, for the head only, wait for a load in flight, or start
 * a load if the model and the task fit, or unload idle instances least recently used first when
 * what they free is enough (units that unloads in flight will free count as free), or wait.
 */
import type { CapacityLedger, CostInput, CostVector } from './capacity.js'
import type { Clock, TimerHandle } from './clock.js'
import { InvalidOptionError, ModelLoadError, describeError } from './errors.js'
import type { Executor, ModelLoadContext } from './executor.js'

export type { ModelLoadContext } from './executor.js'
import { DurationSeries, type DurationStats } from './stats.js'
import { noop } from './types.js'
import { describeValue, onlyKnownKeys, optionalFunction, optionalNumber, refuse } from './validate.js'

/** One loadable model. `M` is the loaded instance a task's executor gets as `ctx.model`. */
export interface ModelSpec<M = unknown> {
  /** Units an instance holds from the start of its load until it is unloaded (weights, buffers). */
  readonly cost: CostInput
  /** How long an idle instance stays loaded; `Infinity` pins it, 0 unloads it once idle. @default 300_000 */
  readonly keepAliveMs?: number
  /** Tasks one instance runs at once. @default 1 */
  readonly maxParallel?: number
  /** Instances of this model at once. @default 1 */
  readonly maxReplicas?: number
  /**
   * A load that takes longer fails its waiting tasks and is told to stop (`ctx.signal`); its units
   * stay held until it settles or reports `ctx.lost()`. @default 300_000
   */
  readonly loadTimeoutMs?: number
  /** Loads an instance in this thread. @default the executor's loader (a `WorkerPool`'s), else nothing to load */
  load?(id: string, ctx: ModelLoadContext): M | PromiseLike<M>
  /** Frees what `load` made; the units are freed once it settles. */
  unload?(instance: M): void | PromiseLike<void>
}

export type UnloadReason = 'idle' | 'evicted' | 'requested' | 'crashed' | 'closed'

/** An instance as `snapshot()` lists it. */
export interface ModelInstanceSnapshot {
  readonly model: string
  readonly instance: string
  readonly state: 'loading' | 'ready' | 'unloading'
  readonly cost: Record<string, number>
  /** Tasks running on it. */
  readonly running: number
  /** Clock ms of its last start or end of a task (or of its load). */
  readonly lastUsedAt: number | undefined
  /** The worker that holds it, when a worker runtime loaded it. */
  readonly worker: number | undefined
}

export interface ModelStats {
  /** Tasks that started on an instance loaded before they needed it. */
  readonly warmStarts: number
  /** Tasks that waited for their instance's load. */
  readonly coldStarts: number
  readonly loads: number
  readonly loadFailures: number
  /** Idle instances unloaded to make room for another model. */
  readonly evictions: number
  readonly unloads: number
  readonly loadTime: DurationStats
}

export interface ModelEventMap {
  loading: { readonly model: string; readonly instance: string }
  loaded: { readonly model: string; readonly instance: string; readonly loadMs: number }
  /** The instance is gone and its units are free; `error` for a failed load or a crash. */
  unloaded: { readonly model: string; readonly instance: string; readonly reason: UnloadReason; readonly error?: Error }
}

interface Model {
  readonly id: string
  readonly vector: CostVector
  readonly keepAliveMs: number
  readonly maxParallel: number
  readonly maxReplicas: number
  readonly loadTimeoutMs: number
  readonly load: (id: string, ctx: ModelLoadContext) => unknown
  readonly unload: ((instance: unknown) => unknown) | undefined
  readonly instances: ModelInstance[]
  serial: number
}

/** A loaded (or loading, or unloading) copy of a model. */
export class ModelInstance {
  state: ModelInstanceSnapshot['state'] = 'loading'
  running = 0
  lastUsedAt: number | undefined
  /** What the loader returned: the executor's `ctx.model`. */
  value: unknown
  /** Its keep-alive while idle. */
  timer: TimerHandle | undefined
  /** Its `loadTimeoutMs` while loading. */
  loadTimer: TimerHandle | undefined
  /** Unload once idle, for this reason (a requested unload or close of a busy or loading instance). */
  unloadWhenIdle: UnloadReason | undefined
  /** Its first start counts as cold: it was loaded for a task that waited. */
  cold: boolean
  crash: Error | undefined
  /** Its load ran past `loadTimeoutMs`: its tasks were failed and the loader told to stop; it frees its units once that settles. */
  givenUp = false
  /** Settles when its load did (rejects with `ModelLoadError`). */
  loaded: Promise<void> = Promise.resolve()
  readonly gone: Promise<void>
  markGone!: () => void

  constructor(
    readonly model: Model,
    readonly id: string,
    forTask: boolean,
  ) {
    this.cold = forTask
    this.gone = new Promise((resolve) => (this.markGone = resolve))
  }
}

/** What the models need of their pool. */
export interface ModelParts {
  readonly ledger: CapacityLedger
  readonly clock: Clock
  /** The runtime's own loader (a `WorkerPool` loads in its workers), for models that bring none. */
  readonly executor: Pick<Executor<never, unknown>, 'loadModel' | 'unloadModel'>
  emit<K extends keyof ModelEventMap>(name: K, event: ModelEventMap[K]): void
  /** Units were freed or an instance became ready: try to start tasks. */
  pump(): void
  /** A model's only load failed: the tasks parked for it fail or retry with `error`. */
  loadFailed(model: string, error: ModelLoadError): void
  /** A ready instance died on its own: the tasks running on it end with `error` (what killed it). */
  instanceLost(instance: ModelInstance, error: Error): void
  onError(error: unknown, context: string): void
}

const MODEL_KEYS = { cost: 1, keepAliveMs: 1, maxParallel: 1, maxReplicas: 1, loadTimeoutMs: 1, load: 1, unload: 1 }
const loadNothing = (): undefined => undefined

/** The pool's models and their instances. */
export class Models {
  readonly #models = new Map<string, Model>()
  readonly #parts: ModelParts
  readonly #loadTime = new DurationSeries()
  readonly #counts = { warmStarts: 0, coldStarts: 0, loads: 0, loadFailures: 0, evictions: 0, unloads: 0 }
  #closed = false

  constructor(specs: unknown, parts: ModelParts) {
    this.#parts = parts
    if (typeof specs !== 'object' || specs === null || Array.isArray(specs)) refuse('models', 'an object of model specs by id', specs)
    const { executor, ledger } = parts
    for (const [id, spec] of Object.entries(specs as Record<string, ModelSpec>)) {
      const path = `models.${id}`
      if (typeof spec !== 'object' || spec === null) refuse(path, 'an object { cost, keepAliveMs?, maxParallel?, maxReplicas? }', spec)
      onlyKnownKeys(spec, MODEL_KEYS, path)
      const load = optionalFunction<Model['load']>(spec.load, `${path}.load`)
      const unload = optionalFunction<Model['unload']>(spec.unload, `${path}.unload`)
      const fromExecutor = load === undefined && executor.loadModel !== undefined
      if (executor.loadModel !== undefined && (load !== undefined || unload !== undefined)) {
        // Its value would stay in this thread while the tasks run in a worker with no `ctx.model`.
        throw new InvalidOptionError(
          `\`${path}.${load !== undefined ? 'load' : 'unload'}\` runs in this thread, but this pool's executor loads models where its tasks run (a WorkerPool's workers): give the loader to defineHandlers(handlers, { models: { ${id}: loader } }) instead`,
          `${path}.${load !== undefined ? 'load' : 'unload'}`,
        )
      }
      let vector: CostVector
      try {
        vector = ledger.toVector(spec.cost)
      } catch (error) {
        if (error instanceof Error) error.message = `${path}.cost: ${error.message}`
        throw error
      }
      this.#models.set(id, {
        id,
        vector,
        keepAliveMs: optionalNumber(spec.keepAliveMs, `${path}.keepAliveMs`, { allowInfinity: true }) ?? 300_000,
        maxParallel: optionalNumber(spec.maxParallel, `${path}.maxParallel`, { min: 1, integer: true }) ?? 1,
        maxReplicas: optionalNumber(spec.maxReplicas, `${path}.maxReplicas`, { min: 1, integer: true }) ?? 1,
        loadTimeoutMs: optionalNumber(spec.loadTimeoutMs, `${path}.loadTimeoutMs`, { min: 1, allowInfinity: true }) ?? 300_000,
        load: fromExecutor ? executor.loadModel!.bind(executor) : (load?.bind(spec) ?? loadNothing),
        unload: fromExecutor ? executor.unloadModel?.bind(executor) : unload?.bind(spec),
        instances: [],
        serial: 0,
      })
    }
  }

  /** Refuses at submit a model the pool does not declare, or one that with the task's cost could never fit. */
  check(id: string, taskVector: CostVector): void {
    const model = this.#model(id, 'model')
    const ledger = this.#parts.ledger
    try {
      ledger.toVector(ledger.toObject(sum(model.vector, taskVector, 1)))
    } catch (error) {
      // Never fits, even with nothing else loaded: the ledger's error names the resource.
      if (error instanceof Error) error.message = `Model '${id}' and the task together: ${error.message}`
      throw error
    }
  }

  /**
   * Where a task of `id` costing `taskVector` starts now: a ready instance with a free slot (and
   * room for the task beside `reserved`), or undefined. With `mayLoad` (the head), a load or the
   * evictions that make room for one may begin, and the task waits for them.
   */
  place(id: string, taskVector: CostVector, reserved: CostVector | undefined, mayLoad: boolean): ModelInstance | undefined {
    const model = this.#models.get(id)!
    let best: ModelInstance | undefined
    for (const instance of model.instances) {
      if (instance.state !== 'ready' || instance.unloadWhenIdle !== undefined || instance.running >= model.maxParallel) continue
      if (best === undefined || instance.running < best.running) best = instance
    }
    if (best !== undefined) {
      if (this.#parts.ledger.fits(taskVector, reserved)) return best
      // The head waits only for its own units: idle instances of other models may make them.
      if (mayLoad) this.#evictFor(taskVector, best)
      return undefined
    }
    // Instances that are unloading count until they are gone: maxReplicas bounds what holds units.
    const loading = model.instances.some((instance) => instance.state === 'loading')
    if (mayLoad && !loading && model.instances.length < model.maxReplicas) this.#makeRoom(model, taskVector, true)
    return undefined
  }

  /** A head without a model that does not fit: unload idle instances if that makes room for it. */
  makeRoomFor(taskVector: CostVector): void {
    if (!this.#parts.ledger.fits(taskVector)) this.#evictFor(taskVector, undefined)
  }

  /** What a head of `id` holds back from backfill: its model's cost too, unless an instance is ready or loading. */
  reservation(id: string, taskVector: CostVector): CostVector {
    const model = this.#models.get(id)!
    return model.instances.some(servesTasks) ? taskVector : sum(model.vector, taskVector, 1)
  }

  started(instance: ModelInstance, now: number): void {
    instance.running++
    instance.lastUsedAt = now
    this.#stopTimer(instance)
    if (instance.cold) this.#counts.coldStarts++
    else this.#counts.warmStarts++
    instance.cold = false
  }

  /** A task on it settled (its own units already freed). Call `idle` after the pump. */
  finished(instance: ModelInstance, now: number): void {
    instance.running--
    instance.lastUsedAt = now
  }

  /** After a pump: an instance nothing runs on starts its keep-alive, or unloads as asked. */
  idle(instance: ModelInstance): void {
    if (instance.state !== 'ready' || instance.running > 0 || instance.timer !== undefined) return
    const reason = instance.unloadWhenIdle
    if (reason !== undefined) return void this.#unload(instance, reason)
    const ms = instance.model.keepAliveMs
    if (ms === 0) return void this.#unload(instance, 'idle')
    if (ms === Infinity) return
    instance.timer = this.#parts.clock.setTimeout(() => {
      instance.timer = undefined
      if (instance.running === 0 && instance.state === 'ready') void this.#unload(instance, 'idle')
    }, ms)
  }

  /** Loads an instance of `id` unless one is ready or loading; rejects with `ModelLoadError` if it cannot load now. */
  async preload(id: string): Promise<void> {
    const model = this.#model(id, 'id')
    if (this.#closed) throw new ModelLoadError(`Model '${id}' was not loaded: the pool is closing`, id)
    const live = model.instances.find(servesTasks)
    if (live !== undefined) return live.loaded
    if (model.instances.length >= model.maxReplicas) {
      // Every instance it may have is on its way out: load once one is gone.
      await Promise.race(model.instances.map((instance) => instance.gone))
      return this.preload(id)
    }
    const begun = this.#makeRoom(model, [], false)
    if (begun instanceof ModelInstance) return begun.loaded
    if (begun === undefined) {
      throw new ModelLoadError(`Model '${id}' does not fit: busy or pinned instances and running tasks hold the units it needs`, id)
    }
    await begun
    return this.preload(id)
  }

  /** Unloads every instance of `id`: idle ones now, busy or loading ones once idle. */
  unload(id: string, reason: UnloadReason = 'requested'): Promise<void> {
    const model = this.#model(id, 'id')
    for (const instance of model.instances) {
      if (instance.state === 'unloading') continue
      // Closing outranks an earlier request: the instance goes because the pool does.
      if (reason === 'closed' || instance.unloadWhenIdle === undefined) instance.unloadWhenIdle = reason
      this.#stopTimer(instance)
      this.idle(instance)
    }
    return Promise.all(model.instances.map((instance) => instance.gone)).then(noop)
  }

  /** Every instance unloaded (the pool closed; nothing runs any more). */
  close(): Promise<void> {
    this.#closed = true
    return Promise.all([...this.#models.keys()].map((id) => this.unload(id, 'closed'))).then(noop)
  }

  snapshot(): ModelInstanceSnapshot[] {
    const out: ModelInstanceSnapshot[] = []
    for (const model of this.#models.values()) {
      for (const instance of model.instances) {
        const worker = (instance.value as { worker?: unknown } | undefined)?.worker
        out.push({
          model: model.id,
          instance: instance.id,
          state: instance.state,
          cost: this.#parts.ledger.toObject(model.vector),
          running: instance.running,
          lastUsedAt: instance.lastUsedAt,
          worker: typeof worker === 'number' ? worker : undefined,
        })
      }
    }
    return out
  }

  stats(): ModelStats {
    return { ...this.#counts, loadTime: this.#loadTime.summary() }
  }

  #model(id: unknown, path: string): Model {
    const model = typeof id === 'string' ? this.#models.get(id) : undefined
    if (model === undefined) {
      const known = [...this.#models.keys()].map((name) => `'${name}'`).join(', ')
      throw new InvalidOptionError(`Expected \`${path}\` to name a model of the pool (${known}), got ${describeValue(id)}`, path)
    }
    return model
  }

  /**
   * Room for an instance of `model` (and a task's `taskVector`): a load begun (the instance),
   * unloads in flight that will make room (a promise of them), or undefined (no room can be made).
   */
  #makeRoom(model: Model, taskVector: CostVector, forTask: boolean): ModelInstance | Promise<unknown> | undefined {
    const need = sum(model.vector, taskVector, 1)
    if (this.#parts.ledger.fits(need)) return this.#load(model, forTask)
    return this.#evictFor(need, undefined)
  }

  /**
   * Unloads idle instances (never `keep`, a busy or a pinned one), least recently used first,
   * when what they free with the unloads already in flight lets `need` fit; else unloads none.
   * Resolves when the unloads that make the room are done; undefined when no room can be made.
   */
  #evictFor(need: CostVector, keep: ModelInstance | undefined): Promise<unknown> | undefined {
    const ledger = this.#parts.ledger
    let freed: CostVector = []
    const unloading: Promise<void>[] = []
    const idle: ModelInstance[] = []
    for (const other of this.#models.values()) {
      for (const instance of other.instances) {
        // A load given up on may never settle: its units are not counted on to come back.
        if (instance.state === 'unloading' && !instance.givenUp) {
          freed = sum(freed, other.vector, 1)
          unloading.push(instance.gone)
        } else if (instance.state === 'ready' && instance.running === 0 && instance !== keep && other.keepAliveMs !== Infinity) {
          idle.push(instance)
        }
      }
    }
    idle.sort((a, b) => (a.lastUsedAt ?? 0) - (b.lastUsedAt ?? 0))
    const chosen: ModelInstance[] = []
    for (let i = 0; !ledger.fits(sum(need, freed, -1)); i++) {
      const victim = idle[i]
      if (victim === undefined) return undefined // not enough even with every idle instance gone: unload none
      chosen.push(victim)
      freed = sum(freed, victim.model.vector, 1)
    }
    for (const victim of chosen) unloading.push(this.#unload(victim, 'evicted'))
    return Promise.all(unloading)
  }

  #load(model: Model, forTask: boolean): ModelInstance {
    const startedAt = this.#parts.clock.now()
    const id = `${model.id}#${++model.serial}`
    const instance = new ModelInstance(model, id, forTask)
    const controller = new AbortController()
    const ctx: ModelLoadContext = { instance: id, lost: (error) => this.#lost(instance, error), signal: controller.signal }
    const loading = Promise.resolve()
      .then(() => model.load(model.id, ctx))
      .then(
        (value) => {
          if (instance.crash === undefined) return this.#ready(instance, value, startedAt)
          // Given up on (loadTimeoutMs): it still holds its units; what it made late is unloaded, then they are free.
          if (model.instances.includes(instance)) this.#unloadLate(instance, value)
          // Lost while loading: already gone; what the loader made late is its own to free.
          throw instance.crash
        },
        (cause: unknown) => {
          if (instance.crash === undefined) throw this.#loadFailed(instance, cause)
          this.#gone(instance, 'crashed', instance.crash) // a load given up on has settled: now its units are free
          this.#parts.pump()
          throw instance.crash
        },
      )
    instance.loaded = loading
    loading.catch(noop) // reported through the tasks and the event; `preload` callers see it too
    if (model.loadTimeoutMs !== Infinity) {
      const ms = model.loadTimeoutMs
      instance.loadTimer = this.#parts.clock.setTimeout(() => {
        instance.loadTimer = undefined
        const error = new Error(`the load took longer than loadTimeoutMs (${ms} ms)`)
        error.name = 'TimeoutError'
        if (instance.state === 'loading') this.#giveUp(instance, error, controller)
      }, ms)
    }
    model.instances.push(instance)
    this.#parts.ledger.acquire(model.vector)
    this.#counts.loads++
    this.#parts.emit('loading', { model: model.id, instance: id })
    return instance
  }

  #ready(instance: ModelInstance, value: unknown, startedAt: number): void {
    this.#stopLoadTimer(instance)
    instance.value = value
    instance.state = 'ready'
    const now = this.#parts.clock.now()
    instance.lastUsedAt = now
    this.#loadTime.add(now - startedAt)
    try {
      this.#parts.emit('loaded', { model: instance.model.id, instance: instance.id, loadMs: now - startedAt })
      this.#parts.pump()
      this.idle(instance)
    } catch (error) {
      // The load did succeed: a failure after it is the pool's to report, not the load's.
      this.#parts.onError(error, `starting tasks on model instance ${instance.id}`)
    }
  }

  /**
   * A load past its time: its waiting tasks fail (or retry) now and the loader is told to stop, but
   * its units stay held until it settles (the memory may be in use until then).
   */
  #giveUp(instance: ModelInstance, cause: Error, controller: AbortController): void {
    const model = instance.model
    const error = loadError(model.id, cause)
    instance.crash = error
    instance.state = 'unloading'
    instance.givenUp = true
    this.#counts.loadFailures++
    this.#failWaitingIfNoneServes(model, error)
    controller.abort(cause)
    this.#parts.pump()
  }

  /** What a load given up on made after all: unloaded, then its units are free. */
  #unloadLate(instance: ModelInstance, value: unknown): void {
    instance.givenUp = false // an unload is in flight now: a loss reported meanwhile waits for it, as for any unload
    const unload = instance.model.unload
    Promise.resolve()
      .then(() => unload?.(value))
      .catch((error: unknown) => this.#parts.onError(error, `unloading model instance ${instance.id}, loaded after its loadTimeoutMs`))
      .then(() => {
        this.#gone(instance, 'crashed', instance.crash)
        this.#parts.pump()
      }, noop)
  }

  /** A load failed (or its instance was lost while loading): its units are free, and waiting tasks hear of it. */
  #loadFailed(instance: ModelInstance, cause: unknown): ModelLoadError {
    this.#stopLoadTimer(instance)
    const model = instance.model
    const error = loadError(model.id, cause)
    this.#counts.loadFailures++
    this.#gone(instance, 'crashed', error)
    this.#failWaitingIfNoneServes(model, error)
    this.#parts.pump()
    return error
  }

  /** A load of `model` failed: its waiting tasks fail (or retry) unless another instance is there or coming for them. */
  #failWaitingIfNoneServes(model: Model, error: ModelLoadError): void {
    if (!model.instances.some(servesTasks)) this.#parts.loadFailed(model.id, error)
  }

  /** Starts an unload; the units are freed once it settled. */
  #unload(instance: ModelInstance, reason: UnloadReason): Promise<void> {
    if (instance.state !== 'unloading') {
      this.#stopTimer(instance)
      instance.state = 'unloading'
      if (reason === 'evicted') this.#counts.evictions++
      const unload = instance.model.unload
      Promise.resolve()
        .then(() => unload?.(instance.value))
        .catch((error: unknown) => this.#parts.onError(error, `unloading model instance ${instance.id}`))
        .then(() => {
          this.#counts.unloads++
          this.#gone(instance, reason)
          this.#parts.pump()
        }, noop)
    }
    return instance.gone
  }

  /** The instance died on its own: a load in flight fails with it; a ready one is gone now. */
  #lost(instance: ModelInstance, cause: unknown): void {
    if (!instance.model.instances.includes(instance)) return
    if (instance.givenUp) {
      // A load given up on whose engine is gone now (its worker was ended, say): nothing holds the memory.
      this.#gone(instance, 'crashed', instance.crash)
      return void this.#parts.pump()
    }
    if (instance.crash !== undefined) return
    const error = new ModelLoadError(`Model instance ${instance.id} was lost: ${describeError(cause)}`, instance.model.id, { cause })
    instance.crash = error
    // An unload in flight frees the units once it settled: the memory may be held until then.
    if (instance.state === 'unloading') return
    // A load in flight fails now: its units are free before the loader settles (it may never).
    if (instance.state === 'loading') return void this.#loadFailed(instance, error)
    this.#stopTimer(instance)
    this.#gone(instance, 'crashed', error)
    // Its tasks end with what killed it (a WorkerCrashedError, say), as tasks without a model would.
    this.#parts.instanceLost(instance, cause instanceof Error ? cause : error)
    this.#parts.pump()
  }

  #gone(instance: ModelInstance, reason: UnloadReason, error?: Error): void {
    const list = instance.model.instances
    const at = list.indexOf(instance)
    if (at < 0) return
    list.splice(at, 1)
    this.#parts.ledger.release(instance.model.vector)
    instance.state = 'unloading'
    instance.markGone()
    const event = { model: instance.model.id, instance: instance.id, reason }
    this.#parts.emit('unloaded', error === undefined ? event : { ...event, error })
  }

  #stopLoadTimer(instance: ModelInstance): void {
    if (instance.loadTimer === undefined) return
    this.#parts.clock.clearTimeout(instance.loadTimer)
    instance.loadTimer = undefined
  }

  #stopTimer(instance: ModelInstance): void {
    if (instance.timer === undefined) return
    this.#parts.clock.clearTimeout(instance.timer)
    instance.timer = undefined
  }
}

/** Why a load of `model` failed, as the `ModelLoadError` its tasks and `preload` see. */
function loadError(model: string, cause: unknown): ModelLoadError {
  return cause instanceof ModelLoadError
    ? cause
    : new ModelLoadError(`Model '${model}' failed to load: ${describeError(cause)}`, model, { cause })
}

/** Whether tasks may still get this instance: ready or loading, and not asked to unload. */
function servesTasks(instance: ModelInstance): boolean {
  return instance.state !== 'unloading' && instance.unloadWhenIdle === undefined
}

/** `a + sign * b`, element by element (vectors of different lengths: missing entries are 0). */
function sum(a: CostVector, b: CostVector, sign: 1 | -1): CostVector {
  const out = new Array<number>(Math.max(a.length, b.length))
  for (let i = 0; i < out.length; i++) out[i] = (a[i] ?? 0) + sign * (b[i] ?? 0)
  return out
}
