// The cloud gateway example end to end on the run's Postgres: the gateway in this process, its
// two worker processes spawned as `npm run example:gateway` does. A client streams a job's tokens
// (SSE), another disconnects mid-stream and picks its result up from the mailbox, and /metrics
// serves the Prometheus text.
import { spawn, type ChildProcess } from 'node:child_process'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startGateway, type Gateway } from '../examples/cloud-gateway/gateway.js'
import { freshDatabase } from './postgres/database.js'

let connections: pg.Pool
let gateway: Gateway
const workers: { child: ChildProcess; output: string }[] = []

beforeAll(async () => {
  const url = await freshDatabase('gateway')
  connections = new pg.Pool({ connectionString: url, max: 6 })
  gateway = await startGateway(connections)
  const script = new URL('../examples/cloud-gateway/worker.ts', import.meta.url).pathname
  await Promise.all(
    ['worker-1', 'worker-2'].map(
      (name) =>
        new Promise<void>((resolve, reject) => {
          const child = spawn(process.execPath, ['--import', 'tsx', script], {
            env: { ...process.env, DATABASE_URL: url, WORKER_NAME: name },
            stdio: ['ignore', 'pipe', 'pipe'],
          })
          const worker = { child, output: '' }
          workers.push(worker)
          const heard = (chunk: Buffer): void => {
            worker.output += chunk.toString()
            if (worker.output.includes(`${name} ready`)) resolve()
          }
          child.stdout!.on('data', heard)
          child.stderr!.on('data', heard)
          child.once('exit', (code) => reject(new Error(`${name} exited (${code}):\n${worker.output}`)))
        }),
    ),
  )
}, 60_000)

afterAll(async () => {
  await gateway?.close()
  for (const { child } of workers) child.kill('SIGTERM')
  await Promise.all(
    workers.map(({ child }) => (child.exitCode === null ? new Promise((resolve) => child.once('exit', resolve)) : undefined)),
  )
  await connections?.end()
})

interface Event {
  readonly event: string
  readonly data: unknown
}

/** Reads SSE events from a response until `stop` says so (then disconnects) or the stream ends. */
async function readEvents(response: Response, stop: (events: Event[]) => boolean = () => false): Promise<Event[]> {
  const events: Event[] = []
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader()
  let buffer = ''
  for (;;) {
    const { value, done } = await reader.read()
    if (done) return events
    buffer += value
    let end: number
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end)
      buffer = buffer.slice(end + 2)
      const event = /^event: (.*)$/m.exec(block)?.[1] ?? 'message'
      const data = JSON.parse(/^data: (.*)$/m.exec(block)?.[1] ?? 'null') as unknown
      events.push({ event, data })
      if (stop(events)) {
        await reader.cancel()
        return events
      }
    }
  }
}

const generate = (body: Record<string, unknown>, signal?: AbortSignal): Promise<Response> =>
  fetch(`${gateway.url}/generate`, { method: 'POST', body: JSON.stringify(body), ...(signal === undefined ? {} : { signal }) })

describe('examples/cloud-gateway', () => {
  it('streams a job’s tokens from a worker process to the client, then its result', async () => {
    const response = await generate({ prompt: 'one two three', tenant: 'acme', user: 'ann', tokenMs: 5 })
    expect(response.headers.get('content-type')).toBe('text/event-stream')
    const events = await readEvents(response)
    expect(events.map((e) => e.event)).toEqual(['accepted', 'token', 'token', 'token', 'result'])
    expect(events.filter((e) => e.event === 'token').map((e) => e.data)).toEqual(['one', 'two', 'three'])
    expect((events.at(-1)!.data as { result: string }).result).toMatch(/^worker-[12] says: one two three$/)
  })

  it('a client that disconnects mid-stream picks its result up from the mailbox later, then acks it', async () => {
    const key = { tenant: 'acme', user: 'bob', session: 's1' }
    const controller = new AbortController()
    const response = await generate({ prompt: 'a b c d e f g h', ...key, tokenMs: 40 }, controller.signal)
    const seen = await readEvents(response, (events) => events.some((e) => e.event === 'token'))
    controller.abort()
    const id = (seen[0]!.data as { id: string }).id
    expect(seen.map((e) => e.event)).toEqual(['accepted', 'token'])

    const query = new URLSearchParams(key).toString()
    let picked: { messages: { taskId: string; status: string; result: string; id: string }[]; cursor: string } | undefined
    await expect
      .poll(
        async () => {
          picked = (await (await fetch(`${gateway.url}/mailbox?${query}`)).json()) as typeof picked
          return picked!.messages.map((m) => m.taskId)
        },
        { timeout: 10_000, interval: 50 },
      )
      .toEqual([id])
    expect(picked!.messages[0]).toMatchObject({ status: 'completed', result: expect.stringMatching(/says: a b c d e f g h$/) })
    // Another user of the tenant does not see it.
    const other = (await (await fetch(`${gateway.url}/mailbox?tenant=acme&user=carol`)).json()) as { messages: unknown[] }
    expect(other.messages).toEqual([])

    const ack = await fetch(`${gateway.url}/mailbox/ack`, {
      method: 'POST',
      body: JSON.stringify({ ...key, ids: [picked!.messages[0]!.id] }),
    })
    expect(await ack.json()).toEqual({ acked: 1 })
    const after = (await (await fetch(`${gateway.url}/mailbox?${query}`)).json()) as { messages: unknown[] }
    expect(after.messages).toEqual([])
  })

  it('serves /metrics in the Prometheus text format and refuses a bad request with 400', async () => {
    const response = await fetch(`${gateway.url}/metrics`)
    expect(response.headers.get('content-type')).toBe('text/plain; version=0.0.4')
    const text = await response.text()
    expect(text).toMatch(/^# TYPE parking_lot_tasks_total counter$/m)
    // The two jobs above: the gateway hears the disconnected one's end from the database too.
    await expect
      .poll(
        async () =>
          (await (await fetch(`${gateway.url}/metrics`)).text()).match(
            /^parking_lot_tasks_total\{pool="gateway",status="completed"\} (\d+)$/m,
          )?.[1],
      )
      .toBe('2')
    expect(text).toMatch(/^parking_lot_capacity_units\{pool="gateway",resource="gpu"\} 2$/m)
    const bad = await generate({ prompt: 'x' })
    expect(bad.status).toBe(400)
    expect(await bad.json()).toEqual({ error: '`tenant` is required' })
  })
})
