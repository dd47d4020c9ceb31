/*
 * Task costs as the ledger counts them. A cost is validated against the capacity once, at
 * submit; tasks submitted without one share one vector and one frozen object (made once per
 * capacity), and an explicit cost's object is made only if someone reads it.
 */
import type { CapacityLedger, CostInput, CostVector, ResourceVector } from './capacity.js'

export interface Cost {
  readonly vector: CostVector
  readonly object: ResourceVector | undefined
}

export class CostTable {
  #default: Cost | undefined

  constructor(
    readonly ledger: CapacityLedger,
    /** Units every task adds (a worker slot). */
    readonly perTask: ResourceVector | undefined,
  ) {}

  /** Validates a cost against the capacity (typed errors name what is wrong). */
  of(input: CostInput | undefined): Cost {
    if (input === undefined && this.#default !== undefined) return this.#default
    const vector = this.ledger.toVector(input, this.perTask)
    if (input !== undefined) return { vector, object: undefined }
    this.#default = { vector, object: this.object(vector) }
    return this.#default
  }

  /** The capacity changed: the default cost is checked again on next use. */
  reset(): void {
    this.#default = undefined
  }

  /** The cost of tasks submitted without one, once one was. */
  get defaultCost(): Cost | undefined {
    return this.#default
  }

  /** A cost vector as a frozen object. */
  object(vector: CostVector): ResourceVector {
    return Object.freeze(this.ledger.toObject(vector))
  }
}
