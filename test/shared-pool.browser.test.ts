// One budget for every tab: a SharedWorker hosts the pool; "tabs" are iframes (each a document
// with its own dedicated workers and Web Locks; removing one is a tab closing).
import { afterEach, describe, expect, it } from 'vitest'
import { CostExceedsCapacityError, InvalidOptionError, QueueFullError, TaskCancelledError, type TaskHandle } from '../src/index.js'
import { connectSharedPool, type SharedPool } from '../src/worker.js'
import { openFrame } from './frames.js'
import type { Generated } from './workers/model-units.js'

// One spelling of the URL everywhere: a SharedWorker is shared only by documents naming the same URL.
const hostUrl = '/test/workers/shared-host.ts'
const frames: HTMLIFrameElement[] = []
const clients: SharedPool[] = []

afterEach(async () => {
  for (const frame of frames.splice(0)) frame.remove()
  await Promise.all(clients.splice(0).map((c) => c.close()))
})

/** A fresh host per test: a SharedWorker name nobody used yet. */
function hostName(): string {
  return `test-${crypto.randomUUID()}`
}

async function connect(host: string, pool = 'cpu'): Promise<SharedPool> {
  const client = await connectSharedPool(hostUrl, pool, { workerName: host, user: 'tester' })
  clients.push(client)
  return client
}

/** Opens a tab that lends `size` workers to the host's `cpu` pool. */
async function openTab(host: string, tag: string, size: number): Promise<HTMLIFrameElement> {
  const frame = await openFrame(`/test/workers/tab.html?tag=${tag}&size=${size}&host=${host}`, tag)
  frames.push(frame)
  return frame
}

/** Waits for the host to report `workers` slots: checks, then waits for the next pushed snapshot. */
async function untilCapacity(client: SharedPool, workers: number): Promise<void> {
  for (;;) {
    const next = new Promise<void>((resolve) => {
      const off = client.on('snapshot', () => {
        off()
        resolve()
      })
    })
    if ((await client.snapshot()).capacity['workers'] === workers) return
    await next
  }
}

