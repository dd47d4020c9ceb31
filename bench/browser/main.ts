/**
 * Storage benchmarks in the page; bench/browser.mjs calls `window.bench[name](options)` and
 * collects `{ rate, p99 }` (operations per second, p99 latency in ms).
 */
import { PGlite } from '@electric-sql/pglite'
import { openDB } from 'idb'
import { Mailbox, MemoryMailboxStore, ResourcePool, type TaskRecord } from '../../src/index.js'
import { IndexedDBQueue } from '../../src/indexeddb/index.js'
import { PGliteQueue } from '../../src/pglite/index.js'

interface Result {
  rate: number
  p99: number
}

let unique = 0
const made: string[] = []
/** A new database name; every one made is deleted after the benchmark that made it (storage stays small). */
const fresh = (prefix: string): string => {
  const name = `${prefix}-${Date.now()}-${++unique}`
  made.push(name)
  return name
}

async function deleteMade(): Promise<void> {
  const names = made.splice(0)
  await Promise.all(
    names
      .flatMap((name) => [name, `/pglite/${name}`])
      .map(
        (name) =>
          new Promise<void>((resolve) => {
            const request = indexedDB.deleteDatabase(name)
            request.onsuccess = request.onerror = request.onblocked = () => resolve()
          }),
      ),
  )
}
/** Runs a benchmark in the service worker (bench/browser/sw.ts, where workbox's Queue lives); its answer. */
async function askServiceWorker<T>(message: object): Promise<T> {
  const registration = await navigator.serviceWorker.register(new URL('./sw.ts', import.meta.url), { type: 'module', scope: './' })
  const worker = registration.active ?? (await navigator.serviceWorker.ready).active!
  const channel = new MessageChannel()
  const done = new Promise<T>((resolve) => (channel.port1.onmessage = (e) => resolve(e.data as T)))
  worker.postMessage(message, [channel.port2])
  return done
}

const p99 = (latencies: number[]): number => latencies.sort((a, b) => a - b)[Math.floor(latencies.length * 0.99)] ?? 0

async function timed(n: number, start: (i: number) => Promise<unknown>, concurrent = true): Promise<Result> {
  const latencies: number[] = []
  const t0 = performance.now()
  const one = async (i: number): Promise<void> => {
    const s = performance.now()
    await start(i)
    latencies.push(performance.now() - s)
  }
  if (concurrent) await Promise.all(Array.from({ length: n }, (_, i) => one(i)))
  else for (let i = 0; i < n; i++) await one(i)
  return { rate: n / ((performance.now() - t0) / 1000), p99: p99(latencies) }
}

const job = (i: number): { prompt: string; i: number } => ({ prompt: `job ${i}`, i })

/** A paused pool: submits are accepted (durably written) and park; nothing starts. */
function pausedPool(queue: IndexedDBQueue<unknown> | PGliteQueue<unknown>): ResourcePool<unknown, unknown> {
  const pool = new ResourcePool<unknown, unknown>({
    capacity: 1,
    executor: () => 1,
    queue,
    mailbox: new Mailbox({ store: new MemoryMailboxStore() }),
  })
  pool.pause()
  return pool
}

function record(i: number): TaskRecord<unknown> {
  return {
    id: `00000000-0000-7000-8000-${String(i).padStart(12, '0')}`,
    seq: i + 1,
    payload: job(i),
    cost: { slots: 1 },
    priority: 'normal',
    tenant: '',
    mailbox: undefined,
    key: undefined,
    fingerprint: undefined,
    handler: undefined,
    submittedAt: Date.now(),
    waitDeadline: undefined,
    runTimeoutMs: undefined,
    maxAttempts: 1,
    attempt: 0,
    notBefore: undefined,
    lease: undefined,
  }
}

async function rawStore(name: string) {
  return openDB(name, 1, {
    upgrade(db) {
      const store = db.createObjectStore('jobs', { keyPath: 'seq', autoIncrement: true })
      store.createIndex('priority', ['priority', 'seq'])
    },
  })
}

async function claimAck(queue: IndexedDBQueue<unknown>, from: number, n: number): Promise<Result> {
  return timed(
    n,
    async (i) => {
      const r = record(from + i)
      await queue.claim(r, 1, { owner: 'bench', expiresAt: Date.now() + 30_000 })
      await queue.settle(r, { status: 'completed', endedAt: Date.now(), retainKeyUntil: 0, message: undefined })
    },
    false,
  )
}

