// The host a leader tab builds: a pool on IndexedDB, so a new leader recovers what the old one had.
import { Mailbox } from '../../src/index.js'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../../src/indexeddb/index.js'
import { SharedPoolHost } from '../../src/worker.js'
import { CAPACITY, MODEL_UNITS } from './model-units.js'

export function leaderHost(database: string): SharedPoolHost {
  const host = new SharedPoolHost({ tenant: 'test-origin' })
  const options = (async () => {
    // The previous leader's queue lock goes when its tab does; wait for it rather than fail.
    await navigator.locks.request(`prometheus-parking-lot:owner:${database}/cpu`, async () => {})
    return {
      capacity: { units: 4 },
      maxAttempts: 5,
      retryBaseDelayMs: 1,
      queue: new IndexedDBQueue({ database, name: 'cpu' }),
      mailbox: new Mailbox({ store: new IndexedDBMailboxStore({ database, name: 'cpu' }) }),
    }
  })()
  void host.addPoolLater('cpu', options)
  // Models loaded in the tabs' workers (model-handlers.ts), on a memory queue: one budget for every tab's instances.
  host.addPool('models', {
    capacity: { vram: CAPACITY },
    models: Object.fromEntries(Object.entries(MODEL_UNITS).map(([id, units]) => [id, { cost: { vram: units } }])),
  })
  return host
}
