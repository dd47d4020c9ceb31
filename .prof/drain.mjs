// Drain profile with pg_stat_statements: ours (or graphile) on a cluster with the extension.
import { spawn } from 'node:child_process'
import { createInterface } from 'node:readline'
import pg from 'pg'
import { startCluster } from '../test/postgres/cluster.ts'
const who = process.argv[2] ?? 'ours' // or graphile-worker
const N = Number(process.env.N ?? 50000)
const cluster = await startCluster()
{ const c = new pg.Client(cluster.url); await c.connect(); await c.query("alter system set shared_preload_libraries = 'pg_stat_statements'"); await c.end() }
cluster.restart()
const admin = new pg.Pool({ connectionString: cluster.url, max: 2 })
await admin.query('create extension pg_stat_statements')
const settings = who === 'ours' ? { capacity: { slots: 16 }, prefetch: Number(process.env.PREFETCH ?? 500), debounceMs: 0, pgMax: 8 } : { concurrency: 16, localQueueSize: 500, completeJobBatchDelay: 0 }
const url = cluster.url
if (who === 'ours') {
  const { ResourcePool } = await import('../dist/index.js')
  const { PostgresQueue } = await import('../dist/postgres.js')
  const c = new pg.Pool({ connectionString: url, max: 8 })
  const pool = new ResourcePool({ name: 'p', capacity: { slots: 16 }, maxQueueDepth: Infinity, queue: new PostgresQueue(c, { name: 'bench' }), executor: () => { throw new Error('x') } })
  pool.pause(); await pool.ready
  for (let i = 0; i < N; i += 1000) await pool.submitAll(Array.from({ length: 1000 }, (_, j) => ({ payload: { n: i + j }, options: { cost: { slots: 1 } } })))
  await pool.close(); await c.end()
} else {
  const { makeWorkerUtils } = await import('graphile-worker')
  const utils = await makeWorkerUtils({ connectionString: url }); await utils.migrate()
  for (let i = 0; i < N; i += 1000) await utils.addJobs(Array.from({ length: 1000 }, (_, j) => ({ identifier: 'job', payload: { n: i + j } })))
  await utils.release()
}
await admin.query('select pg_stat_statements_reset()')
const left = async () => who === 'ours' ? Number((await admin.query('select count(*)::int as n from pl_queue_jobs')).rows[0].n) : Number((await admin.query('select count(*)::int as n from graphile_worker.jobs')).rows[0].n)
const workers = [0, 1].map(() => {
  const child = spawn(process.execPath, [new URL('../bench/postgres-worker.mjs', import.meta.url).pathname, who, url, 'bench', JSON.stringify(settings)], { stdio: ['pipe', 'pipe', 'inherit'] })
  const lines = createInterface({ input: child.stdout })
  const ready = new Promise((resolve) => lines.on('line', (l) => l === 'ready' && resolve()))
  return { child, ready }
})
await Promise.all(workers.map((w) => w.ready))
const t0 = performance.now()
for (const w of workers) w.child.stdin.write('go\n')
while ((await left()) > 0) await new Promise((r) => setTimeout(r, 25))
const s = (performance.now() - t0) / 1000
console.log(who, 'drain', (N / s).toFixed(0), 'jobs/s')
const { rows } = await admin.query(`select calls, round(total_exec_time::numeric, 0) as ms, round((total_exec_time / calls)::numeric, 2) as per, rows, left(regexp_replace(query, '\\s+', ' ', 'g'), 110) as q from pg_stat_statements order by total_exec_time desc limit 12`)
console.table(rows)
for (const w of workers) w.child.stdin.write('stop\n')
await Promise.all(workers.map((w) => new Promise((r) => w.child.once('exit', r))))
await admin.end(); cluster.stop()
