/*
 * One function per SQL operation on `pl_queue_jobs` and `pl_queue_keys`, shared by the SQL
 * queues. Rows are read back through the task field table (core/fields.ts): a row that does not
 * decode is refused with a `BackendError` naming its id and field, never half-read.
 */
import { undecodable } from '../core/decode.js'
import {
  TASK_COLUMNS,
  decodeKeyedInfo,
  decodeTerminalStatus,
  keyedInfo,
  recordFromSql,
  recordToSql,
  type Lease,
  type TaskRecord,
} from '../core/fields.js'
import type { KeyRecord, Settlement } from '../core/queue.js'
import type { SqlTransaction } from './migrations.js'

// Rows per INSERT statement: enough to make group commit cheap, few enough to keep statements small.
export const ROWS_PER_INSERT = 200

/** Every stored task of a queue, in `seq` order. */
export async function selectJobs<P>(tx: SqlTransaction, queue: string): Promise<TaskRecord<P>[]> {
  const { rows } = await tx.query<Record<string, unknown>>('select * from pl_queue_jobs where queue_name = $1 order by seq', [queue])
  return rows.map((row) => decodeJob<P>(row, queue))
}

/** A stored row as a record; one that does not decode is a `BackendError` naming its id and field. */
export function decodeJob<P>(row: Record<string, unknown>, queue: string): TaskRecord<P> {
  const id = typeof row['id'] === 'string' ? row['id'] : '(no id)'
  try {
    return recordFromSql<P>(row, `task ${id}`)
  } catch (error) {
    throw undecodable(`Stored task ${id} of queue '${queue}'`, error)
  }
}

/** Inserts tasks, up to `ROWS_PER_INSERT` per statement. */
export async function insertJobs(tx: SqlTransaction, queue: string, records: readonly TaskRecord<unknown>[]): Promise<void> {
  for (let i = 0; i < records.length; i += ROWS_PER_INSERT) {
    const params: unknown[] = []
    const tuples = records.slice(i, i + ROWS_PER_INSERT).map((record) => {
      const values = [queue, ...recordToSql(record)]
      return `(${values.map((value) => `$${params.push(value)}`).join(', ')})`
    })
    await tx.query(`insert into pl_queue_jobs (queue_name, ${TASK_COLUMNS.join(', ')}) values ${tuples.join(', ')}`, params)
  }
}

/** Marks a task running under `lease`; false if it is not stored. */
export async function claimJob(tx: SqlTransaction, queue: string, id: string, attempt: number, lease: Lease): Promise<boolean> {
  const { rows } = await tx.query(
    `update pl_queue_jobs set attempt = $3, lease_owner = $4, lease_expires_at = $5, not_before = null
     where queue_name = $1 and id = $2 returning id`,
    [queue, id, attempt, lease.owner, lease.expiresAt],
  )
  return rows.length > 0
}

export async function renewLeases(tx: SqlTransaction, queue: string, ids: readonly string[], expiresAt: number): Promise<void> {
  await tx.query(
    'update pl_queue_jobs set lease_expires_at = $3 where queue_name = $1 and id = any($2::text[]) and lease_owner is not null',
    [queue, [...ids], expiresAt],
  )
}

/** Puts a task back to wait, without its lease; false if it is not stored. */
export async function releaseJob(tx: SqlTransaction, queue: string, id: string, notBefore: number | undefined): Promise<boolean> {
  const { rows } = await tx.query(
    'update pl_queue_jobs set lease_owner = null, lease_expires_at = null, not_before = $3 where queue_name = $1 and id = $2 returning id',
    [queue, id, notBefore ?? null],
  )
  return rows.length > 0
}

/** Deletes the task, keeps its key (with its fields) until the retention, and forgets keys whose time passed. */
export async function settleJob(tx: SqlTransaction, queue: string, record: TaskRecord<unknown>, settlement: Settlement): Promise<void> {
  await tx.query('delete from pl_queue_jobs where queue_name = $1 and id = $2', [queue, record.id])
  if (record.key === undefined) return
  await tx.query(
    `insert into pl_queue_keys (queue_name, idem_key, task_id, fingerprint, status, retain_until, task_info)
     values ($1, $2, $3, $4, $5, $6, $7)
     on conflict (queue_name, idem_key) do update
       set task_id = excluded.task_id, fingerprint = excluded.fingerprint, status = excluded.status,
           retain_until = excluded.retain_until, task_info = excluded.task_info`,
    [
      queue,
      record.key,
      record.id,
      record.fingerprint ?? null,
      settlement.status,
      settlement.retainKeyUntil,
      JSON.stringify(keyedInfo(record)),
    ],
  )
  await tx.query('delete from pl_queue_keys where queue_name = $1 and retain_until <= $2', [queue, settlement.endedAt])
}

/** The live task or remembered ended task with this key. */
export async function findKey(tx: SqlTransaction, queue: string, key: string, now: number): Promise<KeyRecord | undefined> {
  const live = await tx.query<{ id: string; fingerprint: string | null }>(
    'select id, fingerprint from pl_queue_jobs where queue_name = $1 and idem_key = $2',
    [queue, key],
  )
  const row = live.rows[0]
  if (row !== undefined) {
    return { key, taskId: row.id, fingerprint: row.fingerprint ?? undefined, status: undefined, retainUntil: undefined, task: undefined }
  }
  const ended = await tx.query<{
    task_id: string
    fingerprint: string | null
    status: unknown
    retain_until: number
    task_info: string | null
  }>(
    'select task_id, fingerprint, status, retain_until, task_info from pl_queue_keys where queue_name = $1 and idem_key = $2 and retain_until > $3',
    [queue, key, now],
  )
  const end = ended.rows[0]
  if (end === undefined) return undefined
  try {
    return {
      key,
      taskId: end.task_id,
      fingerprint: end.fingerprint ?? undefined,
      status: decodeTerminalStatus(end.status, 'key.status'),
      retainUntil: end.retain_until,
      task: end.task_info === null ? undefined : decodeKeyedInfo(JSON.parse(end.task_info), 'key.task_info'),
    }
  } catch (error) {
    throw undecodable(`The stored idempotency key '${key}' of queue '${queue}'`, error)
  }
}
