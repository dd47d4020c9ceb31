// npm run bench: ResourcePool against what people use today, interleaved in one process
// (node --expose-gc), one warm-up then REPS measured rounds; each row prints median, range and
// the ratio to ResourcePool. Then a scheduling-quality simulation on the ManualClock.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import PQueue from 'p-queue'
import { Mailbox, ManualClock, MemoryMailboxStore, ResourcePool } from '../dist/index.js'
import { modelsTrace } from './models-trace.mjs'
import { pqueueBenchmark } from './p-queue.mjs'
import { mulberry32 } from './random.mjs'

const REPS = Number(process.env.BENCH_REPS ?? 5)
const N = 200_000
const PRIORITIES = ['low', 'normal', 'high', 'critical']

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const fmt = (x) => (x >= 1000 ? `${Math.round(x / 1000)}k` : x.toFixed(x < 10 ? 2 : 0))

/** Runs contenders interleaved: warm-up, then REPS rounds; returns samples per contender. */
async function interleave(contenders) {
  const samples = Object.fromEntries(Object.keys(contenders).map((k) => [k, []]))
  for (let round = 0; round <= REPS; round++) {
    for (const [name, fn] of Object.entries(contenders)) {
      globalThis.gc?.()
      const value = await fn()
      if (round > 0) samples[name].push(value)
    }
  }
  return samples
}

function printRows(title, unit, samples, baseline, higherIsBetter = true) {
  console.log(`\n${title}`)
  const base = median(samples[baseline])
  for (const [name, xs] of Object.entries(samples)) {
    const m = median(xs)
    const ratio = higherIsBetter ? m / base : m / base
    console.log(
      `  ${name.padEnd(34)} median ${fmt(m).padStart(6)} ${unit}  range ${fmt(Math.min(...xs))}-${fmt(Math.max(...xs))}  ratio to ResourcePool ${ratio.toFixed(2)}x`,
    )
  }
}

// ─── Throughput ──────────────────────────────────────────────────────────────

const noop = async () => 1

async function rpThroughput(options, submitOptions) {
  const pool = new ResourcePool({ ...options, executor: noop, maxQueueDepth: Infinity })
  const t0 = performance.now()
  for (let i = 0; i < N; i++) pool.submit(i, submitOptions?.(i))
  await pool.onIdle()
  return N / ((performance.now() - t0) / 1000)
}

async function pqThroughput(priority) {
  const queue = new PQueue({ concurrency: 8 })
  const rand = mulberry32(7)
  const t0 = performance.now()
  for (let i = 0; i < N; i++) queue.add(noop, priority ? { priority: Math.floor(rand() * 4) } : undefined)
  await queue.onIdle()
  return N / ((performance.now() - t0) / 1000)
}

/** A hand-written weighted semaphore: FIFO, a task waits until its whole cost vector fits. */
class WeightedSemaphore {
  constructor(capacity) {
    this.capacity = capacity
    this.used = Object.fromEntries(Object.keys(capacity).map((k) => [k, 0]))
    this.waiting = []
    this.head = 0
  }
  fits(cost) {
    for (const k in cost) if (this.used[k] + cost[k] > this.capacity[k]) return false
    return true
  }
  run(cost, fn) {
    return new Promise((resolve, reject) => {
      this.waiting.push({ cost, fn, resolve, reject })
      this.drain()
    })
  }
  drain() {
    while (this.head < this.waiting.length && this.fits(this.waiting[this.head].cost)) {
      const job = this.waiting[this.head]
      this.waiting[this.head++] = undefined
      for (const k in job.cost) this.used[k] += job.cost[k]
      job.fn().then(
        (v) => this.done(job, v, true),
        (e) => this.done(job, e, false),
      )
    }
  }
  done(job, value, ok) {
    for (const k in job.cost) this.used[k] -= job.cost[k]
    if (ok) job.resolve(value)
    else job.reject(value)
    this.drain()
  }
}

function randomCosts(seed) {
  const rand = mulberry32(seed)
  return Array.from({ length: N }, () => ({ vram: 1 + Math.floor(rand() * 6), cpu: 1 + Math.floor(rand() * 2) }))
}

async function semaphoreThroughput(costs) {
  const sem = new WeightedSemaphore({ vram: 24, cpu: 8 })
  const t0 = performance.now()
  const all = new Array(N)
  for (let i = 0; i < N; i++) all[i] = sem.run(costs[i], noop)
  await Promise.all(all)
  return N / ((performance.now() - t0) / 1000)
}

