/**
 * Telling a database the browser wiped from a new one, and rebuilding it from its journal.
 *
 * Each database has an identity (its `meta` store, made when it is created), noted outside
 * IndexedDB (marker.ts). An identity that differs from the noted one means the browser deleted
 * the database and opened an empty one. A journaled database (journal.ts) is then rebuilt from
 * the journal of its previous incarnation; any other is reported as lost.
 */
import type { IDBPDatabase } from 'idb'
import { BackendError } from '../core/errors.js'
import { StorageWipedError, wrapIdb } from './errors.js'
import { Journal } from './journal.js'
import { emptyState, jobId, keyId, type JournalState } from './journal-format.js'
import { NoteFiles, type DatabaseNote } from './marker.js'
import type { ParkingLotDB } from './schema.js'

/** The open database being checked (database.ts's `Connection`). */
interface Connection {
  readonly name: string
  readonly created: boolean
  detection: string
  notes: { readonly files: NoteFiles; readonly identity: string } | undefined
  journal: Journal | undefined
  get(): IDBPDatabase<ParkingLotDB>
  noteCounts(): Promise<void>
}

export interface StorageChoices {
  readonly onWiped: 'fail' | 'continue'
  /** `durability: 'journaled'`: open the database's journal, and rebuild from it after a wipe. */
  readonly journaled: boolean
  /** A queue that is not journaled deletes a journal left from before (a mailbox store leaves it). */
  readonly dropsStaleJournal: boolean
}

/** Per database and identity, in this realm: a queue and a mailbox store on one database check it once. */
const checks = new Map<string, Promise<StorageWipedError | undefined>>()

/**
 * Checks the database `connection` opened against its note (and its journal, when journaled).
 * Returns the wipe found, if any: rebuilt (`rebuilt` true, nothing lost) or lost. A lost database
 * is noted as the current one only when the app carries on (`'continue'`); with `'fail'` the old
 * note stays, so every start refuses until the app chooses.
 */
export async function checkStorage(connection: Connection, choices: StorageChoices): Promise<StorageWipedError | undefined> {
  const db = connection.get()
  const meta = await wrapIdb('reading the database identity', () => db.get('meta', 'identity'))
  if (meta === undefined) throw new BackendError(`IndexedDB database '${connection.name}' has no identity in its meta store`)
  const identity = meta.identity
  const files = await NoteFiles.open(connection.name)
  if (typeof files === 'string') {
    if (choices.journaled) throw new BackendError(`durability 'journaled' needs the origin private file system, and ${files}`)
    connection.detection = `off: ${files}`
    return undefined
  }
  connection.notes = { files, identity }
  connection.detection = 'on'
  if (choices.journaled) connection.journal = await Journal.acquire(connection.name)
  else if (choices.dropsStaleJournal) await Journal.removeStale(connection.name)

  const id = `${connection.name}\u0000${identity}`
  let check = checks.get(id)
  if (check === undefined) {
    check = firstCheck(connection, db, files, identity)
    checks.set(id, check)
    check.catch(() => checks.delete(id))
  }
  const wiped = await check
  if (wiped !== undefined && (wiped.rebuilt || choices.onWiped === 'continue')) {
    if (!wiped.rebuilt) {
      await files.writeIdentity(identity)
      await connection.noteCounts()
    }
    // Rebuilt, or the app chose to carry on: from now on this database is the one noted.
    checks.set(id, Promise.resolve(undefined))
  }
  return wiped
}

/** Once per database incarnation in this realm: compare with the note, reconcile the journal. */
async function firstCheck(
  connection: Connection,
  db: IDBPDatabase<ParkingLotDB>,
  files: NoteFiles,
  identity: string,
): Promise<StorageWipedError | undefined> {
  const note = await files.read()
  const differs = note !== undefined && note.identity !== identity
  const journal = connection.journal ?? (await Journal.ifOpen(connection.name))
  const rebuilt = journal === undefined ? undefined : await reconcile(journal, db, identity, differs || connection.created)
  if (note === undefined || rebuilt !== undefined) await files.writeIdentity(identity)
  if (!differs && rebuilt === undefined) {
    await connection.noteCounts()
    return undefined
  }
  await connection.noteCounts()
  return wipedError(connection.name, note, rebuilt)
}

