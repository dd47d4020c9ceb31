/*
 * The shared queue's claim statement on a real Postgres 15: what one claim takes (cost fits per
 * resource, priority then age, backfill or head-of-line), leases in database time, expiry and
 * poison tasks, and claimers that race never take one task twice nor exceed what they asked for.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { pgClient, type SqlClient } from '../src/postgres/index.js'
import { migratePostgres } from '../src/postgres/client.js'
import {
  chargeTenants,
  claimFitting,
  type ClaimedRow,
  enrollTenants,
  insertSharedJobs,
  renewSharedLeases,
  settleSharedJobs,
  takePoisoned,
  type ClaimRequest,
} from '../src/sql/shared-jobs.js'
import { findKey } from '../src/sql/jobs.js'
import { findMessageByTask } from '../src/sql/mailbox-rows.js'
import { migrate } from '../src/sql/migrations.js'
import { record } from './conformance/task-queue.js'
import { freshDatabase } from './postgres/database.js'
import type { TaskRecord } from '../src/core/record.js'

let pool: pg.Pool
let db: SqlClient
let n = 0
beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await freshDatabase('claims'), max: 12 })
  await migratePostgres(pool)
  db = pgClient(pool)
})
afterAll(() => pool.end())

const ask = (free: Record<string, number>, overrides: Partial<ClaimRequest> = {}): ClaimRequest => ({
  resources: Object.keys(free),
  free: Object.values(free),
  owner: 'claimer-1',
  leaseMs: 60_000,
  limit: 100,
  scan: 100,
  backfill: true,
  ...overrides,
})

/** A queue of its own per test, filled with `records`. */
async function queueWith(records: TaskRecord<{ n: number }>[]): Promise<string> {
  const queue = `q${++n}`
  await insertSharedJobs(db, queue, records)
  return queue
}

const ids = (records: readonly TaskRecord<unknown>[]): number[] => records.map((r) => (r.payload as { n: number }).n)

/** The rid of each row claimed through `claimRows`, by queue and task id, as a claimer keeps it. */
const rids = new Map<string, string>()
const ridOf = (queue: string, id: string): string => {
  const rid = rids.get(`${queue}/${id}`)
  if (rid === undefined) throw new Error(`task ${id} of queue ${queue} was not claimed through claimRows`)
  return rid
}
async function claimRows(queue: string, request: Parameters<typeof claimFitting>[2]): Promise<TaskRecord<unknown>[]> {
  const claimed = new Map<string, ClaimedRow>()
  const records = await claimFitting(db, queue, request, claimed)
  for (const [id, row] of claimed) rids.set(`${queue}/${id}`, row.rid)
  return records
}

/** A completed end of `r` with its mailbox message, as a batch of completions carries it. */
function endWithMessage(queue: string, r: TaskRecord<unknown>, result: number, endedAt: number, retainKeyUntil: number) {
  return {
    record: r,
    rid: ridOf(queue, r.id),
    settlement: {
      status: 'completed' as const,
      endedAt,
      retainKeyUntil,
      message: undefined,
      outcome: { ok: true as const, value: result },
    },
    message: {
      mailbox: queue,
      message: {
        id: `${queue}-${r.id}`,
        taskId: r.id,
        key: { tenant: 't' },
        status: 'completed' as const,
        result,
        attempts: r.attempt,
        submittedAt: r.submittedAt,
        completedAt: endedAt,
      },
    },
  }
}

