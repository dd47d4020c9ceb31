// prometheus-parking-lot/indexeddb: the browser's embedded durable queue and mailbox.
export { IndexedDBQueue, type IndexedDBQueueOptions } from './queue.js'
export { IndexedDBMailboxStore, type IndexedDBMailboxStoreOptions } from './mailbox.js'
export { StorageWipedError } from './errors.js'
export { deleteDatabase } from './database.js'
