import type { IDBPTransaction } from 'idb'
import { InvalidOptionError } from '../core/errors.js'
import { keyCovers, type FetchOptions, type FetchResult, type MailboxMessage, type MailboxStore } from '../core/mailbox.js'
import { undecodable } from '../core/decode.js'
import { checkCloneable, checkJson, type ValueCheck } from '../core/storable.js'
import type { JournalEntry, JournalMessage } from './journal-format.js'
import { decodeTerminalStatus } from '../core/fields.js'
import type { MailboxKey, TerminalStatus } from '../core/types.js'
import { reportUnhandled } from '../core/report.js'
import { checkOnWiped, openDatabase, type Connection, type OpenOptions } from './database.js'
import { wrapIdb } from './errors.js'
import type { MessageRow, ParkingLotDB } from './schema.js'
import { optionalFunction, optionalString, optionsObject, refuse } from '../core/validate.js'

export interface IndexedDBMailboxStoreOptions extends OpenOptions {
  /** IndexedDB database name; a queue and a mailbox on one name share transactions. @default 'prometheus-parking-lot' */
  readonly database?: string
  /** Separates mailboxes that share a database. @default 'default' */
  readonly name?: string
  /**
   * `'journaled'`: messages, acks and prunes also go to the database's journal in the origin
   * private file system, and the database is rebuilt from it after a wipe (JSON results only).
   * On a database whose queue is journaled in this page, the store journals whatever this says.
   * @default 'default'
   */
  readonly durability?: 'default' | 'journaled'
}

/** Wipes already reported in this realm (a queue on the same database reports through its pool). */
export const reportedWipes = new WeakSet<Error>()

type MessagesTx = IDBPTransaction<ParkingLotDB, ('messages' | 'jobs' | 'keys')[], 'readwrite'>

/** The stored row of a message (without its seq, which the store assigns). */
export function messageRow<R>(mailbox: string, message: MailboxMessage<R>): JournalMessage {
  return {
    mailbox,
    id: message.id,
    taskId: message.taskId,
    taskStatus: `${message.taskId}\u0000${message.status}`,
    tenant: message.key.tenant,
    user: message.key.user ?? null,
    session: message.key.session ?? null,
    status: message.status,
    ...('result' in message ? { result: message.result } : {}),
    error: message.error === undefined ? null : { code: message.error.code, message: message.error.message },
    attempts: message.attempts,
    submittedAt: message.submittedAt,
    completedAt: message.completedAt,
  }
}

/** Writes a message row in a transaction the caller owns (the queue's ack, or `put`); false if the task's message with that status is there already. */
export async function putMessageRow(tx: MessagesTx, row: JournalMessage): Promise<boolean> {
  const store = tx.objectStore('messages')
  if ((await store.index('byTaskStatus').getKey([row.mailbox, row.taskStatus])) !== undefined) return false
  // The seq goes into the row as well, for the journal: a rebuilt store keeps it (fetch cursors name it).
  row.seq = await store.add(row)
  return true
}

/** Mailbox messages in IndexedDB: they survive reloads and browser kills (a wipe of the database by the browser is reported; journaled, rebuilt). */
export class IndexedDBMailboxStore<R = unknown> implements MailboxStore<R> {
  /** Structured clone; JSON when journaled. */
  readonly checkValue: ValueCheck
  readonly database: string
  readonly name: string
  readonly durability: 'default' | 'journaled'
  readonly #options: IndexedDBMailboxStoreOptions
  #connection: Promise<Connection> | undefined

  constructor(options: IndexedDBMailboxStoreOptions = {}) {
    optionsObject(
      options,
      { database: 1, name: 1, onBlocked: 1, onWiped: 1, durability: 1 } satisfies Record<keyof IndexedDBMailboxStoreOptions, 1>,
      'options',
    )
    checkOnWiped(options.onWiped)
    if (options.durability !== undefined && options.durability !== 'default' && options.durability !== 'journaled') {
      refuse('durability', "'default' or 'journaled'", options.durability)
    }
    this.durability = options.durability ?? 'default'
    this.checkValue = this.durability === 'journaled' ? checkJson : checkCloneable
    this.database = optionalString(options.database, 'database') ?? 'prometheus-parking-lot'
    this.name = optionalString(options.name, 'name') ?? 'default'
    optionalFunction(options.onBlocked, 'onBlocked')
    this.#options = options
  }

