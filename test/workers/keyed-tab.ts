// A page of the reload test: a pool on IndexedDB submits the task with key `k` and tells its
// parent what the handle says. The test loads it, then reloads it: the second load must not run it.
import { Mailbox, ResourcePool } from '../../src/index.js'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../../src/indexeddb/index.js'

const params = new URLSearchParams(location.search)
const database = params.get('database') ?? 'keyed'
const withMailbox = params.get('mailbox') === '1'
let runs = 0
const pool = new ResourcePool<string, string>({
  name: 'keyed',
  capacity: 1,
  executor: async (text) => {
    runs++
    return `done: ${text}`
  },
  queue: new IndexedDBQueue<string>({ database, name: 'keyed' }),
  mailbox: new Mailbox({ store: new IndexedDBMailboxStore<string>({ database, name: 'keyed' }) }),
})
const task = await pool.submit('hello', { key: 'k', ...(withMailbox ? { mailbox: { tenant: 't' } } : {}) })
const outcome = await task.result.then(
  (value) => ({ ok: true, value }),
  (error: Error & { code?: string }) => ({ ok: false, code: error.code }),
)
await pool.onIdle()
await pool.close()
parent.postMessage({ keyed: { id: task.id, status: task.status, runs, outcome } }, '*')
