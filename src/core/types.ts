/** Task priority, lowest to highest. Higher starts first; FIFO within one priority. */
export type Priority = 'low' | 'normal' | 'high' | 'critical'

/** @internal The priorities by rank: low 0 ... critical 3. */
export const PRIORITIES: readonly Priority[] = ['low', 'normal', 'high', 'critical']

/** Who a task's result is for. Fetching `{ tenant }` sees every user's and session's messages. */
export interface MailboxKey {
  readonly tenant: string
  readonly user?: string
  readonly session?: string
}

/** A task's terminal status. Every accepted task ends in exactly one of these. */
export type TerminalStatus = 'completed' | 'failed' | 'expired' | 'dropped' | 'cancelled'

/** @internal */
export const TERMINAL_STATUSES: readonly TerminalStatus[] = ['completed', 'failed', 'expired', 'dropped', 'cancelled']

/**
 * Where a task is in its life: `parked` waits in the lot, `running` holds capacity, `retrying`
 * waits out its backoff before re-entering the lot, then one terminal status. `detached`: the
 * pool closed while the task waited in a durable queue; it stays there and runs after the next
 * start (this handle will not see it).
 */
export type TaskStatus = 'parked' | 'running' | 'retrying' | 'detached' | TerminalStatus

/** Whether a status is one of the terminal ones. */
export function isTerminal(status: TaskStatus): status is TerminalStatus {
  return status !== 'parked' && status !== 'running' && status !== 'retrying' && status !== 'detached'
}

/** What a payload must survive on its way to the executor or the store. */

export type MaybePromise<T> = T | Promise<T>

export function isPromiseLike<T>(value: unknown): value is PromiseLike<T> {
  return (
    (typeof value === 'object' || typeof value === 'function') && value !== null && typeof (value as { then?: unknown }).then === 'function'
  )
}

/** Runs `next` after `value` (at once when it is not a promise). */
export function andThen<V, T>(value: MaybePromise<V>, next: (value: V) => MaybePromise<T>): MaybePromise<T> {
  return isPromiseLike<V>(value) ? Promise.resolve(value).then(next) : next(value)
}

export const noop = (): void => {}
