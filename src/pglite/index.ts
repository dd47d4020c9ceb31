// prometheus-parking-lot/pglite: the durable queue and mailbox on PGlite (browser and Node).
export { PGliteQueue, type PGliteQueueOptions } from './queue.js'
export { PGliteMailboxStore, type PGliteMailboxStoreOptions } from './mailbox.js'
export { MIGRATIONS, migrate, type SqlClient, type SqlTransaction } from '../sql/migrations.js'
export { ownerLockName } from '../queue/ownership.js'
