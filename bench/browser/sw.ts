/// <reference lib="webworker" />
// Workbox's background-sync Queue runs only in a service worker: the benchmark runs here.
import { Queue } from 'workbox-background-sync'

declare const self: ServiceWorkerGlobalScope

self.addEventListener('install', () => void self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))
self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const { n, name, replay, priorities } = event.data as { n: number; name: string; replay?: string; priorities?: string[] }
  if (replay !== undefined) {
    event.waitUntil(replayRun(n, name, replay, priorities!).then((result) => event.ports[0]!.postMessage(result)))
    return
  }
  const run = async (): Promise<{ seconds: number; latencies: number[] }> => {
    const queue = new Queue(name, { forceSyncFallback: true })
    const latencies: number[] = []
    const t0 = performance.now()
    await Promise.all(
      Array.from({ length: n }, async (_, i) => {
        const start = performance.now()
        await queue.pushRequest({ request: new Request(`/job/${i}`, { method: 'POST', body: JSON.stringify({ i }) }) })
        latencies.push(performance.now() - start)
      }),
    )
    return { seconds: (performance.now() - t0) / 1000, latencies }
  }
  event.waitUntil(run().then((result) => event.ports[0]!.postMessage(result)))
})

/**
 * Offline-queued requests replayed on reconnect: `n` POSTs to the bench server queued while
 * "offline" (no replay), then `replayRequests()` (what its sync event or the next start runs),
 * timed. It replays one request at a time, oldest first: it has no priorities.
 */
async function replayRun(n: number, name: string, run: string, priorities: string[]): Promise<{ seconds: number }> {
  // No replay at start-up (its default): the benchmark starts it.
  const queue = new Queue(name, { forceSyncFallback: true, onSync: async () => {} })
  for (let i = 0; i < n; i++) {
    const body = JSON.stringify({ id: `${run}-${i}`, priority: priorities[i] })
    await queue.pushRequest({
      request: new Request(`/replay/${run}`, { method: 'POST', body, headers: { 'content-type': 'application/json' } }),
    })
  }
  const t0 = performance.now()
  await queue.replayRequests()
  return { seconds: (performance.now() - t0) / 1000 }
}
