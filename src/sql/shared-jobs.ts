/*
 * The SQL operations of a queue that many schedulers share (Postgres): the store orders and
 * claims. One statement claims the best waiting tasks (priority, then age) whose summed cost
 * fits the claimer's free units per resource, locked with `FOR UPDATE SKIP LOCKED` so claimers
 * never wait on each other, and leases them in database time. An expired lease makes its task
 * claimable again (attempt + 1); a task whose attempts are spent is left for `takePoisoned`.
 */
import { BackendError, InvalidOptionError } from '../core/errors.js'
import { TASK_COLUMNS, recordToSql } from '../core/fields.js'
import { rankOf } from '../core/types.js'
import { keyedInfo, type TaskRecord } from '../core/record.js'
import type { MailboxMessage } from '../core/mailbox.js'
import type { Settlement } from '../core/queue.js'
import { ROWS_PER_INSERT, decodeJob } from './jobs.js'
import { insertMessage } from './mailbox-rows.js'
import type { SqlTransaction } from './migrations.js'
import { ackAndTell, type PlainEnd } from './shared-outcomes.js'
import type { TerminalStatus } from '../core/types.js'

/** Database time in ms, the clock of every lease in a shared queue. */
const DB_NOW = '(extract(epoch from clock_timestamp()) * 1000)'

/** What a claimer can take now. */
export interface ClaimRequest {
  /** The claimer's resources, in the order of `free`. */
  readonly resources: readonly string[]
  /** Free units per resource. */
  readonly free: readonly number[]
  readonly owner: string
  readonly leaseMs: number
  /** At most this many tasks. */
  readonly limit: number
  /** Candidates looked at (the best this many unlocked waiting tasks). */
  readonly scan: number
  /**
   * True: a task that does not fit is passed over for later ones that do (backfill). False: the
   * claim stops at the first that does not fit (head-of-line).
   */
  readonly backfill: boolean
  /**
   * The claimer's whole capacity per resource (in the order of `free`): a task that exceeds it can
   * never run here, so head-of-line passes over it too. Absent: every task could fit some day.
   */
  readonly capacity?: readonly number[]
  /**
   * A task passed over (it fit no claimer that looked) for this long, in database time, is
   * reserved: claims stop at it, taking nothing smaller after it, until a claimer takes it.
   * Absent: never.
   */
  readonly reserveAfterMs?: number
  /**
   * Also take up to this many tasks that do not fit the free units now but fit `capacity`, in
   * order, to wait in the claimer's lot under its lease (like graphile-worker's local queue).
   * @default 0
   */
  readonly prefetch?: number
  /** Raise a waiting task one priority level per this many ms since its insert (database time). Absent: no aging. */
  readonly agingMs?: number
  /** Within a level, the tenant with least usage (`pl_tenant_usage`) first. @default false */
  readonly fairShare?: boolean
}

const SEQ_COLUMN = TASK_COLUMNS.indexOf('seq')
const NOT_BEFORE_COLUMN = TASK_COLUMNS.indexOf('not_before')

/**
 * Inserts tasks in statements of up to `ROWS_PER_INSERT` rows and answers each id's `seq`, which
 * comes from the database's sequence (many submitters share one order), not from the record,
 * and its row's `rid` (the submitter withdraws by it).
 */
