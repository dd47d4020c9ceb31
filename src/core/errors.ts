/**
 * Every error this library throws or rejects with. Each class has a stable `code` so callers can
 * branch without `instanceof` across bundles (a worker and a page load separate copies).
 */
export class ParkingLotError extends Error {
  /** Stable across bundles and minifiers; `name` follows it (`INVALID_COST` is `InvalidCostError`). */
  get code(): string {
    return 'PARKING_LOT_ERROR'
  }
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options)
    // From the code, not the class: a minifier renames classes, and `name` would say `O`.
    this.name = nameOfCode(this.code)
  }
}

/** `INVALID_COST` -> `InvalidCostError`. */
export function nameOfCode(code: string): string {
  return code
    .toLowerCase()
    .replace(/(?:^|_)([a-z])/g, (_, letter: string) => letter.toUpperCase())
    .replace(/(Error)?$/, 'Error')
}

/** A cost component is above the pool's capacity: the task could never start, so it is refused. */
export class CostExceedsCapacityError extends ParkingLotError {
  override get code(): 'COST_EXCEEDS_CAPACITY' {
    return 'COST_EXCEEDS_CAPACITY'
  }
  constructor(
    message: string,
    readonly resource: string,
    readonly cost: number,
    readonly capacity: number,
  ) {
    super(message)
  }
}

/** A cost is negative, NaN, infinite, all zero, or missing where named resources require one. */
export class InvalidCostError extends ParkingLotError {
  override get code(): 'INVALID_COST' {
    return 'INVALID_COST'
  }
}

