/*
 * Runtime benchmarks in a cross-origin isolated page (fine-grained timers): worker round trips
 * and pipelined throughput through ResourcePool + WorkerPool against raw postMessage, comlink and
 * workerpool, one worker each; and submit round trips to a SharedWorker-hosted pool against a raw
 * SharedWorker port. bench/runtime.mjs drives it.
 */
import { wrap } from 'comlink'
import workerpool from 'workerpool/dist/workerpool.js'
import { ModelPool, ResourcePool } from '../../src/index.js'
import { WorkerPool, connectSharedPool, type SharedPool } from '../../src/worker.js'

interface Result {
  /** Microseconds per call (sequential) or calls per second (pipelined). */
  readonly value: number
}

const SEQ_BATCH = 1_000

// ─── raw postMessage ─────────────────────────────────────────────────────

const raw = new Worker(new URL('./raw-worker.ts', import.meta.url), { type: 'module' })
const rawWaiters = new Map<number, (value: unknown) => void>()
raw.onmessage = (event: MessageEvent<{ id: number; value: unknown }>) => {
  const resolve = rawWaiters.get(event.data.id)!
  rawWaiters.delete(event.data.id)
  resolve(event.data.value)
}
let rawId = 0
const rawCall = (value: unknown): Promise<unknown> =>
  new Promise((resolve) => {
    const id = rawId++
    rawWaiters.set(id, resolve)
    raw.postMessage({ id, value })
  })

// ─── comlink ─────────────────────────────────────────────────────────────

const comlink = wrap<{ echo(value: unknown): unknown }>(new Worker(new URL('./comlink-worker.ts', import.meta.url), { type: 'module' }))
const comlinkCall = (value: unknown): Promise<unknown> => comlink.echo(value) as Promise<unknown>

// ─── workerpool (browser build, classic worker) ──────────────────────────

const wp = workerpool.pool(new URL('./workerpool-worker.js', import.meta.url).href, { maxWorkers: 1, workerType: 'web' })
const wpCall = (value: unknown): Promise<unknown> => wp.exec('echo', [value]) as unknown as Promise<unknown>

// ─── ResourcePool + WorkerPool ───────────────────────────────────────────

function ours(concurrency: number) {
  const workers = new WorkerPool<number, number>({ url: new URL('./pool-worker.ts', import.meta.url), size: 1, concurrency })
  const pool = new ResourcePool<number, number>({ capacity: {}, executor: workers })
  return async (value: number): Promise<number> => (await pool.submit(value, { handler: 'echo' })).result
}
const ours1 = ours(1)
const ours64 = ours(64)

const calls: Record<string, (value: number) => Promise<unknown>> = {
  raw: rawCall,
  comlink: comlinkCall,
  workerpool: wpCall,
  ours: ours1,
  ours64,
}

async function sequential({ who }: { who: string }): Promise<Result> {
  const call = calls[who]!
  const start = performance.now()
  for (let i = 0; i < SEQ_BATCH; i++) await call(i)
  return { value: ((performance.now() - start) * 1000) / SEQ_BATCH }
}

async function pipelined({ who, n }: { who: string; n: number }): Promise<Result> {
  const call = calls[who]!
  const start = performance.now()
  const pending: Promise<unknown>[] = new Array(n)
  for (let i = 0; i < n; i++) pending[i] = call(i)
  await Promise.all(pending)
  return { value: n / ((performance.now() - start) / 1000) }
}

// ─── SharedWorker ────────────────────────────────────────────────────────

const sharedRaw = new SharedWorker(new URL('./shared-raw.ts', import.meta.url), { type: 'module', name: 'bench-raw' })
const sharedWaiters = new Map<number, (value: unknown) => void>()
sharedRaw.port.onmessage = (event: MessageEvent<{ id: number; value: unknown }>) => {
  const resolve = sharedWaiters.get(event.data.id)!
  sharedWaiters.delete(event.data.id)
  resolve(event.data.value)
}
let sharedId = 0
const sharedRawCall = (value: unknown): Promise<unknown> =>
  new Promise((resolve) => {
    const id = sharedId++
    sharedWaiters.set(id, resolve)
    sharedRaw.port.postMessage({ id, value })
  })

const hostUrl = new URL('./shared-host.ts', import.meta.url)
const shared: Record<string, SharedPool<unknown, unknown>> = {
  memory: await connectSharedPool(hostUrl, 'memory', { workerName: 'bench-host' }),
  idb: await connectSharedPool(hostUrl, 'idb', { workerName: 'bench-host' }),
}

async function sharedSubmit({ who, n }: { who: string; n: number }): Promise<Result> {
  const start = performance.now()
  if (who === 'raw') {
    for (let i = 0; i < n; i++) await sharedRawCall(i)
  } else {
    const pool = shared[who]!
    for (let i = 0; i < n; i++) await pool.submit(i)
  }
  return { value: ((performance.now() - start) * 1000) / n }
}

async function sharedSubmitResult({ who, n }: { who: string; n: number }): Promise<Result> {
  const pool = shared[who]!
  const start = performance.now()
  for (let i = 0; i < n; i++) await (await pool.submit(i)).result
  return { value: ((performance.now() - start) * 1000) / n }
}

/**
 * What GPU work costs the scheduling of every tab: the submit round trip to the `memory` pool
 * while compute passes run in the host, in a tab's worker, or nowhere.
 */
