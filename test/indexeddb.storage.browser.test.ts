import { describe, expect, it } from 'vitest'
import { BackendError, ResourcePool } from '../src/index.js'
import { IndexedDBQueue } from '../src/indexeddb/index.js'

describe('IndexedDB storage conditions (Chromium)', () => {
  it('asks the browser to persist storage and reports its answer', async () => {
    const queue = new IndexedDBQueue({ database: `persist-${Date.now()}` })
    await queue.open('owner')
    expect(typeof queue.persisted).toBe('boolean')
    await queue.close()
  })

  it('a database deleted under a pool is reported: the next submit rejects with BackendError, nothing half-written', async () => {
    const database = `deleted-${Date.now()}`
    const pool = new ResourcePool<number, number>({
      capacity: 1,
      executor: () => new Promise(() => {}),
      queue: new IndexedDBQueue<number>({ database }),
    })
    await pool.submit(1)
    await new Promise<void>((resolve, reject) => {
      const request = indexedDB.deleteDatabase(database)
      request.onsuccess = () => resolve()
      request.onerror = () => reject(request.error)
    })
    const error = await pool.submit(2).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toMatch(/unavailable: the database was deleted/)
    expect(pool.size).toBe(0) // the refused task never entered the lot
  })
})
