// One worker process of the Postgres benchmark (bench/postgres.mjs): ours, graphile-worker or
// pg-boss, as configured there. Prints `ready` once connected, starts taking jobs on `go` (stdin),
// and on `stop` prints its add-to-start latencies (ms, for jobs that carry `t`) as JSON, then exits.
import { createInterface } from 'node:readline'
import pg from 'pg'

const [contender, url, queue, settingsJson] = process.argv.slice(2)
const settings = JSON.parse(settingsJson)
const latencies = []
const started = (payload) => {
  if (typeof payload?.t === 'number') latencies.push(Date.now() - payload.t)
}

let go
let stop
if (contender === 'ours') {
  const { ResourcePool } = await import('../dist/index.js')
  const { PostgresQueue } = await import('../dist/postgres.js')
  const connections = new pg.Pool({ connectionString: url, max: settings.pgMax })
  const pool = new ResourcePool({
    name: queue,
    capacity: settings.capacity,
    queue: new PostgresQueue(connections, { name: queue, debounceMs: settings.debounceMs, prefetch: settings.prefetch }),
    // Async, as graphile-worker's and pg-boss's handlers are.
    executor: async (payload) => {
      started(payload)
      return 1
    },
  })
  pool.pause()
  await pool.ready
  go = () => pool.resume()
  stop = async () => {
    await pool.close()
    await connections.end()
  }
} else if (contender === 'graphile-worker') {
  const { run } = await import('graphile-worker')
  let runner
  go = async () => {
    runner = await run({
      connectionString: url,
      concurrency: settings.concurrency,
      noHandleSignals: true,
      pollInterval: 2000,
      logger: undefined,
      taskList: { job: async (payload) => started(payload) },
      preset: {
        worker: {
          localQueue: { size: settings.localQueueSize },
          completeJobBatchDelay: settings.completeJobBatchDelay,
          failJobBatchDelay: settings.completeJobBatchDelay,
        },
      },
    })
  }
  stop = async () => runner?.stop()
} else if (contender === 'pg-boss') {
  const { default: PgBoss } = await import('pg-boss')
  const boss = new PgBoss({ connectionString: url, max: settings.pgMax, supervise: false, schedule: false })
  boss.on('error', (error) => console.error('pg-boss:', error.message))
  await boss.start()
  go = async () => {
    for (let i = 0; i < settings.loops; i++) {
      await boss.work(queue, { batchSize: settings.batchSize, pollingIntervalSeconds: settings.pollingIntervalSeconds }, async (jobs) => {
        for (const job of jobs) started(job.data)
      })
    }
  }
  stop = () => boss.stop({ graceful: true, wait: true })
} else {
  throw new Error(`unknown contender ${contender}`)
}

console.log('ready')
for await (const line of createInterface({ input: process.stdin })) {
  if (line === 'go') await go()
  if (line === 'stop') {
    await stop()
    console.log(`latencies ${JSON.stringify(latencies)}`)
    process.exit(0)
  }
}
