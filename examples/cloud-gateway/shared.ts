// What the gateway and its workers agree on: the queue and mailbox names, the job, the pool.
import pg from 'pg'
import { Mailbox, ResourcePool, type ExecutorFunction } from '../../src/index.js'
import { PostgresMailboxStore, PostgresQueue } from '../../src/postgres/index.js'

export const QUEUE = 'gateway_jobs'
export const MAILBOX = 'gateway_mailbox'

/** A generation request: the "model" streams the prompt's words back, one token per `tokenMs`. */
export interface Job {
  readonly prompt: string
  readonly tokenMs: number
}

/** A pool on the shared queue and mailbox. The gateway's runs nothing (paused); the workers' run jobs. */
export function sharedPool(
  connections: pg.Pool,
  name: string,
  capacity: Record<string, number>,
  executor: ExecutorFunction<Job, string, string>,
): ResourcePool<Job, string, string> {
  return new ResourcePool<Job, string, string>({
    name,
    capacity,
    leaseMs: 5_000,
    queue: new PostgresQueue<Job>(connections, { name: QUEUE }),
    mailbox: new Mailbox({ store: new PostgresMailboxStore<string>(connections, { name: MAILBOX }) }),
    executor,
  })
}
