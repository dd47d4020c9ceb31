/*
 * p-queue's `PriorityQueue`, for code that uses it on its own or names it as `queueClass`. A
 * `PQueue` orders its tasks in the pool, not in this class: it accepts this class (the default) as
 * `queueClass` and refuses any other.
 */

/** What `enqueue` takes, as p-queue's `QueueAddOptions` minus the task options. */
export interface PriorityQueueOptions {
  readonly priority?: number
  readonly id?: string
}

/** p-queue's queue contract (`queueClass`). */
export interface Queue<Element, Options> {
  size: number
  filter: (options: Readonly<Partial<Options>>) => Element[]
  dequeue: () => Element | undefined
  enqueue: (run: Element, options?: Partial<Options>) => void
  setPriority: (id: string, priority: number) => void
  remove?: (id: string) => void
}

export type RunFunction = () => Promise<unknown>

interface Element {
  readonly priority: number
  readonly id: string | undefined
  readonly run: RunFunction
}

/** Runs by priority, higher first, FIFO within one priority. */
export class PriorityQueue implements Queue<RunFunction, PriorityQueueOptions> {
  #queue: Element[] = []

  enqueue(run: RunFunction, options?: Partial<PriorityQueueOptions>): void {
    const element: Element = { priority: options?.priority ?? 0, id: options?.id, run }
    // As p-queue's: at the tail when the tail's priority is not lower (FIFO among equals), else
    // after every element whose priority is not lower (so a NaN lands where p-queue puts it).
    const queue = this.#queue
    if (queue.length === 0 || queue[queue.length - 1]!.priority >= element.priority) {
      queue.push(element)
      return
    }
    let lo = 0
    let hi = queue.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (element.priority - queue[mid]!.priority <= 0) lo = mid + 1
      else hi = mid
    }
    queue.splice(lo, 0, element)
  }

  /** Moves the first element with this id behind the others of its new priority. */
  setPriority(id: string, priority: number): void {
    const index = this.#queue.findIndex((element) => element.id === id)
    if (index === -1) throw new ReferenceError(`No promise function with the id "${id}" exists in the queue.`)
    const [element] = this.#queue.splice(index, 1)
    this.enqueue(element!.run, { priority, id })
  }

  /** Removes the first element with this id (a string) or this run function; nothing if none. */
  remove(idOrRun: string | RunFunction): void {
    const index = this.#queue.findIndex((element) => (typeof idOrRun === 'string' ? element.id === idOrRun : element.run === idOrRun))
    if (index !== -1) this.#queue.splice(index, 1)
  }

  dequeue(): RunFunction | undefined {
    return this.#queue.shift()?.run
  }

  filter(options: Readonly<Partial<PriorityQueueOptions>>): RunFunction[] {
    return this.#queue.filter((element) => element.priority === options.priority).map((element) => element.run)
  }

  get size(): number {
    return this.#queue.length
  }
}
