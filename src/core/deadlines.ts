/*
 * Wait limits: every parked or retrying task with a deadline is in a min-heap by deadline, and
 * one clock timer is armed for the earliest. Entries of tasks that started or ended meanwhile are
 * dropped lazily: when they reach the top, and in a rebuild once they outnumber the live ones, so
 * tasks that start long before their deadline do not pile up here.
 */
import type { Clock, TimerHandle } from './clock.js'
import { MinHeap } from './min-heap.js'
import type { TaskStatus } from './types.js'

interface Watched {
  readonly waitDeadline: number | undefined
  readonly status: TaskStatus
}

/** Parked or retrying: waiting to start. */
export const isWaiting = (task: Watched): boolean => task.status === 'parked' || task.status === 'retrying'

export class DeadlineWatch<T extends Watched> {
  readonly #heap = new MinHeap<T>()
  readonly #clock: Clock
  readonly #expire: (task: T, now: number) => void
  readonly #afterExpiry: () => void
  #timer: TimerHandle | undefined
  #timerAt = Infinity
  /** Heap size after the last rebuild: the next one comes when it has doubled. */
  #rebuiltAt = 0

  /** `expire` ends each task whose deadline came while it waited; `afterExpiry` runs once the due ones have ended. */
  constructor(clock: Clock, expire: (task: T, now: number) => void, afterExpiry: () => void) {
    this.#clock = clock
    this.#expire = expire
    this.#afterExpiry = afterExpiry
  }

  /** Watches a waiting task's deadline (it must have one). */
  watch(task: T): void {
    this.#heap.push(task.waitDeadline!, task)
    if (this.#heap.size > 1024 && this.#heap.size > 2 * this.#rebuiltAt) {
      this.#heap.retain(isWaiting)
      this.#rebuiltAt = this.#heap.size
    }
    this.arm()
  }

  /** The timer fired: expires the tasks still waiting whose deadline has come, then re-arms. */
  readonly #due = (): void => {
    this.#timer = undefined
    this.#timerAt = Infinity
    const now = this.#clock.now()
    // A set: a task watched again (after a failed attempt) may have two entries due at once.
    const due = new Set<T>()
    while ((this.#heap.peekKey() ?? Infinity) <= now) {
      const task = this.#heap.pop()!
      if (isWaiting(task)) due.add(task)
    }
    for (const task of due) this.#expire(task, now)
    this.arm()
    // Decisions happen at events, never at stale timers: a pass only when a task ended.
    if (due.size > 0) this.#afterExpiry()
  }

  /** Arms the timer for the earliest deadline of a task still waiting. */
  arm(): void {
    for (;;) {
      const top = this.#heap.peek()
      if (top === undefined || isWaiting(top)) break
      this.#heap.pop()
    }
    const next = this.#heap.peekKey() ?? Infinity
    if (next === this.#timerAt) return
    this.stop()
    this.#timerAt = next
    if (next !== Infinity) this.#timer = this.#clock.setTimeout(this.#due, next - this.#clock.now())
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Infinity
  }
}
