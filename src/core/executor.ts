import type { ResourceVector } from './capacity.js'
import type { TaskInfo } from './record.js'
import type { ValueCheck } from './storable.js'

/** What a loader is told about the instance it loads. */
export interface ModelLoadContext {
  /** This instance's id (`model#n`), unique in the pool. */
  readonly instance: string
  /** Call when the instance died (its worker crashed, the device was lost), loaded or not: its units are freed. */
  lost(error?: unknown): void
  /**
   * Aborted when the pool gives up on this load (`loadTimeoutMs`): stop and settle. The units stay
   * held until the load settles (what it made by then is unloaded), so nothing is freed while the
   * memory may still be in use.
   */
  readonly signal: AbortSignal
}

/** The second argument of an executor. `C` is the type of the progress chunks it emits. */
export interface TaskContext<C = unknown> {
  /** Aborted when the task is cancelled or runs past its run timeout. */
  readonly signal: AbortSignal
  /** Streams a partial result (a token) to every `handle.progress` consumer. */
  emit(chunk: C): void
  /** 1 on the first run, 2 on the first retry, ... */
  readonly attempt: number
  readonly task: TaskInfo
  /** The loaded instance of the task's model (the submit option `model`), as its loader returned it. */
  readonly model?: unknown
}

/** Runs a task's payload in-process. Throwing or rejecting fails the attempt. */
export type ExecutorFunction<P, R, C = unknown> = (payload: P, ctx: TaskContext<C>) => R | PromiseLike<R>

/**
 * A runtime that runs tasks elsewhere (a Web Worker pool). The pool never queues inside it: it
 * starts work only when the pool's capacity, which includes the runtime's `resources`, allows.
 */
export interface Executor<P, R, C = unknown> {
  execute(payload: P, ctx: TaskContext<C>): PromiseLike<R>
  /** What a payload must survive to reach the executor (`checkCloneable` for a worker); none for one in the same thread. */
  readonly checkValue?: ValueCheck
  /**
   * Refuses (`InvalidOptionError`) the handler a task names (`handler`, or none) when the
   * runtime knows it cannot run it. An executor without it runs in this thread, and a task
   * naming a handler is refused.
   */
  checkHandler?(handler: string | undefined): void
  /** Capacity the runtime adds to the pool (e.g. `{ workers: 4 }`). */
  readonly resources?: ResourceVector
  /** Cost every task adds on top of its own (e.g. `{ workers: 1 }`). */
  readonly costPerTask?: ResourceVector
  /**
   * Resources the runtime adds and removes at run time through `setCapacity` (slots of workers
   * that tabs register). A cost above their current capacity parks instead of being refused.
   */
  readonly elasticResources?: readonly string[]
  /**
   * Loads an instance of a model declared in the pool's `models` (one without its own `load`).
   * What it resolves to is the task's `ctx.model` when the pool runs a task on that instance.
   */
  loadModel?(model: string, ctx: ModelLoadContext): PromiseLike<unknown>
  unloadModel?(instance: unknown): void | PromiseLike<void>
}
