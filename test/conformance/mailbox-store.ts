/** The MailboxStore contract, one body for every backend. */
import { describe, expect, it } from 'vitest'
import type { MailboxKey, MailboxMessage, MailboxStore } from '../../src/index.js'

let nextId = 0
export function message(key: MailboxKey, completedAt: number, overrides: Partial<MailboxMessage<string>> = {}): MailboxMessage<string> {
  nextId++
  return {
    id: `00000000-0000-7000-9000-${nextId.toString().padStart(12, '0')}`,
    taskId: `task-${nextId}`,
    key,
    status: 'completed',
    result: `r${nextId}`,
    attempts: 1,
    submittedAt: completedAt - 10,
    completedAt,
    ...overrides,
  }
}

/** What a backend test can tell the body about its store, to check what it keeps. */
export interface MailboxProbe {
  /** Messages (and their per-task index entries) the store holds now. */
  messagesKept(store: MailboxStore<string>): Promise<number> | number
}

export function describeMailboxStoreConformance(
  name: string,
  makeStore: () => Promise<MailboxStore<string>> | MailboxStore<string>,
  probe?: MailboxProbe,
): void {
  describe(`MailboxStore conformance: ${name}`, () => {
    it('keeps one message per task and status', async () => {
      const store = await makeStore()
      const m = message({ tenant: 't' }, 1)
      expect(await store.put(m)).toBe(true)
      expect(await store.put({ ...m, id: 'another-id' })).toBe(false)
      expect(await store.put({ ...m, id: 'third-id', status: 'failed' })).toBe(true)
      expect((await store.fetch({ tenant: 't' })).messages).toHaveLength(2)
      await store.close()
    })

    it('matches keys as a hierarchy and never across tenants', async () => {
      const store = await makeStore()
      const msgs = [
        message({ tenant: 't1' }, 1),
        message({ tenant: 't1', user: 'u1' }, 2),
        message({ tenant: 't1', user: 'u1', session: 's1' }, 3),
        message({ tenant: 't1', user: 'u2', session: 's1' }, 4),
        message({ tenant: 't2', user: 'u1', session: 's1' }, 5),
      ]
      for (const m of msgs) await store.put(m)
      const ids = async (key: MailboxKey): Promise<string[]> => (await store.fetch(key)).messages.map((m) => m.id)
      expect(await ids({ tenant: 't1' })).toEqual([msgs[0]!.id, msgs[1]!.id, msgs[2]!.id, msgs[3]!.id])
      expect(await ids({ tenant: 't1', user: 'u1' })).toEqual([msgs[1]!.id, msgs[2]!.id])
      expect(await ids({ tenant: 't1', user: 'u1', session: 's1' })).toEqual([msgs[2]!.id])
      expect(await ids({ tenant: 't2' })).toEqual([msgs[4]!.id])
      expect(await ids({ tenant: 't3' })).toEqual([])
      await store.close()
    })

    it('pages in completion order with an opaque cursor', async () => {
      const store = await makeStore()
      const msgs = Array.from({ length: 7 }, (_, i) => message({ tenant: 't', user: 'u' }, 100 + i))
      for (const m of msgs) await store.put(m)
      const seen: string[] = []
      let cursor: string | undefined
      for (;;) {
        const page = await store.fetch({ tenant: 't', user: 'u' }, { since: cursor, limit: 3 })
        if (page.messages.length === 0) break
        seen.push(...page.messages.map((m) => m.id))
        cursor = page.cursor
      }
      expect(seen).toEqual(msgs.map((m) => m.id))
      // New messages after the last cursor are what the next fetch returns.
      const late = message({ tenant: 't', user: 'u' }, 200)
      await store.put(late)
      expect((await store.fetch({ tenant: 't' }, { since: cursor })).messages.map((m) => m.id)).toEqual([late.id])
      await store.close()
    })

    it('ack removes consumed messages, and only within the key', async () => {
      const store = await makeStore()
      const mine = message({ tenant: 't1', user: 'u' }, 1)
      const theirs = message({ tenant: 't2', user: 'u' }, 2)
      await store.put(mine)
      await store.put(theirs)
      expect(await store.ack({ tenant: 't1' }, [mine.id, theirs.id])).toBe(1)
      expect((await store.fetch({ tenant: 't1' })).messages).toEqual([])
      expect((await store.fetch({ tenant: 't2' })).messages.map((m) => m.id)).toEqual([theirs.id])
      await store.close()
    })

    it('prunes by completion time (retention)', async () => {
      const store = await makeStore()
      const old = message({ tenant: 't' }, 1_000)
      const recent = message({ tenant: 't' }, 5_000)
      await store.put(old)
      await store.put(recent)
      expect(await store.prune(2_000)).toBe(1)
      expect((await store.fetch({ tenant: 't' })).messages.map((m) => m.id)).toEqual([recent.id])
      await store.close()
    })

    it('stores results and errors faithfully', async () => {
      const store = await makeStore()
      const failed = message({ tenant: 't' }, 1, {
        status: 'failed',
        result: undefined,
        error: { code: 'TASK_FAILED', message: 'boom' },
        attempts: 3,
      })
      await store.put(failed)
      const [back] = (await store.fetch({ tenant: 't' })).messages
      expect(back).toEqual(failed)
      await store.close()
    })

    it("finds a task's newest message by its id, whatever its key, until it is acked", async () => {
      const store = await makeStore()
      const cancelled = message({ tenant: 't', user: 'u' }, 1, {
        status: 'cancelled',
        result: undefined,
        error: { code: 'TASK_CANCELLED', message: 'c' },
      })
      await store.put(cancelled)
      await store.put(message({ tenant: 'other' }, 2))
      expect(await store.findByTask(cancelled.taskId)).toEqual(cancelled)
      expect(await store.findByTask('no-such-task')).toBeUndefined()
      expect(await store.ack({ tenant: 't' }, [cancelled.id])).toBe(1)
      expect(await store.findByTask(cancelled.taskId)).toBeUndefined()
      await store.close()
    })

    it('keeps nothing of what was acked or pruned', async () => {
      const store = await makeStore()
      const messages = [1, 2, 3, 4].map((at) => message({ tenant: 't' }, at * 1_000))
      for (const m of messages) await store.put(m)
      expect(await store.ack({ tenant: 't' }, [messages[0]!.id, messages[1]!.id])).toBe(2)
      expect(await store.prune(3_500)).toBe(1)
      if (probe !== undefined) expect(await probe.messagesKept(store)).toBe(1)
      expect((await store.fetch({ tenant: 't' })).messages.map((m) => m.id)).toEqual([messages[3]!.id])
      await store.close()
    })
  })
}
