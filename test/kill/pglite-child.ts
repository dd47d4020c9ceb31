/**
 * The process under test for the Node kill test: a pool on PGlite on a data directory that
 * submits numbered tasks until it is killed. It prints `accepted <n> <id>` only after `submit`
 * resolved, so the parent counts exactly the tasks the pool accepted.
 *
 *   node --import tsx test/kill/pglite-child.ts <dataDir> <firstIndex> <seed>      submit until killed
 *   node --import tsx test/kill/pglite-child.ts <dataDir> drain                      finish all, print the mailbox
 */
import { PGlite } from '@electric-sql/pglite'
import { Mailbox, ResourcePool, type MailboxMessage } from '../../src/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../../src/pglite/index.js'

const [dataDir, mode, seedArg] = process.argv.slice(2)
let seed = Number(seedArg ?? 1)
const random = (): number => {
  seed = (seed * 1103515245 + 12345) % 2147483648
  return seed / 2147483648
}
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

const db = await PGlite.create(dataDir!)
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
  queue: new PGliteQueue<number>(db, { name: 'kill' }),
  mailbox: new Mailbox({ store: new PGliteMailboxStore<number>(db, { name: 'kill' }) }),
})
await pool.ready

if (mode === 'drain') {
  await pool.onIdle()
  const all: MailboxMessage<number>[] = []
  let cursor: string | undefined
  for (;;) {
    const page = await pool.mailbox.fetch({ tenant: 'kill' }, { since: cursor, limit: 500 })
    if (page.messages.length === 0) break
    all.push(...page.messages)
    cursor = page.cursor
  }
  await pool.close()
  await db.close()
  process.stdout.write(`${JSON.stringify(all.map((m) => ({ taskId: m.taskId, status: m.status, attempts: m.attempts })))}\n`)
  process.exit(0)
}

process.stdout.write('ready\n')
for (let n = Number(mode); ; n++) {
  const handle = await pool.submit(n, { mailbox: { tenant: 'kill' } })
  process.stdout.write(`accepted ${n} ${handle.id}\n`)
  if (random() < 0.3) await sleep(Math.floor(random() * 15))
}
