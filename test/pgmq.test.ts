// PgmqQueue on the run's Postgres 15 with the pgmq extension (installed into the cluster from
// @electric-sql/pglite-pgmq's files) and on PGlite with @electric-sql/pglite-pgmq: pools sharing
// one queue in one process, each with its own connections, as processes would be.
import { PGlite } from '@electric-sql/pglite'
import { pgmq } from '@electric-sql/pglite-pgmq'
import pg from 'pg'
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest'
import { InvalidOptionError, QueueFullError, ResourcePool, TaskCancelledError, TaskFailedError, type CostInput } from '../src/index.js'
import { PgmqQueue } from '../src/pgmq/index.js'
import { describePoolConformance, jobRunner, type Job as ConformanceJob } from './conformance/pool.js'
import { freshDatabase } from './postgres/database.js'
import { progressOf, sharedMember, type Job, type Member, type MemberOptions } from './shared-queue/members.js'

const pgmqMissing = inject('pgmqMissing')
if (pgmqMissing !== '') console.warn(`Skipping the PgmqQueue tests on Postgres: ${pgmqMissing}`)

let url: string
let admin: pg.Pool
beforeAll(async () => {
  url = await freshDatabase('pgmq')
  admin = new pg.Pool({ connectionString: url, max: 2 })
})
afterAll(() => admin.end())

const members: Member[] = []
let queueNo = 0
afterEach(async () => {
  for (const member of members.splice(0)) await member.dispose()
})

function member(name: string, capacity: Record<string, number>, options: MemberOptions = {}): Member {
  const connections = new pg.Pool({ connectionString: url, max: 4 })
  const made = sharedMember(new PgmqQueue<Job>(connections, { name, pollMs: 200 }), name, capacity, options, () => connections.end())
  members.push(made)
  return made
}