describe('shared pool', () => {
  it('runs tasks in the host and streams their output to the tab', async () => {
    const client = await connect(hostName(), 'inhost')
    const task = await client.submit({ n: 1 })
    const chunks: unknown[] = []
    for await (const chunk of task.progress) chunks.push(chunk)
    expect(await task.result).toEqual({ n: 1 })
    expect(chunks).toEqual(['in host'])
    expect(task.status).toBe('completed')
  })

  it('gives tasks the tab’s default mailbox key, and the result lands there', async () => {
    const client = await connect(hostName(), 'inhost')
    const task = await client.submit('for the mailbox')
    await task.result
    expect(task.mailbox).toEqual({ tenant: 'test-origin', user: 'tester', session: client.session })
    const { messages } = await client.mailbox.fetch({ tenant: 'test-origin', user: 'tester' })
    expect(messages.map((m) => [m.taskId, m.result])).toEqual([[task.id, 'for the mailbox']])
  })

  it('rebuilds the host’s typed errors in the tab', async () => {
    const client = await connect(hostName(), 'cpu')
    const error = await client.submit(1, { cost: { units: 5 } }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(CostExceedsCapacityError)
    expect(error).toMatchObject({ code: 'COST_EXCEEDS_CAPACITY', resource: 'units', cost: 5, capacity: 4 })
    await expect(connect(hostName(), 'nope')).rejects.toThrow(/no pool `nope`; it hosts `cpu`, `inhost`, `tiny`/)
    // A full lot in the host: the tab gets a QueueFullError it can `instanceof`.
    const tiny = await connect(hostName(), 'tiny')
    await tiny.submit('runs')
    await tiny.submit('parks')
    const full = await tiny.submit('refused').catch((e: unknown) => e)
    expect(full).toBeInstanceOf(QueueFullError)
    expect((full as Error).message).toMatch(/maxQueueDepth/)
  })

  it('parks tasks until a tab lends workers; capacity follows tabs as they come and go', async () => {
    const host = hostName()
    const client = await connect(host)
    const task = await client.submit({ units: 1, capacity: 4, ms: 1 }, { cost: { units: 1 }, handler: 'holdUnits' })
    expect(task.status).toBe('parked')
    expect((await client.snapshot()).capacity['workers']).toBe(0)
    const frame = await openTab(host, 'a', 2)
    expect(await task.result).toMatchObject({ oversubscribed: false, worker: 'tab-a-1' })
    await untilCapacity(client, 2)
    await openTab(host, 'b', 1)
    await untilCapacity(client, 3)
    frame.remove()
    await untilCapacity(client, 1)
  })

  it('three tabs share one budget: no over-subscription seen from inside the workers, and a closed tab’s tasks recover', async () => {
    const host = hostName()
    const client = await connect(host)
    const [, , c] = await Promise.all([openTab(host, 'a', 2), openTab(host, 'b', 2), openTab(host, 'c', 2)])
    await untilCapacity(client, 6)
    const onC = new Promise<void>((resolve) => {
      const channel = new BroadcastChannel('worker-test-events')
      channel.onmessage = (event: MessageEvent<{ worker?: string }>) => {
        if (!event.data.worker?.startsWith('tab-c-')) return
        channel.close()
        resolve()
      }
    })
    const tasks: TaskHandle[] = []
    for (let i = 0; i < 24; i++) {
      const units = 1 + (i % 3)
      tasks.push(await client.submit({ units, capacity: 4, ms: 15 + (i % 4) * 20 }, { cost: { units }, handler: 'holdUnits' }))
    }
    await onC
    c!.remove() // tab c closes with a task running on its worker
    const results = (await Promise.all(tasks.map((t) => t.result))) as { oversubscribed: boolean; worker: string; attempt: number }[]
    expect(results.filter((r) => r.oversubscribed)).toEqual([])
    // What tab c was running re-ran on another tab with attempt + 1.
    expect(results.filter((r) => r.attempt > 1).length).toBeGreaterThanOrEqual(1)
    expect(results.filter((r) => r.attempt > 1).every((r) => !r.worker.startsWith('tab-c-'))).toBe(true)
    // Work spread over the tabs' workers (units, not slots, are the binding limit here).
    expect(new Set(results.map((r) => r.worker.split('-')[1])).size).toBeGreaterThanOrEqual(2)
    await untilCapacity(client, 4)
    const snapshot = await client.snapshot()
    expect(snapshot.used).toEqual({ units: 0, workers: 0 })
  })

  it('a tab closed mid-task: its capacity is freed and its task re-runs elsewhere with attempt + 1', async () => {
    const host = hostName()
    const client = await connect(host)
    const closing = await openTab(host, 'x', 1)
    const running = new Promise<string>((resolve) => {
      const channel = new BroadcastChannel('worker-test-events')
      channel.onmessage = (event: MessageEvent<{ running?: string; worker?: string }>) => {
        if (event.data.worker === 'tab-x-1') {
          channel.close()
          resolve(event.data.running!)
        }
      }
    })
    const task = await client.submit({ units: 2, capacity: 4, ms: 60_000 }, { cost: { units: 2 }, handler: 'holdUnits' })
    expect(await running).toBe(task.id)
    closing.remove()
    await untilCapacity(client, 0)
    expect((await client.snapshot()).used['units'] ?? 0).toBe(0)
    await openTab(host, 'y', 1)
    // Shorten nothing: the re-run holds its units for the same 60 s, so cancel once it runs again.
    const rerun = await new Promise<string>((resolve) => {
      const channel = new BroadcastChannel('worker-test-events')
      channel.onmessage = (event: MessageEvent<{ running?: string; worker?: string }>) => {
        if (event.data.worker === 'tab-y-1') {
          channel.close()
          resolve(event.data.running!)
        }
      }
    })
    expect(rerun).toBe(task.id)
    expect(task.attempt).toBe(2)
    task.cancel('test done')
    await expect(task.result).rejects.toBeInstanceOf(TaskCancelledError)
  })

  it('a rate is shared by every tab: what one tab drew counts against the next tab’s tasks', async () => {
    const host = hostName()
    const [a, b] = [await connect(host, 'rated'), await connect(host, 'rated')]
    expect(
      await Promise.all([a, a].map(async (tab, i) => (await tab.submit(`a${i}`, { cost: { slots: 1, requests: 1 } })).result)),
    ).toEqual(['a0', 'a1'])
    // Both tasks ended; their draws stay out for the minute, in the host, for tab b too.
    const parked = await b.submit('b0', { cost: { slots: 1, requests: 1 } })
    expect(parked.status).toBe('parked')
    expect(await b.snapshot()).toMatchObject({ capacity: { slots: 4, requests: 2 }, used: { slots: 0, requests: 2 }, parkedTotal: 1 })
    // A higher-priority task that draws nothing starts past it: the rate holds back only draws.
    expect(await (await b.submit('free', { cost: { slots: 1 }, priority: 'high' })).result).toBe('free')
    parked.cancel('test done')
    await expect(parked.result).rejects.toBeInstanceOf(TaskCancelledError)
  })

  it('forwards pool events to the tab with handles', async () => {
    const client = await connect(hostName(), 'inhost')
    const completed = new Promise<{ id: string; result: unknown }>((resolve) =>
      client.on('completed', ({ task, result }) => resolve({ id: task.id, result })),
    )
    const task = await client.submit(42)
    expect(await completed).toEqual({ id: task.id, result: 42 })
  })

  it('refuses in the tab what the pool refuses, before anything is posted: payloads, typos, mailbox keys', async () => {
    const client = await connect(hostName(), 'inhost')
    const refusal = async (payload: unknown, options?: object): Promise<unknown> =>
      client.submit(payload, options as never).catch((e: unknown) => e)
    expect(await refusal({ onToken: () => 1 })).toMatchObject({ name: 'InvalidPayloadError', path: 'payload.onToken' })
    expect(await refusal({ messages: [{ node: document.createElement('div') }] })).toMatchObject({
      name: 'InvalidPayloadError',
      path: 'payload.messages[0].node',
      message: expect.stringMatching(/HTMLDivElement/),
    })
    expect(await refusal(Symbol('s'))).toMatchObject({ name: 'InvalidPayloadError', path: 'payload' })
    expect(await refusal('x', { prority: 'high' })).toMatchObject({
      name: 'InvalidOptionError',
      message: expect.stringMatching(/did you mean `priority`/),
    })
    await expect(client.mailbox.fetch({} as never)).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'key.tenant' })
    await expect(client.mailbox.fetch(null as never)).rejects.toMatchObject({ name: 'InvalidOptionError', path: 'key' })
    // The pool still works: nothing refused reached it.
    const task = await client.submit('fine')
    await expect(task.result).resolves.toBe('fine')
    expect((await client.stats()).outcomes.completed).toBe(1)
  })

  it('refuses at submit a handler no tab’s workers define, listing those they announced', async () => {
    const host = hostName()
    const client = await connect(host)
    await openTab(host, 'h', 1)
    await untilCapacity(client, 1)
    // A task run there means the tab's workers announced their handlers (that message came first).
    await expect((await client.submit('hi', { cost: { units: 1 }, handler: 'echo' })).result).resolves.toBe('hi')
    const error = await client.submit('hi', { cost: { units: 1 }, handler: 'nope' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as Error).message).toMatch(/workers' handlers \(.*`echo`.*\), got "nope"/)
  })
})

