/*
 * The per-task wire protocol between a WorkerPool and its workers. Each message is a batch: an
 * array of ops, each op a small array (cheaper to clone than objects). Ops made in one turn of
 * the event loop travel in one message, so a burst of starts or results costs one postMessage.
 * The control surface (heartbeat, handler names) goes over comlink on its own port instead.
 *
 * The op types are derived from the decoders: each side decodes what arrives before it acts,
 * and drops (and reports) a message that does not decode.
 */
import * as d from '../core/decode.js'
import { decodeTaskTuple, infoFromTuple, infoToTuple, type TaskTuple } from '../core/fields.js'

export { infoFromTuple as fromTaskTuple, infoToTuple as toTaskTuple, type TaskTuple }

export const RUN = 0
export const ABORT = 1
export const DONE = 2
export const FAIL = 3
export const CHUNK = 4
/** The worker is broken (unhandled rejection, `self.close()`, WASM trap): replace it. */
export const FATAL = 5
export const READY = 6
/** The worker dropped a message it could not read; the page reports it. */
export const DROPPED = 7
/** Load a model instance in the worker (answered by DONE or FAIL with the op's id). */
export const LOAD = 8
/** Unload a model instance (answered by DONE or FAIL with the op's id). */
export const UNLOAD = 9
/** A model instance in the worker died on its own (its engine was killed): its units are freed. */
export const LOST = 10
/** In a RUN op: the task runs on no model instance. */
export const NO_INSTANCE = 0

const id = d.integer

const decodeToWorkerOp = d.tagged(0, {
  /** The last item: the key of the model instance the task runs on, or NO_INSTANCE. */
  [RUN]: d.tuple(d.literal(RUN), id, d.unknown, d.integer, decodeTaskTuple, d.integer),
  [ABORT]: d.tuple(d.literal(ABORT), id, d.string),
  /** id, model, instance key, instance name (`model#n`). */
  [LOAD]: d.tuple(d.literal(LOAD), id, d.string, d.integer, d.string),
  [UNLOAD]: d.tuple(d.literal(UNLOAD), id, d.integer),
})
export const decodeToWorker = d.array(decodeToWorkerOp)
export type ToWorkerOp = d.Infer<typeof decodeToWorkerOp>
export type RunOp = Extract<ToWorkerOp, readonly [typeof RUN, ...unknown[]]>

const decodeFromWorkerOp = d.tagged(0, {
  [DONE]: d.tuple(d.literal(DONE), id, d.unknown),
  /** An Error travels as a `WireError` (`wire` true); any other thrown value as itself. */
  [FAIL]: d.tuple(d.literal(FAIL), id, d.unknown, d.boolean),
  [CHUNK]: d.tuple(d.literal(CHUNK), id, d.unknown),
  [FATAL]: d.tuple(d.literal(FATAL), d.string),
  [READY]: d.tuple(d.literal(READY), d.array(d.string)),
  [DROPPED]: d.tuple(d.literal(DROPPED), d.string),
  [LOST]: d.tuple(d.literal(LOST), d.integer, d.string),
})
export const decodeFromWorker = d.array(decodeFromWorkerOp)
export type FromWorkerOp = d.Infer<typeof decodeFromWorkerOp>

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
  return typeof data === 'object' && data !== null && !Array.isArray(data) && 'init' in data && data.init instanceof MessagePort
}