function heapPerParked(make) {
  globalThis.gc()
  globalThis.gc()
  const count = 50_000
  const { hold, submit } = make()
  const before = process.memoryUsage().heapUsed
  for (let i = 0; i < count; i++) submit(i)
  globalThis.gc()
  globalThis.gc()
  const after = process.memoryUsage().heapUsed
  hold()
  return (after - before) / count
}

const never = () => new Promise(() => {})

async function unitBenchmark() {
  const unit = await interleave({
    'ResourcePool { slots: 8 }': () => rpThroughput({ capacity: { slots: 8 } }),
    'p-queue 9 (concurrency 8)': () => pqThroughput(false),
  })
  printRows(`No-op task throughput, N = ${N}, unit costs, no priority`, 'tasks/s', unit, 'ResourcePool { slots: 8 }')
}

async function priorityBenchmark() {
  const rand = mulberry32(11)
  const prio = Array.from({ length: N }, () => PRIORITIES[Math.floor(rand() * 4)])
  const priority = await interleave({
    'ResourcePool random priorities': () => rpThroughput({ capacity: { slots: 8 } }, (i) => ({ priority: prio[i] })),
    'p-queue 9 random priorities': () => pqThroughput(true),
  })
  printRows(`No-op task throughput, N = ${N}, random priorities`, 'tasks/s', priority, 'ResourcePool random priorities')
}

async function vectorBenchmark() {
  const costs = randomCosts(3)
  const vector = await interleave({
    'ResourcePool { vram: 24, cpu: 8 }': () => rpThroughput({ capacity: { vram: 24, cpu: 8 } }, (i) => ({ cost: costs[i] })),
    'weighted semaphore (hand-written)': () => semaphoreThroughput(costs),
  })
  printRows(`No-op task throughput, N = ${N}, random cost vectors`, 'tasks/s', vector, 'ResourcePool { vram: 24, cpu: 8 }')
}

async function heapBenchmark() {
  const heap = await interleave({
    ResourcePool: async () =>
      heapPerParked(() => {
        const pool = new ResourcePool({ capacity: 1, executor: never })
        pool.submit(-1)
        return { submit: (i) => pool.submit(i), hold: () => pool.size }
      }),
    'p-queue 9': async () =>
      heapPerParked(() => {
        const queue = new PQueue({ concurrency: 1 })
        queue.add(never)
        return { submit: () => queue.add(never), hold: () => queue.size }
      }),
  })
  printRows('Heap per parked task (50,000 parked)', 'bytes', heap, 'ResourcePool', false)
}

// ─── Scheduling-quality simulation ───────────────────────────────────────────

const UNIT_MS = 1000 // one time unit of the simulation
const GPU = 24
const TASKS = 3000

function workload(seed, load) {
  const rand = mulberry32(seed * 1000 + Math.round(load * 100))
  const normal = () => {
    const u = 1 - rand()
    const v = rand()
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v)
  }
  const tasks = []
  // mean(cost x duration) = mean(cost) * mean(duration) = 6.5 * exp(0.8^2 / 2)
  const meanWork = 6.5 * Math.exp(0.32)
  const rate = (load * GPU) / meanWork
  let t = 0
  for (let i = 0; i < TASKS; i++) {
    t += -Math.log(1 - rand()) / rate
    tasks.push({ i, arrival: t, cost: 1 + Math.floor(rand() * 12), duration: Math.exp(0.8 * normal()) })
  }
  return tasks
}

/** Runs a workload through `submit` on a ManualClock; returns per-task start and end times. */
async function simulate(tasks, makeRunner) {
  const clock = new ManualClock(0)
  const starts = new Array(tasks.length)
  const ends = new Array(tasks.length)
  const run = (task) => {
    starts[task.i] = clock.now() / UNIT_MS
    return new Promise((resolve) =>
      clock.setTimeout(() => {
        ends[task.i] = clock.now() / UNIT_MS
        resolve(task.i)
      }, task.duration * UNIT_MS),
    )
  }
  const runner = makeRunner(clock, run)
  for (const task of tasks) {
    await clock.advanceAsync(task.arrival * UNIT_MS - clock.now())
    runner.submit(task)
  }
  while (await clock.runNextAsync()) {
    // drain
  }
  return { starts, ends }
}

