/**
 * The dedicated worker a page's journal writes through: pages have no sync access handles. It
 * holds one database's journal files; the page calls it over comlink, in order.
 */
import { expose } from 'comlink'
import type { JournalEntry, JournalState } from './journal-format.js'
import { JournalFiles, type LoadedJournal } from './journal-files.js'

let files: JournalFiles | undefined

const opened = (): JournalFiles => {
  if (files === undefined) throw new Error('the journal is not open')
  return files
}

export const journalWorker = {
  async open(database: string): Promise<LoadedJournal | undefined> {
    files = await JournalFiles.open(database)
    return files.load()
  },
  start(state: JournalState, identity: string): void {
    opened().start(state, identity)
  },
  append(entries: readonly JournalEntry[]): string | undefined {
    return opened().append(entries)
  },
  close(): void {
    files?.close()
    files = undefined
  },
}

export type JournalWorker = typeof journalWorker

expose(journalWorker)