async function fill(queue: IndexedDBQueue<unknown>, from: number, count: number): Promise<void> {
  for (let i = from; i < from + count; i += 1000)
    await queue.put(Array.from({ length: Math.min(1000, from + count - i) }, (_, k) => record(i + k)))
}

const bench = {
  /** ResourcePool on the IndexedDB queue: `n` submits in flight, each durably written. */
  async idbPoolSubmit({
    n,
    durability,
    oneAtATime,
  }: {
    n: number
    durability?: 'strict' | 'journaled'
    oneAtATime?: boolean
  }): Promise<Result> {
    const pool = pausedPool(new IndexedDBQueue({ database: fresh('pool'), name: 'q', durability }))
    await pool.ready
    const result = await timed(n, (i) => pool.submit(job(i)), oneAtATime !== true)
    pool.clear()
    await pool.close()
    return result
  },
  /** The queue alone (no pool): `n` single-record puts in flight. */
  async idbQueuePut({ n }: { n: number }): Promise<Result> {
    const queue = new IndexedDBQueue<unknown>({ database: fresh('queue'), name: 'q' })
    await queue.open('bench')
    const result = await timed(n, (i) => queue.put([record(i)]))
    await queue.close()
    return result
  },
  /** Raw idb, naively: one transaction per put. */
  async idbNaivePut({ n, oneAtATime }: { n: number; oneAtATime?: boolean }): Promise<Result> {
    const db = await rawStore(fresh('naive'))
    const result = await timed(n, (i) => db.add('jobs', { priority: 1, payload: job(i) }), oneAtATime !== true)
    db.close()
    return result
  },
  /** Raw idb, batched: 500 puts per transaction. */
  async idbBatchedPut({ n, durability }: { n: number; durability?: 'strict' }): Promise<Result> {
    const db = await rawStore(fresh('batched'))
    const latencies: number[] = []
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: Math.ceil(n / 500) }, async (_, b) => {
        const s = performance.now()
        const tx = db.transaction('jobs', 'readwrite', { durability: durability ?? 'default' })
        for (let i = b * 500; i < Math.min(n, (b + 1) * 500); i++) void tx.store.add({ priority: 1, payload: job(i) })
        await tx.done
        for (let i = b * 500; i < Math.min(n, (b + 1) * 500); i++) latencies.push(performance.now() - s)
      }),
    )
    db.close()
    return { rate: n / ((performance.now() - t0) / 1000), p99: p99(latencies) }
  },
  /** workbox-background-sync's Queue.pushRequest, in a service worker. */
  async workboxPush({ n }: { n: number }): Promise<Result> {
    const { seconds, latencies } = await askServiceWorker<{ seconds: number; latencies: number[] }>({ n, name: fresh('workbox') })
    return { rate: n / seconds, p99: p99(latencies) }
  },
  /**
   * Offline-queued network tasks replayed on reconnect: `n` tasks (the mix of priorities given)
   * submitted to a pool whose network capacity is 0, on IndexedDB (so they would survive a
   * reload), then the network comes back with `units` at once; timed until the last ends.
   */
  async ourReplay({
    n,
    units,
    run,
    priorities,
  }: {
    n: number
    units: number
    run: string
    priorities: string[]
  }): Promise<{ seconds: number }> {
    const pool = new ResourcePool<{ id: string; priority: string }, void>({
      capacity: { network: 0 },
      elasticResources: ['network'],
      queue: new IndexedDBQueue({ database: fresh('replay'), name: 'sync' }),
      maxAttempts: 3,
      executor: async (body) => {
        const response = await fetch(`/replay/${run}`, {
          method: 'POST',
          body: JSON.stringify(body),
          headers: { 'content-type': 'application/json' },
        })
        if (!response.ok) throw new Error(`answered ${response.status}`)
      },
    })
    const priority = (i: number) => priorities[i] as 'low' | 'normal' | 'high' | 'critical'
    await Promise.all(
      Array.from({ length: n }, (_, i) =>
        pool.submit({ id: `${run}-${i}`, priority: priority(i) }, { cost: { network: 1 }, priority: priority(i) }),
      ),
    )
    const t0 = performance.now()
    pool.setCapacity({ network: units })
    await pool.onIdle()
    const seconds = (performance.now() - t0) / 1000
    await pool.close()
    return { seconds }
  },
  /** The same requests through workbox-background-sync's Queue, in a service worker. */
  async workboxReplay({ n, run, priorities }: { n: number; run: string; priorities: string[] }): Promise<{ seconds: number }> {
    return askServiceWorker<{ seconds: number }>({ n, name: fresh('workbox-replay'), replay: run, priorities })
  },
  /** Our queue's claim + ack, one task at a time, at a backlog of `backlog` tasks on a fresh store. */
  async idbClaimAck({ backlog, n }: { backlog: number; n: number }): Promise<Result> {
    const queue = new IndexedDBQueue<unknown>({ database: fresh('claim'), name: 'q' })
    await queue.open('bench')
    await fill(queue, 0, backlog)
    const result = await claimAck(queue, 0, n)
    await queue.close()
    return result
  },
  /**
   * Claim + ack through a pool (capacity 16, no-op tasks): `n` tasks taken off a `backlog` on a
   * fresh store. Tasks that start and end together share transactions.
   */
  async idbPoolDrain({ backlog, n, through = 0 }: { backlog: number; n: number; through?: number }): Promise<Result> {
    const queue = new IndexedDBQueue<unknown>({ database: fresh('drain'), name: 'q' })
    const pool = new ResourcePool<unknown, unknown>({
      capacity: 16,
      executor: () => 1,
      queue,
      mailbox: new Mailbox({ store: new MemoryMailboxStore() }),
    })
    await pool.ready
    // History first: `through` tasks submitted, run and acked, leaving their deletions behind.
    for (let i = 0; i < through; i += 1000)
      await Promise.all(Array.from({ length: Math.min(1000, through - i) }, (_, k) => pool.submit(job(i + k))))
    await pool.onIdle()
    pool.pause()
    for (let i = 0; i < backlog; i += 1000)
      await Promise.all(Array.from({ length: Math.min(1000, backlog - i) }, (_, k) => pool.submit(job(i + k))))
    let done = 0
    const finished = new Promise<void>((resolve) =>
      pool.on('completed', () => {
        if (++done === n) {
          pool.pause()
          resolve()
        }
      }),
    )
    const t0 = performance.now()
    pool.resume()
    await finished
    // Stop the clock once the acks are durable too: close() waits for every write in flight and
    // keeps the rest of the backlog parked in the store.
    await pool.close()
    const seconds = (performance.now() - t0) / 1000
    return { rate: n / seconds, p99: 0 }
  },
  /** Naive dequeue: one transaction per task, first by a cursor on a priority index, then delete. */
  async idbNaiveDequeue({ backlog, n }: { backlog: number; n: number }): Promise<Result> {
    const db = await rawStore(fresh('dequeue'))
    for (let i = 0; i < backlog; i += 500) {
      const tx = db.transaction('jobs', 'readwrite')
      for (let k = i; k < Math.min(backlog, i + 500); k++) void tx.store.add({ priority: k % 4, payload: job(k) })
      await tx.done
    }
    const result = await timed(
      n,
      async () => {
        const tx = db.transaction('jobs', 'readwrite')
        const cursor = await tx.store.index('priority').openCursor(null, 'prev')
        if (cursor !== null) await cursor.delete()
        await tx.done
      },
      false,
    )
    db.close()
    return result
  },
  /** ResourcePool on PGlite `idb://` (default durability): `n` submits in flight, group-committed. */
  async pgliteIdbPoolSubmit({ n }: { n: number }): Promise<Result> {
    const db = await PGlite.create(`idb://${fresh('pglite-pool')}`)
    const pool = pausedPool(new PGliteQueue(db, { name: 'q' }))
    await pool.ready
    const result = await timed(n, (i) => pool.submit(job(i)))
    pool.clear()
    await pool.close()
    await db.close()
    return result
  },
  /** PGlite `idb://` naively: one INSERT statement (its own transaction) per task, one at a time. */
  async pgliteIdbNaive({ n }: { n: number }): Promise<Result> {
    const db = await PGlite.create(`idb://${fresh('pglite-naive')}`)
    await db.exec('create table jobs (id serial primary key, payload text)')
    const result = await timed(n, (i) => db.query('insert into jobs (payload) values ($1)', [JSON.stringify(job(i))]), false)
    await db.close()
    return result
  },
}

// Each benchmark runs, then the databases it made are deleted.
const wrapped = Object.fromEntries(
  Object.entries(bench).map(([name, run]) => [
    name,
    async (options: never): Promise<Result> => {
      try {
        return await (run as (o: never) => Promise<Result>)(options)
      } finally {
        await deleteMade()
      }
    },
  ]),
)
;(globalThis as { bench?: typeof wrapped }).bench = wrapped
document.title = 'ready'
