/*
 * A queue many pools share, in many processes on many machines: the store orders and claims.
 *
 * - submit: rows inserted in one statement per batch (a tick's submits), with a NOTIFY per batch;
 * - claim: the pool asks with its free units; one statement takes the best waiting tasks that
 *   fit, under leases in database time (shared-jobs.ts);
 * - run: leases renew while the task runs; a lease that expires (its owner died) makes the task
 *   claimable again, attempt + 1; a submitter's cancel reaches the runner at its next renewal;
 * - end: acks gathered while one is being written go together in the next transaction (group
 *   commit), with the mailbox messages when the store shares the database, and the ends for
 *   submitters in other processes (shared-outcomes.ts);
 * - wake: LISTEN/NOTIFY, debounced, with a jittered poll (work-signal.ts).
 */
import { BackendError } from '../core/errors.js'
import type { MailboxStore } from '../core/mailbox.js'
import type {
  KeyRecord,
  Settlement,
  SharedClaim,
  SharedClaimRequest,
  SharedFollower,
  SharedHost,
  SharedQueue,
  TaskQueue,
  TaskRecord,
} from '../core/queue.js'
import { checkJson } from '../core/storable.js'
import { optionalFunction, optionalNumber, optionsObject, refuse } from '../core/validate.js'
import { namedPrioritiesOnly } from '../sql/named-priorities.js'
import { describeError } from '../core/errors.js'
import { ROWS_PER_INSERT, findKey } from '../sql/jobs.js'
import { checkName, type SqlClient } from '../sql/migrations.js'
import {
  chargeTenants,
  claimFitting,
  delayOf,
  enrollTenants,
  forgetIfDrained,
  insertSharedJobs,
  notifyWork,
  plainEnd,
  releaseShared,
  releaseUnstarted,
  renewSharedLeases,
  settleSharedJobs,
  takePoisoned,
  withdrawShared,
  type AckedEnd,
  type ClaimedRow,
  type SharedEnd,
} from '../sql/shared-jobs.js'
import {
  MAX_PAYLOAD_BYTES,
  OUTCOME_CHANNEL,
  PROGRESS_CHANNEL,
  ackAndTell,
  forgetSubmitter,
  notifyProgress,
  pruneOutcomes,
  takeOutcomes,
  type SharedOutcome,
} from '../sql/shared-outcomes.js'
import { noop } from '../core/types.js'
import { reportTo, wrap } from '../sql/wrap.js'
import { migratePostgres, pgClient, type PgPool } from './client.js'
import { PostgresMailboxStore } from './mailbox.js'
import { WorkSignal } from './work-signal.js'
import { decodeOutcome, toldOf } from '../sql/outcome-codec.js'
import { Batcher, writeTogetherOrEach, type Gathered } from '../sql/batcher.js'
import { DueAlarm } from '../sql/due-alarm.js'

export interface PostgresQueueOptions {
  /** The queue's name; many queues share one database. @default 'default' */
  readonly name?: string
  /** Wakes (NOTIFY) within this many ms become one claim. @default 2 */
  readonly debounceMs?: number
  /** The fallback poll for what no notification says (an expired lease, an ended backoff), jittered ±50 %. @default 1000 */
  readonly pollMs?: number
  /** Waiting tasks a claim looks at, best first (it takes those that fit). @default 64 */
  readonly claimScan?: number
  /**
   * Tasks a claim also takes beyond what fits the pool's free units now (each fitting its
   * capacity), to wait in its lot under its lease: fewer claims when tasks are short, at the
   * price of holding tasks another process could run (as graphile-worker's `localQueue`). @default 0
   */
  readonly prefetch?: number
  /** Ends nobody took (their submitter went away) are kept this long. @default 86_400_000 (a day) */
  readonly outcomeRetentionMs?: number
  /** Hears what goes wrong in the background (a lost LISTEN connection, a progress send). @default console.warn */
  readonly onError?: (error: unknown) => void
}

const KEYS: Record<keyof PostgresQueueOptions, 1> = {
  name: 1,
  debounceMs: 1,
  pollMs: 1,
  claimScan: 1,
  prefetch: 1,
  outcomeRetentionMs: 1,
  onError: 1,
}

