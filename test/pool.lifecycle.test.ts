import { describe, expect, it } from 'vitest'
import { PoolClosedError, QueueLockedError, MemoryQueue, ResourcePool } from '../src/index.js'
import { controlledPool } from './helpers.js'

describe('close', () => {
  it('refuses new submits, lets running work finish, cancels parked tasks of a memory queue', async () => {
    const { pool, jobs } = controlledPool({ capacity: 1 })
    const running = await pool.submit('r')
    const parked = await pool.submit('p')
    const closed = pool.close()
    await expect(pool.submit('late')).rejects.toBeInstanceOf(PoolClosedError)
    expect(parked.status).toBe('cancelled')
    expect(running.status).toBe('running')
    let done = false
    void closed.then(() => (done = true))
    await jobs.finish('r', 'ok')
    await closed
    expect(done).toBe(true)
    await expect(running.result).resolves.toBe('ok')
    expect(pool.isClosed).toBe(true)
  })

  it('a queue has one owner at a time', async () => {
    const queue = new MemoryQueue()
    const first = new ResourcePool({ capacity: 1, executor: () => 1, queue })
    expect(() => new ResourcePool({ capacity: 1, executor: () => 1, queue })).not.toThrow()
    const second = new ResourcePool({ capacity: 1, executor: () => 1, queue })
    await expect(second.submit(1)).rejects.toBeInstanceOf(QueueLockedError)
    await expect(second.close()).resolves.toBeUndefined() // it never owned the queue
    expect(queue.owner).toBeDefined()
    await first.close()
    const third = new ResourcePool({ capacity: 1, executor: () => 1, queue })
    await expect(third.submit(1)).resolves.toBeDefined()
  })
})