function metrics(tasks, { starts, ends }) {
  const points = []
  for (const task of tasks) {
    points.push([task.arrival, 0, 0, 1]) // [time, dUsed, dRunning, dWaiting]
    points.push([starts[task.i], task.cost, 1, -1])
    points.push([ends[task.i], -task.cost, -1, 0])
  }
  points.sort((a, b) => a[0] - b[0] || a[1] - b[1])
  let used = 0
  let waiting = 0
  let peak = 0
  let waitingTime = 0
  let usedWhileWaiting = 0
  let last = 0
  for (const [time, dUsed, , dWaiting] of points) {
    if (waiting > 0) {
      waitingTime += time - last
      usedWhileWaiting += used * (time - last)
    }
    used += dUsed
    waiting += dWaiting
    peak = Math.max(peak, used)
    last = time
  }
  const work = tasks.reduce((s, t) => s + t.cost * t.duration, 0)
  const bound = Math.max(work / GPU, tasks.at(-1).arrival)
  const makespan = Math.max(...ends)
  const waits = tasks.map((t) => starts[t.i] - t.arrival).sort((a, b) => a - b)
  return {
    utilization: waitingTime === 0 ? 1 : usedWhileWaiting / (GPU * waitingTime),
    makespan: makespan / bound,
    p50: waits[Math.floor(waits.length * 0.5)],
    p99: waits[Math.floor(waits.length * 0.99)],
    peak,
  }
}

const poolRunner = (policy) => (clock, run) => {
  const pool = new ResourcePool({ capacity: { vram: GPU }, clock, executor: run, policy })
  return { submit: (task) => void pool.submit(task, { cost: { vram: task.cost } }) }
}
const limitRunner = (k) => (clock, run) => {
  const queue = new PQueue({ concurrency: k })
  return { submit: (task) => void queue.add(() => run(task)) }
}

async function simulationBenchmarks() {
  const policies = {
    'ResourcePool head-of-line': poolRunner({}),
    'ResourcePool backfill (reserve 5)': poolRunner({ backfill: true, headReserveAfterMs: 5 * UNIT_MS }),
    'concurrency limit 2 (p-queue)': limitRunner(2),
    'concurrency limit 3 (p-queue)': limitRunner(3),
    'concurrency limit 4 (p-queue)': limitRunner(4),
    'concurrency limit 6 (p-queue)': limitRunner(6),
  }
  const results = {}
  for (const load of [0.9, 1.3]) {
    console.log(
      `\nSimulation: ${GPU} VRAM units, ${TASKS} tasks, costs 1..12, log-normal(0, 0.8) durations, load ${load}, seeds 1-10 (means)`,
    )
    console.log('  policy                               util-while-waiting  makespan/bound  p50 wait  p99 wait  peak units')
    for (const [name, runner] of Object.entries(policies)) {
      const rows = []
      for (let seed = 1; seed <= 10; seed++) {
        const tasks = workload(seed, load)
        rows.push(metrics(tasks, await simulate(tasks, runner)))
      }
      const mean = (k) => rows.reduce((s, r) => s + r[k], 0) / rows.length
      const row = {
        utilization: mean('utilization'),
        makespan: mean('makespan'),
        p50: mean('p50'),
        p99: mean('p99'),
        peak: Math.max(...rows.map((r) => r.peak)),
      }
      results[`${name}@${load}`] = row
      console.log(
        `  ${name.padEnd(36)} ${row.utilization.toFixed(3).padStart(18)}  ${row.makespan.toFixed(3).padStart(14)}  ${row.p50.toFixed(2).padStart(8)}  ${row.p99.toFixed(2).padStart(8)}  ${String(row.peak).padStart(10)}${row.peak > GPU ? '  OVER' : ''}`,
      )
    }
    const hol = results[`ResourcePool head-of-line@${load}`]
    const bf = results[`ResourcePool backfill (reserve 5)@${load}`]
    console.log(`  backfill p99 wait / head-of-line p99 wait: ${(bf.p99 / hol.p99).toFixed(3)}x`)
  }
  return results
}

