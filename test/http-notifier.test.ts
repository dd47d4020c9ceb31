// HttpNotifier against a real local HTTP receiver (node:http) that verifies every request with the
// `standardwebhooks` package, and answers what each test scripts: failures, Retry-After, 410, silence.
import type { ServerResponse } from 'node:http'
import { afterEach, describe, expect, it } from 'vitest'
import { webhookReceiver, type Answer, type Receiver } from './webhook-receiver.js'
import { HttpNotifier, Mailbox, ManualClock, MemoryMailboxStore, ResourcePool, type DeadLetter, type MailboxMessage } from '../src/index.js'

const SECRET = `whsec_${Buffer.from('a secret of the receiver, 32 bytes!').toString('base64')}`

const opened: Receiver[] = []
afterEach(async () => {
  for (const receiver of opened.splice(0)) await receiver.close()
})

async function receiver(answer: Answer): Promise<Receiver> {
  const made = await webhookReceiver(SECRET, answer)
  opened.push(made)
  return made
}

const status =
  (code: number, headers: Record<string, string> = {}) =>
  (_: number, res: ServerResponse) => {
    res.writeHead(code, headers)
    return true
  }

function message(id: string): MailboxMessage<string> {
  const now = Date.now()
  return {
    id,
    taskId: `task-${id}`,
    key: { tenant: 't' },
    status: 'completed',
    result: 'done',
    attempts: 1,
    submittedAt: now,
    completedAt: now,
  }
}

