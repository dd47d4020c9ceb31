// One true outcome per task, on a durable backend: a result the mailbox cannot store fails the
// task (no retry, no re-run after a restart), and an end the store does not take is never
// reported. Run by pool.outcome.test.ts (PGlite) and pool.outcome.browser.test.ts (IndexedDB).
import { expect, it } from 'vitest'
import {
  BackendError,
  InvalidResultError,
  Mailbox,
  ResourcePool,
  TaskDetachedError,
  type MailboxStore,
  type Settlement,
  type TaskQueue,
  type TaskRecord,
} from '../../src/index.js'

export interface DurableStores {
  readonly queue: TaskQueue<string>
  readonly store: MailboxStore<unknown>
  /** Closes what the pool leaves to its caller (the database). */
  close(): Promise<void>
}

export interface OutcomeBackend {
  /** A new durable database: the opener opens the stores on it, the same database each time. */
  newDatabase(): () => Promise<DurableStores>
  /** A result this backend's mailbox cannot store, and the part an error must name. */
  readonly unstorable: { readonly value: unknown; readonly path: string }
}

/** The real queue, with its next `failures` settles refused as a full disk would refuse them. */
class RefusingSettles implements TaskQueue<string> {
  constructor(
    readonly inner: TaskQueue<string>,
    public failures: number,
  ) {}
  get durable(): boolean {
    return this.inner.durable
  }
  get checkValue(): TaskQueue<string>['checkValue'] {
    return this.inner.checkValue
  }
  open(owner: string): ReturnType<TaskQueue<string>['open']> {
    return this.inner.open(owner)
  }
  put(records: readonly TaskRecord<string>[]): ReturnType<TaskQueue<string>['put']> {
    return this.inner.put(records)
  }
  claim(...args: Parameters<TaskQueue<string>['claim']>): ReturnType<TaskQueue<string>['claim']> {
    return this.inner.claim(...args)
  }
  renew(...args: Parameters<TaskQueue<string>['renew']>): ReturnType<TaskQueue<string>['renew']> {
    return this.inner.renew(...args)
  }
  release(...args: Parameters<TaskQueue<string>['release']>): ReturnType<TaskQueue<string>['release']> {
    return this.inner.release(...args)
  }
  async settle(record: TaskRecord<string>, settlement: Settlement): Promise<void> {
    if (this.failures > 0) {
      this.failures--
      throw new BackendError('QuotaExceededError: the disk is full (injected)')
    }
    await this.inner.settle(record, settlement)
  }
  findKey(...args: Parameters<TaskQueue<string>['findKey']>): ReturnType<TaskQueue<string>['findKey']> {
    return this.inner.findKey(...args)
  }
  sharesTransactionWith(store: MailboxStore<unknown>): boolean {
    return this.inner.sharesTransactionWith(store)
  }
  close(): ReturnType<TaskQueue<string>['close']> {
    return this.inner.close()
  }
}

interface Heard {
  readonly completed: number
  readonly failed: number
  readonly retrying: number
  readonly errors: string[]
}

function openPool(stores: DurableStores, queue: TaskQueue<string>, maxAttempts: number, executor: () => unknown) {
  const pool = new ResourcePool<string, unknown>({
    name: 'outcome',
    capacity: 1,
    maxAttempts,
    retryBaseDelayMs: 1,
    retryMaxDelayMs: 1,
    executor,
    queue,
    mailbox: new Mailbox({ store: stores.store }),
  })
  const heard = { completed: 0, failed: 0, retrying: 0, errors: [] as string[] }
  pool.on('completed', () => heard.completed++)
  pool.on('failed', () => heard.failed++)
  pool.on('retrying', () => heard.retrying++)
  pool.on('error', ({ error, context }) => heard.errors.push(`${context}: ${(error as Error).message}`))
  return { pool, heard: heard as Heard }
}

