/*
 * One function per operation of the pgmq queue, on pgmq's own functions (`send_batch`, `read`,
 * `set_vt`, `delete`, `archive`, `metrics`, `pop`). Two writes go to a queue table directly,
 * because pgmq has no function for them: giving back a message that was read but never started
 * (its read must not count as an attempt), and withdrawing a message only if nobody reads it.
 * Queue names are checked lower-case identifiers (queue.ts), so the table name is safe to quote.
 */
import type { SqlTransaction } from '../sql/migrations.js'

/** The channel a batch of submits notifies on, as the Postgres queue does (payload: `pgmq:<name>`). */
export { WORK_CHANNEL } from '../sql/shared-jobs.js'
/** The channel that tells a submitter its reply queue has news (payload: the reply queue's name). */
export const REPLY_CHANNEL = 'pl_pgmq_reply'

/** A message as `read` answers it. */
export interface ReadMessage {
  readonly msg_id: string | number
  readonly read_ct: number
  readonly vt: Date | string
  readonly message: Record<string, unknown>
  readonly headers: Record<string, unknown> | null
}

const table = (queue: string): string => `pgmq."q_${queue}"`

/**
 * Installs the extension if it is not (that needs the right to) and creates the queues, in a
 * transaction: claimers opening together would race on `create extension` (it is not safe to
 * run concurrently), so they take turns on an advisory lock.
 */
export async function createQueues(tx: SqlTransaction, queues: readonly string[]): Promise<void> {
  await tx.query("select pg_advisory_xact_lock(hashtext('pl_pgmq:create'))")
  await tx.query('create extension if not exists pgmq')
  for (const queue of queues) await tx.query('select pgmq.create($1)', [queue])
}

/** The installed pgmq's version, or undefined when the extension is not installed yet. */
export async function extensionVersion(tx: SqlTransaction): Promise<string | undefined> {
  const { rows } = await tx.query<{ extversion: string }>("select extversion from pg_extension where extname = 'pgmq'")
  return rows[0]?.extversion
}

export async function dropQueue(tx: SqlTransaction, queue: string): Promise<void> {
  await tx.query('select pgmq.drop_queue($1)', [queue])
}

/**
 * Sends messages (JSON text) with their headers, each hidden for its delay (ms, database time:
 * `delayMs` / `runAt`); answers their ids, in order. One `send_batch` when they share a delay (pgmq
 * gives a batch one), else one `send` per message, in one statement.
 */
export async function sendBatch(
  tx: SqlTransaction,
  queue: string,
  messages: readonly string[],
  headers: readonly string[],
  delaysMs: readonly number[],
): Promise<string[]> {
  const oneDelay = delaysMs.every((ms) => ms === delaysMs[0])
  const { rows } = await tx.query<{ id: string | number }>(
    oneDelay
      ? `select id from pgmq.send_batch($1, $2::jsonb[], $3::jsonb[], clock_timestamp() + $4::float8 * interval '1 millisecond') as id`
      : `select (select pgmq.send($1, m.msg, m.headers, clock_timestamp() + m.ms * interval '1 millisecond')) as id
         from unnest($2::jsonb[], $3::jsonb[], $4::float8[]) with ordinality as m(msg, headers, ms, n) order by m.n`,
    [queue, [...messages], [...headers], oneDelay ? (delaysMs[0] ?? 0) : [...delaysMs]],
  )
  return rows.map((row) => String(row.id))
}

/**
 * Messages waiting over these queues (any claimer could read them now, or they were never read
 * and wait for their delay), counted up to `atMost` (enough to say whether there is room). Counted here rather than by pgmq's `metrics`, which counts visible
 * messages as of the transaction's start: a submitter that waited for the depth lock would not
 * count what the one before it just sent.
 */
export async function waitingDepth(tx: SqlTransaction, queues: readonly string[], atMost: number): Promise<number> {
  let depth = 0
  for (const queue of queues) {
    if (depth >= atMost) break
    const { rows } = await tx.query<{ n: number }>(
      `select count(*)::int as n from (select 1 from ${table(queue)} where vt <= clock_timestamp() or read_ct = 0 limit $1) as waiting`,
      [atMost - depth],
    )
    depth += rows[0]?.n ?? 0
  }
  return depth
}

/** Serializes the depth check and send of submitters of one queue (until the transaction ends). */
export async function lockForDepth(tx: SqlTransaction, name: string): Promise<void> {
  await tx.query('select pg_advisory_xact_lock(hashtext($1))', [`pl_pgmq:${name}`])
}

export async function notify(tx: SqlTransaction, channel: string, payload: string): Promise<void> {
  await tx.query('select pg_notify($1, $2)', [channel, payload])
}

