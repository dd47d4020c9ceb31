import type { CapacityInput, CostInput } from './capacity.js'
import type { Clock } from './clock.js'
import type { Mailbox } from './mailbox.js'
import type { TaskQueue } from './queue.js'
import type { Executor, ExecutorFunction } from './executor.js'
import type { ModelSpec } from './models.js'
import type { RateLimits } from './rates.js'
import type { MailboxKey, Priority } from './types.js'

/** The parking-lot policy: what happens when the lot is full, and who starts first. */
export interface PolicyOptions {
  /**
   * When `maxQueueDepth` tasks are parked: `'reject'` refuses the new task with `QueueFullError`;
   * `'drop-lowest'` drops the newest parked task of the lowest priority if the new task outranks
   * it (status `dropped`, delivered to its mailbox), else refuses.
   * @default 'reject'
   */
  readonly onFull?: 'reject' | 'drop-lowest'
  /**
   * Let tasks behind a head that does not fit start if they fit. Off, the head blocks everyone
   * behind it (large jobs are never starved, but capacity idles).
   * @default false
   */
  readonly backfill?: boolean
  /**
   * With backfill: once a task has been the head this long (counted from when it became the
   * head, not from its arrival), its cost is reserved, and later tasks start only if they fit
   * beside the reservation. Bounds how long backfill can delay a large task.
   * @default 10_000
   */
  readonly headReserveAfterMs?: number
  /**
   * Raise a parked task's priority one level per `agingMs` waited (up to `critical`).
   * @default undefined (no aging)
   */
  readonly agingMs?: number
  /**
   * Within a priority, start the task of the tenant that has used least (dominant share of the
   * capacity x run time) instead of the oldest task. A flood from one tenant then cannot make
   * another tenant's few tasks wait behind all of it.
   * @default false
   */
  readonly fairShare?: boolean
}

export interface PoolOptions<P, R, C = unknown> {
  /** Shown in errors, snapshots and the durable queue's name. @default 'pool' */
  readonly name?: string
  /**
   * What the pool can run at once, as named resource units; a plain number `n` means
   * `{ slots: n }` (a concurrency limit).
   * @example { vram: 20, cpu: 4 }
   */
  readonly capacity: CapacityInput
  /** Runs a task: a function `(payload, ctx) => result`, or a runtime such as a `WorkerPool`. */
  readonly executor: ExecutorFunction<P, R, C> | Executor<P, R, C>
  /**
   * Resources whose capacity changes at run time (`setCapacity`): one may start at 0, and a cost
   * above its capacity of the moment parks instead of being refused. A runtime's own elastic
   * resources (worker slots that tabs lend) join these. @default []
   */
  readonly elasticResources?: readonly string[]
  /** Most tasks parked at once; see `policy.onFull`. @default Infinity */
  readonly maxQueueDepth?: number
  /** Wait limit for tasks submitted without one, counted from submit. @default undefined (wait forever) */
  readonly defaultWaitTimeoutMs?: number
  /** Run timeout for tasks submitted without one, counted from each start. @default undefined (none) */
  readonly defaultRunTimeoutMs?: number
  /** Attempts per task, the first included; failures and run timeouts retry while attempts remain. @default 1 */
  readonly maxAttempts?: number
  /** Whether a failure may be retried (if attempts remain). @default every failure may */
  readonly retryOn?: (error: unknown, attempt: number) => boolean
  /** Backoff before the first retry; doubles each retry, with jitter. @default 1_000 */
  readonly retryBaseDelayMs?: number
  /** Longest backoff. @default 30_000 */
  readonly retryMaxDelayMs?: number
  /** How long an ended task's idempotency key is remembered. @default 300_000 */
  readonly keyRetentionMs?: number
  /**
   * Where tasks are recorded. The pool opens it (taking ownership) and `close()` closes it (giving
   * ownership up); a database under it stays the caller's to close.
   * @default none: the pool keeps its tasks in memory (no persistence)
   */
  readonly queue?: TaskQueue<P>
  /**
   * Where outcomes of tasks with a mailbox key go. One you pass stays yours: `close()` leaves it
   * open (other pools may share it). The default one is the pool's, and `close()` closes it.
   * @default a `Mailbox` over a `MemoryMailboxStore`
   */
  readonly mailbox?: Mailbox<R>
  /** @default a `SystemClock` */
  readonly clock?: Clock
  readonly policy?: PolicyOptions
  /** How long a claim on a running task lasts unless renewed (durable queues renew it). @default 30_000 */
  readonly leaseMs?: number
  /** Source of backoff jitter, in [0, 1). @default Math.random */
  readonly random?: () => number
  /**
   * Models that hold units between tasks, by id; a task names one with the submit option `model`.
   * See docs/semantics.md, "Models". @default none
   * @example { llama: { cost: { vram: 5 }, keepAliveMs: 60_000 } }
   */
  readonly models?: Readonly<Record<string, ModelSpec>>
  /**
   * Resources that refill with time instead of coming back when a task ends: at most `limit`
   * units drawn in any `intervalMs` (a sliding window). A task draws on them through its cost,
   * beside what it holds, each time it starts; a cost above a `limit` is refused. They are not
   * named in `capacity`. See docs/semantics.md, "Rates". @default none
   * @example { requests: { limit: 60, intervalMs: 60_000 }, tokens: { limit: 90_000, intervalMs: 60_000 } }
   */
  readonly rates?: RateLimits
}

export interface SubmitOptions {
  /**
   * Units the task holds while it runs. A plain number `n` means `{ slots: n }`.
   * @default { slots: 1 } on a pool whose capacity is a number; required otherwise
   * @example { vram: 5 }
   */
  readonly cost?: CostInput
  /** @default 'normal' */
  readonly priority?: Priority
  /**
   * Longest wait in the lot, counted from submit (from `runAt` for a delayed task); a retry must
   * also start within it.
   */
  readonly waitTimeoutMs?: number
  /** Latest start time, ms since the epoch (Clock time). The earlier of this and `waitTimeoutMs` wins. */
  readonly waitDeadline?: number
  /**
   * Start no earlier than this many ms from now. The task is parked meanwhile (counted in `size`
   * and `maxQueueDepth`); once due it takes its place by priority, then submit order, and ages
   * from then. Give this or `runAt`.
   */
  readonly delayMs?: number
  /** Start no earlier than this time, ms since the epoch (Clock time); one in the past starts at once. */
  readonly runAt?: number
  /** Longest run, counted from each start; at the timeout the task's signal aborts. */
  readonly runTimeoutMs?: number
  /** Attempts for this task. @default the pool's `maxAttempts` */
  readonly maxAttempts?: number
  /** Whose share this task counts against under fair share. @default `mailbox.tenant`, else '' */
  readonly tenant?: string
  /** Where the outcome is delivered, for pickup after the caller went away. */
  readonly mailbox?: MailboxKey
  /** Aborting it cancels the task. */
  readonly signal?: AbortSignal
  /** Idempotency key: a second submit with the same key returns the first task. */
  readonly key?: string
  /** Which handler of a worker runtime runs the task. */
  readonly handler?: string
  /**
   * The model (an id of the pool's `models`) the task runs on: it starts on a loaded instance of
   * it, and its `cost` is what it holds on top of the instance's (its KV cache).
   */
  readonly model?: string
}

/** One task of `submitAll`. */
export interface SubmitItem<P> {
  readonly payload: P
  readonly options?: SubmitOptions
}
