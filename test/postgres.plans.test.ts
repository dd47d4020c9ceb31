// The plans of the shared queue's per-row writes when the statistics say nothing of the queue's
// size (analyzed while empty, then filled): renewals, releases, give-backs, acks and withdrawals go by the
// row's rid index, never by a scan bounded only by queue_name (a walk over the whole queue per
// row). The plans are read with auto_explain, inner statements of pl_ack_runs too.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migratePostgres } from '../src/postgres/client.js'
import {
  claimFitting,
  insertSharedJobs,
  releaseShared,
  releaseUnstarted,
  renewSharedLeases,
  withdrawShared,
  type ClaimedRow,
} from '../src/sql/shared-jobs.js'
import { ackAndTell } from '../src/sql/shared-outcomes.js'
import type { SqlTransaction } from '../src/sql/migrations.js'
import { record } from './conformance/task-queue.js'
import { freshDatabase } from './postgres/database.js'

let client: pg.Client
const plans: string[] = []
const tx: SqlTransaction = {
  query: async <T>(sql: string, params?: unknown[]) => ({ rows: (await client.query(sql, params)).rows as T[] }),
  exec: (sql: string) => client.query(sql),
}

beforeAll(async () => {
  const url = await freshDatabase('plans')
  const pool = new pg.Pool({ connectionString: url, max: 1 })
  await migratePostgres(pool)
  await pool.end()
  client = new pg.Client({ connectionString: url })
  await client.connect()
  // Statistics of an empty table, then 20,000 rows it knows nothing of.
  await client.query('analyze pl_queue_jobs')
  for (let i = 0; i < 20_000; i += 200) {
    await insertSharedJobs(
      tx,
      'big',
      Array.from({ length: 200 }, (_, j) => record(i + j + 1, { cost: { cpu: 1 }, seq: 0 })),
    )
  }
  client.on('notice', (notice) => plans.push(notice.message ?? ''))
  await client.query("load 'auto_explain'")
  for (const setting of ['log_min_duration = 0', 'log_nested_statements = on', 'log_level = notice']) {
    await client.query(`set auto_explain.${setting}`)
  }
}, 60_000)
afterAll(() => client?.end())

/** The plans of what `run` does, for statements that write pl_queue_jobs. */
async function plansOf(run: () => Promise<unknown>): Promise<string[]> {
  plans.length = 0
  await run()
  return plans.filter((plan) => /(Update|Delete) on pl_queue_jobs/.test(plan))
}

const byRid = (plan: string): boolean =>
  /Index Scan using pl_queue_jobs_rid|Index Cond: \(rid = /.test(plan) &&
  !/Seq Scan on pl_queue_jobs|pl_queue_jobs_claim|pl_queue_jobs_seq/.test(plan)

describe('shared queue writes on a queue the statistics know nothing of', () => {
  it('renew, release, give back and ack each find their rows by rid', async () => {
    const claimed = new Map<string, ClaimedRow>()
    const runs = await claimFitting(
      tx,
      'big',
      { resources: ['cpu'], free: [4], owner: 'me', leaseMs: 60_000, limit: 4, scan: 10, backfill: true },
      claimed,
    )
    expect(runs).toHaveLength(4)
    const [a, b, c, d] = runs.map((run) => ({ id: run.id, attempt: run.attempt, rid: claimed.get(run.id)!.rid }))

    const renewed = await plansOf(() => renewSharedLeases(tx, 'me', [a!, b!], 60_000))
    expect(renewed.length).toBeGreaterThan(0)
    expect(renewed.filter((plan) => !byRid(plan))).toEqual([])

    const released = await plansOf(() => releaseShared(tx, 'me', c!, 0))
    expect(released.length).toBeGreaterThan(0)
    expect(released.filter((plan) => !byRid(plan))).toEqual([])

    const givenBack = await plansOf(() => releaseUnstarted(tx, 'big', 'me', [d!]))
    expect(givenBack.length).toBeGreaterThan(0)
    expect(givenBack.filter((plan) => !byRid(plan))).toEqual([])

    const ends = [a!, b!].map((run) => ({ ...run, status: 'completed' as const, outcome: null, endedAt: 1 }))
    let acked = new Set<string>()
    const ackPlans = await plansOf(async () => (acked = await ackAndTell(tx, 'big', 'me', ends)))
    expect([...acked].sort()).toEqual([a!.id, b!.id].sort())
    expect(ackPlans.length).toBeGreaterThan(0)
    expect(ackPlans.filter((plan) => !byRid(plan))).toEqual([])
  })

  it('a submitter withdraws a task (a cancel, a wait limit) by the rid its insert answered', async () => {
    const task = record(30_001, { cost: { cpu: 1 }, seq: 0 })
    const { rid } = (await insertSharedJobs(tx, 'big', [task])).get(task.id)!
    const settlement = {
      status: 'cancelled' as const,
      endedAt: 1,
      retainKeyUntil: 2,
      message: undefined,
      outcome: { ok: false as const, error: new Error('cancelled') },
    }
    let answer = ''
    const withdrawn = await plansOf(async () => (answer = await withdrawShared(tx, 'big', { record: task, settlement }, true, rid)))
    expect(answer).toBe('ended')
    expect(withdrawn.length).toBeGreaterThan(0)
    expect(withdrawn.filter((plan) => !byRid(plan))).toEqual([])
  })
})
