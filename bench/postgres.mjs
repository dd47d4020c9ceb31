// npm run bench -- postgres: a shared Postgres queue, ours against graphile-worker 0.17.3 and
// pg-boss 10, on one throwaway Postgres 15 cluster in the same run, two worker processes each
// (bench/postgres-worker.mjs). Each contender's configuration is printed with its rows.
//
//   drain       50,000 jobs prefilled, then the workers go: jobs/s until none is left
//   end-to-end  producers add one job at a time (64 at once) while the workers run: jobs/s
//   latency     one producer adds a job every 2 ms: add-to-start p50 / p99 (same machine clock)
//   costs       ours alone, random { gpu, cpu } costs (neither peer can say "this job needs 3 gpu units")
//
// Run with: node --import tsx bench/postgres.mjs (npm run bench does).
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { startCluster } from '../test/postgres/cluster.ts'
import { mulberry32 } from './random.mjs'

const DRAIN = Number(process.env.BENCH_PG_DRAIN ?? 50_000)
const E2E = Number(process.env.BENCH_PG_E2E ?? 20_000)
// Producers at once, each adding one job at a time and waiting for it (a gateway's concurrent requests).
const PRODUCERS = Number(process.env.BENCH_PG_PRODUCERS ?? 64)
const LATENCY = Number(process.env.BENCH_PG_LATENCY ?? 1_000)

const CONTENDERS = {
  ours: {
    describe:
      'ResourcePool + PostgresQueue, capacity { slots: 16 } per process, prefetch 1000 (it claims again at half, so a claim takes about 500, as a localQueue of 500 fetches), NOTIFY debounce 0 (one wake per event-loop turn), pg pool 8',
    settings: { capacity: { slots: 16 }, prefetch: Number(process.env.BENCH_PG_PREFETCH ?? 1000), debounceMs: 0, pgMax: 8 },
  },
  'graphile-worker': {
    describe:
      'graphile-worker 0.17.3, concurrency 16 per process, localQueue.size 500, completeJobBatchDelay/failJobBatchDelay 10 ms (measured best of 0, 10, 50, 100: 30.9k, 31.8k, 31.1k, 31.1k jobs/s draining), no named queues',
    settings: { concurrency: 16, localQueueSize: 500, completeJobBatchDelay: 10 },
  },
  'pg-boss': {
    describe: 'pg-boss 10, 4 work() loops per process, batchSize 50, pollingIntervalSeconds 0.5 (its shortest)',
    settings: { loops: 4, batchSize: 50, pollingIntervalSeconds: 0.5, pgMax: 8 },
  },
}

const cluster = await startCluster()
const admin = new pg.Pool({ connectionString: cluster.url, max: 4 })
let dbNo = 0

async function freshDatabase() {
  const name = `bench_${++dbNo}`
  await admin.query(`create database ${name}`)
  const url = new URL(cluster.url)
  url.pathname = `/${name}`
  return url.toString()
}

function startWorker(contender, url, queue, settings) {
  const child = spawn(
    process.execPath,
    [new URL('./postgres-worker.mjs', import.meta.url).pathname, contender, url, queue, JSON.stringify(settings)],
    {
      stdio: ['pipe', 'pipe', 'inherit'],
    },
  )
  const lines = createInterface({ input: child.stdout })
  const waiters = []
  let latencies
  lines.on('line', (line) => {
    if (line.startsWith('latencies ')) latencies = JSON.parse(line.slice('latencies '.length))
    for (const waiter of waiters.splice(0)) waiter(line)
  })
  const next = (prefix) =>
    new Promise((resolve) => {
      const check = (line) => (line.startsWith(prefix) ? resolve(line) : waiters.push(check))
      waiters.push(check)
    })
  const exited = new Promise((resolve) => child.once('exit', resolve))
  return {
    ready: next('ready'),
    go: () => child.stdin.write('go\n'),
    async stop() {
      child.stdin.write('stop\n')
      await exited
      return latencies ?? []
    },
  }
}

