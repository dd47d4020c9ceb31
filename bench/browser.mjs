// Storage benchmarks in real Chromium (Debian's, or CHROMIUM_PATH): bench/browser/main.ts runs
// in a page on a local Vite server; contenders run interleaved, one warm-up then REPS rounds.
import { execFileSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { chromium } from 'playwright'
import { createServer } from 'vite'

const REPS = Number(process.env.BENCH_REPS ?? 5)
const root = fileURLToPath(new URL('..', import.meta.url))
const executablePath = process.env.CHROMIUM_PATH ?? execFileSync('sh', ['-c', 'command -v chromium'], { encoding: 'utf8' }).trim()
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
]

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x >= 100 ? x.toFixed(0) : x.toFixed(1))

/** What the replay endpoint received, by run: ids in arrival order (their priority with each). */
const arrivals = new Map()
const replayEndpoint = {
  name: 'bench-replay-endpoint',
  configureServer(server) {
    server.middlewares.use('/replay/', (request, response) => {
      let body = ''
      request.on('data', (part) => (body += part))
      request.on('end', () => {
        const run = request.url.slice(1)
        const { id, priority } = JSON.parse(body)
        if (!arrivals.has(run)) arrivals.set(run, [])
        arrivals.get(run).push({ id, priority })
        response.statusCode = 200
        response.end('ok')
      })
    })
  },
}

const server = await createServer({
  configFile: false,
  root,
  logLevel: 'error',
  plugins: [replayEndpoint],
  server: { host: '127.0.0.1', port: 0, hmr: false, watch: { ignored: ['**/*'] } },
  optimizeDeps: { exclude: ['@electric-sql/pglite'] },
  cacheDir: 'node_modules/.vite-bench-browser',
})
await server.listen()
const origin = `http://127.0.0.1:${server.httpServer.address().port}`
// A persistent profile on disk: Playwright's launch() + newPage() keeps IndexedDB in memory, which
// is not what a user's browser does.
const profile = mkdtempSync(join(tmpdir(), 'ppl-bench-profile-'))
const context = await chromium.launchPersistentContext(profile, { executablePath, args: ARGS })
const browser = { version: () => context.browser()?.version() ?? 'unknown', close: () => context.close() }
const page = context.pages()[0] ?? (await context.newPage())
page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
await page.goto(`${origin}/bench/browser/index.html`)
await page.waitForFunction(() => document.title === 'ready', null, { timeout: 120_000 })

async function group(title, contenders, reps = REPS) {
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let round = 0; round <= reps; round++) {
    for (const [label, [name, options]] of Object.entries(contenders)) {
      const result = await page.evaluate(([n, o]) => globalThis.bench[n](o), [name, options])
      if (round > 0) samples[label].push(result)
    }
  }
  console.log(`\n${title}`)
  const base = median(Object.values(samples)[0].map((r) => r.rate))
  for (const [label, results] of Object.entries(samples)) {
    const rates = results.map((r) => r.rate)
    const m = median(rates)
    console.log(
      `  ${label.padEnd(44)} median ${fmt(m).padStart(7)}/s  range ${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}  p99 ${median(results.map((r) => r.p99)).toFixed(1)} ms  ratio to ours ${(m / base).toPrecision(3)}x`,
    )
  }
  return samples
}

if (process.argv[2] === 'offline') {
  await offlineReplay()
  await browser.close()
  await server.close()
  rmSync(profile, { recursive: true, force: true })
  process.exit(0)
}

/**
 * Network tasks queued while offline, replayed per second once the network is back: ours (a pool
 * on IndexedDB whose network capacity goes from 0 to UNITS) against workbox-background-sync's
 * Queue (`replayRequests()` in a service worker), the same POSTs of a mix of four priorities to
 * the same local endpoint, interleaved rounds. The endpoint's log shows exactly-once and order.
 */
