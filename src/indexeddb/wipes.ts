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
import { countHeld, type Held, type ParkingLotDB } from './schema.js'

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

/** Rebuilds already turned into this realm's report (a queue and a mailbox store share one journal's). */
const reported = new WeakSet<object>()

/**
 * Checks the database `connection` opened against its note, and first reconciles its journal
 * when journaled (a wiped database is rebuilt from it). Returns the wipe found, if any: rebuilt
 * (`rebuilt` true, nothing lost) or lost. A lost database is noted as the current one only when
 * the app carries on (`'continue'`); with `'fail'` the old note stays, so every start refuses
 * until the app chooses.
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

  const id = `${connection.name}\u0000${identity}`
  if (choices.journaled) {
    const journal = (connection.journal = await Journal.acquire(connection.name))
    // Once per journal in this realm, whoever opened the database first.
    const rebuilt = await journal.reconcileOnce(() => reconcile(journal, db, identity))
    if (rebuilt !== undefined && !reported.has(rebuilt)) {
      reported.add(rebuilt)
      checks.set(id, noteRebuilt(connection, files, identity, rebuilt))
    }
  } else if (choices.dropsStaleJournal) {
    await Journal.removeStale(connection.name)
  }

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

/** Once per database incarnation in this realm: compare it with the note. */
async function firstCheck(
  connection: Connection,
  db: IDBPDatabase<ParkingLotDB>,
  files: NoteFiles,
  identity: string,
): Promise<StorageWipedError | undefined> {
  const note = await files.read()
  if (note === undefined || note.identity === identity) {
    if (note === undefined) await files.writeIdentity(identity)
    await connection.noteCounts()
    return undefined
  }
  // A wiped database is empty. One that differs from the note yet holds data was rebuilt from its
  // journal by a start that was killed before it could update the note.
  const held = await countHeld(db)
  if (held.tasks + held.keys + held.messages > 0) return noteRebuilt(connection, files, identity, held)
  // The counts stay those of the lost database until the app carries on.
  return lostError(connection.name, note)
}

async function noteRebuilt(connection: Connection, files: NoteFiles, identity: string, held: Held): Promise<StorageWipedError> {
  await files.writeIdentity(identity)
  await connection.noteCounts()
  return new StorageWipedError(
    `The browser deleted IndexedDB database '${connection.name}' and opened an empty one in its place; it was rebuilt from its journal ` +
      `(${held.tasks} tasks and ${held.messages} mailbox messages): nothing was lost`,
    connection.name,
    held.tasks,
    held.messages,
    true,
  )
}

function lostError(database: string, note: DatabaseNote): StorageWipedError {
  const held =
    note.tasks === undefined
      ? 'how much it held was not noted'
      : `it held ${note.tasks} tasks and ${note.messages} mailbox messages when last noted`
  return new StorageWipedError(
    `The browser deleted IndexedDB database '${database}' and opened an empty one in its place (${held})`,
    database,
    note.tasks,
    note.messages,
    false,
  )
}

/**
 * Brings the journal and the database together, once per journal. An empty database and a
 * journal of an earlier incarnation that holds something: the browser wiped it, and it is rebuilt
 * from the journal (the counts rebuilt are returned). Otherwise IndexedDB is the authority while
 * it stands: the journal starts again from what the database holds, so a write that reached
 * IndexedDB but not the journal (a kill between the two) is in the journal from now on.
 */
async function reconcile(journal: Journal, db: IDBPDatabase<ParkingLotDB>, identity: string): Promise<Held | undefined> {
  const loaded = journal.loaded
  journal.loaded = undefined
  const state = loaded?.state
  const inJournal = state === undefined ? 0 : state.jobs.size + state.keys.size + state.messages.size
  if (state !== undefined && loaded!.identity !== identity && inJournal > 0) {
    const held = await countHeld(db)
    if (held.tasks + held.keys + held.messages === 0) {
      await rebuild(db, state)
      await journal.start(state, identity)
      return { tasks: state.jobs.size, keys: state.keys.size, messages: state.messages.size }
    }
  }
  await journal.start(await snapshot(db), identity)
  return undefined
}

/** Writes the journal's state into the empty database, in one transaction; messages keep their seq (fetch cursors stay valid). */
async function rebuild(db: IDBPDatabase<ParkingLotDB>, state: JournalState): Promise<void> {
  await wrapIdb('rebuilding the database from its journal', async () => {
    const tx = db.transaction(['jobs', 'keys', 'messages'], 'readwrite', { durability: 'strict' })
    for (const row of state.jobs.values()) void tx.objectStore('jobs').put(row)
    for (const row of state.keys.values()) void tx.objectStore('keys').put(row)
    for (const message of state.messages.values()) void tx.objectStore('messages').put(message)
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
    for (const message of messages) {
      state.messages.set(message.id, message)
      state.byTaskStatus.set(`${message.mailbox}\u0000${message.taskStatus}`, message.id)
    }
    return state
  })
}
