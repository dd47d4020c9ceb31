// The root entry: the core scheduler and its in-memory backends. Browser- and Node-safe, small:
// it imports no backend that needs a platform and no config library (those live in subpaths:
// ./config, ./worker, ./indexeddb, ./pglite).
export { ResourcePool } from './pool.js'
export { ModelPool } from './model-pool.js'
export type { CloseOptions, Pool, PoolEventMap, PoolMailbox, PoolSnapshot, PoolStats } from './core/pool.js'
export type { TaskHandle } from './core/handle.js'
export type { PoolOptions, PolicyOptions, SubmitItem, SubmitOptions } from './core/options.js'
export type { Executor, ExecutorFunction, TaskContext } from './core/executor.js'
export type { MailboxKey, Priority, PriorityName, TaskStatus, TerminalStatus } from './core/types.js'
export { checkCloneable, checkJson, type Unstorable, type ValueCheck } from './core/storable.js'
export type { TaskInfo } from './core/record.js'
export type { CapacityInput, CostInput, ResourceVector } from './core/capacity.js'
export { ManualClock, SystemClock, type Clock, type TimerHandle } from './core/clock.js'
export {
  Mailbox,
  type FetchOptions,
  type FetchResult,
  type MailboxMessage,
  type MailboxNotifier,
  type MailboxOptions,
  type MailboxStore,
} from './core/mailbox.js'
export {
  copyRecord,
  keyedInfo,
  type KeyRecord,
  type KeyedTaskInfo,
  type Lease,
  type Settlement,
  type TaskQueue,
  type TaskRecord,
} from './core/queue.js'
export type { DurationStats } from './core/stats.js'
export { HISTOGRAM_BOUNDS_MS } from './core/stats.js'
export { metricsText, type Measurable } from './core/metrics.js'
export type { ModelEventMap, ModelInstanceSnapshot, ModelLoadContext, ModelSpec, ModelStats, UnloadReason } from './core/models.js'
export { MemoryQueue } from './queue/memory.js'
export { MemoryMailboxStore } from './mailbox/memory.js'
export { BroadcastNotifier, type BroadcastNotifierOptions } from './mailbox/broadcast.js'
export { HttpNotifier, type DeadLetter, type HttpNotifierOptions } from './mailbox/http.js'
export {
  BackendError,
  ConfigError,
  CostExceedsCapacityError,
  IdempotencyConflictError,
  InvalidCostError,
  InvalidOptionError,
  InvalidPayloadError,
  InvalidResultError,
  ModelLoadError,
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
  type ConfigIssue,
  type FailureReason,
} from './core/errors.js'
