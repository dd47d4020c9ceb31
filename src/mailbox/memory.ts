import type { FetchOptions, FetchResult, MailboxMessage, MailboxStore } from '../core/mailbox.js'
import { keyCovers } from '../core/mailbox.js'
import { firstAfter } from '../core/ordered-queue.js'
import { optionalNumber, refuse } from '../core/validate.js'
import type { MailboxKey } from '../core/types.js'

const DEFAULT_LIMIT = 100

interface Stored<R> {
  readonly seq: number
  readonly message: MailboxMessage<R>
  acked: boolean
}

/** Cursor strings carry the store's sequence number; opaque to callers. */
function encodeCursor(seq: number): string {
  return `m${seq.toString(36)}`
}

function decodeCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0
  const seq = /^m([0-9a-z]+)$/.exec(cursor)
  if (seq === null) refuse('since', 'a cursor from a previous fetch', cursor)
  return parseInt(seq[1]!, 36)
}

/**
 * Mailbox messages in memory, in the order they were stored. Everything it indexes goes when a
 * message is acked or pruned, so its size follows the messages kept, not the messages ever stored;
 * the log keeps a head past its gone prefix, so a prune per delivery costs O(1) amortized.
 */
export class MemoryMailboxStore<R = unknown> implements MailboxStore<R> {
  #log: Stored<R>[] = []
  /** Entries before it are all gone. */
  #head = 0
  /** Gone (acked or pruned) entries at or after the head. */
  #gone = 0
  #seq = 0
  readonly #byId = new Map<string, Stored<R>>()
  /** Kept messages per task (one per status, so a task has one or two). */
  readonly #byTask = new Map<string, Stored<R>[]>()

  /** Messages kept now. */
  get size(): number {
    return this.#byId.size
  }

  put(message: MailboxMessage<R>): boolean {
    const ofTask = this.#byTask.get(message.taskId)
    if (ofTask?.some((stored) => stored.message.status === message.status) === true) return false
    const stored: Stored<R> = { seq: ++this.#seq, message, acked: false }
    this.#log.push(stored)
    this.#byId.set(message.id, stored)
    if (ofTask === undefined) this.#byTask.set(message.taskId, [stored])
    else ofTask.push(stored)
    return true
  }

  findByTask(taskId: string): MailboxMessage<R> | undefined {
    return this.#byTask.get(taskId)?.at(-1)?.message
  }

  fetch(key: MailboxKey, options: FetchOptions = {}): FetchResult<R> {
    const since = decodeCursor(options.since)
    const limit = optionalNumber(options.limit, 'limit', { integer: true, min: 1 }) ?? DEFAULT_LIMIT
    const log = this.#log
    const messages: MailboxMessage<R>[] = []
    let last = since
    // The log is in seq order.
    for (let i = firstAfter(log, this.#head, since); i < log.length && messages.length < limit; i++) {
      const stored = log[i]!
      if (stored.acked || !keyCovers(key, stored.message.key)) continue
      messages.push(stored.message)
      last = stored.seq
    }
    return { messages, cursor: last === 0 ? options.since : encodeCursor(last) }
  }

  ack(key: MailboxKey, messageIds: readonly string[]): number {
    let removed = 0
    for (const id of messageIds) {
      const stored = this.#byId.get(id)
      if (stored === undefined || stored.acked || !keyCovers(key, stored.message.key)) continue
      this.#forget(stored)
      this.#gone++
      removed++
    }
    this.#compact()
    return removed
  }

  prune(before: number): number {
    let removed = 0
    // The log is in store order, which is completion order for a pool; stopping at the first newer
    // message keeps a prune per delivery cheap. A rare older straggler goes with a later prune.
    const log = this.#log
    while (this.#head < log.length) {
      const stored = log[this.#head]!
      if (stored.acked) this.#gone--
      else if (stored.message.completedAt < before) {
        this.#forget(stored)
        removed++
      } else break
      this.#head++
    }
    this.#compact()
    return removed
  }

  close(): void {}

  #forget(stored: Stored<R>): void {
    stored.acked = true
    this.#byId.delete(stored.message.id)
    const ofTask = this.#byTask.get(stored.message.taskId)
    const rest = ofTask?.filter((other) => other !== stored) ?? []
    if (rest.length === 0) this.#byTask.delete(stored.message.taskId)
    else this.#byTask.set(stored.message.taskId, rest)
  }

  /** Drops gone entries once they are a fifth of the log: the copy costs O(1) per removal, amortized. */
  #compact(): void {
    const dead = this.#head + this.#gone
    if (dead < 1024 || dead * 5 < this.#log.length) return
    this.#log = this.#log.slice(this.#head).filter((stored) => !stored.acked)
    this.#head = 0
    this.#gone = 0
  }
}
