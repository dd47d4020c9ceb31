/*
 * Admission: how a submit becomes an accepted task, or a refusal that changes nothing.
 *
 *   submit ─▶ key known (memory, then the queue)? ──yes──▶ that task's handle (nothing runs again)
 *               │ no
 *               ▼
 *            options, cost, payload checked ─▶ room in the lot ─▶ task made ─▶ queue.put ─▶ admitted
 *                                                                     (rolled back if the put fails)
 *
 * `submitAll` does every check for every item before it changes anything, then makes room for
 * all, then writes all its tasks in one `put`.
 */
import type { CapacityLedger } from './capacity.js'
import { CostTable, type Cost } from './costs.js'
import { EndedTask } from './ended-task.js'
import { IdempotencyConflictError, InvalidOptionError, ParkingLotError, PoolClosedError, type TaskDroppedError } from './errors.js'
import type { FairShareLedger } from './fair-share.js'
import type { TaskHandle } from './handle.js'
import type { Journal } from './journal.js'
import { IdempotencyKeys, lookUpKeys, sameKey } from './keys.js'
import type { ParkingLot } from './lot.js'
import type { SubmitItem, SubmitOptions } from './options.js'
import { fingerprint } from './payload.js'
import type { KeyRecord } from './queue.js'
import type { TaskRecord } from './record.js'
import { makeRoom, makeRoomForAll, type RoomRules } from './room.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import { parseSubmit, type ParsedSubmit } from './submit.js'
import { Task, rareOptions, type TaskHost } from './task.js'
import { isPromiseLike, type MaybePromise } from './types.js'
import { optionalString } from './validate.js'

type Keyed<R, C> = Task<unknown, R, C> | EndedTask<R, C>

/** What admission works with: the pool's options, its journal, ledger and lot, and a few hooks. */
export interface AdmissionParts<P, R, C> {
  readonly options: ResolvedPoolOptions<P, R, C>
  readonly journal: Journal<P, R>
  readonly ledger: CapacityLedger
  readonly lot: ParkingLot<Task<P, R, C>>
  readonly fair: FairShareLedger | undefined
  /** The pool, as its tasks see it. */
  readonly pool: TaskHost<C> & { readonly isClosed: boolean; readonly isPaused: boolean }
  now(): number
  cancel(task: Task<P, R, C>, reason: unknown): void
  /** Ends a parked task as dropped (removed from the lot) for a newcomer. */
  drop(task: Task<P, R, C>, error: TaskDroppedError): void
  /** The tasks are durably accepted: they enter the lot. */
  admit(tasks: readonly Task<P, R, C>[], now: number): void
}

/** A `submitAll` item that makes a new task, checked. */
interface Plan<P> {
  readonly payload: P
  readonly parsed: ParsedSubmit
  readonly cost: Cost
  readonly key: string | undefined
  readonly print: string | undefined
}

/** What a `submitAll` item comes to: a known task's handle, the index of an earlier item with its key, or a new task. */
type ItemPlan<P, R, C> = TaskHandle<R, C> | Plan<P> | number

const isPlan = <P>(plan: unknown): plan is Plan<P> => typeof plan === 'object' && plan !== null && 'parsed' in plan

export class Admission<P, R, C> {
  /** Tasks accepted whose write is still in flight: they count as parked for room and idleness. */
  admitting = 0
  /** The last arrival number given (a recovered queue raises it). */
  seq = 0
  readonly keys = new IdempotencyKeys<Keyed<R, C>>()
  readonly costs: CostTable
  readonly #parts: AdmissionParts<P, R, C>
  readonly #room: RoomRules<Task<P, R, C>>

