import { CostExceedsCapacityError, InvalidCostError, InvalidOptionError } from './errors.js'
import { describeValue, refuse } from './validate.js'

/** Named resources and how many units of each, e.g. `{ vram: 20, cpu: 4 }`. */
export type ResourceVector = Readonly<Record<string, number>>

/** A capacity: a plain number `n` means `{ slots: n }`. */
export type CapacityInput = number | ResourceVector

/** A cost: a plain number `n` means `{ slots: n }`; omitted means `{ slots: 1 }` on a slots pool. */
export type CostInput = number | ResourceVector

/** The resource a plain-number capacity or cost counts. */
export const SLOTS = 'slots'

// Costs are often fractions (0.5 of a GPU); sums of fractions drift, so comparisons allow this.
const EPSILON = 1e-9

function isFiniteNonNegative(value: unknown): value is number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0
}

/** Units per resource, indexed by the ledger's resource order (plain arrays allocate faster than typed ones). */
export type CostVector = number[]

/**
 * Resource accounting for one pool. Vectors are arrays indexed by resource; a resource
 * index never changes once assigned, so vectors made before a `setCapacity` stay valid (entries
 * past their length are 0).
 *
 * Invariant kept by the pool: a task is acquired only when `fits` said yes at that moment, so
 * `used` never exceeds `capacity` through starts (it can through a shrink, which only holds starts).
 */
export class CapacityLedger {
  readonly #index = new Map<string, number>()
  #names: string[] = []
  #capacity = new Float64Array(0)
  #used = new Float64Array(0)
  /** Per resource: 1 for a rate (its units come back with time, see rates.ts, not when a task ends). */
  #refilling: number[] = []
  /** Validated vectors by a key packing up to four small whole-unit components; read-only. */
  readonly #vectors = new Map<number, CostVector>()

  /**
   * @param elastic resources a runtime grows and shrinks as it goes (worker slots that tabs
   *   register): a cost is never refused for exceeding their capacity of the moment, it waits.
   */
  constructor(
    capacity: CapacityInput,
    readonly elastic: ReadonlySet<string> = new Set(),
  ) {
    this.set(capacity)
  }

