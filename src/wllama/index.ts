/*
 * The `./wllama` entry: llama.cpp compiled to WebAssembly (`@wllama/wllama`, an optional peer) as
 * a model loader and a generate handler for a WorkerPool's workers (or any thread with `Worker`).
 *
 * wllama fails silently in two ways this adapter turns into ModelLoadErrors with the cause: a wasm
 * URL that does not answer makes `loadModel` hang forever (checked first, and bounded by
 * `loadTimeoutMs`), and a file that is not a model "loads" with `n_vocab` 0 while the real reason
 * goes only to the logger (checked after the load, with the logged error as the cause).
 */
import { Wllama, type WllamaLogger } from '@wllama/wllama'
import { InvalidOptionError, ModelLoadError, describeError } from '../core/errors.js'
import { describeValue } from '../core/validate.js'
import { noop } from '../core/types.js'
import type { HandlerContext, ModelLoader, ModelLoaderContext } from '../runtime/handlers.js'

// Also at `prometheus-parking-lot/gguf`, which needs no @wllama/wllama (to write model files in Node, say).
export * from './gguf-entry.js'

/** A GGUF model: a URL to fetch, a Blob, or its bytes. */
export type ModelSource = string | URL | Blob | Uint8Array<ArrayBuffer> | ArrayBuffer

export interface WllamaLoaderOptions {
  /** URL of `wllama.wasm` from the same `@wllama/wllama` version (with Vite: `import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'`). */
  readonly wasmUrl: string | URL
  /** The model file, or a function that makes it (called in the worker, once per load). */
  readonly source: ModelSource | (() => ModelSource | PromiseLike<ModelSource>)
  /** Context length to allocate (llama.cpp may round it up). @default 256 */
  readonly nCtx?: number
  /** Threads; more than 1 is used only on a cross-origin isolated page. @default 1 */
  readonly nThreads?: number
  /** A load that takes longer fails with ModelLoadError (and its engine is killed). @default 60000 */
  readonly loadTimeoutMs?: number
  /**
   * A generation that runs longer kills the engine (`exit()`): the task fails with a TimeoutError
   * and the instance is reported lost, so its units are freed once it is gone. @default Infinity
   */
  readonly generateTimeoutMs?: number
  /**
   * Where a model file fetched from an http(s) URL is kept (a Cache API cache of that name), so a
   * later load, offline too, reads it from there instead of downloading it again; `false` for
   * none. @default 'prometheus-parking-lot-models'
   */
  readonly cache?: string | false
}

/** The Cache API cache model files go to unless `cache` says otherwise. */
export const MODEL_CACHE = 'prometheus-parking-lot-models'

/** A loaded model: what `wllamaGenerate` gets as `ctx.model`. */
export class WllamaInstance {
  #lost = false
  constructor(
    readonly engine: Wllama,
    readonly options: WllamaLoaderOptions,
    readonly ctx: ModelLoaderContext,
  ) {}

  /** Kills the engine, then tells the pool the instance is gone (its units are freed after `exit()` settled). */
  async kill(reason: string): Promise<void> {
    if (this.#lost) return
    this.#lost = true
    await this.engine.exit().catch(noop) // exit of a broken engine: it is gone either way
    this.ctx.lost(reason)
  }
}

/**
 * A model loader for `defineHandlers(handlers, { models: { id: wllamaLoader(...) } })`: each
 * instance is its own wllama engine (one model per engine).
 *
 * @example
 * defineHandlers({ generate: wllamaGenerate }, { models: { tiny: wllamaLoader({ wasmUrl, source: '/models/tiny.gguf' }) } })
 */
export function wllamaLoader(options: WllamaLoaderOptions): ModelLoader<WllamaInstance> {
  if (typeof options !== 'object' || options === null) throw new TypeError('wllamaLoader expects { wasmUrl, source }')
  if (options.wasmUrl === undefined || options.source === undefined)
    throw new TypeError('wllamaLoader: `wasmUrl` and `source` are required')
  const { cache } = options
  if (cache !== undefined && cache !== false && (typeof cache !== 'string' || cache === ''))
    throw new InvalidOptionError(`wllamaLoader: \`cache\` is a cache's name or false, got ${describeValue(cache)}`, 'cache')
  return {
    load: (model, ctx) => loadInstance(model, ctx, options),
    unload: (instance) => instance.engine.exit(),
  }
}

async function loadInstance(model: string, ctx: ModelLoaderContext, options: WllamaLoaderOptions): Promise<WllamaInstance> {
  const wasmUrl = String(options.wasmUrl)
  const timeoutMs = options.loadTimeoutMs ?? 60_000
  // One bound for every step (the wasm check, the model fetch, the load); a timeout also stops the fetches.
  const fetches = new AbortController()
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      const error = new Error(`the load took longer than loadTimeoutMs (${timeoutMs} ms)`)
      fetches.abort(error)
      reject(error)
    }, timeoutMs)
  })
  const logged: string[] = []
  const keep = (...data: unknown[]): void => void logged.push(data.map(String).join(' '))
  const logger: WllamaLogger = { debug: () => {}, log: () => {}, warn: keep, error: keep }
  let engine: Wllama | undefined
  let loading: Promise<void> | undefined
  try {
    await Promise.race([checkReachable(model, wasmUrl, fetches.signal), timedOut])
    const blob = await Promise.race([toBlob(model, options.source, fetches.signal, options.cache ?? MODEL_CACHE), timedOut])
    engine = new Wllama({ default: wasmUrl }, { logger })
    loading = engine.loadModel([blob], { n_ctx: options.nCtx ?? 256, n_threads: options.nThreads ?? 1, n_gpu_layers: 0 })
    await Promise.race([loading, timedOut])
    const info = engine.getLoadedContextInfo()
    if (info.n_vocab === 0) {
      throw new Error(`the file is not a usable GGUF model (n_vocab 0)${logged.length > 0 ? `: ${logged.at(-1)}` : ''}`)
    }
    return new WllamaInstance(engine, options, ctx)
  } catch (cause) {
    if (engine !== undefined) {
      const made = engine
      // A half-loaded engine is freed now, and again once a load that outran the timeout settles
      // (wllama makes its worker only partway into loadModel, so an early exit() may miss it).
      await made.exit().catch(noop)
      void loading?.then(() => made.exit(), noop).catch(noop)
    }
    if (cause instanceof ModelLoadError) throw cause
    throw new ModelLoadError(`Model '${model}' failed to load in wllama: ${describeError(cause)}`, model, { cause })
  } finally {
    clearTimeout(timer)
  }
}

