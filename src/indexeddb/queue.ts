import { unwrap, type IDBPTransaction } from 'idb'
import { undecodable } from '../core/decode.js'
import { BackendError, InvalidOptionError } from '../core/errors.js'
import { compactRecord, decodeKeyedInfo, decodeTerminalStatus, expandRecord, keyedInfo } from '../core/fields.js'
import type { MailboxStore } from '../core/mailbox.js'
import type { KeyRecord, Lease, Settlement, TaskQueue, TaskRecord } from '../core/queue.js'
import { reportUnhandled } from '../core/report.js'
import { checkCloneable, checkJson, type ValueCheck } from '../core/storable.js'
import { acquireOwnership } from '../queue/ownership.js'
import {
  checkOnWiped,
  openDatabase,
  requestPersistence,
  wrapIdb,
  type Connection,
  type JobRow,
  type KeyRow,
  type OpenOptions,
  type ParkingLotDB,
} from './database.js'
import { IndexedDBMailboxStore, messageRow, putMessageRow, reportedWipes } from './mailbox.js'
import type { JournalEntry } from './journal-format.js'
import { optionalBoolean, optionalFunction, optionalString, optionsObject, refuse } from '../core/validate.js'

export interface IndexedDBQueueOptions extends OpenOptions {
  /** IndexedDB database name; a queue and a mailbox on one name share transactions. @default 'prometheus-parking-lot' */
  readonly database?: string
  /** The queue's name (and its owner lock's). @default 'default' */
  readonly name?: string
  /**
   * `'default'` survives the browser or tab being killed, except a wipe of the whole database by
   * the browser (reported: `onWiped`); `'strict'` also waits for the OS to flush (power loss), at a
   * cost per commit; `'journaled'` also appends every accepted task and outcome to a journal in the
   * origin private file system, flushed before `submit` resolves, and rebuilds the database from it
   * after a wipe. A journaled queue stores JSON payloads only (the journal is JSON).
   * @default 'default'
   */
  readonly durability?: 'default' | 'strict' | 'journaled'
  /** Ask the browser to persist this origin's storage on open. @default true */
  readonly requestPersistence?: boolean
}

type WriteTx = IDBPTransaction<ParkingLotDB, ('jobs' | 'keys' | 'messages')[], 'readwrite'>
/**
 * Issues its requests on the shared transaction. Returns a promise only when it must read before
 * it writes; plain writes finish (or fail) with the transaction.
 */
type WriteOperation = (tx: WriteTx) => Promise<unknown> | undefined

interface PendingWrite {
  readonly what: string
  readonly operation: WriteOperation
  /** What the write records in the journal, when the database has one. */
  readonly journal?: () => JournalEntry
  /** Takes back an accepted write the journal then refused (a put: its rows go again). */
  readonly undo?: WriteOperation
  resolve(): void
  reject(error: unknown): void
}

/** Writes per transaction when a batch is large. */
const CHUNK = 250

// Owner registries are per database name (connections to one database are separate objects).
const scopes = new Map<string, object>()
const scopeOf = (database: string): object => {
  let scope = scopes.get(database)
  if (scope === undefined) scopes.set(database, (scope = {}))
  return scope
}

/**
 * The browser's embedded durable queue: tasks survive reloads and browser kills (a wipe of the
 * database by the browser is reported; with `durability: 'journaled'`, rebuilt). One owner per
 * queue name, held with a Web Lock. Submits that arrive together share one transaction (group
 * commit); each task is one row keyed by queue and seq, so a claim or an ack is a keyed write
 * whose cost does not grow with the history of the queue.
 */
