/**
 * The page under test for the Chromium kill test: a pool on a durable queue and mailbox (IndexedDB,
 * or PGlite on OPFS in a worker) that submits numbered tasks until the browser is killed. It logs `accepted <n> <id>` only after
 * `submit` resolved; the test process records those lines outside the browser.
 *   ?first=<n>   submit from n on, until killed
 *   ?drain       finish everything recovered, then log `drained <json of mailbox records>`
 *   &durability=journaled   the queue and mailbox journaled (rebuilt after a wipe)
 *   &store=pglite-opfs      PGlite on OPFS, in a dedicated worker, instead of IndexedDB
 * A database the browser wiped (google/leveldb#1287) is carried on from and logged as
 * `wiped <tasks> <messages> <rebuilt>`: the test counts wipes apart from losses.
 */
import { PGliteWorker } from '@electric-sql/pglite/worker'
import { Mailbox, ResourcePool, type MailboxMessage, type MailboxStore, type TaskQueue } from '../../src/index.js'
import { IndexedDBMailboxStore, IndexedDBQueue, StorageWipedError } from '../../src/indexeddb/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../../src/pglite/index.js'

const params = new URLSearchParams(location.search)
const durability = params.get('durability') === 'journaled' ? 'journaled' : 'default'
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

function stores(): { queue: TaskQueue<number>; store: MailboxStore<number> } {
  if (params.get('store') === 'pglite-opfs') {
    const worker = new Worker(new URL('../../test/pglite-worker.ts', import.meta.url), { type: 'module' })
    const db = new PGliteWorker(worker, { meta: { name: 'kill' } })
    return { queue: new PGliteQueue<number>(db, { name: 'kill' }), store: new PGliteMailboxStore<number>(db, { name: 'kill' }) }
  }
  return {
    queue: new IndexedDBQueue<number>({ database: 'kill', name: 'kill', onWiped: 'continue', durability }),
    store: new IndexedDBMailboxStore<number>({ database: 'kill', name: 'kill', onWiped: 'continue', durability }),
  }
}
const { queue, store } = stores()

const pool = new ResourcePool<number, number>({
  name: 'kill',
  capacity: 3,
  maxAttempts: 4,
  retryBaseDelayMs: 5,
  retryMaxDelayMs: 20,
  executor: async (n, ctx) => {
    await sleep(5 + (n % 13))
    if (n % 7 === 0 && ctx.attempt === 1) throw new Error(`task ${n} fails its first attempt`)
    return n * 2
  },
  queue,
  mailbox: new Mailbox({ store }),
})
pool.on('error', ({ error }) => {
  if (error instanceof StorageWipedError) console.log(`wiped ${error.tasks} ${error.messages} ${error.rebuilt}`)
  else console.error(error)
})
await pool.ready

if (params.has('drain')) {
  await pool.onIdle()
  const all: MailboxMessage<number>[] = []
  let cursor: string | undefined
  for (;;) {
    const page = await pool.mailbox.fetch({ tenant: 'kill' }, { since: cursor, limit: 500 })
    if (page.messages.length === 0) break
    all.push(...page.messages)
    cursor = page.cursor
  }
  console.log(`drained ${JSON.stringify(all.map((m) => ({ taskId: m.taskId, status: m.status, attempts: m.attempts })))}`)
} else {
  console.log('ready')
  for (let n = Number(params.get('first') ?? 0); ; n++) {
    const handle = await pool.submit(n, { mailbox: { tenant: 'kill' } })
    console.log(`accepted ${n} ${handle.id}`)
    if (n % 3 === 0) await sleep(n % 11)
  }
}
