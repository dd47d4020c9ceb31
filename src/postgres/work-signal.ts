/*
 * How idle claimers of a shared queue learn of new work: LISTEN on one connection, NOTIFY once per
 * submitted batch (Postgres delivers at commit), wakes debounced to one per burst, and a jittered
 * poll as the fallback for what a notification cannot carry (a lease that expired, a backoff that
 * ended, a notification lost while the connection was down). A lost connection is opened again,
 * with a wake once it is back.
 */
import type { PoolClient } from 'pg'
import { describeError } from '../core/errors.js'
import { optionsObject, refuse } from '../core/validate.js'
import type { PgPool } from './client.js'
import { WORK_CHANNEL } from '../sql/shared-jobs.js'
import { reportTo } from '../sql/wrap.js'

export interface WorkSignalOptions {
  /** Wakes that arrive within this many ms become one. @default 2 */
  readonly debounceMs?: number
  /** The fallback poll, jittered by ±50 % so claimers do not poll together. @default 1000 */
  readonly pollMs?: number
  /** Reports a lost connection (it is opened again) and a throw from `onWake`. */
  readonly onError?: (error: unknown) => void
  /** For tests: the jitter's randomness, in [0, 1). @default Math.random */
  readonly random?: () => number
  /** More channels to listen on, on the same connection, each with what hears its payloads. */
  readonly channels?: Readonly<Record<string, (payload: string) => void>>
}

const RECONNECT_MS = [50, 200, 1000, 5000]

export class WorkSignal {
  readonly #pool: PgPool
  readonly #queue: string
  readonly #onWake: (missed: boolean) => void
  /** A wake since the last one may stand for notifications that were lost (a poll, a reconnect). */
  #missed = false
  readonly #debounceMs: number
  readonly #pollMs: number
  readonly #onError: (error: unknown) => void
  readonly #random: () => number
  readonly #channels: Readonly<Record<string, (payload: string) => void>>
  #client: PoolClient | undefined
  /** Cancels the pending wake, while one is pending. */
  #debounce: (() => void) | undefined
  #poll: ReturnType<typeof setTimeout> | undefined
  #reconnect: ReturnType<typeof setTimeout> | undefined
  #failures = 0
  #closed = false
  #started = false

  /**
   * `onWake(missed)`: `missed` is true when the wake may stand for notifications that never came
   * (the poll, a reconnect), false when a notification came.
   */
  constructor(pool: PgPool, queue: string, onWake: (missed: boolean) => void, options: WorkSignalOptions = {}) {
    if (typeof onWake !== 'function') refuse('onWake', 'a function', onWake)
    const {
      debounceMs = 2,
      pollMs = 1000,
      onError,
      random = Math.random,
      channels = {},
    } = optionsObject(
      options,
      { debounceMs: 1, pollMs: 1, onError: 1, random: 1, channels: 1 } satisfies Record<keyof WorkSignalOptions, 1>,
      'options',
    )
    for (const [channel, hear] of Object.entries(channels)) {
      if (!/^[a-z_][a-z0-9_]{0,62}$/.test(channel)) refuse('channels', 'lower-case SQL identifiers as names', channel)
      if (typeof hear !== 'function') refuse(`channels.${channel}`, 'a function', hear)
    }
    this.#channels = channels
    if (!(Number.isFinite(debounceMs) && debounceMs >= 0)) refuse('debounceMs', 'a number >= 0', debounceMs)
    if (!(Number.isFinite(pollMs) && pollMs > 0)) refuse('pollMs', 'a number > 0', pollMs)
    this.#pool = pool
    this.#queue = queue
    this.#onWake = onWake
    this.#debounceMs = debounceMs
    this.#pollMs = pollMs
    this.#random = random
    this.#onError =
      onError ??
      ((error) => {
        console.warn(`prometheus-parking-lot: queue '${queue}' lost its LISTEN connection (${describeError(error)}); opening it again`)
      })
  }