/** A 24-unit task submitted into an endless stream of 1-unit tasks. */
async function adversarial() {
  const rand = mulberry32(99)
  const clock = new ManualClock(0)
  let bigStart
  let longest = 0
  const bigAt = 10
  const pool = new ResourcePool({
    capacity: { vram: GPU },
    clock,
    policy: { backfill: true, headReserveAfterMs: 5 * UNIT_MS },
    executor: (task) => {
      if (task.big) bigStart = clock.now() / UNIT_MS
      return new Promise((resolve) => clock.setTimeout(() => resolve(1), task.duration * UNIT_MS))
    },
  })
  let t = 0
  let bigSubmitted = false
  while (t < 200) {
    t += -Math.log(1 - rand()) / 40 // 40 small tasks per time unit: far more than 24 units can serve
    const duration = Math.exp(0.8 * Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand()))
    longest = Math.max(longest, duration)
    await clock.advanceAsync(t * UNIT_MS - clock.now())
    void pool.submit({ duration }, { cost: { vram: 1 }, priority: 'normal' })
    if (!bigSubmitted && t >= bigAt) {
      bigSubmitted = true
      // High priority makes it the head at once; the bound is then what protects it from the stream.
      void pool.submit({ big: true, duration: 1 }, { cost: { vram: GPU }, priority: 'high' })
    }
    if (bigStart !== undefined) break
  }
  pool.clear()
  const delay = bigStart === undefined ? Infinity : bigStart - bigAt
  console.log(`\nAdversarial: a ${GPU}-unit task into an endless stream of 1-unit tasks (backfill, reserve after 5)`)
  console.log(
    `  big task started ${delay.toFixed(2)} units after submit; bound + longest run = ${(5 + longest).toFixed(2)} units: ${delay <= 5 + longest ? 'within' : 'OVER'}`,
  )
}

// ─── Durable submits in Node: PGlite on a data directory ───────────────────

async function pgliteNodeBenchmark() {
  const { PGlite } = await import('@electric-sql/pglite')
  const { PGliteQueue } = await import('../dist/pglite.js')
  const { mkdtempSync, rmSync } = await import('node:fs')
  const { tmpdir } = await import('node:os')
  const { join } = await import('node:path')
  const dir = mkdtempSync(join(tmpdir(), 'ppl-bench-'))
  let unique = 0
  const p99 = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length * 0.99)]
  const timed = async (n, start, concurrent) => {
    const latencies = []
    const one = async (i) => {
      const s = performance.now()
      await start(i)
      latencies.push(performance.now() - s)
    }
    const t0 = performance.now()
    if (concurrent) await Promise.all(Array.from({ length: n }, (_, i) => one(i)))
    else for (let i = 0; i < n; i++) await one(i)
    return { rate: n / ((performance.now() - t0) / 1000), p99: p99(latencies) }
  }
  const samples = { pool: [], naive: [] }
  for (let round = 0; round <= REPS; round++) {
    const db = await PGlite.create(join(dir, `pool-${++unique}`))
    const pool = new ResourcePool({ capacity: 1, executor: () => 1, queue: new PGliteQueue(db, { name: 'q' }) })
    pool.pause()
    await pool.ready
    const ours = await timed(1000, (i) => pool.submit({ prompt: `job ${i}` }), true)
    pool.clear()
    await pool.close()
    await db.close()
    const naiveDb = await PGlite.create(join(dir, `naive-${++unique}`))
    await naiveDb.exec('create table jobs (id serial primary key, payload text)')
    const naive = await timed(
      200,
      (i) => naiveDb.query('insert into jobs (payload) values ($1)', [JSON.stringify({ prompt: `job ${i}` })]),
      false,
    )
    await naiveDb.close()
    if (round > 0) {
      samples.pool.push(ours)
      samples.naive.push(naive)
    }
  }
  rmSync(dir, { recursive: true, force: true })
  console.log('\nPGlite in Node on a data directory: durable submits (default durability)')
  const base = median(samples.pool.map((r) => r.rate))
  for (const [label, rows] of [
    ['ResourcePool + PGliteQueue, 1,000 in flight', samples.pool],
    ['naive: one INSERT per transaction (200)', samples.naive],
  ]) {
    const rates = rows.map((r) => r.rate)
    console.log(
      `  ${label.padEnd(44)} median ${fmt(median(rates)).padStart(6)}/s  range ${fmt(Math.min(...rates))}-${fmt(Math.max(...rates))}  p99 ${median(rows.map((r) => r.p99)).toFixed(1)} ms  ratio to ResourcePool ${(median(rates) / base).toFixed(2)}x`,
    )
  }
}

/** The browser storage benchmarks, in real Chromium (bench/browser.mjs). */
async function browserBenchmark() {
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./browser.mjs', import.meta.url))], { stdio: 'inherit' })
  if (child.status !== 0) throw new Error('the browser benchmarks failed')
}

/** Offline-queued network tasks replayed on reconnect, vs workbox-background-sync (bench/browser.mjs offline). */
async function offlineBenchmark() {
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./browser.mjs', import.meta.url)), 'offline'], { stdio: 'inherit' })
  if (child.status !== 0) throw new Error('the offline replay benchmark failed')
}

