import type { ResourceVector } from './capacity.js'

/** Task priority, lowest to highest. Higher starts first; FIFO within one priority. */
export type Priority = 'low' | 'normal' | 'high' | 'critical'

export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'critical']

/** Numeric rank of a priority: low 0 ... critical 3. */
export function priorityRank(priority: Priority): number {
  return PRIORITIES.indexOf(priority)
}

/** Who a task's result is for. Fetching `{ tenant }` sees every user's and session's messages. */
export interface MailboxKey {
  readonly tenant: string
  readonly user?: string
  readonly session?: string
}

/** A task's terminal status. Every accepted task ends in exactly one of these. */
export type TerminalStatus = 'completed' | 'failed' | 'expired' | 'dropped' | 'cancelled'

/**
 * Where a task is in its life: `parked` waits in the lot, `running` holds capacity, `retrying`
 * waits out its backoff before re-entering the lot, then one terminal status.
 */
export type TaskStatus = 'parked' | 'running' | 'retrying' | TerminalStatus

/** What a running task's executor knows about it. */
export interface TaskInfo {
  readonly id: string
  readonly priority: Priority
  readonly cost: ResourceVector
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  readonly handler: string | undefined
  /** When the task was accepted (Clock ms). */
  readonly submittedAt: number
}

/** The second argument of an executor. */
export interface TaskContext {
  /** Aborted when the task is cancelled or runs past its run timeout. */
  readonly signal: AbortSignal
  /** Streams a partial result (a token) to every `handle.progress` consumer. */
  emit(chunk: unknown): void
  /** 1 on the first run, 2 on the first retry, ... */
  readonly attempt: number
  readonly task: TaskInfo
}

/** Runs a task's payload in-process. Throwing or rejecting fails the attempt. */
export type ExecutorFunction<P, R> = (payload: P, ctx: TaskContext) => R | PromiseLike<R>

/** What a payload must survive on its way to the executor or the store. */
export type PayloadFormat = 'any' | 'structured-clone' | 'json'

/**
 * A runtime that runs tasks elsewhere (a Web Worker pool). The pool never queues inside it: it
 * starts work only when the pool's capacity, which includes the runtime's `resources`, allows.
 */
export interface Executor<P, R> {
  execute(payload: P, ctx: TaskContext): PromiseLike<R>
  /** What payloads must survive to reach the executor. @default 'any' */
  readonly payloadFormat?: PayloadFormat
  /** Capacity the runtime adds to the pool (e.g. `{ workers: 4 }`). */
  readonly resources?: ResourceVector
  /** Cost every task adds on top of its own (e.g. `{ workers: 1 }`). */
  readonly costPerTask?: ResourceVector
  /**
   * Resources the runtime adds and removes at run time through `setCapacity` (slots of workers
   * that tabs register). A cost above their current capacity parks instead of being refused.
   */
  readonly elasticResources?: readonly string[]
}

export type MaybePromise<T> = T | Promise<T>

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  )
}
