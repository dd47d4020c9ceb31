// A dedicated worker (sync access handles live in workers) that puts the journal's files through
// compaction, a torn tail and a compaction cut short, and reports what each start read back.
import { encodeEntries, emptyState, type JournalEntry } from '../../src/indexeddb/journal-format.js'
import { JournalFiles } from '../../src/indexeddb/journal-files.js'

interface RawHandle {
  getSize(): number
  write(data: Uint8Array, options: { at: number }): number
  truncate(size: number): void
  flush(): void
  close(): void
}

async function raw(database: string, suffix: 'a' | 'b'): Promise<RawHandle> {
  const root = await navigator.storage.getDirectory()
  const directory = await root.getDirectoryHandle('prometheus-parking-lot', { create: true })
  const file = await directory.getFileHandle(`${encodeURIComponent(database)}.journal-${suffix}`, { create: true })
  return (file as FileSystemFileHandle & { createSyncAccessHandle(): Promise<RawHandle> }).createSyncAccessHandle()
}

const put = (seq: number, pad: string): JournalEntry => ({ op: 'put', rows: [{ queue: 'q', seq, id: `t${seq}`, pad }] })
const settle = (seq: number): JournalEntry => ({ op: 'settle', queue: 'q', seq, key: undefined, message: undefined })

self.onmessage = async ({ data: database }: MessageEvent<string>) => {
  const report: Record<string, unknown> = {}
  try {
    let files = await JournalFiles.open(database)
    report['newJournal'] = files.load() === undefined
    files.start(emptyState(), 'db-1')
    // 3,000 tasks of 1 KiB in, all but the last 10 out: several MiB appended, little live.
    const pad = 'x'.repeat(1024)
    const sizes: number[] = []
    for (let seq = 0; seq < 3000; seq++) {
      files.append([put(seq, pad)])
      if (seq >= 10) files.append([settle(seq - 10)])
      sizes.push(files.size)
    }
    report['largestSize'] = Math.max(...sizes)
    report['compactions'] = sizes.filter((size, i) => i > 0 && size < sizes[i - 1]!).length
    report['finalSize'] = files.size
    files.close()

    files = await JournalFiles.open(database)
    const loaded = files.load()
    report['afterCompaction'] = { identity: loaded?.identity, live: [...(loaded?.state.jobs.values() ?? [])].map((row) => row.seq) }
    files.close()

    // A kill mid-append: half a frame at the end of the active file.
    const a = await raw(database, 'a')
    const b = await raw(database, 'b')
    const active = a.getSize() > 0 ? a : b
    const idle = active === a ? b : a
    const frame = encodeEntries([put(9000, 'torn')])
    active.write(frame.subarray(0, frame.length - 3), { at: active.getSize() })
    active.flush()
    // A compaction cut short: a newer generation in the idle file, never sealed.
    idle.truncate(0)
    idle.write(encodeEntries([{ op: 'generation', generation: 999, identity: 'db-unsealed' }, put(7777, 'half')]), { at: 0 })
    idle.flush()
    a.close()
    b.close()

    files = await JournalFiles.open(database)
    const again = files.load()
    report['afterTornTail'] = { identity: again?.identity, live: [...(again?.state.jobs.values() ?? [])].map((row) => row.seq) }
    // Appends go on after the last whole entry, so they read back.
    files.append([put(5000, 'after')])
    files.close()
    files = await JournalFiles.open(database)
    const state = files.load()!.state
    report['afterAppend'] = [...state.jobs.values()].map((row) => row.seq)
    files.close()
    await JournalFiles.remove(database)
    report['removed'] = await JournalFiles.open(database).then((fresh) => {
      const empty = fresh.load() === undefined
      fresh.close()
      return empty
    })
  } catch (error) {
    report['error'] = String(error)
  }
  self.postMessage(report)
}