function wipedError(
  database: string,
  note: DatabaseNote | undefined,
  rebuilt: { tasks: number; messages: number } | undefined,
): StorageWipedError {
  if (rebuilt !== undefined) {
    return new StorageWipedError(
      `The browser deleted IndexedDB database '${database}' and opened an empty one in its place; it was rebuilt from its journal ` +
        `(${rebuilt.tasks} tasks and ${rebuilt.messages} mailbox messages): nothing was lost`,
      database,
      rebuilt.tasks,
      rebuilt.messages,
      true,
    )
  }
  const held =
    note?.tasks === undefined
      ? 'how much it held was not noted'
      : `it held ${note.tasks} tasks and ${note.messages} mailbox messages when last noted`
  return new StorageWipedError(
    `The browser deleted IndexedDB database '${database}' and opened an empty one in its place (${held})`,
    database,
    note?.tasks,
    note?.messages,
    false,
  )
}

/**
 * Brings the journal and the database together. A journal of this incarnation goes on as it is. A
 * database just made empty (wiped, or created with a journal left from before) is rebuilt from
 * the journal, and the counts rebuilt are returned. Otherwise (a new journal, or one left from a
 * time the database was not journaled) the journal starts again from what the database holds.
 */
async function reconcile(
  journal: Journal,
  db: IDBPDatabase<ParkingLotDB>,
  identity: string,
  emptied: boolean,
): Promise<{ tasks: number; messages: number } | undefined> {
  const loaded = journal.loaded
  journal.loaded = undefined
  if (loaded?.identity === identity) return undefined
  const held = loaded === undefined ? 0 : loaded.state.jobs.size + loaded.state.keys.size + loaded.state.messages.size
  if (emptied && loaded !== undefined && held > 0) {
    await rebuild(db, loaded.state)
    await journal.start(loaded.state, identity)
    return { tasks: loaded.state.jobs.size, messages: loaded.state.messages.size }
  }
  await journal.start(await snapshot(db), identity)
  return undefined
}

/** Writes the journal's state into the empty database, in one transaction. */
async function rebuild(db: IDBPDatabase<ParkingLotDB>, state: JournalState): Promise<void> {
  await wrapIdb('rebuilding the database from its journal', async () => {
    const tx = db.transaction(['jobs', 'keys', 'messages'], 'readwrite', { durability: 'strict' })
    for (const row of state.jobs.values()) void tx.objectStore('jobs').put(row)
    for (const row of state.keys.values()) void tx.objectStore('keys').put(row)
    for (const message of state.messages.values()) void tx.objectStore('messages').add(message)
    await tx.done
  })
}

/** What the database holds, as a journal state (to start a journal from). */
async function snapshot(db: IDBPDatabase<ParkingLotDB>): Promise<JournalState> {
  return wrapIdb('reading the database to start its journal', async () => {
    const tx = db.transaction(['jobs', 'keys', 'messages'])
    const [jobs, keys, messages] = await Promise.all([
      tx.objectStore('jobs').getAll(),
      tx.objectStore('keys').getAll(),
      tx.objectStore('messages').getAll(),
    ])
    const state = emptyState()
    for (const row of jobs) state.jobs.set(jobId(row.queue, row.seq), row)
    for (const row of keys) state.keys.set(keyId(row.queue, row.key), row)
    for (const { seq: _seq, ...message } of messages) {
      state.messages.set(message.id, message)
      state.byTaskStatus.set(`${message.mailbox}\u0000${message.taskStatus}`, message.id)
    }
    return state
  })
}
