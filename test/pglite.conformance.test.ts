import { PGlite } from '@electric-sql/pglite'
import { afterAll, describe, expect, it } from 'vitest'
import { BackendError, type MailboxStore, type TaskQueue } from '../src/index.js'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { migrate, MIGRATIONS } from '../src/sql/migrations.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance, record } from './conformance/task-queue.js'

// One real PGlite (in memory) for the file: it takes seconds to start. Each test gets its own
// queue or mailbox name in it.
const db = new PGlite()
afterAll(() => db.close())
let n = 0

const count = async (sql: string, name: string): Promise<number> => Number((await db.query<{ n: number }>(sql, [name])).rows[0]!.n)

describeTaskQueueConformance('PGlite (Node, memory)', () => new PGliteQueue<{ n: number }>(db, { name: `q${++n}` }), {
  keysKept: (queue: TaskQueue<{ n: number }>) =>
    count('select count(*)::int as n from pl_queue_keys where queue_name = $1', (queue as PGliteQueue<{ n: number }>).name),
})
describeMailboxStoreConformance('PGlite (Node, memory)', () => new PGliteMailboxStore<string>(db, { name: `m${++n}` }), {
  messagesKept: (store: MailboxStore<string>) =>
    count('select count(*)::int as n from pl_mailbox_messages where mailbox_name = $1', (store as PGliteMailboxStore<string>).name),
})

describe('PGlite queue rows', () => {
  it('a stored row that does not decode fails recovery with a BackendError naming its id and field', async () => {
    const queue = new PGliteQueue<{ n: number }>(db, { name: 'corrupt' })
    await queue.open('owner-1')
    await queue.put([record(1)])
    await queue.close()
    await db.query("update pl_queue_jobs set priority = 'urgent' where queue_name = 'corrupt'")
    const error = await queue.open('owner-2').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toMatch(
      new RegExp(
        `Stored task ${record(1).id} of queue 'corrupt' does not decode: Expected \`task ${record(1).id}.priority\` to be one of "low", "normal", "high", "critical", got "urgent"`,
      ),
    )
  })

  it('a row whose payload is not JSON names the payload', async () => {
    const queue = new PGliteQueue<{ n: number }>(db, { name: 'corrupt-payload' })
    await queue.open('owner-1')
    await queue.put([record(1)])
    await queue.close()
    await db.query("update pl_queue_jobs set payload = '{oops' where queue_name = 'corrupt-payload'")
    await expect(queue.open('owner-2')).rejects.toThrow(/\.payload` to be JSON text/)
  })
})

describe('migrations', () => {
  it('run each script whole: a function body with semicolons inside is one statement', async () => {
    const fresh = await PGlite.create()
    const withFunction = `
      create function pl_test_double(x integer) returns integer language plpgsql as $$
      begin
        x := x * 2;
        return x;
      end;
      $$;
      create table pl_test_after (id integer);
    `
    await migrate(fresh, [...MIGRATIONS, withFunction])
    expect((await fresh.query<{ v: number }>('select pl_test_double(21) as v')).rows[0]!.v).toBe(42)
    const { rows } = await fresh.query<{ version: number }>('select max(version) as version from pl_schema_version')
    expect(rows[0]!.version).toBe(MIGRATIONS.length + 1)
    // Applying again changes nothing: each version runs once.
    await migrate(fresh, [...MIGRATIONS, withFunction])
    await fresh.close()
  }, 60_000)
})
