import { Mailbox } from './core/mailbox.js'
import type { PoolOptions } from './core/options.js'
import { Scheduler } from './core/scheduler.js'
import { MemoryMailboxStore } from './mailbox/memory.js'
import { MemoryQueue } from './queue/memory.js'

/**
 * A pool of scarce capacity. Tasks declare a cost; one that does not fit parks in a priority
 * queue (the lot) and starts when capacity frees.
 *
 * @example
 * const pool = new ResourcePool<Job, string>({ capacity: { vram: 20 }, executor: runJob })
 * const task = await pool.submit(job, { cost: { vram: 5 }, priority: 'high' })
 * const text = await task.result
 */
export class ResourcePool<P = unknown, R = unknown> extends Scheduler<P, R> {
  constructor(options: PoolOptions<P, R>) {
    super(options, {
      queue: options?.queue ?? new MemoryQueue<P>(),
      mailbox: options?.mailbox ?? new Mailbox<R>({ store: new MemoryMailboxStore<R>(), clock: options?.clock }),
    })
  }
}
