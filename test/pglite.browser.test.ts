import { PGlite } from '@electric-sql/pglite'
import { afterAll, beforeAll } from 'vitest'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

// Real PGlite in Chromium, stored in IndexedDB (`idb://`), one database for the file.
const db = new PGlite(`idb://ppl-conformance-${Date.now()}`)
afterAll(() => db.close())
// Booting PGlite (wasm compile, initdb) and migrating take many seconds on 2 busy cores: done once
// here, under its own time limit, so the contract's first test times the queue and not the boot.
beforeAll(async () => {
  const boot = new PGliteQueue(db, { name: 'boot' })
  await boot.open('boot')
  await boot.close()
}, 90_000)
let n = 0

describeTaskQueueConformance('PGlite (Chromium, idb://)', () => new PGliteQueue<{ n: number }>(db, { name: `q${++n}` }))
describeMailboxStoreConformance('PGlite (Chromium, idb://)', () => new PGliteMailboxStore<string>(db, { name: `m${++n}` }))