export async function insertSharedJobs(
  tx: SqlTransaction,
  queue: string,
  records: readonly TaskRecord<unknown>[],
  submitter: string | null = null,
): Promise<Map<string, { readonly seq: number; readonly rid: string }>> {
  const placed = new Map<string, { readonly seq: number; readonly rid: string }>()
  for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
    const slice = records.slice(i, i + ROWS_PER_INSERT)
    const params: unknown[] = []
    const tuples = slice.map((record) => {
      // A delay is kept in database time, as leases are: its length by the submitter's clock. A
      // delayed task is also enqueued (it ages) from then; the others from the insert.
      let dueAt: string | undefined
      // $1 is the first row's queue name (the notification's payload below).
      const values = [queue, submitter, ...recordToSql(record)].map((value, column) => {
        if (column === SEQ_COLUMN + 2) return "nextval('pl_queue_seq')"
        if (column === NOT_BEFORE_COLUMN + 2 && record.notBefore !== undefined)
          return (dueAt = `${DB_NOW} + $${params.push(delayOf(record))}::double precision`)
        return `$${params.push(value)}`
      })
      return `(${dueAt ?? 'default'}, ${values.join(', ')})`
    })
    // One notification per statement, not per row, in the statement itself (no round trip of
    // its own); Postgres delivers it at commit, and a transaction's duplicates once.
    params.push(WORK_CHANNEL)
    const { rows } = await tx.query<{ id: string; seq: string | number; rid: string | number }>(
      `with added as (
         insert into pl_queue_jobs (enqueued_at, queue_name, submitter, ${TASK_COLUMNS.join(', ')}) values ${tuples.join(', ')} returning id, seq, rid),
       woken as (select pg_notify($${params.length}, $1))
       select id, seq, rid from added, woken`,
      params,
    )
    for (const row of rows) placed.set(row.id, { seq: Number(row.seq), rid: String(row.rid) })
  }
  return placed
}

/** The channel every shared queue notifies on when work arrives; the payload is the queue's name. */
export const WORK_CHANNEL = 'pl_queue_work'

const CLAIM = 'select * from pl_claim_fitting($1, $2, $3, $9, $4, $8, $5, $6, $7, $10, $11, $12, $13)'

/**
 * Claims and leases the best waiting tasks that fit, in start order (priority, then age).
 * `claimed`, if given, learns who submitted each (null for a row with no submitter) and its rid.
 */
export async function claimFitting<P>(
  tx: SqlTransaction,
  queue: string,
  request: ClaimRequest,
  claimed?: Map<string, ClaimedRow>,
): Promise<TaskRecord<P>[]> {
  if (request.resources.length !== request.free.length || !request.free.every((units) => Number.isFinite(units) && units >= 0)) {
    throw new InvalidOptionError(
      `Expected \`free\` to give finite units >= 0 for each of the ${request.resources.length} resources, got ${JSON.stringify(request.free)}`,
      'free',
    )
  }
  const { rows } = await tx.query<Record<string, unknown>>(CLAIM, [
    queue,
    [...request.resources],
    [...request.free],
    request.owner,
    request.limit,
    request.scan,
    request.backfill,
    request.leaseMs,
    request.capacity === undefined ? null : [...request.capacity],
    request.reserveAfterMs ?? null,
    request.prefetch ?? 0,
    request.agingMs ?? null,
    request.fairShare ?? false,
  ])
  const records = decodeRows<P>(rows, queue, claimed)
  return records.sort((a, b) => rankOf(b.priority) - rankOf(a.priority) || a.seq - b.seq)
}

/** A run of a task: its id and attempt (a lease is the run's, not only the owner's), and its row's rid. */
export interface SharedRun {
  readonly id: string
  readonly attempt: number
  /** The row's own id (migration 7), as the claim answered it. */
  readonly rid: string
}

/**
 * The rows of these runs ($1: their rids, $2: `id:attempt` pairs, a filter pg hashes): found
 * by rid, the one index a lookup by rid can use, never by `queue_name` (which leads the other
 * indexes too, and which stale statistics make look as selective as an id). A rid is unique in
 * the table, so the queue needs no check; the run's id and attempt and the owner are checked.
 */
const THESE_RUNS = "rid = any($1::bigint[]) and (id || ':' || attempt) = any($2::text[])"
const runKey = (run: SharedRun): string => `${run.id}:${run.attempt}`

/**
 * Extends the leases of these runs, in database time; answers the runs still held, each with
 * whether its submitter asked it to stop. A run whose lease expired and whose task was claimed
 * again (by anyone, this owner too) is not extended.
 */
