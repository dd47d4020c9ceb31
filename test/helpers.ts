import { flushPromises } from '../src/core/clock.js'
import { ManualClock, ResourcePool, type PoolOptions, type TaskContext } from '../src/index.js'

export { flushPromises }

/** A started attempt the test settles by hand. */
export interface Started<P> {
  readonly payload: P
  readonly ctx: TaskContext
  resolve(value: unknown): void
  reject(error: unknown): void
}

/** An executor whose attempts stay running until the test settles them. */
export class ControlledExecutor<P> {
  readonly started: Started<P>[] = []
  readonly running = new Set<Started<P>>()

  readonly execute = (payload: P, ctx: TaskContext): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const entry: Started<P> = {
        payload,
        ctx,
        resolve: (value) => {
          this.running.delete(entry)
          resolve(value)
        },
        reject: (error) => {
          this.running.delete(entry)
          reject(error)
        },
      }
      this.started.push(entry)
      this.running.add(entry)
    })

  /** Payloads in start order. */
  get order(): P[] {
    return this.started.map((s) => s.payload)
  }

  find(payload: P): Started<P> {
    const found = [...this.running].find((s) => s.payload === payload)
    if (found === undefined) throw new Error(`${String(payload)} is not running`)
    return found
  }

  async finish(payload: P, value: unknown = payload): Promise<void> {
    this.find(payload).resolve(value)
    await flushPromises()
  }

  async fail(payload: P, error: unknown): Promise<void> {
    this.find(payload).reject(error)
    await flushPromises()
  }
}

/** A pool on a ManualClock with a controlled executor. */
export function controlledPool<P = string>(
  options: Omit<PoolOptions<P, unknown>, 'executor' | 'clock'> & { clock?: ManualClock },
): { pool: ResourcePool<P, unknown>; jobs: ControlledExecutor<P>; clock: ManualClock } {
  const clock = options.clock ?? new ManualClock(1_000_000)
  const jobs = new ControlledExecutor<P>()
  const pool = new ResourcePool<P, unknown>({ ...options, clock, executor: jobs.execute })
  return { pool, jobs, clock }
}

/** Resolves to the settled state of a promise without throwing. */
export async function settled<T>(promise: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  try {
    return { ok: true, value: await promise }
  } catch (error) {
    return { ok: false, error }
  }
}
