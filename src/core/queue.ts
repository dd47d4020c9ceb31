import type { ResourceVector } from './capacity.js'
import type { MailboxMessage, MailboxStore } from './mailbox.js'
import type { MailboxKey, MaybePromise, PayloadFormat, Priority, TerminalStatus } from './types.js'

/** A claim on a task: who runs it and until when, unless renewed. */
export interface Lease {
  readonly owner: string
  /** Clock ms (owned stores) or database time (shared stores). */
  readonly expiresAt: number
}

/** A task as a queue stores it: everything needed to run it again after a restart. */
export interface TaskRecord<P = unknown> {
  readonly id: string
  /** Arrival order within the queue; a retry keeps it, so it re-enters at its original place. */
  readonly seq: number
  readonly payload: P
  readonly cost: ResourceVector
  readonly priority: Priority
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  /** Canonical form of the payload, compared when the same idempotency key comes again. */
  readonly fingerprint: string | undefined
  readonly handler: string | undefined
  readonly submittedAt: number
  readonly waitDeadline: number | undefined
  readonly runTimeoutMs: number | undefined
  readonly maxAttempts: number
  /** Attempts started so far (0 while it has never run). */
  readonly attempt: number
  /** Earliest start time (a retry's backoff); undefined when it may start at once. */
  readonly notBefore: number | undefined
  /** Set while an owner runs it. */
  readonly lease: Lease | undefined
}

/** What a queue keeps of an ended task while its idempotency key is remembered. */
export interface KeyRecord {
  readonly key: string
  readonly taskId: string
  readonly fingerprint: string | undefined
  /** Undefined while the task is live. */
  readonly status: TerminalStatus | undefined
  /** Clock ms after which the key may be forgotten; undefined while the task is live. */
  readonly retainUntil: number | undefined
}

/** How a task left the queue. */
export interface Settlement {
  readonly status: TerminalStatus
  readonly endedAt: number
  /** Until when the task's idempotency key is remembered. */
  readonly retainKeyUntil: number
  /**
   * The task's mailbox message, passed only when `sharesTransactionWith(store)` said yes: the
   * queue then writes it in the same transaction as the ack.
   */
  readonly message: MailboxMessage | undefined
}

/**
 * The durable record of a pool's tasks. Every method may answer synchronously (memory) or with a
 * promise (storage); the pool awaits only what must be durable before it answers (a submit).
 *
 * For a queue one scheduler owns (memory, IndexedDB, PGlite), the pool's lot orders the tasks and
 * the queue records them; shared queues (Postgres) also order and claim.
 */
export interface TaskQueue<P = unknown> {
  /** True when accepted tasks survive the process; `close()` then keeps parked tasks. */
  readonly durable: boolean
  /** What payloads must survive to be stored. */
  readonly payloadFormat: PayloadFormat
  /**
   * Takes ownership for `owner` and returns the stored tasks (for recovery), in `seq` order.
   * A second owner of the same queue gets `QueueLockedError`.
   */
  open(owner: string): MaybePromise<readonly TaskRecord<P>[]>
  /**
   * Records new tasks, all or none; a record whose live idempotency key is already stored is
   * refused. Ids are unique (the pool makes them). The records may be the pool's live task
   * objects: copy what you keep (`copyRecord`).
   */
  put(records: readonly TaskRecord<P>[]): MaybePromise<void>
  /**
   * Marks a stored task running under `lease` and counts the attempt. Leases serve recovery, so
   * the pool calls `claim`, `renew` and `release` only on a `durable` queue.
   *
   * These methods take the record the pool put (not its id), so a store can find it without a
   * lookup by id; a store that keeps rows uses `record.id`.
   */
  claim(record: TaskRecord<P>, attempt: number, lease: Lease): MaybePromise<void>
  /** Extends the leases of running tasks. */
  renew(records: readonly TaskRecord<P>[], expiresAt: number): MaybePromise<void>
  /** Puts a task back to wait (a retry after its backoff), dropping its lease. */
  release(record: TaskRecord<P>, notBefore: number | undefined): MaybePromise<void>
  /** Removes a task for good; keeps its idempotency key until `retainKeyUntil`. Idempotent. */
  settle(record: TaskRecord<P>, settlement: Settlement): MaybePromise<void>
  /** The live task or remembered ended task with this idempotency key. */
  findKey(key: string, now: number): MaybePromise<KeyRecord | undefined>
  /** Whether this queue writes `store`'s messages in its own transactions. */
  sharesTransactionWith(store: MailboxStore<unknown>): boolean
  /** Gives up ownership. Stored tasks stay for the next owner when the queue is durable. */
  close(): MaybePromise<void>
}

/**
 * A plain copy of a record's fields. The pool hands queues its live task objects; a queue that
 * keeps or serializes a record copies it with this.
 */
export function copyRecord<P>(record: TaskRecord<P>, changes: Partial<TaskRecord<P>> = {}): TaskRecord<P> {
  return {
    id: record.id,
    seq: record.seq,
    payload: record.payload,
    cost: record.cost,
    priority: record.priority,
    tenant: record.tenant,
    mailbox: record.mailbox,
    key: record.key,
    fingerprint: record.fingerprint,
    handler: record.handler,
    submittedAt: record.submittedAt,
    waitDeadline: record.waitDeadline,
    runTimeoutMs: record.runTimeoutMs,
    maxAttempts: record.maxAttempts,
    attempt: record.attempt,
    notBefore: record.notBefore,
    lease: record.lease,
    ...changes,
  }
}