const count = async (queue: string): Promise<number> => {
  const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from pgmq."q_${queue}"`)
  return rows[0]!.n
}

describe.skipIf(pgmqMissing !== '')('PgmqQueue on Postgres: pools sharing one queue', () => {
  it('runs what one pool submits; the queue is empty after', async () => {
    const name = `solo${++queueNo}`
    const { pool, ran } = member(name, { slots: 2 })
    const handles = await pool.submitAll(['a', 'b', 'c'].map((echo) => ({ payload: { echo } })))
    expect(await Promise.all(handles.map((h) => h.result))).toEqual(['a', 'b', 'c'])
    expect(ran.sort()).toEqual(['a', 'b', 'c'])
    await pool.onIdle()
    expect(await count(`${name}_normal`)).toBe(0)
  })

  it('a task submitted by one pool runs on another; the submitter gets progress and the result through its reply queue', async () => {
    const name = `pair${++queueNo}`
    const submitter = member(name, { slots: 2 }, { paused: true })
    const runner = member(name, { slots: 2 })
    const handle = await submitter.pool.submit({ hold: 'remote' })
    const chunks = progressOf(handle)
    await expect.poll(() => runner.ran).toEqual(['remote'])
    runner.release('remote')
    expect(await handle.result).toBe('remote')
    expect(await chunks).toEqual(['holding remote'])
    expect(submitter.ran).toEqual([])
  })

  it('reads the priority queues highest first', async () => {
    const name = `prio${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const priorities = ['low', 'normal', 'critical', 'high', 'low', 'critical'] as const
    const handles = await submitter.pool.submitAll(
      priorities.map((priority, i) => ({ payload: { echo: `${priority}${i}` }, options: { priority } })),
    )
    const runner = member(name, { slots: 1 })
    await Promise.all(handles.map((h) => h.result))
    expect(runner.ran).toEqual(['critical2', 'critical5', 'high3', 'normal1', 'low0', 'low4'])
  })

  it('each pool takes only what fits its free units, per resource; a task over a pool’s capacity runs on one it fits', async () => {
    const name = `fit${++queueNo}`
    const submitter = member(name, { gpu: 8, cpu: 8 }, { paused: true })
    const small = member(name, { gpu: 2, cpu: 4 })
    const big = member(name, { gpu: 8, cpu: 1 })
    const costs: CostInput[] = Array.from({ length: 40 }, (_, i) => (i % 3 === 0 ? { gpu: 5, cpu: 1 } : { gpu: 1, cpu: 2 }))
    const handles = await submitter.pool.submitAll(costs.map((cost, i) => ({ payload: { echo: `t${i}`, cost }, options: { cost } })))
    expect((await Promise.all(handles.map((h) => h.result))).sort()).toEqual(costs.map((_, i) => `t${i}`).sort())
    expect(small.peak['gpu']).toBeLessThanOrEqual(2)
    expect(small.peak['cpu']).toBeLessThanOrEqual(4)
    expect(big.peak['gpu']).toBeLessThanOrEqual(8)
    expect(big.peak['cpu']).toBeLessThanOrEqual(1)
    const gpu5 = costs.flatMap((cost, i) => ((cost as { gpu: number }).gpu === 5 ? [`t${i}`] : []))
    expect(small.ran.filter((t) => gpu5.includes(t))).toEqual([])
    // Each ran once: a message given back (it did not fit) was not counted as an attempt.
    expect([...small.ran, ...big.ran].sort()).toEqual(costs.map((_, i) => `t${i}`).sort())
  })

  it('a failed attempt waits out its backoff in pgmq (set_vt) and runs again as attempt 2', async () => {
    const name = `retry${++queueNo}`
    const runner = member(name, { slots: 1 })
    const handle = await runner.pool.submit({ fail: 1, then: 'second time' }, { maxAttempts: 3 })
    expect(await handle.result).toBe('second time')
    expect(runner.ran).toEqual(['fail 1 attempt 1', 'fail 1 attempt 2'])
  })

  it('a message whose reader died runs again when its visibility timeout ends, as the next attempt; past maxAttempts it fails', async () => {
    const name = `lapse${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const again = await submitter.pool.submit({ echo: 'again' }, { maxAttempts: 2 })
    const poison = await submitter.pool.submit({ echo: 'poison' }, { maxAttempts: 1, priority: 'low' })
    // A claimer that read both and died: pgmq hides them for a second.
    await admin.query(`select * from pgmq.read($1, 1, 10)`, [`${name}_normal`])
    await admin.query(`select * from pgmq.read($1, 1, 10)`, [`${name}_low`])
    const runner = member(name, { slots: 1 })
    expect(await again.result).toBe('again')
    expect(runner.ran).toEqual(['again'])
    const error = await poison.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(error).toMatchObject({ reason: 'crashed', attempts: 1 })
  })

  it('maxQueueDepth bounds the waiting tasks of every submitter, by pgmq metrics', async () => {
    const name = `depth${++queueNo}`
    const a = member(name, { slots: 1 }, { paused: true, maxQueueDepth: 3 })
    const b = member(name, { slots: 1 }, { paused: true, maxQueueDepth: 3 })
    await a.pool.submitAll([{ payload: { echo: 'a1' } }, { payload: { echo: 'a2' } }])
    await b.pool.submit({ echo: 'b1' })
    await expect(b.pool.submit({ echo: 'b2' })).rejects.toBeInstanceOf(QueueFullError)
    expect(await count(`${name}_normal`)).toBe(3)
  })

  it('maxQueueDepth holds when submitters race for the last places', async () => {
    for (let round = 0; round < 5; round++) {
      const name = `race${++queueNo}`
      const pools = [0, 1].map(() => member(name, { slots: 1 }, { paused: true, maxQueueDepth: 3 }).pool)
      await Promise.all(pools.map((pool) => pool.ready))
      const results = await Promise.allSettled(pools.flatMap((pool, p) => [0, 1].map((i) => pool.submit({ echo: `${p}${i}` }))))
      const refused = results.filter((result) => result.status === 'rejected')
      expect(refused).toHaveLength(1)
      expect((refused[0] as PromiseRejectedResult).reason).toBeInstanceOf(QueueFullError)
      expect(await count(`${name}_normal`)).toBe(3)
    }
  })

  it('refuses an idempotency key with a typed error, accepting nothing', async () => {
    const name = `keys${++queueNo}`
    const { pool } = member(name, { slots: 1 }, { paused: true })
    const error = await pool.submit({ echo: 'x' }, { key: 'k' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as InvalidOptionError).path).toBe('key')
    expect(await count(`${name}_normal`)).toBe(0)
  })

  it('cancelling a task nobody runs deletes its message', async () => {
    const name = `cancel${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const handle = await submitter.pool.submit({ echo: 'never' })
    expect(handle.cancel()).toBe(true)
    await expect(handle.result).rejects.toBeInstanceOf(TaskCancelledError)
    expect(await count(`${name}_normal`)).toBe(0)
  })

  it('cancelling a task another pool runs stops it there at its next renewal', async () => {
    const name = `stop${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const runner = member(name, { slots: 1 }, { leaseMs: 1_500 })
    const handle = await submitter.pool.submit({ hold: 'long' })
    await expect.poll(() => runner.ran).toEqual(['long'])
    const cancelled = new Promise((resolve) => runner.pool.once('cancelled', resolve))
    handle.cancel()
    await expect(handle.result).rejects.toBeInstanceOf(TaskCancelledError)
    await cancelled
    expect((await runner.pool.stats()).outcomes.cancelled).toBe(1)
  })

  it('a closing pool gives back what it claimed and never started, its read not counted', async () => {
    const name = `give${++queueNo}`
    const submitter = member(name, { slots: 1 }, { paused: true })
    const connections = new pg.Pool({ connectionString: url, max: 4 })
    const hoarder = sharedMember(new PgmqQueue<Job>(connections, { name, pollMs: 200, prefetch: 4 }), name, { slots: 1 }, {}, () =>
      connections.end(),
    )
    // maxAttempts 1: a given-back read that counted would fail them as crashed when read again.
    const handles = await submitter.pool.submitAll(
      ['h', 'w1', 'w2'].map((tag, i) => ({ payload: i === 0 ? { hold: tag } : { echo: tag }, options: { maxAttempts: 1 } })),
    )
    await expect.poll(() => hoarder.ran).toEqual(['h'])
    const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from pgmq."q_${name}_normal" where vt > now()`)
    expect(rows[0]!.n).toBe(3) // the running one and two prefetched
    hoarder.release('h')
    await handles[0]!.result
    hoarder.pool.pause()
    await hoarder.dispose()
    const runner = member(name, { slots: 1 })
    expect(await Promise.all(handles.slice(1).map((h) => h.result))).toEqual(['w1', 'w2'])
    expect(runner.ran.length + hoarder.ran.length).toBe(3)
  })
})

