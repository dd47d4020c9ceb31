/*
 * `connectSharedPool`: picks how this tab reaches the pool's host (a port it was given, a
 * SharedWorker, or leader election on a bus where SharedWorker is missing) and returns the
 * SharedPool on top. Every listener is attached before the first await, so a leader change or a
 * host failure is seen whenever it happens.
 */
import { InvalidOptionError, WorkerCrashedError } from '../../core/errors.js'
import { optionalFunction, optionalString, optionsObject, refuse } from '../../core/validate.js'
import { WorkerPool, type WorkerPoolOptions } from '../worker-pool.js'
import { TabBusPort, standForLeader } from './bus.js'
import { CONNECT, SharedPool } from './client.js'
import type { SharedPoolHost } from './host.js'
import type { Port } from './protocol.js'

export interface ConnectSharedPoolOptions {
  /** This tab's workers, lent to the host for pools that run on the tabs: a WorkerPool, or options to make one. */
  readonly workers?: WorkerPool<unknown, unknown> | WorkerPoolOptions
  /** The default mailbox key's user. */
  readonly user?: string
  /** The default mailbox key's session. @default an id kept in sessionStorage (it survives reloads of this tab) */
  readonly session?: string
  /** The SharedWorker's name (one host per name; in leader mode, the election's scope). @default 'prometheus-parking-lot' */
  readonly workerName?: string
  /**
   * Makes the SharedWorker, for bundlers that must see it: `() => new SharedWorker(new
   * URL('./host.ts', import.meta.url), { type: 'module', name })`. Then `url` only names it in errors.
   */
  readonly createWorker?: () => SharedWorker
  /** A port to a host you connected yourself (tests, or a host in this page); skips the SharedWorker. */
  readonly port?: Port
  /**
   * Builds the host in this tab when it is elected leader: used where SharedWorker is missing, or
   * always with `mode: 'leader'`. Tabs elect one leader with a Web Lock and talk to it over
   * BroadcastChannel; when it closes, the next tab in line builds the host and recovers the queue.
   * If it throws (or the host's pools fail to open), every waiting tab's connect rejects with why.
   */
  readonly createHost?: () => SharedPoolHost | Promise<SharedPoolHost>
  /** `'auto'`: a SharedWorker where there is one, else leader election. @default 'auto' */
  readonly mode?: 'auto' | 'shared-worker' | 'leader'
}

const DEFAULT_SCOPE = 'prometheus-parking-lot'

const CONNECT_KEYS: Record<keyof ConnectSharedPoolOptions, 1> = {
  workers: 1,
  user: 1,
  session: 1,
  workerName: 1,
  createWorker: 1,
  port: 1,
  createHost: 1,
  mode: 1,
}

/**
 * Connects this tab to the pool `name` hosted by the SharedWorker at `url` (or by the leader tab).
 *
 * @example
 * const pool = await connectSharedPool<Job, string>(new URL('./host.ts', import.meta.url), 'gpu', {
 *   workers: { url: new URL('./worker.ts', import.meta.url) },
 * })
 * const task = await pool.submit(job, { cost: { vram: 4 }, handler: 'generate' })
 */
export async function connectSharedPool<P = unknown, R = unknown, C = unknown>(
  url: string | URL,
  name: string,
  options: ConnectSharedPoolOptions = {},
): Promise<SharedPool<P, R, C>> {
  if (typeof name !== 'string' || name === '') throw new InvalidOptionError('Expected a pool name (a non-empty string)', 'name')
  optionsObject(options, CONNECT_KEYS, 'options')
  const mode = options.mode ?? 'auto'
  if (mode !== 'auto' && mode !== 'shared-worker' && mode !== 'leader') refuse('mode', "'auto', 'shared-worker' or 'leader'", mode)
  optionalString(options.user, 'user')
  optionalString(options.session, 'session')
  optionalString(options.workerName, 'workerName')
  optionalFunction(options.createWorker, 'createWorker')
  optionalFunction(options.createHost, 'createHost')
  if (options.port === undefined && (mode === 'leader' || (mode === 'auto' && typeof SharedWorker === 'undefined'))) {
    if (options.createHost === undefined) {
      throw new InvalidOptionError(
        mode === 'leader'
          ? "`mode: 'leader'` needs `createHost`: the function that builds the host in the elected tab"
          : 'This browser has no SharedWorker; pass `createHost` so that tabs can elect a leader to host the pool',
        'createHost',
      )
    }
    return connectThroughLeader<P, R, C>(name, options, options.createHost)
  }
  let port = options.port
  let worker: SharedWorker | undefined
  if (port === undefined) {
    if (typeof SharedWorker === 'undefined') {
      throw new InvalidOptionError("This browser has no SharedWorker (`mode: 'shared-worker'` was asked for)", 'mode')
    }
    worker = options.createWorker?.() ?? new SharedWorker(url, { type: 'module', name: options.workerName ?? DEFAULT_SCOPE })
    port = worker.port
  }
  const pool = new SharedPool<P, R, C>(CONNECT, name, port, lentWorkers(options), options)
  const failed = new Promise<never>((_, reject) => {
    worker?.addEventListener('error', () => reject(new WorkerCrashedError(`The shared pool host at ${String(url)} failed to start`)))
  })
  await Promise.race([pool.start(), failed])
  return pool
}

async function connectThroughLeader<P, R, C>(
  name: string,
  options: ConnectSharedPoolOptions,
  createHost: () => SharedPoolHost | Promise<SharedPoolHost>,
): Promise<SharedPool<P, R, C>> {
  const scope = options.workerName ?? DEFAULT_SCOPE
  const clientId = crypto.randomUUID()
  // The port reports to the pool from its first message on (the pool is made right after it).
  let pool: SharedPool<P, R, C> | undefined
  const report = (error: unknown, context: string): void => pool?.reportError(error, context)
  const port = new TabBusPort(scope, clientId, report)
  // A tab that leaves (or never joins) stops standing for leader: it would host for nobody.
  const standing = new AbortController()
  const setup = { user: options.user, session: options.session, onClose: () => standing.abort() }
  const joined = (pool = new SharedPool<P, R, C>(CONNECT, name, port, lentWorkers(options), setup, clientId))
  // Before any await: from here on, every new leader is followed and every failed host reported.
  let following: string | undefined
  port.onLeader((leader) => {
    if (following === undefined || leader === following) return
    following = leader
    joined.rejoin().catch((error: unknown) => joined.reportError(error, 'rejoining the pool under its new leader'))
  })
  port.onHostFailed((error) => joined.hostFailed(error))
  standForLeader(scope, createHost, report, standing.signal)
  try {
    await port.nextLeader()
    following = port.leader
    await joined.start()
  } catch (error) {
    await joined.close()
    throw error
  }
  return joined
}

/** @internal The workers a tab lends: the given WorkerPool, or one made from the given options. */
export function lentWorkers(options: ConnectSharedPoolOptions): WorkerPool<unknown, unknown> | undefined {
  const { workers } = options
  return workers === undefined ? undefined : workers instanceof WorkerPool ? workers : new WorkerPool(workers)
}
