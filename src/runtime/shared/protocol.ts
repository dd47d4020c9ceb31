/*
 * Messages between tabs and a SharedPoolHost (in a SharedWorker, or in the leader tab). One
 * connection per `connectSharedPool` call; each message names its pool.
 */
import type { FetchOptions } from '../../core/mailbox.js'
import type { SubmitOptions } from '../../core/options.js'
import type { PoolSnapshot } from '../../core/scheduler.js'
import type { TaskInfo } from '../../core/fields.js'
import type { MailboxKey, Priority, TaskStatus } from '../../core/types.js'
import type { WireError } from '../wire-errors.js'

/** A task as a tab sees it: its fixed fields and its status of the moment. */
export interface TaskView {
  readonly id: string
  readonly priority: Priority
  readonly cost: Record<string, number>
  readonly tenant: string
  readonly mailbox: MailboxKey | undefined
  readonly key: string | undefined
  readonly submittedAt: number
  readonly status: TaskStatus
  readonly attempt: number
  readonly position: number | undefined
}

/** Submit options that travel (a signal stays in the tab and cancels from there). */
export type WireSubmitOptions = Omit<SubmitOptions, 'signal'>

export type TabMessage =
  | { readonly t: 'hello'; readonly client: string; readonly lock: string; readonly user: string | undefined; readonly session: string }
  | { readonly t: 'attach'; readonly pool: string; readonly slots: number }
  | { readonly t: 'submit'; readonly rid: number; readonly pool: string; readonly payload: unknown; readonly options: WireSubmitOptions }
  | { readonly t: 'cancel'; readonly pool: string; readonly id: string; readonly reason: string | undefined }
  | { readonly t: 'get'; readonly rid: number; readonly pool: string; readonly id: string }
  | { readonly t: 'snapshot'; readonly rid: number; readonly pool: string }
  | {
      readonly t: 'fetch'
      readonly rid: number
      readonly pool: string
      readonly key: MailboxKey
      readonly options: FetchOptions | undefined
    }
  | { readonly t: 'ack'; readonly rid: number; readonly pool: string; readonly key: MailboxKey; readonly ids: readonly string[] }
  | { readonly t: 'on'; readonly pool: string; readonly event: string }
  | { readonly t: 'ran'; readonly pool: string; readonly call: number; readonly ok: boolean; readonly value: unknown }
  | { readonly t: 'ran-chunk'; readonly pool: string; readonly call: number; readonly chunk: unknown }
  | { readonly t: 'bye' }

export type HostMessage =
  | { readonly t: 'reply'; readonly rid: number; readonly ok: true; readonly value: unknown }
  | { readonly t: 'reply'; readonly rid: number; readonly ok: false; readonly error: WireError }
  | { readonly t: 'status'; readonly pool: string; readonly id: string; readonly status: TaskStatus; readonly attempt: number }
  | { readonly t: 'end'; readonly pool: string; readonly view: TaskView; readonly ok: true; readonly value: unknown }
  | { readonly t: 'end'; readonly pool: string; readonly view: TaskView; readonly ok: false; readonly error: WireError }
  | { readonly t: 'chunk'; readonly pool: string; readonly id: string; readonly chunk: unknown }
  | {
      readonly t: 'event'
      readonly pool: string
      readonly event: string
      readonly view: TaskView | undefined
      readonly data: Record<string, unknown>
    }
  | {
      readonly t: 'snapshot-push'
      readonly pool: string
      readonly snapshot: PoolSnapshot
      readonly positions: readonly (readonly [string, number])[]
    }
  | {
      readonly t: 'run'
      readonly call: number
      readonly pool: string
      readonly payload: unknown
      readonly attempt: number
      readonly task: TaskInfo
    }
  | { readonly t: 'abort'; readonly call: number; readonly reason: string }

/** Anything that carries messages both ways: a MessagePort, or a BroadcastChannel-backed stand-in. */
export interface Port {
  postMessage(message: unknown): void
  addEventListener(type: 'message', listener: (event: MessageEvent) => void): void
  start?(): void
  close?(): void
}

/** Lock names. A tab holds its own for as long as it lives; the host waits on it to learn of its end. */
export const TAB_LOCK_PREFIX = 'prometheus-parking-lot:tab:'
export const LEADER_LOCK_PREFIX = 'prometheus-parking-lot:leader:'