if (pgmqMissing === '') {
  describePoolConformance('ResourcePool on a PgmqQueue on Postgres', async () => {
    const runner = jobRunner()
    const connections = new pg.Pool({ connectionString: url, max: 4 })
    const pool = new ResourcePool<ConformanceJob, string, string>({
      name: 'p',
      capacity: 2,
      maxQueueDepth: 2,
      executor: runner.execute,
      queue: new PgmqQueue<ConformanceJob>(connections, { name: `conformance${++queueNo}` }),
    })
    return {
      pool,
      release: runner.release,
      dispose: async () => {
        runner.releaseAll()
        await pool.close()
        await connections.end()
      },
    }
  })
}

describePoolConformance('ResourcePool on a PgmqQueue on PGlite (@electric-sql/pglite-pgmq)', async () => {
  const runner = jobRunner()
  const db = await PGlite.create({ extensions: { pgmq } })
  const pool = new ResourcePool<ConformanceJob, string, string>({
    name: 'p',
    capacity: 2,
    maxQueueDepth: 2,
    executor: runner.execute,
    queue: new PgmqQueue<ConformanceJob>(db, { name: 'conformance' }),
  })
  return {
    pool,
    release: runner.release,
    dispose: async () => {
      runner.releaseAll()
      await pool.close()
      await db.close()
    },
  }
})

describe('PgmqQueue on PGlite', () => {
  it('two pools on one PGlite share the queue: the submitter hears progress and the end through LISTEN', async () => {
    const db = await PGlite.create({ extensions: { pgmq } })
    const submitter = sharedMember(new PgmqQueue<Job>(db, { name: 'lite' }), 'lite', { slots: 1 }, { paused: true }, async () => {})
    const runner = sharedMember(new PgmqQueue<Job>(db, { name: 'lite' }), 'lite', { slots: 1 }, {}, async () => {})
    try {
      const handle = await submitter.pool.submit({ hold: 'x' })
      const chunks = progressOf(handle)
      await expect.poll(() => runner.ran).toEqual(['x'])
      runner.release('x')
      expect(await handle.result).toBe('x')
      expect(await chunks).toEqual(['holding x'])
    } finally {
      await submitter.dispose()
      await runner.dispose()
      await db.close()
    }
  })
})
