import { Mailbox } from './core/mailbox.js'
import type { PoolOptions } from './core/options.js'
import { MADE_HERE, Scheduler, type SchedulerParts } from './core/scheduler.js'
import { MemoryMailboxStore } from './mailbox/memory.js'
import { EphemeralQueue } from './queue/ephemeral.js'

/** @internal The in-memory queue and mailbox a pool uses when none is given. */
export function defaultParts<P, R, C>(options: PoolOptions<P, R, C>): SchedulerParts<P, R> {
  return {
    queue: options?.queue ?? new EphemeralQueue<P>(),
    mailbox: options?.mailbox ?? new Mailbox<R>({ store: new MemoryMailboxStore<R>(), clock: options?.clock }),
    ownsMailbox: options?.mailbox === undefined,
  }
}

/**
 * A pool of scarce capacity. Tasks declare a cost; one that does not fit parks in a priority
 * queue (the lot) and starts when capacity frees. `P` is the payload type, `R` the result type,
 * `C` the type of the progress chunks its executor emits.
 *
 * @example
 * const pool = new ResourcePool<Job, string>({ capacity: { vram: 20 }, executor: runJob })
 * const task = await pool.submit(job, { cost: { vram: 5 }, priority: 'high' })
 * const text = await task.result
 */
export class ResourcePool<P = unknown, R = unknown, C = unknown> extends Scheduler<P, R, C> {
  constructor(options: PoolOptions<P, R, C>) {
    super(MADE_HERE, options, defaultParts(options))
  }
}