  constructor(parts: AdmissionParts<P, R, C>) {
    this.#parts = parts
    this.costs = new CostTable(parts.ledger, parts.options.executor.costPerTask)
    this.#room = {
      poolName: parts.options.name,
      maxQueueDepth: parts.options.maxQueueDepth,
      onFull: parts.options.onFull,
      lot: parts.lot,
      admitting: () => this.admitting,
      startsAtOnce: (cost) => !parts.pool.isPaused && parts.ledger.fits(cost),
      drop: parts.drop,
    }
  }

  get defaultMaxAttempts(): number {
    return this.#parts.options.submit.maxAttempts
  }

  /** A stored task back in memory: its arrival number, key and tenant are known again. Throws if its cost no longer fits. */
  recovered(record: TaskRecord<P>, now: number): Task<P, R, C> {
    this.seq = Math.max(this.seq, record.seq)
    const task = Task.fromRecord<P, R, C>(this.#parts.pool, record, this.#parts.ledger.toVector(record.cost))
    task.parkedAt = now
    if (record.key !== undefined) this.keys.set(record.key, task as Keyed<R, C>)
    this.#parts.fair?.activate(task.tenant, now)
    return task
  }

  /** The task ended: its key is remembered for the retention. */
  ended(task: Task<P, R, C>, now: number): void {
    if (task.key !== undefined) this.keys.ended(task.key, task as Keyed<R, C>, now + this.#parts.options.keyRetentionMs)
  }

  submit(payload: P, options: SubmitOptions): Promise<TaskHandle<R, C>> {
    let found: Task<P, R, C> | TaskHandle<R, C> | Promise<TaskHandle<R, C>>
    try {
      found = this.#acceptOrFind(payload, options, false)
    } catch (error) {
      return Promise.reject(error)
    }
    if (found instanceof Task) return this.#write([found], () => found.handle)
    return Promise.resolve(found)
  }

  async submitAll(items: readonly SubmitItem<P>[]): Promise<TaskHandle<R, C>[]> {
    const host = this.#parts
    if (!Array.isArray(items)) throw new InvalidOptionError('Expected `items` to be an array of { payload, options? }', 'items')
    const now = host.now()
    const unknown = items
      .map((item) => item?.options?.key)
      .filter((key): key is string => typeof key === 'string' && this.keys.get(key, now) === undefined)
    const stored = await lookUpKeys(unknown, (key) => host.journal.findKey(key, now))
    if (host.pool.isClosed) throw new PoolClosedError(`Pool '${host.options.name}' is closed; no task was accepted`)
    // Every check first, with no change to the pool; then room for all; then the tasks.
    const plans: ItemPlan<P, R, C>[] = []
    const batchKeys = new Map<string, number>()
    items.forEach((item, index) => {
      try {
        plans.push(this.#planItem(item, index, now, stored, batchKeys, plans))
      } catch (error) {
        if (error instanceof ParkingLotError) error.message = `submitAll item ${index}: ${error.message}`
        throw error
      }
    })
    const fresh = plans.filter(isPlan<P>)
    makeRoomForAll(
      this.#room,
      fresh.map((plan) => plan.parsed.rank),
    )
    const tasks = fresh.map((plan) => this.#newTask(plan.payload, plan.parsed, plan.cost, plan.key, plan.print, now))
    const written = tasks.length === 0 ? [] : await this.#write(tasks, () => tasks.map((task) => task.handle))
    const handleOf = (plan: ItemPlan<P, R, C>): TaskHandle<R, C> =>
      typeof plan === 'number' ? handleOf(plans[plan]!) : isPlan<P>(plan) ? written[fresh.indexOf(plan)]! : plan
    return plans.map(handleOf)
  }

  #planItem(
    item: SubmitItem<P>,
    index: number,
    now: number,
    stored: ReadonlyMap<string, KeyRecord | undefined>,
    batchKeys: Map<string, number>,
    plans: readonly ItemPlan<P, R, C>[],
  ): ItemPlan<P, R, C> {
    if (typeof item !== 'object' || item === null) throw new InvalidOptionError('Expected { payload, options? }', `items[${index}]`)
    const options = item.options ?? {}
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('Expected submit options to be an object', 'options')
    const key = optionalString(options.key, 'key')
    const print = key === undefined ? undefined : fingerprint(item.payload)
    if (key !== undefined) {
      const known = this.keys.get(key, now) ?? this.#endedFromStore(key, stored.get(key), now)
      if (known !== undefined) return sameKey(known, key, print!)
      const earlier = batchKeys.get(key)
      if (earlier !== undefined) {
        if ((plans[earlier] as Plan<P>).print !== print) {
          throw new IdempotencyConflictError(`Idempotency key '${key}' is given twice in this batch with different payloads`, key, '')
        }
        return earlier
      }
      batchKeys.set(key, index)
    }
    const parsed = parseSubmit(item.payload, options, this.#parts.options.submit, now)
    return { payload: item.payload, parsed, cost: this.costs.of(options.cost), key, print }
  }

  /**
   * Writes accepted tasks (one durable write), then admits them and answers; rolls every one back
   * if the write fails. A write that answers at once (memory) admits at once: no promise waits.
   */
  #write<T>(tasks: Task<P, R, C>[], answer: () => T): Promise<T> {
    const host = this.#parts
    const admitted = (now: number): T => {
      this.admitting -= tasks.length
      host.admit(tasks, now)
      return answer()
    }
    let written: MaybePromise<void>
    try {
      written = host.journal.accept(tasks)
    } catch (error) {
      this.#rollBack(tasks)
      return Promise.reject(error)
    }
    if (!isPromiseLike(written)) return Promise.resolve(admitted(tasks[0]!.submittedAt))
    return Promise.resolve(written).then(
      () => admitted(host.now()),
      (error: unknown) => {
        this.#rollBack(tasks)
        throw error
      },
    )
  }

  /**
   * Validates a submit and builds its task, or returns the handle its idempotency key names. A key
   * the pool does not know is looked up in the queue first (`looked`: done, `stored` its answer);
   * when that lookup is asynchronous, the submit goes on after it.
   */
  #acceptOrFind(
    payload: P,
    options: SubmitOptions,
    looked: boolean,
    stored?: KeyRecord,
  ): Task<P, R, C> | TaskHandle<R, C> | Promise<TaskHandle<R, C>> {
    const host = this.#parts
    if (host.pool.isClosed) throw new PoolClosedError(`Pool '${host.options.name}' is closed; the task was not accepted`)
    if (typeof options !== 'object' || options === null) throw new InvalidOptionError('Expected submit options to be an object', 'options')
    const now = host.now()
    const key = optionalString(options.key, 'key')
    let print: string | undefined
    if (key !== undefined) {
      print = fingerprint(payload)
      const known = this.keys.get(key, now) ?? this.#endedFromStore(key, looked ? stored : undefined, now)
      if (known !== undefined) return sameKey(known, key, print)
      if (!looked) {
        const lookup = host.journal.findKey(key, now)
        if (isPromiseLike<KeyRecord | undefined>(lookup)) {
          return Promise.resolve(lookup).then((record) => {
            const found = this.#acceptOrFind(payload, options, true, record)
            return found instanceof Task ? this.#write([found], () => found.handle) : found
          })
        }
        const ended = this.#endedFromStore(key, lookup, now)
        if (ended !== undefined) return sameKey(ended, key, print)
      }
    }
    const parsed = parseSubmit(payload, options, host.options.submit, now)
    const cost = this.costs.of(options.cost)
    makeRoom(this.#room, parsed.rank, cost.vector)
    return this.#newTask(payload, parsed, cost, key, print, now)
  }

  /** A stored key record of an ended task, remembered as such; undefined for none (or a live one). */
  #endedFromStore(key: string, record: KeyRecord | undefined, now: number): EndedTask<R, C> | undefined {
    if (record?.status === undefined) return undefined
    const host = this.#parts
    const ended = new EndedTask<R, C>({ ...record, status: record.status }, (id) => host.journal.mailbox.findByTask(id))
    this.keys.ended(key, ended, record.retainUntil ?? now + host.options.keyRetentionMs)
    return ended
  }

  #newTask(payload: P, parsed: ParsedSubmit, cost: Cost, key: string | undefined, print: string | undefined, now: number): Task<P, R, C> {
    const host = this.#parts
    const { rank, tenant, maxAttempts, mailbox, handler, waitDeadline, runTimeoutMs, signal } = parsed
    const rare = rareOptions(
      { tenant, maxAttempts, mailbox, key, fingerprint: print, handler, waitDeadline, runTimeoutMs },
      host.options.submit.maxAttempts,
    )
    const task = new Task<P, R, C>(host.pool, undefined, ++this.seq, payload, cost.object, cost.vector, rank, now, 0, rare)
    if (key !== undefined) this.keys.set(key, task as Keyed<R, C>)
    host.fair?.activate(tenant, now)
    this.admitting++
    if (signal !== undefined) {
      const onAbort = (): void => host.cancel(task, signal.reason)
      signal.addEventListener('abort', onAbort, { once: true })
      task.detachSignal = () => signal.removeEventListener('abort', onAbort)
    }
    return task
  }

  /** Tasks whose durable write failed were never accepted. */
  #rollBack(tasks: readonly Task<P, R, C>[]): void {
    for (const task of tasks) {
      this.admitting--
      if (task.key !== undefined) this.keys.delete(task.key, task as Keyed<R, C>)
      task.detachSignal?.()
      this.#parts.fair?.deactivate(task.tenant)
      task.status = 'cancelled'
    }
  }
}
