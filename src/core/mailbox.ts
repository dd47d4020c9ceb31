import { reportUnhandled } from './report.js'
import type { Clock } from './clock.js'
import type { ValueCheck } from './storable.js'
import { mailboxKey, optionalNumber, optionalString, optionsObject, refuse } from './validate.js'
import type { MailboxKey, MaybePromise, TerminalStatus } from './types.js'
import { andThen, isPromiseLike } from './types.js'

/** A task's outcome, addressed to a mailbox key. One per task and status. */
export interface MailboxMessage<R = unknown> {
  /** Time-ordered message id. */
  readonly id: string
  readonly taskId: string
  readonly key: MailboxKey
  readonly status: TerminalStatus
  /** The executor's result, for `completed`. */
  readonly result?: R
  /** What went wrong, for every other status. */
  readonly error?: { readonly code: string; readonly message: string }
  /** Attempts that ran. */
  readonly attempts: number
  readonly submittedAt: number
  /** When the task reached this status (not when it was submitted). */
  readonly completedAt: number
}

export interface FetchOptions {
  /** The cursor from a previous fetch: only messages stored after those it returned. */
  readonly since?: string | undefined
  /** At most this many messages. @default 100 */
  readonly limit?: number | undefined
}

export interface FetchResult<R = unknown> {
  /** In the order they were stored (completion order). */
  readonly messages: readonly MailboxMessage<R>[]
  /** Pass as `since` to get what comes after. Opaque. */
  readonly cursor: string | undefined
}

/**
 * Where mailbox messages live. `fetch` matches keys as a hierarchy: `{ tenant }` sees every
 * message of the tenant, `{ tenant, user }` that user's (any session), all three one session.
 * A key never sees another tenant's messages.
 */
export interface MailboxStore<R = unknown> {
  /** What a result must survive to be stored (`checkJson` for a JSON store); none for a store that keeps values as they are. */
  readonly checkValue?: ValueCheck
  /** Stores a message; false (and nothing stored) when the task already has one with this status. */
  put(message: MailboxMessage<R>): MaybePromise<boolean>
  fetch(key: MailboxKey, options?: FetchOptions): MaybePromise<FetchResult<R>>
  /** Removes consumed messages; ids outside `key` are left alone. Returns how many went. */
  ack(key: MailboxKey, messageIds: readonly string[]): MaybePromise<number>
  /** Removes messages completed before `before` (retention). Returns how many went. */
  prune(before: number): MaybePromise<number>
  /**
   * The newest stored message of a task, whatever its key; undefined once acked or pruned. Used to
   * answer a submit whose idempotency key names a task that ended before a restart.
   */
  findByTask(taskId: string): MaybePromise<MailboxMessage<R> | undefined>
  close(): MaybePromise<void>
}

/** Tells live listeners that a message arrived. A failure never loses the stored message. */
export interface MailboxNotifier<R = unknown> {
  notify(message: MailboxMessage<R>): MaybePromise<void>
  /** Releases what the notifier holds open (a channel); called by `Mailbox.close()`. */
  close?(): MaybePromise<void>
}

export interface MailboxOptions<R> {
  readonly store: MailboxStore<R>
  /** @default [] */
  readonly notifiers?: readonly MailboxNotifier<R>[]
  /** Messages older than this are pruned as new ones arrive. @default undefined (kept until acked) */
  readonly retentionMs?: number
  /** Called with each notifier failure. @default reports through `reportError` or `console.error` */
  readonly onNotifyError?: (error: unknown, message: MailboxMessage<R>) => void
  readonly clock?: Clock
}

/** A mailbox: storage plus notifiers. Stores first, then notifies. */
const MAILBOX_KEYS: Record<keyof MailboxOptions<unknown>, 1> = { store: 1, notifiers: 1, retentionMs: 1, onNotifyError: 1, clock: 1 }

export class Mailbox<R = unknown> {
  readonly store: MailboxStore<R>
  readonly #notifiers: readonly MailboxNotifier<R>[]
  readonly #retentionMs: number | undefined
  readonly #onNotifyError: (error: unknown, message: MailboxMessage<R>) => void
  readonly #clock: Clock | undefined

