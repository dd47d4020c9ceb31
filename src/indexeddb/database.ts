import { deleteDB, openDB, type IDBPDatabase } from 'idb'
import { BackendError } from '../core/errors.js'
import { uuidv7 } from '../core/ids.js'
import { reportUnhandled } from '../core/report.js'
import { refuse } from '../core/validate.js'
import type { StorageWipedError } from './errors.js'
import { countHeld, SCHEMA_VERSION, type JobRow, type ParkingLotDB } from './schema.js'
import { Journal } from './journal.js'
import type { JournalEntry } from './journal-format.js'
import { NoteFiles } from './marker.js'
import { checkStorage, type StorageChoices } from './wipes.js'

export { wrapIdb } from './errors.js'
export { SCHEMA_VERSION, type JobRow, type KeyRow, type MessageRow, type ParkingLotDB } from './schema.js'

export interface OpenOptions {
  /** Called when an older connection elsewhere blocks our upgrade; the open waits for it. */
  readonly onBlocked?: () => void
  /**
   * What to do when the browser deleted this database and opened an empty one in its place
   * (`StorageWipedError`): `'fail'` refuses to open (the pool's `ready` rejects, every start,
   * until the app chooses); `'continue'` reports it (the pool's `error` event) and carries on
   * with the empty database.
   * @default 'fail'
   */
  readonly onWiped?: 'fail' | 'continue'
}

/** Refuses an `onWiped` that is not one of the two. */
export function checkOnWiped(value: unknown): void {
  if (value !== undefined && value !== 'fail' && value !== 'continue') refuse('onWiped', "'fail' or 'continue'", value)
}

/** How often, at most, the database's size is noted outside it while it is written to. */
const NOTE_EVERY_MS = 1_000

/**
 * Opens (and creates or upgrades) the database. A connection that blocks a newer version closes
 * itself so the upgrade can go on; a database the browser deletes or evicts under us is reported
 * on the next operation.
 */
export async function openDatabase(
  name: string,
  options: OpenOptions = {},
  journal: Omit<StorageChoices, 'onWiped'> = { journaled: false, dropsStaleJournal: false },
): Promise<Connection> {
  const connection = new Connection(name)
  try {
    connection.db = await openDB<ParkingLotDB>(name, SCHEMA_VERSION, {
      async upgrade(db, oldVersion, _newVersion, tx) {
        connection.created = oldVersion === 0
        if (oldVersion < 3) {
          db.createObjectStore('meta').put({ identity: uuidv7(Date.now()), createdAt: Date.now() }, 'identity')
        }
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
  try {
    connection.wiped = await checkStorage(connection, { onWiped: options.onWiped ?? 'fail', ...journal })
  } catch (error) {
    await connection.release()
    throw error
  }
  return connection
}

/** One open database, shared by a queue and a mailbox store made on it. */
export class Connection {
  db: IDBPDatabase<ParkingLotDB> | undefined
  lost: string | undefined
  /** Set when the browser wiped the database before this open. */
  wiped: StorageWipedError | undefined
  /** True when this open created the database (a first visit, or after a wipe). */
  created = false
  /** The journal this connection opened (`durability: 'journaled'`). */
  journal: Journal | undefined
  /** Whether a wipe would be detected: `'on'`, or `'off: '` and why. */
  detection = 'off: not checked yet'
  notes: { readonly files: NoteFiles; readonly identity: string } | undefined
  #noteTimer: ReturnType<typeof setTimeout> | undefined

  constructor(readonly name: string) {}

  /** After a commit: the database's size is noted outside it, at most once per `NOTE_EVERY_MS`. */
  wrote(): void {
    if (this.notes === undefined || this.#noteTimer !== undefined) return
    this.#noteTimer = setTimeout(() => {
      this.#noteTimer = undefined
      this.noteCounts().catch((error: unknown) => reportUnhandled(error, `noting the size of IndexedDB database '${this.name}'`))
    }, NOTE_EVERY_MS)
  }

  /** Before a close: a note that was waiting is written now. */
  async noteNow(): Promise<void> {
    if (this.#noteTimer === undefined) return
    clearTimeout(this.#noteTimer)
    this.#noteTimer = undefined
    await this.noteCounts()
  }

  /** Notes how many tasks and messages the database holds, for the report of a later wipe. */
  async noteCounts(): Promise<void> {
    const notes = this.notes
    if (notes === undefined || this.db === undefined) return
    const { tasks, messages } = await countHeld(this.db)
    await notes.files.writeCounts(notes.identity, tasks, messages)
  }

  get(): IDBPDatabase<ParkingLotDB> {
    if (this.lost !== undefined) throw new BackendError(`IndexedDB database '${this.name}' is unavailable: ${this.lost}`)
    if (this.db === undefined) throw new BackendError(`IndexedDB database '${this.name}' is not open`)
    return this.db
  }

  /** Closes the database and lets go of the journal it opened. */
  async release(): Promise<void> {
    this.close()
    const journal = this.journal
    this.journal = undefined
    await journal?.release()
  }

  /**
   * Records what a commit wrote in the journal of this database, when this realm has one open
   * (its own, or a journaled queue's on the same database).
   */
  get journaling(): boolean {
    return this.journal !== undefined || Journal.isOpen(this.name)
  }

  async journalWrote(entries: readonly JournalEntry[]): Promise<void> {
    const journal = this.journal ?? (await Journal.ifOpen(this.name))
    await journal?.append(entries)
  }

  close(reason = 'closed'): void {
    if (this.#noteTimer !== undefined) clearTimeout(this.#noteTimer)
    this.#noteTimer = undefined
    this.notes = undefined
    this.db?.close()
    this.db = undefined
    this.lost ??= reason
  }
}

/**
 * Deletes an IndexedDB database of this library on purpose, with its journal and the note that
 * would otherwise make the next start report it wiped (or rebuild it from the journal). Close
 * every pool, queue and store on it first: an open connection blocks the deletion.
 */
export async function deleteDatabase(name: string): Promise<void> {
  const notes = await NoteFiles.open(name)
  if (typeof notes !== 'string') await notes.remove()
  if (typeof notes !== 'string') await Journal.removeStale(name)
  await new Promise<void>((resolve, reject) => {
    const blocked = (): void =>
      reject(new BackendError(`IndexedDB database '${name}' is open elsewhere; it is deleted once every connection to it closes`))
    deleteDB(name, { blocked }).then(resolve, (error: unknown) =>
      reject(new BackendError(`Could not delete IndexedDB database '${name}'`, { cause: error })),
    )
  })
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
