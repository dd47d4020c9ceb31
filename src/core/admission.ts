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
import type { Cost } from './costs.js'
import { EndedTask } from './ended-task.js'
import { IdempotencyConflictError, InvalidOptionError, ParkingLotError, PoolClosedError } from './errors.js'
import type { FairShareLedger } from './fair-share.js'
import type { TaskHandle } from './handle.js'
import type { Journal } from './journal.js'
import type { Models } from './models.js'
import { IdempotencyKeys, lookUpKeys, sameKey } from './keys.js'
import type { SubmitItem, SubmitOptions } from './options.js'
import { fingerprint } from './fingerprint.js'
import type { KeyRecord } from './queue.js'
import { keyedInfo, type TaskRecord } from './record.js'
import { makeRoom, makeRoomForAll, type RoomRules } from './room.js'
import type { ResolvedPoolOptions } from './pool-options.js'
import { parseSubmit, type ParsedSubmit } from './submit.js'
import { Task, rareOptions, type TaskHost } from './task.js'
import { andThen, isPromiseLike, type MaybePromise, type TerminalStatus } from './types.js'
import { optionalString, refuse } from './validate.js'

type Keyed<R, C> = Task<unknown, R, C> | EndedTask<R, C>

/** What admission works with: the pool's options, its journal, ledger and lot, and a few hooks. */
export interface AdmissionParts<P, R, C> extends RoomRules<Task<P, R, C>> {
  readonly options: ResolvedPoolOptions<P, R, C>
  readonly journal: Journal<P, R>
  readonly fair: FairShareLedger | undefined
  readonly models: Models | undefined
  /** What the pool's tasks see of it. */
  readonly tasks: TaskHost<C>
  isClosed(): boolean
  /** The tasks are durably accepted: they enter the lot. */
  admit(tasks: readonly Task<P, R, C>[], now: number): void
}

/** A submit that makes a new task, checked; `task` once made. */
interface Plan<P, R, C> {
  readonly payload: P
  readonly parsed: ParsedSubmit
  readonly cost: Cost
  readonly key: string | undefined
  readonly print: string | undefined
  task: Task<P, R, C> | undefined
}

const isPlan = <P, R, C>(plan: Plan<P, R, C> | TaskHandle<R, C>): plan is Plan<P, R, C> => 'parsed' in plan

export class Admission<P, R, C> {
  /** Tasks accepted whose write is still in flight: they count as parked for room and idleness. */
  admitting = 0
  /** The last arrival number given (a recovered queue raises it). */
  seq = 0
  /**
   * Under fair share, tasks not due yet whose tenant is not active for them: a tenant becomes
   * active when its task is due (`wake`), so a delay cannot bank it credit at its old usage.
   */
  readonly dormant = new WeakSet<Task<P, R, C>>()
  readonly keys = new IdempotencyKeys<Keyed<R, C>>()
  readonly #parts: AdmissionParts<P, R, C>

  constructor(parts: AdmissionParts<P, R, C>) {
    this.#parts = parts
  }

  /** A stored task back in memory: its arrival number, key and tenant are known again. Throws if its cost no longer fits. */
  recovered(record: TaskRecord<P>, now: number): Task<P, R, C> {
    this.seq = Math.max(this.seq, record.seq)
    const vector = this.#parts.ledger.toVector(record.cost)
    this.#checkModel(record.model, vector)
    const task = Task.fromRecord<P, R, C>(this.#parts.tasks, record, vector)
    task.parkedAt = now
    if (record.key !== undefined) this.keys.set(record.key, task as Keyed<R, C>)
    this.#activate(task, now)
    return task
  }

  /** Its tenant is active from now, or (a delayed task under fair share) from when it is due. */
  #activate(task: Task<P, R, C>, now: number): void {
    const fair = this.#parts.fair
    if (fair === undefined) return
    if (task.notBefore !== undefined && task.notBefore > now) this.dormant.add(task)
    else fair.activate(task.tenant, now)
  }

  /** A dormant task is due (or runs elsewhere): its tenant is active from now. */
  wake(task: Task<P, R, C>, now: number): void {
    if (this.dormant.delete(task)) this.#parts.fair?.activate(task.tenant, now)
  }

  /** A task ended or left: its tenant is no longer active for it. */
  deactivate(task: Task<P, R, C>): void {
    const fair = this.#parts.fair
    if (fair !== undefined && !this.dormant.delete(task)) fair.deactivate(task.tenant)
  }

