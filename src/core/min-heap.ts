/** A binary min-heap by a numeric key. Entries are removed lazily by their owner. */
export class MinHeap<T> {
  #items: { key: number; value: T }[] = []

  get size(): number {
    return this.#items.length
  }

  push(key: number, value: T): void {
    const items = this.#items
    items.push({ key, value })
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >> 1
      if (items[parent]!.key <= key) break
      items[i] = items[parent]!
      i = parent
    }
    items[i] = { key, value }
  }

  peekKey(): number | undefined {
    return this.#items[0]?.key
  }

  peek(): T | undefined {
    return this.#items[0]?.value
  }

  pop(): T | undefined {
    const items = this.#items
    const top = items[0]
    if (top === undefined) return undefined
    const last = items.pop()!
    if (items.length > 0) {
      // Sift `last` down from the root: while a child is smaller, the smaller child moves up.
      let i = 0
      for (let child = 1; child < items.length; child = 2 * i + 1) {
        if (child + 1 < items.length && items[child + 1]!.key < items[child]!.key) child++
        if (items[child]!.key >= last.key) break
        items[i] = items[child]!
        i = child
      }
      items[i] = last
    }
    return top.value
  }

  /** Keeps only the entries `keep` says yes to (a rebuild, O(n)). */
  retain(keep: (value: T) => boolean): void {
    const kept = this.#items.filter((item) => keep(item.value))
    this.#items = []
    for (const item of kept) this.push(item.key, item.value)
  }
}
