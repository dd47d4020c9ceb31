// The same model through the library: wllamaLoader and wllamaGenerate in a WorkerPool's worker.
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { wllamaGenerate, wllamaLoader } from '../../src/wllama/index.js'
import { defineHandlers } from '../../src/worker.js'
import { LOAD, benchModel } from './llm-model.js'

defineHandlers(
  { generate: wllamaGenerate },
  { models: { bench: wllamaLoader({ wasmUrl, source: benchModel, nCtx: LOAD.n_ctx, nThreads: LOAD.n_threads }) } },
)
