/*
 * The per-task wire protocol between a WorkerPool and its workers. Each message is a batch: an
 * array of ops, each op a small array (cheaper to clone than objects). Ops made in one turn of
 * the event loop travel in one message, so a burst of starts or results costs one postMessage.
 * The control surface (heartbeat, handler names) goes over comlink on its own port instead.
 */
import type { TaskInfo } from '../core/fields.js'

export const RUN = 0
export const ABORT = 1
export const DONE = 2
export const FAIL = 3
export const CHUNK = 4
/** The worker is broken (unhandled rejection, `self.close()`, WASM trap): replace it. */
export const FATAL = 5
export const READY = 6

/** A TaskInfo as a tuple: arrays clone faster than objects, and the handler rebuilds it only if it looks. */
export type TaskTuple = [
  id: string,
  priority: TaskInfo['priority'],
  cost: TaskInfo['cost'],
  tenant: string,
  mailbox: TaskInfo['mailbox'],
  key: string | undefined,
  handler: string | undefined,
  submittedAt: number,
]

export function toTaskTuple(task: TaskInfo): TaskTuple {
  return [task.id, task.priority, task.cost, task.tenant, task.mailbox, task.key, task.handler, task.submittedAt]
}

export function fromTaskTuple(t: TaskTuple): TaskInfo {
  return { id: t[0], priority: t[1], cost: t[2], tenant: t[3], mailbox: t[4], key: t[5], handler: t[6], submittedAt: t[7] }
}

export type RunOp = [typeof RUN, id: number, payload: unknown, attempt: number, task: TaskTuple]
export type AbortOp = [typeof ABORT, id: number, reason: string]
export type ToWorkerOp = RunOp | AbortOp

export type DoneOp = [typeof DONE, id: number, value: unknown]
/** An Error travels as a `WireError` (`wire` true); any other thrown value as itself. */
export type FailOp = [typeof FAIL, id: number, error: unknown, wire: boolean]
export type ChunkOp = [typeof CHUNK, id: number, chunk: unknown]
export type FatalOp = [typeof FATAL, description: string]
export type ReadyOp = [typeof READY, handlers: string[]]
export type FromWorkerOp = DoneOp | FailOp | ChunkOp | FatalOp | ReadyOp

/** First message to a new worker: the port its comlink control surface is exposed on. */
export interface InitMessage {
  readonly init: MessagePort
}

/** What a worker answers over comlink. */
export interface WorkerControl {
  ping(): true
  handlers(): string[]
  /** Calls the worker is running now. */
  running(): number
}

export function isInitMessage(data: unknown): data is InitMessage {
  return typeof data === 'object' && data !== null && !Array.isArray(data) && 'init' in data
}