  /**
   * @internal The connection, opened on first use. A database the browser wiped fails every
   * operation with `StorageWipedError` unless `onWiped` is `'continue'` (then it is reported once
   * in this page, where a queue on the same database has not reported it already).
   */
  connection(): Promise<Connection> {
    const journal = { journaled: this.durability === 'journaled', dropsStaleJournal: false }
    return (this.#connection ??= openDatabase(this.database, this.#options, journal).then(async (connection) => {
      const wiped = connection.wiped
      if (wiped === undefined) return connection
      if (!wiped.rebuilt && this.#options.onWiped !== 'continue') {
        await connection.release()
        throw wiped
      }
      if (!reportedWipes.has(wiped)) {
        reportedWipes.add(wiped)
        reportUnhandled(wiped, `IndexedDB mailbox store '${this.name}'`)
      }
      return connection
    }))
  }

  async put(message: MailboxMessage<R>): Promise<boolean> {
    const connection = await this.connection()
    const db = connection.get()
    const row = messageRow(this.name, message)
    const added = await wrapIdb('storing a mailbox message', async () => {
      const tx = db.transaction(['messages', 'jobs', 'keys'], 'readwrite')
      const added = await putMessageRow(tx, row)
      await tx.done
      connection.wrote()
      return added
    })
    // A message not yet in the journal is not stored: the put rejects, and the pool lets the task
    // go. (One the store had already is in the journal since this open: it restarts from the store.)
    if (added && connection.journaling) await connection.journalWrote([{ op: 'message', message: row }])
    return added
  }

  async fetch(key: MailboxKey, options: FetchOptions = {}): Promise<FetchResult<R>> {
    let since = 0
    if (options.since !== undefined) {
      const match = /^i([0-9]+)$/.exec(options.since)
      if (match === null)
        throw new InvalidOptionError(
          `Expected \`since\` to be a cursor from a previous fetch, got ${JSON.stringify(options.since)}`,
          'since',
        )
      since = Number(match[1])
    }
    const limit = options.limit ?? 100
    if (!Number.isInteger(limit) || limit < 1)
      throw new InvalidOptionError(`Expected \`limit\` to be an integer >= 1, got ${String(limit)}`, 'limit')
    const db = (await this.connection()).get()
    return wrapIdb('fetching mailbox messages', async () => {
      const range = IDBKeyRange.bound([this.name, key.tenant, since], [this.name, key.tenant, Infinity], true, false)
      const messages: MailboxMessage<R>[] = []
      let last = since
      let cursor = await db.transaction('messages').store.index('byTenant').openCursor(range)
      while (cursor !== null && messages.length < limit) {
        const message = toMessage<R>(cursor.value)
        if (keyCovers(key, message.key)) {
          messages.push(message)
          last = cursor.value.seq!
        }
        cursor = await cursor.continue()
      }
      return { messages, cursor: messages.length === 0 ? options.since : `i${last}` }
    })
  }

  async ack(key: MailboxKey, messageIds: readonly string[]): Promise<number> {
    const connection = await this.connection()
    const db = connection.get()
    return wrapIdb('acking mailbox messages', async () => {
      const tx = db.transaction('messages', 'readwrite')
      const removed: string[] = []
      for (const id of messageIds) {
        const row = await tx.store.index('byId').get(id)
        if (row === undefined || row.mailbox !== this.name || !keyCovers(key, toMessage(row).key)) continue
        await tx.store.delete(row.seq!)
        removed.push(id)
      }
      await tx.done
      connection.wrote()
      await this.#journal(connection, removed.length > 0, { op: 'ack', mailbox: this.name, ids: removed })
      return removed.length
    })
  }

  /**
   * An ack or prune the journal missed only means its messages may come back after a wipe (a
   * repeat, never a loss): it stands, and the journal's refusal is reported.
   */
  async #journal(connection: Connection, changed: boolean, entry: JournalEntry): Promise<void> {
    if (!changed || !connection.journaling) return
    try {
      await connection.journalWrote([entry])
    } catch (error) {
      reportUnhandled(error, `the journal of '${this.database}' refused a mailbox ${entry.op}`)
    }
  }

  async prune(before: number): Promise<number> {
    const connection = await this.connection()
    const db = connection.get()
    return wrapIdb('pruning mailbox messages', async () => {
      const tx = db.transaction('messages', 'readwrite')
      let removed = 0
      let cursor = await tx.store
        .index('byCompleted')
        .openCursor(IDBKeyRange.bound([this.name, -Infinity], [this.name, before], false, true))
      while (cursor !== null) {
        await cursor.delete()
        removed++
        cursor = await cursor.continue()
      }
      await tx.done
      connection.wrote()
      await this.#journal(connection, removed > 0, { op: 'prune', mailbox: this.name, before })
      return removed
    })
  }

  async findByTask(taskId: string): Promise<MailboxMessage<R> | undefined> {
    const db = (await this.connection()).get()
    return wrapIdb("reading a task's mailbox message", async () => {
      // Unique per task and status: `taskId\0status`; every status of the task sorts together.
      const range = IDBKeyRange.bound([this.name, `${taskId}\u0000`], [this.name, `${taskId}\u0000\uffff`])
      const rows = await db.getAllFromIndex('messages', 'byTaskStatus', range)
      const newest = rows.reduce<MessageRow | undefined>(
        (best, row) => (best === undefined || row.seq! > best.seq! ? row : best),
        undefined,
      )
      return newest === undefined ? undefined : toMessage<R>(newest)
    })
  }

  async close(): Promise<void> {
    const opening = this.#connection
    this.#connection = undefined
    // An open that failed left nothing open; its error went to the operation that asked.
    const connection = await opening?.catch(() => undefined)
    if (connection === undefined) return
    await connection.noteNow().catch((error: unknown) => reportUnhandled(error, `noting the size of '${this.database}' on close`))
    await connection.release()
  }
}

/** A stored row back into a message; one that does not decode is refused naming its id and field. */
function toMessage<R>(row: MessageRow): MailboxMessage<R> {
  let status: TerminalStatus
  try {
    status = decodeTerminalStatus(row.status, `message ${row.id}.status`)
  } catch (error) {
    throw undecodable(`Stored mailbox message ${row.id}`, error)
  }
  return {
    id: row.id,
    taskId: row.taskId,
    key: {
      tenant: row.tenant,
      ...(row.user === null ? {} : { user: row.user }),
      ...(row.session === null ? {} : { session: row.session }),
    },
    status,
    ...('result' in row ? { result: row.result as R } : {}),
    ...(row.error === null ? {} : { error: row.error }),
    attempts: row.attempts,
    submittedAt: row.submittedAt,
    completedAt: row.completedAt,
  }
}
