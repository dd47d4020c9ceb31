import { describe, expect, it } from 'vitest'
import { buildPools } from '../src/config/index.js'
import { BroadcastNotifier, ManualClock, Mailbox, MemoryMailboxStore, ResourcePool, type MailboxMessage } from '../src/index.js'

/** Resolves with the first `count` messages a listener for `key` receives (real BroadcastChannel). */
function collect(key: { tenant: string; user?: string }, count: number, channel: string): Promise<MailboxMessage[]> {
  return new Promise((resolve) => {
    const got: MailboxMessage[] = []
    const stop = BroadcastNotifier.listen(
      key,
      (message) => {
        got.push(message)
        if (got.length === count) {
          stop()
          resolve(got)
        }
      },
      { channel },
    )
  })
}

describe('BroadcastNotifier', () => {
  it('announces each stored message to live listeners whose key covers it, and to no other tenant', async () => {
    const channel = `test-${Math.random()}`
    const notifier = new BroadcastNotifier<string>({ channel })
    const clock = new ManualClock()
    const pool = new ResourcePool<string, string>({
      capacity: 1,
      clock,
      executor: (p) => `done:${p}`,
      mailbox: new Mailbox({ store: new MemoryMailboxStore(), notifiers: [notifier] }),
    })
    const forUser = collect({ tenant: 't1', user: 'u1' }, 2, channel)
    let otherTenant = 0
    const stopOther = BroadcastNotifier.listen({ tenant: 't2' }, () => otherTenant++, { channel })
    const a = await pool.submit('a', { mailbox: { tenant: 't1', user: 'u1', session: 's1' } })
    await pool.submit('b', { mailbox: { tenant: 't1', user: 'u2' } })
    const c = await pool.submit('c', { mailbox: { tenant: 't1', user: 'u1' } })
    const messages = await forUser
    expect(messages.map((m) => [m.taskId, m.status, m.result])).toEqual([
      [a.id, 'completed', 'done:a'],
      [c.id, 'completed', 'done:c'],
    ])
    expect(otherTenant).toBe(0)
    stopOther()
    notifier.close()
  })

  it('a message that cannot be cloned fails the notification, not the stored message', async () => {
    const notifier = new BroadcastNotifier<unknown>({ channel: `test-${Math.random()}` })
    const failures: unknown[] = []
    const mailbox = new Mailbox<unknown>({ store: new MemoryMailboxStore(), notifiers: [notifier], onNotifyError: (e) => failures.push(e) })
    const pool = new ResourcePool<string, unknown>({ capacity: 1, executor: () => ({ callback: () => 1 }), mailbox })
    const task = await pool.submit('x', { mailbox: { tenant: 't' } })
    await pool.onIdle()
    await expect(task.result).resolves.toBeDefined()
    expect((await mailbox.fetch({ tenant: 't' })).messages).toHaveLength(1)
    expect(failures).toHaveLength(1)
    notifier.close()
  })

  it("is the config's 'broadcast' notifier", async () => {
    const pools = await buildPools(
      'pools:\n  p:\n    max_units: 1\n    queue: { type: in_memory }\n    mailbox:\n      storage: { type: in_memory }\n      notifier: { type: broadcast, channel: cfg-test }\n',
      { executors: { p: () => 'ok' } },
    )
    const heard = collect({ tenant: 't' }, 1, 'cfg-test')
    await pools['p']!.submit('x', { mailbox: { tenant: 't' } })
    expect((await heard)[0]).toMatchObject({ status: 'completed', result: 'ok' })
    await pools['p']!.mailbox.close()
  })
})
