/*
 * `maxQueueDepth`: room in the lot for a task about to park. When the lot is full, `'reject'`
 * refuses the newcomer and `'drop-lowest'` drops the newest parked task of the lowest priority if
 * the newcomer outranks it.
 */
import { QueueFullError, TaskDroppedError } from './errors.js'
import type { CostVector } from './capacity.js'
import type { LotEntry, ParkingLot } from './lot.js'

export interface RoomRules<T extends LotEntry> {
  readonly poolName: string
  readonly maxQueueDepth: number
  readonly onFull: 'reject' | 'drop-lowest'
  readonly lot: ParkingLot<T>
  /** Tasks accepted but not yet in the lot (their writes are in flight): they will park too. */
  admitting(): number
  /** Whether a task of this cost would start at once (it fits now and the pool is not paused), so never park. */
  startsAtOnce(cost: CostVector): boolean
  /** Ends a parked task as dropped (it was removed from the lot). */
  drop(victim: T, error: TaskDroppedError): void
}

const dropped = (victim: LotEntry & { readonly id: string }): TaskDroppedError =>
  new TaskDroppedError(`Task ${victim.id} was dropped for a higher-priority task; it never ran`)

/** Makes room for one task of `rank` and `cost`, or refuses it. */
export function makeRoom<T extends LotEntry & { readonly id: string }>(rules: RoomRules<T>, rank: number, cost: CostVector): void {
  const parked = rules.lot.size + rules.admitting()
  if (parked < rules.maxQueueDepth) return
  // A task that starts at once with nothing waiting never parks, so it needs no room.
  if (parked === 0 && rules.startsAtOnce(cost)) return
  if (rules.onFull === 'drop-lowest') {
    const victim = rules.lot.lowestNewest()
    if (victim !== undefined && victim.rank < rank) {
      rules.lot.remove(victim)
      rules.drop(victim, dropped(victim))
      return
    }
  }
  throw new QueueFullError(`Pool '${rules.poolName}' has ${rules.maxQueueDepth} tasks parked (maxQueueDepth); the task was not accepted`)
}

/**
 * Room for a batch of new tasks of these ranks (as if each parks), or a refusal with nothing
 * changed: under `'drop-lowest'` the victims are chosen first (each task beyond the free room
 * needs a parked task of lower priority) and dropped only if there are enough.
 */
export function makeRoomForAll<T extends LotEntry & { readonly id: string }>(rules: RoomRules<T>, ranks: readonly number[]): void {
  const free = rules.maxQueueDepth - rules.lot.size - rules.admitting()
  if (ranks.length <= free) return
  const victims: T[] = []
  if (rules.onFull === 'drop-lowest') {
    const candidates = rules.lot.lowestFirst()
    for (const rank of ranks.slice(Math.max(0, free))) {
      const next = candidates[victims.length]
      if (next === undefined || next.rank >= rank) break
      victims.push(next)
    }
  }
  if (free + victims.length < ranks.length) {
    throw new QueueFullError(
      `Pool '${rules.poolName}' has room for ${Math.max(0, free)} more parked tasks (maxQueueDepth); none of ${ranks.length} accepted`,
    )
  }
  for (const victim of victims) {
    rules.lot.remove(victim)
    rules.drop(victim, dropped(victim))
  }
}
