// The journal's files in Chromium's real OPFS, through a worker's sync access handles.
import { expect, it } from 'vitest'

it('compacts as it grows, reads back after a torn tail and a compaction cut short, and appends after the last whole entry', async () => {
  const worker = new Worker(new URL('./workers/journal-files.ts', import.meta.url), { type: 'module' })
  const report = await new Promise<Record<string, unknown>>((resolve) => {
    worker.onmessage = (event: MessageEvent<Record<string, unknown>>) => resolve(event.data)
    worker.postMessage(`journal-files-${Date.now()}`)
  })
  worker.terminate()
  expect(report['error']).toBeUndefined()
  expect(report['newJournal']).toBe(true)
  // About 3 MiB went through; compactions kept the file under its floor (1 MiB) and one entry.
  expect(report['compactions']).toBeGreaterThanOrEqual(2)
  expect(report['largestSize']).toBeLessThan((1 << 20) + 2048)
  const lastTen = Array.from({ length: 10 }, (_, i) => 2990 + i)
  expect(report['afterCompaction']).toEqual({ identity: 'db-1', live: lastTen })
  expect(report['afterTornTail']).toEqual({ identity: 'db-1', live: lastTen })
  expect(report['afterAppend']).toEqual([...lastTen, 5000])
  expect(report['removed']).toBe(true)
})
