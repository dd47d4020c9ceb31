/*
 * Webhooks for mailbox messages, signed per the Standard Webhooks spec
 * (https://www.standardwebhooks.com): `webhook-id` (the message id, the same on every retry),
 * `webhook-timestamp` (seconds), `webhook-signature` = `v1,` + base64 HMAC-SHA256 of
 * `id.timestamp.body` under the secret (`whsec_` + base64). Web Crypto and `fetch` only, so it
 * runs in a page, a worker and Node.
 *
 * A notification never holds up the mailbox: `notify` starts a delivery and returns. Deliveries
 * retry with exponential backoff and jitter (honouring `Retry-After`); only 2xx is success; 410
 * disables the endpoint; each request has a timeout; after the last try the message becomes a
 * dead letter. The stored message is never touched: a receiver that missed it can still fetch it.
 */
import { SystemClock, type Clock, type TimerHandle } from '../core/clock.js'
import { InvalidOptionError, describeError } from '../core/errors.js'
import type { MailboxMessage, MailboxNotifier } from '../core/mailbox.js'
import { reportUnhandled } from '../core/report.js'
import { noop } from '../core/types.js'
import { optionalFunction, optionalNumber, optionsObject } from '../core/validate.js'

export interface HttpNotifierOptions {
  /** The endpoint that receives a POST per message. */
  readonly url: string | URL
  /** The endpoint's signing secret: `whsec_` followed by base64 (as Standard Webhooks libraries make them). */
  readonly secret: string
  /** Tries per message, the first included. @default 5 */
  readonly maxAttempts?: number
  /** The first retry's delay; each next one doubles, with jitter. @default 1_000 */
  readonly retryBaseDelayMs?: number
  /** No retry waits longer (a `Retry-After` included). @default 300_000 */
  readonly retryMaxDelayMs?: number
  /** A request that has not answered by then is aborted and counts as a failed try. @default 10_000 */
  readonly timeoutMs?: number
  /** Extra request headers (an authorization, say). */
  readonly headers?: Readonly<Record<string, string>>
  /** Called with each message that could not be delivered, after its last try or once the endpoint is disabled. */
  readonly onDeadLetter?: (letter: DeadLetter) => void
  /** @default globalThis.fetch */
  readonly fetch?: typeof fetch
  /** Timers (backoff, request timeouts). `webhook-timestamp` is always real time: receivers check it. @default SystemClock */
  readonly clock?: Clock
  /** Jitter source, [0, 1). @default Math.random */
  readonly random?: () => number
}

/** A message the endpoint never took. */
export interface DeadLetter {
  readonly message: MailboxMessage<unknown>
  readonly attempts: number
  /**
   * `exhausted`: every try failed; `disabled`: the endpoint answered 410 (now or before);
   * `closed`: the notifier closed first; `unsendable`: the message does not serialize to JSON.
   */
  readonly reason: 'exhausted' | 'disabled' | 'closed' | 'unsendable'
  /** The last failure: an HTTP status, or the error of a request that did not answer. */
  readonly lastError: string | undefined
}

const KEYS: Record<keyof HttpNotifierOptions, 1> = {
  url: 1,
  secret: 1,
  maxAttempts: 1,
  retryBaseDelayMs: 1,
  retryMaxDelayMs: 1,
  timeoutMs: 1,
  headers: 1,
  onDeadLetter: 1,
  fetch: 1,
  clock: 1,
  random: 1,
}

interface Delivery {
  readonly message: MailboxMessage<unknown>
  readonly body: string
  attempts: number
  lastError: string | undefined
  timer: TimerHandle | undefined
  readonly done: Promise<void>
  readonly settle: () => void
}

/**
 * POSTs each new mailbox message to a webhook endpoint, signed.
 *
 * @example
 * const mailbox = new Mailbox({ store, notifiers: [new HttpNotifier({ url: 'https://example.com/hooks', secret: process.env.WEBHOOK_SECRET })] })
 */
export class HttpNotifier<R = unknown> implements MailboxNotifier<R> {
  readonly url: string
  readonly maxAttempts: number
  readonly retryBaseDelayMs: number
  readonly retryMaxDelayMs: number
  readonly timeoutMs: number
  readonly #key: Promise<CryptoKey>
  readonly #headers: Readonly<Record<string, string>>
  readonly #onDeadLetter: (letter: DeadLetter) => void
  readonly #fetch: typeof fetch
  readonly #clock: Clock
  readonly #random: () => number
  readonly #deliveries = new Set<Delivery>()
  #disabled = false
  #closed = false

