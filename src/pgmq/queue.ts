/*
 * A queue many pools share on pgmq, in Postgres with the extension or in PGlite with
 * `@electric-sql/pglite-pgmq`:
 *
 * - one pgmq queue per priority (`<name>_critical` ... `<name>_low`), read highest first, each
 *   first in, first out;
 * - submit: `send_batch` per priority, the tick's submits in one transaction, one NOTIFY;
 *   `metrics` bounds every submitter's waiting tasks by the pool's `maxQueueDepth`;
 * - claim: `read` with the lease as the visibility timeout; pgmq cannot filter by cost, so a claim
 *   reads about as many as the free units can take, keeps those that fit (and `prefetch` more),
 *   and gives the rest back at once, their read not counted;
 * - run: `set_vt` renews; `read_ct` is the attempt, so a lease that expired (its owner died)
 *   re-runs the task as attempt + 1 and `maxAttempts` ends a poison task;
 * - end: `delete` (or `archive`) in batches; a submitter in another process hears the end and
 *   the progress through its own reply queue (`<name>_r<id>`), with a NOTIFY.
 *
 * What pgmq does not have, this queue does not pretend to: no idempotency keys (refused with a
 * typed error), no head-of-line reservation across machines (PostgresQueue has it), and an
 * ack is by message id, so a run whose lease lapsed stops at its next renewal.
 */
import { BackendError, InvalidOptionError, QueueFullError, describeError } from '../core/errors.js'
import { compactRecord, copyRecord, expandRecord } from '../core/fields.js'
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
import { TERMINAL_STATUSES, noop, type PriorityName, type TerminalStatus } from '../core/types.js'
import { optionalBoolean, optionalFunction, optionalNumber, optionsObject, refuse } from '../core/validate.js'
import { namedPrioritiesOnly } from '../sql/named-priorities.js'
import { pgClient, type PgPool } from '../postgres/client.js'
import { Batcher, writeTogetherOrEach, type Gathered } from '../sql/batcher.js'
import { DueAlarm } from '../sql/due-alarm.js'
import { delayOf } from '../sql/shared-jobs.js'
import type { SqlClient, SqlTransaction } from '../sql/migrations.js'
import { decodeOutcome, toldOf } from '../sql/outcome-codec.js'
import { reportTo, wrap } from '../sql/wrap.js'
import { hasListen, poolSignal, PollSignal, type Signal, type SignalOptions } from './signal.js'
import * as sql from './sql.js'

export interface PgmqQueueOptions {
  /** The queue's name: its pgmq queues are `<name>_<priority>`. Lower-case letters, digits and `_`, up to 32. @default 'default' */
  readonly name?: string
  /** The fallback poll for what no notification says (an expired lease, an ended backoff), jittered ±50 %. @default 1000 */
  readonly pollMs?: number
  /** Tasks a claim also keeps beyond what fits the free units now, to wait in the pool's lot under their lease. @default 0 */
  readonly prefetch?: number
  /** Acks move messages to pgmq's archive table instead of deleting them (history, at the price of a growing table). @default false */
  readonly archive?: boolean
  /** Hears what goes wrong in the background (a lost LISTEN connection, a progress send). @default console.warn */
  readonly onError?: (error: unknown) => void
}

const KEYS: Record<keyof PgmqQueueOptions, 1> = { name: 1, pollMs: 1, prefetch: 1, archive: 1, onError: 1 }

/** Highest first: the order claims read the queues in. */
const LEVELS: readonly PriorityName[] = ['critical', 'high', 'normal', 'low']

/** Replies a submitter takes per statement. */
const REPLY_BATCH = 100

/** Where a task's message is. */
interface Located {
  readonly queue: string
  readonly msgId: string
}

/** A message this queue read: the read count is the attempt, the reply queue its submitter's. */
interface Held extends Located {
  readonly readCount: number
  readonly reply: string | null
}

