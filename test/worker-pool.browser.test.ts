import { afterEach, describe, expect, it } from 'vitest'
import { InvalidOptionError, ResourcePool, TaskCancelledError, TaskFailedError, WorkerCrashedError } from '../src/index.js'
import { WorkerPool, transfer, type WorkerExit, type WorkerPoolOptions } from '../src/worker.js'

const url = new URL('./workers/test-handlers.ts', import.meta.url)
const opened: WorkerPool[] = []

function setup(options: Partial<WorkerPoolOptions> = {}, poolOptions: { maxAttempts?: number; retryBaseDelayMs?: number } = {}) {
  const workers = new WorkerPool<unknown, unknown>({ url, size: 1, abortGraceMs: 200, ...options })
  opened.push(workers)
  const pool = new ResourcePool<unknown, unknown>({ capacity: {}, executor: workers, maxAttempts: 1, ...poolOptions })
  return { workers, pool }
}

function nextEvent<T>(match: (data: Record<string, unknown>) => boolean): Promise<T> {
  const channel = new BroadcastChannel('worker-test-events')
  return new Promise<T>((resolve) => {
    channel.onmessage = (event: MessageEvent<Record<string, unknown>>) => {
      if (!match(event.data)) return
      channel.close()
      resolve(event.data as T)
    }
  })
}

afterEach(async () => {
  await Promise.all(opened.splice(0).map((w) => w.terminate()))
})

