import type { ResourceVector } from './capacity.js'
import type { MailboxKey, Priority, TaskStatus } from './types.js'

/**
 * What a handle needs from its task; the scheduler implements it. Kept behind a symbol, not
 * `#private`: users put handles in Vue/MobX proxies, which throw on `#private` access.
 */
export interface TaskControl<R, C = unknown> {
  readonly id: string
  readonly priority: Priority
  readonly cost: ResourceVector
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  readonly handler: string | undefined
  readonly submittedAt: number
  readonly status: TaskStatus
  readonly attempt: number
  position(): number | undefined
  result(): Promise<R>
  progressAt(index: number): ProgressStep<C>
  cancel(reason?: unknown): boolean
}

/** A chunk at an index, the end of the stream, or a promise that resolves when either is known. */
export type ProgressStep<C = unknown> =
  { readonly kind: 'chunk'; readonly chunk: C } | { readonly kind: 'end' } | { readonly kind: 'wait'; readonly ready: Promise<void> }

const CONTROL = Symbol('prometheus-parking-lot.control')

/** What a handle shows of its task as it is now. */
const FIELDS = ['id', 'priority', 'cost', 'tenant', 'mailbox', 'key', 'handler', 'submittedAt', 'status', 'attempt'] as const
// Handles are made only by this library: the constructor checks for this token, so
// `new (handle.constructor)(...)` cannot forge one.
const MADE_HERE = Symbol('prometheus-parking-lot.handle')

/**
 * A submitted task, as its caller sees it. `R` is the result type, `C` the type of progress
 * chunks. Made by `pool.submit` and `pool.get`, never by `new`.
 */
export class TaskHandle<R = unknown, C = unknown> {
  declare readonly [CONTROL]: TaskControl<R, C>

  /** @internal */
  constructor(token: typeof MADE_HERE, control: TaskControl<R, C>) {
    if (token !== MADE_HERE) throw new TypeError('TaskHandle is made by pool.submit() and pool.get(), not by new')
    ;(this as { [CONTROL]: TaskControl<R, C> })[CONTROL] = control
  }

  /** Time-ordered unique id (UUIDv7). */
  declare readonly id: string
  declare readonly priority: Priority
  /** Units the task holds while it runs. */
  declare readonly cost: ResourceVector
  /** Whose fair share the task counts against. */
  declare readonly tenant: string
  declare readonly mailbox: MailboxKey | undefined
  declare readonly key: string | undefined
  /** Which handler of a worker runtime runs the task. */
  declare readonly handler: string | undefined
  /** When the task was accepted (Clock ms). */
  declare readonly submittedAt: number
  declare readonly status: TaskStatus
  /** Attempts started so far. */
  declare readonly attempt: number

  static {
    // Each a getter that reads the task's field of that name.
    for (const name of FIELDS) {
      Object.defineProperty(this.prototype, name, {
        get(this: TaskHandle): TaskControl<unknown>[typeof name] {
          return this[CONTROL][name]
        },
        configurable: true,
      })
    }
  }

  /** 0-based place in the start order while parked and due; undefined otherwise (a delayed task not due yet, too). O(parked). */
  get position(): number | undefined {
    return this[CONTROL].position()
  }

  /**
   * Resolves with the executor's result; rejects with `TaskFailedError`, `TaskExpiredError`,
   * `TaskCancelledError`, `TaskDroppedError`, `TaskDetachedError` (the pool closed while it
   * waited in a durable queue) or `ResultNotKeptError` (it ended before a restart and its result
   * is gone). A rejection nobody awaits is not reported as unhandled.
   */
  get result(): Promise<R> {
    return this[CONTROL].result()
  }

  /** Every chunk the executor emits, from the first, for every consumer; ends when the task ends. */
  get progress(): AsyncIterable<C> {
    const control = this[CONTROL]
    return {
      [Symbol.asyncIterator](): AsyncIterator<C> {
        let index = 0
        const next = async (): Promise<IteratorResult<C>> => {
          for (;;) {
            const step = control.progressAt(index)
            if (step.kind === 'chunk') {
              index++
              return { done: false, value: step.chunk }
            }
            if (step.kind === 'end') return { done: true, value: undefined }
            await step.ready
          }
        }
        return { next }
      },
    }
  }

  /**
   * Cancels the task: a parked one is removed; a running one has its signal aborted (its capacity
   * stays held until the executor settles). Returns false if the task had already ended.
   */
  cancel(reason?: unknown): boolean {
    return this[CONTROL].cancel(reason)
  }
}

/** @internal Makes the handle of a task. */
export function makeHandle<R, C>(control: TaskControl<R, C>): TaskHandle<R, C> {
  return new TaskHandle<R, C>(MADE_HERE, control)
}

/** @internal The chunks a task emitted so far, read synchronously (a remote watcher catching up). */
export function chunksSoFar<C>(handle: TaskHandle<unknown, C>): C[] {
  const control = handle[CONTROL]
  const chunks: C[] = []
  for (let step = control.progressAt(0); step.kind === 'chunk'; step = control.progressAt(chunks.length)) chunks.push(step.chunk)
  return chunks
}
