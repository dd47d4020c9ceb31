// wllama called directly in a dedicated worker: the baseline for the adapter's overhead.
import wasmUrl from '@wllama/wllama/esm/wasm/wllama.wasm?url'
import { Wllama } from '@wllama/wllama'
import { LOAD, benchModel } from './llm-model.js'

const engine = new Wllama({ default: wasmUrl }, { suppressNativeLog: true })
const loaded = engine.loadModel([new Blob([benchModel()])], LOAD)
let controller: AbortController | undefined

self.onmessage = async (event: MessageEvent<{ prompt: string; maxTokens: number } | { abort: true }>) => {
  const message = event.data
  if ('abort' in message) return void controller?.abort()
  await loaded
  controller = new AbortController()
  let pieces = 0
  try {
    await engine.createCompletion({
      prompt: message.prompt,
      max_tokens: message.maxTokens,
      temperature: 0,
      stream: true,
      abortSignal: controller.signal,
      onData: (chunk) => {
        const piece = chunk.choices[0]?.text ?? ''
        if (piece === '') return
        pieces++
        self.postMessage({ piece })
      },
    })
    self.postMessage({ done: pieces })
  } catch {
    self.postMessage({ aborted: pieces })
  }
}
