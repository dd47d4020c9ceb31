import { keyCovers, type MailboxMessage, type MailboxNotifier } from '../core/mailbox.js'
import type { MailboxKey } from '../core/types.js'

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
    this.channelName = options.channel ?? DEFAULT_CHANNEL
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
    channel.onmessage = (event: MessageEvent<MailboxMessage<R>>) => {
      const message = event.data
      if (message?.key !== undefined && keyCovers(key, message.key)) onMessage(message)
    }
    return () => channel.close()
  }
}
