/*
 * Messages between tabs and a SharedPoolHost (in a SharedWorker, or in the leader tab). One
 * connection per `connectSharedPool` call; each message names its pool. The message types are
 * derived from the decoders below: what is checked on arrival is what the code may rely on. A
 * message that does not decode is dropped (and reported as an `error` event), never acted on.
 */
import * as d from '../../core/decode.js'
import {
  INFO_FIELDS,
  TASK_FIELDS,
  decodeMailboxKey,
  decodeTaskInfo,
  decodeTaskStatus,
  decodeTerminalStatus,
  type TaskInfo,
} from '../../core/fields.js'
import { decodeWireError } from '../wire-errors.js'

/** A task as a tab sees it: its info fields (the field table's), status, attempt and position. */
export const decodeTaskView = d.object({
  ...(Object.fromEntries(INFO_FIELDS.map((name) => [name, TASK_FIELDS[name].decode])) as {
    [K in keyof TaskInfo]: d.Decoder<TaskInfo[K]>
  }),
  status: decodeTaskStatus,
  attempt: d.integer,
  position: d.optional(d.integer),
})
export type TaskView = d.Infer<typeof decodeTaskView>

const counts = d.record(d.number)

export const decodeSnapshot = d.object({
  name: d.string,
  capacity: counts,
  used: counts,
  running: d.integer,
  stopping: d.integer,
  parked: d.object({ low: d.integer, normal: d.integer, high: d.integer, critical: d.integer }),
  parkedTotal: d.integer,
  delayed: d.integer,
  retrying: d.integer,
  isPaused: d.boolean,
  isClosed: d.boolean,
  models: d.array(
    d.object({
      model: d.string,
      instance: d.string,
      state: d.oneOf('loading', 'ready', 'unloading'),
      cost: counts,
      running: d.integer,
      lastUsedAt: d.optional(d.number),
      worker: d.optional(d.integer),
    }),
  ),
})

const durations = d.object({
  count: d.integer,
  mean: d.number,
  min: d.number,
  max: d.number,
  p50: d.number,
  p95: d.number,
  p99: d.number,
  sum: d.number,
  buckets: d.array(d.integer),
})

export const decodeStats = d.object({
  wait: durations,
  run: durations,
  outcomes: d.object({ completed: d.integer, failed: d.integer, expired: d.integer, dropped: d.integer, cancelled: d.integer }),
  models: d.optional(
    d.object({
      warmStarts: d.integer,
      coldStarts: d.integer,
      loads: d.integer,
      loadFailures: d.integer,
      evictions: d.integer,
      unloads: d.integer,
      loadTime: durations,
    }),
  ),
})

export const decodeMailboxMessage = d.object({
  id: d.string,
  taskId: d.string,
  key: decodeMailboxKey,
  status: decodeTerminalStatus,
  result: d.unknown,
  error: d.optional(d.object({ code: d.string, message: d.string })),
  attempts: d.integer,
  submittedAt: d.number,
  completedAt: d.number,
})

export const decodeFetchResult = d.object({ messages: d.array(decodeMailboxMessage), cursor: d.optional(d.string) })

const rid = d.integer
const pool = d.string
const options = d.optional(d.record(d.unknown))

const ranOk = d.object({ t: d.literal('ran'), pool, call: d.integer, ok: d.literal(true), value: d.unknown })
// The error is decoded where it is used, so a malformed one still settles its call.
const ranError = d.object({ t: d.literal('ran'), pool, call: d.integer, ok: d.literal(false), value: d.unknown })