describe('WorkerPool', () => {
  it('routes each task to the handler it names', async () => {
    const { pool } = setup()
    const a = await pool.submit({ a: 2, b: 3 }, { handler: 'add' })
    const b = await pool.submit('hi', { handler: 'echo' })
    expect(await a.result).toBe(5)
    expect(await b.result).toBe('hi')
  })

  it('an unknown handler named before the workers announced theirs fails at run time once, not retried', async () => {
    const { pool } = setup({}, { maxAttempts: 3, retryBaseDelayMs: 1 })
    const task = await pool.submit(1, { handler: 'nope' })
    const error = await task.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect((error as TaskFailedError).cause).toBeInstanceOf(InvalidOptionError)
    expect(((error as TaskFailedError).cause as Error).message).toMatch(/no handler `nope`.*`echo`/)
    expect(task.attempt).toBe(1)
  })

  it('once the workers announced their handlers, an unknown one is refused at submit with the closest known', async () => {
    const { workers, pool } = setup()
    const ready = new Promise<readonly string[]>((resolve) => workers.once('ready', ({ handlers }) => resolve(handlers)))
    expect(await ready).toContain('echo')
    expect(workers.handlerNames()).toContain('echo')
    const error = await pool.submit(1, { handler: 'ecko' }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidOptionError)
    expect((error as Error).message).toMatch(/got "ecko"; did you mean `echo`\?/)
    // Several handlers: a task must name one.
    await expect(pool.submit(1)).rejects.toThrow(/pass \{ handler \}/)
    expect(pool.size + pool.pending).toBe(0)
  })

  it('gives the handler its attempt and task', async () => {
    const { pool } = setup()
    const task = await pool.submit(null, { handler: 'info', priority: 'high', tenant: 't1', key: 'k1' })
    const info = (await task.result) as {
      attempt: number
      task: { id: string; priority: string; tenant: string; key: string; handler: string }
    }
    expect(info.attempt).toBe(1)
    expect(info.task).toMatchObject({ id: task.id, priority: 'high', tenant: 't1', key: 'k1', handler: 'info' })
  })

  it('sizes itself from hardwareConcurrency and adds its slots to the capacity as `workers`', async () => {
    const workers = new WorkerPool({ url })
    opened.push(workers)
    expect(workers.size).toBe(Math.max(1, navigator.hardwareConcurrency - 1))
    const three = new WorkerPool({ url, size: 3, concurrency: 2 })
    opened.push(three)
    const pool = new ResourcePool({ capacity: { vram: 4 }, executor: three })
    expect(pool.snapshot().capacity).toEqual({ vram: 4, workers: 6 })
  })

  it('never runs more tasks than it has slots: the rest park in the pool', async () => {
    const { pool, workers } = setup({ size: 2 })
    const tasks = await Promise.all([1, 2, 3, 4, 5].map(() => pool.submit(30, { handler: 'sleep' })))
    expect(pool.pending).toBe(2)
    expect(pool.size).toBe(3)
    expect(workers.running).toBe(2)
    const names = await Promise.all(tasks.map((t) => t.result))
    expect(new Set(names).size).toBe(2) // both workers took part
  })

  it('runs several tasks per worker with `concurrency`', async () => {
    const { pool, workers } = setup({ size: 1, concurrency: 3 })
    const tasks = await Promise.all([1, 2, 3].map(() => pool.submit(20, { handler: 'sleep' })))
    expect(workers.running).toBe(3)
    await Promise.all(tasks.map((t) => t.result))
  })

  it('streams chunks emitted in the worker to every progress consumer', async () => {
    const { pool } = setup()
    const task = await pool.submit(5, { handler: 'stream' })
    const collect = async () => {
      const chunks: unknown[] = []
      for await (const chunk of task.progress) chunks.push(chunk)
      return chunks
    }
    const [one, two] = await Promise.all([collect(), collect()])
    expect(one).toEqual([0, 1, 2, 3, 4])
    expect(two).toEqual(one)
    expect(await task.result).toBe('done')
  })

  it('forwards a cancel into the worker as an abort of ctx.signal, without killing the worker', async () => {
    const { pool, workers } = setup()
    const started = nextEvent((d) => d['started'] === 'c1')
    const aborted = nextEvent<{ reason: string }>((d) => d['aborted'] === 'c1')
    const task = await pool.submit('c1', { handler: 'waitForAbort' })
    await started
    task.cancel('user pressed stop')
    expect((await aborted).reason).toMatch(/user pressed stop|cancel/i)
    await expect(task.result).rejects.toBeInstanceOf(TaskCancelledError)
    await pool.onIdle()
    expect(workers.exits).toBe(0)
    expect(pool.snapshot().used['workers'] ?? 0).toBe(0)
  })

  it('moves ArrayBuffers marked with transfer() instead of copying them, both ways', async () => {
    const { pool } = setup()
    const bytes = new Uint8Array([1, 2, 3, 4]).buffer
    const task = await pool.submit(transfer({ bytes }, [bytes]), { handler: 'reverse' })
    const result = (await task.result) as { bytes: ArrayBuffer; received: number }
    expect(bytes.byteLength).toBe(0) // detached: it moved to the worker
    expect(result.received).toBe(4)
    expect([...new Uint8Array(result.bytes)]).toEqual([4, 3, 2, 1])
  })

  it('fails a task whose result cannot be cloned, with a clear error', async () => {
    const { pool, workers } = setup()
    const task = await pool.submit(null, { handler: 'unclonable' })
    const error = (await task.result.catch((e: unknown) => e)) as TaskFailedError
    expect((error.cause as Error).message).toMatch(/result cannot be sent from the worker/)
    expect(workers.exits).toBe(0)
  })

  it('refuses bad options with InvalidOptionError naming the option', () => {
    expect(() => new WorkerPool({ size: 2 } as WorkerPoolOptions)).toThrow(InvalidOptionError)
    expect(() => new WorkerPool({ url, size: 0 })).toThrow(/`size`/)
    expect(() => new WorkerPool({ url, concurrency: 1.5 })).toThrow(/`concurrency`/)
    expect(() => new WorkerPool({ url, abortGraceMs: -1 })).toThrow(/`abortGraceMs`/)
  })
})

/**
 * Runs `handler` on a one-worker pool and checks the death contract: the task fails with
 * WorkerCrashedError; the worker was terminated while the task still held its slot (capacity is
 * freed only after the worker is gone); a replacement keeps the pool at its size and works.
 */