  constructor(options: HttpNotifierOptions) {
    optionsObject(options, KEYS, 'options')
    if (!(typeof options.url === 'string' || options.url instanceof URL)) {
      throw new InvalidOptionError('Expected `url` (the webhook endpoint) to be a string or URL', 'url')
    }
    this.url = new URL(options.url).href
    this.#key = importSecret(options.secret)
    this.#key.catch(() => {}) // the constructor already refused a malformed secret; a Web Crypto failure is reported per delivery
    this.maxAttempts = optionalNumber(options.maxAttempts, 'maxAttempts', { integer: true, min: 1 }) ?? 5
    this.retryBaseDelayMs = optionalNumber(options.retryBaseDelayMs, 'retryBaseDelayMs', { min: 0 }) ?? 1_000
    this.retryMaxDelayMs = optionalNumber(options.retryMaxDelayMs, 'retryMaxDelayMs', { min: 0 }) ?? 300_000
    this.timeoutMs = optionalNumber(options.timeoutMs, 'timeoutMs', { min: 1 }) ?? 10_000
    if (options.headers !== undefined && (typeof options.headers !== 'object' || options.headers === null)) {
      throw new InvalidOptionError('Expected `headers` to be an object of header names to values', 'headers')
    }
    this.#headers = options.headers ?? {}
    const onDeadLetter = optionalFunction<(letter: DeadLetter) => void>(options.onDeadLetter, 'onDeadLetter')
    this.#onDeadLetter = onDeadLetter ?? ((letter) => reportUnhandled(new Error(describeLetter(letter)), 'webhook dead letter'))
    const fetcher = optionalFunction<typeof fetch>(options.fetch, 'fetch') ?? globalThis.fetch
    if (typeof fetcher !== 'function') throw new InvalidOptionError('No `fetch` in this runtime: pass `fetch`', 'fetch')
    // Called on the global, not on this notifier: a browser's fetch refuses any other `this`.
    this.#fetch = fetcher.bind(globalThis)
    this.#clock = options.clock ?? new SystemClock()
    this.#random = optionalFunction<() => number>(options.random, 'random') ?? Math.random
  }

  /** Whether the endpoint answered 410 Gone: no message is sent to it any more. */
  get disabled(): boolean {
    return this.#disabled
  }

  /** Messages whose delivery is still going on (tries or waits between them). */
  get pending(): number {
    return this.#deliveries.size
  }

