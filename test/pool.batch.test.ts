// submitAll (every item or none, in one write) and onSizeLessThan (backpressure for producers).
import { describe, expect, it, vi } from 'vitest'
import { IdempotencyConflictError, InvalidCostError, MemoryQueue, QueueFullError, TaskDroppedError } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('submitAll', () => {
  it('accepts every item with one write to the queue', async () => {
    const queue = new MemoryQueue<number>()
    const put = vi.spyOn(queue, 'put')
    const { pool, jobs } = controlledPool<number>({ capacity: 2, queue })
    const handles = await pool.submitAll(
      Array.from({ length: 100 }, (_, i) => ({ payload: i, options: { priority: i % 2 ? 'high' : 'low' } })),
    )
    expect(put).toHaveBeenCalledTimes(1)
    expect(put.mock.calls[0]![0]).toHaveLength(100)
    expect(handles.map((h) => h.status).filter((s) => s === 'running')).toHaveLength(2)
    expect(jobs.order).toEqual([1, 3]) // admitted together: the first two of the higher priority start
    expect(pool.size).toBe(98)
  })

  it('refuses every item when one is refused, naming it, and changes nothing', async () => {
    const { pool, jobs } = controlledPool<string>({ capacity: 1 })
    const error = await pool
      .submitAll([{ payload: 'a', options: { key: 'ka' } }, { payload: 'b' }, { payload: 'c', options: { cost: -1 } }])
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidCostError)
    expect((error as Error).message).toMatch(/^submitAll item 2: Expected `cost` to be a finite number >= 0/)
    expect(pool.size).toBe(0)
    expect(jobs.started).toHaveLength(0)
    // The key of the refused batch was never taken.
    const a = await pool.submit('other payload', { key: 'ka' })
    expect(a.status).toBe('running')
  })

  it('gives one task for a key given twice, and refuses a key given twice with different payloads', async () => {
    const { pool } = controlledPool<string>({ capacity: 1 })
    const [x, y] = await pool.submitAll([
      { payload: 'same', options: { key: 'k' } },
      { payload: 'same', options: { key: 'k' } },
    ])
    expect(y).toBe(x)
    await expect(
      pool.submitAll([
        { payload: 'one', options: { key: 'j' } },
        { payload: 'two', options: { key: 'j' } },
      ]),
    ).rejects.toBeInstanceOf(IdempotencyConflictError)
  })

  it('takes room for all or none: under reject a batch that does not fit is refused whole', async () => {
    const { pool } = controlledPool<string>({ capacity: 1, maxQueueDepth: 2 })
    await pool.submit('running')
    await expect(pool.submitAll([{ payload: 'a' }, { payload: 'b' }, { payload: 'c' }])).rejects.toBeInstanceOf(QueueFullError)
    expect(pool.size).toBe(0)
    await pool.submitAll([{ payload: 'a' }, { payload: 'b' }])
    expect(pool.size).toBe(2)
  })

  it('counts as parking only the tasks that will not start at once', async () => {
    const { pool, jobs } = controlledPool<string>({ capacity: 2, maxQueueDepth: 1 })
    // An idle pool: the first two (in start order) fit and start; one more parks; room for one.
    const three = await pool.submitAll([{ payload: 'a' }, { payload: 'b' }, { payload: 'c', options: { priority: 'high' } }])
    expect(three.map((t) => t.status)).toEqual(['running', 'parked', 'running'])
    expect(jobs.order).toEqual(['c', 'a'])
    await jobs.finish('c')
    await jobs.finish('a')
    await jobs.finish('b')
    await expect(pool.submitAll(['d', 'e', 'f', 'g'].map((payload) => ({ payload })))).rejects.toBeInstanceOf(QueueFullError)
  })

  it('under drop-lowest drops lower-priority tasks only if room can be made for the whole batch', async () => {
    const { pool } = controlledPool<string>({ capacity: 1, maxQueueDepth: 2, policy: { onFull: 'drop-lowest' } })
    await pool.submit('running')
    const low = await Promise.all([pool.submit('low 1', { priority: 'low' }), pool.submit('low 2', { priority: 'low' })])
    const three = Array.from({ length: 3 }, (_, i) => ({ payload: `high ${i}`, options: { priority: 'high' as const } }))
    await expect(pool.submitAll(three)).rejects.toBeInstanceOf(QueueFullError)
    expect(low.map((t) => t.status)).toEqual(['parked', 'parked']) // nothing was dropped for a refused batch
    await pool.submitAll(three.slice(0, 2))
    expect(low.map((t) => t.status)).toEqual(['dropped', 'dropped'])
    await expect(low[0]!.result).rejects.toBeInstanceOf(TaskDroppedError)
  })

  it("an item's signal aborted while its batch makes room (a dropped listener) cancels that item; it never runs", async () => {
    const { pool, jobs } = controlledPool<string>({ capacity: 1, maxQueueDepth: 1, policy: { onFull: 'drop-lowest' } })
    await pool.submit('running')
    await pool.submit('low', { priority: 'low' })
    const controller = new AbortController()
    pool.on('dropped', () => controller.abort(new Error('the user gave up')))
    const [high] = await pool.submitAll([{ payload: 'high', options: { priority: 'high', signal: controller.signal } }])
    expect(high!.status).toBe('cancelled')
    await jobs.finish('running')
    await pool.onIdle()
    expect(jobs.started.map((job) => job.payload)).toEqual(['running'])
  })
})

describe('onSizeLessThan', () => {
  it('resolves once fewer than n tasks are parked, at once if already so', async () => {
    const { pool, jobs } = controlledPool<string>({ capacity: 1 })
    await expect(pool.onSizeLessThan(1)).resolves.toBeUndefined()
    await pool.submitAll(['a', 'b', 'c', 'd'].map((payload) => ({ payload })))
    expect(pool.size).toBe(3)
    let below2 = false
    void pool.onSizeLessThan(2).then(() => (below2 = true))
    await jobs.finish('a')
    expect(pool.size).toBe(2)
    expect(below2).toBe(false)
    await jobs.finish('b')
    expect(pool.size).toBe(1)
    expect(below2).toBe(true)
  })
})
