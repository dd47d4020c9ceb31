import { InvalidOptionError } from '../core/errors.js'
import type { FetchOptions, FetchResult, MailboxMessage } from '../core/mailbox.js'
import { DecodeError, undecodable } from '../core/decode.js'
import { decodeTerminalStatus } from '../core/fields.js'
import type { MailboxKey } from '../core/types.js'
import type { SqlTransaction } from './migrations.js'

/** One SQL statement per operation on `pl_mailbox_messages`, shared by the SQL mailbox stores and the queue's ack. */

interface MessageRow {
  seq: string | number
  id: string
  task_id: string
  tenant: string
  user_id: string | null
  session_id: string | null
  status: string
  result: string | null
  error_code: string | null
  error_message: string | null
  attempts: number
  submitted_at: number
  completed_at: number
}

/** Inserts a message unless the task already has one with this status; true if inserted. */
export async function insertMessage<R>(tx: SqlTransaction, mailboxName: string, message: MailboxMessage<R>): Promise<boolean> {
  const { rows } = await tx.query<{ seq: number }>(
    `insert into pl_mailbox_messages
       (mailbox_name, id, task_id, tenant, user_id, session_id, status, result, error_code, error_message, attempts, submitted_at, completed_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     on conflict (mailbox_name, task_id, status) do nothing
     returning seq`,
    [
      mailboxName,
      message.id,
      message.taskId,
      message.key.tenant,
      message.key.user ?? null,
      message.key.session ?? null,
      message.status,
      message.result === undefined ? null : JSON.stringify(message.result),
      message.error?.code ?? null,
      message.error?.message ?? null,
      message.attempts,
      message.submittedAt,
      message.completedAt,
    ],
  )
  return rows.length > 0
}

const CURSOR = /^s([0-9]+)$/

export async function fetchMessages<R>(
  tx: SqlTransaction,
  mailboxName: string,
  key: MailboxKey,
  options: FetchOptions = {},
): Promise<FetchResult<R>> {
  let since = 0
  if (options.since !== undefined) {
    const match = CURSOR.exec(options.since)
    if (match === null)
      throw new InvalidOptionError(`Expected \`since\` to be a cursor from a previous fetch, got ${JSON.stringify(options.since)}`, 'since')
    since = Number(match[1])
  }
  const limit = options.limit ?? 100
  if (!Number.isInteger(limit) || limit < 1)
    throw new InvalidOptionError(`Expected \`limit\` to be an integer >= 1, got ${String(limit)}`, 'limit')
  const { rows } = await tx.query<MessageRow>(
    `select * from pl_mailbox_messages
     where mailbox_name = $1 and tenant = $2
       and ($3::text is null or user_id = $3)
       and ($4::text is null or session_id = $4)
       and seq > $5
     order by seq
     limit $6`,
    [mailboxName, key.tenant, key.user ?? null, key.session ?? null, since, limit],
  )
  const last = rows.at(-1)
  return { messages: rows.map((row) => toMessage<R>(row)), cursor: last === undefined ? options.since : `s${String(last.seq)}` }
}

export async function ackMessages(tx: SqlTransaction, mailboxName: string, key: MailboxKey, ids: readonly string[]): Promise<number> {
  const { rows } = await tx.query<{ id: string }>(
    `delete from pl_mailbox_messages
     where mailbox_name = $1 and id = any($2::text[]) and tenant = $3
       and ($4::text is null or user_id = $4)
       and ($5::text is null or session_id = $5)
     returning id`,
    [mailboxName, [...ids], key.tenant, key.user ?? null, key.session ?? null],
  )
  return rows.length
}

/** The newest message of a task in this mailbox. */
export async function findMessageByTask<R>(
  tx: SqlTransaction,
  mailboxName: string,
  taskId: string,
): Promise<MailboxMessage<R> | undefined> {
  const { rows } = await tx.query<MessageRow>(
    'select * from pl_mailbox_messages where mailbox_name = $1 and task_id = $2 order by seq desc limit 1',
    [mailboxName, taskId],
  )
  return rows[0] === undefined ? undefined : toMessage<R>(rows[0])
}

export async function pruneMessages(tx: SqlTransaction, mailboxName: string, before: number): Promise<number> {
  const { rows } = await tx.query<{ id: string }>(
    'delete from pl_mailbox_messages where mailbox_name = $1 and completed_at < $2 returning id',
    [mailboxName, before],
  )
  return rows.length
}

/** A row back into a message; a row that does not decode is refused naming its id and field. */
function toMessage<R>(row: MessageRow): MailboxMessage<R> {
  try {
    return decodeRow<R>(row)
  } catch (error) {
    throw undecodable(`Stored mailbox message ${row.id}`, error)
  }
}

function decodeRow<R>(row: MessageRow): MailboxMessage<R> {
  const at = `message ${row.id}`
  let result: unknown
  if (row.result !== null) {
    try {
      result = JSON.parse(row.result)
    } catch {
      throw new DecodeError(`${at}.result`, 'JSON text', row.result)
    }
  }
  const key: MailboxKey = {
    tenant: row.tenant,
    ...(row.user_id === null ? {} : { user: row.user_id }),
    ...(row.session_id === null ? {} : { session: row.session_id }),
  }
  return {
    id: row.id,
    taskId: row.task_id,
    key,
    status: decodeTerminalStatus(row.status, `${at}.status`),
    ...(row.result === null ? {} : { result: result as R }),
    ...(row.error_code === null ? {} : { error: { code: row.error_code, message: row.error_message ?? '' } }),
    attempts: row.attempts,
    submittedAt: row.submitted_at,
    completedAt: row.completed_at,
  }
}
