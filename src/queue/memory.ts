import { BackendError, QueueLockedError } from '../core/errors.js'
import type { MailboxStore } from '../core/mailbox.js'
import { copyRecord, keyedInfo, type KeyRecord, type Lease, type Settlement, type TaskQueue, type TaskRecord } from '../core/queue.js'

/** What the queue changes as a task runs, kept apart so a parked task costs one Set entry. */
interface RunState {
  attempt: number
  lease: Lease | undefined
  notBefore: number | undefined
}

/**
 * Records by `seq` (unique within a queue: it is the arrival order) in an array indexed from the
 * lowest live seq. No hashing per task: a Map by id string, or even a Set, costs more than the
 * rest of scheduling a no-op task when 200,000 are stored.
 */
class SeqTable<T extends { readonly seq: number }> {
  #slots: (T | undefined)[] = []
  #base = 0
  #head = 0
  #size = 0

  get size(): number {
    return this.#size
  }

  add(record: T): void {
    if (this.#size === 0) {
      this.#slots = []
      this.#base = record.seq
      this.#head = 0
    }
    let index = record.seq - this.#base
    if (index < this.#head) {
      // Older than everything kept (rare: records put out of order): re-base the table.
      const live = this.#slots.slice(this.#head)
      this.#slots = [...new Array<T | undefined>(this.#head - index), ...live]
      this.#base = record.seq
      this.#head = 0
      index = 0
    }
    if (this.#slots[index] !== undefined) throw new BackendError(`A task with seq ${record.seq} is already stored`)
    this.#slots[index] = record
    this.#size++
  }

  get(seq: number): T | undefined {
    const index = seq - this.#base
    return index >= this.#head ? this.#slots[index] : undefined
  }

  delete(record: T): boolean {
    const index = record.seq - this.#base
    if (index < this.#head || this.#slots[index] !== record) return false
    this.#slots[index] = undefined
    this.#size--
    // Drop empty slots in front, and now and then the array space they held.
    while (this.#head < this.#slots.length && this.#slots[this.#head] === undefined) this.#head++
    if (this.#head > 1024 && this.#head * 2 > this.#slots.length) {
      this.#slots = this.#slots.slice(this.#head)
      this.#base += this.#head
      this.#head = 0
    }
    return true
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (let i = this.#head; i < this.#slots.length; i++) {
      const record = this.#slots[i]
      if (record !== undefined) yield record
    }
  }
}

/**
 * The default queue: records live in memory, nothing survives the process. It answers
 * synchronously, so a pool on it accepts and starts a task within the `submit` call.
 */
export class MemoryQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = false
  readonly #records = new SeqTable<TaskRecord<P>>()
  readonly #runState = new Map<TaskRecord<P>, RunState>()
  readonly #liveKeys = new Map<string, TaskRecord<P>>()
  readonly #endedKeys = new Map<string, KeyRecord>()
  /** Ended keys in the order they ended, pruned from the front once their time passed. */
  readonly #endedOrder: KeyRecord[] = []
  #endedHead = 0
  #owner: string | undefined

  /** Who owns the queue now, if anyone. */
  get owner(): string | undefined {
    return this.#owner
  }

  get size(): number {
    return this.#records.size
  }

  open(owner: string): readonly TaskRecord<P>[] {
    if (this.#owner !== undefined && this.#owner !== owner) {
      throw new QueueLockedError(`This MemoryQueue is owned by ${this.#owner}; close that pool first`)
    }
    this.#owner = owner
    return this.list()
  }

  put(records: readonly TaskRecord<P>[]): void {
    let keys: Set<string> | undefined
    for (const record of records) {
      if (this.#records.get(record.seq) !== undefined) {
        throw new BackendError(`A task with seq ${record.seq} is already stored; nothing was stored`)
      }
      const key = record.key
      if (key === undefined) continue
      keys ??= new Set()
      if (this.#liveKeys.has(key) || keys.has(key)) {
        throw new BackendError(`Idempotency key '${key}' is already stored for a live task; nothing was stored`)
      }
      keys.add(key)
    }
    for (const record of records) {
      // The pool hands over its live task objects; the fields read later (payload, cost, key)
      // never change, and attempt, lease and backoff are tracked here, so no copy is needed.
      this.#records.add(record)
      if (record.key !== undefined) {
        this.#liveKeys.set(record.key, record)
        this.#endedKeys.delete(record.key)
      }
    }
  }

  claim(record: TaskRecord<P>, attempt: number, lease: Lease): void {
    const state = this.#stateOf(record)
    state.attempt = attempt
    state.lease = lease
    state.notBefore = undefined
  }

  renew(records: readonly TaskRecord<P>[], expiresAt: number): void {
    for (const record of records) {
      const stored = this.#find(record)
      const state = stored === undefined ? undefined : this.#runState.get(stored)
      if (state?.lease !== undefined) state.lease = { owner: state.lease.owner, expiresAt }
    }
  }

  release(record: TaskRecord<P>, notBefore: number | undefined): void {
    const state = this.#stateOf(record)
    state.lease = undefined
    state.notBefore = notBefore
  }

  settle(given: TaskRecord<P>, settlement: Settlement): void {
    let record: TaskRecord<P> | undefined = given
    if (!this.#records.delete(given)) {
      record = this.#find(given)
      if (record === undefined) return // settling twice is harmless
      this.#records.delete(record)
    }
    if (this.#runState.size > 0) this.#runState.delete(record)
    const key = record.key
    if (key === undefined) return
    this.#liveKeys.delete(key)
    const ended: KeyRecord = {
      key,
      taskId: record.id,
      fingerprint: record.fingerprint,
      status: settlement.status,
      retainUntil: settlement.retainKeyUntil,
      task: keyedInfo(given),
    }
    this.#endedKeys.set(key, ended)
    this.#endedOrder.push(ended)
    this.#pruneKeys(settlement.endedAt)
  }

  /** Ended keys remembered now (bounded by the tasks that ended within the retention). */
  get keysKept(): number {
    return this.#endedKeys.size
  }

  #pruneKeys(now: number): void {
    const order = this.#endedOrder
    while (this.#endedHead < order.length && order[this.#endedHead]!.retainUntil! <= now) {
      const ended = order[this.#endedHead++]!
      if (this.#endedKeys.get(ended.key) === ended) this.#endedKeys.delete(ended.key)
    }
    if (this.#endedHead > 1024 && this.#endedHead * 2 > order.length) {
      order.splice(0, this.#endedHead)
      this.#endedHead = 0
    }
  }

  findKey(key: string, now: number): KeyRecord | undefined {
    const live = this.#liveKeys.get(key)
    if (live !== undefined) {
      return { key, taskId: live.id, fingerprint: live.fingerprint, status: undefined, retainUntil: undefined, task: undefined }
    }
    const ended = this.#endedKeys.get(key)
    if (ended === undefined) return undefined
    if (ended.retainUntil! <= now) {
      this.#endedKeys.delete(key)
      return undefined
    }
    return ended
  }

  /** Stored records as plain copies with their current attempt, lease and backoff, in `seq` order. */
  list(): readonly TaskRecord<P>[] {
    const out: TaskRecord<P>[] = []
    for (const record of this.#records) {
      const state = this.#runState.get(record)
      out.push(copyRecord(record, state === undefined ? {} : { ...state }))
    }
    return out.sort((a, b) => a.seq - b.seq)
  }

  sharesTransactionWith(_store: MailboxStore<unknown>): boolean {
    return false
  }

  close(): void {
    this.#owner = undefined
  }

  /** The stored object for a record: itself, or (for a copy, e.g. from `list`) the one with its seq and id. */
  #find(record: TaskRecord<P>): TaskRecord<P> | undefined {
    const stored = this.#records.get(record.seq)
    return stored !== undefined && stored.id === record.id ? stored : undefined
  }

  #stateOf(given: TaskRecord<P>): RunState {
    const record = this.#find(given)
    if (record === undefined) throw new BackendError(`Task ${given.id} is not in the queue`)
    let state = this.#runState.get(record)
    if (state === undefined) {
      state = { attempt: record.attempt, lease: record.lease, notBefore: record.notBefore }
      this.#runState.set(record, state)
    }
    return state
  }
}