  /**
   * The task ended: its key is remembered for the retention, with its outcome but not its payload
   * or chunks (a later submit of the key gets how it ended; the task's own handle keeps all).
   */
  ended(task: Task<P, R, C>, now: number): void {
    const key = task.key
    if (key === undefined || task.outcome === undefined || task.status === 'detached') return
    const ended = new EndedTask<R, C>(task.id, key, task.fingerprint, task.status as TerminalStatus, keyedInfo(task), task.outcome)
    this.keys.ended(key, ended, now + this.#parts.options.keyRetentionMs)
  }

  /**
   * A submit: the handle at once when the queue's write answers at once (memory), else a promise
   * of it. A refusal throws (or rejects, after a lookup in the queue).
   */
  accept(payload: P, options: SubmitOptions): MaybePromise<TaskHandle<R, C>> {
    const host = this.#parts
    const key = options?.key
    if (typeof key !== 'string') return this.#submitOne(payload, options, undefined)
    // A key the pool does not know is looked up in the queue first (a task of before a restart).
    const now = host.options.clock.now()
    const stored = this.keys.get(key, now) === undefined ? host.journal.findKey(key, now) : undefined
    return andThen(stored, (record) => this.#submitOne(payload, options, record))
  }

  #submitOne(payload: P, options: SubmitOptions, stored: KeyRecord | undefined): MaybePromise<TaskHandle<R, C>> {
    const now = this.#parts.options.clock.now()
    const plan = this.#check(payload, options, now, stored)
    if (!isPlan(plan)) return plan
    // A delayed task parks whatever is free, so it needs room.
    makeRoom(this.#parts, this.admitting, plan.parsed.rank, plan.parsed.notBefore === undefined ? plan.cost.vector : undefined)
    const task = this.#create(plan, now)
    return this.#write([task], () => task.handle)
  }

  async submitAll(items: readonly SubmitItem<P>[]): Promise<TaskHandle<R, C>[]> {
    const host = this.#parts
    if (!Array.isArray(items)) refuse('items', 'an array of { payload, options? }', items)
    const now = host.options.clock.now()
    const unknown = items
      .map((item) => item?.options?.key)
      .filter((key): key is string => typeof key === 'string' && this.keys.get(key, now) === undefined)
    const stored = await lookUpKeys(unknown, (key) => host.journal.findKey(key, now))
    // Every check first, with no change to the pool; then room for all; then the tasks.
    const plans: (Plan<P, R, C> | TaskHandle<R, C>)[] = []
    const fresh: Plan<P, R, C>[] = []
    const byKey = new Map<string, Plan<P, R, C>>()
    items.forEach((item, index) => {
      try {
        if (typeof item !== 'object' || item === null) refuse(`items[${index}]`, '{ payload, options? }', item)
        const key: unknown = item.options?.key
        const earlier = typeof key === 'string' ? byKey.get(key) : undefined
        if (earlier !== undefined) {
          // The same key twice in one batch: one task, if the payloads agree.
          if (earlier.print !== fingerprint(item.payload))
            throw new IdempotencyConflictError(
              `Idempotency key '${key}' is given twice in this batch with different payloads`,
              earlier.key!,
              '',
            )
          return plans.push(earlier)
        }
        const plan = this.#check(item.payload, item.options ?? {}, now, typeof key === 'string' ? stored.get(key) : undefined)
        if (isPlan(plan)) {
          fresh.push(plan)
          if (plan.key !== undefined) byKey.set(plan.key, plan)
        }
        plans.push(plan)
      } catch (error) {
        if (error instanceof ParkingLotError) error.message = `submitAll item ${index}: ${error.message}`
        throw error
      }
    })
    makeRoomForAll(this.#parts, this.admitting, this.#parking(fresh))
    const tasks = fresh.map((plan) => (plan.task = this.#create(plan, now)))
    if (tasks.length > 0) await this.#write(tasks, () => undefined)
    return plans.map((plan) => (isPlan(plan) ? plan.task!.handle : plan))
  }

  /** A submit checked, with no change to the pool: the handle its idempotency key names, or a plan for a new task. */
  #check(payload: P, options: SubmitOptions, now: number, stored: KeyRecord | undefined): Plan<P, R, C> | TaskHandle<R, C> {
    const host = this.#parts
    if (host.isClosed()) throw new PoolClosedError(`Pool '${host.options.name}' is closed; the task was not accepted`)
    if (typeof options !== 'object' || options === null) refuse('options', 'an object', options)
    const key = optionalString(options.key, 'key')
    const print = key === undefined ? undefined : fingerprint(payload)
    if (key !== undefined) {
      const known = this.keys.get(key, now) ?? this.#endedFromStore(key, stored, now)
      if (known !== undefined) return sameKey(known, key, print!)
    }
    const parsed = parseSubmit(payload, options, host.options.submit, now)
    const cost = host.tasks.costs.of(options.cost)
    this.#checkModel(parsed.model, cost.vector)
    return { payload, parsed, cost, key, print, task: undefined }
  }

  /** A task's model must be one the pool declares, and fit with the task's own cost. */
  #checkModel(model: string | undefined, vector: Cost['vector']): void {
    if (model === undefined) return
    const models = this.#parts.models
    if (models === undefined) throw new InvalidOptionError("`model` names one of the pool's `models`; this pool declares none", 'model')
    models.check(model, vector)
  }

  /**
   * The ranks of the batch's tasks that will park: all, but those that start at once (the lot is
   * empty and not paused: in start order, while each fits beside those before it; never a
   * delayed one).
   */
  #parking(plans: readonly Plan<P, R, C>[]): number[] {
    const host = this.#parts
    const inOrder = plans.filter((plan) => plan.parsed.notBefore === undefined).sort((a, b) => b.parsed.rank - a.parsed.rank)
    let starting = 0
    if (host.lot.size + host.waitingElsewhere() + this.admitting === 0 && !host.isPaused()) {
      let taken: number[] = []
      for (const plan of inOrder) {
        const sum = plan.cost.vector.map((units, r) => units + (taken[r] ?? 0))
        if (!host.ledger.fits(sum)) break
        taken = sum
        starting++
      }
    }
    // Highest first, as makeRoomForAll pairs the last ones with victims.
    const delayed = plans.filter((plan) => plan.parsed.notBefore !== undefined)
    return [...inOrder.slice(starting), ...delayed].map((plan) => plan.parsed.rank).sort((a, b) => b - a)
  }

  /**
   * Writes accepted tasks (one durable write), then admits them and answers; rolls every one back
   * if the write fails. A write that answers at once (memory) admits at once: no promise waits.
   */
  #write<T>(tasks: Task<P, R, C>[], answer: () => T): MaybePromise<T> {
    const host = this.#parts
    const admitted = (now: number): T => {
      this.admitting -= tasks.length
      // Stored now: a cancel asked for meanwhile acts first (the task then ends without running).
      for (const task of tasks) task.onAdmitted?.()
      host.admit(tasks, now)
      return answer()
    }
    let written: MaybePromise<void>
    try {
      written = host.journal.accept(tasks)
    } catch (error) {
      this.#rollBack(tasks)
      throw error
    }
    if (!isPromiseLike(written)) return admitted(tasks[0]!.submittedAt)
    return Promise.resolve(written).then(
      () => admitted(host.options.clock.now()),
      (error: unknown) => {
        this.#rollBack(tasks)
        throw error
      },
    )
  }

  /** A stored key record of an ended task, remembered as such; undefined for none (or a live one). */
  #endedFromStore(key: string, record: KeyRecord | undefined, now: number): EndedTask<R, C> | undefined {
    if (record?.status === undefined) return undefined
    const host = this.#parts
    const ended = EndedTask.fromRecord<R, C>({ ...record, status: record.status }, (id) => host.journal.mailbox.findByTask(id))
    this.keys.ended(key, ended, record.retainUntil ?? now + host.options.keyRetentionMs)
    return ended
  }

