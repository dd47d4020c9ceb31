// PgmqQueue on the run's Postgres 15 with the pgmq extension (installed into the cluster from
// @electric-sql/pglite-pgmq's files) and on PGlite with @electric-sql/pglite-pgmq: pools sharing
// one queue in one process, each with its own connections, as processes would be.
import { PGlite } from '@electric-sql/pglite'
import { pgmq } from '@electric-sql/pglite-pgmq'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { InvalidOptionError, ManualClock, QueueFullError, ResourcePool, TaskFailedError } from '../src/index.js'
import { PgmqQueue } from '../src/pgmq/index.js'
import { conformancePoolOn, describePoolConformance, type Job as ConformanceJob } from './conformance/pool.js'
import { freshDatabase } from './postgres/database.js'
import { sharedQueueBodies } from './shared-queue/bodies.js'
import { membersOn, progressOf, sharedMember, type Job } from './shared-queue/members.js'

const pgmqMissing = inject('pgmqMissing')
if (pgmqMissing !== '') console.warn(`Skipping the PgmqQueue tests on Postgres: ${pgmqMissing}`)

let url: string
let admin: pg.Pool
beforeAll(async () => {
  url = await freshDatabase('pgmq')
  admin = new pg.Pool({ connectionString: url, max: 2 })
})
afterAll(() => admin.end())

let queueNo = 0
const member = membersOn(
  () => url,
  (connections, name, pollMs) => new PgmqQueue<Job>(connections, { name, pollMs }),
)

const count = async (queue: string): Promise<number> => {
  const { rows } = await admin.query<{ n: number }>(`select count(*)::int as n from pgmq."q_${queue}"`)
  return rows[0]!.n
}

describe.skipIf(pgmqMissing !== '')('PgmqQueue on Postgres: pools sharing one queue', () => {
  sharedQueueBodies({
    member,
    name: (label) => `${label}${++queueNo}`,
    stored: async (name) => {
      const levels = ['critical', 'high', 'normal', 'low'].map((level) => `${name}_${level}`)
      return (await Promise.all(levels.map(count))).reduce((a, b) => a + b, 0)
    },
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

  it("a delay is kept in database time (pgmq's visibility), its length by the submitter's clock however far that clock is off", async () => {
    const name = `delayclock${++queueNo}`
    const connections = new pg.Pool({ connectionString: url, max: 2 })
    // A submitter whose clock says 1970: by it, `runAt` an hour on is long past for the database.
    const pool = new ResourcePool<Job, string>({
      name,
      capacity: 1,
      clock: new ManualClock(0),
      queue: new PgmqQueue<Job>(connections, { name }),
      executor: () => 'never',
    })
    pool.pause()
    try {
      await pool.submitAll([
        { payload: { echo: 'later' }, options: { runAt: 3_600_000 } },
        { payload: { echo: 'now' } },
        { payload: { echo: 'soon' }, options: { delayMs: 60_000 } },
      ])
      const { rows } = await admin.query<{ hidden_for: number }>(
        `select (extract(epoch from vt - clock_timestamp()) * 1000)::float8 as hidden_for from pgmq."q_${name}_normal" order by msg_id`,
      )
      const hidden = rows.map((row) => row.hidden_for)
      expect(hidden).toHaveLength(3)
      expect(hidden[0]).toBeGreaterThan(3_500_000)
      expect(hidden[1]).toBeLessThanOrEqual(0)
      expect(hidden[2]).toBeGreaterThan(50_000)
      expect(hidden[2]).toBeLessThanOrEqual(60_000)
    } finally {
      await pool.close()
      await connections.end()
    }
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
    const connections = new pg.Pool({ connectionString: url, max: 4 })
    return conformancePoolOn(new PgmqQueue<ConformanceJob>(connections, { name: `conformance${++queueNo}` }), () => connections.end())
  })
}

describePoolConformance('ResourcePool on a PgmqQueue on PGlite (@electric-sql/pglite-pgmq)', async () => {
  const db = await PGlite.create({ extensions: { pgmq } })
  return conformancePoolOn(new PgmqQueue<ConformanceJob>(db, { name: 'conformance' }), () => db.close())
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
