/** The named priorities, lowest to highest. */
export type PriorityName = 'low' | 'normal' | 'high' | 'critical'

/**
 * Task priority: a name or any finite number; higher starts first, FIFO within one priority. The
 * names are the numbers 0 (`low`), 1 (`normal`), 2 (`high`) and 3 (`critical`).
 */
export type Priority = PriorityName | number

/** @internal The named priorities by their number: low 0 ... critical 3. */
export const PRIORITIES: readonly PriorityName[] = ['low', 'normal', 'high', 'critical']

/** @internal A priority as the number the pool orders by. */
export function rankOf(priority: Priority): number {
  return typeof priority === 'number' ? priority : PRIORITIES.indexOf(priority)
}

/** @internal The priority a rank shows as: the name when it has one (0 to 3), else the number. */
export function priorityOf(rank: number): Priority {
  return PRIORITIES[rank] ?? rank
}

/** @internal The named level a rank counts under in snapshots: the name at or below it (below 0: `low`). */
export function levelOf(rank: number): number {
  return rank <= 0 ? 0 : rank >= 3 ? 3 : Math.floor(rank)
}

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
