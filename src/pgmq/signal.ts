/*
 * How a pgmq queue's claimers learn of work. On a `pg.Pool`: the Postgres queue's `WorkSignal`
 * (LISTEN on one connection, debounced, jittered poll). On a client with `listen` (PGlite, in
 * this process or a worker): its LISTEN, plus the same jittered poll. Any other client: the poll.
 * No Node API here, so the PGlite case runs in a browser.
 */
import type { PgPool } from '../postgres/client.js'
import { WorkSignal } from '../postgres/work-signal.js'
import { REPLY_CHANNEL, WORK_CHANNEL } from './sql.js'

export interface Signal {
  start(): Promise<void>
  close(): Promise<void>
}

/** What we use of PGlite's LISTEN: it answers a function that unlistens. */
export interface Listening {
  listen(channel: string, callback: (payload: string) => void): Promise<() => Promise<void>>
}

export interface SignalOptions {
  readonly name: string
  readonly replyQueue: string
  readonly pollMs: number
  readonly onWake: (missed: boolean) => void
  readonly onReply: () => void
  readonly onError: (error: unknown) => void
}

export function hasListen(client: unknown): client is Listening {
  return typeof (client as Partial<Listening> | null)?.listen === 'function'
}

export function poolSignal(pool: PgPool, options: SignalOptions): Signal {
  return new WorkSignal(pool, `pgmq:${options.name}`, options.onWake, {
    debounceMs: 0,
    pollMs: options.pollMs,
    onError: options.onError,
    channels: { [REPLY_CHANNEL]: (queue) => queue === options.replyQueue && options.onReply() },
  })
}

/** LISTEN where the client has it, and a poll jittered by ±50 % so claimers do not poll together. */
export class PollSignal implements Signal {
  readonly #client: Listening | undefined
  readonly #options: SignalOptions
  #timer: ReturnType<typeof setTimeout> | undefined
  #unlisten: (() => Promise<void>)[] = []
  #closed = false

  constructor(client: Listening | undefined, options: SignalOptions) {
    this.#client = client
    this.#options = options
  }

  async start(): Promise<void> {
    const { name, replyQueue, onWake, onReply } = this.#options
    if (this.#client !== undefined) {
      this.#unlisten.push(
        await this.#client.listen(WORK_CHANNEL, (payload) => payload === `pgmq:${name}` && this.#fire(onWake, false)),
        await this.#client.listen(REPLY_CHANNEL, (payload) => payload === replyQueue && this.#fire(onReply)),
      )
    }
    this.#arm()
  }

  async close(): Promise<void> {
    this.#closed = true
    if (this.#timer !== undefined) clearTimeout(this.#timer)
    for (const unlisten of this.#unlisten.splice(0)) await unlisten()
  }

  #fire<A extends unknown[]>(fn: (...args: A) => void, ...args: A): void {
    if (this.#closed) return
    try {
      fn(...args)
    } catch (error) {
      this.#options.onError(error)
    }
  }

  #arm(): void {
    if (this.#closed) return
    this.#timer = setTimeout(
      () => {
        this.#fire(this.#options.onWake, true)
        this.#arm()
      },
      this.#options.pollMs * (0.5 + Math.random()),
    )
  }
}