/** The browser runtime benchmarks: workers and the SharedWorker host (bench/runtime.mjs). */
async function runtimeBenchmark() {
  const child = spawnSync(process.execPath, [fileURLToPath(new URL('./runtime.mjs', import.meta.url))], { stdio: 'inherit' })
  if (child.status !== 0) throw new Error('the browser runtime benchmarks failed')
}

/** The shared Postgres queue against graphile-worker and pg-boss (bench/postgres.mjs, its own Postgres 15 cluster). */
async function postgresBenchmark() {
  const script = fileURLToPath(new URL('./postgres.mjs', import.meta.url))
  const child = spawnSync(process.execPath, ['--import', 'tsx', script], { stdio: 'inherit' })
  if (child.status !== 0) throw new Error('the Postgres benchmarks failed')
}

// ─── Bundle size ─────────────────────────────────────────────────────────────

/** Bytes of one import bundled for the browser (esbuild, minified), and gzipped. */
async function bundled(code) {
  const out = await build({
    stdin: { contents: code, resolveDir: fileURLToPath(new URL('.', import.meta.url)), loader: 'js' },
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  })
  const bytes = out.outputFiles[0].contents
  return { min: bytes.length, gzip: gzipSync(bytes).length }
}

async function bundleBenchmark() {
  const ours = await bundled(
    "import { ResourcePool } from '../dist/index.js'; export const pool = new ResourcePool({ capacity: 1, executor: async () => 1 })",
  )
  const theirs = await bundled("import PQueue from 'p-queue'; export const queue = new PQueue({ concurrency: 1 })")
  console.log('\nBundle of one import (esbuild, browser, minified; gzip level 6)')
  for (const [name, size] of [
    ['ResourcePool (root entry)', ours],
    ['p-queue 9 (PQueue)', theirs],
  ]) {
    console.log(
      `  ${name.padEnd(34)} ${(size.min / 1024).toFixed(1).padStart(6)} kB minified  ${(size.gzip / 1024).toFixed(1).padStart(5)} kB gzipped  (${size.gzip} B)`,
    )
  }
  console.log(
    `  ratio (gzipped) ResourcePool / p-queue: ${(ours.gzip / theirs.gzip).toFixed(2)}x; budget: 16 kB (16,384 B) gzipped (checked in npm test; kB here are KiB, as esbuild and Vite print them)`,
  )
}

// ─── Soak: memory stays flat while retention applies ────────────────────────

async function soakBenchmark() {
  const TOTAL = Number(process.env.SOAK_TASKS ?? 1_000_000)
  const BATCH = 1_000
  const clock = new ManualClock(0)
  const mailbox = new Mailbox({ store: new MemoryMailboxStore(), clock, retentionMs: 20_000 })
  const pool = new ResourcePool({
    capacity: 64,
    clock,
    keyRetentionMs: 10_000,
    mailbox,
    policy: { fairShare: true },
    executor: async (n) => n,
  })
  const heap = () => {
    globalThis.gc?.()
    globalThis.gc?.()
    return process.memoryUsage().heapUsed
  }
  let warm = 0
  let acked = 0
  const t0 = performance.now()
  for (let i = 0; i < TOTAL; i += BATCH) {
    for (let j = i; j < i + BATCH; j++) {
      // Keys, mailbox messages, many tenants (fair share) and a wait limit on every task.
      void pool.submit(j, { key: `key-${j}`, mailbox: { tenant: `t${j % 200}`, user: `u${j % 1_000}` }, waitTimeoutMs: 60_000 })
    }
    await pool.onIdle()
    // A consumer picks up and acks one tenant's messages per batch; the rest go by retention.
    const key = { tenant: `t${(i / BATCH) % 200}` }
    const { messages } = await pool.mailbox.fetch(key, { limit: 1_000 })
    acked += await pool.mailbox.ack(
      key,
      messages.map((m) => m.id),
    )
    await clock.advanceAsync(1_000)
    if (i + BATCH === 100_000) warm = heap()
  }
  const end = heap()
  const seconds = (performance.now() - t0) / 1000
  console.log(
    `\nSoak: ${TOTAL.toLocaleString('en')} tasks with keys, mailbox messages, fair share and wait limits; ManualClock +1 s per ${BATCH} tasks`,
  )
  console.log(
    `  key retention 10 s, mailbox retention 20 s, ${acked.toLocaleString('en')} messages acked, ${Math.round(TOTAL / seconds / 1000)}k tasks/s`,
  )
  console.log(
    `  heap after 100,000 tasks (warm): ${(warm / 1e6).toFixed(1)} MB; after ${TOTAL.toLocaleString('en')}: ${(end / 1e6).toFixed(1)} MB; ratio ${(end / warm).toFixed(2)}x (flat is at most 1.10x)`,
  )
  await pool.close()
}