/** A model could not be loaded (the loader threw, timed out or found a bad file), or its instance was lost. */
export class ModelLoadError extends ParkingLotError {
  override get code(): 'MODEL_LOAD' {
    return 'MODEL_LOAD'
  }
  constructor(
    message: string,
    readonly model: string,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/** A pool or submit option has the wrong type or range. `path` names the option. */
export class InvalidOptionError extends ParkingLotError {
  override get code(): 'INVALID_OPTION' {
    return 'INVALID_OPTION'
  }
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

/** The payload cannot travel where it must go (JSON for durable stores, structured clone for workers). */
export class InvalidPayloadError extends ParkingLotError {
  override get code(): 'INVALID_PAYLOAD' {
    return 'INVALID_PAYLOAD'
  }
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

/**
 * The executor returned a result its mailbox cannot store (a BigInt for a JSON store, a function
 * for IndexedDB). The attempt fails with it and is not retried: it would fail the same way.
 * `path` names the part (`result.big`).
 */
export class InvalidResultError extends ParkingLotError {
  override get code(): 'INVALID_RESULT' {
    return 'INVALID_RESULT'
  }
  constructor(
    message: string,
    readonly path: string,
  ) {
    super(message)
  }
}

/** The lot already holds `maxQueueDepth` parked tasks; the new task was not accepted. */
export class QueueFullError extends ParkingLotError {
  override get code(): 'QUEUE_FULL' {
    return 'QUEUE_FULL'
  }
}

/** Another owner (tab, worker, process) holds this queue; nothing was written. */
export class QueueLockedError extends ParkingLotError {
  override get code(): 'QUEUE_LOCKED' {
    return 'QUEUE_LOCKED'
  }
}

/** The pool was closed; the task was not accepted. It means only that: see `TaskDetachedError`. */
export class PoolClosedError extends ParkingLotError {
  override get code(): 'POOL_CLOSED' {
    return 'POOL_CLOSED'
  }
}

/**
 * The pool closed while the task waited in a durable queue. The task was accepted and is kept in
 * the queue; it runs after the next start of a pool on that queue, and its outcome goes to its
 * mailbox. This handle will not see it (status `detached`).
 */
export class TaskDetachedError extends ParkingLotError {
  override get code(): 'TASK_DETACHED' {
    return 'TASK_DETACHED'
  }
}

/**
 * The task ended before this pool started (a submit with its idempotency key found it in the
 * queue), and its result was not kept: it had no mailbox key, or its message was acked or pruned.
 * Nothing ran again. `status` is how it ended.
 */
export class ResultNotKeptError extends ParkingLotError {
  override get code(): 'RESULT_NOT_KEPT' {
    return 'RESULT_NOT_KEPT'
  }
  constructor(
    message: string,
    readonly taskId: string,
    readonly status: string,
  ) {
    super(message)
  }
}

/** The idempotency key is known with a different payload; the existing task is unchanged. */
export class IdempotencyConflictError extends ParkingLotError {
  override get code(): 'IDEMPOTENCY_CONFLICT' {
    return 'IDEMPOTENCY_CONFLICT'
  }
  constructor(
    message: string,
    readonly key: string,
    readonly existingTaskId: string,
  ) {
    super(message)
  }
}

/** The task waited past its wait limit without starting; it never ran (again). */
export class TaskExpiredError extends ParkingLotError {
  override get code(): 'TASK_EXPIRED' {
    return 'TASK_EXPIRED'
  }
}

/** The task was cancelled; if it was running, its signal was aborted. */
export class TaskCancelledError extends ParkingLotError {
  override get code(): 'TASK_CANCELLED' {
    return 'TASK_CANCELLED'
  }
}

/** The task was dropped from a full lot to make room for a higher-priority task; it never ran. */
export class TaskDroppedError extends ParkingLotError {
  override get code(): 'TASK_DROPPED' {
    return 'TASK_DROPPED'
  }
}

/** Why a task failed: its executor threw (`error`), or it ran past `runTimeoutMs` (`timeout`). */
export type FailureReason = 'error' | 'timeout' | 'crashed'

/** The executor failed on its last allowed attempt. `cause` is what the executor threw. */
export class TaskFailedError extends ParkingLotError {
  override get code(): string {
    return 'TASK_FAILED'
  }
  constructor(
    message: string,
    readonly reason: FailureReason,
    readonly attempts: number,
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

/**
 * The worker running the task died or stopped answering; the task may have partly run. A worker
 * runtime rejects an attempt with it (`attempts` 0); when no attempt is left, the task's handle
 * rejects with one too, which is also a `TaskFailedError` with reason `crashed`.
 */
export class WorkerCrashedError extends TaskFailedError {
  override get code(): string {
    return 'WORKER_CRASHED'
  }
  constructor(message: string, attempts = 0, options?: { cause?: unknown }) {
    super(message, 'crashed', attempts, options)
  }
}

/** A config is invalid. `path` names the offending field; `line`/`column` locate a syntax error. */
export class ConfigError extends ParkingLotError {
  override get code(): 'CONFIG_ERROR' {
    return 'CONFIG_ERROR'
  }
  constructor(
    message: string,
    readonly issues: readonly ConfigIssue[],
    options?: { cause?: unknown },
  ) {
    super(message, options)
  }
}

export interface ConfigIssue {
  /** Dotted path of the field, e.g. `pools.llm.max_units`; empty for a syntax error. */
  readonly path: string
  readonly message: string
  readonly line?: number
  readonly column?: number
}

/** A storage backend failed; `cause` is the underlying error. Nothing already accepted is lost. */
export class BackendError extends ParkingLotError {
  override get code(): 'BACKEND_ERROR' {
    return 'BACKEND_ERROR'
  }
}

/**
 * An error of the class `code` names among `classes` (a plain `Error` for others), with this
 * message, built without its constructor: the fields arrive whole, whatever each constructor takes.
 */
export function errorFromCode(
  classes: Readonly<Record<string, { readonly prototype: Error }>>,
  code: string | undefined,
  message: string,
  fields: Record<string, unknown> = {},
): Error {
  const known = code === undefined ? undefined : classes[code]
  const error: Error = known === undefined ? new Error(message) : (Object.create(known.prototype) as Error)
  Object.defineProperty(error, 'message', { value: message, writable: true, configurable: true })
  if (known !== undefined) Object.defineProperty(error, 'name', { value: nameOfCode(code!), writable: true, configurable: true })
  for (const [field, value] of Object.entries(fields)) {
    if (field !== 'code') Object.defineProperty(error, field, { value, writable: true, enumerable: true, configurable: true })
  }
  // A class's code is its prototype's; an unknown one is kept on the error itself.
  if (known === undefined && code !== undefined) Object.defineProperty(error, 'code', { value: code, enumerable: true })
  return error
}

/** Turns anything thrown into a message without losing it. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message
  if (typeof error === 'string') return error
  try {
    return JSON.stringify(error) ?? String(error)
  } catch {
    return String(error)
  }
}
