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

const isWaiting = (task: Watched): boolean => task.status === 'parked' || task.status === 'retrying'

export class DeadlineWatch<T extends Watched> {
  readonly #heap = new MinHeap<T>()
  readonly #clock: Clock
  readonly #onDue: () => void
  #timer: TimerHandle | undefined
  #timerAt = Infinity
  /** Heap size after the last rebuild: the next one comes when it has doubled. */
  #rebuiltAt = 0

  /** `onDue` runs when the earliest deadline is reached; it takes the due tasks with `takeDue`. */
  constructor(clock: Clock, onDue: () => void) {
    this.#clock = clock
    this.#onDue = onDue
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

  /** Removes and returns the tasks still waiting whose deadline is at or before `now`. */
  takeDue(now: number): T[] {
    this.#timer = undefined
    this.#timerAt = Infinity
    const due: T[] = []
    while ((this.#heap.peekKey() ?? Infinity) <= now) {
      const task = this.#heap.pop()!
      if (isWaiting(task)) due.push(task)
    }
    return due
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
    if (next !== Infinity) this.#timer = this.#clock.setTimeout(this.#onDue, next - this.#clock.now())
  }

  stop(): void {
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer)
    this.#timer = undefined
    this.#timerAt = Infinity
  }
}
