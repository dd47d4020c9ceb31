// Runtime benchmarks in real Chromium (Debian's, or CHROMIUM_PATH), on a cross-origin isolated
// page: bench/runtime/main.ts. Contenders run interleaved, one warm-up round then REPS rounds; medians.
import { execFileSync } from 'node:child_process'
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
  '--enable-unsafe-webgpu',
]
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x) => (x >= 10_000 ? `${(x / 1000).toFixed(1)}k` : x >= 100 ? x.toFixed(0) : x.toFixed(1))

const server = await createServer({
  configFile: false,
  root,
  logLevel: 'error',
  server: {
    host: '127.0.0.1',
    port: 0,
    hmr: false,
    watch: { ignored: ['**/*'] },
    headers: { 'Cross-Origin-Opener-Policy': 'same-origin', 'Cross-Origin-Embedder-Policy': 'require-corp' },
  },
  optimizeDeps: { include: ['comlink', 'workerpool/dist/workerpool.js', 'idb', '@wllama/wllama'], exclude: ['@electric-sql/pglite'] },
  cacheDir: 'node_modules/.vite-bench-runtime',
})
await server.listen()
const origin = `http://127.0.0.1:${server.httpServer.address().port}`
const browser = await chromium.launch({ executablePath, args: ARGS })
const page = await browser.newPage()
page.on('pageerror', (error) => console.error(`page error: ${error.message}`))
await page.goto(`${origin}/bench/runtime/index.html`)
await page.waitForFunction(() => document.title !== 'loading', null, { timeout: 120_000 })
if ((await page.title()) !== 'ready') throw new Error('the benchmark page is not cross-origin isolated')

/** Runs each contender REPS+1 times, interleaved; prints medians and each one's ratio to the first. */
async function group(title, unit, contenders, reps = REPS) {
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  const tails = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let round = 0; round <= reps; round++) {
    for (const [label, [name, options]] of Object.entries(contenders)) {
      const result = await page.evaluate(([n, o]) => globalThis.bench[n](o), [name, options])
      if (round === 0) continue
      samples[label].push(result.value)
      if (result.p99 !== undefined) tails[label].push(result.p99)
    }
  }
  console.log(`\n${title}`)
  const base = median(Object.values(samples)[0])
  const baseTail = median(Object.values(tails)[0])
  for (const [label, values] of Object.entries(samples)) {
    const m = median(values)
    // Rows that measure a distribution also print its p99 (the median of each round's p99).
    const tail =
      tails[label].length > 0 ? `  p99 ${fmt(median(tails[label]))} ${unit} (${(median(tails[label]) / baseTail).toPrecision(3)}x)` : ''
    console.log(
      `  ${label.padEnd(48)} median ${fmt(m).padStart(7)} ${unit}  range ${fmt(Math.min(...values))}-${fmt(Math.max(...values))}  ratio to first ${(m / base).toPrecision(3)}x${tail}`,
    )
  }
}

console.log(`\nBrowser runtime benchmarks (Chromium ${browser.version()}, one worker each, ${REPS} rounds after a warm-up)`)
await group('Sequential round trip, trivial handler (batches of 1,000 awaited calls; lower is better)', 'µs/call', {
  'raw postMessage': ['sequential', { who: 'raw' }],
  'ResourcePool + WorkerPool': ['sequential', { who: 'ours' }],
  'comlink alone': ['sequential', { who: 'comlink' }],
  'workerpool 9 (browser build)': ['sequential', { who: 'workerpool' }],
})
await group('Pipelined throughput, 100,000 calls in flight (higher is better)', 'calls/s', {
  'ResourcePool + WorkerPool (concurrency 64 per worker)': ['pipelined', { who: 'ours64', n: 100_000 }],
  'ResourcePool + WorkerPool (concurrency 1)': ['pipelined', { who: 'ours', n: 100_000 }],
  'raw postMessage': ['pipelined', { who: 'raw', n: 100_000 }],
  'comlink alone': ['pipelined', { who: 'comlink', n: 100_000 }],
  'workerpool 9 (browser build)': ['pipelined', { who: 'workerpool', n: 100_000 }],
})
await group('SharedWorker submit round trip, 1,000 sequential (lower is better)', 'µs/call', {
  'raw SharedWorker port (echo)': ['sharedSubmit', { who: 'raw', n: 1000 }],
  'shared pool submit, memory queue': ['sharedSubmit', { who: 'memory', n: 1000 }],
  'shared pool submit, IndexedDB queue': ['sharedSubmit', { who: 'idb', n: 1000 }],
  'shared pool submit + result, memory queue': ['sharedSubmitResult', { who: 'memory', n: 1000 }],
})
await group(
  'Where GPU work runs: median submit round trip of another pool while compute passes run (lower is better)',
  'µs',
  {
    'no GPU work': ['gpuInterference', { where: 'none', n: 300 }],
    'GPU passes in the SharedWorker host': ['gpuInterference', { where: 'host', n: 300 }],
    "GPU passes in a tab's dedicated worker": ['gpuInterference', { where: 'tab', n: 300 }],
  },
  Math.min(REPS, 3),
)
await group('Engine overhead: tokens/s of a 200-token generation of the tiny model, one worker each (higher is better)', 'tokens/s', {
  'wllama called directly in a worker': ['llmTokens', { who: 'direct' }],
  'ModelPool + WorkerPool + wllamaGenerate': ['llmTokens', { who: 'ours' }],
})
await group('Abort latency: abort 5 tokens in, until the engine stopped (20 per round; lower is better)', 'ms', {
  'wllama abortSignal, directly in a worker': ['llmAbort', { who: 'direct', n: 20 }],
  'ModelPool cancel() until the run settled': ['llmAbort', { who: 'ours', n: 20 }],
})

await browser.close()
await server.close()