/** A wasm URL that does not answer would make wllama's load hang: ask first. */
async function checkReachable(model: string, url: string, signal: AbortSignal): Promise<void> {
  let response: Response
  try {
    response = await fetch(url, { method: 'HEAD', signal })
  } catch (cause) {
    throw new ModelLoadError(`Model '${model}': the wllama wasm at ${url} cannot be fetched: ${describeError(cause)}`, model, { cause })
  }
  if (!response.ok && response.status !== 405) {
    throw new ModelLoadError(`Model '${model}': the wllama wasm at ${url} answered ${response.status} ${response.statusText}`, model)
  }
}

async function toBlob(model: string, source: WllamaLoaderOptions['source'], signal: AbortSignal, cacheName: string | false): Promise<Blob> {
  const resolved = typeof source === 'function' ? await source() : source
  if (resolved instanceof Blob) return resolved
  if (resolved instanceof Uint8Array || resolved instanceof ArrayBuffer) return new Blob([resolved])
  const url = new URL(String(resolved), globalThis.location?.href)
  // Only http(s) responses can be kept (the Cache API refuses others), and only where it exists.
  const cache = cacheName !== false && /^https?:$/.test(url.protocol) && 'caches' in globalThis ? await caches.open(cacheName) : undefined
  const kept = await cache?.match(url)
  if (kept !== undefined) return kept.blob()
  const response = await fetch(url, { signal })
  if (!response.ok) {
    throw new ModelLoadError(`Model '${model}': ${String(resolved)} answered ${response.status} ${response.statusText}`, model)
  }
  if (cache === undefined) return response.blob()
  const blob = await response.blob()
  // Kept for the next load; one that cannot be kept (storage full) still loads now, and says so.
  await cache.put(url, new Response(blob, { headers: response.headers })).catch((error: unknown) => {
    console.warn(
      `prometheus-parking-lot: model '${model}' (${url.href}) could not be kept in cache '${cacheName}': ${describeError(error)}`,
    )
  })
  return blob
}

export interface GenerateInput {
  readonly prompt: string
  readonly maxTokens: number
  /** 0 is greedy (deterministic). @default 0 */
  readonly temperature?: number
}

/**
 * A handler that generates text on the task's wllama instance: each piece of text goes to
 * `ctx.emit` as it is made, and the whole text is the result. `ctx.signal` (cancel, run timeout)
 * stops it within milliseconds; the instance serves the next task.
 */
export async function wllamaGenerate(input: GenerateInput, ctx: HandlerContext<WllamaInstance>): Promise<string> {
  const instance = ctx.model
  if (!(instance instanceof WllamaInstance))
    throw new TypeError('wllamaGenerate runs on a wllama model: submit with { model } of a wllamaLoader')
  if (typeof input?.prompt !== 'string' || !Number.isInteger(input.maxTokens) || input.maxTokens < 1) {
    throw new TypeError('wllamaGenerate expects { prompt: string, maxTokens: a positive integer, temperature?: number }')
  }
  let text = ''
  const generating = instance.engine.createCompletion({
    prompt: input.prompt,
    max_tokens: input.maxTokens,
    temperature: input.temperature ?? 0,
    stream: true,
    abortSignal: ctx.signal,
    onData: (chunk) => {
      const piece = chunk.choices[0]?.text ?? ''
      if (piece === '' || ctx.signal.aborted) return
      text += piece
      ctx.emit(piece)
    },
  })
  const limit = instance.options.generateTimeoutMs ?? Infinity
  if (limit === Infinity) {
    await generating
    return text
  }
  let timer: ReturnType<typeof setTimeout> | undefined
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), limit)))
  try {
    if ((await Promise.race([generating, timedOut])) === 'timeout') {
      generating.catch(noop) // rejects once the engine is killed: the timeout is the outcome
      await instance.kill(`a generation ran longer than generateTimeoutMs (${limit} ms)`)
      const error = new Error(`Generation ran longer than generateTimeoutMs (${limit} ms); the engine was killed`)
      error.name = 'TimeoutError'
      throw error
    }
    return text
  } finally {
    clearTimeout(timer)
  }
}