export async function renewSharedLeases(
  tx: SqlTransaction,
  owner: string,
  runs: readonly SharedRun[],
  leaseMs: number,
): Promise<{ id: string; cancel_requested: boolean }[]> {
  const { rows } = await tx.query<{ id: string; cancel_requested: boolean }>(
    `update pl_queue_jobs set lease_expires_at = ${DB_NOW} + $4
     where lease_owner = $3 and ${THESE_RUNS}
     returning id, cancel_requested`,
    [runs.map((run) => run.rid), runs.map(runKey), owner, leaseMs],
  )
  return rows
}

/** Puts a run's task back to waiting after `delayMs` (database time): any claimer may take it then. Answers whether the run still held it. */
export async function releaseShared(tx: SqlTransaction, owner: string, run: SharedRun, delayMs: number): Promise<boolean> {
  const { rows } = await tx.query<{ id: string }>(
    `update pl_queue_jobs set lease_owner = null, lease_expires_at = null, not_before = ${DB_NOW} + $4
     where lease_owner = $3 and ${THESE_RUNS}
     returning id`,
    [[run.rid], [runKey(run)], owner, Math.max(0, delayMs)],
  )
  return rows.length === 1
}

/**
 * Gives up this owner's leases on tasks it claimed and never started (it is closing): they wait
 * again, the claim's attempt not counted.
 */
export async function releaseUnstarted(tx: SqlTransaction, queue: string, owner: string, runs: readonly SharedRun[]): Promise<void> {
  if (runs.length === 0) return
  await tx.query(
    `update pl_queue_jobs set lease_owner = null, lease_expires_at = null, attempt = attempt - 1
     where lease_owner = $3 and ${THESE_RUNS}`,
    [runs.map((run) => run.rid), runs.map(runKey), owner],
  )
  await notifyWork(tx, queue)
}

/**
 * Fair share across machines, at submit. A queue that holds no task forgets every tenant's usage
 * (a new busy period starts at 0, as a pool's own ledger does). A tenant new to the table, or
 * back after `activeMs` untouched (no charge, no submit), starts at no less than the least usage
 * of the tenants touched within `activeMs`: so it neither waits behind a flood nor, with old
 * credit, runs ahead of everyone. An active tenant keeps its usage.
 */
export async function enrollTenants(tx: SqlTransaction, queue: string, tenants: readonly string[], activeMs: number): Promise<void> {
  await forgetIfDrained(tx, queue)
  await tx.query(
    `with now as (select ${DB_NOW} as ms),
     floor as (
       select coalesce(min(usage), 0) as usage from pl_tenant_usage, now where queue_name = $1 and touched_at >= now.ms - $3)
     insert into pl_tenant_usage as u (queue_name, tenant, usage, touched_at)
     select $1, t, floor.usage, now.ms from unnest($2::text[]) as t, floor, now
     on conflict (queue_name, tenant) do update
       set usage = case when u.touched_at < excluded.touched_at - $3 then greatest(u.usage, excluded.usage) else u.usage end,
           touched_at = excluded.touched_at`,
    [queue, [...new Set(tenants)].sort(), activeMs],
  )
}

/**
 * Adds runs' usage (dominant share x run ms) to their tenants, in tenant order (charges of two
 * runners never wait on each other in a cycle); once the queue holds no task at all, forgets
 * every tenant's.
 */
export async function chargeTenants(tx: SqlTransaction, queue: string, usage: ReadonlyMap<string, number>): Promise<void> {
  const tenants = [...usage.keys()].sort()
  await tx.query(
    `insert into pl_tenant_usage as u (queue_name, tenant, usage, touched_at)
     select $1, t, amount, ${DB_NOW} from unnest($2::text[], $3::float8[]) as x(t, amount)
     on conflict (queue_name, tenant) do update set usage = u.usage + excluded.usage, touched_at = excluded.touched_at`,
    [queue, tenants, tenants.map((tenant) => usage.get(tenant)!)],
  )
  await forgetIfDrained(tx, queue)
}

