// The shared-pool host of the benchmarks: a memory-queue pool and an IndexedDB-queue pool, both
// running a trivial task in the host; a GPU pool running compute passes in the host; a pool
// whose tasks run on the tabs' workers.
import { Mailbox, MemoryMailboxStore } from '../../src/index.js'
import { IndexedDBQueue } from '../../src/indexeddb/index.js'
import { SharedPoolHost } from '../../src/worker.js'
import { gpuPasses } from './gpu.js'

const host = new SharedPoolHost()
host.listen()
host.addPool('memory', { capacity: 64, executor: (value: unknown) => value })
const database = `bench-shared-${Date.now()}`
host.addPool('idb', {
  capacity: 64,
  executor: (value: unknown) => value,
  queue: new IndexedDBQueue({ database, name: 'idb' }),
  mailbox: new Mailbox({ store: new MemoryMailboxStore() }),
})
host.addPool('gpu-in-host', { capacity: 1, executor: (passes: number) => gpuPasses(passes) })
host.addPool('gpu-in-tab', { capacity: {} })
