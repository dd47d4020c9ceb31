// A "tab" of the leader-mode tests: joins the election; as leader it hosts the pool on IndexedDB.
import { connectSharedPool } from '../../src/worker.js'
import { leaderHost } from './leader-host.js'

const params = new URLSearchParams(location.search)
const tag = params.get('tag') ?? 'tab'
const state = window as unknown as { leads: boolean; pool: unknown }
state.leads = false
// `?pool=models` lends workers that load the test models (model-handlers.ts) to the `models` pool.
const models = params.get('pool') === 'models'
const script = models ? new URL('./model-handlers.ts', import.meta.url) : new URL('./test-handlers.ts', import.meta.url)
state.pool = await connectSharedPool('unused-in-leader-mode', models ? 'models' : 'cpu', {
  mode: 'leader',
  workerName: params.get('scope') ?? 'leader-test',
  workers: { url: script, size: 1, name: `tab-${tag}` },
  createHost: () => {
    state.leads = true
    return leaderHost(params.get('database') ?? 'leader-test')
  },
})
parent.postMessage({ ready: tag }, '*')