/** What a tab sends its host. */
export const decodeTabMessage = d.tagged('t', {
  hello: d.object({ t: d.literal('hello'), client: d.string, lock: d.string, user: d.optional(d.string), session: d.string }),
  attach: d.object({ t: d.literal('attach'), pool, slots: d.integer, handlers: d.optional(d.array(d.string)) }),
  submit: d.object({ t: d.literal('submit'), rid, pool, payload: d.unknown, options }),
  'submit-all': d.object({
    t: d.literal('submit-all'),
    rid,
    pool,
    items: d.array(d.object({ payload: d.unknown, options })),
  }),
  cancel: d.object({ t: d.literal('cancel'), pool, id: d.string, reason: d.optional(d.string) }),
  get: d.object({ t: d.literal('get'), rid, pool, id: d.string }),
  snapshot: d.object({ t: d.literal('snapshot'), rid, pool }),
  stats: d.object({ t: d.literal('stats'), rid, pool }),
  fetch: d.object({
    t: d.literal('fetch'),
    rid,
    pool,
    key: decodeMailboxKey,
    options: d.optional(d.object({ since: d.optional(d.string), limit: d.optional(d.number) })),
  }),
  ack: d.object({ t: d.literal('ack'), rid, pool, key: decodeMailboxKey, ids: d.array(d.string) }),
  clear: d.object({ t: d.literal('clear'), rid, pool }),
  preload: d.object({ t: d.literal('preload'), rid, pool, model: d.string }),
  unload: d.object({ t: d.literal('unload'), rid, pool, model: d.string }),
  idle: d.object({ t: d.literal('idle'), rid, pool }),
  'size-below': d.object({ t: d.literal('size-below'), rid, pool, limit: d.number }),
  pause: d.object({ t: d.literal('pause'), pool }),
  resume: d.object({ t: d.literal('resume'), pool }),
  'set-capacity': d.object({ t: d.literal('set-capacity'), rid, pool, capacity: d.unknown }),
  'set-priority': d.object({ t: d.literal('set-priority'), rid, pool, id: d.string, priority: d.unknown }),
  on: d.object({ t: d.literal('on'), pool, event: d.string }),
  ran: ((value: unknown, path: string) =>
    (value as { ok?: unknown }).ok === true ? ranOk(value, path) : ranError(value, path)) as d.Decoder<
    d.Infer<typeof ranOk> | d.Infer<typeof ranError>
  >,
  'ran-chunk': d.object({ t: d.literal('ran-chunk'), pool, call: d.integer, chunk: d.unknown }),
  /** A model instance this tab loaded for the host died on its own (its worker crashed). */
  'model-lost': d.object({ t: d.literal('model-lost'), pool, key: d.integer, reason: d.string }),
  bye: d.object({ t: d.literal('bye') }),
})
export type TabMessage = d.Infer<typeof decodeTabMessage>
/** The tab messages that expect a reply. */
export type TabRequest = Extract<TabMessage, { readonly rid: number }>

const replyOk = d.object({ t: d.literal('reply'), rid, ok: d.literal(true), value: d.unknown })
const replyError = d.object({ t: d.literal('reply'), rid, ok: d.literal(false), error: decodeWireError })

/** What a host sends a tab. */
export const decodeHostMessage = d.tagged('t', {
  reply: ((value: unknown, path: string) =>
    (value as { ok?: unknown }).ok === true ? replyOk(value, path) : replyError(value, path)) as d.Decoder<
    d.Infer<typeof replyOk> | d.Infer<typeof replyError>
  >,
  status: d.object({ t: d.literal('status'), pool, id: d.string, status: decodeTaskStatus, attempt: d.integer }),
  end: d.object({ t: d.literal('end'), pool, view: decodeTaskView, ok: d.boolean, value: d.unknown, error: d.optional(decodeWireError) }),
  chunk: d.object({ t: d.literal('chunk'), pool, id: d.string, chunk: d.unknown }),
  event: d.object({ t: d.literal('event'), pool, event: d.string, view: d.optional(decodeTaskView), data: d.record(d.unknown) }),
  'snapshot-push': d.object({
    t: d.literal('snapshot-push'),
    pool,
    snapshot: decodeSnapshot,
    positions: d.array(d.tuple(d.string, d.integer)),
  }),
  /** `instance`: the key of the model instance (loaded in this tab) the task runs on. */
  run: d.object({
    t: d.literal('run'),
    call: d.integer,
    pool,
    payload: d.unknown,
    attempt: d.integer,
    task: decodeTaskInfo,
    instance: d.optional(d.integer),
  }),
  /** Load a model instance in this tab's workers under `call` (its key); answered with `ran`. */
  'load-model': d.object({ t: d.literal('load-model'), call: d.integer, pool, model: d.string, instance: d.string }),
  /** Stop the load under `call`: the host gave up on it (it is still answered with `ran`). */
  'abort-load': d.object({ t: d.literal('abort-load'), call: d.integer, pool }),
  /** Unload the instance loaded under `key`; answered with `ran` under `call`. */
  'unload-model': d.object({ t: d.literal('unload-model'), call: d.integer, pool, key: d.integer }),
  abort: d.object({ t: d.literal('abort'), call: d.integer, reason: d.string }),
})
export type HostMessage = d.Infer<typeof decodeHostMessage>

/** Anything that carries messages both ways: a MessagePort, or a BroadcastChannel-backed stand-in. */
export interface Port {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  start?(): void
  close?(): void
}

/** Lock names. A tab holds its own for as long as it lives; the host waits on it to learn of its end. */
export const TAB_LOCK_PREFIX = 'prometheus-parking-lot:tab:'
export const LEADER_LOCK_PREFIX = 'prometheus-parking-lot:leader:'
