/**
 * wllama (llama.cpp in WebAssembly) in the workers of a WorkerPool, in real Chromium, on tiny
 * models written by buildTinyModel: the exact text, streaming, cancel, the hard timeout, and the
 * two silent failures of wllama turned into ModelLoadErrors.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { ModelLoadError, ModelPool, TaskFailedError, type TaskHandle } from '../src/index.js'
import { buildTinyModel } from '../src/wllama/index.js'
import { WorkerPool } from '../src/worker.js'
import { commands } from 'vitest/browser'
import { MODEL_CACHE } from '../src/wllama/index.js'
import { MODEL_FILE_URL, TINY_OPTIONS } from './workers/llm-fixtures.js'

const url = new URL('./workers/llm-handlers.ts', import.meta.url)
const model = buildTinyModel(TINY_OPTIONS)
const opened: { close(): Promise<void> }[] = []

function setup() {
  const workers = new WorkerPool<unknown, string>({ url, size: 1, abortGraceMs: 1_000 })
  const cost = { cost: { vram: 2 } }
  const pool = new ModelPool<unknown, string>({
    capacity: { vram: 8 },
    executor: workers,
    maxAttempts: 1,
    models: { tiny: cost, other: cost, brief: cost, garbage: cost, truncated: cost, noWasm: cost, fromUrl: cost },
  })
  opened.push({ close: () => pool.close() }, { close: () => workers.terminate() })
  return { pool, workers }
}

afterEach(async () => {
  for (const item of opened.splice(0)) await item.close()
})

async function chunksOf(task: TaskHandle<string, unknown>): Promise<string[]> {
  const chunks: string[] = []
  for await (const chunk of task.progress) chunks.push(String(chunk))
  return chunks
}

describe('wllama in a WorkerPool', () => {
  it('a model file the loader downloads is kept in the Cache API: the next load reads it from there, with the file gone', async () => {
    const { pool } = setup()
    await caches.delete(MODEL_CACHE)
    const file = MODEL_FILE_URL.slice(1) // a path from the project root
    let binary = ''
    for (const byte of model.bytes) binary += String.fromCharCode(byte)
    await commands.writeFile(file, btoa(binary), { encoding: 'base64' })
    const ask = async (): Promise<unknown> =>
      (await pool.submit({ prompt: 'the', maxTokens: 8 }, { handler: 'generate', model: 'fromUrl', cost: { vram: 1 } })).result
    const expected = model.expectedCompletion('the', 8)
    expect(await ask()).toBe(expected)
    const kept = await (await caches.open(MODEL_CACHE)).match(new URL(MODEL_FILE_URL, location.href))
    expect((await kept!.arrayBuffer()).byteLength).toBe(model.bytes.byteLength)
    await commands.removeFile(file)
    expect((await fetch(MODEL_FILE_URL, { cache: 'no-store' })).ok).toBe(false)
    await pool.unload('fromUrl')
    expect(await ask()).toBe(expected) // loaded anew, from the cache
  })

  it('generates the text the tiny model follows, streaming each piece through progress', async () => {
    const { pool } = setup()
    const prompt = 'the quick'
    const task = await pool.submit({ prompt, maxTokens: 24 }, { handler: 'generate', model: 'tiny', cost: { vram: 1 } })
    const [chunks, text] = await Promise.all([chunksOf(task), task.result])
    const expected = model.expectedCompletion(prompt, 24)
    expect(expected.length).toBeGreaterThan(10)
    expect(text).toBe(expected)
    expect(chunks.join('')).toBe(expected)
    expect(chunks.length).toBeGreaterThan(1)
  })

  it('after cancel() no further piece reaches progress, the engine stops (no worker killed), and the instance serves the next task', async () => {
    const { pool, workers } = setup()
    // 3,000 tokens take seconds: far longer than abortGraceMs (1 s), after which an engine that
    // ignored ctx.signal would get its worker terminated.
    const task = await pool.submit({ prompt: 'the', maxTokens: 3_000 }, { handler: 'generate', model: 'tiny', cost: { vram: 1 } })
    const seen: string[] = []
    let cancelledAt = -1
    const consumed = (async () => {
      for await (const chunk of task.progress) {
        seen.push(String(chunk))
        if (seen.length === 3) {
          cancelledAt = seen.length
          task.cancel()
        }
      }
    })()
    await task.result.catch(() => undefined)
    await consumed
    expect(task.status).toBe('cancelled')
    expect(seen.length).toBe(cancelledAt)
    await pool.onIdle() // the attempt settled: the engine stopped generating
    expect(workers.exits).toBe(0)
    const next = await pool.submit({ prompt: 'the quick', maxTokens: 12 }, { handler: 'generate', model: 'tiny', cost: { vram: 1 } })
    expect(await next.result).toBe(model.expectedCompletion('the quick', 12))
    expect(pool.stats().models).toMatchObject({ loads: 1, warmStarts: 1 })
  })

  it('a generation past its hard timeout kills the engine: the task fails, the units free only once the instance is gone', async () => {
    const { pool } = setup()
    const used: number[] = []
    pool.on('unloaded', (event) => {
      if (event.model === 'brief') used.push(pool.snapshot().used['vram'] ?? 0)
    })
    const task = await pool.submit({ prompt: 'the', maxTokens: 5_000 }, { handler: 'generate', model: 'brief', cost: { vram: 1 } })
    const error = await task.result.catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TaskFailedError)
    expect(String((error as TaskFailedError).cause)).toMatch(/generateTimeoutMs/)
    await pool.onIdle()
    expect(used).toEqual([1]) // when brief#1 went (after exit() settled), only the task's own unit was left
    expect(pool.snapshot().used['vram'] ?? 0).toBe(0)
    const next = await pool.submit({ prompt: 'the quick', maxTokens: 8 }, { handler: 'generate', model: 'tiny', cost: { vram: 1 } })
    expect(await next.result).toBe(model.expectedCompletion('the quick', 8))
  })

  it('a file that is not a model, one cut short, and a wasm URL that does not answer fail with ModelLoadErrors that name the cause', async () => {
    const { pool } = setup()
    const garbage = await pool.submit({ prompt: 'x', maxTokens: 1 }, { handler: 'generate', model: 'garbage', cost: { vram: 1 } })
    const truncated = await pool.submit({ prompt: 'x', maxTokens: 1 }, { handler: 'generate', model: 'truncated', cost: { vram: 1 } })
    const noWasm = await pool.submit({ prompt: 'x', maxTokens: 1 }, { handler: 'generate', model: 'noWasm', cost: { vram: 1 } })
    const [a, b] = await Promise.all([garbage.result.catch((e: unknown) => e), noWasm.result.catch((e: unknown) => e)])
    const cut = await truncated.result.catch((e: unknown) => e)
    expect((cut as TaskFailedError).cause).toBeInstanceOf(ModelLoadError)
    expect(String((cut as TaskFailedError).cause)).toMatch(/truncated.*n_vocab 0/)
    expect((a as TaskFailedError).cause).toBeInstanceOf(ModelLoadError)
    expect(String((a as TaskFailedError).cause)).toMatch(/garbage.*(n_vocab 0|failed to load)/)
    expect((b as TaskFailedError).cause).toBeInstanceOf(ModelLoadError)
    expect(String((b as TaskFailedError).cause)).toMatch(/no\/such\/wllama\.wasm answered 404/)
    expect(pool.snapshot().used['vram'] ?? 0).toBe(0)
  })
})
