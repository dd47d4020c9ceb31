/*
 * Leader mode, for browsers without SharedWorker (or when asked): the tabs elect one leader with
 * a Web Lock; the leader builds the SharedPoolHost in its own page and serves every tab over a
 * BroadcastChannel. When the leader closes, its lock passes to the next tab in line, which builds
 * a new host (a durable queue is recovered by then) and announces itself; every tab then rejoins.
 */
import { SharedPool, lentWorkers, type ConnectSharedPoolOptions } from './client.js'
import type { SharedPoolHost } from './host.js'
import { LEADER_LOCK_PREFIX, type Port } from './protocol.js'

/** What travels on the bus: to the host, to one tab, or about who leads. */
type BusMessage =
  | { readonly to: 'host'; readonly from: string; readonly data: unknown }
  | { readonly to: 'tab'; readonly client: string; readonly data: unknown }
  | { readonly leader: string }
  | { readonly whoLeads: true }

export async function connectThroughLeader<P, R>(
  name: string,
  options: ConnectSharedPoolOptions,
  createHost: () => SharedPoolHost | Promise<SharedPoolHost>,
): Promise<SharedPool<P, R>> {
  const scope = options.workerName ?? 'prometheus-parking-lot'
  const bus = `prometheus-parking-lot:bus:${scope}`
  const clientId = crypto.randomUUID()
  const port = new TabBusPort(bus, clientId)
  const pool = new SharedPool<P, R>(name, port, lentWorkers(options), options, clientId)

  // Stand in line for leadership; whoever holds the lock hosts until its tab closes.
  void navigator.locks.request(LEADER_LOCK_PREFIX + scope, async () => {
    const host = await createHost()
    await new Promise<never>(() => serveOnBus(host, bus))
  })

  const first = await port.nextLeader()
  await pool.start()
  port.onLeaderChange((leader) => {
    if (leader === first) return
    pool.rejoin().catch((error: unknown) => {
      queueMicrotask(() => {
        throw error
      })
    })
  })
  return pool
}

/** Serves the tabs on the bus from this (leader) tab, then tells them who leads. */
function serveOnBus(host: SharedPoolHost, bus: string): void {
  const channel = new BroadcastChannel(bus)
  const leader = crypto.randomUUID()
  const ports = new Map<string, HostBusPort>()
  channel.addEventListener('message', (event: MessageEvent<BusMessage>) => {
    const message = event.data
    if ('whoLeads' in message) {
      channel.postMessage({ leader } satisfies BusMessage)
      return
    }
    if (!('to' in message) || message.to !== 'host') return
    let port = ports.get(message.from)
    if (port === undefined) {
      port = new HostBusPort(channel, message.from, () => ports.delete(message.from))
      ports.set(message.from, port)
      host.connect(port)
    }
    port.deliver(message.data)
  })
  // Every pool recovered its queue before the tabs hear of the new leader.
  void host.whenReady().then(() => channel.postMessage({ leader } satisfies BusMessage))
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
    this.channel.postMessage({ to: 'tab', client: this.client, data: message } satisfies BusMessage)
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

/** A tab's end: messages to the host go on the bus; the host's answers to this tab come back. */
class TabBusPort implements Port {
  readonly #channel: BroadcastChannel
  readonly #listeners: ((event: MessageEvent) => void)[] = []
  #leader: string | undefined
  #leaderWaiters: ((leader: string) => void)[] = []
  #onLeaderChange: ((leader: string) => void) | undefined

  constructor(
    bus: string,
    readonly client: string,
  ) {
    this.#channel = new BroadcastChannel(bus)
    this.#channel.addEventListener('message', (event: MessageEvent<BusMessage>) => {
      const message = event.data
      if ('leader' in message) {
        if (message.leader === this.#leader) return
        this.#leader = message.leader
        for (const waiter of this.#leaderWaiters.splice(0)) waiter(message.leader)
        this.#onLeaderChange?.(message.leader)
      } else if ('to' in message && message.to === 'tab' && message.client === this.client) {
        const forward = new MessageEvent('message', { data: message.data })
        for (const listener of this.#listeners) listener(forward)
      }
    })
    this.#channel.postMessage({ whoLeads: true } satisfies BusMessage)
  }

  nextLeader(): Promise<string> {
    if (this.#leader !== undefined) return Promise.resolve(this.#leader)
    return new Promise((resolve) => this.#leaderWaiters.push(resolve))
  }

  onLeaderChange(listener: (leader: string) => void): void {
    this.#onLeaderChange = listener
  }

  postMessage(message: unknown): void {
    this.#channel.postMessage({ to: 'host', from: this.client, data: message } satisfies BusMessage)
  }

  addEventListener(_type: 'message', listener: (event: MessageEvent) => void): void {
    this.#listeners.push(listener)
  }

  close(): void {
    this.#channel.close()
  }
}
