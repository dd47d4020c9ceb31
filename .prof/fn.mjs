import pg from 'pg'
import { startCluster } from '../test/postgres/cluster.ts'
const cluster = await startCluster()
const { ResourcePool } = await import('../dist/index.js')
const { PostgresQueue } = await import('../dist/postgres.js')
const c = new pg.Pool({ connectionString: cluster.url, max: 8 })
const pool = new ResourcePool({ name: 'p', capacity: { slots: 16 }, maxQueueDepth: Infinity, queue: new PostgresQueue(c, { name: 'bench' }), executor: () => { throw new Error('x') } })
pool.pause(); await pool.ready
for (let i = 0; i < 50000; i += 1000) await pool.submitAll(Array.from({ length: 1000 }, (_, j) => ({ payload: { n: i + j }, options: { cost: { slots: 1 } } })))
await pool.close()
await c.query(`create function ack_loop(q text, ids text[], attempts int[], owner text) returns setof text language plpgsql as $$
declare i int; r text; begin
  for i in 1 .. cardinality(ids) loop
    delete from pl_queue_jobs where queue_name = q and id = ids[i] and attempt = attempts[i] and lease_owner = owner returning id into r;
    if r is not null then return next r; end if;
  end loop; end $$`)
await c.query("update pl_queue_jobs set lease_owner = 'me'")
for (let round = 0; round < 5; round++) {
  const ids = (await c.query("select id, attempt from pl_queue_jobs order by seq limit 600")).rows
  const t0 = performance.now()
  const r = await c.query('select * from ack_loop($1, $2, $3, $4)', ['bench', ids.map((r) => r.id), ids.map((r) => r.attempt), 'me'])
  const t1 = performance.now()
  const ids2 = (await c.query("select id, attempt from pl_queue_jobs order by seq limit 600")).rows
  const t2 = performance.now()
  const r2 = await c.query(`delete from pl_queue_jobs as j where j.queue_name = $1 and j.id = any($2::text[]) and j.lease_owner = $4 and (j.id || ':' || j.attempt) = any($3::text[]) returning id`, ['bench', ids2.map((r) => r.id), ids2.map((r) => `${r.id}:${r.attempt}`), 'me'])
  const t3 = performance.now()
  console.log('loop', r.rows.length, (t1 - t0).toFixed(1), 'ms; any', r2.rows.length, (t3 - t2).toFixed(1), 'ms')
}
await c.end(); cluster.stop()
