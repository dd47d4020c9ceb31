import { describe, expect, it } from 'vitest'
import { InvalidOptionError, Mailbox, ResourcePool } from '../src/index.js'
import { PGlite } from '@electric-sql/pglite'
import { PGliteMailboxStore, PGliteQueue } from '../src/pglite/index.js'
import { controlledPool } from './helpers.js'

describe('numeric priorities', () => {
  it('any finite number, higher first; the names are 0 (low) to 3 (critical); FIFO within one priority', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    const submitted: [string, number | 'low' | 'normal' | 'high' | 'critical'][] = [
      ['minus', -1],
      ['low', 'low'],
      ['zero', 0],
      ['half', 0.5],
      ['normal', 'normal'],
      ['one', 1],
      ['high', 'high'],
      ['two-and-a-half', 2.5],
      ['critical', 'critical'],
      ['ten', 10],
    ]
    for (const [payload, priority] of submitted) await pool.submit(payload, { priority })
    for (let i = 0; i <= submitted.length; i++) await jobs.finish(jobs.order.at(-1)!)
    expect(jobs.order).toEqual(['running', 'ten', 'critical', 'two-and-a-half', 'high', 'normal', 'one', 'half', 'low', 'zero', 'minus'])
  })

  it('a handle shows the name for 0 to 3 and the number otherwise; snapshots count a number under the name at or below it', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    pool.pause()
    const handles = await Promise.all([2, 2.5, -4, 0.9, 7, 'normal' as const].map((priority) => pool.submit('x', { priority })))
    expect(handles.map((h) => h.priority)).toEqual(['high', 2.5, -4, 0.9, 7, 'normal'])
    expect(pool.snapshot().parked).toEqual({ low: 2, normal: 1, high: 2, critical: 1 })
  })

  it('refuses what is not a finite number or a name, naming the option', async () => {
    const { pool } = controlledPool({ capacity: 1 })
    for (const bad of [NaN, Infinity, -Infinity, 'urgent', '2', null]) {
      await expect(pool.submit('x', { priority: bad as never })).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'priority' })
    }
    expect(pool.size).toBe(0)
  })

  it('aging raises a number one level per agingMs up to critical; one already above it does not age', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, policy: { agingMs: 100 } })
    await pool.submit('running')
    await pool.submit('old', { priority: 0.5 })
    await clock.advanceAsync(300) // 0.5 -> 3 (capped)
    await pool.submit('four', { priority: 4 })
    await pool.submit('critical', { priority: 'critical' })
    await jobs.finish('running')
    await jobs.finish('four')
    expect(jobs.order).toEqual(['running', 'four', 'old'])
  })

  it('drop-lowest drops the newest task of the lowest number, when the newcomer outranks it', async () => {
    const { pool } = controlledPool({ capacity: 1, maxQueueDepth: 2, policy: { onFull: 'drop-lowest' } })
    await pool.submit('running')
    const lowest = await pool.submit('a', { priority: -2 })
    const other = await pool.submit('b', { priority: -1 })
    await expect(pool.submit('c', { priority: -3 })).rejects.toMatchObject({ name: 'QueueFullError' })
    await pool.submit('d', { priority: -1.5 })
    expect(lowest.status).toBe('dropped')
    expect(other.status).toBe('parked')
  })

  it('a PGlite queue keeps a numeric priority across a restart', async () => {
    const db = await PGlite.create()
    const open = (): ResourcePool<string, string> =>
      new ResourcePool<string, string>({
        name: 'numbers',
        capacity: 1,
        executor: (text) => text,
        queue: new PGliteQueue<string>(db, { name: 'numbers' }),
        mailbox: new Mailbox({ store: new PGliteMailboxStore<string>(db, { name: 'numbers' }) }),
      })
    const first = open()
    first.pause()
    await first.submit('low-ish', { priority: 0.25 })
    await first.submit('high-ish', { priority: 2.75 })
    await first.submit('named', { priority: 'high' })
    await first.close()
    const order: string[] = []
    const second = open()
    second.on('started', ({ task }) => order.push(`${task.priority}`))
    await second.ready
    await second.onIdle()
    expect(order).toEqual(['2.75', 'high', '0.25'])
    await second.close()
    await db.close()
  })
})

describe('setPriority(id, priority)', () => {
  it('moves a parked task; it goes behind the tasks already parked at its new priority (as p-queue)', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    await pool.submit('running')
    await pool.submit('h1', { priority: 'high' })
    const moved = await pool.submit('moved', { priority: 'low' })
    await pool.submit('h2', { priority: 'high' })
    expect(pool.setPriority(moved.id, 'high')).toBe(true)
    expect(moved.priority).toBe('high')
    for (let i = 0; i < 4; i++) await jobs.finish(jobs.order.at(-1)!)
    expect(jobs.order).toEqual(['running', 'h1', 'h2', 'moved'])
  })

  it('a move that makes a task the head starts it when it fits; the same priority again moves it behind its peers', async () => {
    const { pool, jobs } = controlledPool({ capacity: 2, policy: { backfill: false } })
    await pool.submit('big', { cost: 2 })
    const a = await pool.submit('a', { cost: 2 })
    await pool.submit('b', { cost: 2 })
    pool.setPriority(a.id, 'normal')
    await jobs.finish('big')
    expect(jobs.order).toEqual(['big', 'b'])
  })

  it('works on a delayed task and a retrying one: each starts at its new place once due', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, maxAttempts: 2, retryBaseDelayMs: 50 })
    await pool.submit('first')
    const delayed = await pool.submit('delayed', { delayMs: 10 })
    await pool.submit('plain')
    expect(pool.setPriority(delayed.id, 'critical')).toBe(true)
    await clock.advanceAsync(10)
    await jobs.finish('first')
    expect(jobs.order).toEqual(['first', 'delayed'])
    await jobs.fail('delayed', new Error('again'))
    expect(delayed.status).toBe('retrying')
    expect(pool.setPriority(delayed.id, 'low')).toBe(true)
    expect(jobs.order.at(-1)).toBe('plain')
  })

  it('false for a task that runs, ended or is unknown; a bad priority is refused', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    const running = await pool.submit('running')
    const parked = await pool.submit('parked')
    expect(pool.setPriority(running.id, 'high')).toBe(false)
    expect(pool.setPriority('no-such-id', 'high')).toBe(false)
    expect(() => pool.setPriority(parked.id, NaN)).toThrow(InvalidOptionError)
    expect(() => pool.setPriority(parked.id, undefined as never)).toThrow(InvalidOptionError)
    expect(parked.priority).toBe('normal')
    await jobs.finish('running')
    await jobs.finish('parked')
    expect(pool.setPriority(parked.id, 'high')).toBe(false)
  })

  it('under fair share the moved task keeps its tenant', async () => {
    const { pool, jobs, clock } = controlledPool({ capacity: 1, policy: { fairShare: true } })
    await pool.submit('running', { tenant: 'a' })
    await pool.submit('a2', { tenant: 'a' })
    const b = await pool.submit('b1', { tenant: 'b', priority: 'low' })
    pool.setPriority(b.id, 'normal')
    await clock.advanceAsync(100) // a has used the pool for 100 ms; b not at all
    await jobs.finish('running')
    expect(jobs.order).toEqual(['running', 'b1'])
  })
})
