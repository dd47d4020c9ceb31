import { describe, expect, it } from 'vitest'
import { ManualClock, Mailbox, MemoryMailboxStore, type MailboxMessage } from '../src/index.js'
import { message } from './conformance/mailbox-store.js'

describe('Mailbox', () => {
  it('stores first, then notifies; a failing notifier never loses the message and is reported', async () => {
    const notified: string[] = []
    const failures: unknown[] = []
    const mailbox = new Mailbox<string>({
      store: new MemoryMailboxStore(),
      notifiers: [
        { notify: () => Promise.reject(new Error('webhook down')) },
        { notify: (m: MailboxMessage<string>) => void notified.push(m.id) },
        {
          notify: () => {
            throw new Error('sync failure')
          },
        },
      ],
      onNotifyError: (error) => failures.push(error),
    })
    const m = message({ tenant: 't' }, 1)
    await mailbox.deliver(m)
    expect((await mailbox.fetch({ tenant: 't' })).messages).toEqual([m])
    expect(notified).toEqual([m.id])
    expect(failures.map((e) => (e as Error).message).sort()).toEqual(['sync failure', 'webhook down'])
  })

  it('notifies once per task and status (a repeated delivery is not new)', async () => {
    let count = 0
    const mailbox = new Mailbox<string>({ store: new MemoryMailboxStore(), notifiers: [{ notify: () => void count++ }] })
    const m = message({ tenant: 't' }, 1)
    expect(await mailbox.deliver(m)).toBe(true)
    expect(await mailbox.deliver({ ...m, id: 'again' })).toBe(false)
    expect(count).toBe(1)
  })

  it('retention prunes messages older than retentionMs as new ones arrive', async () => {
    const clock = new ManualClock(10_000)
    const mailbox = new Mailbox<string>({ store: new MemoryMailboxStore(), retentionMs: 1_000, clock })
    await mailbox.deliver(message({ tenant: 't' }, 8_000))
    const recent = message({ tenant: 't' }, 9_500)
    await mailbox.deliver(recent)
    expect((await mailbox.fetch({ tenant: 't' })).messages).toEqual([recent])
  })
})
