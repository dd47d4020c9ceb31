// Admission edges: a cancel or a close that comes while a submit's durable write is in flight,
// and what a pool does not expose.
import { describe, expect, it } from 'vitest'
import { InvalidOptionError, MemoryQueue, ResourcePool, TaskCancelledError, TaskDetachedError, type TaskRecord } from '../src/index.js'
import { controlledPool, flushPromises } from './helpers.js'

/** A durable-looking queue whose writes wait until the test lets them finish (or fail). */
class SlowQueue<P> extends MemoryQueue<P> {
  override readonly durable = true as never
  readonly settled: TaskRecord<P>[] = []
  #pending: { resolve(): void; reject(error: Error): void }[] = []
  override put(records: readonly TaskRecord<P>[]): Promise<void> {
    return new Promise<void>((resolve, reject) => this.#pending.push({ resolve, reject })).then(() => super.put(records))
  }
  override settle(record: TaskRecord<P>, settlement: Parameters<MemoryQueue<P>['settle']>[1]): void {
    this.settled.push(record)
    super.settle(record, settlement)
  }
  finishWrites(): void {
    for (const write of this.#pending.splice(0)) write.resolve()
  }
  failWrites(error: Error): void {
    for (const write of this.#pending.splice(0)) write.reject(error)
  }
}

describe('a cancel while the accept write is in flight', () => {
  it('waits for the write: the task is stored first, then ends cancelled without running', async () => {
    const queue = new SlowQueue<string>()
    const { pool, jobs } = controlledPool<string>({ capacity: 1, queue })
    const controller = new AbortController()
    const submitted = pool.submit('x', { signal: controller.signal, mailbox: { tenant: 't' } })
    controller.abort('changed my mind')
    await flushPromises()
    expect(queue.settled).toEqual([]) // nothing ends before it is stored
    queue.finishWrites()
    const task = await submitted
    expect(task.status).toBe('cancelled')
    await expect(task.result).rejects.toBeInstanceOf(TaskCancelledError)
    expect(queue.settled.map((r) => r.id)).toEqual([task.id])
    expect(queue.size).toBe(0)
    expect(jobs.started).toHaveLength(0)
    await pool.onIdle()
    expect((await pool.mailbox.fetch({ tenant: 't' })).messages.map((m) => m.status)).toEqual(['cancelled'])
  })

  it('when the write fails, the submit is refused and nothing is counted, delivered or ended', async () => {
    const queue = new SlowQueue<string>()
    const { pool } = controlledPool<string>({ capacity: 1, queue })
    const controller = new AbortController()
    const submitted = pool.submit('x', { signal: controller.signal, mailbox: { tenant: 't' } })
    controller.abort()
    await flushPromises()
    queue.failWrites(new Error('disk full'))
    await expect(submitted).rejects.toThrow('disk full')
    expect(pool.stats().outcomes).toEqual({ completed: 0, failed: 0, expired: 0, dropped: 0, cancelled: 0 })
    expect((await pool.mailbox.fetch({ tenant: 't' })).messages).toEqual([])
    expect(queue.settled).toEqual([])
  })
})

describe('close() while a submit is being written', () => {
  it('on a durable queue the accepted task is detached: it stays stored for the next start', async () => {
    const queue = new SlowQueue<string>()
    const { pool, jobs } = controlledPool<string>({ capacity: 1, queue })
    const submitted = pool.submit('late')
    await flushPromises()
    const closing = pool.close()
    queue.finishWrites()
    const task = await submitted
    expect(task.status).toBe('detached')
    await expect(task.result).rejects.toBeInstanceOf(TaskDetachedError)
    await closing
    expect(jobs.started).toHaveLength(0)
    expect(queue.list().map((r) => r.id)).toEqual([task.id])
  })
})

describe('a retrying task keeps its wait limit', () => {
  it('expires during its backoff even when other tasks came and went meanwhile', async () => {
    const { pool, jobs, clock } = controlledPool<string>({ capacity: 1, maxAttempts: 3, retryBaseDelayMs: 10_000, random: () => 1 })
    const task = await pool.submit('flaky', { waitTimeoutMs: 500 })
    await jobs.fail('flaky', new Error('first'))
    expect(task.status).toBe('retrying')
    // An unrelated task: its start and end re-arm the deadline timer.
    await pool.submit('other')
    await jobs.finish('other')
    await clock.advanceAsync(500)
    expect(task.status).toBe('expired')
    expect(jobs.started.map((s) => s.payload)).toEqual(['flaky', 'other'])
  })
})

describe('what a pool does not expose', () => {
  it('has no internal task methods, and its base class cannot be constructed directly', () => {
    const pool = new ResourcePool({ capacity: 1, executor: () => 1 })
    for (const name of ['cancelTask', 'onProgress', 'positionOf', 'defaultCostVector', 'costObject']) expect(name in pool).toBe(false)
    const Base = Object.getPrototypeOf(ResourcePool) as new (...args: unknown[]) => unknown
    expect(() => new Base(Symbol('guess'), { capacity: 1, executor: () => 1 }, {})).toThrow(TypeError)
  })

  it('refuses a bad onSizeLessThan limit with a rejected promise', async () => {
    const pool = new ResourcePool({ capacity: 1, executor: () => 1 })
    await expect(pool.onSizeLessThan(undefined as unknown as number)).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(pool.onSizeLessThan(0)).rejects.toBeInstanceOf(InvalidOptionError)
  })
})
