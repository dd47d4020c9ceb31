/*
 * The fields of a task that are stored and travel. `TaskRecord` is what a queue keeps; the
 * decoders and SQL columns of each field are in fields.ts (used by the backends and the
 * runtime, not by the core, which keeps the root bundle small). A new field is one line in
 * `TaskRecord`, one in `FIELD_NAMES`, one entry in `TASK_FIELDS` and, for SQL, one migration.
 */
import type { ResourceVector } from './capacity.js'
import type { MailboxKey, Priority } from './types.js'

/** A claim on a task: who runs it and until when, unless renewed. */
export interface Lease {
  readonly owner: string
  /** Clock ms (owned stores) or database time (shared stores). */
  readonly expiresAt: number
}

/** A task as a queue stores it: everything needed to run it again after a restart. */
export interface TaskRecord<P = unknown> {
  readonly id: string
  /** Arrival order within the queue; a retry keeps it, so it re-enters at its original place. */
  readonly seq: number
  readonly payload: P
  readonly cost: ResourceVector
  readonly priority: Priority
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  /** Canonical form of the payload, compared when the same idempotency key comes again. */
  readonly fingerprint: string | undefined
  readonly handler: string | undefined
  /** The model (of the pool's `models`) it runs on. */
  readonly model: string | undefined
  readonly submittedAt: number
  readonly waitDeadline: number | undefined
  readonly runTimeoutMs: number | undefined
  readonly maxAttempts: number
  /** Attempts started so far (0 while it has never run). */
  readonly attempt: number
  /** Earliest start time (a retry's backoff); undefined when it may start at once. */
  readonly notBefore: number | undefined
  /** Set while an owner runs it. */
  readonly lease: Lease | undefined
}

export type TaskField = keyof TaskRecord

/** Every field of `TaskRecord`, in table order (rows, columns and copies follow it). */
export const FIELD_NAMES = [
  'id',
  'seq',
  'payload',
  'cost',
  'priority',
  'tenant',
  'mailbox',
  'key',
  'fingerprint',
  'handler',
  'model',
  'submittedAt',
  'waitDeadline',
  'runTimeoutMs',
  'maxAttempts',
  'attempt',
  'notBefore',
  'lease',
] as const satisfies readonly TaskField[]

// Fails to compile when `FIELD_NAMES` misses a field of `TaskRecord`.
type Missing = Exclude<TaskField, (typeof FIELD_NAMES)[number]>
const everyField: Missing extends never ? true : Missing = true
void everyField

/**
 * A plain copy of a record's fields. The pool hands queues its live task objects; a queue that
 * keeps or serializes a record copies it with this.
 */
export function copyRecord<P>(record: TaskRecord<P>, changes: Partial<TaskRecord<P>> = {}): TaskRecord<P> {
  const copy: Record<string, unknown> = {}
  for (const name of FIELD_NAMES) copy[name] = record[name]
  return { ...(copy as unknown as TaskRecord<P>), ...changes }
}

/** The fields an executor and a handle see of a task. */
export const INFO_FIELDS = [
  'id',
  'priority',
  'cost',
  'tenant',
  'mailbox',
  'key',
  'handler',
  'submittedAt',
  'model',
] as const satisfies readonly TaskField[]

export type InfoField = (typeof INFO_FIELDS)[number]

/** What a running task's executor knows about it. */
export type TaskInfo = Pick<TaskRecord, InfoField>

type TupleOf<K extends readonly TaskField[]> = { -readonly [I in keyof K]: K[I] extends TaskField ? TaskRecord[K[I]] : never }

/** `TaskInfo` as a tuple in `INFO_FIELDS` order: arrays clone faster than objects on the worker path. */
export type TaskTuple = TupleOf<typeof INFO_FIELDS>

export function infoToTuple(info: TaskInfo): TaskTuple {
  return INFO_FIELDS.map((name) => info[name]) as unknown as TaskTuple
}

export function infoFromTuple(tuple: TaskTuple): TaskInfo {
  const out: Record<string, unknown> = {}
  INFO_FIELDS.forEach((name, i) => (out[name] = tuple[i]))
  return out as TaskInfo
}

/** What a key record keeps of its ended task, so a handle can be made for it after a restart. */
export type KeyedTaskInfo = Omit<TaskInfo, 'id' | 'key'> & {
  /** Attempts that ran. */
  readonly attempt: number
}

export const KEYED_FIELDS = INFO_FIELDS.filter((name) => name !== 'id' && name !== 'key')

export function keyedInfo(record: TaskRecord<unknown>): KeyedTaskInfo {
  return { attempt: record.attempt, ...pickFields(record, KEYED_FIELDS) }
}

/** What an executor knows of its task: a plain copy of the record's `INFO_FIELDS`. */
export function taskInfo(record: TaskInfo): TaskInfo {
  return pickFields(record, INFO_FIELDS)
}

function pickFields<K extends InfoField>(record: TaskInfo, names: readonly K[]): Pick<TaskInfo, K> {
  const out: Record<string, unknown> = {}
  for (const name of names) out[name] = record[name]
  return out as Pick<TaskInfo, K>
}
