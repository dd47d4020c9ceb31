import type { TaskQueue } from '../core/queue.js'

/**
 * The queue of a pool given none: it records nothing, because the pool's own memory already holds
 * every task, key and outcome, and nothing would survive the process anyway. (`MemoryQueue` is
 * the in-memory queue as an object of its own, for a pool that hands its queue on.)
 */
export class EphemeralQueue<P = unknown> implements TaskQueue<P> {
  readonly durable = false
  open(): readonly never[] {
    return []
  }
  put(): void {}
  claim(): void {}
  renew(): void {}
  release(): void {}
  settle(): void {}
  findKey(): undefined {
    return undefined
  }
  sharesTransactionWith(): boolean {
    return false
  }
  close(): void {}
}