  /** Validates and applies a new capacity. Resources left out drop to 0. */
  set(input: CapacityInput): void {
    const capacity = normalizeCapacity(input, this.elastic)
    for (const name of Object.keys(capacity)) this.#indexOf(name)
    const next = new Float64Array(this.#names.length)
    for (const [name, units] of Object.entries(capacity)) next[this.#index.get(name)!] = units
    this.#capacity = next
    this.#vectors.clear() // cached vectors were checked against the old capacity
  }

  has(resource: string): boolean {
    const i = this.#index.get(resource)
    return i !== undefined && this.#capacity[i]! > 0
  }

  /**
   * Validates a cost against this capacity and turns it into a vector.
   * @param implicit units every task also costs (a worker slot), added to what the caller gave
   */
  toVector(input: CostInput | undefined, implicit?: ResourceVector): CostVector {
    if (implicit === undefined && typeof input === 'object' && input !== null && !Array.isArray(input)) {
      return this.#objectToVector(input)
    }
    return this.#objectToVector(normalizeCost(input, this.has(SLOTS), implicit))
  }

  /**
   * The common case, a plain object with no implicit cost, without intermediate objects. Small
   * whole-unit costs over up to four resources come from a cache: thousands of parked tasks then
   * share a handful of vectors instead of holding one each.
   */
  #objectToVector(input: ResourceVector): CostVector {
    // First pass: validate and pack a cache key, allocating nothing.
    let total = 0
    let cacheKey = 0
    for (const name in input) {
      const units = input[name]
      if (typeof units !== 'number' || !(units >= 0) || units === Infinity) badCost(`cost.${name}`, 'a finite number >= 0', units)
      if (units === 0) continue
      const i = this.#index.get(name)
      const limit = i === undefined ? 0 : this.#capacity[i]!
      if (units > limit + EPSILON && !this.elastic.has(name)) {
        throw new CostExceedsCapacityError(`Cost \`${name}: ${units}\` can never fit: the pool has ${limit}`, name, units, limit)
      }
      total += units
      cacheKey = cacheKey >= 0 && i! < 4 && units < 4096 && Number.isInteger(units) ? cacheKey + units * 4096 ** i! : -1
    }
    if (total === 0) throw new InvalidCostError('Expected a cost above 0 in some resource: a free task would run unbounded')
    if (cacheKey >= 0) {
      const cached = this.#vectors.get(cacheKey)
      if (cached !== undefined) return cached
    }
    const vector: CostVector = new Array<number>(this.#names.length).fill(0)
    for (const name in input) {
      const units = input[name]!
      if (units !== 0) vector[this.#index.get(name)!] = units
    }
    if (cacheKey >= 0) {
      if (this.#vectors.size >= 4096) this.#vectors.clear()
      this.#vectors.set(cacheKey, vector)
    }
    return vector
  }

  /** The vector as a plain object (for handles, messages and records). */
  toObject(vector: CostVector): Record<string, number> {
    const out: Record<string, number> = {}
    for (let i = 0; i < vector.length; i++) if (vector[i] !== 0) out[this.#names[i]!] = vector[i]!
    return out
  }

  /** Whether `cost` fits beside what is used, and beside `reserved` when given. */
  fits(cost: CostVector, reserved?: CostVector): boolean {
    const capacity = this.#capacity
    const used = this.#used
    for (let i = 0; i < capacity.length; i++) {
      let need = used[i]! + (i < cost.length ? cost[i]! : 0)
      if (reserved !== undefined && i < reserved.length) need += reserved[i]!
      if (need > capacity[i]! + EPSILON) return false
    }
    return true
  }

  acquire(cost: CostVector): void {
    if (this.#used.length < this.#names.length) this.#used = grow(this.#used, this.#names.length)
    for (let i = 0; i < cost.length; i++) this.#used[i]! += cost[i]!
  }

  release(cost: CostVector): void {
    const used = this.#used
    const refilling = this.#refilling
    for (let i = 0; i < cost.length; i++) {
      if (refilling[i] === 1) continue
      const left = used[i]! - cost[i]!
      used[i] = left < EPSILON ? 0 : left
    }
  }

  /** Makes `resource` a rate: `release` keeps its units, `refill` gives them back. Returns its index. */
  refills(resource: string): number {
    const i = this.#indexOf(resource)
    this.#refilling[i] = 1
    return i
  }

  /** A rate's draw leaves the window. */
  refill(index: number, units: number): void {
    const left = this.#used[index]! - units
    this.#used[index] = left < EPSILON ? 0 : left
  }

  /** Whether no resource is free at all: then no task (every task costs something) can start. */
  isExhausted(reserved?: CostVector): boolean {
    for (let i = 0; i < this.#capacity.length; i++) {
      const r = reserved !== undefined && i < reserved.length ? reserved[i]! : 0
      if (this.#capacity[i]! - this.#used[i]! - r > EPSILON) return false
    }
    return true
  }

  /**
   * The task's share of the pool: its largest fraction of any resource (dominant share).
   * Fair share charges tenants this times run time, so units of different resources compare.
   */
  dominantShare(cost: CostVector): number {
    let share = 0
    for (let i = 0; i < cost.length; i++) {
      const cap = this.#capacity[i]!
      if (cost[i]! > 0 && cap > 0) share = Math.max(share, cost[i]! / cap)
    }
    return share
  }

  capacityObject(): Record<string, number> {
    const out: Record<string, number> = {}
    for (let i = 0; i < this.#names.length; i++) out[this.#names[i]!] = this.#capacity[i]!
    return out
  }

  usedObject(): Record<string, number> {
    const out: Record<string, number> = {}
    for (let i = 0; i < this.#names.length; i++) out[this.#names[i]!] = this.#used[i] ?? 0
    return out
  }

  #indexOf(name: string): number {
    let i = this.#index.get(name)
    if (i === undefined) {
      i = this.#names.length
      this.#index.set(name, i)
      this.#names = [...this.#names, name]
      this.#used = grow(this.#used, this.#names.length)
    }
    return i
  }
}

function grow(vector: Float64Array, length: number): Float64Array<ArrayBuffer> {
  const next = new Float64Array(length)
  next.set(vector)
  return next
}

/**
 * A capacity checked: a number (slots) or an object of resource units, each finite and >= 0, and
 * above 0 unless the resource is elastic (a pool where no task could ever start is a mistake).
 */
export function normalizeCapacity(input: unknown, elastic: ReadonlySet<string> = new Set(), path = 'capacity'): Record<string, number> {
  const given = typeof input === 'number' ? { [SLOTS]: input } : input
  if (typeof given !== 'object' || given === null || Array.isArray(given)) refuse(path, 'a number or an object of resource units', input)
  const out: Record<string, number> = {}
  for (const [name, units] of Object.entries(given)) {
    const at = typeof input === 'number' ? path : `${path}.${name}`
    if (!isFiniteNonNegative(units)) refuse(at, 'a finite number >= 0', units)
    if (units === 0 && !elastic.has(name)) {
      throw new InvalidOptionError(
        `Expected \`${at}\` to be above 0: nothing needing \`${name}\` could start (unless it is in \`elasticResources\`)`,
        at,
      )
    }
    out[name] = units
  }
  if (Object.keys(out).length === 0) throw new InvalidOptionError(`Expected \`${path}\` to name at least one resource`, path)
  return out
}

/** A cost as an object of units: a number is `slots`; none is one slot (a slots pool) or nothing; `implicit` added on top. */
function normalizeCost(input: CostInput | undefined, hasSlots: boolean, implicit: ResourceVector | undefined): Record<string, number> {
  if (input === undefined && !hasSlots && implicit === undefined) {
    throw new InvalidCostError('Expected a `cost`: a pool of named resources has no default cost')
  }
  const given: unknown = input === undefined ? (hasSlots ? { [SLOTS]: 1 } : {}) : typeof input === 'number' ? { [SLOTS]: input } : input
  if (typeof given !== 'object' || given === null || Array.isArray(given)) badCost('cost', 'a number or an object of resource units', input)
  const cost: Record<string, number> = {}
  // Each given unit is checked before the implicit ones are added: -1 plus 1 must not pass as 0.
  for (const [name, units] of Object.entries(given)) {
    if (!isFiniteNonNegative(units)) badCost(typeof input === 'number' ? 'cost' : `cost.${name}`, 'a finite number >= 0', units)
    cost[name] = units
  }
  for (const [name, units] of Object.entries(implicit ?? {})) cost[name] = (cost[name] ?? 0) + units
  return cost
}

function badCost(path: string, what: string, value: unknown): never {
  throw new InvalidCostError(`Expected \`${path}\` to be ${what}, got ${describeValue(value)}`)
}