/** A queue that holds no task forgets its tenants' usage. */
export async function forgetIfDrained(tx: SqlTransaction, queue: string): Promise<void> {
  await tx.query('delete from pl_tenant_usage where queue_name = $1 and not exists (select 1 from pl_queue_jobs where queue_name = $1)', [
    queue,
  ])
}

/** Wakes every claimer of the queue (their work notification). */
export async function notifyWork(tx: SqlTransaction, queue: string): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [WORK_CHANNEL, queue])
}

/** How long after its submit a record may start (`delayMs` / `runAt`), by the submitter's clock; 0 for at once. */
export const delayOf = (record: TaskRecord<unknown>): number => (record.notBefore === undefined ? 0 : record.notBefore - record.submittedAt)

/**
 * Ends a task nobody runs (its submitter cancelled it, or its wait limit came): deletes its row
 * if no live lease holds it, keeping its key and writing its message as an ack does. Answers
 * `'ended'`, or `'running'` when a process runs it (`askToStop` then asks that process to stop
 * it: it learns at its next renewal), or `'gone'` when the task already ended.
 */
export async function withdrawShared(
  tx: SqlTransaction,
  queue: string,
  end: SharedEnd,
  askToStop: boolean,
  rid: string | undefined,
): Promise<'ended' | 'running' | 'gone'> {
  // By rid when the submitter kept it (unique in the table, and the one plan, as for acks:
  // no queue_name, which would let stale statistics pick the claim index); else by queue and id.
  const row = rid === undefined ? 'queue_name = $1 and id = $2' : 'rid = $1::bigint and id = $2'
  const params = [rid ?? queue, end.record.id]
  const { rows } = await tx.query<{ id: string }>(
    `delete from pl_queue_jobs where ${row} and (lease_owner is null or lease_expires_at < ${DB_NOW}) returning id`,
    params,
  )
  if (rows.length === 1) {
    await rememberEnds(tx, queue, [end])
    return 'ended'
  }
  const { rows: running } = await tx.query<{ id: string }>(
    `update pl_queue_jobs set cancel_requested = cancel_requested or $${params.length + 1} where ${row} returning id`,
    [...params, askToStop],
  )
  return running.length === 1 ? 'running' : 'gone'
}

/**
 * Takes (leases to `owner`) tasks whose attempts are spent and that nobody runs (their owner died
 * on the last allowed attempt, or a release left them so): the caller ends them as failed. Locked
 * as claims are, so one claimer ends each.
 */
export async function takePoisoned<P>(
  tx: SqlTransaction,
  queue: string,
  owner: string,
  leaseMs: number,
  limit: number,
  claimed?: Map<string, ClaimedRow>,
  cancelled?: Set<string>,
): Promise<TaskRecord<P>[]> {
  const { rows } = await tx.query<Record<string, unknown>>(
    `update pl_queue_jobs set lease_owner = $2, lease_expires_at = ${DB_NOW} + $3
     where rid in (
       select rid from pl_queue_jobs
       where queue_name = $1 and (lease_owner is null or lease_expires_at < ${DB_NOW})
         and (attempt >= max_attempts or cancel_requested)
       order by seq limit $4 for update skip locked)
     returning *`,
    [queue, owner, leaseMs, limit],
  )
  // A task its submitter asked to stop, whose runner died first: the caller ends it as cancelled.
  for (const row of rows) if (row['cancel_requested'] === true && typeof row['id'] === 'string') cancelled?.add(row['id'])
  return decodeRows<P>(rows, queue, claimed)
}

/** What a claimer keeps of a claimed row beyond its record: who submitted it, and its rid. */
export interface ClaimedRow {
  readonly submitter: string | null
  readonly rid: string
}

