// Every boundary a message crosses decodes it first: one that does not decode is dropped with an
// `error` event, and the other side goes on working.
import { afterEach, describe, expect, it, vi } from 'vitest'
import { BackendError, MemoryQueue, PoolClosedError, ResourcePool, TaskDetachedError } from '../src/index.js'
import { busName, serveOnBus } from '../src/runtime/shared/bus.js'
import { SharedPoolHost, WorkerPool, connectSharedPool, type SharedPool } from '../src/worker.js'

const cleanup: (() => Promise<void> | void)[] = []
afterEach(async () => {
  for (const step of cleanup.splice(0).reverse()) await step()
})

const nextEvent = <T>(subscribe: (listener: (event: T) => void) => void): Promise<T> => new Promise((resolve) => subscribe(resolve))

describe('worker boundary', () => {
  function workerPool(): { workers: WorkerPool<unknown, unknown>; pool: ResourcePool<unknown, unknown> } {
    const workers = new WorkerPool({ url: new URL('./workers/test-handlers.ts', import.meta.url), size: 1 })
    const pool = new ResourcePool({ capacity: {}, executor: workers })
    cleanup.push(() => workers.terminate())
    return { workers, pool }
  }

  it('a message from a worker that is not the protocol is dropped with an error event; the task still ends', async () => {
    const { workers, pool } = workerPool()
    const error = nextEvent<{ context: string; error: unknown }>((listener) => workers.once('error', listener))
    const task = await pool.submit('answer', { handler: 'junkToPage' })
    expect((await error).context).toBe('a malformed message from a worker was dropped')
    expect(String((await error).error)).toMatch(/Expected `message` to be an array/)
    await expect(task.result).resolves.toBe('answer')
  })

  it('a message to a worker that is not the protocol is dropped there, and the page hears of it', async () => {
    const { workers, pool } = workerPool()
    await (
      await pool.submit(1, { handler: 'echo' })
    ).result // the worker is up
    const error = nextEvent<{ context: string; error: unknown }>((listener) => workers.once('error', listener))
    workers.workers[0]!.postMessage([[99, 'not an op']])
    expect((await error).context).toBe('a worker dropped a malformed message')
    expect(String((await error).error)).toMatch(/dropped a malformed message: .*message\[0\]\[0\]/)
    await expect((await pool.submit(2, { handler: 'echo' })).result).resolves.toBe(2)
  })
})

describe('shared pool boundary', () => {
  async function hosted(): Promise<{ host: SharedPoolHost; pool: SharedPool<unknown, unknown>; hostEnd: MessagePort }> {
    const host = new SharedPoolHost({ tenant: 'test' })
    host.addPool('p', { capacity: 1, executor: (value: unknown) => value })
    const channel = new MessageChannel()
    host.connect(channel.port1)
    const pool = await connectSharedPool('unused', 'p', { port: channel.port2 })
    cleanup.push(() => host.close())
    cleanup.push(() => pool.close())
    return { host, pool, hostEnd: channel.port1 }
  }

  it('a malformed message from a tab is dropped by the host with an error event', async () => {
    const { host, pool } = await hosted()
    const error = nextEvent<{ context: string; error: unknown }>((listener) => host.once('error', listener))
    pool.port.postMessage({ t: 'submit', rid: 'one', pool: 'p' })
    expect((await error).context).toBe('a malformed message from a tab was dropped')
    expect(String((await error).error)).toMatch(/`tab message.rid` to be an integer/)
    await expect((await pool.submit('still served')).result).resolves.toBe('still served')
  })

  it('a malformed message from the host is dropped by the tab with an error event', async () => {
    const { pool, hostEnd } = await hosted()
    const error = nextEvent<{ context: string; error: unknown }>((listener) => pool.once('error', listener))
    hostEnd.postMessage({ t: 'end', pool: 'p', view: { id: 42 } })
    expect((await error).context).toBe('a malformed message from the shared pool host was dropped')
    expect(String((await error).error)).toMatch(/`host message.view.id` to be a string/)
    await expect((await pool.submit('still works')).result).resolves.toBe('still works')
  })

  it('a malformed message on the leader bus is dropped with an error event', async () => {
    const scope = `bus-${crypto.randomUUID()}`
    const pool = await connectSharedPool('unused', 'p', {
      mode: 'leader',
      workerName: scope,
      createHost: () => {
        const host = new SharedPoolHost({ tenant: 'test' })
        host.addPool('p', { capacity: 1, executor: (value: unknown) => value })
        return host
      },
    })
    cleanup.push(() => pool.close())
    // This tab both follows the bus and, as the leader, serves it: each side drops the message and says so.
    const errors: { context: string; error: unknown }[] = []
    const both = new Promise<void>((resolve) =>
      pool.on('error', (event) => {
        errors.push(event)
        if (errors.length === 2) resolve()
      }),
    )
    const channel = new BroadcastChannel(busName(scope))
    channel.postMessage({ k: 'leader' })
    channel.close()
    await both
    expect(errors.map((e) => e.context)).toEqual([
      'a malformed message on the leader bus was dropped',
      'a malformed message on the leader bus was dropped',
    ])
    expect(String(errors[0]!.error)).toMatch(/`bus message.leader` to be a string/)
    await expect((await pool.submit('after')).result).resolves.toBe('after')
  })

  it('a reply that does not decode rejects its request with a BackendError', async () => {
    const { pool, hostEnd } = await hosted()
    // The handshake's snapshot was request 1; this is request 2. Junk answers it before the host does.
    const answered = pool.stats()
    hostEnd.postMessage({ t: 'reply', rid: 2, ok: true, value: { wait: 'soon' } })
    const error = await answered.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(BackendError)
    expect((error as Error).message).toMatch(/malformed reply: Expected `reply.wait` to be an object/)
  })
})

