/**
 * The journal's files in the origin private file system, written through sync access handles
 * (a worker's: pages have none). Two files take turns: a compaction writes the folded state as a
 * new generation into the idle file, flushes it, and only then empties the other, so a kill at
 * any point leaves one whole, sealed generation to read.
 */
import { compactEntries, decodeEntries, encodeEntries, foldGeneration, type JournalEntry, type JournalState } from './journal-format.js'
import { parkingLotDirectory, removeFile, type SyncCapableFile, type SyncHandle } from './opfs.js'

/** A journal smaller than this is never compacted; above it, once it is 4x its last compacted size. */
const COMPACT_FROM_BYTES = 1 << 20

export interface LoadedJournal {
  readonly state: JournalState
  readonly identity: string
}

/** Whether this context can write journal files itself (dedicated workers), or needs a worker (pages). */
export const hasSyncHandles = (): boolean =>
  typeof (globalThis as { FileSystemSyncAccessHandle?: unknown }).FileSystemSyncAccessHandle === 'function'

export class JournalFiles {
  #active = 0
  #generation = 0
  #identity = ''
  #end = 0
  #compactedSize = 0

  private constructor(readonly handles: readonly [SyncHandle, SyncHandle]) {}

  /** Opens both files of `database`'s journal; another context holding them makes this fail. */
  static async open(database: string): Promise<JournalFiles> {
    const directory = await journalDirectory()
    const open = async (suffix: 'a' | 'b'): Promise<SyncHandle> => {
      const file: SyncCapableFile = await directory.getFileHandle(fileName(database, suffix), { create: true })
      if (file.createSyncAccessHandle === undefined) throw new Error('this context has no sync access handles')
      return file.createSyncAccessHandle()
    }
    const a = await open('a')
    try {
      return new JournalFiles([a, await open('b')])
    } catch (error) {
      a.close()
      throw error
    }
  }

  /** Deletes `database`'s journal files, if any (pages can: no sync handle is needed). */
  static async remove(database: string): Promise<void> {
    const directory = await journalDirectory()
    for (const suffix of ['a', 'b'] as const) await removeFile(directory, fileName(database, suffix))
  }

  /** The newest sealed generation's state, or undefined when there is none (a new journal). */
  load(): LoadedJournal | undefined {
    let best: { index: number; generation: number; identity: string; state: JournalState; end: number } | undefined
    for (const [index, handle] of this.handles.entries()) {
      const { entries, intactBytes } = decodeEntries(readAll(handle))
      const folded = foldGeneration(entries)
      if (folded !== undefined && (best === undefined || folded.generation > best.generation)) best = { index, ...folded, end: intactBytes }
    }
    if (best === undefined) return undefined
    this.#active = best.index
    this.#generation = best.generation
    this.#identity = best.identity
    this.#end = best.end
    // A torn tail goes: later appends follow the last whole entry.
    this.handles[best.index]!.truncate(best.end)
    return { state: best.state, identity: best.identity }
  }

  /** Starts a new generation holding `state`, for the database incarnation `identity`. */
  start(state: JournalState, identity: string): void {
    const next = 1 - this.#active
    const bytes = encodeEntries(compactEntries(state, this.#generation + 1, identity))
    const handle = this.handles[next]!
    handle.truncate(0)
    writeAll(handle, bytes, 0)
    handle.flush()
    this.handles[this.#active]!.truncate(0)
    this.handles[this.#active]!.flush()
    this.#active = next
    this.#generation++
    this.#identity = identity
    this.#end = bytes.length
    this.#compactedSize = bytes.length
  }

  /**
   * Appends entries and flushes them; then compacts when the file has grown enough. A compaction
   * that fails does not fail the append (it is in the file): its error is returned, and the next
   * append tries again.
   */
  append(entries: readonly JournalEntry[]): string | undefined {
    if (entries.length === 0) return undefined
    if (this.#generation === 0) throw new Error('the journal was not started')
    const handle = this.handles[this.#active]!
    const bytes = encodeEntries(entries)
    writeAll(handle, bytes, this.#end)
    handle.flush()
    this.#end += bytes.length
    if (this.#end <= COMPACT_FROM_BYTES || this.#end <= 4 * this.#compactedSize) return undefined
    try {
      this.#compact()
      return undefined
    } catch (error) {
      return `compacting the journal failed: ${error instanceof Error ? error.message : String(error)}`
    }
  }

  /** Folds the active generation and starts the next with it. */
  #compact(): void {
    const { entries } = decodeEntries(readAll(this.handles[this.#active]!))
    const folded = foldGeneration(entries)
    if (folded === undefined) throw new Error('the active journal generation is not sealed')
    this.start(folded.state, this.#identity)
  }

  /** The active file's size in bytes. */
  get size(): number {
    return this.#end
  }

  close(): void {
    for (const handle of this.handles) handle.close()
  }
}

async function journalDirectory(): Promise<FileSystemDirectoryHandle> {
  const directory = await parkingLotDirectory()
  if (typeof directory === 'string') throw new Error(directory)
  return directory
}

const fileName = (database: string, suffix: 'a' | 'b'): string => `${encodeURIComponent(database)}.journal-${suffix}`

function readAll(handle: SyncHandle): Uint8Array {
  const bytes = new Uint8Array(handle.getSize())
  let at = 0
  while (at < bytes.length) {
    const read = handle.read(bytes.subarray(at), { at })
    if (read === 0) break
    at += read
  }
  return bytes.subarray(0, at)
}

function writeAll(handle: SyncHandle, bytes: Uint8Array, at: number): void {
  let written = 0
  while (written < bytes.length) {
    const wrote = handle.write(bytes.subarray(written), { at: at + written })
    if (wrote <= 0) throw new Error(`the journal file took no bytes at ${at + written} (is the disk full?)`)
    written += wrote
  }
}