let gpuTab: SharedPool<number, number> | undefined
let gpuHost: SharedPool<number, number> | undefined
async function gpuInterference({ where, n }: { where: 'none' | 'host' | 'tab'; n: number }): Promise<Result> {
  gpuHost ??= await connectSharedPool<number, number>(hostUrl, 'gpu-in-host', { workerName: 'bench-host' })
  gpuTab ??= await connectSharedPool<number, number>(hostUrl, 'gpu-in-tab', {
    workerName: 'bench-host',
    workers: { url: new URL('./gpu-worker.ts', import.meta.url), size: 1 },
  })
  let load: Promise<unknown> = Promise.resolve()
  let running = true
  if (where !== 'none') {
    const pool = where === 'host' ? gpuHost : gpuTab
    load = (async () => {
      while (running) await (await pool.submit(20, where === 'tab' ? { handler: 'gpu' } : {})).result
    })()
  }
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const start = performance.now()
    await shared['memory']!.submit(i)
    samples.push((performance.now() - start) * 1000)
  }
  running = false
  await load
  samples.sort((a, b) => a - b)
  return { value: samples[Math.floor(samples.length / 2)]!, p99: samples[Math.floor(samples.length * 0.99)]! } as Result
}

// ─── a real LLM engine: wllama through the library against wllama called directly ───

const PROMPT = 'the quick'

interface DirectReply {
  readonly piece?: string
  readonly done?: number
  readonly aborted?: number
}
let direct: Worker | undefined
let directListener: ((reply: DirectReply) => void) | undefined
function directWorker(): Worker {
  if (direct !== undefined) return direct
  direct = new Worker(new URL('./llm-direct-worker.ts', import.meta.url), { type: 'module' })
  direct.onmessage = (event: MessageEvent<DirectReply>) => directListener?.(event.data)
  return direct
}

let llm: ModelPool<{ prompt: string; maxTokens: number }, string> | undefined
async function llmPool(): Promise<ModelPool<{ prompt: string; maxTokens: number }, string>> {
  if (llm !== undefined) return llm
  const workers = new WorkerPool<{ prompt: string; maxTokens: number }, string>({
    url: new URL('./llm-pool-worker.ts', import.meta.url),
    size: 1,
  })
  llm = new ModelPool({ capacity: { vram: 4 }, executor: workers, models: { bench: { cost: { vram: 2 }, keepAliveMs: Infinity } } })
  await llm.preload('bench')
  return llm
}

/** Streams `maxTokens` pieces; `abortAfter` pieces in, aborts and measures until the engine stopped. */
function directRun(maxTokens: number, abortAfter?: number): Promise<{ pieces: number; ms: number; abortMs?: number }> {
  const worker = directWorker()
  return new Promise((resolve) => {
    const start = performance.now()
    let pieces = 0
    let abortedAt = 0
    directListener = (reply) => {
      if (reply.piece !== undefined) {
        pieces++
        if (pieces === abortAfter) {
          abortedAt = performance.now()
          worker.postMessage({ abort: true })
        }
        return
      }
      const end = performance.now()
      resolve({ pieces, ms: end - start, abortMs: abortedAt > 0 ? end - abortedAt : undefined })
    }
    worker.postMessage({ prompt: PROMPT, maxTokens })
  })
}

async function poolRun(maxTokens: number, abortAfter?: number): Promise<{ pieces: number; ms: number; abortMs?: number }> {
  const pool = await llmPool()
  const start = performance.now()
  const task = await pool.submit({ prompt: PROMPT, maxTokens }, { handler: 'generate', model: 'bench', cost: { vram: 1 } })
  let pieces = 0
  let abortedAt = 0
  for await (const _ of task.progress) {
    pieces++
    if (pieces === abortAfter) {
      abortedAt = performance.now()
      task.cancel()
    }
  }
  await task.result.catch(() => undefined)
  await pool.onIdle() // the attempt has settled: the worker stopped generating and the units are back
  const end = performance.now()
  return { pieces, ms: end - start, abortMs: abortedAt > 0 ? end - abortedAt : undefined }
}

/** Tokens per second of one 200-token generation (each piece is a token). */
async function llmTokens({ who }: { who: 'direct' | 'ours' }): Promise<Result> {
  const { pieces, ms } = who === 'direct' ? await directRun(200) : await poolRun(200)
  return { value: pieces / (ms / 1000) }
}

/** Abort latency, p50 and p99 over `n` generations each aborted 5 pieces in: abort until the engine stopped. */
async function llmAbort({ who, n }: { who: 'direct' | 'ours'; n: number }): Promise<Result> {
  const samples: number[] = []
  for (let i = 0; i < n; i++) {
    const { abortMs } = who === 'direct' ? await directRun(400, 5) : await poolRun(400, 5)
    if (abortMs !== undefined) samples.push(abortMs)
  }
  samples.sort((a, b) => a - b)
  return { value: samples[Math.floor(samples.length / 2)]!, p99: samples[Math.floor(samples.length * 0.99)]! } as Result
}

;(globalThis as unknown as { bench: unknown }).bench = {
  sequential,
  pipelined,
  sharedSubmit,
  sharedSubmitResult,
  gpuInterference,
  llmTokens,
  llmAbort,
}
document.title = crossOriginIsolated ? 'ready' : 'not isolated'
