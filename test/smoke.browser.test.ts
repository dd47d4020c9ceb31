import { expect, it } from 'vitest'
import { ManualClock, ResourcePool } from '../src/index.js'

it('runs the pool in a real browser page', async () => {
  expect(typeof indexedDB).toBe('object')
  const pool = new ResourcePool<number, number>({ capacity: 1, clock: new ManualClock(), executor: (n) => n * 2 })
  const task = await pool.submit(21)
  await expect(task.result).resolves.toBe(42)
})
