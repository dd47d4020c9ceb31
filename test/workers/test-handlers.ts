// Handlers for the WorkerPool tests: one per behaviour, including each way a worker can die.
import { defineHandlers, transfer } from '../../src/worker.js'
import { holdUnits } from './unit-locks.js'

const events = new BroadcastChannel('worker-test-events')

// (module (func (export "trap") unreachable))
const TRAP_WASM = new Uint8Array([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x01, 0x04, 0x01, 0x60, 0x00, 0x00, 0x03, 0x02, 0x01, 0x00, 0x07, 0x08, 0x01, 0x04, 0x74,
  0x72, 0x61, 0x70, 0x00, 0x00, 0x0a, 0x05, 0x01, 0x03, 0x00, 0x00, 0x0b,
])

const never = new Promise<never>(() => {})

defineHandlers({
  echo: (value: unknown) => value,
  /** Posts something that is not the protocol to the page, then answers normally. */
  junkToPage(value: unknown) {
    ;(self as unknown as { postMessage(message: unknown): void }).postMessage({ junk: true })
    return value
  },
  add: ({ a, b }: { a: number; b: number }) => a + b,
  info: (_: unknown, ctx) => ({ attempt: ctx.attempt, task: ctx.task, name: self.name }),
  async stream(n: number, ctx) {
    for (let i = 0; i < n; i++) {
      ctx.emit(i)
      await new Promise((resolve) => setTimeout(resolve, 1))
    }
    return 'done'
  },
  /** Waits for its abort, reports it, then stops with the reason. */
  waitForAbort(tag: string, ctx) {
    events.postMessage({ started: tag })
    return new Promise((_, reject) => {
      ctx.signal.addEventListener('abort', () => {
        events.postMessage({ aborted: tag, reason: String((ctx.signal.reason as Error).message) })
        reject(ctx.signal.reason)
      })
    })
  },
  /** Ignores its abort: only terminating the worker stops it. */
  ignoreAbort(tag: string) {
    events.postMessage({ started: tag })
    return never
  },
  timerThrow() {
    setTimeout(() => {
      throw new Error('thrown from a timer')
    })
    return never
  },
  floatingReject() {
    void Promise.reject(new Error('nobody awaits this'))
    return never
  },
  closeSelf() {
    self.close()
    return never
  },
  async wasmTrap() {
    const { instance } = await WebAssembly.instantiate(TRAP_WASM)
    ;(instance.exports.trap as () => void)()
  },
  spin() {
    for (;;) {
      // a hang: never yields to the event loop
    }
  },
  crashOnFirstAttempt(_: unknown, ctx) {
    if (ctx.attempt === 1) self.close()
    return ctx.attempt === 1 ? never : `ok on attempt ${ctx.attempt}`
  },
  reverse({ bytes }: { bytes: ArrayBuffer }) {
    const view = new Uint8Array(bytes).reverse()
    return transfer({ bytes: view.buffer, received: bytes.byteLength }, [view.buffer])
  },
  async sleep(ms: number) {
    await new Promise((resolve) => setTimeout(resolve, ms))
    return self.name
  },
  unclonable: () => () => 'a function cannot be cloned',
  /** Holds one Web Lock per unit of its cost (`unit-0` ... `unit-<capacity-1>`) for `ms` (unit-locks.ts). */
  async holdUnits({ units, capacity, ms }: { units: number; capacity: number; ms: number }, ctx) {
    const { held, release } = await holdUnits('unit', units, capacity)
    events.postMessage({ running: ctx.task.id, worker: self.name })
    await new Promise((resolve) => setTimeout(resolve, ms))
    release()
    return { oversubscribed: held < units, held, worker: self.name, attempt: ctx.attempt }
  },
})