describe('models across tabs', () => {
  async function openModelTab(host: string, tag: string): Promise<HTMLIFrameElement> {
    const frame = await openFrame(`/test/workers/tab.html?tag=${tag}&size=1&host=${host}&pool=models`, tag)
    frames.push(frame)
    return frame
  }

  it('one budget for every tab’s instances: loads in a tab’s worker, evicts an idle instance whichever tab holds it, and a closed tab frees its instances', async () => {
    const host = hostName()
    const client = await connect(host, 'models')
    await openModelTab(host, 'a')
    await openModelTab(host, 'b')
    await untilCapacity(client, 2)
    const reasons: string[] = []
    client.on('unloaded', (event) => reasons.push(`${event.model}:${event.reason}`))
    const run = async (model: string): Promise<Generated> => {
      const task = await client.submit({ units: 1, ms: 5 }, { handler: 'generate', model, cost: { vram: 1 } })
      return (await task.result) as Generated
    }
    // large (5) loads in one tab's worker; medium (4) cannot fit beside it: idle large is evicted, from whichever tab holds it.
    const large = await run('large')
    const medium = await run('medium')
    expect([large.ranIn, medium.ranIn]).toEqual([large.loadedIn, medium.loadedIn])
    expect([large.oversubscribed, medium.oversubscribed]).toEqual([false, false])
    await expect.poll(() => reasons).toEqual(['large:evicted'])
    // small (3) fits beside medium: both stay, each in a tab's worker (the fewest instances first: the other tab).
    const small = await run('small')
    expect(small.loadedIn.slice(0, 5)).not.toBe(medium.loadedIn.slice(0, 5))
    const snapshot = await client.snapshot()
    expect(snapshot.models.map((m) => m.instance).sort()).toEqual(['medium#1', 'small#1'])
    expect(snapshot.used['vram']).toBe(7)
    // The tab that holds small closes: its instance is gone with its workers, and its units are free.
    const holder = frames.find((frame) => frame.src.includes(`tag=${small.loadedIn.split('-')[1]}`))!
    holder.remove()
    await expect.poll(() => reasons).toEqual(['large:evicted', 'small:crashed'])
    expect((await client.snapshot()).used['vram']).toBe(4)
  })

  it('a tab closed mid-task on its instance: the host frees the instance and the task re-runs in another tab, loading there', async () => {
    const host = hostName()
    const client = await connect(host, 'models')
    const first = await openModelTab(host, 'c')
    await untilCapacity(client, 1)
    const reasons: string[] = []
    client.on('unloaded', (event) => reasons.push(`${event.instance}:${event.reason}`))
    const started = new Promise<void>((resolve) => client.once('started', () => resolve()))
    const task = await client.submit({ units: 1, ms: 5, firstMs: 60_000 }, { handler: 'generate', model: 'large', cost: { vram: 1 } })
    await started // running on large#1, in tab c (the only tab)
    await openModelTab(host, 'd')
    await untilCapacity(client, 2)
    first.remove()
    const result = (await task.result) as Generated
    expect(reasons).toContain('large#1:crashed')
    expect([result.instance, result.loadedIn.startsWith('tab-d'), result.attempt, result.oversubscribed]).toEqual([
      'large#2',
      true,
      2,
      false,
    ])
  }, 90_000)
})
