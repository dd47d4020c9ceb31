/*
 * The SQL operations of a queue that many schedulers share (Postgres): the store orders and
 * claims. One statement claims the best waiting tasks (priority, then age) whose summed cost
 * fits the claimer's free units per resource, locked with `FOR UPDATE SKIP LOCKED` so claimers
 * never wait on each other, and leases them in database time. An expired lease makes its task
 * claimable again (attempt + 1); a task whose attempts are spent is left for `takePoisoned`.
 */
import { InvalidOptionError } from '../core/errors.js'
import { TASK_COLUMNS, recordToSql } from '../core/fields.js'
import { PRIORITIES, type Priority } from '../core/types.js'
import { keyedInfo, type TaskRecord } from '../core/record.js'
import type { MailboxMessage } from '../core/mailbox.js'
import type { Settlement } from '../core/queue.js'
import { ROWS_PER_INSERT, decodeJob } from './jobs.js'
import { insertMessage } from './mailbox-rows.js'
import type { SqlTransaction } from './migrations.js'

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
}

const SEQ_COLUMN = TASK_COLUMNS.indexOf('seq')

/**
 * Inserts tasks in statements of up to `ROWS_PER_INSERT` rows and answers each id's `seq`, which
 * comes from the database's sequence (many submitters share one order), not from the record.
 */
export async function insertSharedJobs(
  tx: SqlTransaction,
  queue: string,
  records: readonly TaskRecord<unknown>[],
): Promise<Map<string, number>> {
  const seqs = new Map<string, number>()
  for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
    const slice = records.slice(i, i + ROWS_PER_INSERT)
    const params: unknown[] = []
    const tuples = slice.map((record) => {
      const values = [queue, ...recordToSql(record)].map((value, column) =>
        column === SEQ_COLUMN + 1 ? "nextval('pl_queue_seq')" : `$${params.push(value)}`,
      )
      return `(${values.join(', ')})`
    })
    const { rows } = await tx.query<{ id: string; seq: string | number }>(
      `insert into pl_queue_jobs (queue_name, ${TASK_COLUMNS.join(', ')}) values ${tuples.join(', ')} returning id, seq`,
      params,
    )
    for (const row of rows) seqs.set(row.id, Number(row.seq))
  }
  // One notification per batch, not per row: idle claimers wake once (delivered at commit).
  await tx.query('select pg_notify($1, $2)', [WORK_CHANNEL, queue])
  return seqs
}

/** The channel every shared queue notifies on when work arrives; the payload is the queue's name. */
export const WORK_CHANNEL = 'pl_queue_work'

const CLAIM = `
with recursive candidates as (
  select id, row_number() over (order by rank desc, seq) as rn,
    array(select coalesce((costs -> r)::text::float8, 0) from unnest($2::text[]) with ordinality as n(r, i) order by i) as need
  from (
    select id, seq, cost::jsonb as costs,
      case priority when 'critical' then 3 when 'high' then 2 when 'normal' then 1 else 0 end as rank
    from pl_queue_jobs
    where queue_name = $1
      and (lease_owner is null or lease_expires_at < ${DB_NOW})
      and (not_before is null or not_before <= ${DB_NOW})
      and attempt < max_attempts
      -- a cost that is not an object of numbers (a row written by hand) is never claimed,
      -- rather than failing every claim on the queue
      and jsonb_typeof(cost::jsonb) = 'object'
      and not exists (select 1 from jsonb_each(cost::jsonb) as e where jsonb_typeof(e.value) <> 'number')
      -- a cost in a resource the claimer does not have never fits it
      and not exists (
        select 1 from jsonb_each(cost::jsonb) as e
        where e.value::text::float8 > 0 and not (e.key = any($2::text[])))
    order by rank desc, seq
    limit $6
    for update skip locked
  ) as locked
),
pick (rn, room, taken, stopped) as (
  select 0::bigint, $3::float8[], array[]::text[], false
  union all
  select c.rn,
    case when f.fits then a.after else p.room end,
    case when f.fits then p.taken || c.id else p.taken end,
    not f.fits and not $7::boolean
  from pick as p
  join candidates as c on c.rn = p.rn + 1
  cross join lateral (select array(select r - x from unnest(p.room, c.need) as u(r, x)) as after) as a
  cross join lateral (select not exists (select 1 from unnest(a.after) as v(left_over) where coalesce(left_over, -1) < 0) as fits) as f
  where cardinality(p.taken) < $5 and not p.stopped
),
chosen as (
  select unnest(taken) as id from (select taken from pick order by rn desc limit 1) as last
)
update pl_queue_jobs as j
set attempt = j.attempt + 1, lease_owner = $4, lease_expires_at = ${DB_NOW} + $8, not_before = null
from chosen
where j.queue_name = $1 and j.id = chosen.id
returning j.*`

