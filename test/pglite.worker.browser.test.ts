import { PGlite } from '@electric-sql/pglite'
import { PGliteWorker } from '@electric-sql/pglite/worker'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { QueueLockedError } from '../src/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

// PGlite in a dedicated worker, on OPFS, reached through PGliteWorker: the same queue and mailbox
// code, over the worker's RPC.
const db = new PGliteWorker(new Worker(new URL('./pglite-worker.ts', import.meta.url), { type: 'module' }), {
  meta: { name: `ppl-opfs-${Date.now()}` },
})
afterAll(() => db.close())
// Booting PGlite (wasm compile, initdb) and migrating take many seconds on 2 busy cores: done once
// here, under its own time limit, so the contract's first test times the queue and not the boot.
beforeAll(async () => {
  const boot = new PGliteQueue(db, { name: 'boot' })
  await boot.open('boot')
  await boot.close()
}, 90_000)
let n = 0

describeTaskQueueConformance('PGlite in a worker on OPFS (Chromium)', () => new PGliteQueue<{ n: number }>(db, { name: `q${++n}` }))
describeMailboxStoreConformance('PGlite in a worker on OPFS (Chromium)', () => new PGliteMailboxStore<string>(db, { name: `m${++n}` }))

describe('PGlite owner lock', () => {
  it('is named after the database: two databases hold queues of one name side by side', async () => {
    const a = new PGlite()
    const b = new PGlite()
    const qa = new PGliteQueue(a, { name: 'same-name' })
    const qb = new PGliteQueue(b, { name: 'same-name' })
    await qa.open('owner-a')
    await expect(qb.open('owner-b')).resolves.toEqual([])
    await Promise.all([qa.close(), qb.close()])
    await Promise.all([a.close(), b.close()])
  })

  it('two PGliteWorker clients of one OPFS database refuse each other a second owner of a queue', async () => {
    const id = `ppl-lock-${Date.now()}`
    const makeClient = (): PGliteWorker =>
      new PGliteWorker(new Worker(new URL('./pglite-worker.ts', import.meta.url), { type: 'module' }), { id, meta: { name: id } })
    const first = makeClient()
    const second = makeClient()
    const owner = new PGliteQueue(first, { name: 'shared' })
    await owner.open('owner-1')
    await expect(new PGliteQueue(second, { name: 'shared' }).open('owner-2')).rejects.toBeInstanceOf(QueueLockedError)
    await owner.close()
    // Once given up, the other client may take it.
    const next = new PGliteQueue(second, { name: 'shared' })
    await expect(next.open('owner-2')).resolves.toEqual([])
    await next.close()
    await Promise.all([first.close(), second.close()])
  }, 60_000)
})