async function offlineReplay() {
  const n = Number(process.env.BENCH_REPLAY_N ?? 500)
  const units = Number(process.env.BENCH_REPLAY_UNITS ?? 4)
  const order = ['low', 'normal', 'high', 'critical']
  const priorities = Array.from({ length: n }, (_, i) => order[(i * 7 + 3) % 4])
  // Ours at `units` at once, and at 1 (one request at a time, as workbox replays), the same run.
  const contenders = {
    [`ours: ResourcePool + IndexedDBQueue, network 0 -> ${units}`]: ['ourReplay', units],
    'ours, network 0 -> 1 (one at a time)': ['ourReplay', 1],
    'workbox-background-sync Queue.replayRequests()': ['workboxReplay', 1],
  }
  const rates = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  const checks = Object.fromEntries(Object.keys(contenders).map((k) => [k, { exactlyOnce: true, inversions: [] }]))
  let runs = 0
  for (let round = 0; round <= REPS; round++) {
    for (const [label, [name, at]] of Object.entries(contenders)) {
      const run = `r${++runs}`
      const { seconds } = await page.evaluate(([f, o]) => globalThis.bench[f](o), [name, { n, units: at, run, priorities }])
      const got = arrivals.get(run) ?? []
      const ids = new Set(got.map((a) => a.id))
      const once = got.length === n && ids.size === n
      // Pairs that arrived in the wrong priority order (a higher one after a lower one).
      let inversions = 0
      const seen = [0, 0, 0, 0]
      for (const { priority } of got) {
        const rank = order.indexOf(priority)
        for (let lower = 0; lower < rank; lower++) inversions += seen[lower]
        seen[rank]++
      }
      if (round === 0) continue
      rates[label].push(n / seconds)
      checks[label].exactlyOnce &&= once
      checks[label].inversions.push(inversions)
    }
  }
  const pairs = (n * (n - 1)) / 2
  console.log(
    `\nOffline-queued network tasks replayed on reconnect (Chromium ${browser.version()}, ${n} POSTs to a local endpoint, priorities mixed, ${REPS} rounds after a warm-up)`,
  )
  const base = median(Object.values(rates)[0])
  for (const [label, values] of Object.entries(rates)) {
    const m = median(values)
    const { exactlyOnce, inversions } = checks[label]
    console.log(
      `  ${label.padEnd(52)} median ${fmt(m).padStart(7)}/s  range ${fmt(Math.min(...values))}-${fmt(Math.max(...values))}  each once at the endpoint: ${exactlyOnce ? 'yes' : 'NO'}  priority inversions ${median(inversions)} of ${pairs} pairs`,
    )
  }
  const [, single, theirs] = Object.values(rates).map(median)
  console.log(
    `  ratio ours / workbox: ${(base / theirs).toFixed(1)}x at ${units} at once, ${(single / theirs).toFixed(1)}x one at a time (workbox replays one at a time, oldest first; ours highest priority first)`,
  )
}

console.log(`\nBrowser storage benchmarks (Chromium ${browser.version()}, profile on disk at ${profile}, ${REPS} rounds after a warm-up)`)
await group('Durable submits, 1,000 in flight (IndexedDB, default durability)', {
  'ResourcePool + IndexedDBQueue (group commit)': ['idbPoolSubmit', { n: 1000 }],
  'IndexedDBQueue alone (no pool)': ['idbQueuePut', { n: 1000 }],
  'raw idb, one transaction per put': ['idbNaivePut', { n: 1000 }],
  'raw idb, 500 puts per transaction': ['idbBatchedPut', { n: 1000 }],
  'workbox-background-sync Queue (service worker)': ['workboxPush', { n: 1000 }],
})
await group('Durable submits, 1,000 in flight: strict (fsync per commit) and journaled (an OPFS journal flushed per commit)', {
  'ResourcePool + IndexedDBQueue, strict': ['idbPoolSubmit', { n: 1000, durability: 'strict' }],
  'ResourcePool + IndexedDBQueue, journaled': ['idbPoolSubmit', { n: 1000, durability: 'journaled' }],
  'raw idb, 500 puts per transaction, strict': ['idbBatchedPut', { n: 1000, durability: 'strict' }],
  'ResourcePool + IndexedDBQueue, default': ['idbPoolSubmit', { n: 1000 }],
})
await group(
  'Durable submits one at a time (each awaited before the next), 300',
  {
    'ResourcePool + IndexedDBQueue, default': ['idbPoolSubmit', { n: 300, oneAtATime: true }],
    'ResourcePool + IndexedDBQueue, strict': ['idbPoolSubmit', { n: 300, oneAtATime: true, durability: 'strict' }],
    'ResourcePool + IndexedDBQueue, journaled': ['idbPoolSubmit', { n: 300, oneAtATime: true, durability: 'journaled' }],
    'raw idb, one transaction per put': ['idbNaivePut', { n: 300, oneAtATime: true }],
  },
  Math.min(REPS, 3),
)
// Both take 2,000 tasks off a 10,000-task backlog, one at a time: the naive dequeue slows as
// deleted entries pile up in front of its cursor; keyed claims and acks do not.
await group(
  'Claim + ack of 2,000 tasks from a 10,000-task backlog, fresh store',
  {
    'ResourcePool + IndexedDBQueue (capacity 16)': ['idbPoolDrain', { backlog: 10_000, n: 2000 }],
    'IndexedDBQueue claim + settle, one at a time': ['idbClaimAck', { backlog: 10_000, n: 2000 }],
    'naive dequeue (index cursor + delete, one tx)': ['idbNaiveDequeue', { backlog: 10_000, n: 2000 }],
  },
  Math.min(REPS, 3),
)
await group(
  'Claim + ack of 2,000 tasks at a 10,000-task backlog: fresh store vs after 50,000 tasks passed through',
  {
    'ResourcePool + IndexedDBQueue, fresh store': ['idbPoolDrain', { backlog: 10_000, n: 2000 }],
    'ResourcePool + IndexedDBQueue, after 50,000 through': ['idbPoolDrain', { backlog: 10_000, n: 2000, through: 50_000 }],
  },
  Math.min(REPS, 3),
)
await group(
  'PGlite idb:// durable submits (default durability)',
  {
    'ResourcePool + PGliteQueue, 1,000 in flight': ['pgliteIdbPoolSubmit', { n: 1000 }],
    'naive: one INSERT per transaction (20)': ['pgliteIdbNaive', { n: 20 }],
  },
  Math.min(REPS, 3),
)

await browser.close()
await server.close()
rmSync(profile, { recursive: true, force: true })
