// A "tab" of the shared-pool tests (an iframe): lends its workers to the shared pool, then says ready.
import { connectSharedPool } from '../../src/worker.js'

const params = new URLSearchParams(location.search)
const tag = params.get('tag') ?? 'tab'
// `?pool=models` lends workers that load the test models (model-handlers.ts) to the `models` pool.
const models = params.get('pool') === 'models'
const script = models ? new URL('./model-handlers.ts', import.meta.url) : new URL('./test-handlers.ts', import.meta.url)
const pool = await connectSharedPool('/test/workers/shared-host.ts', models ? 'models' : 'cpu', {
  workerName: params.get('host') ?? 'test',
  workers: { url: script, size: Number(params.get('size') ?? 1), name: `tab-${tag}` },
})
;(window as unknown as { pool: typeof pool }).pool = pool
parent.postMessage({ ready: tag }, '*')
