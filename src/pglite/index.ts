// prometheus-parking-lot/pglite: the durable queue and mailbox on PGlite (browser and Node).
export { PGliteQueue, type PGliteQueueOptions } from './queue.js'
export { PGliteMailboxStore, type PGliteMailboxStoreOptions } from './mailbox.js'
export { openPGlite } from './open.js'
export type { SqlClient, SqlTransaction } from '../sql/migrations.js'
