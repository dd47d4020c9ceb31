// Pools sharing one PostgresQueue on a real Postgres 15: the store claims what fits each pool,
// and a submitter hears of its task (progress, end) wherever it ran. Pools here are in one
// process with a pg.Pool each, as processes would be; postgres.processes.test.ts runs real ones.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { TaskFailedError } from '../src/index.js'
import { PostgresQueue } from '../src/postgres/index.js'
import { migratePostgres } from '../src/postgres/client.js'
import { conformancePoolOn, describePoolConformance, type Job as ConformanceJob } from './conformance/pool.js'
import { freshDatabase } from './postgres/database.js'
import { sharedQueueBodies } from './shared-queue/bodies.js'
import { membersOn, type Job } from './shared-queue/members.js'

let url: string
let admin: pg.Pool
beforeAll(async () => {
  url = await freshDatabase('shared')
  admin = new pg.Pool({ connectionString: url, max: 2 })
  await migratePostgres(admin)
})
afterAll(() => admin.end())

let queueNo = 0
/** A pool on the shared queue `name`, with its own connections (as another process would have). */
const member = membersOn(
  () => url,
  (connections, name, pollMs) => new PostgresQueue<Job>(connections, { name, pollMs }),
)

describe('PostgresQueue: pools sharing one queue', () => {
  sharedQueueBodies({
    member,
    name: (label) => `${label}${++queueNo}`,
    stored: async (name) =>
      Number((await admin.query('select count(*)::int as n from pl_queue_jobs where queue_name = $1', [name])).rows[0].n),
  })

  it("fair share across machines: one tenant's flood does not make another's few tasks wait behind all of it", async () => {
    const name = `fair${++queueNo}`
    const policy = { fairShare: true }
    const submitter = member(name, { slots: 1 }, { paused: true, policy })
    const flood = await submitter.pool.submitAll(
      Array.from({ length: 40 }, (_, i) => ({ payload: { echo: `a${i}` }, options: { tenant: 'a' } })),
    )
    const few = await submitter.pool.submitAll(
      Array.from({ length: 4 }, (_, i) => ({ payload: { echo: `b${i}` }, options: { tenant: 'b' } })),
    )
    const ended: string[] = []
    const runners = [member(name, { slots: 1 }, { policy }), member(name, { slots: 1 }, { policy })]
    await Promise.all([...flood, ...few].map((h) => h.result.then((value) => ended.push(value))))
    // Plain order would end b's four last (41st to 44th); by usage they alternate with a's.
    const lastOfFew = Math.max(...['b0', 'b1', 'b2', 'b3'].map((b) => ended.indexOf(b)))
    expect(lastOfFew).toBeLessThan(20)
    expect(runners[0]!.ran.length + runners[1]!.ran.length).toBe(44)
    // The queue drained: usage is forgotten (by the charge after the last ack, which may follow its end's notification).
    const kept = async (): Promise<number> =>
      Number((await admin.query('select count(*)::int as n from pl_tenant_usage where queue_name = $1', [name])).rows[0].n)
    await expect.poll(kept, { timeout: 10_000 }).toBe(0)
  })

  it('fair share across machines counts a run while it runs (charged at each renewal), not only once it ended', async () => {
    const name = `fairlong${++queueNo}`
    const policy = { fairShare: true }
    const usageOf = async (tenant: string): Promise<number> =>
      Number(
        (await admin.query('select usage from pl_tenant_usage where queue_name = $1 and tenant = $2', [name, tenant])).rows[0]?.usage ?? 0,
      )
    const submitter = member(name, { slots: 1 }, { paused: true, policy })
    const first = member(name, { slots: 1 }, { policy, leaseMs: 300 })
    const long = await submitter.pool.submit({ hold: 'a long' }, { tenant: 'a' })
    await expect.poll(() => first.ran, { timeout: 10_000 }).toEqual(['a long'])
    await expect.poll(() => usageOf('a'), { timeout: 10_000 }).toBeGreaterThan(0)
    const a2 = await submitter.pool.submit({ echo: 'a2' }, { tenant: 'a' })
    const b1 = await submitter.pool.submit({ echo: 'b1' }, { tenant: 'b' })
    // b enrolled at the least usage of the active tenants (a's); a's keeps growing while it runs.
    const enrolled = await usageOf('b')
    await expect.poll(() => usageOf('a'), { timeout: 10_000 }).toBeGreaterThan(enrolled)
    const second = member(name, { slots: 1 }, { policy })
    await Promise.all([a2.result, b1.result])
    expect(second.ran).toEqual(['b1', 'a2'])
    first.release('a long')
    expect(await long.result).toBe('a long')
  })

  it('aging across machines: a low task waiting longer than agingMs per level is claimed before newer high ones', async () => {
    const name = `aging${++queueNo}`
    const policy = { agingMs: 1_000 }
    const submitter = member(name, { slots: 1 }, { paused: true, policy })
    const old = await submitter.pool.submit({ echo: 'old low' }, { priority: 'low' })
    // As if inserted 5 s ago by the database's clock (and submitted then, for the runner's own lot).
    await admin.query(
      `update pl_queue_jobs set enqueued_at = enqueued_at - 5000, submitted_at = submitted_at - 5000 where queue_name = $1`,
      [name],
    )
    const fresh = await submitter.pool.submitAll(
      ['h1', 'h2'].map((echo) => ({ payload: { echo }, options: { priority: 'high' as const } })),
    )
    const runner = member(name, { slots: 1 }, { policy })
    await Promise.all([old.result, ...fresh.map((h) => h.result)])
    expect(runner.ran).toEqual(['old low', 'h1', 'h2'])
  })

  it('a task whose owner died on its last attempt ends as failed (crashed) when a claimer finds it', async () => {
    const name = `spent${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const handle = await submitter.pool.submit({ echo: 'x' }, { maxAttempts: 1 })
    // As if a process claimed it and died: the attempt is spent, its lease over.
    await admin.query(`update pl_queue_jobs set attempt = 1, lease_owner = 'dead', lease_expires_at = 0 where queue_name = $1`, [name])
    member(name, { slots: 1 })
    const error = await handle.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'crashed' })
  })

  it('a lease that expires (its owner stopped renewing) lets another pool run the task again, as attempt 2', async () => {
    const name = `expire${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const handle = await submitter.pool.submit({ echo: 'again' }, { maxAttempts: 2 })
    await admin.query(`update pl_queue_jobs set attempt = 1, lease_owner = 'dead', lease_expires_at = 0 where queue_name = $1`, [name])
    const runner = member(name, { slots: 1 })
    const started = new Promise<number>((resolve) => runner.pool.once('started', ({ attempt }) => resolve(attempt)))
    expect(await handle.result).toBe('again')
    expect(await started).toBe(2)
  })

  it('a run whose lease was taken over is stopped at its next renewal, its units freed; the task runs again as a later attempt', async () => {
    const name = `stolen${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const runner = member(name, { slots: 1 }, { leaseMs: 600 })
    const handle = await submitter.pool.submit({ hold: 'x' }, { maxAttempts: 5 })
    await expect.poll(() => runner.ran).toEqual(['x'])
    // Another claimer took it over (as after a pause longer than the lease) and then died.
    await admin.query(
      `update pl_queue_jobs set lease_owner = 'thief', attempt = attempt + 1,
         lease_expires_at = extract(epoch from clock_timestamp()) * 1000 + 300 where queue_name = $1`,
      [name],
    )
    // The old run is aborted (else its slot stays held and nothing can run again) and the task runs anew.
    await expect.poll(() => runner.ran, { timeout: 5_000 }).toEqual(['x', 'x'])
    runner.release('x')
    expect(await handle.result).toBe('x')
    const started = await admin.query<{ n: number }>('select count(*)::int as n from pl_queue_jobs where queue_name = $1', [name])
    expect(started.rows[0]!.n).toBe(0)
  })

  it('close() lets claimed tasks that never started wait again, their attempt not counted', async () => {
    const name = `closing${++queueNo}`
    const runner = member(name, { slots: 1 })
    await runner.pool.submitAll([{ payload: { hold: 'first' } }, { payload: { echo: 'second' } }])
    await expect.poll(() => runner.ran).toEqual(['first'])
    runner.release('first')
    await runner.pool.close()
    const { rows } = await admin.query<{ lease_owner: string | null; attempt: number }>(
      'select lease_owner, attempt from pl_queue_jobs where queue_name = $1',
      [name],
    )
    expect(rows).toEqual([{ lease_owner: null, attempt: 0 }])
  })
})

describePoolConformance('ResourcePool on a PostgresQueue (one pool on the queue)', async () => {
  const connections = new pg.Pool({ connectionString: url, max: 4 })
  return conformancePoolOn(new PostgresQueue<ConformanceJob>(connections, { name: `conformance${++queueNo}` }), () => connections.end())
})
