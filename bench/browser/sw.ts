/// <reference lib="webworker" />
// Workbox's background-sync Queue runs only in a service worker: the benchmark runs here.
import { Queue } from 'workbox-background-sync'

declare const self: ServiceWorkerGlobalScope

self.addEventListener('install', () => void self.skipWaiting())
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()))
self.addEventListener('message', (event: ExtendableMessageEvent) => {
  const { n, name } = event.data as { n: number; name: string }
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