/** Claims and leases the best waiting tasks that fit, in start order (priority, then age). */
export async function claimFitting<P>(tx: SqlTransaction, queue: string, request: ClaimRequest): Promise<TaskRecord<P>[]> {
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
  ])
  const records = rows.map((row) => decodeJob<P>(row, queue))
  return records.sort((a, b) => rankOf(b.priority) - rankOf(a.priority) || a.seq - b.seq)
}

/** A run of a task: its id and attempt (a lease is the run's, not only the owner's). */
export interface SharedRun {
  readonly id: string
  readonly attempt: number
}

/**
 * Extends the leases of these runs, in database time; answers the ids still held. A run whose
 * lease expired and whose task was claimed again (by anyone, this owner too) is not extended.
 */
export async function renewSharedLeases(
  tx: SqlTransaction,
  queue: string,
  owner: string,
  runs: readonly SharedRun[],
  leaseMs: number,
): Promise<string[]> {
  const { rows } = await tx.query<{ id: string }>(
    `update pl_queue_jobs set lease_expires_at = ${DB_NOW} + $5
     where queue_name = $1 and lease_owner = $4
       and (id, attempt) in (select * from unnest($2::text[], $3::int[]))
     returning id`,
    [queue, runs.map((run) => run.id), runs.map((run) => run.attempt), owner, leaseMs],
  )
  return rows.map((row) => row.id)
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
): Promise<TaskRecord<P>[]> {
  const { rows } = await tx.query<Record<string, unknown>>(
    `update pl_queue_jobs set lease_owner = $2, lease_expires_at = ${DB_NOW} + $3
     where queue_name = $1 and id in (
       select id from pl_queue_jobs
       where queue_name = $1 and (lease_owner is null or lease_expires_at < ${DB_NOW}) and attempt >= max_attempts
       order by seq limit $4 for update skip locked)
     returning *`,
    [queue, owner, leaseMs, limit],
  )
  return rows.map((row) => decodeJob<P>(row, queue))
}

/** A task's end, as a batch of completions carries it. */
export interface SharedEnd {
  readonly record: TaskRecord<unknown>
  readonly settlement: Settlement
  /** Written in the same transaction as the ack, into this mailbox. */
  readonly message?: { readonly mailbox: string; readonly message: MailboxMessage<unknown> }
}

/**
 * Acks a batch of ended tasks, in the caller's transaction: deletes the rows this owner still
 * holds a lease on for the run that ended (`record.attempt`), remembers their idempotency keys,
 * and writes their mailbox messages. A task whose lease expired and was claimed again is not
 * acked (its new run decides its end), nor is its message written. Answers the ids acked.
 */
export async function settleSharedJobs(tx: SqlTransaction, queue: string, owner: string, ends: readonly SharedEnd[]): Promise<Set<string>> {
  if (ends.length === 0) return new Set()
  const { rows } = await tx.query<{ id: string }>(
    `delete from pl_queue_jobs
     where queue_name = $1 and lease_owner = $4
       and (id, attempt) in (select * from unnest($2::text[], $3::int[]))
     returning id`,
    [queue, ends.map((end) => end.record.id), ends.map((end) => end.record.attempt), owner],
  )
  const acked = new Set(rows.map((row) => row.id))
  const keyed = ends.filter((end) => acked.has(end.record.id) && end.record.key !== undefined)
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
  for (const end of ends) {
    if (end.message !== undefined && acked.has(end.record.id)) await insertMessage(tx, end.message.mailbox, end.message.message)
  }
  return acked
}

const rankOf = (priority: Priority): number => PRIORITIES.indexOf(priority)
