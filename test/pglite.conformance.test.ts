import { PGlite } from '@electric-sql/pglite'
import { afterAll } from 'vitest'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

// One real PGlite (in memory) for the file: it takes seconds to start. Each test gets its own
// queue or mailbox name in it.
const db = new PGlite()
afterAll(() => db.close())
let n = 0

describeTaskQueueConformance('PGlite (Node, memory)', () => new PGliteQueue<{ n: number }>(db, { name: `q${++n}` }))
describeMailboxStoreConformance('PGlite (Node, memory)', () => new PGliteMailboxStore<string>(db, { name: `m${++n}` }))
