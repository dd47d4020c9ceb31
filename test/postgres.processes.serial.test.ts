// Three worker processes on one PostgresQueue (a real Postgres 15): each checks from inside that
// the units its running tasks hold never exceed its capacity (it exits 3 if they do), and every
// task runs exactly once (no process dies here, so no run is repeated) and reaches its submitter.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Mailbox, ResourcePool } from '../src/index.js'
import { PostgresMailboxStore, PostgresQueue } from '../src/postgres/index.js'
import { freshDatabase } from './postgres/database.js'
import type { ChaosJob } from './postgres/worker-process.js'
import { createRunsTable, startWorker, stopWorker, type WorkerProcess } from './postgres/workers.js'
import { mulberry32 } from './random.js'

let url: string
let admin: pg.Pool
beforeAll(async () => {
  url = await freshDatabase('processes')
  admin = new pg.Pool({ connectionString: url, max: 2 })
  await createRunsTable(url)
})
afterAll(() => admin.end())

const CAPACITIES = [
  { gpu: 4, cpu: 4 },
  { gpu: 2, cpu: 8 },
  { gpu: 8, cpu: 2 },
]

describe('three worker processes on one PostgresQueue', () => {
  it('run 300 tasks of random { gpu, cpu } costs: never over any capacity, each exactly once, every result back to the submitter', async () => {
    const queue = 'three'
    const workers: WorkerProcess[] = CAPACITIES.map((capacity, i) => startWorker(`w${i}`, { url, queue, capacity, leaseMs: 5_000 }))
    await Promise.all(workers.map((w) => w.ready))
    const connections = new pg.Pool({ connectionString: url, max: 4 })
    // The submitter runs nothing (paused): every task runs in a worker process.
    const submitter = new ResourcePool<ChaosJob, number>({
      name: 'submitter',
      capacity: { gpu: 8, cpu: 8 },
      queue: new PostgresQueue<ChaosJob>(connections, { name: queue }),
      mailbox: new Mailbox<number>({ store: new PostgresMailboxStore<number>(connections, { name: queue }) }),
      executor: () => {
        throw new Error('the submitter runs nothing')
      },
    })
    submitter.pause()
    const random = mulberry32(12)
    const jobs: ChaosJob[] = Array.from({ length: 300 }, (_, n) => {
      const cost = { gpu: 1 + Math.floor(random() * 4), cpu: 1 + Math.floor(random() * 2) }
      return { n, cost, ms: 5 + Math.floor(random() * 20) }
    })
    const started = performance.now()
    const handles = await submitter.submitAll(
      jobs.map((job) => ({ payload: job, options: { cost: job.cost, mailbox: { tenant: 't', user: `u${job.n % 7}` } } })),
    )
    const results = await Promise.all(handles.map((h) => h.result))
    const seconds = (performance.now() - started) / 1000
    expect(results).toEqual(jobs.map((job) => job.n))

    const { rows: runs } = await admin.query<{ task_id: string; attempt: number; worker: string }>(
      'select task_id, attempt, worker from runs',
    )
    expect(runs.length).toBe(300)
    expect(new Set(runs.map((r) => r.task_id)).size).toBe(300)
    expect(runs.every((r) => r.attempt === 1)).toBe(true)
    const perWorker = workers.map((w) => runs.filter((r) => r.worker === w.name).length)
    // Every process took part (the gpu 3-4 tasks fit only w0 and w2).
    for (const count of perWorker) expect(count).toBeGreaterThan(0)
    const { rows: messages } = await admin.query<{ n: number }>(
      'select count(*)::int as n from pl_mailbox_messages where mailbox_name = $1',
      [queue],
    )
    expect(messages[0]!.n).toBe(300)
    console.log(`three processes: 300 tasks in ${seconds.toFixed(2)} s, runs per worker ${perWorker.join(' / ')}`)

    await submitter.close()
    await connections.end()
    const codes = await Promise.all(workers.map(stopWorker))
    expect(codes, workers.map((w) => w.output()).join('\n')).toEqual([0, 0, 0])
  }, 60_000)
})
