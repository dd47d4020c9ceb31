import type { KeyedTaskInfo, Lease, TaskRecord } from './record.js'
import type { MailboxMessage, MailboxStore } from './mailbox.js'
import type { ValueCheck } from './storable.js'
import type { MaybePromise, TerminalStatus } from './types.js'

export type { KeyedTaskInfo, Lease, TaskRecord } from './record.js'

/** What a queue keeps of a task while its idempotency key is remembered. */
export interface KeyRecord {
  readonly key: string
  readonly taskId: string
  readonly fingerprint: string | undefined
  /** Undefined while the task is live. */
  readonly status: TerminalStatus | undefined
  /** Clock ms after which the key may be forgotten; undefined while the task is live. */
  readonly retainUntil: number | undefined
  /** The ended task's fields; undefined while it is live, and in keys written before release 0.2. */
  readonly task: KeyedTaskInfo | undefined
}

/** How a task left the queue. */
export interface Settlement {
  readonly status: TerminalStatus
  readonly endedAt: number
  /** Until when the task's idempotency key is remembered; key records older than `endedAt` may be pruned. */
  readonly retainKeyUntil: number
  /**
   * The task's mailbox message, passed only when `sharesTransactionWith(store)` said yes: the
   * queue then writes it in the same transaction as the ack.
   */
  readonly message: MailboxMessage | undefined
  /** The task's result or error (a shared queue carries it to a submitter in another process). */
  readonly outcome: { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: Error }
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
  /** What a payload must survive to be stored (`checkJson` for a JSON store); none for a store that keeps values as they are. */
  readonly checkValue?: ValueCheck
  /**
   * Takes ownership for `owner` and returns the stored tasks (for recovery), in `seq` order. A
   * stored row that does not decode fails the open with a `BackendError` naming its id and field.
   * A second owner of the same queue gets `QueueLockedError`. What the pool should hear of while
   * it opens (its storage was wiped) goes to `report`, which the pool turns into an `error` event.
   */
  open(owner: string, report?: (error: Error) => void): MaybePromise<readonly TaskRecord<P>[]>
  /**
   * Records new tasks, all or none, in one write; a record whose live idempotency key is already
   * stored is refused. Ids are unique (the pool makes them). The records may be the pool's live
   * task objects: copy what you keep (`copyRecord`).
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
  /**
   * Removes a task for good; keeps its idempotency key (with the task's info fields) until
   * `retainKeyUntil`, and forgets key records whose time passed. Idempotent.
   */
  settle(record: TaskRecord<P>, settlement: Settlement): MaybePromise<void | 'kept'>
  /** The live task or remembered ended task with this idempotency key. */
  findKey(key: string, now: number): MaybePromise<KeyRecord | undefined>
  /** Whether this queue writes `store`'s messages in its own transactions. Asked once, when the pool is made; it may refuse a store it cannot work with (throw). */
  sharesTransactionWith(store: MailboxStore<unknown>): boolean
  /** Gives up ownership. Stored tasks stay for the next owner when the queue is durable. */
  close(): MaybePromise<void>
  /**
   * Present on a queue many pools share (Postgres): the store orders and claims, so the pool's
   * lot holds only the tasks it claimed, and a task submitted here may run in another process.
   * Its `settle` may answer `'kept'`: the store did not end the task (another process runs it,
   * or this run's lease was lost), and the pool waits for the outcome the store reports.
   */
  readonly shared?: SharedQueue<P>
}

/** What a pool tells a shared queue when it opens it. */
export interface SharedHost {
  /** Leases last this long (database time), renewed every third of it. */
  readonly leaseMs: number
  /** The pool's `maxQueueDepth`: a store that can count every submitter's waiting tasks may bound them all by it. */
  readonly maxQueueDepth: number
  /** The pool's `policy.agingMs`: a store that orders claims may age waiting tasks by it (in its own time). */
  readonly agingMs: number | undefined
  /** The pool's `policy.fairShare`: a store that orders claims may keep usage per tenant and order by it. */
  readonly fairShare: boolean
  /** Tasks may be claimable (new work, an expired lease, an ended backoff): claim again. */
  wake(): void
  /**
   * A task this pool claimed (running, or waiting in its lot) must stop: its submitter asked
   * (`'cancelled'`: end it so), or its lease was lost (`'lease-lost'`: another process may run it
   * now; let go of it without writing an end).
   */
  stopRun(id: string, why: 'cancelled' | 'lease-lost'): void
}

/** What a follower hears of a task submitted here that any process may run. */
export interface SharedFollower<C> {
  progress(chunk: C): void
  ended(status: TerminalStatus, value: unknown, error: Error | undefined): void
}

export interface SharedClaimRequest {
  /** Free units per resource. */
  readonly free: Readonly<Record<string, number>>
  /** The pool's whole capacity per resource: a task over it never runs here, so it is passed over. */
  readonly capacity: Readonly<Record<string, number>>
  /** At most this many tasks. */
  readonly limit: number
  /** True: pass over a task that does not fit now for later ones; false: stop at it (head-of-line). */
  readonly backfill: boolean
  /** A task passed over this long (database time) is reserved: claims stop at it until one takes it. */
  readonly reserveAfterMs: number
  /** Claimed tasks waiting in the pool's lot now (a queue that prefetches takes fewer when it has some). */
  readonly waiting: number
}

export interface SharedClaim<P> {
  readonly runs: readonly TaskRecord<P>[]
  readonly spent: readonly TaskRecord<P>[]
  /** Leased tasks their submitter asked to stop whose runner died first, for the pool to end as cancelled. */
  readonly cancelled: readonly TaskRecord<P>[]
}

export interface SharedQueue<P> {
  /**
   * Tasks a claim may take beyond what fits the free units now, to wait in the lot; the pool
   * claims again once fewer than half that many wait.
   */
  readonly prefetch: number
  /** Called once the queue opened, before any claim. */
  attach(host: SharedHost): void
  /**
   * Claims and leases waiting tasks whose summed cost fits the free units, best first. Each run's
   * `attempt` is the one it starts. `spent` are leased tasks whose attempts are spent (their owner
   * died on the last), for the pool to end as failed.
   */
  claim(request: SharedClaimRequest): Promise<SharedClaim<P>>
  /** Follows a task put by this queue until its end is reported (progress too, from any process). */
  follow(id: string, follower: SharedFollower<unknown>): void
  /** Stops following (the task runs here now, or ended). */
  unfollow(id: string): void
  /** A chunk of a task this pool runs, for its submitter. */
  progress(record: TaskRecord<P>, chunk: unknown): void
}

export { copyRecord, keyedInfo } from './record.js'