  #create(plan: Plan<P, R, C>, now: number): Task<P, R, C> {
    const { payload, parsed, cost, key, print } = plan
    const host = this.#parts
    const { rank, signal } = parsed
    const rare = rareOptions(parsed, host.options.submit.maxAttempts, key, print)
    const task = new Task<P, R, C>(host.tasks, undefined, ++this.seq, payload, cost.object, cost.vector, rank, now, 0, rare)
    if (parsed.notBefore !== undefined) task.notBefore = task.delayedUntil = parsed.notBefore
    if (key !== undefined) this.keys.set(key, task as Keyed<R, C>)
    this.#activate(task, now)
    this.admitting++
    if (signal !== undefined) {
      // A cancel while the task's write is in flight waits for it: ending a task not yet stored
      // would write its end before its row.
      let admitted = false
      const onAbort = (): void => {
        if (admitted) host.tasks.cancelTask(task as Task<unknown, unknown, C>, signal.reason)
      }
      signal.addEventListener('abort', onAbort, { once: true })
      task.detachSignal = () => signal.removeEventListener('abort', onAbort)
      // The signal was not aborted when the submit was checked: aborted now, it was meanwhile.
      task.onAdmitted = () => {
        admitted = true
        if (signal.aborted) onAbort()
      }
    }
    return task
  }

  /** Tasks whose durable write failed were never accepted. */
  #rollBack(tasks: readonly Task<P, R, C>[]): void {
    for (const task of tasks) {
      this.admitting--
      if (task.key !== undefined) this.keys.delete(task.key, task as Keyed<R, C>)
      task.detachSignal?.()
      this.deactivate(task)
      task.status = 'cancelled'
    }
  }
}
