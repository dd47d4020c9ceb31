import { keyCovers, type MailboxMessage, type MailboxNotifier } from '../core/mailbox.js'
import { reportUnhandled } from '../core/report.js'
import type { MailboxKey } from '../core/types.js'
import { optionalString, optionsObject } from '../core/validate.js'

/** The channel name notifiers and listeners share unless told otherwise. */
export const DEFAULT_CHANNEL = 'prometheus-parking-lot:mailbox'

export interface BroadcastNotifierOptions {
  /** BroadcastChannel name. @default 'prometheus-parking-lot:mailbox' */
  readonly channel?: string
}

/**
 * Tells every live tab (and worker, and Node thread) of the origin that a mailbox message was
 * stored, over a BroadcastChannel. The channel opens on first use, never at import. A message
 * that cannot be cloned fails this notification only: the stored message is kept (the Mailbox
 * reports the failure).
 */
export class BroadcastNotifier<R = unknown> implements MailboxNotifier<R> {
  readonly channelName: string
  #channel: BroadcastChannel | undefined

  constructor(options: BroadcastNotifierOptions = {}) {
    optionsObject(options, { channel: 1 } satisfies Record<keyof BroadcastNotifierOptions, 1>, 'options')
    this.channelName = optionalString(options.channel, 'channel') ?? DEFAULT_CHANNEL
  }

  notify(message: MailboxMessage<R>): void {
    this.#channel ??= new BroadcastChannel(this.channelName)
    this.#channel.postMessage(message)
  }

  close(): void {
    this.#channel?.close()
    this.#channel = undefined
  }

  /**
   * Calls `onMessage` for every message announced for `key` (matched as a hierarchy, as in
   * `fetch`). Returns a function that stops listening and closes the channel.
   */
  static listen<R = unknown>(
    key: MailboxKey,
    onMessage: (message: MailboxMessage<R>) => void,
    options: BroadcastNotifierOptions = {},
  ): () => void {
    const channel = new BroadcastChannel(options.channel ?? DEFAULT_CHANNEL)
    channel.onmessage = (event: MessageEvent) => {
      const message: unknown = event.data
      if (!isMailboxMessage<R>(message)) {
        // Not a mailbox message (another sender on the channel): dropped, and said.
        reportUnhandled(new TypeError('not a mailbox message'), `a malformed message on BroadcastChannel '${channel.name}' was dropped`)
        return
      }
      if (keyCovers(key, message.key)) onMessage(message)
    }
    return () => channel.close()
  }
}

/**
 * Whether a message from the channel is a mailbox message: the fields a listener reads, checked
 * by hand (the root entry carries no decoder library).
 */
function isMailboxMessage<R>(value: unknown): value is MailboxMessage<R> {
  if (typeof value !== 'object' || value === null) return false
  const m = value as Partial<Record<keyof MailboxMessage<R>, unknown>>
  const key = m.key as { tenant?: unknown; user?: unknown; session?: unknown } | null | undefined
  const optionalString = (x: unknown) => x === undefined || typeof x === 'string'
  return (
    typeof m.id === 'string' &&
    typeof m.taskId === 'string' &&
    typeof m.status === 'string' &&
    typeof m.attempts === 'number' &&
    typeof m.completedAt === 'number' &&
    typeof key === 'object' &&
    key !== null &&
    typeof key.tenant === 'string' &&
    optionalString(key.user) &&
    optionalString(key.session)
  )
}
