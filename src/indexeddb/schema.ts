import type { DBSchema, IDBPDatabase } from 'idb'
import { wrapIdb } from './errors.js'
import type { TerminalStatus } from '../core/types.js'

/**
 * A stored task: the queue's name beside the record's fields, in the compact form of the field
 * table (`compactRecord`: fields at their empty value are left out, since smaller rows clone
 * faster), keyed by queue and seq.
 */
export interface JobRow {
  queue: string
  seq: number
  id: string
  [field: string]: unknown
}

export interface KeyRow {
  queue: string
  key: string
  taskId: string
  fingerprint: string | null
  status: TerminalStatus
  retainUntil: number
  /** The ended task's fields (`KeyedTaskInfo`); absent in rows written before schema version 2. */
  task?: unknown
}

export interface MessageRow {
  seq?: number
  mailbox: string
  id: string
  taskId: string
  taskStatus: string
  tenant: string
  user: string | null
  session: string | null
  status: TerminalStatus
  result?: unknown
  error: { code: string; message: string } | null
  attempts: number
  submittedAt: number
  completedAt: number
}

/**
 * Schema, versioned.
 * v1 (release 0.1): `jobs` (by queue and seq: a claim or ack is a keyed write, so its cost does
 * not grow with history; one index, for live idempotency keys, since every index is a write per
 * task), `keys` (ended idempotency keys), `messages` (auto-increment seq = completion order, an
 * index per mailbox + tenant for fetch, a unique index per task + status).
 * v2 (release 0.2): job rows follow the field table (a lease is one `lease` field, was
 * `leaseOwner` and `leaseExpiresAt`); key rows keep their task's fields; keys are pruned per
 * queue by time (`byQueueRetain`).
 * v3 (release 0.3): `meta` holds the database's identity, made once when it is created, so a
 * database the browser deleted and opened empty differs from the one noted outside it.
 */
export interface ParkingLotDB extends DBSchema {
  jobs: { key: [string, number]; value: JobRow; indexes: { key: [string, string] } }
  keys: { key: [string, string]; value: KeyRow; indexes: { retainUntil: number; byQueueRetain: [string, number] } }
  messages: {
    key: number
    value: MessageRow
    indexes: { byTenant: [string, string, number]; byTaskStatus: [string, string]; byId: string; byCompleted: [string, number] }
  }
  meta: { key: string; value: { identity: string; createdAt: number } }
}

/** @internal */
export const SCHEMA_VERSION = 3

/** What the database holds, across its queues and mailboxes: what a wipe would take. */
export interface Held {
  readonly tasks: number
  readonly keys: number
  readonly messages: number
}

export function countHeld(db: IDBPDatabase<ParkingLotDB>): Promise<Held> {
  return wrapIdb('counting what the database holds', async () => {
    const [tasks, keys, messages] = await Promise.all([db.count('jobs'), db.count('keys'), db.count('messages')])
    return { tasks, keys, messages }
  })
}