/** Reads up to `qty` messages, hidden for `vtSeconds` (the lease), oldest first. */
export async function readMessages(tx: SqlTransaction, queue: string, vtSeconds: number, qty: number): Promise<ReadMessage[]> {
  const { rows } = await tx.query<ReadMessage>('select msg_id, read_ct, vt, message, headers from pgmq.read($1, $2::int, $3::int)', [
    queue,
    vtSeconds,
    qty,
  ])
  return rows
}

/** A message as this reader read it: its id and its read count then (which says whether the read is still the latest). */
export interface Read {
  readonly msgId: string
  readonly readCount: number
}

const THESE_READS = "(msg_id::text || ':' || read_ct::text) = any($1::text[])"
const readKeys = (reads: readonly Read[]): string[] => reads.map((read) => `${read.msgId}:${read.readCount}`)

/**
 * Gives back messages read and never started: visible again, their read not counted. Only
 * reads that are still the latest (a message read again by someone else is theirs).
 */
export async function unread(tx: SqlTransaction, queue: string, reads: readonly Read[]): Promise<void> {
  if (reads.length === 0) return
  await tx.query(
    `update ${table(queue)} set vt = clock_timestamp(), read_ct = greatest(read_ct - 1, 0)
     where msg_id = any($2::bigint[]) and ${THESE_READS}`,
    [readKeys(reads), reads.map((read) => read.msgId)],
  )
}

/** A retry: the message hides for `ms` (its backoff), if this read is still the latest; true if it was. */
export async function hideFor(tx: SqlTransaction, queue: string, read: Read, ms: number): Promise<boolean> {
  const { rows } = await tx.query(
    `update ${table(queue)} set vt = clock_timestamp() + $3 * interval '1 millisecond'
     where msg_id = $2::bigint and ${THESE_READS} returning msg_id`,
    [readKeys([read]), read.msgId, ms],
  )
  return rows.length > 0
}

/** Hides messages for `ms` more (renews their leases); answers those still there, with their read count. */
export async function extend(
  tx: SqlTransaction,
  queue: string,
  ids: readonly string[],
  ms: number,
): Promise<{ id: string; readCount: number }[]> {
  const { rows } = await tx.query<{ msg_id: string | number; read_ct: number }>(
    `select msg_id, read_ct from pgmq.set_vt($1, $2::bigint[], clock_timestamp() + $3 * interval '1 millisecond')`,
    [queue, [...ids], ms],
  )
  return rows.map((row) => ({ id: String(row.msg_id), readCount: row.read_ct }))
}

/** Acks: deletes (or archives) messages; answers the ids that were still there. */
export async function ack(tx: SqlTransaction, queue: string, ids: readonly string[], archive: boolean): Promise<Set<string>> {
  const { rows } = await tx.query<{ id: string | number }>(
    `select id from pgmq.${archive ? 'archive' : 'delete'}($1, $2::bigint[]) as id`,
    [queue, [...ids]],
  )
  return new Set(rows.map((row) => String(row.id)))
}

/** Removes a message that nobody reads now (or, `evenIfRead`, whoever does); true if it was there. */
export async function withdraw(tx: SqlTransaction, queue: string, id: string, evenIfRead: boolean): Promise<boolean> {
  if (evenIfRead) {
    const { rows } = await tx.query<{ deleted: boolean }>('select pgmq.delete($1, $2::bigint) as deleted', [queue, id])
    return rows[0]?.deleted === true
  }
  const { rows } = await tx.query(`delete from ${table(queue)} where msg_id = $1::bigint and vt <= clock_timestamp() returning msg_id`, [
    id,
  ])
  return rows.length > 0
}

/**
 * Sends to a submitter's reply queue if it still exists (a submitter that closed dropped it).
 * The shared lock is the one pgmq's `drop_queue` takes exclusively (`acquire_queue_lock`), so
 * a drop cannot come between the check and the send (which would fail the whole ack).
 */
export async function reply(tx: SqlTransaction, queue: string, messages: readonly string[]): Promise<void> {
  if (messages.length === 0) return
  await tx.query("select pg_advisory_xact_lock_shared(hashtext('pgmq.queue_' || $1))", [queue])
  await tx.query('select pgmq.send_batch(m.queue_name, $2::jsonb[]) from pgmq.meta m where m.queue_name = $1', [queue, [...messages]])
  await notify(tx, REPLY_CHANNEL, queue)
}

/** Takes (deletes) up to `qty` replies, oldest first. */
export async function takeReplies(tx: SqlTransaction, queue: string, qty: number): Promise<Record<string, unknown>[]> {
  const { rows } = await tx.query<{ message: Record<string, unknown> }>('select message from pgmq.pop($1, $2::int)', [queue, qty])
  return rows.map((row) => row.message)
}
