// prometheus-parking-lot/pgmq: a queue many pools share on pgmq (Postgres with the extension, or PGlite with @electric-sql/pglite-pgmq).
export { PgmqQueue, type PgmqQueueOptions, type PgmqClient } from './queue.js'
export type { SqlClient, SqlTransaction } from '../sql/migrations.js'