/** The contender's API for adding jobs and counting what is left, in this process. */
async function client(contender, url, queue) {
  if (contender === 'ours') {
    const { ResourcePool } = await import('../dist/index.js')
    const { PostgresQueue } = await import('../dist/postgres.js')
    const connections = new pg.Pool({ connectionString: url, max: 8 })
    const pool = new ResourcePool({
      name: 'producer',
      capacity: { slots: 16, gpu: 8, cpu: 16 },
      maxQueueDepth: Infinity,
      queue: new PostgresQueue(connections, { name: queue }),
      executor: () => {
        throw new Error('the producer runs nothing')
      },
    })
    pool.pause()
    await pool.ready
    return {
      addMany: async (payloads, cost) => {
        for (let i = 0; i < payloads.length; i += 1000) {
          await pool.submitAll(
            payloads.slice(i, i + 1000).map((payload, j) => ({ payload, options: { cost: cost?.(i + j) ?? { slots: 1 } } })),
          )
        }
      },
      addOne: (payload) => pool.submit(payload, { cost: { slots: 1 } }),
      // A producer that is done closes its pool: nobody waits for those ends, so no runner writes them.
      doneAdding: () => pool.close(),
      left: async () =>
        Number((await connections.query('select count(*)::int as n from pl_queue_jobs where queue_name = $1', [queue])).rows[0].n),
      close: async () => {
        await pool.close()
        await connections.end()
      },
    }
  }
  if (contender === 'graphile-worker') {
    const { makeWorkerUtils } = await import('graphile-worker')
    const utils = await makeWorkerUtils({ connectionString: url })
    await utils.migrate()
    const connections = new pg.Pool({ connectionString: url, max: 2 })
    return {
      addMany: async (payloads) => {
        for (let i = 0; i < payloads.length; i += 1000)
          await utils.addJobs(payloads.slice(i, i + 1000).map((payload) => ({ identifier: 'job', payload })))
      },
      addOne: (payload) => utils.addJob('job', payload),
      doneAdding: async () => {},
      left: async () => Number((await connections.query('select count(*)::int as n from graphile_worker.jobs')).rows[0].n),
      close: async () => {
        await utils.release()
        await connections.end()
      },
    }
  }
  const { default: PgBoss } = await import('pg-boss')
  const boss = new PgBoss({ connectionString: url, max: 8, supervise: false, schedule: false })
  boss.on('error', (error) => console.error('pg-boss:', error.message))
  await boss.start()
  await boss.createQueue(queue)
  const connections = new pg.Pool({ connectionString: url, max: 2 })
  return {
    addMany: async (payloads) => {
      for (let i = 0; i < payloads.length; i += 1000) await boss.insert(payloads.slice(i, i + 1000).map((data) => ({ name: queue, data })))
    },
    addOne: (payload) => boss.send(queue, payload),
    doneAdding: async () => {},
    left: async () =>
      Number(
        (
          await connections.query("select count(*)::int as n from pgboss.job where name = $1 and state in ('created', 'retry', 'active')", [
            queue,
          ])
        ).rows[0].n,
      ),
    close: async () => {
      await boss.stop({ graceful: false })
      await connections.end()
    },
  }
}

async function untilEmpty(api) {
  while ((await api.left()) > 0) await new Promise((resolve) => setTimeout(resolve, 25))
}

/** One scenario for one contender on a fresh database: answers { seconds, latencies }. */
async function measure(contender, settings, scenario) {
  const url = await freshDatabase()
  const queue = 'bench'
  const api = await client(contender, url, queue)
  const workers = [0, 1].map(() => startWorker(contender, url, queue, settings))
  await Promise.all(workers.map((w) => w.ready))
  const result = await scenario(api, workers)
  const latencies = (await Promise.all(workers.map((w) => w.stop()))).flat()
  await api.close()
  return { ...result, latencies }
}

