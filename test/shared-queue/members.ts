/*
 * A pool on a shared queue for the shared-queue tests (PostgresQueue, PgmqQueue): pools in one
 * process, each with its own connections, as processes would be. Its executor records what ran
 * and, from inside, the most units of each resource its running echo jobs held at once.
 */
import pg from 'pg'
import { afterEach } from 'vitest'
import { ResourcePool, type CostInput, type PolicyOptions, type TaskHandle, type TaskQueue } from '../../src/index.js'

export type Job =
  { readonly echo: string; readonly cost?: CostInput } | { readonly hold: string } | { readonly fail: number; readonly then: string }

export interface Member {
  readonly pool: ResourcePool<Job, string, string>
  /** Payloads this member ran, by attempt. */
  readonly ran: string[]
  /** The most units of each resource its running echo jobs held at once (from inside the executor). */
  readonly peak: Record<string, number>
  /** Lets the `hold` job with this tag finish (`'*'`: every one, those to come too). */
  release(tag: string): void
  /** Releases every hold, closes the pool and its connections. */
  dispose(): Promise<void>
}

export interface MemberOptions {
  readonly paused?: boolean
  readonly leaseMs?: number
  readonly maxQueueDepth?: number
  /** The queue's fallback poll. @default 200 */
  readonly pollMs?: number
  readonly policy?: PolicyOptions
}

export function sharedMember(
  queue: TaskQueue<Job>,
  name: string,
  capacity: Record<string, number>,
  options: MemberOptions,
  closeConnections: () => Promise<void>,
): Member {
  const held = new Map<string, () => void>()
  const released = new Set<string>()
  const ran: string[] = []
  const failures = new Map<number, number>()
  const peak: Record<string, number> = {}
  const using: Record<string, number> = {}
  const pool = new ResourcePool<Job, string, string>({
    name,
    capacity,
    queue,
    leaseMs: options.leaseMs ?? 3_000,
    ...(options.maxQueueDepth === undefined ? {} : { maxQueueDepth: options.maxQueueDepth }),
    ...(options.policy === undefined ? {} : { policy: options.policy }),
    retryBaseDelayMs: 10,
    retryMaxDelayMs: 10,
    executor: async (job, ctx) => {
      if ('echo' in job) {
        ran.push(job.echo)
        const cost = Object.entries((job.cost ?? {}) as Record<string, number>)
        for (const [r, units] of cost) {
          using[r] = (using[r] ?? 0) + units
          peak[r] = Math.max(peak[r] ?? 0, using[r])
        }
        ctx.emit(`chunk of ${job.echo}`)
        // Long enough that runs overlap.
        await new Promise((resolve) => setTimeout(resolve, 5))
        for (const [r, units] of cost) using[r]! -= units
        return job.echo
      }
      if ('fail' in job) {
        const seen = (failures.get(job.fail) ?? 0) + 1
        failures.set(job.fail, seen)
        ran.push(`fail ${job.fail} attempt ${ctx.attempt}`)
        if (seen <= job.fail) throw new Error(`failure ${seen}`)
        return job.then
      }
      ran.push(job.hold)
      ctx.emit(`holding ${job.hold}`)
      if (!released.has(job.hold) && !released.has('*')) {
        await new Promise<void>((resolve, reject) => {
          held.set(job.hold, resolve)
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason as Error))
        })
      }
      return job.hold
    },
  })
  if (options.paused === true) pool.pause()
  const release = (tag: string): void => {
    released.add(tag)
    if (tag === '*') for (const resolve of held.values()) resolve()
    held.get(tag)?.()
  }
  return {
    pool,
    ran,
    peak,
    release,
    async dispose() {
      release('*')
      await pool.close()
      await closeConnections()
    },
  }
}

export const progressOf = async (handle: TaskHandle<string, string>): Promise<string[]> => {
  const chunks: string[] = []
  for await (const chunk of handle.progress) chunks.push(chunk)
  return chunks
}

/**
 * `member(name, capacity, options)` for a test file: each pool on `queueOf(connections, name)`
 * with a pg.Pool of its own on `url()` (as another process would have), all closed after each test.
 */
export function membersOn(
  url: () => string,
  queueOf: (connections: pg.Pool, name: string, pollMs: number) => TaskQueue<Job>,
): (name: string, capacity: Record<string, number>, options?: MemberOptions) => Member {
  const members: Member[] = []
  afterEach(async () => {
    for (const member of members.splice(0)) await member.dispose()
  })
  return (name, capacity, options = {}) => {
    const connections = new pg.Pool({ connectionString: url(), max: 4 })
    const made = sharedMember(queueOf(connections, name, options.pollMs ?? 200), name, capacity, options, () => connections.end())
    members.push(made)
    return made
  }
}
