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
const ids = (await c.query("select id, attempt from pl_queue_jobs order by seq limit 600")).rows
await c.query("update pl_queue_jobs set lease_owner = 'me' where id = any($1)", [ids.map((r) => r.id)])
const sql = process.env.SQL
const cl = await c.connect(); if (process.env.OFF) await cl.query(process.env.OFF)
const plan = await cl.query(`explain (analyze, buffers) with ends as (
       select * from unnest($2::text[], $3::int[], $5::text[], $6::text[], $7::float8[]) as e(id, attempt, status, outcome, ended_at)),
     done as (
       delete from pl_queue_jobs as j
       where j.queue_name = $1 and j.id = any($2::text[]) and j.lease_owner = $4
         and (j.id || ':' || j.attempt) = any($9::text[])
       returning j.id, j.submitter),
     told as (
       insert into pl_queue_outcomes (queue_name, task_id, submitter, status, outcome, ended_at)
       select $1, d.id, d.submitter, e.status, e.outcome, e.ended_at
       from done as d join ends as e on e.id = d.id
       where e.outcome is not null and d.submitter is not null
       on conflict (queue_name, task_id) do nothing
       returning submitter),
     notified as (select count(pg_notify($8, s)) as n from (select distinct submitter as s from told) as t)
     select id from done, notified`, ['bench', ids.map((r) => r.id), ids.map((r) => r.attempt), 'me', ids.map(() => 'completed'), ids.map(() => null), ids.map(() => 1), 'pl_queue_outcome', ids.map((r) => `${r.id}:${r.attempt}`)])
console.log(plan.rows.map((r) => r['QUERY PLAN'].slice(0, 160)).join('\n')); cl.release()
await c.end(); cluster.stop()
