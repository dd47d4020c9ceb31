/**
 * A database the browser deletes and opens empty (what Chromium does after a torn LevelDB log
 * record) is detected, not passed off as a fresh one. The wipe here is deterministic: the database
 * is deleted between two starts, as Chromium's recovery does.
 */
import { deleteDB } from 'idb'
import { describe, expect, it } from 'vitest'
import { InvalidOptionError, Mailbox, ResourcePool, type PoolEventMap } from '../src/index.js'
import { deleteDatabase, IndexedDBMailboxStore, IndexedDBQueue, StorageWipedError } from '../src/indexeddb/index.js'

const run = `${Date.now()}`
let n = 0

type Wiped = 'fail' | 'continue' | undefined

function poolOn(database: string, onWiped: Wiped = undefined, journaled = false) {
  const errors: PoolEventMap<number, number>['error'][] = []
  const choices = { ...(onWiped === undefined ? {} : { onWiped }), ...(journaled ? { durability: 'journaled' as const } : {}) }
  const pool = new ResourcePool<number, number>({
    name: 'wipe',
    capacity: 1,
    executor: async (n) => n,
    queue: new IndexedDBQueue<number>({ database, name: 'q', ...choices }),
    mailbox: new Mailbox({ store: new IndexedDBMailboxStore<number>({ database, ...choices }) }),
  })
  const completed: number[] = []
  pool.on('error', (event) => errors.push(event))
  pool.on('completed', (event) => completed.push(event.result))
  return { pool, errors, completed }
}

interface SharedAnswer {
  readonly detection: string
  readonly code: string | undefined
}

/** Opens a queue on `database` in a new SharedWorker (its own realm) and says what it found. */
async function askSharedWorker(database: string, put: boolean, durability: 'default' | 'journaled', start = 0): Promise<SharedAnswer> {
  const worker = new SharedWorker(new URL('./workers/wipe-shared.ts', import.meta.url), {
    type: 'module',
    name: `${database}-${durability}-${put}-${start}`,
  })
  const answer = new Promise<SharedAnswer>((resolve) => {
    worker.port.onmessage = (event: MessageEvent<SharedAnswer>) => resolve(event.data)
  })
  worker.port.postMessage({ database, put, durability })
  return answer
}

/** A start that parks `tasks` tasks and ends one (a mailbox message), then closes. */
async function fill(database: string, tasks: number, journaled = false): Promise<void> {
  const { pool, errors } = poolOn(database, undefined, journaled)
  await pool.ready
  const done = await pool.submit(-1, { mailbox: { tenant: 't' } })
  await done.result
  await pool.onIdle()
  pool.pause()
  for (let i = 0; i < tasks; i++) await pool.submit(i)
  await pool.close()
  expect(errors).toEqual([])
}

