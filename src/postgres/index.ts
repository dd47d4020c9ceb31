// prometheus-parking-lot/postgres: the mailbox store (and, next, the shared queue) on Postgres via `pg` (Node).
export { PostgresMailboxStore, type PostgresMailboxStoreOptions } from './mailbox.js'
export { pgClient, type PgPool } from './client.js'
export type { SqlClient, SqlTransaction } from '../sql/migrations.js'
