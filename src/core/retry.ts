/*
 * When a failed attempt runs again: while attempts remain and `retryOn` agrees, after an
 * exponential backoff with "equal jitter" (half fixed, half random, so retries spread out).
 */
import type { Clock, TimerHandle } from './clock.js'
import { TaskFailedError, WorkerCrashedError, describeError, type FailureReason } from './errors.js'
import { reportUnhandled } from './report.js'

export interface RetryOptions {
  readonly retryOn: (error: unknown, attempt: number) => boolean
  readonly baseDelayMs: number
  readonly maxDelayMs: number
  /** In [0, 1). */
  readonly random: () => number
}

const NOT_RETRIED = new Set<unknown>(['INVALID_OPTION', 'INVALID_PAYLOAD', 'INVALID_RESULT'])

export class RetryPolicy {
  constructor(readonly options: RetryOptions) {}

  /**
   * Whether a failure on `attempt` may run again; a `retryOn` that throws says no (and is
   * reported). A refusal of the task's input (a bad option, payload or result) is never retried:
   * it would fail the same way.
   */
  mayRetry(error: unknown, attempt: number): boolean {
    if (NOT_RETRIED.has((error as { code?: unknown } | null)?.code)) return false
    try {
      return this.options.retryOn(error, attempt) === true
    } catch (thrown) {
      reportUnhandled(thrown, 'retryOn threw; the task will not be retried')
      return false
    }
  }

  /** The wait before the attempt after `attempt`. */
  delayAfter(attempt: number): number {
    const { baseDelayMs, maxDelayMs, random } = this.options
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attempt - 1))
    return exponential / 2 + random() * (exponential / 2)
  }
}

/** The error a task fails with when no attempt is left. A crashed worker keeps its class, so callers can tell a crash from a throw. */
export function failureOf(
  task: { readonly id: string; readonly attempt: number; readonly maxAttempts: number },
  error: unknown,
  reason: FailureReason,
): TaskFailedError {
  const what = reason === 'timeout' ? 'timed out' : 'failed'
  const message = `Task ${task.id} ${what} on attempt ${task.attempt} of ${task.maxAttempts}: ${describeError(error)}`
  return error instanceof WorkerCrashedError
    ? new WorkerCrashedError(message, task.attempt, { cause: error })
    : new TaskFailedError(message, reason, task.attempt, { cause: error })
}

/** Tasks waiting out a backoff, each with its timer on the clock (kept here, not on the task). */
export class Backoffs<T> {
  readonly #timers = new Map<T, TimerHandle>()
  constructor(readonly clock: Clock) {}

  get size(): number {
    return this.#timers.size
  }

  [Symbol.iterator](): IterableIterator<T> {
    return this.#timers.keys()
  }

  has(task: T): boolean {
    return this.#timers.has(task)
  }

  /** `task` waits `delayMs`, then `done` runs (it re-enters the lot). */
  wait(task: T, delayMs: number, done: () => void): void {
    const timer = this.clock.setTimeout(() => {
      this.#timers.delete(task)
      done()
    }, delayMs)
    this.#timers.set(task, timer)
  }

  /** Stops a task's wait (it was cancelled, expired or detached). */
  end(task: T): void {
    if (!this.#timers.has(task)) return
    this.clock.clearTimeout(this.#timers.get(task))
    this.#timers.delete(task)
  }
}
