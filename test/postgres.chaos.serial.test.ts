// Chaos on a shared PostgresQueue, on a Postgres 15 cluster of this file's own (one scenario
// restarts it): three worker processes run tasks while a producer keeps submitting, and one kind
// of fault strikes again and again. Accounting, as in the browser kill tests: every accepted task
// completes and reaches its submitter, exactly one terminal mailbox message per task, a task runs
// again only as a later attempt; the counts and recovery times are printed.
//
// Heavy: it runs alone (the `chaos` project, one file at a time, after the others).
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Mailbox, ResourcePool, type TaskHandle } from '../src/index.js'
import { PostgresMailboxStore, PostgresQueue } from '../src/postgres/index.js'
import { startCluster, type Cluster } from './postgres/cluster.js'
import type { ChaosJob } from './postgres/worker-process.js'
import { createRunsTable, startWorker, stopWorker, type WorkerProcess } from './postgres/workers.js'
import { mulberry32 } from './random.js'

const LEASE_MS = 1_000
const CAPACITIES = [
  { gpu: 4, cpu: 4 },
  { gpu: 2, cpu: 8 },
  { gpu: 8, cpu: 2 },
]

let cluster: Cluster
beforeAll(async () => {
  cluster = await startCluster()
}, 60_000)
afterAll(() => cluster?.stop())

async function databaseFor(label: string): Promise<string> {
  const admin = new pg.Client({ connectionString: cluster.url })
  await admin.connect()
  await admin.query(`create database ${label}`)
  await admin.end()
  const url = new URL(cluster.url)
  url.pathname = `/${label}`
  await createRunsTable(url.toString())
  return url.toString()
}

interface Scene {
  readonly url: string
  readonly workers: WorkerProcess[]
  /** Queries on a connection of the test's own (opened again after a restart). */
  query<T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]>
  /** Resolves once some worker has started a run after `since` (database time, ms); answers that time. */
  nextRunAfter(since: number): Promise<number>
  /** The database's clock, ms. */
  now(): Promise<number>
  respawn(index: number): Promise<void>
}

/**
 * Runs `chaos` while a producer keeps 40 tasks waiting, then lets everything drain and checks
 * the accounting. Answers the summary line.
 */