/** What this queue knows of a run it claimed. */
interface Held {
  readonly attempt: number
  readonly submitter: string | null
  /** Its row's rid: acks, renewals and releases find the row by it. */
  readonly rid: string
  /** Under fair share, once its run started here: the time (Date.now) its usage is charged up to. */
  readonly chargedUntil?: number
}

/**
 * A task queue in Postgres (`pl_queue_jobs`) that many pools share: pass one to each
 * `ResourcePool` with `queue`. The pool is the caller's `pg.Pool` (two connections per queue at
 * least: one listens); `close()` leaves it open.
 */
export class PostgresQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = true
  readonly checkValue = checkJson
  readonly shared: SharedQueue<P>
  readonly name: string
  readonly pool: PgPool
  readonly #db: SqlClient
  readonly #options: Required<Omit<PostgresQueueOptions, 'name' | 'onError'>>
  readonly #onError: (error: unknown) => void
  #owner = ''
  #host: SharedHost | undefined
  #signal: WorkSignal | undefined
  #sharedMailbox: PostgresMailboxStore<unknown> | undefined
  readonly #held = new Map<string, Held>()
  /** Fair share: usage per tenant of runs ended here, added to the table after their acks. */
  #usage = new Map<string, number>()
  /** The pool's capacity at its last claim, for a run's dominant share. */
  #capacity: Readonly<Record<string, number>> = {}
  /** The rids of the tasks put here, until their end: a withdrawal finds the row by it. */
  readonly #placed = new Map<string, string>()
  readonly #followers = new Map<string, SharedFollower<unknown>>()
  /** Ends that came before their task was followed (its submit was still being answered). */
  readonly #early = new Map<string, SharedOutcome>()
  #progress: { submitter: string; id: string; chunk: unknown }[] = []
  /** The progress sends, chained in order; never rejects (a failed send is reported). */
  #progressSending: Promise<void> = Promise.resolve()
  #fetching = false
  #spentCheckedAt = 0
  #outcomesFetchedAt = 0
  /** Settles when the claim in flight has (close waits for it, so its leases are let go too). */
  #claimInFlight: Promise<void> = Promise.resolve()
  /** Acks since ended keys were last pruned. */
  #acksSincePrune = 0
  #fetchAgain = false
  // Two submit writes at once: a second batch need not wait out the first one's round trip.
  // Submits not awaited one after another may then take `seq` (their age order) out of turn.
  readonly #puts = new Batcher<readonly TaskRecord<P>[], void>((batch) => this.#writePuts(batch), 2)
  readonly #due = new DueAlarm(
    () => notifyWork(this.#db, this.name),
    (error) => this.#report(error),
  )
  readonly #acks = new Batcher<AckedEnd, void | 'kept'>((batch) => this.#writeAcks(batch))

  constructor(pool: PgPool, options: PostgresQueueOptions = {}) {
    if (typeof pool?.query !== 'function' || typeof pool.connect !== 'function') refuse('pool', 'a pg.Pool', pool)
    optionsObject(options, KEYS, 'options')
    this.pool = pool
    this.#db = pgClient(pool)
    this.name = checkName(options.name ?? 'default', 'name')
    this.#options = {
      debounceMs: optionalNumber(options.debounceMs, 'debounceMs') ?? 2,
      pollMs: optionalNumber(options.pollMs, 'pollMs', { positive: true }) ?? 1000,
      claimScan: optionalNumber(options.claimScan, 'claimScan', { positive: true, integer: true }) ?? 64,
      prefetch: optionalNumber(options.prefetch, 'prefetch', { integer: true }) ?? 0,
      outcomeRetentionMs: optionalNumber(options.outcomeRetentionMs, 'outcomeRetentionMs', { positive: true }) ?? 86_400_000,
    }
    this.shared = {
      prefetch: this.#options.prefetch,
      attach: (host) => void (this.#host = host),
      claim: (request) => this.#claimFitting(request),
      follow: (id, follower) => this.#follow(id, follower),
      unfollow: (id) => void this.#followers.delete(id),
      progress: (record, chunk) => this.#sendLater(record, chunk),
    }
    this.#onError =
      optionalFunction<(error: unknown) => void>(options.onError, 'onError') ??
      ((error: unknown) => console.warn(`prometheus-parking-lot: queue '${this.name}': ${describeError(error)}`))
  }

  // ─── TaskQueue ─────────────────────────────────────────────────────────────

  /** Migrates, starts listening; nothing to recover here: an expired lease is any claimer's to take. */
  async open(owner: string): Promise<readonly TaskRecord<P>[]> {
    await wrap('preparing the schema', () => migratePostgres(this.pool))
    this.#owner = owner
    const signal = new WorkSignal(this.pool, this.name, (missed) => this.#woken(missed), {
      debounceMs: this.#options.debounceMs,
      pollMs: this.#options.pollMs,
      onError: this.#onError,
      channels: {
        [OUTCOME_CHANNEL]: (submitter) => submitter === owner && this.#fetchOutcomes(),
        [PROGRESS_CHANNEL]: (payload) => this.#heardProgress(payload),
      },
    })
    await wrap('listening for work', () => signal.start())
    this.#signal = signal
    return []
  }

  put(records: readonly TaskRecord<P>[]): Promise<void> {
    const numbered = records.find((record) => typeof record.priority === 'number')
    if (numbered !== undefined) return Promise.reject(namedPrioritiesOnly(`PostgresQueue '${this.name}'`, numbered.priority))
    return this.#puts.add(records)
  }

  /** The batch in one transaction; if it fails, each submit alone, so one bad submit (a key already live) fails alone. */
  async #writePuts(batch: readonly Gathered<readonly TaskRecord<P>[], void>[]): Promise<void> {
    // Up to ROWS_PER_INSERT rows are one statement, atomic alone; more need a transaction.
    const write = async (records: readonly TaskRecord<P>[]): Promise<void> => {
      // Before the rows: a claim in between would take a new tenant for one with no usage at all.
      const host = this.#attached()
      if (host.fairShare) {
        const tenants = records.map((record) => record.tenant)
        // A tenant untouched for a few leases (no run renewed or ended, no submit) is idle.
        await wrap('enrolling tenants', () => enrollTenants(this.#db, this.name, tenants, 3 * host.leaseMs))
      }
      const placed = await wrap('storing accepted tasks', () =>
        records.length <= ROWS_PER_INSERT
          ? insertSharedJobs(this.#db, this.name, records, this.#owner)
          : this.#db.transaction((tx) => insertSharedJobs(tx, this.name, records, this.#owner)),
      )
      for (const [id, { rid }] of placed) this.#placed.set(id, rid)
      this.#due.after(records.map(delayOf))
    }
    return writeTogetherOrEach(batch, write)
  }

  /** Nothing to write: the shared claim (`shared.claim`) leased it already. Under fair share the run's start is noted, for its usage. */
  claim(record: TaskRecord<P>): void {
    const held = this.#held.get(record.id)
    if (held !== undefined && this.#host?.fairShare === true) this.#held.set(record.id, { ...held, chargedUntil: Date.now() })
  }

  async renew(records: readonly TaskRecord<P>[]): Promise<void> {
    const host = this.#attached()
    const runs = records.flatMap((record) => {
      const held = this.#held.get(record.id)
      if (held === undefined) return []
      this.#held.set(record.id, this.#charge(record, held)) // fair share: what it ran so far
      return [{ id: record.id, attempt: record.attempt, rid: held.rid }]
    })
    if (runs.length === 0) return
    const rows = await wrap('renewing leases', () => renewSharedLeases(this.#db, this.#owner, runs, host.leaseMs))
    const held = new Set<string>()
    for (const row of rows) {
      held.add(row.id)
      if (row.cancel_requested) host.stopRun(row.id, 'cancelled')
    }
    // Another claimer runs it now: this run's work would only be thrown away.
    for (const run of runs) {
      // Still held, or ended (or claimed again) while the renewal was in flight: not lost.
      if (held.has(run.id) || this.#held.get(run.id)?.attempt !== run.attempt) continue
      this.#held.delete(run.id)
      host.stopRun(run.id, 'lease-lost')
    }
    await this.#chargeTenants()
  }

  async release(record: TaskRecord<P>, notBefore: number | undefined): Promise<void> {
    const held = this.#held.get(record.id)
    if (held === undefined) return // its lease was lost: not ours to release
    this.#held.delete(record.id)
    this.#charge(record, held)
    const delayMs = notBefore === undefined ? 0 : notBefore - Date.now()
    const run = { id: record.id, attempt: record.attempt, rid: held.rid }
    await wrap('releasing a task for retry', () => releaseShared(this.#db, this.#owner, run, delayMs))
  }

  /**
   * A run of ours ended: acked with the next batch, `'kept'` if the lease was lost meanwhile. A
   * task we do not run (its submitter cancelled it, or its wait limit came): ended if nobody
   * runs it, else `'kept'` (a cancel then asks its runner to stop).
   */
  async settle(record: TaskRecord<P>, settlement: Settlement): Promise<void | 'kept'> {
    const end: SharedEnd = {
      record,
      settlement,
      message: settlement.message === undefined ? undefined : { mailbox: this.#sharedMailbox!.name, message: settlement.message },
    }
    const held = this.#held.get(record.id)
    if (held !== undefined && held.attempt === record.attempt) {
      this.#held.delete(record.id)
      this.#charge(record, held)
      // A submitter in another process waits for the end; one here has the task object itself.
      const waits = held.submitter !== null && held.submitter !== this.#owner
      return this.#acks.add({ ...end, rid: held.rid, ...(waits ? { told: toldOf(record, settlement) } : {}) })
    }
    const rid = this.#placed.get(record.id)
    const answer = await wrap('withdrawing a task', () =>
      this.#db.transaction((tx) => withdrawShared(tx, this.name, end, settlement.status === 'cancelled', rid)),
    )
    if (answer !== 'ended') return 'kept'
    this.#placed.delete(record.id)
  }

  async findKey(key: string, now: number): Promise<KeyRecord | undefined> {
    return wrap('looking up an idempotency key', () => findKey(this.#db, this.name, key, now))
  }

  sharesTransactionWith(store: MailboxStore<unknown>): boolean {
    if (!(store instanceof PostgresMailboxStore) || store.pool !== this.pool) return false
    this.#sharedMailbox = store
    return true
  }

  /** Stops listening, writes what is gathered, and lets tasks claimed and never started wait again (their attempt not counted). */
  async close(): Promise<void> {
    await this.#signal?.close()
    this.#signal = undefined
    await this.#claimInFlight
    await Promise.all([this.#acks.whenIdle(), this.#puts.whenIdle()])
    this.#due.stop()
    await this.#progressSending
    const unstarted = [...this.#held].map(([id, held]) => ({ id, attempt: held.attempt, rid: held.rid }))
    this.#held.clear()
    this.#placed.clear()
    this.#followers.clear()
    this.#early.clear()
    if (this.#owner === '') return
    await wrap('letting go of claimed tasks', () => this.#db.transaction((tx) => releaseUnstarted(tx, this.name, this.#owner, unstarted)))
    // Nobody here waits for the ends of the tasks submitted here any more: their runners need not write them.
    await wrap('letting go of submitted tasks', () => forgetSubmitter(this.#db, this.name, this.#owner))
  }

  // ─── Shared ────────────────────────────────────────────────────────────────

  #follow(id: string, follower: SharedFollower<unknown>): void {
    this.#followers.set(id, follower)
    const early = this.#early.get(id)
    if (early === undefined) return
    this.#early.delete(id)
    queueMicrotask(() => this.#deliver(early))
  }

  #sendLater(record: TaskRecord<P>, chunk: unknown): void {
    const submitter = this.#held.get(record.id)?.submitter
    if (submitter === undefined || submitter === null || submitter === this.#owner) return
    this.#progress.push({ submitter, id: record.id, chunk })
    // Chained now, so an ack written after this (which waits for the chain) follows its chunks.
    if (this.#progress.length === 1) this.#progressSending = this.#progressSending.then(() => this.#sendProgress())
  }

  // ─── Inside ────────────────────────────────────────────────────────────────

  #attached(): SharedHost {
    if (this.#host === undefined) throw new BackendError(`Queue '${this.name}' is used before a pool opened it`)
    return this.#host
  }

  async #claimFitting(request: SharedClaimRequest): Promise<SharedClaim<P>> {
    const { leaseMs, agingMs, fairShare } = this.#attached()
    const { free, capacity, backfill, reserveAfterMs } = request
    this.#capacity = capacity
    const prefetch = Math.max(0, this.#options.prefetch - request.waiting)
    const limit = request.limit + prefetch
    const claimed = new Map<string, ClaimedRow>()
    const resources = Object.keys(free)
    // Spent tasks are rare (an owner died on the last attempt): looked for once per poll, not per claim.
    const lookForSpent = Date.now() - this.#spentCheckedAt >= this.#options.pollMs
    if (lookForSpent) this.#spentCheckedAt = Date.now()
    // Each is one statement, atomic alone; what each leased is held at once, so a failure of the
    // second loses nothing the first took.
    const hold = (records: readonly TaskRecord<P>[]): void => {
      for (const record of records) {
        const row = claimed.get(record.id)!
        this.#held.set(record.id, { attempt: record.attempt, submitter: row.submitter, rid: row.rid })
      }
    }
    const cancelledIds = new Set<string>()
    const claiming = wrap('claiming tasks', async (): Promise<SharedClaim<P>> => {
      const abandoned = lookForSpent ? await takePoisoned<P>(this.#db, this.name, this.#owner, leaseMs, 16, claimed, cancelledIds) : []
      hold(abandoned)
      const runs = await claimFitting<P>(
        this.#db,
        this.name,
        {
          resources,
          free: resources.map((r) => free[r]!),
          capacity: resources.map((r) => capacity[r]!),
          owner: this.#owner,
          leaseMs,
          limit,
          scan: this.#options.claimScan + prefetch,
          backfill,
          reserveAfterMs,
          prefetch,
          ...(agingMs === undefined ? {} : { agingMs }),
          fairShare,
        },
        claimed,
      )
      hold(runs)
      return {
        runs,
        spent: abandoned.filter((record) => !cancelledIds.has(record.id)),
        cancelled: abandoned.filter((record) => cancelledIds.has(record.id)),
      }
    })
    this.#claimInFlight = claiming.then(noop, noop)
    return claiming
  }

  async #writeAcks(batch: readonly Gathered<AckedEnd, void | 'kept'>[]): Promise<void> {
    await this.#progressSending // a submitter hears the last chunks before the end
    const ends = batch.map(({ item }) => item)
    // Ends with a key to keep or a message to write take a transaction; the rest one statement.
    const plain = ends.every((end) => end.record.key === undefined && end.message === undefined)
    const acked = await wrap('settling tasks', () =>
      plain
        ? ackAndTell(this.#db, this.name, this.#owner, ends.map(plainEnd))
        : this.#db.transaction((tx) => settleSharedJobs(tx, this.name, this.#owner, ends)),
    )
    for (const entry of batch) {
      const { id } = entry.item.record
      if (acked.has(id)) this.#placed.delete(id) // ended: nothing to withdraw any more
      entry.resolve(acked.has(id) ? undefined : 'kept')
    }
    await this.#chargeTenants(true)
    // Ends nobody took (their submitter went away) are forgotten after a while, now and then.
    if ((this.#acksSincePrune += batch.length) >= 1000) {
      this.#acksSincePrune = 0
      await wrap('forgetting old task ends', () => pruneOutcomes(this.#db, this.name, Date.now() - this.#options.outcomeRetentionMs)).catch(
        (error: unknown) => this.#report(error),
      )
    }
  }

  #woken(missed: boolean): void {
    this.#host?.wake()
    // A poll or a reconnect also looks for ends whose notification was lost (a connection that
    // was down), and so does any wake once a poll interval passed (under steady traffic the
    // poll, re-armed by every wake, may never fire).
    const due = Date.now() - this.#outcomesFetchedAt >= this.#options.pollMs
    if ((missed || due) && this.#followers.size > 0) this.#fetchOutcomes()
  }

  #fetchOutcomes(): void {
    if (this.#fetching) {
      this.#fetchAgain = true
      return
    }
    this.#fetching = true
    this.#fetchAgain = false
    this.#outcomesFetchedAt = Date.now()
    wrap('taking task ends', () => takeOutcomes(this.#db, this.name, this.#owner))
      .then(
        (outcomes) => {
          for (const outcome of outcomes) this.#deliver(outcome)
        },
        (error: unknown) => this.#report(error),
      )
      .finally(() => {
        this.#fetching = false
        if (this.#fetchAgain) this.#fetchOutcomes()
      })
  }

  #deliver(outcome: SharedOutcome): void {
    const follower = this.#followers.get(outcome.taskId)
    if (follower === undefined) {
      this.#early.set(outcome.taskId, outcome)
      return
    }
    this.#followers.delete(outcome.taskId)
    this.#placed.delete(outcome.taskId)
    const { value, error } = decodeOutcome(outcome)
    follower.ended(outcome.status, value, error)
  }

  async #sendProgress(): Promise<void> {
    const chunks = this.#progress
    this.#progress = []
    const payloads: string[] = []
    for (const { submitter, id, chunk } of chunks) {
      let payload: string
      try {
        payload = JSON.stringify({ s: submitter, q: this.name, id, c: chunk })
      } catch (error) {
        this.#report(
          new BackendError(
            `A progress chunk of task ${id} does not serialize as JSON (${describeError(error)}); its submitter will not see it`,
          ),
        )
        continue
      }
      if (new TextEncoder().encode(payload).length > MAX_PAYLOAD_BYTES) {
        this.#report(
          new BackendError(`A progress chunk of task ${id} is over ${MAX_PAYLOAD_BYTES} bytes as JSON; its submitter will not see it`),
        )
      } else payloads.push(payload)
    }
    await wrap('sending progress', () => notifyProgress(this.#db, payloads)).catch((error: unknown) => this.#report(error))
  }

  #heardProgress(payload: string): void {
    const message = JSON.parse(payload) as { s?: unknown; q?: unknown; id?: unknown; c?: unknown }
    if (message.s !== this.#owner || message.q !== this.name || typeof message.id !== 'string') return
    this.#followers.get(message.id)?.progress(message.c)
  }

  /**
   * Fair share: a run's usage since it was last charged (its dominant share of the pool's capacity
   * x that time), for its tenant. Charged at each renewal as well as at its end, so long runs
   * count while they run; answers the run's hold with the time charged up to.
   */
  #charge(record: TaskRecord<P>, held: Held): Held {
    if (held.chargedUntil === undefined) return held
    const now = Date.now()
    let share = 0
    for (const [resource, units] of Object.entries(record.cost)) {
      const capacity = this.#capacity[resource] ?? 0
      if (units > 0 && capacity > 0) share = Math.max(share, units / capacity)
    }
    this.#usage.set(record.tenant, (this.#usage.get(record.tenant) ?? 0) + share * (now - held.chargedUntil))
    return { ...held, chargedUntil: now }
  }

  /**
   * Adds the usage gathered to the table; a charge that failed is reported and kept for the next.
   * After acks (`acked`), under fair share, also when there is nothing to charge (a renewal may
   * have charged it before the ack): the queue may be drained now, and then it forgets usage.
   */
  async #chargeTenants(acked = false): Promise<void> {
    if (this.#usage.size === 0) {
      if (acked && this.#host?.fairShare === true)
        await wrap('forgetting tenant usage', () => forgetIfDrained(this.#db, this.name)).catch((error: unknown) => this.#report(error))
      return
    }
    const usage = this.#usage
    this.#usage = new Map()
    try {
      await wrap('charging tenants', () => chargeTenants(this.#db, this.name, usage))
    } catch (error) {
      for (const [tenant, amount] of usage) this.#usage.set(tenant, (this.#usage.get(tenant) ?? 0) + amount)
      this.#report(error)
    }
  }

  #report(error: unknown): void {
    reportTo(this.#onError, 'PostgresQueue', error)
  }
}