export function outcomeBody(backend: OutcomeBackend): void {
  it('a result the mailbox cannot store: one run, failed with InvalidResultError naming the part, the same to the caller, the events and the mailbox; no re-run after a restart', async () => {
    let runs = 0
    const open = backend.newDatabase()
    let stores = await open()
    const { pool, heard } = openPool(stores, stores.queue, 3, () => {
      runs++
      return backend.unstorable.value
    })
    const task = await pool.submit('job', { mailbox: { tenant: 't' } })
    const error = await task.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(InvalidResultError)
    expect(error).toMatchObject({ path: backend.unstorable.path, message: expect.stringContaining(`\`${backend.unstorable.path}\``) })
    await pool.onIdle()
    expect(task.status).toBe('failed')
    expect(heard).toEqual({ completed: 0, failed: 1, retrying: 0, errors: [] })
    const { messages } = await pool.mailbox.fetch({ tenant: 't' })
    expect(messages.map((m) => [m.taskId, m.status, m.error?.code])).toEqual([[task.id, 'failed', 'INVALID_RESULT']])
    await pool.close()
    await stores.close()

    stores = await open()
    const again = openPool(stores, stores.queue, 3, () => {
      runs++
      return 'ran again'
    })
    await again.pool.ready
    await again.pool.onIdle()
    expect(runs).toBe(1)
    expect((await again.pool.mailbox.fetch({ tenant: 't' })).messages).toHaveLength(1)
    await again.pool.close()
    await stores.close()
  })

  it('an end the store does not take is never reported: the handle is let go (detached) naming the cause, and the next start runs the task again and reports it once', async () => {
    let runs = 0
    const open = backend.newDatabase()
    let stores = await open()
    const { pool, heard } = openPool(stores, new RefusingSettles(stores.queue, 1), 2, () => `run ${++runs}`)
    const task = await pool.submit('job', { mailbox: { tenant: 'again' } })
    const error = await task.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskDetachedError)
    expect((error as Error).message).toMatch(/ended as completed, but the store refused it \(.*disk is full.*\)/)
    await pool.onIdle()
    expect(task.status).toBe('detached')
    expect(heard).toMatchObject({ completed: 0, failed: 0, retrying: 0 })
    expect(heard.errors).toEqual([expect.stringMatching(new RegExp(`writing the end \\(completed\\) of task ${task.id}.*disk is full`))])
    // The refused end wrote nothing: the message went in the ack's transaction.
    expect((await pool.mailbox.fetch({ tenant: 'again' })).messages).toEqual([])
    await pool.close()
    await stores.close()

    stores = await open()
    const next = openPool(stores, stores.queue, 2, () => `run ${++runs}`)
    await next.pool.ready
    await next.pool.onIdle()
    expect(runs).toBe(2)
    expect(next.heard).toMatchObject({ completed: 1, failed: 0, errors: [] })
    const { messages } = await next.pool.mailbox.fetch({ tenant: 'again' })
    expect(messages.map((m) => [m.taskId, m.status, m.result, m.attempts])).toEqual([[task.id, 'completed', 'run 2', 2]])
    await next.pool.close()
    await stores.close()
  })

  it('with no attempt left, a task whose end the store refused ends at the next start by the crash rule, once', async () => {
    let runs = 0
    const open = backend.newDatabase()
    let stores = await open()
    const { pool } = openPool(stores, new RefusingSettles(stores.queue, 1), 1, () => `run ${++runs}`)
    const task = await pool.submit('job', { mailbox: { tenant: 'once' } })
    await expect(task.result).rejects.toBeInstanceOf(TaskDetachedError)
    await pool.close()
    await stores.close()

    stores = await open()
    const next = openPool(stores, stores.queue, 1, () => `run ${++runs}`)
    await next.pool.ready
    await next.pool.onIdle()
    expect(runs).toBe(1)
    expect(next.heard).toMatchObject({ completed: 0, failed: 1 })
    const { messages } = await next.pool.mailbox.fetch({ tenant: 'once' })
    expect(messages.map((m) => [m.taskId, m.status])).toEqual([[task.id, 'failed']])
    expect(messages[0]?.error?.message).toMatch(/was running when its owner stopped, on attempt 1 of 1/)
    await next.pool.close()
    await stores.close()
  })

  it('the mailbox notifiers hear of an end once it is stored with its ack (one transaction)', async () => {
    const open = backend.newDatabase()
    const stores = await open()
    const heard: string[] = []
    const pool = new ResourcePool<string, unknown>({
      name: 'outcome',
      capacity: 1,
      executor: (text) => text.toUpperCase(),
      queue: stores.queue,
      mailbox: new Mailbox({
        store: stores.store,
        notifiers: [
          {
            notify: async (message) => {
              const { messages } = await stores.store.fetch(message.key)
              heard.push(`${message.status} ${String(message.result)}, stored: ${messages.some((m) => m.id === message.id)}`)
            },
          },
        ],
      }),
    })
    expect(stores.queue.sharesTransactionWith(stores.store)).toBe(true)
    const task = await pool.submit('hi', { mailbox: { tenant: 'heard' } })
    await expect(task.result).resolves.toBe('HI')
    await pool.onIdle()
    expect(heard).toEqual(['completed HI, stored: true'])
    await pool.close()
    await stores.close()
  })
}