  /** Starts the delivery of `message` and returns at once: the mailbox never waits for a webhook. */
  notify(message: MailboxMessage<R>): void {
    const letter = { message: message as MailboxMessage<unknown>, attempts: 0, lastError: undefined }
    if (this.#disabled || this.#closed) return this.#dead({ ...letter, reason: this.#closed ? 'closed' : 'disabled' })
    let body: string
    try {
      body = JSON.stringify(message)
    } catch (error) {
      return this.#dead({ ...letter, reason: 'unsendable', lastError: describeError(error) })
    }
    let settle!: () => void
    const done = new Promise<void>((resolve) => (settle = resolve))
    const delivery: Delivery = { ...letter, body, timer: undefined, done, settle }
    this.#deliveries.add(delivery)
    this.#start(delivery)
  }

  /** A try; whatever it throws unexpectedly (a clock or `random` that fails) ends the delivery, so `flush` never waits on it. */
  #start(delivery: Delivery): void {
    this.#try(delivery).catch((error: unknown) => {
      delivery.lastError = describeError(error)
      this.#end(delivery, 'exhausted')
    })
  }

  /** Resolves when every delivery in flight has ended (delivered or dead-lettered), those started meanwhile too. */
  async flush(): Promise<void> {
    while (this.#deliveries.size > 0) await Promise.all([...this.#deliveries].map((delivery) => delivery.done))
  }

  /** Stops retrying: deliveries waiting for a retry become dead letters (`closed`); requests in flight finish. */
  async close(): Promise<void> {
    this.#closed = true
    for (const delivery of [...this.#deliveries]) {
      if (delivery.timer === undefined) continue
      this.#clock.clearTimeout(delivery.timer)
      this.#end(delivery, 'closed')
    }
    await this.flush()
  }

  async #try(delivery: Delivery): Promise<void> {
    delivery.timer = undefined
    if (this.#disabled) return this.#end(delivery, 'disabled')
    delivery.attempts++
    let retryAfterMs: number | undefined
    try {
      const response = await this.#post(delivery)
      if (response.ok) return this.#end(delivery, undefined)
      delivery.lastError = `HTTP ${response.status}`
      if (response.status === 410) return this.#disable(delivery)
      retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), Date.now()) // an HTTP date is real time
    } catch (error) {
      delivery.lastError = describeError(error)
    }
    if (delivery.attempts >= this.maxAttempts) return this.#end(delivery, 'exhausted')
    if (this.#closed) return this.#end(delivery, 'closed')
    const backoff = Math.min(this.retryMaxDelayMs, this.retryBaseDelayMs * 2 ** (delivery.attempts - 1))
    // Equal jitter (half fixed, half random) keeps many senders from retrying in step; a
    // Retry-After is a floor, up to retryMaxDelayMs (a delivery never waits longer than that).
    const delayMs = Math.min(this.retryMaxDelayMs, Math.max(retryAfterMs ?? 0, backoff * (0.5 + this.#random() / 2)))
    delivery.timer = this.#clock.setTimeout(() => this.#start(delivery), delayMs)
  }

  /** The receiver says this endpoint is gone for good: nothing more is sent, and what waits for a retry ends too. */
  #disable(delivery: Delivery): void {
    this.#disabled = true
    this.#end(delivery, 'disabled')
    for (const waiting of [...this.#deliveries]) {
      if (waiting.timer === undefined) continue
      this.#clock.clearTimeout(waiting.timer)
      this.#end(waiting, 'disabled')
    }
  }

  async #post(delivery: Delivery): Promise<Response> {
    const id = delivery.message.id
    // Real time, not the injected clock: receivers refuse timestamps far from their own.
    const timestamp = String(Math.floor(Date.now() / 1000))
    const signature = await sign(await this.#key, `${id}.${timestamp}.${delivery.body}`)
    const headers = new Headers(this.#headers)
    headers.set('content-type', 'application/json')
    headers.set('webhook-id', id)
    headers.set('webhook-timestamp', timestamp)
    headers.set('webhook-signature', `v1,${signature}`)
    const controller = new AbortController()
    let timer: TimerHandle | undefined
    // Raced as well as aborted: a `fetch` that ignores its signal still cannot hold a try past the timeout.
    const timedOut = new Promise<never>((_, reject) => {
      timer = this.#clock.setTimeout(() => {
        const error = new Error(`no answer within timeoutMs (${this.timeoutMs} ms)`)
        controller.abort(error)
        reject(error)
      }, this.timeoutMs)
    })
    try {
      // Redirects are not followed: a 3xx is not the endpoint taking the message.
      const sending = this.#fetch(this.url, { method: 'POST', body: delivery.body, headers, signal: controller.signal, redirect: 'manual' })
      sending.catch(noop) // when the timeout wins, its late failure is not news
      const response = await Promise.race([sending, timedOut])
      response.body?.cancel().catch(noop) // only the status matters; a body that fails to close changes nothing
      return response
    } finally {
      this.#clock.clearTimeout(timer)
    }
  }

  #end(delivery: Delivery, reason: DeadLetter['reason'] | undefined): void {
    if (!this.#deliveries.delete(delivery)) return
    if (reason !== undefined) {
      this.#dead({ message: delivery.message, attempts: delivery.attempts, reason, lastError: delivery.lastError })
    }
    delivery.settle()
  }

  #dead(letter: DeadLetter): void {
    try {
      this.#onDeadLetter(letter)
    } catch (error) {
      reportUnhandled(error, 'onDeadLetter threw')
    }
  }
}

/** The HMAC key of a `whsec_` secret; refuses a secret that is not one (synchronously, at construction). */
function importSecret(secret: unknown): Promise<CryptoKey> {
  if (typeof secret !== 'string' || !secret.startsWith('whsec_')) {
    throw new InvalidOptionError('Expected `secret` to be a Standard Webhooks secret: `whsec_` followed by base64', 'secret')
  }
  let bytes: Uint8Array<ArrayBuffer>
  try {
    bytes = Uint8Array.from(atob(secret.slice('whsec_'.length)), (char) => char.charCodeAt(0))
  } catch {
    throw new InvalidOptionError('Expected `secret` after `whsec_` to be base64', 'secret')
  }
  if (bytes.length === 0) throw new InvalidOptionError('Expected `secret` to hold key bytes after `whsec_`', 'secret')
  if (typeof crypto === 'undefined' || crypto.subtle === undefined) {
    throw new InvalidOptionError('HttpNotifier signs with Web Crypto, which this context lacks (an insecure http: page?)', 'secret')
  }
  return crypto.subtle.importKey('raw', bytes, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign'])
}

async function sign(key: CryptoKey, content: string): Promise<string> {
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(content)))
  let binary = ''
  for (const byte of mac) binary += String.fromCharCode(byte)
  return btoa(binary)
}

/** `Retry-After` as milliseconds from now: delta-seconds or an HTTP date; undefined when absent or malformed. */
function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, at - now)
}

function describeLetter(letter: DeadLetter): string {
  return `Mailbox message ${letter.message.id} (task ${letter.message.taskId}) was not delivered: ${letter.reason} after ${letter.attempts} tries${letter.lastError === undefined ? '' : ` (last: ${letter.lastError})`}`
}
