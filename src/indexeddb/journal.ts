/**
 * A database's journal as the IndexedDB backends use it: opened once per database in this realm
 * (a queue and a mailbox store on one database append to one journal), written directly where
 * this context has sync access handles (workers), through a dedicated worker where it has not
 * (pages). Calls reach the files in the order they were made.
 */
import { wrap, type Remote } from 'comlink'
import { BackendError } from '../core/errors.js'
import type { JournalEntry, JournalState } from './journal-format.js'
import { hasSyncHandles, JournalFiles, type LoadedJournal } from './journal-files.js'
import type { JournalWorker } from './journal-worker.js'
import JournalWorkerScript from './journal-worker.ts?worker&inline'

interface JournalBackend {
  open(database: string): Promise<LoadedJournal | undefined>
  start(state: JournalState, identity: string, now: number): Promise<void>
  append(entries: readonly JournalEntry[], now: number): Promise<void>
  close(): Promise<void>
}

/** In this thread: a worker or SharedWorker. */
function directBackend(): JournalBackend {
  let files: JournalFiles | undefined
  return {
    async open(database) {
      files = await JournalFiles.open(database)
      return files.load()
    },
    async start(state, identity, now) {
      files!.start(state, identity, now)
    },
    async append(entries, now) {
      files!.append(entries, now)
    },
    async close() {
      files?.close()
      files = undefined
    },
  }
}

/**
 * Through a dedicated worker: a page. The worker is inlined in the build (a blob URL), so an app
 * needs no bundler setup for it; a page whose CSP restricts `worker-src` must allow `blob:`.
 */
function workerBackend(): JournalBackend {
  const worker = new JournalWorkerScript({ name: 'prometheus-parking-lot journal' })
  const remote: Remote<JournalWorker> = wrap<JournalWorker>(worker)
  return {
    open: (database) => remote.open(database),
    start: (state, identity, now) => remote.start(state, identity, now),
    append: (entries, now) => remote.append(entries, now),
    async close() {
      await remote.close()
      worker.terminate()
    },
  }
}

export class Journal {
  #users = 0
  #closing: Promise<void> | undefined

  private constructor(
    readonly database: string,
    readonly backend: JournalBackend,
    /** What the journal held when opened; undefined for a new journal. Dropped once used. */
    public loaded: LoadedJournal | undefined,
  ) {}

  /** The realm's journal of `database`, opened on first use; `release()` it when done. */
  static async acquire(database: string): Promise<Journal> {
    let opening = open.get(database)
    if (opening === undefined) {
      opening = (async () => {
        const backend = hasSyncHandles() ? directBackend() : workerBackend()
        try {
          return new Journal(database, backend, await backend.open(database))
        } catch (error) {
          await backend.close().catch(() => undefined) // the open's error is the one to tell
          throw new BackendError(
            `Could not open the journal of IndexedDB database '${database}' in the origin private file system: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          )
        }
      })()
      open.set(database, opening)
      opening.catch(() => open.delete(database))
    }
    const journal = await opening
    journal.#users++
    return journal
  }

  /** Whether this realm has (or is opening) a journal of `database`. */
  static isOpen(database: string): boolean {
    return open.has(database)
  }

  /**
   * The journal of `database` if one is open in this realm (a queue's), for a mailbox store's
   * writes. One whose open failed is none: that open's caller got the error.
   */
  static async ifOpen(database: string): Promise<Journal | undefined> {
    return open.get(database)?.catch(() => undefined)
  }

  /**
   * Deletes a journal left from a time `database` was journaled, so it cannot later pass for a
   * journal of what was written since. Refused when another context holds it open (journaled).
   */
  static async removeStale(database: string): Promise<void> {
    if (open.has(database)) return
    try {
      await JournalFiles.remove(database)
    } catch (error) {
      throw new BackendError(
        `IndexedDB database '${database}' is journaled in another tab or worker; open it with durability 'journaled' here too (${error instanceof Error ? error.message : String(error)})`,
        { cause: error },
      )
    }
  }

  start(state: JournalState, identity: string): Promise<void> {
    return this.backend.start(state, identity, Date.now())
  }

  append(entries: readonly JournalEntry[]): Promise<void> {
    return this.backend.append(entries, Date.now())
  }

  async release(): Promise<void> {
    if (--this.#users > 0) return
    open.delete(this.database)
    this.#closing ??= this.backend.close()
    await this.#closing
  }
}

const open = new Map<string, Promise<Journal>>()
