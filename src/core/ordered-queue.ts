/** What the queue needs of an item: its arrival order and whether it is still in the queue. */
export interface Sequenced {
  readonly seq: number
  inLot: boolean
}

/** Binary search: the index of the first item from `lo` on whose `seq` is above `seq`, in items sorted by `seq`. */
export function firstAfter(items: readonly { readonly seq: number }[], lo: number, seq: number): number {
  let hi = items.length
  while (lo < hi) {
    const mid = (lo + hi) >>> 1
    if (items[mid]!.seq <= seq) lo = mid + 1
    else hi = mid
  }
  return lo
}

/**
 * A FIFO ordered by `seq`, with O(1) push at the back and pop at the front, and O(1) removal
 * anywhere by tombstone (the item's `inLot` flag turns false; the slot is skipped and later
 * compacted). A retry re-enters at its original place by binary search.
 */
export class OrderedQueue<T extends Sequenced> {
  #items: T[] = []
  #head = 0
  #live = 0

  get size(): number {
    return this.#live
  }

  push(item: T): void {
    const items = this.#items
    item.inLot = true
    this.#live++
    if (items.length === this.#head || items[items.length - 1]!.seq < item.seq) {
      items.push(item)
      return
    }
    const at = firstAfter(items, this.#head, item.seq)
    // Its own tombstone (it left and came back, a retry): the slot is live again; one slot per item.
    if (at > this.#head && items[at - 1] === item) return
    items.splice(at, 0, item)
  }

  /** The first live item, dropping tombstones in front of it. */
  peek(): T | undefined {
    const items = this.#items
    while (this.#head < items.length) {
      const item = items[this.#head]!
      if (item.inLot) return item
      this.#head++
    }
    this.#compact()
    return undefined
  }

  /** Marks an item removed. The caller guarantees it is in this queue. */
  remove(item: T): void {
    item.inLot = false
    this.#live--
    if (this.#live === 0) {
      this.#items = []
      this.#head = 0
    } else if (this.#items.length - this.#head > 64 && this.#live * 2 < this.#items.length - this.#head) {
      this.#compact()
    }
  }

  /** Takes an item out for good (it will come back with another `seq`). The caller guarantees it is in this queue. */
  delete(item: T): void {
    const items = this.#items
    let i = firstAfter(items, this.#head, item.seq) - 1
    while (items[i] !== item) i--
    items.splice(i, 1)
    item.inLot = false
    this.#live--
  }

  /** The last live item (newest). */
  last(): T | undefined {
    for (let i = this.#items.length - 1; i >= this.#head; i--) {
      const item = this.#items[i]!
      if (item.inLot) return item
    }
    return undefined
  }

  *[Symbol.iterator](): IterableIterator<T> {
    const items = this.#items
    for (let i = this.#head; i < items.length; i++) {
      const item = items[i]!
      if (item.inLot) yield item
    }
  }

  #compact(): void {
    this.#items = this.#items.filter((item, i) => i >= this.#head && item.inLot)
    this.#head = 0
  }
}
