import { BackendError } from '../core/errors.js'
import type { MailboxStore } from '../core/mailbox.js'
import type { KeyRecord, Lease, Settlement, TaskQueue, TaskRecord } from '../core/queue.js'
import { checkJson } from '../core/storable.js'
import { acquireOwnership } from '../queue/ownership.js'
import { ROWS_PER_INSERT, claimJob, findKey, insertJobs, releaseJob, renewLeases, selectJobs, settleJob } from '../sql/jobs.js'
import { insertMessage } from '../sql/mailbox-rows.js'
import { checkName, databaseIdentity, migrate, type SqlClient } from '../sql/migrations.js'
import { PGliteMailboxStore } from './mailbox.js'
import { wrap } from '../sql/wrap.js'
import { optionsObject, refuse } from '../core/validate.js'

export interface PGliteQueueOptions {
  /** The queue's name; several queues can share one database. @default 'default' */
  readonly name?: string
}

interface PutEntry<P> {
  readonly records: readonly TaskRecord<P>[]
  resolve(): void
  reject(error: unknown): void
}

/**
 * A durable queue in PGlite (`pl_queue_jobs`), in Node (memory or a data directory) or in the
 * browser (`idb://`, OPFS, or `PGliteWorker`). Submits that arrive together are written in one
 * statement (group commit), with the default durability: `submit` resolves only after its row is
 * stored. The database is the caller's: `close()` gives up the queue, not the database.
 */
export class PGliteQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = true
  readonly checkValue = checkJson
  readonly db: SqlClient
  readonly name: string
  #release: (() => Promise<void>) | undefined
  #ready: Promise<void> | undefined
  #batch: PutEntry<P>[] | undefined
  #flushing: Promise<void> = Promise.resolve()
  #sharedMailbox: PGliteMailboxStore<unknown> | undefined

  constructor(db: SqlClient, options: PGliteQueueOptions = {}) {
    if (typeof db?.query !== 'function' || typeof db.exec !== 'function') refuse('db', 'a PGlite (or any client with query and exec)', db)
    optionsObject(options, { name: 1 } satisfies Record<keyof PGliteQueueOptions, 1>, 'options')
    this.db = db
    this.name = checkName(options.name ?? 'default', 'name')
  }

  /**
   * Takes the queue. The owner's Web Lock is named after the database's identity (a row that
   * every client of the database reads alike: a PGlite, a PGliteWorker in any tab) and the queue
   * name; within one process the client object also refuses a second owner.
   */
  async open(owner: string): Promise<readonly TaskRecord<P>[]> {
    await (this.#ready ??= migrate(this.db))
    const identity = await wrap('reading the database identity', () => databaseIdentity(this.db))
    this.#release = await acquireOwnership(this.db, this.name, owner, `pglite:${identity}/${this.name}`)
    try {
      return await wrap('reading the queue', () => selectJobs<P>(this.db, this.name))
    } catch (error) {
      await this.#release()
      this.#release = undefined
      throw error
    }
  }

  /**
   * Joins the batch being gathered this tick; the batch is written in one statement. If that
   * fails, each submit's records are written on their own, so one bad submit (a key already
   * stored) fails alone.
   */
  put(records: readonly TaskRecord<P>[]): Promise<void> {
    return new Promise((resolve, reject) => {
      if (this.#batch === undefined) {
        const batch: PutEntry<P>[] = []
        this.#batch = batch
        this.#flushing = Promise.resolve().then(() => {
          this.#batch = undefined
          return this.#flush(batch)
        })
      }
      this.#batch.push({ records, resolve, reject })
    })
  }

  async #flush(batch: readonly PutEntry<P>[]): Promise<void> {
    await this.#ready
    try {
      await this.#write(batch.flatMap((entry) => entry.records))
      for (const entry of batch) entry.resolve()
      return
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error)
        return
      }
    }
    for (const entry of batch) {
      try {
        await this.#write(entry.records)
        entry.resolve()
      } catch (error) {
        entry.reject(error)
      }
    }
  }

  async #write(records: readonly TaskRecord<P>[]): Promise<void> {
    await wrap('storing accepted tasks', async () => {
      // One statement stands alone (PGlite flushes after it); more need a transaction, then a flush.
      if (records.length <= ROWS_PER_INSERT) return insertJobs(this.db, this.name, records)
      await this.db.transaction((tx) => insertJobs(tx, this.name, records))
      await syncToDisk(this.db)
    })
  }

  async claim(record: TaskRecord<P>, attempt: number, lease: Lease): Promise<void> {
    const found = await wrap('claiming a task', () => claimJob(this.db, this.name, record.id, attempt, lease))
    if (!found) throw new BackendError(`Task ${record.id} is not in queue '${this.name}'`)
  }

  async renew(records: readonly TaskRecord<P>[], expiresAt: number): Promise<void> {
    await wrap('renewing leases', () =>
      renewLeases(
        this.db,
        this.name,
        records.map((r) => r.id),
        expiresAt,
      ),
    )
  }

  async release(record: TaskRecord<P>, notBefore: number | undefined): Promise<void> {
    const found = await wrap('releasing a task for retry', () => releaseJob(this.db, this.name, record.id, notBefore))
    if (!found) throw new BackendError(`Task ${record.id} is not in queue '${this.name}'`)
  }

  /** Deletes the row, remembers its key, and writes its mailbox message, in one transaction. */
  async settle(record: TaskRecord<P>, settlement: Settlement): Promise<void> {
    await wrap('settling a task', async () => {
      await this.db.transaction(async (tx) => {
        await settleJob(tx, this.name, record, settlement)
        if (settlement.message !== undefined) await insertMessage(tx, this.#sharedMailbox?.name ?? 'default', settlement.message)
      })
      await syncToDisk(this.db)
    })
  }

  async findKey(key: string, now: number): Promise<KeyRecord | undefined> {
    return wrap('looking up an idempotency key', () => findKey(this.db, this.name, key, now))
  }

  /** True for a PGlite mailbox store on the same database: the ack and the message then commit together. */
  sharesTransactionWith(store: MailboxStore<unknown>): boolean {
    if (store instanceof PGliteMailboxStore && store.db === this.db) {
      this.#sharedMailbox = store
      return true
    }
    return false
  }

  async close(): Promise<void> {
    await this.#flushing
    const release = this.#release
    this.#release = undefined
    await release?.()
  }
}

/**
 * PGlite's `transaction()` commits without flushing its filesystem (electric-sql/pglite#1065),
 * while top-level statements flush; flush explicitly after a transaction we answer for.
 */
async function syncToDisk(db: SqlClient): Promise<void> {
  const sync = (db as { syncToFs?: () => Promise<void> }).syncToFs
  if (typeof sync === 'function') await sync.call(db)
}
