import pg from 'pg'
import { startCluster } from '../test/postgres/cluster.ts'
const cluster = await startCluster()
const { ResourcePool } = await import('../dist/index.js')
const { PostgresQueue } = await import('../dist/postgres.js')
const N = Number(process.env.N ?? 4000)
async function run(label, add, close) {
  const t0 = performance.now(); let n = 0
  await Promise.all(Array.from({ length: 4 }, async () => { while (n < N) await add({ n: n++ }) }))
  const rate = N / ((performance.now() - t0) / 1000)
  console.log(label, rate.toFixed(0), 'adds/s')
  await close?.()
}
{
  const connections = new pg.Pool({ connectionString: cluster.url, max: 8 })
  const pool = new ResourcePool({ name: 'p', capacity: { slots: 16 }, maxQueueDepth: Infinity, queue: new PostgresQueue(connections, { name: 'q' }), executor: () => { throw new Error('x') } })
  pool.pause(); await pool.ready
  await run('ours submit', (p) => pool.submit(p, { cost: { slots: 1 } }))
  await pool.close(); await connections.end()
}
{
  const connections = new pg.Pool({ connectionString: cluster.url, max: 8 })
  await connections.query('create table t (id bigserial primary key, payload jsonb)')
  await run('raw insert', (p) => connections.query('insert into t (payload) values ($1)', [p]))
  await connections.end()
}
{
  const { makeWorkerUtils } = await import('graphile-worker')
  const utils = await makeWorkerUtils({ connectionString: cluster.url })
  await utils.migrate()
  await run('graphile addJob', (p) => utils.addJob('job', p), () => utils.release())
}
cluster.stop()
