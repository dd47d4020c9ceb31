/**
 * What a database's wipe leaves standing: a note of its identity and size kept outside IndexedDB,
 * in the origin private file system (plain files, not the LevelDB that a torn log record makes
 * Chromium delete). The identity is written once per database incarnation; the counts about once
 * a second while it is written to, so a wipe can say how much it took.
 */

import { parkingLotDirectory, removeFile, type SyncCapableFile } from './opfs.js'

export interface DatabaseNote {
  /** The identity stored in the database's `meta` store when it was created. */
  readonly identity: string
  /** Tasks and mailbox messages it held when last noted. */
  readonly tasks: number | undefined
  readonly messages: number | undefined
}

interface Counts {
  readonly identity: string
  readonly tasks: number
  readonly messages: number
}

/** The notes of one database in OPFS. */
export class NoteFiles {
  private constructor(
    readonly directory: FileSystemDirectoryHandle,
    readonly database: string,
  ) {}

  /** The notes' files, or the reason this context has none (wipe detection is then off). */
  static async open(database: string): Promise<NoteFiles | string> {
    const directory = await parkingLotDirectory()
    return typeof directory === 'string' ? directory : new NoteFiles(directory, database)
  }

  async read(): Promise<DatabaseNote | undefined> {
    const identity = await this.#readText('identity')
    if (identity === undefined) return undefined
    const counts = parseCounts(await this.#readText('counts'))
    const known = counts?.identity === identity ? counts : undefined
    return { identity, tasks: known?.tasks, messages: known?.messages }
  }

  /** Forgets the database (an app deleting it on purpose: no wipe to report). */
  async remove(): Promise<void> {
    for (const kind of ['identity', 'counts'] as const) await removeFile(this.directory, this.#fileName(kind))
  }

  writeIdentity(identity: string): Promise<void> {
    return this.#writeText('identity', identity)
  }

  writeCounts(identity: string, tasks: number, messages: number): Promise<void> {
    return this.#writeText('counts', JSON.stringify({ identity, tasks, messages } satisfies Counts))
  }

  #fileName(kind: 'identity' | 'counts'): string {
    return `${encodeURIComponent(this.database)}.${kind}`
  }

  async #readText(kind: 'identity' | 'counts'): Promise<string | undefined> {
    let handle: FileSystemFileHandle
    try {
      handle = await this.directory.getFileHandle(this.#fileName(kind))
    } catch (error) {
      if (error instanceof DOMException && error.name === 'NotFoundError') return undefined
      throw error
    }
    return (await handle.getFile()).text()
  }

  async #writeText(kind: 'identity' | 'counts', text: string): Promise<void> {
    const handle: SyncCapableFile = await this.directory.getFileHandle(this.#fileName(kind), { create: true })
    if (typeof handle.createWritable === 'function') {
      const writable = await handle.createWritable()
      await writable.write(text)
      await writable.close()
      return
    }
    if (typeof handle.createSyncAccessHandle !== 'function') throw new Error('this context can write no OPFS file')
    const sync = await handle.createSyncAccessHandle()
    try {
      const bytes = new TextEncoder().encode(text)
      sync.truncate(0)
      sync.write(bytes, { at: 0 })
      sync.flush()
    } finally {
      sync.close()
    }
  }
}

function parseCounts(text: string | undefined): Counts | undefined {
  if (text === undefined) return undefined
  try {
    const value: unknown = JSON.parse(text)
    if (typeof value !== 'object' || value === null) return undefined
    const { identity, tasks, messages } = value as Record<string, unknown>
    if (typeof identity !== 'string' || typeof tasks !== 'number' || typeof messages !== 'number') return undefined
    return { identity, tasks, messages }
  } catch {
    // A torn counts file says nothing about the size; the identity alone still detects the wipe.
    return undefined
  }
}
