/*
 * The leader-mode transport, for browsers without SharedWorker (or when asked): tabs elect one
 * leader with a Web Lock; the leader builds a SharedPoolHost in its own page and serves every
 * tab over a BroadcastChannel ("the bus"). When the leader's tab closes, its lock passes to the
 * next tab in line, which builds a new host (a durable queue is recovered by then) and announces
 * itself. A host that fails to start is announced too, so no tab waits for it forever.
 *
 * This module knows ports and leaders, not pools: connect.ts puts a SharedPool on top.
 */
import * as d from '../../core/decode.js'
import { BackendError, ParkingLotError, describeError } from '../../core/errors.js'
import type { SharedPoolHost } from './host.js'
import { LEADER_LOCK_PREFIX, type Port } from './protocol.js'
import { decodeWireError, fromWire, toWire } from '../wire-errors.js'

const decodeBusMessage = d.tagged('k', {
  host: d.object({ k: d.literal('host'), from: d.string, data: d.unknown }),
  tab: d.object({ k: d.literal('tab'), client: d.string, data: d.unknown }),
  leader: d.object({ k: d.literal('leader'), leader: d.string }),
  'who-leads': d.object({ k: d.literal('who-leads') }),
  failed: d.object({ k: d.literal('failed'), error: decodeWireError }),
})
type BusMessage = d.Infer<typeof decodeBusMessage>

/** The bus of a scope (the SharedWorker name it stands in for). */
export function busName(scope: string): string {
  return `prometheus-parking-lot:bus:${scope}`
}

/** Told of what failed where nobody awaits it: a bus message that did not decode (dropped), a host that would not close. */
export type OnError = (error: unknown, context: string) => void

function listen(channel: BroadcastChannel, onMessage: (message: BusMessage) => void, onError: OnError): void {
  channel.addEventListener('message', (event: MessageEvent) => {
    let message: BusMessage
    try {
      message = decodeBusMessage(event.data, 'bus message')
    } catch (error) {
      onError(error, 'a malformed message on the leader bus was dropped')
      return
    }
    onMessage(message)
  })
}

/**
 * Stands in line for leadership of `scope`. When this tab's turn comes it builds the host; once
 * the host is ready it serves the bus until the tab closes. If building it or getting it ready
 * fails, every tab hears why (`failed`) and the lock passes on.
 */
export function standForLeader(
  scope: string,
  createHost: () => SharedPoolHost | Promise<SharedPoolHost>,
  onError: OnError,
  /** Aborting it takes this tab out of the line (once it leads, it leads until its tab closes). */
  signal: AbortSignal,
): void {
  const standing = navigator.locks.request(LEADER_LOCK_PREFIX + scope, { signal }, async () => {
    let host: SharedPoolHost | undefined
    try {
      host = await createHost()
      await host.whenReady()
    } catch (error) {
      announceFailure(scope, error)
      await host?.close().catch((closing: unknown) => onError(closing, 'closing the host that failed to start'))
      return // the lock passes to the next tab in line
    }
    serveOnBus(host, scope, crypto.randomUUID(), onError)
    await new Promise<never>(() => {})
  })
  standing.catch((error: unknown) => {
    if (!signal.aborted) onError(error, 'standing for leader')
  })
}

function announceFailure(scope: string, error: unknown): void {
  const failure =
    error instanceof ParkingLotError
      ? error
      : new BackendError(`The shared pool host failed to start in the leader tab: ${describeError(error)}`, { cause: error })
  const channel = new BroadcastChannel(busName(scope))
  channel.postMessage({ k: 'failed', error: toWire(failure) } satisfies BusMessage)
  channel.close()
}

/** Serves the tabs on the bus from this (leader) tab, and tells them who leads. */
export function serveOnBus(host: Pick<SharedPoolHost, 'connect'>, scope: string, leader: string, onError: OnError): () => void {
  const channel = new BroadcastChannel(busName(scope))
  const ports = new Map<string, HostBusPort>()
  listen(
    channel,
    (message) => {
      if (message.k === 'who-leads') return channel.postMessage({ k: 'leader', leader } satisfies BusMessage)
      if (message.k !== 'host') return
      let port = ports.get(message.from)
      if (port === undefined) {
        port = new HostBusPort(channel, message.from, () => ports.delete(message.from))
        ports.set(message.from, port)
        host.connect(port)
      }
      port.deliver(message.data)
    },
    onError,
  )
  channel.postMessage({ k: 'leader', leader } satisfies BusMessage)
  return () => channel.close()
}

/** The host's end of one tab's connection. */
class HostBusPort implements Port {
  #listener: ((event: MessageEvent) => void) | undefined
  constructor(
    readonly channel: BroadcastChannel,
    readonly client: string,
    readonly onClose: () => void,
  ) {}

  postMessage(message: unknown): void {
    this.channel.postMessage({ k: 'tab', client: this.client, data: message } satisfies BusMessage)
  }

  addEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.#listener = listener
  }

  deliver(data: unknown): void {
    this.#listener?.(new MessageEvent('message', { data }))
  }

  close(): void {
    this.onClose()
  }
}

/**
 * A tab's end: messages to the host go on the bus; the host's answers to this tab come back. It
 * follows who leads from the moment it is made, so no announcement is missed.
 */
export class TabBusPort implements Port {
  /** The leader this port last heard of. */
  leader: string | undefined
  readonly #channel: BroadcastChannel
  readonly #listeners: ((event: MessageEvent) => void)[] = []
  readonly #leaderListeners: ((leader: string) => void)[] = []
  readonly #failureListeners: ((error: Error) => void)[] = []
  #waiters: { resolve(leader: string): void; reject(error: Error): void }[] = []

  constructor(
    scope: string,
    readonly client: string,
    onError: OnError,
  ) {
    this.#channel = new BroadcastChannel(busName(scope))
    listen(this.#channel, (message) => this.#receive(message), onError)
    this.#channel.postMessage({ k: 'who-leads' } satisfies BusMessage)
  }

  /** The leader now, or the next one announced; rejects when a host that was to lead failed to start. */
  nextLeader(): Promise<string> {
    if (this.leader !== undefined) return Promise.resolve(this.leader)
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }))
  }

  /** Calls `listener` with every new leader. */
  onLeader(listener: (leader: string) => void): void {
    this.#leaderListeners.push(listener)
  }

  /** Calls `listener` when a tab that was to lead says its host failed to start. */
  onHostFailed(listener: (error: Error) => void): void {
    this.#failureListeners.push(listener)
  }

  postMessage(message: unknown): void {
    this.#channel.postMessage({ k: 'host', from: this.client, data: message } satisfies BusMessage)
  }

  addEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.#listeners.push(listener)
  }

  close(): void {
    this.#channel.close()
  }

  #receive(message: BusMessage): void {
    switch (message.k) {
      case 'leader': {
        if (message.leader === this.leader) return
        this.leader = message.leader
        const waiters = this.#waiters
        this.#waiters = []
        for (const waiter of waiters) waiter.resolve(message.leader)
        for (const listener of this.#leaderListeners) listener(message.leader)
        return
      }
      case 'failed': {
        const waiters = this.#waiters
        this.#waiters = []
        const error = fromWire(message.error)
        for (const waiter of waiters) waiter.reject(error)
        for (const listener of this.#failureListeners) listener(error)
        return
      }
      case 'tab': {
        if (message.client !== this.client) return
        const forward = new MessageEvent('message', { data: message.data })
        for (const listener of this.#listeners) listener(forward)
        return
      }
    }
  }
}
