// The shared queues' group commit: what arrives while writes are in flight goes in the next one.
import { describe, expect, it } from 'vitest'
import { Batcher } from '../src/sql/batcher.js'

/** A write that waits until the test lets it finish, recording each batch. */
function writes(): { batches: number[][]; finish(): void; batcher(concurrency?: number): Batcher<number, void> } {
  const batches: number[][] = []
  const pending: (() => void)[] = []
  return {
    batches,
    finish: () => pending.shift()?.(),
    batcher: (concurrency) =>
      new Batcher<number, void>(async (batch) => {
        batches.push(batch.map((entry) => entry.item))
        await new Promise<void>((resolve) => pending.push(resolve))
        for (const entry of batch) entry.resolve()
      }, concurrency),
  }
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('Batcher', () => {
  it('writes what is added in one turn together, and what comes during a write in the next one', async () => {
    const w = writes()
    const b = w.batcher()
    const done = [b.add(1), b.add(2)]
    await tick()
    done.push(b.add(3), b.add(4))
    await tick()
    expect(w.batches).toEqual([[1, 2]]) // one write at a time
    w.finish()
    await tick()
    expect(w.batches).toEqual([
      [1, 2],
      [3, 4],
    ])
    w.finish()
    await Promise.all(done)
    await b.whenIdle()
  })

  it('with concurrency 2, a second write starts while the first is in flight; whenIdle waits for both', async () => {
    const w = writes()
    const b = w.batcher(2)
    const first = b.add(1)
    await tick()
    const second = b.add(2)
    const third = b.add(3)
    await tick()
    expect(w.batches).toEqual([[1], [2, 3]])
    let idle = false
    const whenIdle = b.whenIdle().then(() => (idle = true))
    w.finish()
    await first
    await tick()
    expect(idle).toBe(false)
    w.finish()
    await Promise.all([second, third, whenIdle])
    expect(idle).toBe(true)
  })

  it('a failed write rejects the adds of its batch only', async () => {
    let calls = 0
    const b = new Batcher<number, void>(async (batch) => {
      if (++calls === 1) throw new Error('disk full')
      for (const entry of batch) entry.resolve()
    })
    const failed = b.add(1)
    await expect(failed).rejects.toThrow('disk full')
    await expect(b.add(2)).resolves.toBeUndefined()
  })
})