describe('HttpNotifier', () => {
  it('POSTs each new mailbox message, signed so that a Standard Webhooks receiver verifies it', async () => {
    const r = await receiver(status(204))
    const notifier = new HttpNotifier({ url: r.url, secret: SECRET })
    const pool = new ResourcePool<string, string>({
      capacity: 1,
      executor: (payload) => payload.toUpperCase(),
      mailbox: new Mailbox<string>({ store: new MemoryMailboxStore<string>(), notifiers: [notifier] }),
    })
    const task = await pool.submit('hello', { mailbox: { tenant: 't', user: 'u' } })
    await task.result
    await pool.onIdle()
    await notifier.flush()
    expect(r.received).toHaveLength(1)
    expect(r.received[0]!.verified).toBe(true)
    const sent = JSON.parse(r.received[0]!.body) as MailboxMessage<string>
    expect([sent.taskId, sent.result, sent.status]).toEqual([task.id, 'HELLO', 'completed'])
    await pool.close()
  })

  it('retries failures with backoff, the same webhook-id each time (signed with the real time), until a 2xx', async () => {
    const clock = new ManualClock(0) // the timers' clock; the signature's timestamp is real time all the same
    const r = await receiver((n, res) => {
      res.writeHead(n < 3 ? 503 : 200)
      return true
    })
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({
      url: r.url,
      secret: SECRET,
      clock,
      random: () => 0.5,
      retryBaseDelayMs: 1_000,
      onDeadLetter: (l) => letters.push(l),
    })
    notifier.notify(message('m1'))
    await r.requests(1)
    await untilRetry(clock, 750) // the first retry: 1 s x (0.5 + 0.5/2)
    await clock.advanceAsync(750)
    await r.requests(2)
    await untilRetry(clock, 1_500) // the second: 2 s x 0.75
    await clock.advanceAsync(1_499)
    expect(r.received).toHaveLength(2) // the second retry waits 2 s x 0.75
    await clock.advanceAsync(1)
    await notifier.flush()
    expect(r.received.map((x) => [x.id, x.verified])).toEqual([
      ['m1', true],
      ['m1', true],
      ['m1', true],
    ])
    expect([letters, notifier.pending]).toEqual([[], 0])
  })

  it('honours Retry-After as the least wait before the next try', async () => {
    const clock = new ManualClock(Date.now())
    const r = await receiver((n, res) => {
      res.writeHead(n === 1 ? 429 : 200, n === 1 ? { 'retry-after': '30' } : {})
      return true
    })
    const notifier = new HttpNotifier({ url: r.url, secret: SECRET, clock, random: () => 0, retryBaseDelayMs: 10 })
    notifier.notify(message('m2'))
    await r.requests(1)
    await untilRetry(clock, 30_000) // 10 ms of backoff, but the receiver asked for 30 s
    await clock.advanceAsync(29_999)
    expect(r.received).toHaveLength(1)
    await clock.advanceAsync(1)
    await notifier.flush()
    expect(r.received).toHaveLength(2)
  })

  it('a redirect is a failed try, not followed; a Retry-After that is not delta-seconds or a date falls back to the backoff', async () => {
    const clock = new ManualClock(0)
    const r = await receiver((n, res) => {
      if (n === 1) res.writeHead(303, { location: '/elsewhere', 'retry-after': '0x10' })
      else res.writeHead(200)
      return true
    })
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({
      url: r.url,
      secret: SECRET,
      clock,
      random: () => 0,
      retryBaseDelayMs: 100,
      onDeadLetter: (l) => letters.push(l),
    })
    notifier.notify(message('r1'))
    await r.requests(1)
    await untilRetry(clock, 50) // not 16 s: "0x10" is no Retry-After
    await clock.advanceAsync(50)
    await notifier.flush()
    expect(r.received.map((x) => x.id)).toEqual(['r1', 'r1']) // both POSTs to /hooks: /elsewhere never asked
    expect(letters).toEqual([])
  })

  it('410 disables the endpoint: nothing more is sent, and each message becomes a dead letter', async () => {
    const r = await receiver(status(410))
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({ url: r.url, secret: SECRET, onDeadLetter: (l) => letters.push(l) })
    notifier.notify(message('m3'))
    await notifier.flush()
    notifier.notify(message('m4'))
    await notifier.flush()
    expect(notifier.disabled).toBe(true)
    expect(r.received.map((x) => x.id)).toEqual(['m3'])
    expect(letters.map((l) => [l.message.id, l.reason, l.attempts, l.lastError])).toEqual([
      ['m3', 'disabled', 1, 'HTTP 410'],
      ['m4', 'disabled', 0, undefined],
    ])
  })

  it('a 410 also ends the deliveries waiting for a retry, at once', async () => {
    const clock = new ManualClock(0)
    const r = await receiver((n, res) => {
      res.writeHead(n === 1 ? 500 : 410)
      return true
    })
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({ url: r.url, secret: SECRET, clock, random: () => 0, onDeadLetter: (l) => letters.push(l) })
    notifier.notify(message('w1'))
    await r.requests(1)
    await untilRetry(clock, 500) // w1 waits 1 s x 0.5 for its retry
    notifier.notify(message('w2'))
    await r.requests(2)
    await notifier.flush() // no clock advance needed: w1 ended with the 410
    expect(letters.map((l) => [l.message.id, l.reason])).toEqual([
      ['w2', 'disabled'],
      ['w1', 'disabled'],
    ])
    expect([notifier.pending, clock.pendingTimers]).toEqual([0, 0])
  })

  it('a message that does not serialize is a dead letter (unsendable), not an error of the mailbox', () => {
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({ url: 'http://127.0.0.1:9/', secret: SECRET, onDeadLetter: (l) => letters.push(l) })
    notifier.notify({ ...message('u1'), result: 10n as unknown as string })
    expect(letters.map((l) => [l.message.id, l.reason])).toEqual([['u1', 'unsendable']])
  })

  it('a request that does not answer in timeoutMs fails that try; after the last try the message is a dead letter, and the mailbox keeps it', async () => {
    const clock = new ManualClock(Date.now())
    const r = await receiver(() => false) // never answers
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({
      url: r.url,
      secret: SECRET,
      clock,
      random: () => 0,
      maxAttempts: 2,
      timeoutMs: 5_000,
      retryBaseDelayMs: 100,
      onDeadLetter: (l) => letters.push(l),
    })
    const store = new MemoryMailboxStore<string>()
    const mailbox = new Mailbox<string>({ store, notifiers: [notifier] })
    await mailbox.deliver(message('m5'))
    await r.requests(1)
    await clock.advanceAsync(5_000) // the first try times out
    await untilRetry(clock, 50) // the retry, after 100 ms x 0.5
    await clock.advanceAsync(50)
    await r.requests(2)
    await clock.advanceAsync(5_000)
    await notifier.flush()
    expect(letters.map((l) => [l.message.id, l.reason, l.attempts])).toEqual([['m5', 'exhausted', 2]])
    expect(letters[0]!.lastError).toMatch(/no answer within timeoutMs \(5000 ms\)/)
    const { messages } = await mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => m.id)).toEqual(['m5'])
  })

  it('close() ends the waits for a retry as dead letters (closed)', async () => {
    const clock = new ManualClock(Date.now())
    const r = await receiver(status(500))
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({ url: r.url, secret: SECRET, clock, random: () => 0.5, onDeadLetter: (l) => letters.push(l) })
    notifier.notify(message('m6'))
    await r.requests(1)
    await untilRetry(clock, 750) // 1 s x (0.5 + 0.5 x 0.5)
    await notifier.close()
    expect(letters.map((l) => [l.reason, l.attempts])).toEqual([['closed', 1]])
    expect([notifier.pending, clock.pendingTimers, r.received.length]).toEqual([0, 0, 1])
    notifier.notify(message('m7'))
    expect(letters.map((l) => [l.message.id, l.reason])).toEqual([
      ['m6', 'closed'],
      ['m7', 'closed'],
    ])
  })

  it('refuses bad options, naming them', () => {
    expect(() => new HttpNotifier({ url: 'http://x', secret: 'plain' })).toThrow(/`secret` to be a Standard Webhooks secret/)
    expect(() => new HttpNotifier({ url: 'http://x', secret: 'whsec_%%%' })).toThrow(/base64/)
    expect(() => new HttpNotifier({ url: 3 as unknown as string, secret: SECRET })).toThrow(/`url`/)
    expect(() => new HttpNotifier({ url: 'http://x', secret: SECRET, maxAttempts: 0 })).toThrow(/maxAttempts/)
  })
})

/** Waits until the notifier armed its retry `delayMs` from now (the try before it has settled, its timeout timer cleared). */
async function untilRetry(clock: ManualClock, delayMs: number): Promise<void> {
  while (!(clock.pendingTimers === 1 && clock.nextTimerAt === clock.now() + delayMs)) await new Promise((resolve) => setImmediate(resolve))
}
