// A worker process on a shared PostgresQueue, for the multi-process and chaos tests: a pool with
// the capacity it is given, whose executor checks from inside that the units its running tasks
// hold never exceed that capacity, and records every run (task, attempt, worker) in `runs`.
// Run with: node --import tsx test/postgres/worker-process.ts (settings in PPL_* variables).
import pg from 'pg'
import { Mailbox, ResourcePool } from '../../src/index.js'
import { PostgresMailboxStore, PostgresQueue } from '../../src/postgres/index.js'

export interface ChaosJob {
  readonly n: number
  readonly cost: Record<string, number>
  /** How long the run takes. */
  readonly ms: number
}

const env = (name: string): string => {
  const value = process.env[name]
  if (value === undefined) throw new Error(`${name} is not set`)
  return value
}

const worker = env('PPL_WORKER')
const capacity = JSON.parse(env('PPL_CAPACITY')) as Record<string, number>
const connections = new pg.Pool({
  connectionString: env('PPL_URL'),
  max: Number(process.env['PPL_PG_MAX'] ?? 6),
  application_name: `ppl-worker-${worker}`,
  connectionTimeoutMillis: 5_000,
})
// A connection lost while idle in the pool (a terminated backend, a restart) is only dropped.
connections.on('error', (error) => console.error(`[${worker}] idle connection lost: ${error.message}`))

const using: Record<string, number> = {}
const queue = new PostgresQueue<ChaosJob>(connections, {
  name: env('PPL_QUEUE'),
  pollMs: 250,
  onError: (e) => console.error(`[${worker}]`, e),
})
const pool = new ResourcePool<ChaosJob, number>({
  name: worker,
  capacity,
  queue,
  mailbox: new Mailbox<number>({ store: new PostgresMailboxStore<number>(connections, { name: env('PPL_QUEUE') }) }),
  leaseMs: Number(env('PPL_LEASE_MS')),
  executor: async (job, ctx) => {
    for (const [resource, units] of Object.entries(job.cost)) {
      using[resource] = (using[resource] ?? 0) + units
      if (using[resource] > (capacity[resource] ?? 0)) {
        console.error(`VIOLATION ${worker}: ${resource} ${using[resource]} > ${capacity[resource]}`)
        process.exit(3)
      }
    }
    try {
      await connections.query('insert into runs (task_id, attempt, worker, pid) values ($1, $2, $3, $4)', [
        ctx.task.id,
        ctx.attempt,
        worker,
        process.pid,
      ])
      await new Promise<void>((resolve, reject) => {
        const timer = setTimeout(resolve, job.ms)
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer)
          reject(ctx.signal.reason as Error)
        })
      })
      return job.n
    } finally {
      for (const [resource, units] of Object.entries(job.cost)) using[resource]! -= units
    }
  },
})
pool.on('error', ({ error, context }) => console.error(`[${worker}] ${context}: ${(error as Error).message}`))
await pool.ready
console.log('ready')
process.on('SIGTERM', () => {
  void pool
    .close()
    .then(() => connections.end())
    .then(() => process.exit(0))
})