function decodeRows<P>(rows: readonly Record<string, unknown>[], queue: string, claimed?: Map<string, ClaimedRow>): TaskRecord<P>[] {
  return rows.map((row) => {
    const record = decodeJob<P>(row, queue)
    const rid = row['rid']
    if (typeof rid !== 'string' && typeof rid !== 'number')
      throw new BackendError(`Claimed task ${record.id} of queue '${queue}' has no rid`)
    claimed?.set(record.id, { submitter: typeof row['submitter'] === 'string' ? row['submitter'] : null, rid: String(rid) })
    return record
  })
}

/** A task's end, as a batch of completions carries it. */
export interface SharedEnd {
  readonly record: TaskRecord<unknown>
  readonly settlement: Settlement
  /** Written in the same transaction as the ack, into this mailbox. */
  readonly message?: { readonly mailbox: string; readonly message: MailboxMessage<unknown> }
  /** The end for a submitter in another process, stored with the ack; absent when none waits for it. */
  readonly told?: { readonly status: TerminalStatus; readonly outcome: string }
}

/** The end of a run this owner holds: acked by its row's rid. */
export type AckedEnd = SharedEnd & { readonly rid: string }

/** An end as `ackAndTell` takes it. */
export function plainEnd(end: AckedEnd): PlainEnd {
  return {
    id: end.record.id,
    rid: end.rid,
    attempt: end.record.attempt,
    status: end.told?.status ?? end.settlement.status,
    outcome: end.told?.outcome ?? null,
    endedAt: end.settlement.endedAt,
  }
}

/**
 * Acks a batch of ended tasks, in the caller's transaction: deletes the rows this owner still
 * holds a lease on for the run that ended (`record.attempt`), stores the ends their submitters
 * wait for (`told`), remembers their idempotency keys, and writes their mailbox messages. A task
 * whose lease expired and was claimed again is not acked (its new run decides its end), nor is its
 * message written. Answers the ids acked.
 */
export async function settleSharedJobs(tx: SqlTransaction, queue: string, owner: string, ends: readonly AckedEnd[]): Promise<Set<string>> {
  const acked = await ackAndTell(tx, queue, owner, ends.map(plainEnd))
  await rememberEnds(
    tx,
    queue,
    ends.filter((end) => acked.has(end.record.id)),
  )
  return acked
}

/** Keeps the ended tasks' idempotency keys (and forgets those past their time), and writes their messages. */
async function rememberEnds(tx: SqlTransaction, queue: string, ends: readonly SharedEnd[]): Promise<void> {
  if (ends.length === 0) return
  const keyed = ends.filter((end) => end.record.key !== undefined)
  if (keyed.length > 0) {
    await tx.query(
      `insert into pl_queue_keys (queue_name, idem_key, task_id, fingerprint, status, retain_until, task_info)
       select $1, * from unnest($2::text[], $3::text[], $4::text[], $5::text[], $6::float8[], $7::text[])
       on conflict (queue_name, idem_key) do update
         set task_id = excluded.task_id, fingerprint = excluded.fingerprint, status = excluded.status,
             retain_until = excluded.retain_until, task_info = excluded.task_info`,
      [
        queue,
        keyed.map((end) => end.record.key),
        keyed.map((end) => end.record.id),
        keyed.map((end) => end.record.fingerprint ?? null),
        keyed.map((end) => end.settlement.status),
        keyed.map((end) => end.settlement.retainKeyUntil),
        keyed.map((end) => JSON.stringify(keyedInfo(end.record))),
      ],
    )
  }
  const latest = Math.max(...ends.map((end) => end.settlement.endedAt))
  await tx.query('delete from pl_queue_keys where queue_name = $1 and retain_until <= $2', [queue, latest])
  for (const end of ends) if (end.message !== undefined) await insertMessage(tx, end.message.mailbox, end.message.message)
}