describe('a claim on a shared Postgres queue', () => {
  it('takes the best tasks whose summed cost fits the free units of every resource, priority then age', async () => {
    const queue = await queueWith([
      record(1, { cost: { gpu: 2, cpu: 1 } }),
      record(2, { cost: { gpu: 1 }, priority: 'high' }),
      record(3, { cost: { gpu: 3 } }),
      record(4, { cost: { cpu: 2 } }),
      record(5, { cost: { gpu: 1, cpu: 1 }, priority: 'critical' }),
    ])
    const taken = await claimFitting<{ n: number }>(db, queue, ask({ gpu: 4, cpu: 2 }))
    // 5 (critical), 2 (high), then 1 (gpu 2, cpu 1): gpu 4 of 4, cpu 2 of 2; 3 and 4 no longer fit.
    expect(ids(taken)).toEqual([5, 2, 1])
    expect(taken.every((r) => r.attempt === 1 && r.lease?.owner === 'claimer-1')).toBe(true)
    // What is left is what fits nothing taken: a second claimer with room takes 3 then 4.
    expect(ids(await claimFitting(db, queue, ask({ gpu: 3, cpu: 2 }, { owner: 'claimer-2' })))).toEqual([3, 4])
  })

  it('head-of-line stops at the first task that does not fit; backfill passes over it', async () => {
    const records = [record(1, { cost: { gpu: 1 } }), record(2, { cost: { gpu: 5 } }), record(3, { cost: { gpu: 1 } })]
    const strict = await queueWith(records.map((r) => ({ ...r })))
    expect(ids(await claimFitting(db, strict, ask({ gpu: 3 }, { backfill: false })))).toEqual([1])
    const backfilled = await queueWith(records.map((r) => ({ ...r })))
    expect(ids(await claimFitting(db, backfilled, ask({ gpu: 3 }, { backfill: true })))).toEqual([1, 3])
  })

  it('head-of-line passes over a task bigger than the whole capacity of the claimer (it can never run there)', async () => {
    const queue = await queueWith([record(1, { cost: { gpu: 5 } }), record(2, { cost: { gpu: 1 } }), record(3, { cost: { gpu: 3 } })])
    // Capacity 2: task 1 never fits here, so it does not hold the claim; task 3 would fit a free claimer, so it does.
    expect(ids(await claimFitting(db, queue, ask({ gpu: 1 }, { backfill: false, capacity: [2] })))).toEqual([2])
  })

  it('a task passed over for reserveAfterMs (database time) is reserved: claims that could run it stop at it, taking nothing smaller after it', async () => {
    const queue = await queueWith([record(1, { cost: { gpu: 2 } }), record(2, { cost: { gpu: 1 } }), record(3, { cost: { gpu: 1 } })])
    // With 1 free of 2, a claimer passes over task 1 and takes 2; 1 and 3 (no free unit left for it) are marked as passed over from now.
    expect(ids(await claimFitting(db, queue, ask({ gpu: 1 }, { capacity: [2], reserveAfterMs: 60_000 })))).toEqual([2])
    const { rows } = await pool.query<{ blocked: boolean }>(
      'select blocked_since is not null as blocked from pl_queue_jobs where queue_name = $1 order by seq',
      [queue],
    )
    expect(rows.map((r) => r.blocked)).toEqual([true, false, true])
    // Passed over long enough ago: the next claim stops at task 1 and leaves task 3 for whoever takes task 1 first.
    await pool.query('update pl_queue_jobs set blocked_since = blocked_since - 120000 where queue_name = $1', [queue])
    expect(await claimFitting(db, queue, ask({ gpu: 1 }, { capacity: [2], reserveAfterMs: 60_000 }))).toEqual([])
    // A claimer with room takes it, and the reservation ends with it.
    expect(ids(await claimFitting(db, queue, ask({ gpu: 6 }, { owner: 'big', capacity: [8], reserveAfterMs: 60_000 })))).toEqual([1, 3])
  })

  it('a reserved task does not stop a claimer that can never run it', async () => {
    const queue = await queueWith([record(1, { cost: { gpu: 5 } }), record(2, { cost: { gpu: 1 } })])
    await pool.query(
      'update pl_queue_jobs set blocked_since = 0 where queue_name = $1 and seq = (select min(seq) from pl_queue_jobs where queue_name = $1)',
      [queue],
    )
    expect(ids(await claimFitting(db, queue, ask({ gpu: 2 }, { capacity: [2], reserveAfterMs: 1 })))).toEqual([2])
  })

  it('a task its submitter asked to stop is never claimed to run', async () => {
    const queue = await queueWith([record(1, { cost: { gpu: 1 } }), record(2, { cost: { gpu: 1 } })])
    await pool.query(
      'update pl_queue_jobs set cancel_requested = true where queue_name = $1 and seq = (select min(seq) from pl_queue_jobs where queue_name = $1)',
      [queue],
    )
    expect(ids(await claimFitting(db, queue, ask({ gpu: 4 })))).toEqual([2])
    const cancelled = new Set<string>()
    const taken = await takePoisoned(db, queue, 'claimer-1', 60_000, 10, undefined, cancelled)
    expect(ids(taken)).toEqual([1])
    expect([...cancelled]).toEqual([taken[0]!.id])
  })

  it('prefetch also takes, in order, tasks that fit the whole capacity but not the free units now', async () => {
    const queue = await queueWith(Array.from({ length: 6 }, (_, i) => record(i + 1, { cost: { cpu: 2 } })))
    // Free 2 of capacity 4: one fits now, then prefetch takes three more to wait in the claimer's lot.
    expect(ids(await claimFitting(db, queue, ask({ cpu: 2 }, { backfill: false, capacity: [4], prefetch: 3 })))).toEqual([1, 2, 3, 4])
  })

  it('never takes a task that needs a resource the claimer does not have', async () => {
    const queue = await queueWith([
      record(1, { cost: { gpu: 1 } }),
      record(2, { cost: { cpu: 1 } }),
      record(3, { cost: { gpu: 0, cpu: 1 } }),
    ])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 8 })))).toEqual([2, 3])
  })

  it('takes at most `limit` tasks and looks at most `scan` candidates', async () => {
    const queue = await queueWith(Array.from({ length: 10 }, (_, i) => record(i + 1, { cost: { cpu: 1 } })))
    expect(ids(await claimFitting(db, queue, ask({ cpu: 100 }, { limit: 3 })))).toEqual([1, 2, 3])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 100 }, { scan: 2 })))).toEqual([4, 5])
  })

  it("numbers tasks from the database sequence, whoever submits them (the record's own seq is not used)", async () => {
    const queue = `q${++n}`
    const a = await insertSharedJobs(db, queue, [record(1, { seq: 0 }), record(2, { seq: 0 })])
    const b = await insertSharedJobs(db, queue, [record(3, { seq: 0 })])
    const [first, second, third] = [a.get(record(1).id)!.seq, a.get(record(2).id)!.seq, b.get(record(3).id)!.seq]
    expect(second).toBeGreaterThan(first)
    expect(third).toBeGreaterThan(second)
    const { rows } = await pool.query<{ seq: string }>('select seq from pl_queue_jobs where queue_name = $1 order by seq', [queue])
    expect(rows.map((row) => Number(row.seq))).toEqual([first, second, third])
  })

  it('leases for leaseMs from now; an expired lease is claimed again as attempt + 1; spent attempts are left for takePoisoned', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 }, maxAttempts: 2 })])
    const first = await claimFitting(db, queue, ask({ cpu: 1 }, { leaseMs: 50 }))
    const { rows } = await pool.query<{ now: number }>('select extract(epoch from clock_timestamp()) * 1000 as now')
    const lease = first[0]!.lease!
    expect(Math.abs(lease.expiresAt - 50 - Number(rows[0]!.now))).toBeLessThan(5_000)
    // Held: nobody else takes it.
    expect(await claimFitting(db, queue, ask({ cpu: 1 }, { owner: 'other' }))).toEqual([])
    await pool.query('update pl_queue_jobs set lease_expires_at = lease_expires_at - 60000 where queue_name = $1', [queue])
    const claimed = new Map<string, ClaimedRow>()
    const again = await claimFitting(db, queue, ask({ cpu: 1 }, { owner: 'other', leaseMs: 50 }), claimed)
    expect(again.map((r) => [r.attempt, r.lease?.owner])).toEqual([[2, 'other']])
    const { id } = again[0]!
    const { rid } = claimed.get(id)!
    // The first owner's renewal finds it gone; the new owner's holds.
    expect((await renewSharedLeases(db, 'claimer-1', [{ id, attempt: 1, rid }], 60_000)).map((r) => r.id)).toEqual([])
    expect((await renewSharedLeases(db, 'other', [{ id, attempt: 1, rid }], 50)).map((r) => r.id)).toEqual([]) // attempt 1 is over
    expect(
      (
        await renewSharedLeases(
          db,
          'other',
          [
            { id, attempt: 2, rid },
            { id: 'none', attempt: 1, rid: '0' },
          ],
          50,
        )
      ).map((r) => r.id),
    ).toEqual([id])
    await pool.query('update pl_queue_jobs set lease_expires_at = lease_expires_at - 60000 where queue_name = $1', [queue])
    // Attempt 2 of 2 died too: no claim takes it, takePoisoned does, once.
    expect(await claimFitting(db, queue, ask({ cpu: 1 }, { owner: 'third' }))).toEqual([])
    expect((await takePoisoned(db, queue, 'third', 60_000, 10)).map((r) => r.attempt)).toEqual([2])
    expect(await takePoisoned(db, queue, 'fourth', 60_000, 10)).toEqual([])
  })

  it('a task waiting out its backoff (not_before) is not claimed until then', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 }, notBefore: Date.now() + 3_600_000 }), record(2, { cost: { cpu: 1 } })])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 5 })))).toEqual([2])
  })

  it('aging (agingMs): a task raised one level per agingMs since its insert, in database time, is taken before newer higher ones', async () => {
    const records = [record(1, { cost: { cpu: 1 }, priority: 'low' }), record(2, { cost: { cpu: 1 }, priority: 'high' })]
    const aged = await queueWith(records)
    // Inserted 10 s ago by the database's clock (no waiting in the test): low + 10 levels is critical.
    await pool.query(
      `update pl_queue_jobs set enqueued_at = enqueued_at - 10000 where queue_name = $1 and seq = (select min(seq) from pl_queue_jobs where queue_name = $1)`,
      [aged],
    )
    expect(ids(await claimFitting(db, aged, ask({ cpu: 1 }, { limit: 1, agingMs: 1_000 })))).toEqual([1])
    // Aged less (7 s at one level per 5 s is one level: low to normal, still below 2, high).
    const tied = await queueWith(records)
    await pool.query(
      `update pl_queue_jobs set enqueued_at = enqueued_at - 7000 where queue_name = $1 and seq = (select min(seq) from pl_queue_jobs where queue_name = $1)`,
      [tied],
    )
    expect(ids(await claimFitting(db, tied, ask({ cpu: 1 }, { limit: 1, agingMs: 5_000 })))).toEqual([2])
    // Without aging the high one goes first, however old the low one is.
    const plain = await queueWith(records)
    await pool.query(`update pl_queue_jobs set enqueued_at = enqueued_at - 10000 where queue_name = $1`, [plain])
    expect(ids(await claimFitting(db, plain, ask({ cpu: 1 }, { limit: 1 })))).toEqual([2])
    // A row of before migration 8 (no enqueued_at) ages by its submit time.
    const old = await queueWith([record(1, { cost: { cpu: 1 }, priority: 'low', submittedAt: Date.now() - 10_000 }), records[1]!])
    await pool.query(`update pl_queue_jobs set enqueued_at = null where queue_name = $1`, [old])
    expect(ids(await claimFitting(db, old, ask({ cpu: 1 }, { limit: 1, agingMs: 1_000 })))).toEqual([1])
  })

  it('fair share: within a level the tenant with least usage in pl_tenant_usage is taken first, then age; levels still come first', async () => {
    const queue = await queueWith([
      record(1, { cost: { cpu: 1 }, tenant: 'flood' }),
      record(2, { cost: { cpu: 1 }, tenant: 'flood' }),
      record(3, { cost: { cpu: 1 }, tenant: 'few' }),
      record(4, { cost: { cpu: 1 }, tenant: 'flood', priority: 'high' }),
    ])
    await chargeTenants(
      db,
      queue,
      new Map([
        ['flood', 500],
        ['few', 20],
      ]),
    )
    expect(ids(await claimFitting(db, queue, ask({ cpu: 1 }, { limit: 1, fairShare: true })))).toEqual([4])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 1 }, { limit: 1, fairShare: true })))).toEqual([3])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 1 }, { limit: 1, fairShare: true })))).toEqual([1])
    // Without fair share: age alone.
    const plain = await queueWith([record(1, { cost: { cpu: 1 }, tenant: 'flood' }), record(3, { cost: { cpu: 1 }, tenant: 'few' })])
    await chargeTenants(db, plain, new Map([['flood', 500]]))
    expect(ids(await claimFitting(db, plain, ask({ cpu: 1 }, { limit: 1 })))).toEqual([1])
  })

  it('usage: a new tenant, or one idle past activeMs, enrolls at the least usage of the active ones; an active one keeps its own; charges add; a drained queue forgets all', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 } })])
    const usage = async (): Promise<Record<string, number>> =>
      Object.fromEntries(
        (
          await pool.query<{ tenant: string; usage: number }>('select tenant, usage from pl_tenant_usage where queue_name = $1', [queue])
        ).rows.map((row) => [row.tenant, row.usage]),
      )
    const activeMs = 60_000
    await enrollTenants(db, queue, ['a', 'a'], activeMs)
    expect(await usage()).toEqual({ a: 0 })
    await chargeTenants(
      db,
      queue,
      new Map([
        ['b', 200],
        ['a', 300],
      ]),
    )
    expect(await usage()).toEqual({ a: 300, b: 200 })
    await enrollTenants(db, queue, ['a', 'c'], activeMs)
    expect(await usage()).toEqual({ a: 300, b: 200, c: 200 })
    // 'a' idle for longer than activeMs, with less usage than the active ones: lifted to their least.
    await pool.query(`update pl_tenant_usage set usage = 50, touched_at = touched_at - 100000 where queue_name = $1 and tenant = 'a'`, [
      queue,
    ])
    await enrollTenants(db, queue, ['a'], activeMs)
    expect(await usage()).toEqual({ a: 200, b: 200, c: 200 })
    // Nothing active at all: a newcomer starts at 0.
    await pool.query('update pl_tenant_usage set touched_at = touched_at - 100000 where queue_name = $1', [queue])
    await enrollTenants(db, queue, ['d'], activeMs)
    expect((await usage())['d']).toBe(0)
    await pool.query('delete from pl_queue_jobs where queue_name = $1', [queue])
    await chargeTenants(db, queue, new Map([['a', 1]]))
    expect(await usage()).toEqual({})
    // A submit to a drained queue starts the busy period afresh, too.
    await chargeTenants(db, queue, new Map([['a', 1]]))
    await pool.query(`insert into pl_tenant_usage values ($1, 'old', 999, 0)`, [queue])
    await enrollTenants(db, queue, ['e'], activeMs)
    expect(await usage()).toEqual({ e: 0 })
  })

  it("a delay (delayMs / runAt) is kept in database time: its length by the submitter's clock, however far that clock is off", async () => {
    // The submitter's clock is 11 days behind: by it the task was due long ago, but it asked for an hour.
    const behind = Date.now() - 1e9
    const queue = await queueWith([
      record(1, { cost: { cpu: 1 }, submittedAt: behind, notBefore: behind + 3_600_000 }),
      record(2, { cost: { cpu: 1 } }),
    ])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 5 })))).toEqual([2])
    const { rows } = await pool.query<{ due_in: number; ages_in: number }>(
      `select not_before - extract(epoch from clock_timestamp()) * 1000 as due_in,
              enqueued_at - extract(epoch from clock_timestamp()) * 1000 as ages_in
       from pl_queue_jobs where queue_name = $1`,
      [queue],
    )
    // Due in an hour by the database's clock; it ages from then, not from its insert.
    expect(rows[0]!.due_in).toBeGreaterThan(3_500_000)
    expect(rows[0]!.due_in).toBeLessThanOrEqual(3_600_000)
    expect(rows[0]!.ages_in).toBeCloseTo(rows[0]!.due_in, -1)
  })

  it('claimers that race take disjoint tasks, each within what it asked for', async () => {
    const costs = [1, 2, 3]
    const queue = await queueWith(Array.from({ length: 300 }, (_, i) => record(i + 1, { cost: { gpu: costs[i % 3]!, cpu: 1 } })))
    const taken = new Map<string, string>()
    const claimer = async (owner: string): Promise<void> => {
      for (;;) {
        const got = await claimFitting(db, queue, ask({ gpu: 5, cpu: 3 }, { owner, scan: 20 }))
        if (got.length === 0) {
          const { rows } = await pool.query<{ n: number }>(
            'select count(*)::int as n from pl_queue_jobs where queue_name = $1 and lease_owner is null',
            [queue],
          )
          if (rows[0]!.n === 0) return
          continue
        }
        const gpu = got.reduce((sum, r) => sum + (r.cost['gpu'] ?? 0), 0)
        const cpu = got.reduce((sum, r) => sum + (r.cost['cpu'] ?? 0), 0)
        expect(gpu).toBeLessThanOrEqual(5)
        expect(cpu).toBeLessThanOrEqual(3)
        for (const r of got) {
          expect(taken.get(r.id)).toBeUndefined()
          taken.set(r.id, owner)
        }
      }
    }
    await Promise.all(['a', 'b', 'c', 'd'].map(claimer))
    expect(taken.size).toBe(300)
    // More than one claimer got work: the race was real.
    expect(new Set(taken.values()).size).toBeGreaterThan(1)
  })

  it('acks a batch of ends in one transaction: rows gone, keys remembered, mailbox messages written with them', async () => {
    const records = Array.from({ length: 100 }, (_, i) => record(i + 1, { cost: { cpu: 1 }, key: i < 10 ? `k${i}` : undefined }))
    const queue = await queueWith(records)
    const taken = await claimRows(queue, ask({ cpu: 100 }))
    const ends = taken.map((r) => endWithMessage(queue, r, (r.payload as { n: number }).n * 2, 10_000, 99_000))
    const acked = await db.transaction((tx) => settleSharedJobs(tx, queue, 'claimer-1', ends))
    expect(acked.size).toBe(100)
    const { rows } = await pool.query<{ n: number }>('select count(*)::int as n from pl_queue_jobs where queue_name = $1', [queue])
    expect(rows[0]!.n).toBe(0)
    expect((await findKey(db, queue, 'k3', 50_000))?.status).toBe('completed')
    expect((await findMessageByTask(db, queue, taken[7]!.id))?.result).toBe(16)
  })

  it('does not ack (nor write the message of) a task whose lease another owner took', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 } }), record(2, { cost: { cpu: 1 } })])
    const mine = await claimRows(queue, ask({ cpu: 2 }, { leaseMs: 60_000 }))
    // Task 1's lease ran out and another owner took it.
    await pool.query('update pl_queue_jobs set lease_expires_at = 0 where queue_name = $1 and id = $2', [queue, mine[0]!.id])
    const theirs = await claimFitting(db, queue, ask({ cpu: 2 }, { owner: 'claimer-2' }))
    expect(theirs.map((r) => r.id)).toEqual([mine[0]!.id])
    const end = (r: TaskRecord<unknown>) => endWithMessage(queue, r, 1, 1, 2)
    const acked = await db.transaction((tx) => settleSharedJobs(tx, queue, 'claimer-1', mine.map(end)))
    expect([...acked]).toEqual([mine[1]!.id])
    expect(await findMessageByTask(db, queue, mine[0]!.id)).toBeUndefined()
    const { rows } = await pool.query<{ lease_owner: string }>('select lease_owner from pl_queue_jobs where queue_name = $1', [queue])
    expect(rows.map((row) => row.lease_owner)).toEqual(['claimer-2'])
  })

  it('the same migrations run on Postgres as on PGlite (migrate without the lock is what PGlite runs)', async () => {
    const fresh = new pg.Pool({ connectionString: await freshDatabase('plain'), max: 2 })
    await migrate(pgClient(fresh))
    const { rows } = await fresh.query<{ version: number }>('select max(version) as version from pl_schema_version')
    expect(rows[0]!.version).toBeGreaterThanOrEqual(4)
    await fresh.end()
  })

  it('a stored cost that is not an object of numbers is never claimed, and does not fail the claim for the others', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 } }), record(2, { cost: { cpu: 1 } }), record(3, { cost: { cpu: 1 } })])
    await pool.query(`update pl_queue_jobs set cost = '{"cpu":"x"}' where queue_name = $1 and id = $2`, [queue, record(1).id])
    await pool.query(`update pl_queue_jobs set cost = 'null' where queue_name = $1 and id = $2`, [queue, record(2).id])
    expect(ids(await claimFitting(db, queue, ask({ cpu: 5 })))).toEqual([3])
  })

  it('refuses free units that do not match the resources, naming `free`', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 100 } })])
    await expect(claimFitting(db, queue, ask({ cpu: 1 }, { free: [] }))).rejects.toThrow(/`free`.*1 resources/)
    await expect(claimFitting(db, queue, ask({ cpu: 1 }, { free: [Number.NaN] }))).rejects.toThrow(/`free`/)
    expect(await claimFitting(db, queue, ask({ cpu: 99 }))).toEqual([])
  })

  it('a task with its attempts spent and no lease (a release left it so) is taken by takePoisoned, not left forever', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 }, attempt: 3, maxAttempts: 3 })])
    expect(await claimFitting(db, queue, ask({ cpu: 1 }))).toEqual([])
    expect(ids(await takePoisoned(db, queue, 'claimer-1', 60_000, 10))).toEqual([1])
  })

  it('a run that ended after its own owner claimed the task again does not ack the new run', async () => {
    const queue = await queueWith([record(1, { cost: { cpu: 1 } })])
    const [firstRun] = await claimRows(queue, ask({ cpu: 1 }))
    await pool.query('update pl_queue_jobs set lease_expires_at = 0 where queue_name = $1', [queue])
    const [secondRun] = await claimRows(queue, ask({ cpu: 1 })) // the same owner, attempt 2
    expect(secondRun!.attempt).toBe(2)
    const end = (r: TaskRecord<unknown>) => ({
      record: r,
      rid: ridOf(queue, r.id),
      settlement: {
        status: 'completed' as const,
        endedAt: 1,
        retainKeyUntil: 2,
        message: undefined,
        outcome: { ok: true as const, value: 1 },
      },
    })
    expect([...(await db.transaction((tx) => settleSharedJobs(tx, queue, 'claimer-1', [end(firstRun!)])))]).toEqual([])
    expect([...(await db.transaction((tx) => settleSharedJobs(tx, queue, 'claimer-1', [end(secondRun!)])))]).toEqual([secondRun!.id])
  })
})