async function drain(api, workers, cost) {
  await api.addMany(
    Array.from({ length: DRAIN }, (_, n) => ({ n })),
    cost,
  )
  await api.doneAdding()
  const t0 = performance.now()
  for (const w of workers) w.go()
  await untilEmpty(api)
  return { rate: DRAIN / ((performance.now() - t0) / 1000) }
}

async function endToEnd(api, workers) {
  for (const w of workers) w.go()
  const t0 = performance.now()
  let n = 0
  await Promise.all(
    Array.from({ length: PRODUCERS }, async () => {
      while (n < E2E) await api.addOne({ n: n++ })
    }),
  )
  await untilEmpty(api)
  return { rate: E2E / ((performance.now() - t0) / 1000) }
}

async function latency(api, workers) {
  for (const w of workers) w.go()
  await new Promise((resolve) => setTimeout(resolve, 500)) // the workers are up and idle
  for (let n = 0; n < LATENCY; n++) {
    await api.addOne({ n, t: Date.now() })
    await new Promise((resolve) => setTimeout(resolve, 2))
  }
  await untilEmpty(api)
  return {}
}

const quantile = (xs, q) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(q * xs.length))]
const fmt = (x) => (x >= 1000 ? `${(x / 1000).toFixed(1)}k` : x.toFixed(0))

console.log(
  `\nShared Postgres queue (Postgres 15 on this machine, 2 worker processes per contender; end-to-end: ${E2E} jobs from ${PRODUCERS} producers adding one at a time)`,
)
for (const [name, { describe }] of Object.entries(CONTENDERS)) console.log(`  ${name}: ${describe}`)

const rows = {}
// BENCH_PG_ONLY=ours (say) runs one contender, for profiling.
const only = process.env.BENCH_PG_ONLY
for (const [name, { settings }] of Object.entries(CONTENDERS).filter(([name]) => only === undefined || name === only)) {
  const drained = await measure(name, settings, drain)
  const e2e = await measure(name, settings, endToEnd)
  const lat = await measure(name, settings, latency)
  rows[name] = { drain: drained.rate, e2e: e2e.rate, p50: quantile(lat.latencies, 0.5), p99: quantile(lat.latencies, 0.99) }
}
const ours = rows.ours ?? rows[only]
console.log(
  `\n  ${'contender'.padEnd(16)} ${'drain jobs/s'.padStart(13)} ${'e2e jobs/s'.padStart(11)} ${'start p50'.padStart(10)} ${'p99'.padStart(7)}   ours / it (drain, e2e; latency it / ours)`,
)
for (const [name, row] of Object.entries(rows)) {
  const ratios =
    name === 'ours'
      ? ''
      : `${(ours.drain / row.drain).toFixed(2)}x, ${(ours.e2e / row.e2e).toFixed(2)}x; p50 ${(row.p50 / Math.max(ours.p50, 0.5)).toFixed(1)}x`
  console.log(
    `  ${name.padEnd(16)} ${fmt(row.drain).padStart(13)} ${fmt(row.e2e).padStart(11)} ${`${row.p50} ms`.padStart(10)} ${`${row.p99} ms`.padStart(7)}   ${ratios}`,
  )
}

const random = mulberry32(42)
const costs = Array.from({ length: DRAIN }, () => ({ gpu: 1 + Math.floor(random() * 3), cpu: 1 + Math.floor(random() * 4) }))
const costed = await measure('ours', { ...CONTENDERS.ours.settings, capacity: { gpu: 8, cpu: 16 } }, (api, workers) =>
  drain(api, workers, (i) => costs[i]),
)
// The same drain holding no more claimed tasks than graphile-worker's localQueue (claims of about 250).
const small = await measure('ours', { ...CONTENDERS.ours.settings, prefetch: 500 }, drain)
console.log(`  ours with prefetch 500 (holds at most as many as graphile-worker's localQueue): drain ${fmt(small.rate)} jobs/s`)
console.log(
  `  ours, random { gpu 1-3, cpu 1-4 } costs on { gpu: 8, cpu: 16 } per process: drain ${fmt(costed.rate)} jobs/s (neither peer can express this)`,
)

await admin.end()
cluster.stop()
