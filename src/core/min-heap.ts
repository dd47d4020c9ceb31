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
      let i = 0
      for (;;) {
        const left = 2 * i + 1
        const right = left + 1
        let smallest = i
        const smallestKey = (j: number): number => (j === i ? last.key : items[j]!.key)
        if (left < items.length && items[left]!.key < smallestKey(smallest)) smallest = left
        if (right < items.length && items[right]!.key < smallestKey(smallest)) smallest = right
        if (smallest === i) break
        items[i] = items[smallest]!
        i = smallest
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