export class IndexedDBQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = true
  /** Structured clone; JSON when journaled. */
  readonly checkValue: ValueCheck
  readonly database: string
  readonly name: string
  /** The browser's answer to `navigator.storage.persist()`, once open; undefined where unsupported. */
  persisted: boolean | undefined
  readonly #options: IndexedDBQueueOptions
  #connection: Connection | undefined
  #release: (() => Promise<void>) | undefined
  #pending: PendingWrite[] = []
  #scheduled = false
  #flushing: Promise<void> = Promise.resolve()
  #mailboxName: string | undefined
  /** Keys that ended before this may be pruned in the next commit; -Infinity: nothing to prune. */
  #pruneBefore = -Infinity
  #detection = 'off: not open yet'
  #report: ((error: Error) => void) | undefined

  constructor(options: IndexedDBQueueOptions = {}) {
    optionsObject(
      options,
      { database: 1, name: 1, onBlocked: 1, onWiped: 1, durability: 1, requestPersistence: 1 } satisfies Record<
        keyof IndexedDBQueueOptions,
        1
      >,
      'options',
    )
    checkOnWiped(options.onWiped)
    const durability = options.durability
    if (durability !== undefined && durability !== 'default' && durability !== 'strict' && durability !== 'journaled') {
      refuse('durability', "'default', 'strict' or 'journaled'", durability)
    }
    this.checkValue = durability === 'journaled' ? checkJson : checkCloneable
    optionalBoolean(options.requestPersistence, 'requestPersistence')
    this.database = optionalString(options.database, 'database') ?? 'prometheus-parking-lot'
    this.name = optionalString(options.name, 'name') ?? 'default'
    optionalFunction(options.onBlocked, 'onBlocked')
    this.#options = options
  }

  /** Whether a wipe of the database would be detected (`'on'`), or `'off: '` and why; known once open. */
  get wipeDetection(): string {
    return this.#detection
  }

  /**
   * A database the browser wiped is reported to `report` (the pool's `error` event) and, unless
   * `onWiped` is `'continue'`, refuses the open with `StorageWipedError`.
   */
  async open(owner: string, report?: (error: Error) => void): Promise<readonly TaskRecord<P>[]> {
    this.#release = await acquireOwnership(scopeOf(this.database), this.name, owner, `${this.database}/${this.name}`)
    this.#report = report
    try {
      const journaled = this.#options.durability === 'journaled'
      this.#connection ??= await openDatabase(this.database, this.#options, { journaled, dropsStaleJournal: !journaled })
      this.#detection = this.#connection.detection
      const wiped = this.#connection.wiped
      if (wiped !== undefined) {
        reportedWipes.add(wiped)
        report?.(wiped)
        if (!wiped.rebuilt && this.#options.onWiped !== 'continue') throw wiped
      }
      if (this.#options.requestPersistence !== false) this.persisted = await requestPersistence()
      const db = this.#connection.get()
      const rows = await wrapIdb('reading the queue', () =>
        db.getAll('jobs', IDBKeyRange.bound([this.name, -Infinity], [this.name, Infinity])),
      )
      return rows.map((row) => toRecord<P>(this.name, row))
    } catch (error) {
      // Nothing of a failed open stays held: the database, its journal's files, the owner lock.
      await this.#connection?.release()
      this.#connection = undefined
      await this.#release()
      this.#release = undefined
      throw error
    }
  }

  /** Records accepted tasks; submits that arrive together share one transaction (group commit). */
  put(records: readonly TaskRecord<P>[]): Promise<void> {
    const rows = records.map((record) => toRow(this.name, record))
    return this.#write(
      'storing accepted tasks',
      (tx) => {
        // Raw requests: their outcome shows in the transaction's, without a promise per request.
        const jobs = unwrap(tx.objectStore('jobs'))
        const keys = unwrap(tx.objectStore('keys'))
        for (const row of rows) {
          if (typeof row['key'] === 'string') keys.delete([this.name, row['key']])
          // `add`, not `put`: a live key or a repeated seq is refused by the store's unique indexes.
          jobs.add(row)
        }
        return undefined
      },
      {
        journal: () => ({ op: 'put', rows }),
        undo: (tx) => {
          for (const row of rows) unwrap(tx.objectStore('jobs')).delete([this.name, row.seq])
          return undefined
        },
      },
    )
  }

  /** A blind keyed write of the whole row (the pool holds the record): no read, one request. */
  claim(record: TaskRecord<P>, attempt: number, lease: Lease): Promise<void> {
    const row = toRow(this.name, record)
    row['attempt'] = attempt
    row['lease'] = lease
    delete row['notBefore']
    return this.#write('claiming a task', (tx) => void unwrap(tx.objectStore('jobs')).put(row))
  }

  renew(records: readonly TaskRecord<P>[], expiresAt: number): Promise<void> {
    return this.#write('renewing leases', async (tx) => {
      for (const record of records) {
        const row = await tx.objectStore('jobs').get([this.name, record.seq])
        const lease = row?.['lease'] as Lease | undefined
        if (row !== undefined && lease !== undefined) {
          row['lease'] = { owner: lease.owner, expiresAt }
          await tx.objectStore('jobs').put(row)
        }
      }
    })
  }

  /** Read-modify-write (retries are rare): the stored attempt count stays as the claim left it. */
  release(record: TaskRecord<P>, notBefore: number | undefined): Promise<void> {
    return this.#write('releasing a task for retry', async (tx) => {
      const row = await tx.objectStore('jobs').get([this.name, record.seq])
      if (row === undefined || row.id !== record.id) throw new BackendError(`Task ${record.id} is not in queue '${this.name}'`)
      delete row['lease']
      if (notBefore === undefined) delete row['notBefore']
      else row['notBefore'] = notBefore
      await tx.objectStore('jobs').put(row)
    })
  }

  /**
   * Deletes the row, remembers its key (with the task's fields), and writes its mailbox message,
   * in one transaction. Keys whose time passed are pruned once per commit.
   */
  settle(record: TaskRecord<P>, settlement: Settlement): Promise<void> {
    const key: KeyRow | undefined =
      record.key === undefined
        ? undefined
        : {
            queue: this.name,
            key: record.key,
            taskId: record.id,
            fingerprint: record.fingerprint ?? null,
            status: settlement.status,
            retainUntil: settlement.retainKeyUntil,
            task: keyedInfo(record),
          }
    const message = settlement.message === undefined ? undefined : messageRow(this.#mailboxName ?? 'default', settlement.message)
    return this.#write(
      'settling a task',
      (tx) => {
        unwrap(tx.objectStore('jobs')).delete([this.name, record.seq])
        if (key !== undefined) {
          unwrap(tx.objectStore('keys')).put(key)
          this.#pruneBefore = Math.max(this.#pruneBefore, settlement.endedAt)
        }
        return message === undefined ? undefined : putMessageRow(tx, message)
      },
      { journal: () => ({ op: 'settle', queue: this.name, seq: record.seq, key, message }) },
    )
  }

  /**
   * Every write joins the transaction gathered this tick: submits, claims and acks of tasks that
   * start and end together commit together. If the transaction fails, each write is tried alone,
   * so one bad write (a key already stored) fails by itself.
   */
  #write(what: string, operation: WriteOperation, journal?: Pick<PendingWrite, 'journal' | 'undo'>): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#pending.push({ what, operation, ...journal, resolve, reject })
      if (this.#scheduled) return
      this.#scheduled = true
      // One commit at a time: writes that arrive while one is in flight form the next batch
      // (group commit), so batches grow with load and an idle queue adds no delay.
      this.#flushing = this.#flushing.then(() => {
        this.#scheduled = false
        const batch = this.#pending
        this.#pending = []
        return this.#flush(batch)
      })
    })
  }

  async #flush(batch: readonly PendingWrite[]): Promise<void> {
    // A large batch goes as several transactions issued together: Chromium prepares the next
    // while the previous commits. Each write stays whole inside one transaction.
    if (batch.length > CHUNK) {
      const chunks: PendingWrite[][] = []
      for (let i = 0; i < batch.length; i += CHUNK) chunks.push(batch.slice(i, i + CHUNK))
      await Promise.all(chunks.map((chunk) => this.#flush(chunk)))
      return
    }
    let committed: readonly PendingWrite[] = batch
    try {
      await this.#commit(batch)
    } catch (error) {
      if (batch.length === 1) {
        batch[0]!.reject(error)
        return
      }
      const alone: PendingWrite[] = []
      for (const write of batch) {
        try {
          await this.#commit([write])
          alone.push(write)
        } catch (error) {
          write.reject(error)
        }
      }
      committed = alone
    }
    await this.#journal(committed)
  }

  /**
   * Appends what committed writes did to the database's journal (when it has one), then lets
   * them resolve: an accepted task is in the journal before its `submit` resolves. Writes go to
   * IndexedDB first so the journal never holds one IndexedDB refused. If the journal refuses, the
   * puts are taken back (their submits reject: not accepted) and the rest stand, reported.
   */
  async #journal(writes: readonly PendingWrite[]): Promise<void> {
    const connection = this.#connection
    if (connection === undefined || !connection.journaling) {
      for (const write of writes) write.resolve()
      return
    }
    try {
      await connection.journalWrote(writes.flatMap((write) => (write.journal === undefined ? [] : [write.journal()])))
    } catch (error) {
      const refused = new BackendError(
        `The journal of IndexedDB database '${this.database}' refused a write: ${error instanceof Error ? error.message : String(error)}`,
        { cause: error },
      )
      const undone = writes.filter((write) => write.undo !== undefined)
      try {
        if (undone.length > 0) await this.#commit(undone.map((write) => ({ ...write, operation: write.undo! })))
      } catch (undoError) {
        this.#report?.(new BackendError(`Could not take back writes the journal refused: ${String(undoError)}`, { cause: undoError }))
      }
      for (const write of writes) {
        if (write.undo !== undefined) write.reject(refused)
        else write.resolve()
      }
      this.#report?.(refused)
      return
    }
    for (const write of writes) write.resolve()
  }

  async #commit(batch: readonly PendingWrite[]): Promise<void> {
    const db = this.#db()
    await wrapIdb(batch.length === 1 ? batch[0]!.what : `${batch.length} writes`, async () => {
      const tx = db.transaction(['jobs', 'keys', 'messages'], 'readwrite', { durability: this.#durability() })
      const pending: Promise<unknown>[] = []
      for (const write of batch) {
        const started = write.operation(tx)
        if (started !== undefined) pending.push(started)
      }
      if (this.#pruneBefore > -Infinity) pending.push(this.#pruneKeys(tx, this.#pruneBefore))
      // A refused request aborts the transaction: every promise settles, and the first error wins.
      const outcome = await Promise.allSettled([...pending, tx.done])
      const failed = outcome.find((result) => result.status === 'rejected')
      if (failed !== undefined) throw (failed as PromiseRejectedResult).reason
    })
    this.#connection?.wrote()
  }

  /** Deletes key records of this queue whose time passed, in the commit's transaction. */
  async #pruneKeys(tx: WriteTx, before: number): Promise<void> {
    this.#pruneBefore = -Infinity
    const range = IDBKeyRange.bound([this.name, -Infinity], [this.name, before])
    let cursor = await tx.objectStore('keys').index('byQueueRetain').openCursor(range)
    while (cursor !== null) {
      await cursor.delete()
      cursor = await cursor.continue()
    }
  }

  async findKey(key: string, now: number): Promise<KeyRecord | undefined> {
    const db = this.#db()
    return wrapIdb('looking up an idempotency key', async () => {
      const live = await db.getFromIndex('jobs', 'key', [this.name, key])
      if (live !== undefined) {
        const record = toRecord(this.name, live)
        return { key, taskId: record.id, fingerprint: record.fingerprint, status: undefined, retainUntil: undefined, task: undefined }
      }
      const ended = await db.get('keys', [this.name, key])
      if (ended === undefined || ended.retainUntil <= now) return undefined
      try {
        return {
          key,
          taskId: ended.taskId,
          fingerprint: ended.fingerprint ?? undefined,
          status: decodeTerminalStatus(ended.status, 'key.status'),
          retainUntil: ended.retainUntil,
          task: ended.task === undefined ? undefined : decodeKeyedInfo(ended.task, 'key.task'),
        }
      } catch (error) {
        throw undecodable(`The stored idempotency key '${key}' of queue '${this.name}'`, error)
      }
    })
  }

  /** True for an IndexedDB mailbox store on the same database: the ack and the message then commit together. */
  sharesTransactionWith(store: MailboxStore<unknown>): boolean {
    if (store instanceof IndexedDBMailboxStore && store.database === this.database) {
      // One journal holds both, and its entries are JSON: both must check for it.
      if ((store.durability === 'journaled') !== (this.#options.durability === 'journaled')) {
        throw new InvalidOptionError(
          `The queue and the mailbox store on IndexedDB database '${this.database}' must both be durability 'journaled', or neither (the queue is ${this.#options.durability ?? 'default'}, the store ${store.durability})`,
          'durability',
        )
      }
      this.#mailboxName = store.name
      return true
    }
    return false
  }

  async close(): Promise<void> {
    await this.#flushing
    await this.#connection?.noteNow().catch((error: unknown) => reportUnhandled(error, `noting the size of '${this.database}' on close`))
    await this.#connection?.release()
    this.#connection = undefined
    const release = this.#release
    this.#release = undefined
    await release?.()
  }

  #db(): NonNullable<Connection['db']> {
    if (this.#connection === undefined) throw new BackendError(`IndexedDB queue '${this.name}' is not open`)
    return this.#connection.get()
  }

  #durability(): 'default' | 'strict' {
    return this.#options.durability === 'strict' ? 'strict' : 'default'
  }
}

function toRow<P>(queue: string, record: TaskRecord<P>): JobRow {
  return { queue, ...compactRecord(record) } as JobRow
}

/** A stored row back into a record; one that does not decode is refused naming its id and field. */
function toRecord<P>(queue: string, row: JobRow): TaskRecord<P> {
  try {
    return expandRecord<P>(row, `task ${String(row.id)}`)
  } catch (error) {
    throw undecodable(`Stored task ${String(row.id)} of queue '${queue}'`, error)
  }
}
