// The demo's host: the one budget, the lot, and the IndexedDB queue and mailbox, for every tab.
// It runs in a SharedWorker (host.ts), or, in leader mode (`?mode=leader`, or a browser without
// SharedWorker), in the tab the others elected. Jobs run on workers the tabs lend (worker.ts);
// models load in those workers, and the budget counts every tab's loaded models.
import { BroadcastNotifier, Mailbox } from '../src/index.js'
import { IndexedDBMailboxStore, IndexedDBQueue } from '../src/indexeddb/index.js'
import { SharedPoolHost, type SharedPoolOptions } from '../src/worker.js'
import { COSTS, DATABASE, POOL, VRAM_UNITS, type Job, type JobResult } from './config.js'

async function options(): Promise<SharedPoolOptions<Job, JobResult>> {
  // A host that just died (every tab closed or reloaded) may still hold the queue's owner lock
  // for a moment: wait for it rather than fail.
  await navigator.locks.request(`prometheus-parking-lot:owner:${DATABASE}/${POOL}`, async () => {})
  return {
    name: POOL,
    // The network is a capacity too: 0 until a tab says it is online (trackConnectivity).
    capacity: { vram: VRAM_UNITS, network: 0 },
    elasticResources: ['network'],
    maxQueueDepth: 500,
    maxAttempts: 25,
    retryBaseDelayMs: 50,
    retryMaxDelayMs: 500,
    policy: { backfill: true, headReserveAfterMs: 5_000 },
    queue: new IndexedDBQueue<Job>({ database: DATABASE, name: POOL }),
    // Every tab hears of each result (BroadcastChannel), so each tab's mailbox list is live.
    mailbox: new Mailbox<JobResult>({
      store: new IndexedDBMailboxStore<JobResult>({ database: DATABASE, name: POOL }),
      notifiers: [new BroadcastNotifier<JobResult>()],
    }),
    // Loaded models hold their weights' units between prompts; idle ones go after a minute, or sooner for room.
    models: Object.fromEntries(
      Object.entries(COSTS).map(([id, cost]) => [id, { cost: { vram: cost.modelUnits() }, keepAliveMs: 60_000, maxParallel: 2 }]),
    ),
  }
}

/** The host with the demo's pool added (once its queue opens); `listen()` is the caller's. */
export function demoHost(): SharedPoolHost {
  const host = new SharedPoolHost()
  host.addPoolLater(POOL, options()).catch((error: unknown) => {
    console.error('The demo pool could not start', error)
  })
  return host
}
