// HttpNotifier in a real page: Web Crypto signs and the browser's own fetch sends (a fetch called
// on anything but the global throws "Illegal invocation" here, which Node never shows). The test
// server has no webhook route, so the answer is an HTTP error: what matters is that a request went.
import { describe, expect, it } from 'vitest'
import { HttpNotifier, type DeadLetter, type MailboxMessage } from '../src/index.js'

const SECRET = `whsec_${btoa('a secret of the receiver, 32 bytes!')}`

describe('HttpNotifier in Chromium', () => {
  it('signs with Web Crypto and POSTs with the page’s fetch: the server answers (an HTTP status), not a TypeError', async () => {
    const letters: DeadLetter[] = []
    const notifier = new HttpNotifier({
      url: new URL('/no-such-webhook', location.href),
      secret: SECRET,
      maxAttempts: 1,
      onDeadLetter: (l) => letters.push(l),
    })
    const now = Date.now()
    const message: MailboxMessage<string> = {
      id: 'b1',
      taskId: 't1',
      key: { tenant: 't' },
      status: 'completed',
      result: 'x',
      attempts: 1,
      submittedAt: now,
      completedAt: now,
    }
    notifier.notify(message)
    await notifier.flush()
    // The test server answers an unknown POST with an error status: the request went, and failed as HTTP.
    expect(letters.map((l) => [l.reason, l.attempts])).toEqual([['exhausted', 1]])
    expect(letters[0]!.lastError).toMatch(/^HTTP \d{3}$/)
  })
})