interface Ack {
  readonly record: TaskRecord<unknown>
  readonly held: Held
  readonly told: { status: TerminalStatus; outcome: string } | undefined
}

type Reply =
  | { readonly k: 'end'; readonly id: string; readonly status: TerminalStatus; readonly outcome: string }
  | { readonly k: 'p'; readonly id: string; readonly c: unknown }

/** A pgmq or PGlite client: a `pg.Pool`, a `PGlite`, or any `SqlClient`. */
export type PgmqClient = PgPool | SqlClient

function isPgPool(client: PgmqClient): client is PgPool {
  return typeof (client as Partial<SqlClient>).exec !== 'function' && typeof (client as Partial<PgPool>).connect === 'function'
}

/**
 * A task queue on pgmq that many pools share: pass one to each `ResourcePool` with `queue`. The
 * client is the caller's (`pg.Pool`, or a `PGlite` created with the pgmq extension); `close()`
 * leaves it open. The extension is created if missing (that needs the right to).
 */
export class PgmqQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = true
  readonly checkValue = checkJson
  readonly shared: SharedQueue<P>
  readonly name: string
  readonly #client: PgmqClient
  readonly #db: SqlClient
  readonly #pollMs: number
  readonly #prefetch: number
  readonly #archive: boolean
  readonly #onError: (error: unknown) => void
  readonly #queues: Readonly<Record<PriorityName, string>>
  /** This queue's reply queue: where runners elsewhere send the ends and progress of tasks put here. */
  readonly #reply: string
  #host: SharedHost | undefined
  #signal: Signal | undefined
  #opened = false
  readonly #held = new Map<string, Held>()
  /** Tasks put here, until their end: where their message is. */
  readonly #submitted = new Map<string, Located>()
  /** Runs whose message was deleted under them (their submitter cancelled): they end without an ack. */
  readonly #withdrawn = new Set<string>()
  readonly #followers = new Map<string, SharedFollower<unknown>>()
  /** Ends that came before their task was followed. */
  readonly #early = new Map<string, Extract<Reply, { k: 'end' }>>()
  /** A running mean of the tasks' cost per resource, to size a claim's read. */
  readonly #meanCost = new Map<string, number>()
  #progress: { reply: string; message: string }[] = []
  #progressSending: Promise<void> = Promise.resolve()
  #claimInFlight: Promise<void> = Promise.resolve()
  #fetching = false
  #fetchAgain = false
  /** Settles when the reply fetch in flight has (close waits for it before dropping the queue). */
  #replies: Promise<void> = Promise.resolve()
  readonly #puts = new Batcher<readonly TaskRecord<P>[], void>((batch) => this.#writePuts(batch))
  readonly #due = new DueAlarm(
    () => sql.notify(this.#db, sql.WORK_CHANNEL, `pgmq:${this.name}`),
    (error) => this.#report(error),
  )
  readonly #acks = new Batcher<Ack, void | 'kept'>((batch) => this.#writeAcks(batch))

  constructor(client: PgmqClient, options: PgmqQueueOptions = {}) {
    if (typeof client?.query !== 'function') refuse('client', 'a pg.Pool, a PGlite or a SqlClient', client)
    optionsObject(options, KEYS, 'options')
    const name = options.name ?? 'default'
    if (typeof name !== 'string' || !/^[a-z_][a-z0-9_]{0,31}$/.test(name)) {
      refuse('name', 'up to 32 lower-case letters, digits or _, starting with a letter or _ (pgmq names its tables after it)', name)
    }
    this.name = name
    this.#client = client
    this.#db = isPgPool(client) ? pgClient(client) : client
    this.#pollMs = optionalNumber(options.pollMs, 'pollMs', { positive: true }) ?? 1000
    this.#prefetch = optionalNumber(options.prefetch, 'prefetch', { integer: true }) ?? 0
    this.#archive = optionalBoolean(options.archive, 'archive') ?? false
    this.#onError =
      optionalFunction<(error: unknown) => void>(options.onError, 'onError') ??
      ((error: unknown) => console.warn(`prometheus-parking-lot: pgmq queue '${this.name}': ${describeError(error)}`))
    this.#queues = Object.fromEntries(LEVELS.map((level) => [level, `${name}_${level}`])) as Record<PriorityName, string>
    this.#reply = `${name}_r${Math.random().toString(36).slice(2, 12).padEnd(10, '0')}`
    this.shared = {
      prefetch: this.#prefetch,
      attach: (host) => void (this.#host = host),
      claim: (request) => this.#claimReading(request),
      follow: (id, follower) => this.#follow(id, follower),
      unfollow: (id) => void this.#followers.delete(id),
      progress: (record, chunk) => this.#sendLater(record, chunk),
    }
  }

  // ─── TaskQueue ─────────────────────────────────────────────────────────────

  /** Creates the queues (and the extension) if missing and starts listening; nothing to recover: an expired lease is any claimer's. */
  async open(): Promise<readonly TaskRecord<P>[]> {
    const version = await wrap('reading the pgmq version', () => sql.extensionVersion(this.#db))
    if (version !== undefined && olderThan(version, [1, 6])) {
      // Before 1.6 drop_queue takes no lock, so a submitter closing can fail a runner's ack.
      this.#report(
        new BackendError(`pgmq ${version} is older than 1.6: a submitter that closes while runners answer it can fail their acks`),
      )
    }
    await wrap('creating the pgmq queues', () =>
      this.#db.transaction((tx) => sql.createQueues(tx, [...Object.values(this.#queues), this.#reply])),
    )
    this.#opened = true
    const options: SignalOptions = {
      name: this.name,
      replyQueue: this.#reply,
      pollMs: this.#pollMs,
      onWake: (missed) => this.#woken(missed),
      onReply: () => this.#fetchReplies(),
      onError: (error) => this.#report(error),
    }
    const client = this.#client
    const signal = isPgPool(client) ? poolSignal(client, options) : new PollSignal(hasListen(client) ? client : undefined, options)
    await wrap('listening for work', () => signal.start())
    this.#signal = signal
    return []
  }

  put(records: readonly TaskRecord<P>[]): Promise<void> {
    const keyed = records.find((record) => record.key !== undefined)
    if (keyed !== undefined) return Promise.reject(this.#noKeys())
    const numbered = records.find((record) => typeof record.priority === 'number')
    if (numbered !== undefined) return Promise.reject(namedPrioritiesOnly(`PgmqQueue '${this.name}'`, numbered.priority))
    return this.#puts.add(records)
  }

  /** Nothing to write: the shared claim (`shared.claim`) leased it already. */
  claim(): void {}

  async renew(records: readonly TaskRecord<P>[]): Promise<void> {
    const host = this.#attached()
    const held = records.flatMap((record) => {
      const entry = this.#held.get(record.id)
      return entry === undefined ? [] : [{ id: record.id, ...entry }]
    })
    for (const [queue, group] of groupBy(held, (entry) => entry.queue)) {
      const still = await wrap('renewing leases', () =>
        sql.extend(
          this.#db,
          queue,
          group.map((entry) => entry.msgId),
          host.leaseMs,
        ),
      )
      const readCounts = new Map(still.map((row) => [row.id, row.readCount]))
      for (const entry of group) {
        const readCount = readCounts.get(entry.msgId)
        if (readCount === entry.readCount) continue
        if (readCount === undefined && entry.reply !== this.#reply) {
          // Its message is gone: its submitter withdrew it (a cancel), or, if this run's lease
          // lapsed, another claimer ended it; pgmq keeps nothing to tell the two apart.
          this.#withdrawn.add(entry.id)
          host.stopRun(entry.id, 'cancelled')
        } else if (readCount === undefined) {
          // Submitted here, so not withdrawn (a cancel here stops the run itself): another
          // claimer took it after this lease lapsed and ended it; its end comes as a reply.
          this.#held.delete(entry.id)
          host.stopRun(entry.id, 'lease-lost')
        } else {
          // Read again since: another claimer runs it now.
          this.#held.delete(entry.id)
          host.stopRun(entry.id, 'lease-lost')
        }
      }
    }
  }

  /** A retry: the message hides until its backoff ends; its next read is the next attempt. */
  async release(record: TaskRecord<P>, notBefore: number | undefined): Promise<void> {
    const held = this.#held.get(record.id)
    if (held === undefined) return
    this.#held.delete(record.id)
    const delayMs = notBefore === undefined ? 0 : Math.max(0, notBefore - Date.now())
    await wrap('releasing a task for retry', () => sql.hideFor(this.#db, held.queue, held, delayMs))
  }

  /**
   * A run of ours ended: acked with the next batch (`'kept'` if its message was read again by
   * another claimer meanwhile). A task put here that we do not run (cancelled, or its wait limit
   * came): its message is withdrawn if nobody reads it (a cancel withdraws it anyway, and its
   * runner stops at its next renewal), else `'kept'`: its end comes from its runner.
   */
  async settle(record: TaskRecord<P>, settlement: Settlement): Promise<void | 'kept'> {
    const held = this.#held.get(record.id)
    if (held !== undefined) {
      this.#held.delete(record.id)
      const waits = held.reply !== null && held.reply !== this.#reply
      return this.#acks.add({ record, held, told: waits ? toldOf(record, settlement) : undefined })
    }
    const located = this.#submitted.get(record.id)
    if (located === undefined) return
    const cancel = settlement.status === 'cancelled'
    const gone = await wrap('withdrawing a task', () => sql.withdraw(this.#db, located.queue, located.msgId, cancel))
    if (!gone) return 'kept'
    this.#submitted.delete(record.id)
  }

  /** pgmq has no deduplication, so this queue keeps no idempotency keys: a keyed submit is refused, nothing accepted. */
  findKey(): Promise<KeyRecord | undefined> {
    return Promise.reject(this.#noKeys())
  }

  /** The mailbox is written before the ack (a crash between them can repeat a message, never lose one). */
  sharesTransactionWith(): boolean {
    return false
  }

  /** Stops listening, writes what is gathered, gives back messages claimed and never started, and drops the reply queue. */
  async close(): Promise<void> {
    await this.#signal?.close()
    this.#signal = undefined
    await this.#claimInFlight
    await Promise.all([this.#acks.whenIdle(), this.#puts.whenIdle()])
    this.#due.stop()
    await this.#progressSending
    await this.#replies
    const unstarted = [...this.#held.values()]
    this.#held.clear()
    this.#followers.clear()
    this.#early.clear()
    this.#submitted.clear()
    if (!this.#opened) return
    this.#opened = false
    try {
      await wrap('giving back claimed tasks', () =>
        this.#db.transaction(async (tx) => {
          for (const [queue, group] of groupBy(unstarted, (held) => held.queue)) await sql.unread(tx, queue, group)
        }),
      )
    } finally {
      // Nobody here waits for the ends of the tasks put here any more: runners stop sending them.
      await wrap('dropping the reply queue', () => sql.dropQueue(this.#db, this.#reply))
    }
  }

  // ─── Inside ────────────────────────────────────────────────────────────────

  #noKeys(): InvalidOptionError {
    return new InvalidOptionError(
      `PgmqQueue '${this.name}' keeps no idempotency keys (pgmq has no deduplication): submit without \`key\`, or use PostgresQueue`,
      'key',
    )
  }

  #attached(): SharedHost {
    if (this.#host === undefined) throw new BackendError(`Queue '${this.name}' is used before a pool opened it`)
    return this.#host
  }

  /** The batch in one transaction; if it fails, each submit alone, so one refused submit fails alone. */
  async #writePuts(batch: readonly Gathered<readonly TaskRecord<P>[], void>[]): Promise<void> {
    const write = async (records: readonly TaskRecord<P>[]): Promise<void> => {
      const located = await wrap('storing accepted tasks', () => this.#db.transaction((tx) => this.#send(tx, records)))
      for (const [id, where] of located) this.#submitted.set(id, where)
      this.#due.after(records.map(delayOf))
    }
    return writeTogetherOrEach(batch, write)
  }

  async #send(tx: SqlTransaction, records: readonly TaskRecord<P>[]): Promise<Map<string, Located>> {
    const { maxQueueDepth } = this.#attached()
    if (Number.isFinite(maxQueueDepth)) {
      await sql.lockForDepth(tx, this.name)
      // Counted only as far as it takes to say whether these fit.
      const room = maxQueueDepth - records.length
      const depth = room < 0 ? 0 : await sql.waitingDepth(tx, Object.values(this.#queues), room + 1)
      if (room < 0 || depth > room) {
        const why =
          room < 0
            ? `${records.length} tasks are more than maxQueueDepth ${maxQueueDepth}`
            : `it has ${depth} or more tasks waiting from all its submitters (maxQueueDepth ${maxQueueDepth})`
        throw new QueueFullError(
          `Queue '${this.name}': ${why}; ${records.length === 1 ? 'the task was' : `none of ${records.length} tasks were`} accepted`,
        )
      }
    }
    const located = new Map<string, Located>()
    const headers = JSON.stringify({ r: this.#reply })
    for (const [priority, group] of groupBy(records, (record) => record.priority)) {
      const queue = this.#queues[priority as PriorityName]
      const messages = group.map((record) =>
        JSON.stringify(compactRecord(copyRecord(record, { attempt: 0, lease: undefined, notBefore: undefined }))),
      )
      // Delays are kept in database time: their length by the submitter's clock.
      const delays = group.map(delayOf)
      const ids = await sql.sendBatch(
        tx,
        queue,
        messages,
        group.map(() => headers),
        delays,
      )
      group.forEach((record, i) => located.set(record.id, { queue, msgId: ids[i]! }))
    }
    await sql.notify(tx, sql.WORK_CHANNEL, `pgmq:${this.name}`)
    return located
  }

  /** About as many tasks as the free units can take, by the mean cost seen so far (1 unit before any). */
  #readSize(free: Readonly<Record<string, number>>): number {
    let most = 0
    for (const [resource, units] of Object.entries(free)) {
      if (units > 0) most = Math.max(most, Math.ceil(units / (this.#meanCost.get(resource) ?? 1)))
    }
    return most
  }

  #learnCost(cost: Readonly<Record<string, number>>): void {
    for (const [resource, units] of Object.entries(cost)) {
      if (units <= 0) continue
      const mean = this.#meanCost.get(resource)
      this.#meanCost.set(resource, mean === undefined ? units : mean * 0.8 + units * 0.2)
    }
  }

  async #claimReading(request: SharedClaimRequest): Promise<SharedClaim<P>> {
    const { leaseMs } = this.#attached()
    const vtSeconds = Math.max(1, Math.ceil(leaseMs / 1000))
    const free = { ...request.free }
    let prefetch = Math.max(0, this.#prefetch - request.waiting)
    let want = Math.min(request.limit, this.#readSize(free) + prefetch)
    const runs: TaskRecord<P>[] = []
    const spent: TaskRecord<P>[] = []
    const taken: [string, Held][] = []
    const claiming = wrap('claiming tasks', () =>
      this.#db.transaction(async (tx) => {
        // Head-of-line (no backfill): once a task does not fit, the ones after it wait too.
        let blocked = false
        for (const level of LEVELS) {
          // Nothing more to take: enough read, or a task that does not fit holds the line.
          if (want <= 0 || blocked) break
          const queue = this.#queues[level]
          const rows = await sql.readMessages(tx, queue, vtSeconds, want)
          want -= rows.length
          const giveBack: sql.Read[] = []
          const broken: string[] = []
          for (const row of rows) {
            const msgId = String(row.msg_id)
            const record = this.#decode(row, queue, leaseMs)
            if (record === undefined) {
              broken.push(msgId)
              continue
            }
            const held: Held = {
              queue,
              msgId,
              readCount: row.read_ct,
              reply: typeof row.headers?.['r'] === 'string' ? row.headers['r'] : null,
            }
            if (row.read_ct > record.maxAttempts) {
              // Its owner died on the last attempt: the pool ends it as failed.
              spent.push(copyRecord(record, { attempt: row.read_ct - 1 }))
              taken.push([record.id, held])
              continue
            }
            const cost = Object.entries(record.cost)
            if (cost.some(([resource, units]) => units > (request.capacity[resource] ?? 0))) {
              giveBack.push(held) // never runs here; another claimer may have more
              continue
            }
            const fits = !blocked && cost.every(([resource, units]) => units <= (free[resource] ?? 0))
            if (fits) for (const [resource, units] of cost) free[resource]! -= units
            else if (!blocked && prefetch > 0) prefetch--
            else {
              if (!request.backfill) blocked = true
              giveBack.push(held)
              continue
            }
            this.#learnCost(record.cost)
            runs.push(record)
            taken.push([record.id, held])
          }
          await sql.unread(tx, queue, giveBack)
          // A message that is not one of our tasks would be read forever: archived, for a look.
          if (broken.length > 0) await sql.ack(tx, queue, broken, true)
        }
      }),
    ).then((): SharedClaim<P> => {
      // Held once committed: a claim that failed leased nothing.
      for (const [id, held] of taken) this.#held.set(id, held)
      return { runs, spent, cancelled: [] }
    })
    this.#claimInFlight = claiming.then(noop, noop)
    return claiming
  }

  #decode(row: sql.ReadMessage, queue: string, leaseMs: number): TaskRecord<P> | undefined {
    try {
      const record = expandRecord<P>(row.message, `pgmq message ${String(row.msg_id)} of queue '${queue}'`)
      return copyRecord(record, {
        seq: Number(row.msg_id),
        attempt: row.read_ct,
        lease: { owner: 'pgmq', expiresAt: new Date(row.vt).getTime() || Date.now() + leaseMs },
      })
    } catch (error) {
      this.#report(new BackendError(`A message in pgmq queue '${queue}' is not a task; it was archived: ${describeError(error)}`))
      return undefined
    }
  }

  async #writeAcks(batch: readonly Gathered<Ack, void | 'kept'>[]): Promise<void> {
    await this.#progressSending // a submitter hears the last chunks before the end
    const acks = batch.map(({ item }) => item)
    const acked = await wrap('settling tasks', () =>
      this.#db.transaction(async (tx) => {
        const done = new Set<string>()
        for (const [queue, group] of groupBy(acks, (entry) => entry.held.queue)) {
          const ids = await sql.ack(
            tx,
            queue,
            group.map((entry) => entry.held.msgId),
            this.#archive,
          )
          for (const entry of group) if (ids.has(entry.held.msgId)) done.add(entry.record.id)
        }
        const told = acks.flatMap(({ record, held, told }) =>
          told === undefined || held.reply === null || !done.has(record.id)
            ? []
            : [{ reply: held.reply, end: { k: 'end', id: record.id, ...told } satisfies Reply }],
        )
        for (const [reply, group] of groupBy(told, (entry) => entry.reply)) {
          await sql.reply(
            tx,
            reply,
            group.map((entry) => JSON.stringify(entry.end)),
          )
        }
        return done
      }),
    )
    for (const entry of batch) {
      const { id } = entry.item.record
      const withdrawn = this.#withdrawn.delete(id)
      const ended = acked.has(id) || withdrawn
      // A task put here and run here ended: its message's place is not needed any more.
      if (ended) this.#submitted.delete(id)
      entry.resolve(ended ? undefined : 'kept')
    }
  }

  #sendLater(record: TaskRecord<P>, chunk: unknown): void {
    const reply = this.#held.get(record.id)?.reply
    if (reply === undefined || reply === null || reply === this.#reply) return
    let message: string
    try {
      message = JSON.stringify({ k: 'p', id: record.id, c: chunk } satisfies Reply)
    } catch (error) {
      this.#report(
        new BackendError(
          `A progress chunk of task ${record.id} does not serialize as JSON (${describeError(error)}); its submitter will not see it`,
        ),
      )
      return
    }
    this.#progress.push({ reply, message })
    // Chained now, so an ack written after this (which waits for the chain) follows its chunks.
    if (this.#progress.length === 1) this.#progressSending = this.#progressSending.then(() => this.#sendProgress())
  }

  async #sendProgress(): Promise<void> {
    const chunks = this.#progress
    this.#progress = []
    await wrap('sending progress', () =>
      this.#db.transaction(async (tx) => {
        for (const [reply, group] of groupBy(chunks, (chunk) => chunk.reply)) {
          await sql.reply(
            tx,
            reply,
            group.map((chunk) => chunk.message),
          )
        }
      }),
    ).catch((error: unknown) => this.#report(error))
  }

  #follow(id: string, follower: SharedFollower<unknown>): void {
    this.#followers.set(id, follower)
    const early = this.#early.get(id)
    if (early === undefined) return
    this.#early.delete(id)
    queueMicrotask(() => this.#hear(early))
  }

  #woken(missed: boolean): void {
    this.#host?.wake()
    // A poll or a reconnect also looks for replies whose notification was lost.
    if (missed && this.#followers.size > 0) this.#fetchReplies()
  }

  #fetchReplies(): void {
    if (this.#fetching) {
      this.#fetchAgain = true
      return
    }
    this.#fetching = true
    this.#fetchAgain = false
    const take = async (): Promise<void> => {
      for (;;) {
        const replies = await wrap('taking replies', () => sql.takeReplies(this.#db, this.#reply, REPLY_BATCH))
        for (const reply of replies) {
          if (isReply(reply)) this.#hear(reply)
          else this.#report(new BackendError(`Reply queue '${this.#reply}' held a message that is not a reply: ${JSON.stringify(reply)}`))
        }
        if (replies.length < REPLY_BATCH) return
      }
    }
    this.#replies = take()
      .catch((error: unknown) => this.#report(error))
      .finally(() => {
        this.#fetching = false
        if (this.#fetchAgain && this.#opened) this.#fetchReplies()
      })
  }

  #hear(reply: Reply): void {
    if (reply.k === 'p') {
      this.#followers.get(reply.id)?.progress(reply.c)
      return
    }
    const follower = this.#followers.get(reply.id)
    if (follower === undefined) {
      this.#early.set(reply.id, reply)
      return
    }
    this.#followers.delete(reply.id)
    this.#submitted.delete(reply.id)
    const { value, error } = decodeOutcome({ taskId: reply.id, status: reply.status, outcome: reply.outcome })
    follower.ended(reply.status, value, error)
  }

  #report(error: unknown): void {
    reportTo(this.#onError, 'PgmqQueue', error)
  }
}

/** Whether a dotted version is below `[major, minor]`. */
function olderThan(version: string, [major, minor]: readonly [number, number]): boolean {
  const [m = 0, n = 0] = version.split('.').map(Number)
  return m < major || (m === major && n < minor)
}

function isReply(message: Record<string, unknown>): message is Reply {
  if (typeof message['id'] !== 'string') return false
  if (message['k'] === 'p') return 'c' in message
  return (
    message['k'] === 'end' &&
    (TERMINAL_STATUSES as readonly unknown[]).includes(message['status']) &&
    typeof message['outcome'] === 'string'
  )
}

function groupBy<T, K>(items: readonly T[], key: (item: T) => K): Map<K, T[]> {
  const groups = new Map<K, T[]>()
  for (const item of items) {
    const k = key(item)
    const group = groups.get(k)
    if (group === undefined) groups.set(k, [item])
    else group.push(item)
  }
  return groups
}