describe('the leader bus, host side', () => {
  it('a malformed message reaching the serving leader is dropped and reported', async () => {
    const scope = `bus-host-${crypto.randomUUID()}`
    const reported: string[] = []
    const stop = serveOnBus({ connect: () => {} }, scope, 'leader-x', (_error, context) => reported.push(context))
    cleanup.push(stop)
    const channel = new BroadcastChannel(busName(scope))
    const told = new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (reported.length > 0) {
          clearInterval(check)
          resolve()
        }
      }, 5)
    })
    channel.postMessage({ k: 'host', from: 42 })
    await told
    channel.close()
    expect(reported).toEqual(['a malformed message on the leader bus was dropped'])
  })
})

describe('closing a tab connection', () => {
  it('detaches the handles it follows (their tasks go on in the host) and refuses later calls', async () => {
    const host = new SharedPoolHost({ tenant: 'test' })
    const releases: (() => void)[] = []
    const release = () => releases.splice(0).forEach((finish) => finish())
    host.addPool('p', { capacity: 1, executor: () => new Promise<string>((resolve) => releases.push(() => resolve('done'))) })
    const channel = new MessageChannel()
    host.connect(channel.port1)
    const pool = await connectSharedPool('unused', 'p', { port: channel.port2 })
    const running = await pool.submit('a')
    const parked = await pool.submit('b')
    await pool.close()
    for (const task of [running, parked]) {
      expect(task.status).toBe('detached')
      await expect(task.result).rejects.toBeInstanceOf(TaskDetachedError)
    }
    await expect(pool.submit('c')).rejects.toBeInstanceOf(PoolClosedError)
    // The host's pool goes on: both tasks finish there.
    release()
    await new Promise<void>((started) => host.pool('p')!.once('started', () => started()))
    release()
    await host.pool('p')!.onIdle()
    expect(host.pool('p')!.stats().outcomes.completed).toBe(2)
    await host.close()
  })

  it('a host pool error is reported again once the tab that listened for it has gone', async () => {
    const reported: unknown[] = []
    const original = globalThis.reportError
    globalThis.reportError = (error: unknown) => reported.push(error)
    cleanup.push(() => {
      globalThis.reportError = original
    })
    const failing = new MemoryQueue()
    failing.settle = () => {
      throw new Error('the disk went away')
    }
    const host = new SharedPoolHost({ tenant: 'test' })
    host.addPool('p', { capacity: 1, executor: (value: unknown) => value, queue: failing })
    const channel = new MessageChannel()
    host.connect(channel.port1)
    const pool = await connectSharedPool('unused', 'p', { port: channel.port2 })
    const seen = nextEvent<{ error: unknown }>((listener) => pool.once('error', listener))
    await pool.submit('first')
    expect(String((await seen).error)).toMatch(/the disk went away/)
    await pool.close()
    await new Promise((resolve) => setTimeout(resolve, 50)) // the host hears the tab's goodbye
    // While the tab listened, the failure of 'first' went to it, not to reportError.
    expect(reported).toEqual([])
    await host.pool('p')!.submit('second')
    // The end of 'second' fails once it has run, after its submit resolved: wait for its report.
    await vi.waitFor(() => expect(reported.map(String)).toEqual(['Error: the disk went away']))
    await host.close()
  })
})
