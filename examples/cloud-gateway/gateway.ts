/**
 * The cloud gateway: a `node:http` server in front of a Postgres-backed pool. It runs no jobs
 * itself (its pool is paused: it only submits and follows); worker processes on the same queue
 * run them, and a job's tokens come back to the gateway through the database.
 *
 *   POST /generate {prompt, tenant, user, session, tokenMs?}  Server-Sent Events: `accepted`
 *        (the task id), `token` per chunk, then `result` or `failed`. A client that disconnects
 *        leaves the job running; its result lands in the mailbox.
 *   GET  /mailbox?tenant=&user=&session=&since=  results for that key (JSON), oldest first, with
 *        the cursor to pass as `since` next time.
 *   POST /mailbox/ack {tenant, user, session, ids}  removes picked-up messages.
 *   GET  /metrics  the pool's metrics, Prometheus text format.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import type pg from 'pg'
import { metricsText, type MailboxKey } from '../../src/index.js'
import { sharedPool } from './shared.js'

export interface Gateway {
  readonly url: string
  close(): Promise<void>
}

class BadRequest extends Error {}

/** Requests are small JSON objects; a bigger body is refused before it is all read. */
const MAX_BODY_BYTES = 64 * 1024

async function bodyOf(request: IncomingMessage): Promise<Record<string, unknown>> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    bytes += chunk.length
    if (bytes > MAX_BODY_BYTES) {
      request.destroy() // the rest is not read
      throw new BadRequest(`the body is over ${MAX_BODY_BYTES} bytes`)
    }
    chunks.push(chunk)
  }
  const text = Buffer.concat(chunks).toString('utf8')
  try {
    const body: unknown = JSON.parse(text)
    if (typeof body === 'object' && body !== null && !Array.isArray(body)) return body as Record<string, unknown>
  } catch {
    // answered below
  }
  throw new BadRequest('expected a JSON object body')
}

function keyOf(source: Record<string, unknown>): MailboxKey {
  const part = (name: string): string | undefined => {
    const value = source[name]
    if (value === undefined || value === null || value === '') return undefined
    if (typeof value !== 'string') throw new BadRequest(`\`${name}\` must be a string`)
    return value
  }
  const tenant = part('tenant')
  if (tenant === undefined) throw new BadRequest('`tenant` is required')
  const user = part('user')
  const session = part('session')
  return { tenant, ...(user === undefined ? {} : { user }), ...(session === undefined ? {} : { session }) }
}

const json = (response: ServerResponse, status: number, body: unknown): void => {
  response.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body))
}

export async function startGateway(connections: pg.Pool, options: { port?: number } = {}): Promise<Gateway> {
  // Capacity is what one job may cost (a task over it is refused); the gateway never runs one.
  const pool = sharedPool(connections, 'gateway', { gpu: 2 }, () => Promise.reject(new Error('the gateway runs no jobs')))
  pool.pause()
  await pool.ready
  const streams = new Set<ServerResponse>()

  async function generate(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const body = await bodyOf(request)
    const key = keyOf(body)
    if (typeof body['prompt'] !== 'string') throw new BadRequest('`prompt` must be a string')
    const tokenMs = body['tokenMs'] ?? 50
    if (typeof tokenMs !== 'number' || !(tokenMs >= 0 && tokenMs <= 10_000))
      throw new BadRequest('`tokenMs` must be a number from 0 to 10000')
    const task = await pool.submit({ prompt: body['prompt'], tokenMs }, { mailbox: key, cost: { gpu: 1 } })
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
    streams.add(response)
    const send = (event: string, data: unknown): boolean =>
      !response.destroyed && response.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`)
    send('accepted', { id: task.id })
    let gone = false
    response.once('close', () => {
      gone = true
      streams.delete(response)
    })
    for await (const token of task.progress) {
      if (gone) return // the job runs on; its result waits in the mailbox
      send('token', token)
    }
    await task.result.then(
      (result) => send('result', { id: task.id, result }),
      (error: unknown) => send('failed', { id: task.id, error: error instanceof Error ? error.message : String(error) }),
    )
    streams.delete(response)
    response.end()
  }

  async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://gateway')
    if (request.method === 'POST' && url.pathname === '/generate') return generate(request, response)
    if (request.method === 'GET' && url.pathname === '/mailbox') {
      const key = keyOf(Object.fromEntries(url.searchParams))
      const since = url.searchParams.get('since') ?? undefined
      return json(response, 200, await pool.mailbox.fetch(key, { since }))
    }
    if (request.method === 'POST' && url.pathname === '/mailbox/ack') {
      const body = await bodyOf(request)
      const ids = body['ids']
      if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) throw new BadRequest('`ids` must be an array of strings')
      return json(response, 200, { acked: await pool.mailbox.ack(keyOf(body), ids) })
    }
    if (request.method === 'GET' && url.pathname === '/metrics') {
      response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(await metricsText([pool]))
      return
    }
    json(response, 404, { error: `no route ${request.method} ${url.pathname}` })
  }

  const server = createServer((request, response) => {
    route(request, response).catch((error: unknown) => {
      const status = error instanceof BadRequest ? 400 : 500
      if (status === 500) console.error('gateway:', error)
      if (!response.headersSent) json(response, status, { error: error instanceof Error ? error.message : String(error) })
      else response.end()
    })
  })
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    async close() {
      for (const stream of streams) stream.end()
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())))
      await pool.close()
    },
  }
}
