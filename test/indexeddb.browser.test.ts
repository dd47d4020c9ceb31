import { IndexedDBMailboxStore, IndexedDBQueue } from '../src/indexeddb/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance } from './conformance/task-queue.js'

// Real IndexedDB in Chromium; a fresh database per test.
const run = `${Date.now()}`
let n = 0
describeTaskQueueConformance(
  'IndexedDB (Chromium)',
  () => new IndexedDBQueue<{ n: number }>({ database: `conformance-${run}-${++n}`, name: 'q' }),
)
describeMailboxStoreConformance('IndexedDB (Chromium)', () => new IndexedDBMailboxStore<string>({ database: `conformance-${run}-${++n}` }))