  /** Resolves once the LISTEN is in place (a first connection failure rejects). */
  async start(): Promise<void> {
    if (this.#started) throw new Error('WorkSignal.start() was called twice')
    this.#started = true
    await this.#listen()
    this.#armPoll()
  }

  /** Asks for a wake now (debounced with the others); `missed`: see the constructor. */
  wake(missed = false): void {
    if (missed) this.#missed = true
    if (this.#closed || this.#debounce !== undefined) return
    const fire = (): void => {
      this.#debounce = undefined
      const wasMissed = this.#missed
      this.#missed = false
      this.#armPoll()
      try {
        this.#onWake(wasMissed)
      } catch (error) {
        this.#report(error)
      }
    }
    // 0: the wakes of this turn of the event loop become one (a timer would wait a millisecond).
    if (this.#debounceMs === 0) {
      const immediate = setImmediate(fire)
      this.#debounce = () => clearImmediate(immediate)
    } else {
      const timer = setTimeout(fire, this.#debounceMs)
      this.#debounce = () => clearTimeout(timer)
    }
  }

  async close(): Promise<void> {
    this.#closed = true
    for (const timer of [this.#poll, this.#reconnect]) if (timer !== undefined) clearTimeout(timer)
    this.#debounce?.()
    const client = this.#client
    this.#client = undefined
    if (client === undefined) return
    client.removeAllListeners('notification')
    client.removeAllListeners('error')
    // pg emits 'error' on a connection that dies mid-query: closing, we only let it go.
    client.on('error', () => undefined)
    try {
      await client.query('unlisten *')
      client.release()
    } catch (error) {
      client.release(error as Error)
    }
  }

  async #listen(): Promise<void> {
    const client = await this.#pool.connect()
    const lost = (error: unknown): void => {
      if (this.#client !== client) return
      this.#client = undefined
      client.release(error instanceof Error ? error : new Error(String(error)))
      if (this.#closed) return
      this.#report(error)
      this.#scheduleReconnect()
    }
    client.on('notification', (message) => {
      if (message.channel === WORK_CHANNEL) {
        if (message.payload === this.#queue) this.wake()
        return
      }
      const hear = this.#channels[message.channel]
      if (hear === undefined) return
      try {
        hear(message.payload ?? '')
      } catch (error) {
        this.#report(error)
      }
    })
    client.on('error', lost)
    try {
      // Identifiers checked in the constructor: LISTEN takes no parameters.
      for (const channel of [WORK_CHANNEL, ...Object.keys(this.#channels)]) await client.query(`listen ${channel}`)
    } catch (error) {
      client.release(error as Error)
      throw error
    }
    if (this.#closed) {
      // Closed while the LISTEN was in flight: the connection still listens, so it is not reused.
      client.release(true)
      return
    }
    this.#client = client
    this.#failures = 0
  }

  #scheduleReconnect(): void {
    const delay = RECONNECT_MS[Math.min(this.#failures++, RECONNECT_MS.length - 1)]!
    this.#reconnect = setTimeout(() => {
      this.#reconnect = undefined
      this.#listen().then(
        // Back: what was notified meanwhile was lost, so look once.
        () => this.wake(true),
        (error: unknown) => {
          if (this.#closed) return
          this.#report(error)
          this.#scheduleReconnect()
        },
      )
    }, delay)
  }

  /** `onError`; one that throws must not take the process down, so its throw goes to the console. */
  #report(error: unknown): void {
    reportTo(this.#onError, 'WorkSignal', error)
  }

  #armPoll(): void {
    if (this.#closed) return
    if (this.#poll !== undefined) clearTimeout(this.#poll)
    const delay = this.#pollMs * (0.5 + this.#random())
    this.#poll = setTimeout(() => {
      this.#poll = undefined
      this.wake(true)
    }, delay)
    // A poll alone does not keep a Node process alive.
    this.#poll.unref?.()
  }
}