async function scenario(label: string, chaos: (scene: Scene) => Promise<string>, options: { pgMax?: number } = {}): Promise<string> {
  const url = await databaseFor(label)
  const spawn = (i: number): WorkerProcess =>
    startWorker(`w${i}`, { url, queue: label, capacity: CAPACITIES[i]!, leaseMs: LEASE_MS, pgMax: options.pgMax })
  const workers = CAPACITIES.map((_, i) => spawn(i))
  await Promise.all(workers.map((w) => w.ready))
  const connections = new pg.Pool({ connectionString: url, max: 4, connectionTimeoutMillis: 5_000 })
  connections.on('error', () => undefined) // an idle connection lost to the fault: the pool opens another
  const submitter = new ResourcePool<ChaosJob, number>({
    name: 'submitter',
    capacity: { gpu: 8, cpu: 8 },
    queue: new PostgresQueue<ChaosJob>(connections, { name: label, pollMs: 250, onError: () => undefined }),
    mailbox: new Mailbox<number>({ store: new PostgresMailboxStore<number>(connections, { name: label }) }),
    executor: () => {
      throw new Error('the submitter runs nothing')
    },
  })
  submitter.on('error', () => undefined) // faults it hears of in the background (a lost connection): counted by the accounting below
  submitter.pause()
  const query = async <T extends pg.QueryResultRow>(sql: string, params?: unknown[]): Promise<T[]> => {
    for (let tries = 0; ; tries++) {
      try {
        return (await connections.query<T>(sql, params)).rows
      } catch (error) {
        if (tries >= 50) throw error
        await new Promise((resolve) => setTimeout(resolve, 100))
      }
    }
  }
  const now = async (): Promise<number> =>
    Number((await query<{ t: number }>('select extract(epoch from clock_timestamp()) * 1000 as t'))[0]!.t)
  const scene: Scene = {
    url,
    workers,
    query,
    now,
    async nextRunAfter(since) {
      for (;;) {
        const rows = await query<{ t: number | null }>(
          'select extract(epoch from min(started_at)) * 1000 as t from runs where started_at > to_timestamp($1 / 1000.0)',
          [since],
        )
        if (rows[0]!.t !== null) return Number(rows[0]!.t)
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    async respawn(index) {
      workers[index] = spawn(index)
      await workers[index].ready
    },
  }

  const random = mulberry32(label.length * 7919)
  const accepted: { job: ChaosJob; handle: TaskHandle<number> }[] = []
  let refused = 0
  let producing = true
  let n = 0
  const producer = (async () => {
    while (producing) {
      const waiting = Number(
        (await query<{ n: number }>('select count(*)::int as n from pl_queue_jobs where queue_name = $1', [label]))[0]!.n,
      )
      if (waiting < 40) {
        const jobs = Array.from({ length: 10 }, (): ChaosJob => {
          const cost = { gpu: 1 + Math.floor(random() * 3), cpu: 1 + Math.floor(random() * 2) }
          return { n: n++, cost, ms: 150 + Math.floor(random() * 300) }
        })
        try {
          const handles = await submitter.submitAll(
            jobs.map((job) => ({ payload: job, options: { cost: job.cost, maxAttempts: 50, mailbox: { tenant: 't' } } })),
          )
          handles.forEach((handle, i) => accepted.push({ job: jobs[i]!, handle }))
        } catch {
          refused += jobs.length // not accepted: the fault refused the submit (its caller heard so)
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50))
    }
  })()

  const started = performance.now()
  const summary = await chaos(scene)
  producing = false
  await producer
  const results = await Promise.allSettled(accepted.map(({ handle }) => handle.result))
  const seconds = (performance.now() - started) / 1000

  const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [`${accepted[i]!.handle.id}: ${String(r.reason)}`] : []))
  expect(failures, workers.map((w) => w.output()).join('\n')).toEqual([])
  expect(results.map((r) => (r as PromiseFulfilledResult<number>).value)).toEqual(accepted.map(({ job }) => job.n))
  const messages = await query<{ task_id: string; n: number }>(
    'select task_id, count(*)::int as n from pl_mailbox_messages where mailbox_name = $1 group by task_id',
    [label],
  )
  expect(messages.length).toBe(accepted.length)
  expect(messages.every((m) => m.n === 1)).toBe(true)
  const runs = await query<{ task_id: string; attempts: number[] }>(
    'select task_id, array_agg(attempt order by started_at) as attempts from runs group by task_id',
  )
  const byTask = new Map(runs.map((r) => [r.task_id, r.attempts]))
  let repeated = 0
  for (const { handle } of accepted) {
    const attempts = byTask.get(handle.id) ?? []
    expect(attempts.length, `task ${handle.id} never ran`).toBeGreaterThan(0)
    // A run repeats only as a later attempt (a lease that expired), never the same attempt twice.
    expect(new Set(attempts).size).toBe(attempts.length)
    if (attempts.length > 1) repeated++
  }
  const { rows: left } = await connections.query<{ n: number }>('select count(*)::int as n from pl_queue_jobs where queue_name = $1', [
    label,
  ])
  expect(left[0]!.n).toBe(0)

  await submitter.close()
  await connections.end()
  const codes = await Promise.all(workers.map(stopWorker))
  expect(codes, workers.map((w) => w.output()).join('\n')).toEqual([0, 0, 0])
  const line = `${label}: ${summary}; ${accepted.length} tasks accepted (${refused} refused by the fault), all completed once, ${repeated} ran again as a later attempt; ${seconds.toFixed(1)} s`
  console.log(line)
  return line
}

const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN
const ms = (values: readonly number[]): string => `median ${Math.round(median(values))} ms, max ${Math.round(Math.max(...values))} ms`

