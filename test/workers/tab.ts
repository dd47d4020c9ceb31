// A "tab" of the shared-pool tests (an iframe): lends its workers to the shared pool, then says ready.
import { connectSharedPool } from '../../src/worker.js'

const params = new URLSearchParams(location.search)
const tag = params.get('tag') ?? 'tab'
const pool = await connectSharedPool('/test/workers/shared-host.ts', 'cpu', {
  workerName: params.get('host') ?? 'test',
  workers: { url: new URL('./test-handlers.ts', import.meta.url), size: Number(params.get('size') ?? 1), name: `tab-${tag}` },
})
;(window as unknown as { pool: typeof pool }).pool = pool
parent.postMessage({ ready: tag }, '*')
