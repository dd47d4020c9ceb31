import { BackendError } from '../core/errors.js'
import type { FetchOptions, FetchResult, MailboxMessage, MailboxStore } from '../core/mailbox.js'
import { checkJson } from '../core/storable.js'
import type { MailboxKey } from '../core/types.js'
import { checkName, migrate, type SqlClient } from '../sql/migrations.js'
import { ackMessages, fetchMessages, findMessageByTask, insertMessage, pruneMessages } from '../sql/mailbox-rows.js'
import { optionsObject, refuse } from '../core/validate.js'

export interface PGliteMailboxStoreOptions {
  /** Separates mailboxes that share a database. @default 'default' */
  readonly name?: string
}

/** Mailbox messages in `pl_mailbox_messages` of a PGlite (or any `SqlClient`) database. */
export class PGliteMailboxStore<R = unknown> implements MailboxStore<R> {
  readonly checkValue = checkJson
  readonly db: SqlClient
  readonly name: string
  #ready: Promise<void> | undefined

  constructor(db: SqlClient, options: PGliteMailboxStoreOptions = {}) {
    if (typeof db?.query !== 'function' || typeof db.exec !== 'function') refuse('db', 'a PGlite (or any client with query and exec)', db)
    optionsObject(options, { name: 1 } satisfies Record<keyof PGliteMailboxStoreOptions, 1>, 'options')
    this.db = db
    this.name = checkName(options.name ?? 'default', 'name')
  }

  async put(message: MailboxMessage<R>): Promise<boolean> {
    await this.#migrated()
    return wrap('storing a mailbox message', () => insertMessage(this.db, this.name, message))
  }

  async fetch(key: MailboxKey, options?: FetchOptions): Promise<FetchResult<R>> {
    await this.#migrated()
    return wrap('fetching mailbox messages', () => fetchMessages<R>(this.db, this.name, key, options))
  }

  async ack(key: MailboxKey, messageIds: readonly string[]): Promise<number> {
    await this.#migrated()
    return wrap('acking mailbox messages', () => ackMessages(this.db, this.name, key, messageIds))
  }

  async prune(before: number): Promise<number> {
    await this.#migrated()
    return wrap('pruning mailbox messages', () => pruneMessages(this.db, this.name, before))
  }

  async findByTask(taskId: string): Promise<MailboxMessage<R> | undefined> {
    await this.#migrated()
    return wrap("reading a task's mailbox message", () => findMessageByTask<R>(this.db, this.name, taskId))
  }

  close(): void {
    // The database belongs to the caller, who closes it.
  }

  #migrated(): Promise<void> {
    return (this.#ready ??= migrate(this.db))
  }
}

/** Runs a storage operation; a failure becomes a `BackendError` that says what was being done. */
export async function wrap<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    if (error instanceof BackendError || (error as { code?: unknown })?.code === 'INVALID_OPTION') throw error
    throw new BackendError(`Storage failed while ${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error })
  }
}
