// The demo server's endpoints for network tasks (dev server and `npm start` alike): `POST /api/sync`
// takes one synced result `{ id, priority }` and counts it by id (a request whose answer was lost is
// sent again by its task's retry: a real server would apply each id once); `GET /api/sync` answers
// the counts (how many times each arrived: exactly once is the point); `GET /api/health` is the
// connectivity probe. Kept in this process, so a test that stops and restarts the server keeps them.
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Plugin } from 'vite'

export interface SyncLog {
  /** Arrivals by id, in arrival order. */
  readonly arrivals: { readonly id: string; readonly priority: string }[]
  readonly counts: Map<string, number>
  /** False: `/api/health` answers 503 (the server says it cannot take syncs now; pages hold them). */
  healthy: boolean
}

/**
 * One log per process: Vite loads its config (and so this module) afresh for every server it
 * starts, and a test imports it once more; all of them share this.
 */
const SHARED = Symbol.for('prometheus-parking-lot demo sync log')
const registry = globalThis as { [SHARED]?: SyncLog }
export const syncLog: SyncLog = (registry[SHARED] ??= { arrivals: [], counts: new Map(), healthy: true })

const MAX_BODY = 16 * 1024
const PRIORITIES = ['low', 'normal', 'high', 'critical']

class BodyTooLarge extends Error {}

/** The body, or BodyTooLarge once it passes MAX_BODY (the rest is read and dropped, so the answer still goes out). */
async function bodyOf(request: IncomingMessage): Promise<string> {
  let size = 0
  const parts: Buffer[] = []
  for await (const part of request as AsyncIterable<Buffer>) {
    size += part.length
    if (size <= MAX_BODY) parts.push(part)
  }
  if (size > MAX_BODY) throw new BodyTooLarge(`body over ${MAX_BODY} bytes`)
  return Buffer.concat(parts).toString('utf8')
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.statusCode = status
  response.setHeader('content-type', 'application/json')
  response.setHeader('cache-control', 'no-store')
  response.end(JSON.stringify(body))
}

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.url === '/api/health') return answer(response, syncLog.healthy ? 200 : 503, { ok: syncLog.healthy })
  if (request.url !== '/api/sync') return answer(response, 404, { error: 'no such endpoint' })
  if (request.method === 'GET') return answer(response, 200, { arrivals: syncLog.arrivals, counts: Object.fromEntries(syncLog.counts) })
  if (request.method !== 'POST') return answer(response, 405, { error: 'GET or POST' })
  let message: unknown
  try {
    message = JSON.parse(await bodyOf(request))
  } catch (error) {
    if (error instanceof BodyTooLarge) return answer(response, 413, { error: error.message })
    return answer(response, 400, { error: `not a JSON body: ${String(error)}` })
  }
  const { id, priority } = (message ?? {}) as { id?: unknown; priority?: unknown }
  if (typeof id !== 'string' || typeof priority !== 'string' || !PRIORITIES.includes(priority))
    return answer(response, 400, { error: `expected { id, priority } strings, priority one of ${PRIORITIES.join(', ')}` })
  syncLog.arrivals.push({ id, priority })
  syncLog.counts.set(id, (syncLog.counts.get(id) ?? 0) + 1)
  answer(response, 200, { received: syncLog.counts.get(id) })
}

/** Serves the endpoints on the dev server and on `vite preview`. */
export function syncEndpoint(): Plugin {
  const middleware = (request: IncomingMessage, response: ServerResponse, next: () => void): void => {
    if (!request.url?.startsWith('/api/')) return next()
    handle(request, response).catch((error: unknown) => answer(response, 500, { error: String(error) }))
  }
  return {
    name: 'ppl-demo-sync-endpoint',
    configureServer: (server) => void server.middlewares.use(middleware),
    configurePreviewServer: (server) => void server.middlewares.use(middleware),
  }
}