describe('a wiped IndexedDB database', () => {
  it("is reported on ready (StorageWipedError, with what it held) and an error event, every start until onWiped: 'continue'", async () => {
    const database = `wiped-${run}-${++n}`
    await fill(database, 3)
    await deleteDB(database)

    for (let start = 0; start < 2; start++) {
      const { pool, errors } = poolOn(database)
      const failure = await pool.ready.then(
        () => undefined,
        (error: unknown) => error,
      )
      expect(failure).toBeInstanceOf(StorageWipedError)
      const wiped = failure as StorageWipedError
      expect(wiped).toMatchObject({ code: 'STORAGE_WIPED', name: 'StorageWipedError', database, tasks: 3, messages: 1 })
      expect(wiped.message).toContain('it held 3 tasks and 1 mailbox messages when last noted')
      expect(errors.map((event) => event.error)).toEqual([wiped])
      await expect(pool.submit(1)).rejects.toBe(wiped)
      await pool.close()
    }

    const carryOn = poolOn(database, 'continue')
    await carryOn.pool.ready
    expect(carryOn.errors.map((event) => (event.error as StorageWipedError).code)).toEqual(['STORAGE_WIPED'])
    expect(carryOn.pool.size).toBe(0)
    await (
      await carryOn.pool.submit(7)
    ).result
    await carryOn.pool.close()

    // Carrying on noted the new database: the next start with the default sees no wipe.
    const after = poolOn(database)
    await after.pool.ready
    expect(after.errors).toEqual([])
    await after.pool.close()
  })

  it('a new database, and one reopened as it was, report nothing; detection is on', async () => {
    const database = `fresh-${run}-${++n}`
    for (let start = 0; start < 2; start++) {
      const queue = new IndexedDBQueue<number>({ database, name: 'q' })
      const errors: Error[] = []
      expect(await queue.open(`owner-${start}`, (error) => errors.push(error))).toEqual([])
      expect(queue.wipeDetection).toBe('on')
      expect(errors).toEqual([])
      await queue.close()
    }
  })

  it('a mailbox store alone on a wiped database fails its operations, or carries on with continue', async () => {
    const database = `wiped-mailbox-${run}-${++n}`
    await fill(database, 0)
    await deleteDB(database)
    const store = new IndexedDBMailboxStore<number>({ database })
    await expect(store.fetch({ tenant: 't' })).rejects.toBeInstanceOf(StorageWipedError)
    await expect(store.ack({ tenant: 't' }, ['x'])).rejects.toBeInstanceOf(StorageWipedError)
    await store.close()
    const reported: unknown[] = []
    const listener = (event: ErrorEvent): void => {
      reported.push(event.error)
      event.preventDefault()
    }
    globalThis.addEventListener('error', listener)
    try {
      const carryOn = new IndexedDBMailboxStore<number>({ database, onWiped: 'continue' })
      expect((await carryOn.fetch({ tenant: 't' })).messages).toEqual([])
      await carryOn.close()
    } finally {
      globalThis.removeEventListener('error', listener)
    }
    expect(reported).toHaveLength(1)
    expect(reported[0]).toBeInstanceOf(StorageWipedError)
  })

  it('is detected by a queue in a SharedWorker, at every start in a new realm, with the counts of the lost database', async () => {
    const database = `wiped-shared-${run}-${++n}`
    expect(await askSharedWorker(database, true, 'default')).toEqual({ detection: 'on', code: undefined, recovered: 0, reported: [] })
    await deleteDB(database)
    // Each SharedWorker is a realm of its own: nothing cached in this page answers for it.
    for (const start of [1, 2]) {
      expect(await askSharedWorker(database, false, 'default', start)).toEqual({ detection: 'on', code: 'STORAGE_WIPED', tasks: 1 })
    }
  })

  it('journaled in a SharedWorker (no sync handles, no workers there) is refused at open, saying where it can run', async () => {
    const answer = await askSharedWorker(`journaled-shared-${run}-${++n}`, true, 'journaled')
    expect(answer.code).toMatch(
      /BackendError: Could not open the journal .*SharedWorker.*use durability 'journaled' in a page or a dedicated worker/,
    )
  })

  it("with durability: 'journaled', is rebuilt from the journal: reported on the error event, nothing lost, ready resolves", async () => {
    const database = `journaled-${run}-${++n}`
    await fill(database, 3, true)
    await deleteDB(database)

    const { pool, errors, completed } = poolOn(database, undefined, true)
    await pool.ready
    expect(errors).toHaveLength(1)
    expect(errors[0]!.error).toBeInstanceOf(StorageWipedError)
    expect(errors[0]!.error).toMatchObject({ code: 'STORAGE_WIPED', rebuilt: true, tasks: 3, messages: 1 })
    expect((errors[0]!.error as Error).message).toMatch(/rebuilt from its journal \(3 tasks and 1 mailbox messages\): nothing was lost/)
    const { messages } = await pool.mailbox.fetch({ tenant: 't' })
    expect(messages.map((message) => [message.status, message.result])).toEqual([['completed', -1]])
    await pool.onIdle()
    // The three parked tasks came back and ran.
    expect(completed.sort()).toEqual([0, 1, 2])
    await pool.close()

    // Rebuilt, the database is the journal's again: the next start reports nothing, and the
    // tasks that ran after the rebuild stay ended.
    const after = poolOn(database, undefined, true)
    await after.pool.ready
    expect(after.errors).toEqual([])
    expect(after.pool.size).toBe(0)
    await after.pool.close()
  })

  it('journaled: a second wipe after more work is rebuilt with that work too; a payload that is not JSON is refused', async () => {
    const database = `journaled-twice-${run}-${++n}`
    await fill(database, 2, true)
    await deleteDB(database)
    const first = poolOn(database, undefined, true)
    await first.pool.ready
    first.pool.pause()
    await first.pool.submit(10)
    await expect(first.pool.submit(new Date(0) as unknown as number)).rejects.toMatchObject({ code: 'INVALID_PAYLOAD' })
    await first.pool.close()
    await deleteDB(database)
    const second = poolOn(database, undefined, true)
    await second.pool.ready
    // The two recovered after the first wipe ran then (and stay ended); the one parked since is back.
    expect(second.errors.map((event) => [(event.error as StorageWipedError).tasks, (event.error as StorageWipedError).messages])).toEqual([
      [1, 1],
    ])
    await second.pool.onIdle()
    expect(first.completed.sort((a, b) => a - b)).toEqual([0, 1])
    expect(second.completed).toEqual([10])
    expect((await second.pool.mailbox.fetch({ tenant: 't' })).messages.map((message) => message.result)).toEqual([-1])
    await second.pool.close()
  })

  it('a journaled queue with a mailbox store on its database that is not journaled (or the reverse) is refused at construction', () => {
    for (const [queue, store] of [
      ['journaled', 'default'],
      ['default', 'journaled'],
    ] as const) {
      expect(
        () =>
          new ResourcePool({
            capacity: 1,
            executor: async () => 1,
            queue: new IndexedDBQueue({ database: 'mixed', durability: queue }),
            mailbox: new Mailbox({ store: new IndexedDBMailboxStore({ database: 'mixed', durability: store }) }),
          }),
      ).toThrow(/must both be durability 'journaled', or neither/)
    }
    expect(() => new IndexedDBQueue({ durability: 'fsync' as 'strict' })).toThrow(/`durability` to be 'default', 'strict' or 'journaled'/)
  })

  it('deleteDatabase deletes on purpose: no wipe reported next start, and a journaled database is not rebuilt', async () => {
    for (const journaled of [false, true]) {
      const database = `deleted-${journaled}-${run}-${++n}`
      await fill(database, 2, journaled)
      await deleteDatabase(database)
      const { pool, errors, completed } = poolOn(database, undefined, journaled)
      await pool.ready
      await pool.onIdle()
      expect(errors).toEqual([])
      expect(completed).toEqual([])
      expect((await pool.mailbox.fetch({ tenant: 't' })).messages).toEqual([])
      await pool.close()
    }
  })

  it('onWiped other than fail or continue is refused naming it', () => {
    expect(() => new IndexedDBQueue({ onWiped: 'ignore' as 'fail' })).toThrow(InvalidOptionError)
    expect(() => new IndexedDBQueue({ onWiped: 'ignore' as 'fail' })).toThrow(/`onWiped` to be 'fail' or 'continue', got "ignore"/)
    expect(() => new IndexedDBMailboxStore({ onWiped: 1 as unknown as 'fail' })).toThrow(/`onWiped`/)
  })
})
