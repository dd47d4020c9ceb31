/*
 * The stored fields of a task (record.ts), each with its decoder and SQL columns, in one table.
 * The IndexedDB rows, the SQL columns, the worker tuple and the shared-pool view are derived from
 * it. Read back from storage or a port, every field is checked by its decoder.
 */
import type { ResourceVector } from './capacity.js'
import * as d from './decode.js'
import {
  FIELD_NAMES,
  INFO_FIELDS,
  KEYED_FIELDS,
  type InfoField,
  type KeyedTaskInfo,
  type Lease,
  type TaskField,
  type TaskInfo,
  type TaskRecord,
  type TaskTuple,
} from './record.js'
import { PRIORITIES, TERMINAL_STATUSES, type MailboxKey, type Priority, type TaskStatus, type TerminalStatus } from './types.js'

export * from './record.js'

/** How one field is checked when read back, and where it lives in SQL. */
export interface FieldSpec<T> {
  readonly decode: d.Decoder<T>
  /** The value a compact row leaves out (IndexedDB rows omit it; reading it back gives it again). */
  readonly empty: T | undefined
  readonly columns: readonly string[]
  toSql(value: T): unknown[]
  fromSql(values: readonly unknown[], path: string): T
}

function scalar<T>(decode: d.Decoder<T>, column: string, empty?: T): FieldSpec<T> {
  return {
    decode,
    empty,
    columns: [column],
    toSql: (value) => [value ?? null],
    fromSql: ([value], path) => decode(value === null ? empty : value, path),
  }
}

/** A `bigint` column: Postgres drivers hand it back as a string. */
function bigint(column: string): FieldSpec<number> {
  return {
    decode: d.integer,
    empty: undefined,
    columns: [column],
    toSql: (value) => [value],
    fromSql: ([value], path) => d.integer(typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value, path),
  }
}

/** Kept as JSON text in SQL. */
function json<T>(decode: d.Decoder<T>, column: string): FieldSpec<T> {
  return {
    decode,
    empty: undefined,
    columns: [column],
    toSql: (value) => [JSON.stringify(value)],
    fromSql: ([value], path) => {
      const text = d.string(value, path)
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        throw new d.DecodeError(path, 'JSON text', value)
      }
      return decode(parsed, path)
    },
  }
}

const nonEmptyString = d.refine(d.string, 'a non-empty string', (s) => s !== '')

export const decodeMailboxKey: d.Decoder<MailboxKey> = d.object({
  tenant: nonEmptyString,
  user: d.optional(d.string),
  session: d.optional(d.string),
})

export const decodeCost: d.Decoder<ResourceVector> = d.record(d.refine(d.number, 'a number >= 0', (n) => n >= 0))

const finite = d.refine(d.number, 'a finite number', Number.isFinite)
const priorityName = d.oneOf(...PRIORITIES)

export const decodePriority: d.Decoder<Priority> = (value, path) =>
  typeof value === 'number' ? finite(value, path) : priorityName(value, path)

const NUMERIC = /^-?\d+(\.\d+)?(e[+-]?\d+)?$/i

/** A `text` column: a named priority, or a number as its decimal text. */
const priorityColumn: FieldSpec<Priority> = {
  decode: decodePriority,
  empty: undefined,
  columns: ['priority'],
  toSql: (priority) => [String(priority)],
  fromSql: ([value], path) => decodePriority(typeof value === 'string' && NUMERIC.test(value) ? Number(value) : value, path),
}

export const decodeTerminalStatus: d.Decoder<TerminalStatus> = d.oneOf(...TERMINAL_STATUSES)

export const decodeTaskStatus: d.Decoder<TaskStatus> = d.oneOf('parked', 'running', 'retrying', 'detached', ...TERMINAL_STATUSES)

const decodeLease: d.Decoder<Lease> = d.object({ owner: d.string, expiresAt: d.number })

const mailboxColumns: FieldSpec<MailboxKey | undefined> = {
  decode: d.optional(decodeMailboxKey),
  empty: undefined,
  columns: ['mailbox_tenant', 'mailbox_user', 'mailbox_session'],
  toSql: (key) => [key?.tenant ?? null, key?.user ?? null, key?.session ?? null],
  fromSql: ([tenant, user, session], path) => {
    if (tenant === null || tenant === undefined) return undefined
    return decodeMailboxKey({ tenant, ...(user === null ? {} : { user }), ...(session === null ? {} : { session }) }, path)
  },
}