// Each comparison runs in a fresh process (its contenders interleaved inside it), so one
// comparison's heap and JIT state do not tilt the next.
const GROUPS = {
  bundle: [bundleBenchmark, 'gzipped browser bundle of `import { ResourcePool }` beside p-queue'],
  soak: [soakBenchmark, 'SOAK_TASKS tasks with keys, mailbox messages and acks; heap after warm-up and at the end'],
  unit: [unitBenchmark, 'throughput of unit-cost tasks, ResourcePool vs p-queue'],
  priority: [priorityBenchmark, 'throughput with four priorities, vs p-queue'],
  vector: [vectorBenchmark, 'throughput with vector costs, vs a hand-written weighted semaphore'],
  heap: [heapBenchmark, 'heap per parked task, vs p-queue'],
  'p-queue': [pqueueBenchmark, 'prometheus-parking-lot/p-queue vs p-queue 9: concurrency, priorities, interval cap CPU per task'],
  simulation: [simulationBenchmarks, 'scheduling quality on the ManualClock (waits, utilization, fairness)'],
  adversarial: [adversarial, 'one tenant floods; what the others wait'],
  models: [modelsTrace, 'a multi-model trace: ModelPool vs one-model-at-a-time, Ollama-like and load-per-request'],
  'pglite-node': [pgliteNodeBenchmark, 'PGlite on a data directory in Node: accept and complete rates'],
  browser: [browserBenchmark, 'IndexedDB and PGlite (OPFS) in Chromium (needs CHROMIUM_PATH or Debian chromium)'],
  offline: [offlineBenchmark, 'network tasks queued offline, replayed per second on reconnect, vs workbox-background-sync in Chromium'],
  postgres: [postgresBenchmark, 'shared Postgres queue: drain, end-to-end and start latency vs graphile-worker 0.17.3 and pg-boss 10'],
  runtime: [
    runtimeBenchmark,
    'WorkerPool vs comlink, workerpool and raw workers in Chromium; wllama through the library vs called directly',
  ],
}
const ENVIRONMENT = {
  BENCH_REPS: 'measured rounds after one warm-up (default 5)',
  SOAK_TASKS: 'tasks the soak group pushes through (default 1000000)',
  CHROMIUM_PATH: 'the Chromium the browser groups drive (default: `chromium` on PATH)',
  BENCH_PG_DRAIN: 'jobs the postgres group prefills and drains (default 50000)',
  BENCH_PG_E2E: 'jobs the postgres group adds one at a time (default 20000)',
  BENCH_PG_PRODUCERS: 'producers adding them at once, each waiting for its add (default 64)',
  BENCH_PG_PREFETCH:
    "our PostgresQueue's prefetch in the postgres group (default 1000: claims of about 500, the size graphile-worker's localQueue fetches)",
  BENCH_PG_ONLY: 'run one contender of the postgres group (ours, graphile-worker, pg-boss)',
}
const group = process.argv[2]
if (group === '--help' || group === '-h' || (group !== undefined && !Object.hasOwn(GROUPS, group))) {
  const wrong = group === '--help' || group === '-h' ? '' : `No benchmark group '${group}'.\n\n`
  const rows = Object.entries(GROUPS).map(([name, [, what]]) => `  ${name.padEnd(12)} ${what}`)
  const env = Object.entries(ENVIRONMENT).map(([name, what]) => `  ${name.padEnd(14)} ${what}`)
  const text = `${wrong}npm run bench [-- <group>]   every group in turn, or one\n\nGroups:\n${rows.join('\n')}\n\nEnvironment:\n${env.join('\n')}\n`
  ;(wrong === '' ? process.stdout : process.stderr).write(text)
  process.exit(wrong === '' ? 0 : 2)
}
if (group === undefined) {
  console.log(`prometheus-parking-lot benchmarks (Node ${process.version}, ${REPS} rounds after a warm-up)`)
  for (const name of Object.keys(GROUPS)) {
    const child = spawnSync(process.execPath, ['--expose-gc', fileURLToPath(import.meta.url), name], { stdio: 'inherit' })
    if (child.status !== 0) process.exit(child.status ?? 1)
  }
} else {
  await GROUPS[group][0]()
}
