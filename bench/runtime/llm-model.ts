import { buildTinyModel } from '../../src/wllama/index.js'

/** No `.`, so the tiny model never ends a sequence: every generation runs to its maxTokens. */
const BENCH_TEXT = 'the quick brown fox jumps over the lazy dog '

/** The one model both contenders load: the same bytes, context and threads. */
export const benchModel = (): Uint8Array<ArrayBuffer> => buildTinyModel({ text: BENCH_TEXT, contextLength: 512 }).bytes
export const LOAD = { n_ctx: 512, n_threads: 1, n_gpu_layers: 0 } as const