  constructor(options: MailboxOptions<R>) {
    optionsObject(options, MAILBOX_KEYS, 'options')
    if (typeof options?.store !== 'object' || options.store === null) refuse('store', 'a MailboxStore', options?.store)
    this.store = options.store
    this.#notifiers = options.notifiers ?? []
    this.#retentionMs = optionalNumber(options.retentionMs, 'retentionMs', { positive: true })
    this.#clock = options.clock
    this.#onNotifyError = options.onNotifyError ?? ((error) => reportUnhandled(error, 'mailbox notifier failed'))
  }

  /** Stores the message, then tells every notifier (if it was new). */
  deliver(message: MailboxMessage<R>): MaybePromise<boolean> {
    return andThen(this.store.put(message), (isNew) => this.#afterStore(message, isNew))
  }

  /**
   * Tells every notifier of a message already stored (by a queue that writes it in the same
   * transaction as the task's end), and prunes as `deliver` does.
   */
  announce(message: MailboxMessage<R>): MaybePromise<boolean> {
    return this.#afterStore(message, true)
  }

  /** The messages under `key` (a tenant, optionally narrowed to a user and a session), oldest first. */
  fetch(key: MailboxKey, options?: FetchOptions): MaybePromise<FetchResult<R>> {
    const checked = fetchArguments(key, options)
    return this.store.fetch(checked.key, checked.options)
  }

  /** Removes consumed messages under `key`. */
  ack(key: MailboxKey, messageIds: readonly string[]): MaybePromise<number> {
    const checked = ackArguments(key, messageIds)
    return this.store.ack(checked.key, checked.ids)
  }

  /** The newest stored message of a task (see `MailboxStore.findByTask`). */
  findByTask(taskId: string): MaybePromise<MailboxMessage<R> | undefined> {
    return this.store.findByTask(taskId)
  }

  /** Closes the store and every notifier. */
  async close(): Promise<void> {
    for (const notifier of this.#notifiers) await notifier.close?.()
    await this.store.close()
  }

  #afterStore(message: MailboxMessage<R>, isNew: boolean): MaybePromise<boolean> {
    if (!isNew) return false
    const waits: Promise<void>[] = []
    for (const notifier of this.#notifiers) {
      try {
        const done = notifier.notify(message)
        if (isPromiseLike<void>(done)) {
          waits.push(Promise.resolve(done).catch((error: unknown) => this.#onNotifyError(error, message)))
        }
      } catch (error) {
        this.#onNotifyError(error, message)
      }
    }
    const pruned = this.#prune(message.completedAt)
    if (waits.length > 0 || isPromiseLike(pruned)) {
      return Promise.all([...waits, pruned]).then(() => true)
    }
    return true
  }

  #prune(now: number): MaybePromise<number> | undefined {
    if (this.#retentionMs === undefined) return undefined
    const reference = this.#clock?.now() ?? now
    return this.store.prune(reference - this.#retentionMs)
  }
}

const FETCH_KEYS: Record<keyof FetchOptions, 1> = { since: 1, limit: 1 }

/** `fetch(key, options)` checked as `submit` checks a mailbox key: a tenant is required, typos refused. */
export function fetchArguments(key: unknown, options: unknown): { key: MailboxKey; options: FetchOptions } {
  const checked = mailboxKey(key, 'key')
  const { since, limit } = optionsObject(options as FetchOptions | undefined, FETCH_KEYS, 'options')
  return {
    key: checked,
    options: { since: optionalString(since, 'options.since'), limit: optionalNumber(limit, 'options.limit', { integer: true, min: 1 }) },
  }
}

/** `ack(key, ids)` checked: a mailbox key and an array of message ids. */
export function ackArguments(key: unknown, ids: unknown): { key: MailboxKey; ids: readonly string[] } {
  const checked = mailboxKey(key, 'key')
  if (!Array.isArray(ids) || !ids.every((id) => typeof id === 'string')) refuse('messageIds', 'an array of message ids', ids)
  return { key: checked, ids }
}

/** Whether `key` (a fetch) covers a message addressed to `target`. */
export function keyCovers(key: MailboxKey, target: MailboxKey): boolean {
  if (key.tenant !== target.tenant) return false
  if (key.user !== undefined && key.user !== target.user) return false
  if (key.session !== undefined && key.session !== target.session) return false
  return true
}
