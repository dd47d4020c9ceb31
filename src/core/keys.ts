/*
 * Idempotency keys the pool knows: those of live tasks, and those of ended tasks until their
 * retention passes. Retention is one constant per pool, so ended keys mostly expire in the order
 * they ended: a FIFO, pruned from the front as time passes, keeps this bounded by the tasks that
 * ended within `keyRetentionMs` (a lookup also checks each key's own time, for keys found in the
 * queue after a restart).
 */
import { IdempotencyConflictError } from './errors.js'
import type { KeyRecord } from './queue.js'
import type { MaybePromise } from './types.js'

/** What a key points at: a live task, or an ended one (possibly from before a restart). */
export interface KeyedEntry {
  readonly id: string
  readonly fingerprint: string | undefined
}

interface Known<E> {
  readonly entry: E
  /** Clock ms from which the key is forgotten; Infinity while its task is live. */
  readonly until: number
}

export class IdempotencyKeys<E extends KeyedEntry> {
  readonly #byKey = new Map<string, Known<E>>()
  readonly #ended: { key: string; known: Known<E> }[] = []
  #head = 0

  /** The entry for `key`, after forgetting ended keys whose retention passed by `now`. */
  get(key: string, now: number): E | undefined {
    this.#forget(now)
    const known = this.#byKey.get(key)
    if (known === undefined) return undefined
    if (known.until > now) return known.entry
    this.#byKey.delete(key)
    return undefined
  }

  /** A live task took this key. */
  set(key: string, entry: E): void {
    this.#byKey.set(key, { entry, until: Infinity })
  }

  /** The task ended (or was found ended in the queue): its key is remembered until `until`. */
  ended(key: string, entry: E, until: number): void {
    const known = { entry, until }
    this.#byKey.set(key, known)
    this.#ended.push({ key, known })
  }

  /** Forgets `key` if it still points at `entry` (a submit whose write failed). */
  delete(key: string, entry: E): void {
    if (this.#byKey.get(key)?.entry === entry) this.#byKey.delete(key)
  }

  #forget(now: number): void {
    const ended = this.#ended
    while (this.#head < ended.length && ended[this.#head]!.known.until <= now) {
      const { key, known } = ended[this.#head++]!
      if (this.#byKey.get(key) === known) this.#byKey.delete(key)
    }
    if (this.#head > 1024 && this.#head * 2 > ended.length) {
      ended.splice(0, this.#head)
      this.#head = 0
    }
  }
}

/** What a key resolves to: a task with a handle (live, or ended). */
export interface KeyedTask<H> extends KeyedEntry {
  readonly handle: H
}

/**
 * A submit's idempotency key against what is known: the pool's memory first, then the queue (a
 * task that ended before a restart). A known key with the same payload gives the known handle;
 * with a different payload, `IdempotencyConflictError`.
 */
export function sameKey<H>(known: KeyedTask<H>, key: string, print: string): H {
  if (known.fingerprint !== print) {
    throw new IdempotencyConflictError(
      `Idempotency key '${key}' belongs to task ${known.id} with a different payload; nothing was submitted`,
      key,
      known.id,
    )
  }
  return known.handle
}

/** The queue's records of these keys, looked up together. */
export async function lookUpKeys(
  keys: Iterable<string>,
  find: (key: string) => MaybePromise<KeyRecord | undefined>,
): Promise<Map<string, KeyRecord | undefined>> {
  const lookups = new Map<string, MaybePromise<KeyRecord | undefined>>()
  for (const key of keys) if (!lookups.has(key)) lookups.set(key, find(key))
  const found = new Map<string, KeyRecord | undefined>()
  for (const [key, lookup] of lookups) found.set(key, await lookup)
  return found
}