async function expectDeath(handler: string, reason: WorkerExit['reason'], options: Partial<WorkerPoolOptions> = {}) {
  const { pool, workers } = setup(options)
  const exits: { exit: WorkerExit; usedWhenGone: number }[] = []
  workers.onExit((exit) => exits.push({ exit, usedWhenGone: pool.snapshot().used['workers'] ?? 0 }))
  const first = workers.workers[0]
  const task = await pool.submit(null, { handler })
  const error = await task.result.catch((e: unknown) => e)
  expect(error).toBeInstanceOf(WorkerCrashedError)
  expect(error).toBeInstanceOf(TaskFailedError)
  expect((error as WorkerCrashedError).code).toBe('WORKER_CRASHED')
  expect(exits).toHaveLength(1)
  expect(exits[0]!.exit.reason).toBe(reason)
  expect(exits[0]!.exit.worker).toBe(first)
  expect(exits[0]!.usedWhenGone).toBe(1) // the slot was still held when the worker left
  expect(pool.snapshot().used['workers'] ?? 0).toBe(0)
  expect(workers.workers).toHaveLength(1)
  expect(workers.workers[0]).not.toBe(first)
  const after = await pool.submit('still works', { handler: 'echo' })
  expect(await after.result).toBe('still works')
  return exits[0]!.exit
}

describe('WorkerPool: worker death and hangs', () => {
  it('an uncaught throw in a timer', async () => {
    const exit = await expectDeath('timerThrow', 'crashed')
    expect(exit.description).toMatch(/thrown from a timer/)
  })

  it('an unhandled rejection', async () => {
    const exit = await expectDeath('floatingReject', 'crashed')
    expect(exit.description).toMatch(/nobody awaits this/)
  })

  it('self.close()', async () => {
    const exit = await expectDeath('closeSelf', 'crashed')
    expect(exit.description).toMatch(/self\.close/)
  })

  it('a WebAssembly trap', async () => {
    const exit = await expectDeath('wasmTrap', 'crashed')
    expect(exit.description).toMatch(/WebAssembly trap/)
  })

  it('a hang: a missed heartbeat', async () => {
    const exit = await expectDeath('spin', 'hung', { heartbeatMs: 100 })
    expect(exit.description).toMatch(/no heartbeat answer within 100 ms/)
  })

  it('retries a crashed task on a fresh worker while attempts remain', async () => {
    const { pool, workers } = setup({}, { maxAttempts: 2, retryBaseDelayMs: 1 })
    const task = await pool.submit(null, { handler: 'crashOnFirstAttempt' })
    expect(await task.result).toBe('ok on attempt 2')
    expect(task.attempt).toBe(2)
    expect(workers.exits).toBe(1)
    expect(workers.workers).toHaveLength(1)
  })

  it('terminates a worker that ignores its abort after a run timeout, and only then frees the slot', async () => {
    const { pool, workers } = setup({ abortGraceMs: 100 })
    const exits: { reason: string; usedWhenGone: number }[] = []
    workers.onExit((exit) => exits.push({ reason: exit.reason, usedWhenGone: pool.snapshot().used['workers'] ?? 0 }))
    // Not waiting for the handler to start: under load the timeout may come first, which must work too.
    const task = await pool.submit('t1', { handler: 'ignoreAbort', runTimeoutMs: 50 })
    const error = (await task.result.catch((e: unknown) => e)) as TaskFailedError
    expect(error.reason).toBe('timeout')
    // The outcome is decided at the timeout; the slot stays held until the worker is gone.
    expect(pool.snapshot().stopping).toBe(1)
    expect(pool.snapshot().used['workers']).toBe(1)
    expect(exits).toEqual([])
    await pool.onIdle()
    expect(exits).toEqual([{ reason: 'abort-timeout', usedWhenGone: 1 }])
    expect(pool.snapshot().used['workers'] ?? 0).toBe(0)
    expect(workers.workers).toHaveLength(1)
    const after = await pool.submit(7, { handler: 'echo' })
    expect(await after.result).toBe(7)
  })

  it('stops replacing workers whose script cannot load, and says so', async () => {
    const workers = new WorkerPool({ url: new URL('./workers/does-not-exist.ts', import.meta.url), size: 1 })
    opened.push(workers)
    const pool = new ResourcePool({ capacity: {}, executor: workers, maxAttempts: 5, retryBaseDelayMs: 1 })
    const task = await pool.submit(null)
    const error = await task.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(WorkerCrashedError)
    // Three workers died before any became ready; then the pool stopped making more, and the
    // attempts left failed at once with that.
    expect((error as Error).message).toMatch(/attempt 5 of 5: Workers keep dying before they start .*stopped replacing them/)
    expect(workers.spawned).toBe(3)
    expect(workers.workers).toHaveLength(0)
  })
})
