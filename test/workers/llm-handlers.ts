// A real LLM engine in the pool's workers: wllama with tiny models this repository writes
// (buildTinyModel), so the tests can assert the exact text a prompt generates.
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { buildTinyModel, wllamaGenerate, wllamaLoader } from '../../src/wllama/index.js'
import { defineHandlers } from '../../src/worker.js'
import { MODEL_FILE_URL, TINY_OPTIONS } from './llm-fixtures.js'

const tiny = () => buildTinyModel(TINY_OPTIONS).bytes

defineHandlers(
  {
    generate: wllamaGenerate,
    /** What the instance's engine says of itself, to check it is the one that loaded. */
    name: () => self.name,
  },
  {
    models: {
      tiny: wllamaLoader({ wasmUrl, source: tiny, nThreads: 1, nCtx: 4096 }),
      other: wllamaLoader({ wasmUrl, source: tiny, nThreads: 1 }),
      // The engine is killed once a generation runs past 1 ms.
      brief: wllamaLoader({ wasmUrl, source: tiny, nThreads: 1, generateTimeoutMs: 1 }),
      garbage: wllamaLoader({ wasmUrl, source: new Uint8Array(4096).fill(7), nThreads: 1 }),
      // A GGUF cut short: wllama "loads" it with n_vocab 0.
      truncated: wllamaLoader({ wasmUrl, source: () => tiny().slice(0, 200_000), nThreads: 1 }),
      noWasm: wllamaLoader({ wasmUrl: '/no/such/wllama.wasm', source: tiny, nThreads: 1 }),
      // A model file the loader downloads (the test writes it, then takes it away): kept in the Cache API.
      fromUrl: wllamaLoader({ wasmUrl, source: MODEL_FILE_URL, nThreads: 1 }),
    },
  },
)
