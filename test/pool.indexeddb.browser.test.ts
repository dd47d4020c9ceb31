import { describe, expect, it } from 'vitest'
import { buildPools } from '../src/config/index.js'
import { Mailbox, ResourcePool, type TaskContext } from '../src/index.js'
import * as indexeddb from '../src/indexeddb/index.js'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../src/indexeddb/index.js'

function pool(database: string, executor: (n: number, ctx: TaskContext) => Promise<string>): ResourcePool<number, string> {
  return new ResourcePool<number, string>({
    name: 'jobs',
    capacity: 1,
    executor,
    queue: new IndexedDBQueue<number>({ database, name: 'jobs' }),
    mailbox: new Mailbox({ store: new IndexedDBMailboxStore<string>({ database, name: 'jobs' }) }),
  })
}

describe('a pool on IndexedDB (Chromium)', () => {
  it('keeps accepted tasks across a restart of the pool, and delivers each outcome once', async () => {
    const database = `pool-${Date.now()}`
    const stopsOnAbort = (_n: number, ctx: TaskContext): Promise<string> =>
      new Promise((_resolve, reject) => ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)))
    const first = pool(database, stopsOnAbort)
    const running = await first.submit(1, { mailbox: { tenant: 't' } })
    const parked = await first.submit(2, { mailbox: { tenant: 't' } })
    // While the first pool is open, nobody else may own its queue.
    await expect(new IndexedDBQueue({ database, name: 'jobs' }).open('intruder')).rejects.toThrow(/owned by/)
    // It closes with one task parked (kept for the next start) and one running (cancelled here).
    const closed = first.close()
    await expect(parked.result).rejects.toThrow(/durable queue/)
    running.cancel()
    await closed

    const seen: [number, number][] = []
    const second = pool(database, async (n, ctx) => {
      seen.push([n, ctx.attempt])
      return `done ${n}`
    })
    await second.ready
    await second.onIdle()
    expect(seen).toEqual([[2, 1]])
    const { messages } = await second.mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => [m.taskId === running.id ? 'running' : 'parked', m.status])).toEqual([
      ['running', 'cancelled'],
      ['parked', 'completed'],
    ])
    await second.close()
  })

  it('builds IndexedDB pools from config in a browser', async () => {
    const pools = await buildPools<string, string>(
      `pools:\n  web:\n    capacity: { vram: 8 }\n    queue: { type: indexeddb, database: cfg-${Date.now()} }\n    mailbox: { storage: { type: in_memory } }\n`,
      { executors: { web: async (p) => p.toUpperCase() }, modules: { indexeddb } },
    )
    const task = await pools['web']!.submit('hi', { cost: { vram: 2 } })
    await expect(task.result).resolves.toBe('HI')
    await pools['web']!.close()
  })
})
