import { SqlMailboxStore, type SqlMailboxStoreOptions } from '../sql/mailbox-store.js'

export type PGliteMailboxStoreOptions = SqlMailboxStoreOptions

/** Mailbox messages in `pl_mailbox_messages` of a PGlite (or any `SqlClient`) database. */
export class PGliteMailboxStore<R = unknown> extends SqlMailboxStore<R> {}
