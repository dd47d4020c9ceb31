// Waking idle claimers on a real Postgres 15: one wake per submitted batch, a lost LISTEN
// connection opened again (with a wake), and the jittered poll when nothing is notified.
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { migratePostgres, pgClient } from '../src/postgres/client.js'
import { WorkSignal } from '../src/postgres/work-signal.js'
import { insertSharedJobs, WORK_CHANNEL } from '../src/sql/shared-jobs.js'
import { record } from './conformance/task-queue.js'
import { freshDatabase } from './postgres/database.js'

let pool: pg.Pool
beforeAll(async () => {
  pool = new pg.Pool({ connectionString: await freshDatabase('signal'), max: 6 })
  await migratePostgres(pool)
})
afterAll(() => pool.end())

/** Counts wakes; `next()` resolves at the next one. */
function wakes(): { count: number; missed: boolean[]; next(): Promise<void>; onWake(missed: boolean): void } {
  let waiting: (() => void) | undefined
  /** Each wake's `missed`. */
  const missed: boolean[] = []
  const counter = {
    count: 0,
    missed,
    next: () => new Promise<void>((resolve) => (waiting = resolve)),
    onWake: (wasMissed: boolean) => {
      counter.count++
      missed.push(wasMissed)
      const resolve = waiting
      waiting = undefined
      resolve?.()
    },
  }
  return counter
}

/** The payloads notified on the work channel while `during` runs, in commit order (a marker ends the wait). */
async function notified(during: () => Promise<unknown>): Promise<string[]> {
  const listener = await pool.connect()
  try {
    await listener.query(`listen ${WORK_CHANNEL}`)
    const payloads: string[] = []
    const ended = new Promise<void>((resolve) =>
      listener.on('notification', (m) => (m.payload === 'end-marker' ? resolve() : payloads.push(m.payload ?? ''))),
    )
    await during()
    await pool.query('select pg_notify($1, $2)', [WORK_CHANNEL, 'end-marker'])
    await ended
    return payloads
  } finally {
    // Still listening: not for reuse.
    listener.release(true)
  }
}

describe('WorkSignal', () => {
  it('a batch of 500 rows (three INSERT statements) is one notification, naming its queue', async () => {
    const rows = Array.from({ length: 500 }, (_, i) => record(i + 1))
    expect(await notified(() => pgClient(pool).transaction((tx) => insertSharedJobs(tx, 'batch', rows)))).toEqual(['batch'])
  })

  it('wakes its claimer on a notification for its queue', async () => {
    const counter = wakes()
    const signal = new WorkSignal(pool, 'mine', counter.onWake, { pollMs: 3_600_000, debounceMs: 1 })
    await signal.start()
    const woken = counter.next()
    await insertSharedJobs(pgClient(pool), 'mine', [record(1)])
    await woken
    expect(counter.count).toBe(1)
    expect(counter.missed).toEqual([false]) // a notification came: nothing missed
    await signal.close()
  })

  it('debounces a burst of asks to one wake, and polls with jitter in [pollMs / 2, pollMs * 1.5)', () => {
    vi.useFakeTimers()
    try {
      const counter = wakes()
      // Not started: no connection, only the timers.
      const signal = new WorkSignal(pool, 'timers', counter.onWake, { pollMs: 1_000, debounceMs: 5, random: () => 0.25 })
      signal.wake()
      signal.wake()
      vi.advanceTimersByTime(4)
      signal.wake()
      expect(counter.count).toBe(0)
      vi.advanceTimersByTime(1)
      expect(counter.count).toBe(1)
      vi.advanceTimersByTime(100)
      expect(counter.count).toBe(1) // one wake for the three asks
      // After a wake the poll is armed at pollMs * (0.5 + 0.25) = 750 ms, then debounced 5 ms.
      vi.advanceTimersByTime(750 - 100 + 4)
      expect(counter.count).toBe(1)
      vi.advanceTimersByTime(1)
      expect(counter.count).toBe(2)
      // The asks were plain wakes; the poll stands for what no notification said.
      expect(counter.missed).toEqual([false, true])
      void signal.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('a throwing onWake is reported to onError, not thrown into the timers', () => {
    vi.useFakeTimers()
    try {
      const errors: unknown[] = []
      const signal = new WorkSignal(
        pool,
        'throws',
        () => {
          throw new Error('claimer broke')
        },
        { onError: (e) => errors.push(e), pollMs: 3_600_000 },
      )
      signal.wake()
      vi.advanceTimersByTime(10)
      expect(errors.map((e) => (e as Error).message)).toEqual(['claimer broke'])
      void signal.close()
    } finally {
      vi.useRealTimers()
    }
  })

  it('opens a LISTEN connection that was killed again, says so, and wakes once it is back', async () => {
    const counter = wakes()
    const errors: unknown[] = []
    const signal = new WorkSignal(pool, 'killed', counter.onWake, { pollMs: 3_600_000, onError: (e) => errors.push(e) })
    await signal.start()
    const back = counter.next()
    await pool.query(
      "select pg_terminate_backend(pid) from pg_stat_activity where datname = current_database() and query like 'listen %' and pid <> pg_backend_pid()",
    )
    await back
    expect(errors.length).toBeGreaterThanOrEqual(1)
    // And it listens again: a submit wakes it.
    const woken = counter.next()
    await insertSharedJobs(pgClient(pool), 'killed', [record(1)])
    await woken
    await signal.close()
  })

  it('polls, jittered, when nothing is notified', async () => {
    const counter = wakes()
    const signal = new WorkSignal(pool, 'quiet', counter.onWake, { pollMs: 20, random: () => 0 })
    await signal.start()
    await counter.next()
    await counter.next()
    expect(counter.count).toBe(2)
    await signal.close()
  })

  it('refuses options it does not know, naming them', () => {
    expect(() => new WorkSignal(pool, 'q', () => undefined, { pollMs: 0 })).toThrow(/`pollMs`/)
    expect(() => new WorkSignal(pool, 'q', () => undefined, { pollEvery: 5 } as never)).toThrow(/pollEvery/)
  })
})
