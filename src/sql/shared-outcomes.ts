/*
 * How a task's submitter hears of it when another process runs it: its end is a row of
 * `pl_queue_outcomes` (written in the ack's statement) plus a NOTIFY naming the submitter,
 * who takes its rows; progress chunks travel as NOTIFY payloads only (a chunk missed while a
 * connection was down is lost, the end never is).
 */
import type { TerminalStatus } from '../core/types.js'
import type { SqlTransaction } from './migrations.js'

export const OUTCOME_CHANNEL = 'pl_queue_outcome'
export const PROGRESS_CHANNEL = 'pl_queue_progress'

/** Postgres refuses NOTIFY payloads of 8000 bytes or more. */
export const MAX_PAYLOAD_BYTES = 7900

export interface SharedOutcome {
  readonly taskId: string
  readonly submitter: string
  readonly status: TerminalStatus
  /** JSON text: `{"value": ...}` or `{"error": {...}}`. */
  readonly outcome: string
  readonly endedAt: number
}

/** Takes (deletes and answers) the ends stored for `submitter`. */
export async function takeOutcomes(tx: SqlTransaction, queue: string, submitter: string): Promise<SharedOutcome[]> {
  const { rows } = await tx.query<{ task_id: string; status: TerminalStatus; outcome: string; ended_at: number }>(
    'delete from pl_queue_outcomes where queue_name = $1 and submitter = $2 returning task_id, status, outcome, ended_at',
    [queue, submitter],
  )
  return rows.map((row) => ({ taskId: row.task_id, submitter, status: row.status, outcome: row.outcome, endedAt: Number(row.ended_at) }))
}

/** Forgets ends nobody took (their submitter is gone) older than `before` (ms, the writers' clock). */
export async function pruneOutcomes(tx: SqlTransaction, queue: string, before: number): Promise<void> {
  await tx.query('delete from pl_queue_outcomes where queue_name = $1 and ended_at < $2', [queue, before])
}

/** A submitter closed: its tasks' ends are not written for it, and those written are dropped. */
export async function forgetSubmitter(client: SqlTransaction, queue: string, submitter: string): Promise<void> {
  await client.query('update pl_queue_jobs set submitter = null where queue_name = $1 and submitter = $2', [queue, submitter])
  await client.query('delete from pl_queue_outcomes where queue_name = $1 and submitter = $2', [queue, submitter])
}

/** Sends progress chunks to their submitter: one NOTIFY per payload-sized group. */
export async function notifyProgress(tx: SqlTransaction, payloads: readonly string[]): Promise<void> {
  if (payloads.length === 0) return
  await tx.query('select pg_notify($1, p) from unnest($2::text[]) as p', [PROGRESS_CHANNEL, [...payloads]])
}

/** A run's end, for `ackAndTell`. */
export interface PlainEnd {
  readonly id: string
  /** The row's own id (rid), as the claim answered it. */
  readonly rid: string
  readonly attempt: number
  readonly status: TerminalStatus
  /** The end for a submitter in another process (JSON text), or null when none waits for it. */
  readonly outcome: string | null
  readonly endedAt: number
}

/**
 * Acks ends that have no idempotency key and no mailbox message, in one statement (atomic on
 * its own): deletes the rows this owner still holds for those runs, stores the ends their
 * submitters wait for, and notifies each submitter once. Answers the ids acked.
 */
export async function ackAndTell(client: SqlTransaction, queue: string, owner: string, ends: readonly PlainEnd[]): Promise<Set<string>> {
  if (ends.length === 0) return new Set()
  const { rows } = await client.query<{ id: string }>(
    `with ends as (
       select * from unnest($2::text[], $3::int[], $5::text[], $6::text[], $7::float8[]) as e(id, attempt, status, outcome, ended_at)),
     -- Row by row by rid (pl_ack_runs, migration 7), whatever the statistics say.
     done as (select * from pl_ack_runs($9::bigint[], $2::text[], $3::int[], $4)),
     told as (
       insert into pl_queue_outcomes (queue_name, task_id, submitter, status, outcome, ended_at)
       select $1, d.id, d.submitter, e.status, e.outcome, e.ended_at
       from done as d join ends as e on e.id = d.id
       where e.outcome is not null and d.submitter is not null
       on conflict (queue_name, task_id) do nothing
       returning submitter),
     notified as (select count(pg_notify($8, s)) as n from (select distinct submitter as s from told) as t)
     select id from done, notified`,
    [
      queue,
      ends.map((e) => e.id),
      ends.map((e) => e.attempt),
      owner,
      ends.map((e) => e.status),
      ends.map((e) => e.outcome),
      ends.map((e) => e.endedAt),
      OUTCOME_CHANNEL,
      ends.map((e) => e.rid),
    ],
  )
  return new Set(rows.map((row) => row.id))
}
