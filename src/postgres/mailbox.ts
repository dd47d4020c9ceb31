import type { PgPool } from './client.js'
import { migratePostgres, pgClient } from './client.js'
import { SqlMailboxStore, type SqlMailboxStoreOptions } from '../sql/mailbox-store.js'

export type PostgresMailboxStoreOptions = SqlMailboxStoreOptions

/**
 * Mailbox messages in `pl_mailbox_messages` of a Postgres database, on the same SQL as PGlite's
 * store. The pool is the caller's: `close()` leaves it open.
 */
export class PostgresMailboxStore<R = unknown> extends SqlMailboxStore<R> {
  readonly pool: PgPool

  constructor(pool: PgPool, options: PostgresMailboxStoreOptions = {}) {
    super(pgClient(pool), options, () => migratePostgres(pool))
    this.pool = pool
  }
}
