import type { FairShareLedger } from './fair-share.js'
import { OrderedQueue, type Sequenced } from './ordered-queue.js'

/** What the lot needs of a parked task. */
export interface LotEntry extends Sequenced {
  /** Base priority rank, 0 (low) to 3 (critical). */
  readonly rank: number
  readonly tenant: string
  /** When the task first entered the lot (its original arrival; a retry keeps it). */
  readonly enqueuedAt: number
}

export interface LotPolicy {
  /** One priority level per `agingMs` waited; undefined for no aging. */
  readonly agingMs: number | undefined
  /** Orders tenants by usage within a priority; undefined for plain FIFO. */
  readonly fairShare: FairShareLedger | undefined
}

const TOP_RANK = 3

/** One rank's tasks of one tenant (of all, without fair share), in arrival order. */
type Lane<T extends LotEntry> = OrderedQueue<T>

/**
 * The parking lot: parked tasks in the order they may start.
 *
 * Order: effective priority (base rank, raised one level per `agingMs` waited) high to low; with
 * fair share, the tenant with less usage first; then arrival (`seq`). Each lane (one per rank, and
 * per tenant under fair share) is a FIFO that is already in this order, because within a lane an
 * older task has waited longer; so the global order is a merge of lane heads. (A delayed task is
 * the exception: it ages from the end of its delay but keeps its place by `seq`, so under aging it
 * may stand in its lane, younger, ahead of tasks of its base priority that waited longer, until it
 * starts.)
 */
export class ParkingLot<T extends LotEntry> {
  readonly #policy: LotPolicy
  // lanes[rank] maps tenant ('' without fair share) to its FIFO.
  readonly #lanes: Map<string, Lane<T>>[] = [new Map(), new Map(), new Map(), new Map()]
  readonly #counts = [0, 0, 0, 0]
  /** Without fair share each rank has one lane; kept here too, so `head` needs no Map lookups. */
  readonly #plain: (Lane<T> | undefined)[] = [undefined, undefined, undefined, undefined]
  #size = 0

  constructor(policy: LotPolicy) {
    this.#policy = policy
  }

  get size(): number {
    return this.#size
  }

  /** Parked tasks per base priority rank. */
  countByRank(): readonly number[] {
    return this.#counts
  }

  add(entry: T): void {
    const tenant = this.#policy.fairShare === undefined ? '' : entry.tenant
    const lanes = this.#lanes[entry.rank]!
    let lane = lanes.get(tenant)
    if (lane === undefined) {
      lane = new OrderedQueue()
      lanes.set(tenant, lane)
      if (this.#policy.fairShare === undefined) this.#plain[entry.rank] = lane
    }
    lane.push(entry)
    this.#counts[entry.rank]!++
    this.#size++
  }

  remove(entry: T): void {
    if (!entry.inLot) return
    const tenant = this.#policy.fairShare === undefined ? '' : entry.tenant
    const lanes = this.#lanes[entry.rank]!
    const lane = lanes.get(tenant)!
    lane.remove(entry)
    if (lane.size === 0) {
      lanes.delete(tenant)
      if (this.#plain[entry.rank] === lane) this.#plain[entry.rank] = undefined
    }
    this.#counts[entry.rank]!--
    this.#size--
  }

  effectiveRank(entry: T, now: number): number {
    const agingMs = this.#policy.agingMs
    if (agingMs === undefined) return entry.rank
    return Math.min(TOP_RANK, entry.rank + Math.floor((now - entry.enqueuedAt) / agingMs))
  }

  /** Negative when `a` starts before `b`. */
  compare(a: T, b: T, now: number): number {
    const ra = this.effectiveRank(a, now)
    const rb = this.effectiveRank(b, now)
    if (ra !== rb) return rb - ra
    const fair = this.#policy.fairShare
    if (fair !== undefined) {
      const byTenant = fair.compare(a.tenant, b.tenant, now)
      if (byTenant !== 0) return byTenant
    }
    return a.seq - b.seq
  }

  /** The task that comes first. */
  head(now: number): T | undefined {
    if (this.#policy.agingMs === undefined && this.#policy.fairShare === undefined) {
      // Plain priority FIFO: the first lane that has anyone.
      for (let rank = TOP_RANK; rank >= 0; rank--) {
        const lane = this.#plain[rank]
        if (lane !== undefined) return lane.peek()
      }
      return undefined
    }
    let best: T | undefined
    for (const lanes of this.#lanes) {
      for (const lane of lanes.values()) {
        const candidate = lane.peek()
        if (candidate !== undefined && (best === undefined || this.compare(candidate, best, now) < 0)) {
          best = candidate
        }
      }
    }
    return best
  }

  /** Every parked task in start order at `now` (a merge of lane heads). */
  *ordered(now: number): IterableIterator<T> {
    const cursors: { iterator: Iterator<T>; current: T }[] = []
    for (const lanes of this.#lanes) {
      for (const lane of lanes.values()) {
        const iterator = lane[Symbol.iterator]()
        const first = iterator.next()
        if (!first.done) cursors.push({ iterator, current: first.value })
      }
    }
    while (cursors.length > 0) {
      let bestIndex = 0
      for (let i = 1; i < cursors.length; i++) {
        if (this.compare(cursors[i]!.current, cursors[bestIndex]!.current, now) < 0) bestIndex = i
      }
      const cursor = cursors[bestIndex]!
      const entry = cursor.current
      // Advance before yielding: the consumer may remove `entry` (start it) while iterating.
      const next = cursor.iterator.next()
      if (next.done) cursors.splice(bestIndex, 1)
      else cursor.current = next.value
      if (entry.inLot) yield entry
    }
  }

  /** Every parked task, in no particular order (cheaper than `ordered`). */
  *all(): IterableIterator<T> {
    for (const lanes of this.#lanes) for (const lane of lanes.values()) yield* lane
  }

  /** The newest task of the lowest base priority: what `drop-lowest` removes. */
  lowestNewest(): T | undefined {
    for (let rank = 0; rank <= TOP_RANK; rank++) {
      let newest: T | undefined
      for (const lane of this.#lanes[rank]!.values()) {
        const last = lane.last()
        if (last !== undefined && (newest === undefined || last.seq > newest.seq)) newest = last
      }
      if (newest !== undefined) return newest
    }
    return undefined
  }

  /** 0-based place of `entry` in start order at `now`; undefined if it is not parked. O(parked). */
  positionOf(entry: T, now: number): number | undefined {
    let i = 0
    for (const other of this.ordered(now)) {
      if (other === entry) return i
      i++
    }
    return undefined
  }
}
