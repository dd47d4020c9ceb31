/**
 * The TaskQueue contract, one body for every backend. A backend test calls
 * `describeTaskQueueConformance(name, factory)`; the factory makes a fresh, empty queue.
 */
import { describe, expect, it } from 'vitest'
import { QueueLockedError, type TaskQueue, type TaskRecord } from '../../src/index.js'

export function record(seq: number, overrides: Partial<TaskRecord<{ n: number }>> = {}): TaskRecord<{ n: number }> {
  return {
    id: `00000000-0000-7000-8000-${seq.toString().padStart(12, '0')}`,
    seq,
    payload: { n: seq },
    cost: { vram: 2 },
    priority: 'normal',
    tenant: 't',
    mailbox: { tenant: 't', user: 'u' },
    key: undefined,
    fingerprint: undefined,
    handler: undefined,
    model: undefined,
    submittedAt: 1_000 + seq,
    waitDeadline: undefined,
    runTimeoutMs: undefined,
    maxAttempts: 3,
    attempt: 0,
    notBefore: undefined,
    lease: undefined,
    ...overrides,
  }
}

const settlement = (status: 'completed' | 'failed', retainKeyUntil: number) =>
  ({ status, endedAt: 5_000, retainKeyUntil, message: undefined, outcome: { ok: true, value: undefined } }) as const

/** What a backend test can tell the body about its store, to check what it keeps. */
export interface QueueProbe {
  /** Ended-key records the store holds now (every queue of it). */
  keysKept(queue: TaskQueue<{ n: number }>): Promise<number> | number
}

export function describeTaskQueueConformance(
  name: string,
  makeQueue: () => Promise<TaskQueue<{ n: number }>> | TaskQueue<{ n: number }>,
  probe?: QueueProbe,
): void {
  describe(`TaskQueue conformance: ${name}`, () => {
    async function reopen(queue: TaskQueue<{ n: number }>, owner = 'next-owner'): Promise<readonly TaskRecord<{ n: number }>[]> {
      await queue.close()
      return queue.open(owner)
    }

    it('starts empty and returns what was put, in seq order, to the next owner', async () => {
      const queue = await makeQueue()
      expect(await queue.open('owner-1')).toEqual([])
      await queue.put([record(2), record(1, { priority: 'high', key: 'k1', fingerprint: '"x"' })])
      await queue.put([record(3, { waitDeadline: 9_000, handler: 'gen' }), record(4, { notBefore: 7_000 })])
      const stored = await reopen(queue)
      expect(stored.map((r) => r.seq)).toEqual([1, 2, 3, 4])
      expect(stored[0]).toEqual(record(1, { priority: 'high', key: 'k1', fingerprint: '"x"' }))
      expect(stored[2]).toEqual(record(3, { waitDeadline: 9_000, handler: 'gen' }))
      expect(stored[3]).toEqual(record(4, { notBefore: 7_000 })) // a delayed task (`delayMs` / `runAt`) keeps its time
      await queue.close()
    })

    it('has one owner at a time', async () => {
      const queue = await makeQueue()
      await queue.open('owner-1')
      await expect(Promise.resolve().then(() => queue.open('owner-2'))).rejects.toBeInstanceOf(QueueLockedError)
      await queue.close()
      await expect(Promise.resolve().then(() => queue.open('owner-2'))).resolves.toEqual([])
      await queue.close()
    })

    it('refuses a batch with a live idempotency key, storing none of it', async () => {
      const queue = await makeQueue()
      await queue.open('owner-1')
      await queue.put([record(1, { key: 'k' })])
      await expect(Promise.resolve().then(() => queue.put([record(2), record(3, { key: 'k' })]))).rejects.toThrow()
      expect((await reopen(queue)).map((r) => r.seq)).toEqual([1])
      await queue.close()
    })

    it('claims with a lease and attempt, renews, and releases for a retry', async () => {
      const queue = await makeQueue()
      await queue.open('owner-1')
      const [a, b] = [record(1), record(2)]
      await queue.put([a, b])
      await queue.claim(a, 1, { owner: 'owner-1', expiresAt: 10_000 })
      await queue.claim(b, 1, { owner: 'owner-1', expiresAt: 10_000 })
      await queue.renew([a], 20_000)
      await queue.release(b, 15_000)
      const stored = await reopen(queue)
      expect(stored[0]).toMatchObject({ seq: 1, attempt: 1, lease: { owner: 'owner-1', expiresAt: 20_000 } })
      expect(stored[1]).toMatchObject({ seq: 2, attempt: 1, lease: undefined, notBefore: 15_000 })
      await queue.close()
    })

    it('settles (idempotently) and remembers the key until retainKeyUntil', async () => {
      const queue = await makeQueue()
      await queue.open('owner-1')
      const a = record(1, { key: 'req-1', fingerprint: 'fp' })
      await queue.put([a, record(2)])
      expect(await queue.findKey('req-1', 5_000)).toMatchObject({ taskId: a.id, status: undefined, fingerprint: 'fp' })
      await queue.settle(a, settlement('completed', 8_000))
      await queue.settle(a, settlement('completed', 8_000))
      expect(await queue.findKey('req-1', 7_999)).toMatchObject({ taskId: a.id, status: 'completed', retainUntil: 8_000 })
      expect(await queue.findKey('req-1', 8_000)).toBeUndefined()
      expect(await queue.findKey('other', 5_000)).toBeUndefined()
      // The key is free again for a new task.
      await queue.put([record(3, { key: 'req-1' })])
      expect((await reopen(queue)).map((r) => r.seq)).toEqual([2, 3])
      await queue.close()
    })

    it('settles records it handed out on open (recovery)', async () => {
      const queue = await makeQueue()
      await queue.open('owner-1')
      await queue.put([record(1), record(2)])
      const recovered = await reopen(queue)
      await queue.claim(recovered[0]!, 2, { owner: 'next-owner', expiresAt: 1 })
      await queue.settle(recovered[0]!, settlement('failed', 0))
      expect((await reopen(queue, 'third')).map((r) => r.seq)).toEqual([2])
      await queue.close()
    })

    it("keeps an ended key with its task's fields until its retention, then forgets it; later settles prune it", async () => {
      const queue = await makeQueue()
      await queue.open('owner-1')
      const first = record(1, { key: 'a', fingerprint: '"a"', handler: 'gen', mailbox: undefined })
      const second = record(2, { key: 'b', fingerprint: '"b"' })
      await queue.put([first, second])
      await queue.claim(first, 1, { owner: 'owner-1', expiresAt: 9_000 })
      await queue.settle(
        { ...first, attempt: 1 },
        { status: 'completed', endedAt: 5_000, retainKeyUntil: 6_000, message: undefined, outcome: { ok: true, value: undefined } },
      )
      expect(await queue.findKey('a', 5_999)).toEqual({
        key: 'a',
        taskId: first.id,
        fingerprint: '"a"',
        status: 'completed',
        retainUntil: 6_000,
        task: { priority: 'normal', cost: { vram: 2 }, tenant: 't', mailbox: undefined, handler: 'gen', submittedAt: 1_001, attempt: 1 },
      })
      expect(await queue.findKey('a', 6_000)).toBeUndefined()
      await queue.settle(second, {
        status: 'failed',
        endedAt: 7_000,
        retainKeyUntil: 8_000,
        message: undefined,
        outcome: { ok: true, value: undefined },
      })
      if (probe !== undefined) expect(await probe.keysKept(queue)).toBe(1) // `a` went when `b` ended
      expect(await queue.findKey('b', 7_500)).toMatchObject({ status: 'failed', taskId: second.id })
      await queue.close()
    })
  })
}
