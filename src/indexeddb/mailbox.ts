import type { IDBPTransaction } from 'idb'
import { InvalidOptionError } from '../core/errors.js'
import { keyCovers, type FetchOptions, type FetchResult, type MailboxMessage, type MailboxStore } from '../core/mailbox.js'
import { undecodable } from '../core/decode.js'
import { checkCloneable } from '../core/storable.js'
import { decodeTerminalStatus } from '../core/fields.js'
import type { MailboxKey, TerminalStatus } from '../core/types.js'
import { openDatabase, wrapIdb, type Connection, type MessageRow, type OpenOptions, type ParkingLotDB } from './database.js'
import { optionalFunction, optionalString, optionsObject } from '../core/validate.js'

export interface IndexedDBMailboxStoreOptions extends OpenOptions {
  /** IndexedDB database name; a queue and a mailbox on one name share transactions. @default 'prometheus-parking-lot' */
  readonly database?: string
  /** Separates mailboxes that share a database. @default 'default' */
  readonly name?: string
}

type MessagesTx = IDBPTransaction<ParkingLotDB, ('messages' | 'jobs' | 'keys')[], 'readwrite'>

/** Writes a message in a transaction the caller owns (the queue's ack, or `put`). */
export async function putMessage<R>(tx: MessagesTx, mailbox: string, message: MailboxMessage<R>): Promise<boolean> {
  const store = tx.objectStore('messages')
  const taskStatus = `${message.taskId}\u0000${message.status}`
  if ((await store.index('byTaskStatus').getKey([mailbox, taskStatus])) !== undefined) return false
  const row: MessageRow = {
    mailbox,
    id: message.id,
    taskId: message.taskId,
    taskStatus,
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
  await store.add(row)
  return true
}

/** Mailbox messages in IndexedDB: they survive reloads and browser kills. */
export class IndexedDBMailboxStore<R = unknown> implements MailboxStore<R> {
  readonly checkValue = checkCloneable
  readonly database: string
  readonly name: string
  readonly #options: OpenOptions
  #connection: Promise<Connection> | undefined

  constructor(options: IndexedDBMailboxStoreOptions = {}) {
    optionsObject(options, { database: 1, name: 1, onBlocked: 1 } satisfies Record<keyof IndexedDBMailboxStoreOptions, 1>, 'options')
    this.database = optionalString(options.database, 'database') ?? 'prometheus-parking-lot'
    this.name = optionalString(options.name, 'name') ?? 'default'
    optionalFunction(options.onBlocked, 'onBlocked')
    this.#options = options
  }

  /** @internal The connection, opened on first use; a queue on the same database shares it. */
  connection(): Promise<Connection> {
    return (this.#connection ??= openDatabase(this.database, this.#options))
  }

  async put(message: MailboxMessage<R>): Promise<boolean> {
    const db = (await this.connection()).get()
    return wrapIdb('storing a mailbox message', async () => {
      const tx = db.transaction(['messages', 'jobs', 'keys'], 'readwrite')
      const added = await putMessage(tx, this.name, message)
      await tx.done
      return added
    })
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
    const db = (await this.connection()).get()
    return wrapIdb('acking mailbox messages', async () => {
      const tx = db.transaction('messages', 'readwrite')
      let removed = 0
      for (const id of messageIds) {
        const row = await tx.store.index('byId').get(id)
        if (row === undefined || row.mailbox !== this.name || !keyCovers(key, toMessage(row).key)) continue
        await tx.store.delete(row.seq!)
        removed++
      }
      await tx.done
      return removed
    })
  }

  async prune(before: number): Promise<number> {
    const db = (await this.connection()).get()
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
    const connection = await this.#connection
    connection?.close()
    this.#connection = undefined
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
