/** Units each test model holds while loaded (test/workers/model-handlers.ts); the tests declare the same costs to the pool. */
export const MODEL_UNITS: Readonly<Record<string, number>> = { small: 3, medium: 4, large: 5 }
export const CAPACITY = 8

/** What the `generate` handler of model-handlers.ts returns. */
export interface Generated {
  readonly model: string
  readonly instance: string
  readonly loadedIn: string
  readonly ranIn: string
  readonly oversubscribed: boolean
  readonly attempt: number
}
