/*
 * `maxQueueDepth`: room in the lot for a task about to park. When the lot is full, `'reject'`
 * refuses the newcomer and `'drop-lowest'` drops the newest parked task of the lowest priority if
 * the newcomer outranks it.
 */
import { QueueFullError, TaskDroppedError } from './errors.js'
import type { CapacityLedger, CostVector } from './capacity.js'
import type { LotEntry, ParkingLot } from './lot.js'

/** What room depends on: the pool's options and lot (admission's parts). */
export interface RoomRules<T extends LotEntry> {
  readonly options: { readonly name: string; readonly maxQueueDepth: number; readonly onFull: 'reject' | 'drop-lowest' }
  readonly lot: ParkingLot<T>
  readonly ledger: CapacityLedger
  /** Tasks submitted here that wait outside the lot (in a shared queue), which count as parked. */
  waitingElsewhere(): number
  /** Parked tasks not due yet (outside the lot, so never ahead of a newcomer). */
  delayed(): number
  /** Those tasks: `drop-lowest` may drop one of them as well as one in the lot. */
  delayedTasks(): Iterable<T>
  isPaused(): boolean
  /** Takes a parked task out (of the lot or its delay) and ends it as dropped. */
  drop(victim: T, error: TaskDroppedError): void
}

/** `drop-lowest` order (negative: `a` goes first): lowest base priority first, newest first within it. */
const dropOrder = (a: LotEntry, b: LotEntry): number => a.rank - b.rank || b.seq - a.seq

const dropped = (victim: LotEntry & { readonly id: string }): TaskDroppedError =>
  new TaskDroppedError(`Task ${victim.id} was dropped for a higher-priority task; it never ran`)

/**
 * Makes room for one task of `rank` and `cost`, or refuses it. `admitting`: tasks accepted but not
 * yet in the lot (their writes are in flight), which will park too. No `cost`: the task parks
 * even if it fits (it is delayed).
 */
export function makeRoom<T extends LotEntry & { readonly id: string }>(
  rules: RoomRules<T>,
  admitting: number,
  rank: number,
  cost: CostVector | undefined,
): void {
  const { maxQueueDepth, onFull, name } = rules.options
  const ahead = rules.lot.size + rules.waitingElsewhere() + admitting
  if (ahead + rules.delayed() < maxQueueDepth) return
  // A task that starts at once (it fits, the pool is not paused) with nothing ahead of it never parks, so it needs no room.
  if (ahead === 0 && cost !== undefined && !rules.isPaused() && rules.ledger.fits(cost)) return
  if (onFull === 'drop-lowest') {
    let victim = rules.lot.lowestNewest()
    for (const task of rules.delayedTasks()) if (victim === undefined || dropOrder(task, victim) < 0) victim = task
    if (victim !== undefined && victim.rank < rank) {
      rules.drop(victim, dropped(victim))
      return
    }
  }
  throw new QueueFullError(`Pool '${name}' has ${maxQueueDepth} tasks parked (maxQueueDepth); the task was not accepted`)
}

/**
 * Room for a batch of new tasks of these ranks (as if each parks), or a refusal with nothing
 * changed: under `'drop-lowest'` the victims are chosen first (each task beyond the free room
 * needs a parked task of lower priority) and dropped only if there are enough.
 */
export function makeRoomForAll<T extends LotEntry & { readonly id: string }>(
  rules: RoomRules<T>,
  admitting: number,
  ranks: readonly number[],
): void {
  const free = rules.options.maxQueueDepth - rules.lot.size - rules.waitingElsewhere() - rules.delayed() - admitting
  if (ranks.length <= free) return
  const victims: T[] = []
  if (rules.options.onFull === 'drop-lowest') {
    const candidates = [...rules.lot.all(), ...rules.delayedTasks()].sort(dropOrder)
    for (const rank of ranks.slice(Math.max(0, free))) {
      const next = candidates[victims.length]
      if (next === undefined || next.rank >= rank) break
      victims.push(next)
    }
  }
  if (free + victims.length < ranks.length) {
    throw new QueueFullError(
      `Pool '${rules.options.name}' has room for ${Math.max(0, free)} more parked tasks (maxQueueDepth); none of ${ranks.length} accepted`,
    )
  }
  for (const victim of victims) rules.drop(victim, dropped(victim))
}
