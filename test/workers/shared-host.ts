// A SharedWorker hosting the pools of the shared-pool tests.
import { SharedPoolHost } from '../../src/worker.js'
import { CAPACITY, MODEL_UNITS } from './model-units.js'

const host = new SharedPoolHost({ tenant: 'test-origin' })
// Runs on the tabs' workers: 4 units, each task also takes a worker slot some tab lent.
host.addPool('cpu', { capacity: { units: 4 }, maxAttempts: 3, retryBaseDelayMs: 1 })
// Runs in the host itself.
host.addPool('inhost', {
  capacity: 2,
  executor: async (value: unknown, ctx) => {
    ctx.emit('in host')
    return value
  },
})
// One task runs (never ends), one parks, the next is refused: a full lot across the port.
host.addPool('tiny', { capacity: 1, maxQueueDepth: 1, executor: () => new Promise(() => {}) })
// Models loaded in the tabs' workers (model-handlers.ts): one budget of 8 units for every tab's instances.
host.addPool('models', {
  capacity: { vram: CAPACITY },
  maxAttempts: 3,
  retryBaseDelayMs: 1,
  models: Object.fromEntries(Object.entries(MODEL_UNITS).map(([id, units]) => [id, { cost: { vram: units } }])),
})
// Network tasks (trackConnectivity): capacity 0 until a tab says it is online; runs in the host, answering its start number.
let started = 0
host.addPool('net', {
  capacity: { network: 0 },
  elasticResources: ['network'],
  executor: async (label: unknown) => `${String(label)} started ${++started}`,
})
// A rate every tab draws on: 2 requests a minute, whoever asks.
host.addPool('rated', {
  capacity: 4,
  rates: { requests: { limit: 2, intervalMs: 60_000 } },
  executor: async (value: unknown) => value,
})
host.listen()
