// The demo's service worker: precaches the app shell (every file of the build, the wllama wasm
// among them) at install, so after one online visit the demo loads and generates with the network
// off. Same-origin GETs (and HEADs) come from the cache first (a page load from the cached shell); `/api/`
// (sync posts, the connectivity probe) always goes to the network. Queued tasks live in IndexedDB,
// which no service-worker update touches. A new version takes over once every tab of the old one closed. Built by demo/vite.config.ts, which fills in the list.

export {} // a module: its declarations below stay its own

// The DOM library has no service-worker types; the few used here.
interface ExtendableEvent extends Event {
  waitUntil(promise: Promise<unknown>): void
}
interface FetchEvent extends ExtendableEvent {
  readonly request: Request
  respondWith(response: Promise<Response>): void
}
interface ServiceWorkerScope {
  addEventListener(type: 'install' | 'activate', listener: (event: ExtendableEvent) => void): void
  addEventListener(type: 'fetch', listener: (event: FetchEvent) => void): void
  readonly clients: { claim(): Promise<void> }
  readonly location: Location
}
declare const self: ServiceWorkerScope

/** Replaced at build time: the URLs to precache (JSON) and a version made from them. */
const PRECACHE: readonly string[] = JSON.parse('__PPL_PRECACHE__') as string[]
const CACHE = `ppl-demo-__PPL_VERSION__`

// A new version waits until no tab runs the old one (no skipWaiting): tabs of two versions at
// once would start two hosts (SharedWorker scripts of two builds) on one queue.
self.addEventListener('install', (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE)
      // From the server, not from the HTTP cache: a new version must get the new files.
      await cache.addAll(PRECACHE.map((url) => new Request(url, { cache: 'reload' })))
    })(),
  )
})

self.addEventListener('activate', (event) => {
  event.waitUntil(
    (async () => {
      for (const key of await caches.keys()) if (key.startsWith('ppl-demo-') && key !== CACHE) await caches.delete(key)
      await self.clients.claim()
    })(),
  )
})

self.addEventListener('fetch', (event) => {
  const { request } = event
  const url = new URL(request.url)
  // GET, and HEAD (the engine's loader asks whether its wasm answers before it loads it).
  const method = request.method
  if ((method !== 'GET' && method !== 'HEAD') || url.origin !== self.location.origin || url.pathname.startsWith('/api/')) return
  event.respondWith(
    (async () => {
      const cache = await caches.open(CACHE)
      // Every page of the app is its one document. By URL alone: a module script's request carries
      // an Origin header the precache's did not, and the server's `Vary` would make it miss.
      const hit = await cache.match(request.mode === 'navigate' ? '/' : url.pathname, { ignoreVary: true })
      if (hit === undefined) return fetch(request)
      return method === 'HEAD' ? new Response(null, { status: hit.status, statusText: hit.statusText, headers: hit.headers }) : hit
    })(),
  )
})
