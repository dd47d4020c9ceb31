import { PGliteWorker } from '@electric-sql/pglite/worker'
import { afterAll } from 'vitest'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

// PGlite in a dedicated worker, on OPFS, reached through PGliteWorker: the same queue and mailbox
// code, over the worker's RPC.
const db = new PGliteWorker(new Worker(new URL('./pglite-worker.ts', import.meta.url), { type: 'module' }), {
  meta: { name: `ppl-opfs-${Date.now()}` },
})
afterAll(() => db.close())
let n = 0

describeTaskQueueConformance('PGlite in a worker on OPFS (Chromium)', () => new PGliteQueue<{ n: number }>(db, { name: `q${++n}` }))
describeMailboxStoreConformance('PGlite in a worker on OPFS (Chromium)', () => new PGliteMailboxStore<string>(db, { name: `m${++n}` }))
