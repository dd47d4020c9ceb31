import { openDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { BackendError, type MailboxStore, type TaskQueue } from '../src/index.js'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../src/indexeddb/index.js'
import { describeMailboxStoreConformance } from './conformance/mailbox-store.js'
import { describeTaskQueueConformance, record } from './conformance/task-queue.js'

// Real IndexedDB in Chromium; a fresh database per test.
const run = `${Date.now()}`
let n = 0

async function countAll(database: string, store: 'keys' | 'messages'): Promise<number> {
  const db = await openDB(database)
  try {
    return await db.count(store)
  } finally {
    db.close()
  }
}

describeTaskQueueConformance(
  'IndexedDB (Chromium)',
  () => new IndexedDBQueue<{ n: number }>({ database: `conformance-${run}-${++n}`, name: 'q' }),
  {
    keysKept: (queue: TaskQueue<{ n: number }>) => countAll((queue as IndexedDBQueue<{ n: number }>).database, 'keys'),
  },
)
describeMailboxStoreConformance(
  'IndexedDB (Chromium)',
  () => new IndexedDBMailboxStore<string>({ database: `conformance-${run}-${++n}` }),
  {
    messagesKept: (store: MailboxStore<string>) => countAll((store as IndexedDBMailboxStore<string>).database, 'messages'),
  },
)

describe('IndexedDB queue rows', () => {
  it('a stored row that does not decode fails recovery with a BackendError naming its id and field', async () => {
    const database = `corrupt-${run}`
    const queue = new IndexedDBQueue<{ n: number }>({ database, name: 'q' })
    await queue.open('owner-1')
    await queue.put([record(1)])
    await queue.close()
    const db = await openDB(database)
    const row = (await db.get('jobs', ['q', 1])) as Record<string, unknown>
    await db.put('jobs', { ...row, attempt: 'twice' })
    db.close()
    const error = await queue.open('owner-2').catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toBe(
      `Stored task ${record(1).id} of queue 'q' does not decode: Expected \`task ${record(1).id}.attempt\` to be an integer, got "twice" (string)`,
    )
  })
})
