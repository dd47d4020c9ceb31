/**
 * A database's journal as the IndexedDB backends use it: opened once per database in this realm
 * (a queue and a mailbox store on one database append to one journal), written directly where
 * this context has sync access handles (workers), through a dedicated worker where it has not
 * (pages). Calls reach the files in the order they were made.
 */
import { wrap, type Remote } from 'comlink'
import { BackendError } from '../core/errors.js'
import { reportUnhandled } from '../core/report.js'
import type { JournalEntry, JournalState } from './journal-format.js'
import { hasSyncHandles, JournalFiles, type LoadedJournal } from './journal-files.js'
import type { JournalWorker } from './journal-worker.js'
import JournalWorkerScript from './journal-worker.ts?worker&inline'

interface JournalBackend {
  open(database: string): Promise<LoadedJournal | undefined>
  start(state: JournalState, identity: string): Promise<void>
  /** Resolves once the entries are flushed; with a warning when the compaction after them failed. */
  append(entries: readonly JournalEntry[]): Promise<string | undefined>
  close(): Promise<void>
}

/** In this thread: a dedicated worker. */
function directBackend(): JournalBackend {
  let files: JournalFiles | undefined
  const opened = (): JournalFiles => {
    if (files === undefined) throw new Error('the journal is closed')
    return files
  }
  return {
    async open(database) {
      files = await JournalFiles.open(database)
      return files.load()
    },
    async start(state, identity) {
      opened().start(state, identity)
    },
    async append(entries) {
      return opened().append(entries)
    },
    async close() {
      files?.close()
      files = undefined
    },
  }
}

/**
 * Through a dedicated worker: a page. The worker is inlined in the build (a blob URL), so an app
 * needs no bundler setup for it; a page whose CSP restricts `worker-src` must allow `blob:`. If
 * the worker dies, every call then rejects (comlink alone would leave them pending).
 */
function workerBackend(): JournalBackend {
  if (typeof Worker !== 'function') {
    throw new Error(
      "this context can neither write OPFS files itself nor start a worker that can (a SharedWorker): use durability 'journaled' in a page or a dedicated worker",
    )
  }
  const worker = new JournalWorkerScript({ name: 'prometheus-parking-lot journal' })
  const remote: Remote<JournalWorker> = wrap<JournalWorker>(worker)
  let fail!: (error: Error) => void
  const died = new Promise<never>((_, reject) => (fail = reject))
  died.catch(() => undefined) // observed by each call below; this only keeps it from being unhandled
  worker.addEventListener('error', (event) => fail(new Error(`the journal worker failed: ${event.message || 'it could not start'}`)))
  const call = <T>(promise: Promise<T>): Promise<T> => Promise.race([promise, died])
  return {
    open: (database) => call(remote.open(database)),
    start: (state, identity) => call(remote.start(state, identity)),
    append: (entries) => call(remote.append(entries)),
    async close() {
      await call(remote.close()).finally(() => worker.terminate())
    },
  }
}

export class Journal {
  #reconciled: Promise<unknown> | undefined

  private constructor(
    readonly database: string,
    readonly backend: JournalBackend,
    /** What the journal held when opened; undefined for a new journal. Dropped once used. */
    public loaded: LoadedJournal | undefined,
  ) {}

  /** The realm's journal of `database`, opened on first use; `release()` it when done. */
  static async acquire(database: string): Promise<Journal> {
    let entry = open.get(database)
    if (entry === undefined) {
      const opening = (async () => {
        let backend: JournalBackend | undefined
        try {
          backend = hasSyncHandles() ? directBackend() : workerBackend()
          return new Journal(database, backend, await backend.open(database))
        } catch (error) {
          await backend?.close().catch(() => undefined) // the open's error is the one to tell
          throw new BackendError(
            `Could not open the journal of IndexedDB database '${database}' in the origin private file system: ${error instanceof Error ? error.message : String(error)}`,
            { cause: error },
          )
        }
      })()
      entry = { opening, users: 0 }
      open.set(database, entry)
      opening.catch(() => open.delete(database))
    }
    // Counted before the wait: a release meanwhile must not close it under this caller.
    entry.users++
    try {
      return await entry.opening
    } catch (error) {
      entry.users--
      throw error
    }
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
    return open.get(database)?.opening.catch(() => undefined)
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

  /** Runs `reconcile` once for this journal (the first opener of its database in this realm); later callers get its answer. */
  reconcileOnce<T>(reconcile: () => Promise<T>): Promise<T> {
    this.#reconciled ??= reconcile()
    return this.#reconciled as Promise<T>
  }

  start(state: JournalState, identity: string): Promise<void> {
    return this.backend.start(state, identity)
  }

  async append(entries: readonly JournalEntry[]): Promise<void> {
    if (entries.length === 0) return
    const warning = await this.backend.append(entries)
    if (warning !== undefined) reportUnhandled(new BackendError(`IndexedDB database '${this.database}': ${warning}`), 'the journal')
  }

  async release(): Promise<void> {
    const entry = open.get(this.database)
    if (entry === undefined || --entry.users > 0) return
    open.delete(this.database)
    await this.backend.close()
  }
}

const open = new Map<string, { readonly opening: Promise<Journal>; users: number }>()
