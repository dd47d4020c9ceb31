// The root entry: core scheduling, in-memory backends and config. Browser- and Node-safe; it
// imports no backend that needs a platform (those load through their subpaths).
export { ResourcePool } from './pool.js'
export type { PoolEventMap, PoolSnapshot, PoolStats } from './core/scheduler.js'
export { TaskHandle } from './core/handle.js'
export type { PoolOptions, PolicyOptions, SubmitOptions } from './core/options.js'
export type {
  Executor,
  ExecutorFunction,
  MailboxKey,
  PayloadFormat,
  Priority,
  TaskContext,
  TaskInfo,
  TaskStatus,
  TerminalStatus,
} from './core/types.js'
export { PRIORITIES } from './core/types.js'
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
export type { KeyRecord, Lease, Settlement, TaskQueue, TaskRecord } from './core/queue.js'
export type { DurationStats } from './core/stats.js'
export { MemoryQueue } from './queue/memory.js'
export { MemoryMailboxStore } from './mailbox/memory.js'
export { BroadcastNotifier, type BroadcastNotifierOptions } from './mailbox/broadcast.js'
export {
  BackendError,
  ConfigError,
  CostExceedsCapacityError,
  IdempotencyConflictError,
  InvalidCostError,
  InvalidOptionError,
  InvalidPayloadError,
  ParkingLotError,
  PoolClosedError,
  QueueFullError,
  QueueLockedError,
  TaskCancelledError,
  TaskDroppedError,
  TaskExpiredError,
  TaskFailedError,
  WorkerCrashedError,
  type ConfigIssue,
  type FailureReason,
} from './core/errors.js'
export { loadConfig, validateConfig } from './config/load.js'
export {
  buildPools,
  detectEnvironment,
  poolOptionsFromConfig,
  type BackendContext,
  type BackendFactories,
  type BuildPoolsOptions,
  type Environment,
} from './config/build.js'
export type { MailboxNotifierConfig, MailboxStorageConfig, PoolConfig, QueueConfig, SchedulerConfig } from './config/schema.js'