describe('chaos on a shared PostgresQueue (three worker processes, leases of 1 s)', () => {
  it('SIGKILL a worker mid-task 20 times', async () => {
    await scenario('sigkill', async (scene) => {
      const recoveries: number[] = []
      for (let kill = 0; kill < 20; kill++) {
        const index = kill % scene.workers.length
        const worker = scene.workers[index]!
        // Mid-task: once this process has a run going (tasks take 150-450 ms).
        for (;;) {
          const rows = await scene.query<{ task_id: string }>(
            "select task_id from runs where pid = $1 and started_at > clock_timestamp() - interval '100 milliseconds'",
            [worker.child.pid],
          )
          if (rows.length > 0) break
          await new Promise((resolve) => setTimeout(resolve, 10))
        }
        worker.child.kill('SIGKILL')
        const killedAt = await scene.now()
        expect(await worker.exited).toBe('SIGKILL')
        await scene.respawn(index)
        // Recovered once a task it held runs again somewhere, as a later attempt (its lease expired).
        let recovered: number | undefined
        for (let waited = 0; recovered === undefined && waited < 10_000; waited += 20) {
          const rerun = await scene.query<{ t: number | null }>(
            'select extract(epoch from min(started_at)) * 1000 as t from runs where attempt > 1 and started_at > to_timestamp($1 / 1000.0)',
            [killedAt],
          )
          if (rerun[0]!.t !== null) recovered = Number(rerun[0]!.t) - killedAt
          else await new Promise((resolve) => setTimeout(resolve, 20))
        }
        expect(recovered, `no task of the killed worker ran again within 10 s of kill ${kill + 1}`).toBeDefined()
        recoveries.push(recovered!)
      }
      return `20 SIGKILLs, first re-run after a kill: ${ms(recoveries)}`
    })
  }, 240_000)

  it('pg_terminate_backend the workers’ connections 10 times', async () => {
    await scenario('terminate', async (scene) => {
      const recoveries: number[] = []
      let terminated = 0
      for (let round = 0; round < 10; round++) {
        await new Promise((resolve) => setTimeout(resolve, 600))
        const rows = await scene.query<{ ok: boolean }>(
          "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name like 'ppl-worker-%'",
        )
        terminated += rows.filter((r) => r.ok).length
        const at = await scene.now()
        recoveries.push((await scene.nextRunAfter(at)) - at)
      }
      return `10 rounds, ${terminated} connections terminated, next run start after each: ${ms(recoveries)}`
    })
  }, 240_000)

  it('restart Postgres (pg_ctl restart -m immediate) 3 times mid-run', async () => {
    await scenario('restart', async (scene) => {
      const recoveries: number[] = []
      for (let round = 0; round < 3; round++) {
        await new Promise((resolve) => setTimeout(resolve, 1_500))
        cluster.restart()
        const restartedAt = await scene.now()
        recoveries.push((await scene.nextRunAfter(restartedAt)) - restartedAt)
      }
      return `3 immediate restarts, next run start after each restart: ${ms(recoveries)}`
    })
  }, 240_000)

  it('exhaust the connections: pg.Pool of 2 per worker, and the server full for 2 s', async () => {
    await scenario(
      'exhaust',
      async (scene) => {
        await new Promise((resolve) => setTimeout(resolve, 1_000))
        const hogs: pg.Client[] = []
        let refusedAt: string | undefined
        while (refusedAt === undefined) {
          const client = new pg.Client({ connectionString: scene.url })
          try {
            await client.connect()
            hogs.push(client)
          } catch (error) {
            refusedAt = (error as Error).message
          }
        }
        await new Promise((resolve) => setTimeout(resolve, 2_000))
        await Promise.all(hogs.map((client) => client.end()))
        const freedAt = await scene.now()
        const recovery = (await scene.nextRunAfter(freedAt)) - freedAt
        return `server full for 2 s (${hogs.length} connections held, then "${refusedAt}"), next run start after freeing: ${Math.round(recovery)} ms`
      },
      { pgMax: 2 },
    )
  }, 240_000)
})
