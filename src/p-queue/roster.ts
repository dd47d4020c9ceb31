/** What a roster needs of an item: which roster holds it now. */
export interface Listed<T extends Listed<T>> {
  roster: Roster<T> | undefined
}

/**
 * An insertion-ordered set that is cheap at the sizes a queue reaches (hundreds of thousands of
 * waiting tasks): add is a push, delete marks the item (it names another roster or none) and the
 * list is compacted once most of it is gone. A `Set` costs several times more per task there.
 * An item joins a roster at most once (a task waits, then runs, then ends): a stale entry of a
 * deleted item would otherwise be listed again when it came back.
 */
export class Roster<T extends Listed<T>> {
  #items: T[] = []
  #size = 0

  get size(): number {
    return this.#size
  }

  add(item: T): void {
    item.roster = this
    this.#items.push(item)
    this.#size++
  }

  /** Takes the item out if it is here; true if it was. */
  delete(item: T): boolean {
    if (item.roster !== this) return false
    item.roster = undefined
    this.#size--
    if (this.#size === 0) this.#items = []
    else if (this.#items.length > 64 && this.#items.length > 2 * this.#size)
      this.#items = this.#items.filter((other) => other.roster === this)
    return true
  }

  has(item: T): boolean {
    return item.roster === this
  }

  clear(): void {
    for (const item of this.#items) if (item.roster === this) item.roster = undefined
    this.#items = []
    this.#size = 0
  }

  *[Symbol.iterator](): IterableIterator<T> {
    for (const item of this.#items) if (item.roster === this) yield item
  }
}
