// The workload the stored fixtures of release 0.1 hold (test/fixtures/stored/README.md), and the
// checks that today's code recovers all of it: every task back with its fields, every message
// fetchable, the ended key still known, and every recovered task run to its end.
import { expect } from 'vitest'
import { ManualClock, Mailbox, ResourcePool, type MailboxStore, type TaskQueue } from '../src/index.js'

export interface FixtureTasks {
  readonly done: string
  readonly retry: string
  readonly running: string
  readonly parked: string
  readonly parked2: string
  readonly cancelled: string
}

type Payload = { readonly n: number }

/** When the fixtures' retrying task may run again. */
const RETRY_NOT_BEFORE = 1_764_633_622_500

export async function checkRecovered(
  queue: TaskQueue<Payload>,
  store: MailboxStore<{ echo: number }>,
  tasks: FixtureTasks,
  clockMs: number,
): Promise<void> {
  const runs: [number, number][] = []
  const clock = new ManualClock(clockMs)
  const pool = new ResourcePool<Payload, { echo: number }>({
    name: 'jobs',
    capacity: { vram: 8, cpu: 2 },
    clock,
    maxAttempts: 3,
    queue,
    mailbox: new Mailbox({ store, clock }),
    executor: async (payload, ctx) => {
      runs.push([payload.n, ctx.attempt])
      return { echo: payload.n }
    },
  })
  await pool.ready
  // The ended key is known: nothing runs, the result comes from the stored message.
  const done = await pool.submit({ n: 1 }, { cost: { vram: 1 }, key: 'done-key', mailbox: { tenant: 't1', user: 'u1', session: 's1' } })
  expect(done.id).toBe(tasks.done)
  expect(done.status).toBe('completed')
  await expect(done.result).resolves.toEqual({ echo: 1 })
  // The live keys are known too.
  expect((await pool.submit({ n: 11 }, { cost: { vram: 8 }, key: 'park-key' })).id).toBe(tasks.parked)
  // The stored retry waits out the rest of its backoff (its notBefore), then runs.
  expect(pool.snapshot().delayed).toBe(1)
  await clock.advanceAsync(RETRY_NOT_BEFORE - clockMs)
  await pool.onIdle()
  // Every stored task ran to its end: the one a dead owner ran goes again with attempt 2.
  expect(runs.sort((a, b) => a[0] - b[0])).toEqual([
    [3, 2],
    [10, 2],
    [11, 1],
    [12, 1],
  ])
  const { messages } = await pool.mailbox.fetch({ tenant: 't1' })
  expect(messages.map((m) => [m.taskId, m.status, m.key])).toEqual([
    [tasks.done, 'completed', { tenant: 't1', user: 'u1', session: 's1' }],
    [tasks.cancelled, 'cancelled', { tenant: 't1', user: 'u1', session: 's1' }],
    // Recovered in priority order: the critical one (all the VRAM) first, then the high one.
    [tasks.parked, 'completed', { tenant: 't1', user: 'u2' }],
    [tasks.running, 'completed', { tenant: 't1', user: 'u1', session: 's1' }],
  ])
  const t2 = await pool.mailbox.fetch({ tenant: 't2' })
  expect(t2.messages.map((m) => [m.taskId, m.status, m.attempts])).toEqual([[tasks.retry, 'completed', 2]])
  await pool.close()
}

/** What recovery sees of each task before anything runs: the fields survived. */
export async function checkFields(queue: TaskQueue<Payload>, tasks: FixtureTasks): Promise<void> {
  const records = await queue.open('inspector')
  const byId = new Map(records.map((r) => [r.id, r]))
  expect([...byId.keys()].sort()).toEqual([tasks.retry, tasks.running, tasks.parked, tasks.parked2].sort())
  expect(byId.get(tasks.running)).toMatchObject({
    priority: 'high',
    tenant: 'acme',
    mailbox: { tenant: 't1', user: 'u1', session: 's1' },
    key: 'run-key',
    handler: 'gen',
    runTimeoutMs: 3_600_000,
    attempt: 1,
    cost: { vram: 4, cpu: 1 },
    lease: { expiresAt: 1_764_633_630_000 },
  })
  expect(byId.get(tasks.parked)).toMatchObject({
    priority: 'critical',
    waitDeadline: 1_764_633_600_000 + 400 * 86_400_000,
    key: 'park-key',
  })
  expect(byId.get(tasks.parked2)).toMatchObject({ priority: 'low', maxAttempts: 5, tenant: '', mailbox: undefined, lease: undefined })
  expect(byId.get(tasks.retry)).toMatchObject({ attempt: 1, notBefore: RETRY_NOT_BEFORE, tenant: 't2', lease: undefined })
  await queue.close()
}
