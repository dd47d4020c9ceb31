// A local webhook endpoint (node:http) for the HttpNotifier tests: every request is verified with
// the `standardwebhooks` package, recorded, then answered as the test scripts it.
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { Webhook } from 'standardwebhooks'

export interface Received {
  readonly id: string
  readonly verified: boolean
  readonly body: string
  readonly authorization: string | undefined
}

/** Answers request `n` (1-based) on `res`; returns false to leave it hanging (a receiver that never answers). */
export type Answer = (n: number, res: ServerResponse) => boolean

export interface Receiver {
  readonly url: string
  readonly received: readonly Received[]
  /** Resolves once `n` requests have arrived. */
  requests(n: number): Promise<void>
  close(): Promise<void>
}

export async function webhookReceiver(secret: string, answer: Answer): Promise<Receiver> {
  const received: Received[] = []
  const waiters: (() => void)[] = []
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      const headers = Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)]))
      let verified = true
      try {
        new Webhook(secret).verify(body, headers)
      } catch {
        verified = false // recorded: the test asserts it
      }
      received.push({ id: headers['webhook-id'] ?? '', verified, body, authorization: req.headers.authorization })
      for (const wake of waiters.splice(0)) wake()
      if (answer(received.length, res)) res.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('no address')
  return {
    url: `http://127.0.0.1:${address.port}/hooks`,
    received,
    requests: async (n) => {
      while (received.length < n) await new Promise<void>((resolve) => waiters.push(resolve))
    },
    close: async () => {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
