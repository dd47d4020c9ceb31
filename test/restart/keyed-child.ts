/**
 * One process of the idempotency-across-restarts test: a pool on PGlite on a data directory
 * submits the task with key `k` and prints, as one JSON line, what its handle says. The parent
 * runs it twice on one directory: the first process runs the task; the second must not.
 *
 *   node --import tsx test/restart/keyed-child.ts <dataDir> <payload> [mailbox]
 */
import { PGlite } from '@electric-sql/pglite'
import { Mailbox, ResourcePool } from '../../src/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../../src/pglite/index.js'

const [dataDir, payload, withMailbox] = process.argv.slice(2)
const db = await PGlite.create(dataDir!)
let runs = 0
const pool = new ResourcePool<string, string>({
  name: 'keyed',
  capacity: 1,
  executor: async (text) => {
    runs++
    return `done: ${text}`
  },
  queue: new PGliteQueue<string>(db, { name: 'keyed' }),
  mailbox: new Mailbox({ store: new PGliteMailboxStore<string>(db, { name: 'keyed' }) }),
})
const task = await pool.submit(payload!, { key: 'k', ...(withMailbox === 'mailbox' ? { mailbox: { tenant: 't' } } : {}) })
const outcome = await task.result.then(
  (value) => ({ ok: true, value }),
  (error: Error & { code?: string }) => ({ ok: false, code: error.code, message: error.message }),
)
await pool.onIdle()
console.log(JSON.stringify({ id: task.id, status: task.status, runs, outcome }))
await pool.close()
await db.close()
