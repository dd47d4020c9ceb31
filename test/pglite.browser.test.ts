import { PGlite } from '@electric-sql/pglite'
import { afterAll } from 'vitest'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

// Real PGlite in Chromium, stored in IndexedDB (`idb://`), one database for the file.
const db = new PGlite(`idb://ppl-conformance-${Date.now()}`)
afterAll(() => db.close())
let n = 0

describeTaskQueueConformance('PGlite (Chromium, idb://)', () => new PGliteQueue<{ n: number }>(db, { name: `q${++n}` }))
describeMailboxStoreConformance('PGlite (Chromium, idb://)', () => new PGliteMailboxStore<string>(db, { name: `m${++n}` }))
