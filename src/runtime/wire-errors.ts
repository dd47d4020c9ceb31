/*
 * Errors across a message boundary (worker to page, host to tab): the class (by `code`), fields
 * and cause survive, so a tab can still `instanceof QueueFullError` an error its host raised.
 * Structured clone alone keeps only standard error names.
 */
import * as d from '../core/decode.js'
import {
  BackendError,
  ConfigError,
  CostExceedsCapacityError,
  IdempotencyConflictError,
  InvalidCostError,
  InvalidOptionError,
  InvalidPayloadError,
  InvalidResultError,
  ParkingLotError,
  PoolClosedError,
  QueueFullError,
  QueueLockedError,
  ResultNotKeptError,
  TaskCancelledError,
  TaskDetachedError,
  TaskDroppedError,
  TaskExpiredError,
  TaskFailedError,
  WorkerCrashedError,
  ModelLoadError,
  errorFromCode,
} from '../core/errors.js'

/** Every error class by its `code`, so one that crossed a boundary is rebuilt as itself. */
const ERROR_CLASSES: Readonly<Record<string, { readonly prototype: Error }>> = {
  PARKING_LOT_ERROR: ParkingLotError,
  COST_EXCEEDS_CAPACITY: CostExceedsCapacityError,
  INVALID_COST: InvalidCostError,
  INVALID_OPTION: InvalidOptionError,
  INVALID_PAYLOAD: InvalidPayloadError,
  INVALID_RESULT: InvalidResultError,
  QUEUE_FULL: QueueFullError,
  QUEUE_LOCKED: QueueLockedError,
  POOL_CLOSED: PoolClosedError,
  TASK_DETACHED: TaskDetachedError,
  RESULT_NOT_KEPT: ResultNotKeptError,
  IDEMPOTENCY_CONFLICT: IdempotencyConflictError,
  TASK_EXPIRED: TaskExpiredError,
  TASK_CANCELLED: TaskCancelledError,
  TASK_DROPPED: TaskDroppedError,
  TASK_FAILED: TaskFailedError,
  WORKER_CRASHED: WorkerCrashedError,
  MODEL_LOAD: ModelLoadError,
  CONFIG_ERROR: ConfigError,
  BACKEND_ERROR: BackendError,
}

export interface WireError {
  readonly name: string
  readonly message: string
  readonly stack: string | undefined
  readonly code: string | undefined
  /** Own enumerable fields of the error (`reason`, `attempts`, `path`, ...), when they clone. */
  readonly fields: Record<string, unknown>
  readonly cause: WireError | undefined
}

const decodeWireFields = d.object({
  name: d.string,
  message: d.string,
  stack: d.optional(d.string),
  code: d.optional(d.string),
  fields: d.record(d.unknown),
})

/** A `WireError` as it arrives (its causes too). */
export const decodeWireError: d.Decoder<WireError> = (value, path) => {
  decodeWireFields(value, path)
  const cause = (value as { cause?: unknown }).cause
  if (cause !== undefined) decodeWireError(cause, `${path}.cause`)
  return value as WireError
}

export function toWire(error: unknown, depth = 0): WireError {
  if (!(error instanceof Error)) {
    return { name: 'Error', message: String(error), stack: undefined, code: undefined, fields: {}, cause: undefined }
  }
  const fields: Record<string, unknown> = {}
  for (const [name, value] of Object.entries(error)) {
    if (name === 'code' || name === 'cause') continue
    if (value === undefined || ['string', 'number', 'boolean'].includes(typeof value)) fields[name] = value
  }
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    message: error.message,
    stack: error.stack,
    code: typeof code === 'string' ? code : undefined,
    fields,
    cause: error.cause !== undefined && depth < 3 ? toWire(error.cause, depth + 1) : undefined,
  }
}

export function fromWire(wire: WireError): Error {
  const error = errorFromCode(ERROR_CLASSES, wire.code, wire.message, wire.fields)
  Object.defineProperty(error, 'name', { value: wire.name, writable: true, configurable: true })
  if (wire.stack !== undefined) Object.defineProperty(error, 'stack', { value: wire.stack, writable: true, configurable: true })
  if (wire.cause !== undefined) Object.defineProperty(error, 'cause', { value: fromWire(wire.cause), writable: true, configurable: true })
  return error
}
