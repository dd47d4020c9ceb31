// prometheus-parking-lot/postgres: the shared queue and the mailbox store on Postgres via `pg` (Node).
export { PostgresQueue, type PostgresQueueOptions } from './queue.js'
export { PostgresMailboxStore, type PostgresMailboxStoreOptions } from './mailbox.js'
export { pgClient, type PgPool } from './client.js'
export type { SqlClient, SqlTransaction } from '../sql/migrations.js'