const leaseColumns: FieldSpec<Lease | undefined> = {
  decode: d.optional(decodeLease),
  empty: undefined,
  columns: ['lease_owner', 'lease_expires_at'],
  toSql: (lease) => [lease?.owner ?? null, lease?.expiresAt ?? null],
  fromSql: ([owner, expiresAt], path) =>
    owner === null || owner === undefined ? undefined : decodeLease({ owner, expiresAt: expiresAt ?? 0 }, path),
}

/** Every stored field: its decoder and its SQL columns (in `pl_queue_jobs`). */
export const TASK_FIELDS: { readonly [K in TaskField]-?: FieldSpec<TaskRecord[K]> } = {
  id: scalar(d.string, 'id'),
  seq: bigint('seq'),
  payload: json(d.unknown, 'payload'),
  cost: json(decodeCost, 'cost'),
  priority: priorityColumn,
  tenant: scalar(d.string, 'tenant', ''),
  mailbox: mailboxColumns,
  key: scalar(d.nullable(d.string), 'idem_key'),
  fingerprint: scalar(d.nullable(d.string), 'fingerprint'),
  handler: scalar(d.nullable(d.string), 'handler'),
  model: scalar(d.nullable(d.string), 'model'),
  submittedAt: scalar(d.number, 'submitted_at'),
  waitDeadline: scalar(d.nullable(d.number), 'wait_deadline'),
  runTimeoutMs: scalar(d.nullable(d.number), 'run_timeout_ms'),
  maxAttempts: scalar(d.integer, 'max_attempts'),
  attempt: scalar(d.integer, 'attempt'),
  notBefore: scalar(d.nullable(d.number), 'not_before'),
  lease: leaseColumns,
}

/** The SQL columns of a task row, in table order. */
export const TASK_COLUMNS: readonly string[] = FIELD_NAMES.flatMap((name) => TASK_FIELDS[name].columns)

/** A record as a compact object: fields at their empty value are left out (IndexedDB rows). */
export function compactRecord<P>(record: TaskRecord<P>): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  for (const name of FIELD_NAMES) {
    const value = record[name]
    if (value !== undefined && value !== TASK_FIELDS[name].empty) out[name] = value
  }
  return out
}

/** Reads a compact object back into a record, checking every field; throws `DecodeError` naming the field. */
export function expandRecord<P>(row: Readonly<Record<string, unknown>>, path = 'row'): TaskRecord<P> {
  const out: Record<string, unknown> = {}
  for (const name of FIELD_NAMES) {
    const spec = TASK_FIELDS[name] as FieldSpec<unknown>
    const value = row[name]
    out[name] = spec.decode(value === undefined ? spec.empty : value, `${path}.${name}`)
  }
  return out as unknown as TaskRecord<P>
}

/** The SQL values of a record, in `TASK_COLUMNS` order. */
export function recordToSql(record: TaskRecord<unknown>): unknown[] {
  return FIELD_NAMES.flatMap((name) => (TASK_FIELDS[name] as FieldSpec<unknown>).toSql(record[name]))
}

/** A SQL row (by column name) back into a record, checking every field. */
export function recordFromSql<P>(row: Readonly<Record<string, unknown>>, path = 'row'): TaskRecord<P> {
  const out: Record<string, unknown> = {}
  for (const name of FIELD_NAMES) {
    const spec = TASK_FIELDS[name] as FieldSpec<unknown>
    out[name] = spec.fromSql(
      spec.columns.map((column) => row[column] ?? null),
      `${path}.${name}`,
    )
  }
  return out as unknown as TaskRecord<P>
}

export const decodeTaskTuple = d.tuple(...INFO_FIELDS.map((name) => TASK_FIELDS[name].decode)) as unknown as d.Decoder<TaskTuple>

/** Decodes a `TaskInfo` object (the info fields, each with its own decoder). */
export const decodeTaskInfo: d.Decoder<TaskInfo> = d.object(
  Object.fromEntries(INFO_FIELDS.map((name) => [name, TASK_FIELDS[name].decode])) as { [K in InfoField]: d.Decoder<TaskInfo[K]> },
)

export const decodeKeyedInfo: d.Decoder<KeyedTaskInfo> = d.object({
  ...(Object.fromEntries(KEYED_FIELDS.map((name) => [name, TASK_FIELDS[name].decode])) as {
    [K in Exclude<InfoField, 'id' | 'key'>]: d.Decoder<TaskInfo[K]>
  }),
  attempt: d.integer,
})
