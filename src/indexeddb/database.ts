import { openDB, type DBSchema, type IDBPDatabase } from 'idb'
import { BackendError } from '../core/errors.js'
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
 */
export interface ParkingLotDB extends DBSchema {
  jobs: { key: [string, number]; value: JobRow; indexes: { key: [string, string] } }
  keys: { key: [string, string]; value: KeyRow; indexes: { retainUntil: number; byQueueRetain: [string, number] } }
  messages: {
    key: number
    value: MessageRow
    indexes: { byTenant: [string, string, number]; byTaskStatus: [string, string]; byId: string; byCompleted: [string, number] }
  }
}

/** @internal */
export const SCHEMA_VERSION = 2

export interface OpenOptions {
  /** Called when an older connection elsewhere blocks our upgrade; the open waits for it. */
  readonly onBlocked?: () => void
}

/**
 * Opens (and creates or upgrades) the database. A connection that blocks a newer version closes
 * itself so the upgrade can go on; a database the browser deletes or evicts under us is reported
 * on the next operation.
 */
export async function openDatabase(name: string, options: OpenOptions = {}): Promise<Connection> {
  const connection = new Connection(name)
  try {
    connection.db = await openDB<ParkingLotDB>(name, SCHEMA_VERSION, {
      async upgrade(db, oldVersion, _newVersion, tx) {
        if (oldVersion < 1) {
          const jobs = db.createObjectStore('jobs', { keyPath: ['queue', 'seq'] })
          jobs.createIndex('key', ['queue', 'key'], { unique: true })
          const keys = db.createObjectStore('keys', { keyPath: ['queue', 'key'] })
          keys.createIndex('retainUntil', 'retainUntil')
          const messages = db.createObjectStore('messages', { keyPath: 'seq', autoIncrement: true })
          messages.createIndex('byTenant', ['mailbox', 'tenant', 'seq'])
          messages.createIndex('byTaskStatus', ['mailbox', 'taskStatus'], { unique: true })
          messages.createIndex('byId', 'id', { unique: true })
          messages.createIndex('byCompleted', ['mailbox', 'completedAt'])
        }
        if (oldVersion < 2) {
          tx.objectStore('keys').createIndex('byQueueRetain', ['queue', 'retainUntil'])
          // v1 rows kept a lease as two fields; the field table has one.
          let cursor = oldVersion < 1 ? null : await tx.objectStore('jobs').openCursor()
          while (cursor !== null) {
            const row = cursor.value as JobRow & { leaseOwner?: unknown; leaseExpiresAt?: unknown }
            if ('leaseOwner' in row || 'leaseExpiresAt' in row) {
              const { leaseOwner, leaseExpiresAt, ...rest } = row
              await cursor.update(
                leaseOwner === undefined ? rest : { ...rest, lease: { owner: leaseOwner, expiresAt: leaseExpiresAt ?? 0 } },
              )
            }
            cursor = await cursor.continue()
          }
        }
      },
      blocked() {
        options.onBlocked?.()
      },
      blocking(_current, wanted) {
        // Let the other side go on: a deletion (wanted is null) or an upgrade elsewhere.
        connection.close(wanted === null ? 'the database was deleted' : 'a newer version of the database was opened elsewhere')
      },
      terminated() {
        connection.lost = 'the browser closed the database (it was deleted, evicted, or storage failed)'
      },
    })
  } catch (error) {
    throw new BackendError(`Could not open IndexedDB database '${name}': ${(error as Error).message}`, { cause: error })
  }
  return connection
}

/** One open database, shared by a queue and a mailbox store made on it. */
export class Connection {
  db: IDBPDatabase<ParkingLotDB> | undefined
  lost: string | undefined

  constructor(readonly name: string) {}

  get(): IDBPDatabase<ParkingLotDB> {
    if (this.lost !== undefined) throw new BackendError(`IndexedDB database '${this.name}' is unavailable: ${this.lost}`)
    if (this.db === undefined) throw new BackendError(`IndexedDB database '${this.name}' is not open`)
    return this.db
  }

  close(reason = 'closed'): void {
    this.db?.close()
    this.db = undefined
    this.lost ??= reason
  }
}

/** Turns an IndexedDB failure into a `BackendError` naming the operation (and quota, when that is it). */
export async function wrapIdb<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof BackendError) throw error
    const name = (error as { name?: string })?.name
    const why =
      name === 'QuotaExceededError' ? 'the storage quota is exceeded' : `${name ?? 'Error'}: ${(error as Error)?.message ?? String(error)}`
    throw new BackendError(`IndexedDB failed while ${what}: ${why}`, { cause: error })
  }
}

/** Asks the browser to keep this origin's storage (not evict it under pressure); undefined where not supported. */
export async function requestPersistence(): Promise<boolean | undefined> {
  const storage = (globalThis as { navigator?: { storage?: { persist?: () => Promise<boolean> } } }).navigator?.storage
  if (typeof storage?.persist !== 'function') return undefined
  try {
    return await storage.persist()
  } catch {
    return false
  }
}
