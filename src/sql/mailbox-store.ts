import type { FetchOptions, FetchResult, MailboxMessage, MailboxStore } from '../core/mailbox.js'
import { checkJson } from '../core/storable.js'
import type { MailboxKey } from '../core/types.js'
import { checkName, migrate, type SqlClient } from './migrations.js'
import { ackMessages, fetchMessages, findMessageByTask, insertMessage, pruneMessages } from './mailbox-rows.js'
import { optionsObject, refuse } from '../core/validate.js'
import { wrap } from './wrap.js'

export interface SqlMailboxStoreOptions {
  /** Separates mailboxes that share a database. @default 'default' */
  readonly name?: string
}

/**
 * Mailbox messages in `pl_mailbox_messages` of a SQL database: the one body of the PGlite and
 * Postgres mailbox stores, which differ only in how they reach the database.
 */
export class SqlMailboxStore<R = unknown> implements MailboxStore<R> {
  readonly checkValue = checkJson
  readonly db: SqlClient
  readonly name: string
  #ready: Promise<void> | undefined
  readonly #migrate: (db: SqlClient) => Promise<void>

  constructor(db: SqlClient, options: SqlMailboxStoreOptions = {}, migrateWith: (db: SqlClient) => Promise<void> = migrate) {
    if (typeof db?.query !== 'function' || typeof db.exec !== 'function') refuse('db', 'a PGlite (or any client with query and exec)', db)
    optionsObject(options, { name: 1 } satisfies Record<keyof SqlMailboxStoreOptions, 1>, 'options')
    this.#migrate = migrateWith
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
    // A failure (the server was unreachable) is not kept: the next call tries again.
    return (this.#ready ??= wrap('preparing the schema', () => this.#migrate(this.db)).catch((error: unknown) => {
      this.#ready = undefined
      throw error
    }))
  }
}
