import type { FairShareLedger } from './fair-share.js'
import { OrderedQueue, type Sequenced } from './ordered-queue.js'
import { levelOf } from './types.js'

/** What the lot needs of a parked task. */
export interface LotEntry extends Sequenced {
  /** Base priority as a number (`rankOf`: low 0 ... critical 3, or any finite number). */
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

/** Aging raises a task to `critical` (3) at most; a task already above it does not age. */
const TOP_RANK = 3

/** One rank's tasks of one tenant (of all, without fair share), in arrival order. */
type Lane<T extends LotEntry> = OrderedQueue<T>

/** The tasks of one base priority: a lane per tenant ('' without fair share). */
interface Level<T extends LotEntry> {
  readonly rank: number
  readonly lanes: Map<string, Lane<T>>
  size: number
}

/**
 * The parking lot: parked tasks in the order they may start.
 *
 * Order: effective priority (base rank, raised one level per `agingMs` waited) high to low; with
 * fair share, the tenant with less usage first; then arrival (`seq`). Each lane (one per rank, and
 * per tenant under fair share) is a FIFO that is already in this order, because within a lane an
 * older task has waited longer; so the global order is a merge of lane heads. (A delayed task is
 * the exception: it ages from the end of its delay but keeps its place by `seq`, so under aging it
 * may stand in its lane, younger, ahead of tasks of its base priority that waited longer, until it
 * starts.) Ranks are any finite numbers; the levels in use are kept sorted, highest first.
 */
export class ParkingLot<T extends LotEntry> {
  readonly #policy: LotPolicy
  /** Levels with parked tasks, highest rank first (few: an app uses a handful of priorities). */
  #levels: Level<T>[] = []
  readonly #byRank = new Map<number, Level<T>>()
  #size = 0

  constructor(policy: LotPolicy) {
    this.#policy = policy
  }

  get size(): number {
    return this.#size
  }

  /** Parked tasks per named level (a numeric rank counts under `levelOf` it). */
  countByLevel(): number[] {
    const counts = [0, 0, 0, 0]
    for (const level of this.#levels) counts[levelOf(level.rank)]! += level.size
    return counts
  }

  add(entry: T): void {
    const tenant = this.#policy.fairShare === undefined ? '' : entry.tenant
    let level = this.#byRank.get(entry.rank)
    if (level === undefined) {
      level = { rank: entry.rank, lanes: new Map(), size: 0 }
      this.#byRank.set(entry.rank, level)
      const at = this.#levels.findIndex((other) => other.rank < entry.rank)
      if (at === -1) this.#levels.push(level)
      else this.#levels.splice(at, 0, level)
    }
    let lane = level.lanes.get(tenant)
    if (lane === undefined) {
      lane = new OrderedQueue()
      level.lanes.set(tenant, lane)
    }
    lane.push(entry)
    level.size++
    this.#size++
  }

  /**
   * Takes a parked task out. `forGood`: it comes back with another `seq` (a new priority), so
   * its slot goes too; else the slot stays as a tombstone, for a retry to come back to.
   */
  remove(entry: T, forGood = false): void {
    if (!entry.inLot) return
    const tenant = this.#policy.fairShare === undefined ? '' : entry.tenant
    const level = this.#byRank.get(entry.rank)!
    const lane = level.lanes.get(tenant)!
    if (forGood) lane.delete(entry)
    else lane.remove(entry)
    if (lane.size === 0) level.lanes.delete(tenant)
    if (--level.size === 0) {
      this.#byRank.delete(level.rank)
      this.#levels = this.#levels.filter((other) => other !== level)
    }
    this.#size--
  }

  effectiveRank(entry: T, now: number): number {
    const agingMs = this.#policy.agingMs
    if (agingMs === undefined || entry.rank >= TOP_RANK) return entry.rank
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
      // Plain priority FIFO: the highest level's one lane (a level in the list has someone).
      return this.#levels[0]?.lanes.get('')!.peek()
    }
    let best: T | undefined
    for (const level of this.#levels) {
      for (const lane of level.lanes.values()) {
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
    for (const level of this.#levels) {
      for (const lane of level.lanes.values()) {
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
    for (const level of this.#levels) for (const lane of level.lanes.values()) yield* lane
  }

  /** The newest task of the lowest base priority: what `drop-lowest` removes. */
  lowestNewest(): T | undefined {
    const lowest = this.#levels.at(-1)
    if (lowest === undefined) return undefined
    let newest: T | undefined
    for (const lane of lowest.lanes.values()) {
      const last = lane.last()
      if (last !== undefined && (newest === undefined || last.seq > newest.seq)) newest = last
    }
    return newest
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
