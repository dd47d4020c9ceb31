import type { Clock } from '../core/clock.js'
import { ConfigError, type ConfigIssue } from '../core/errors.js'
import { Mailbox, type MailboxNotifier, type MailboxStore } from '../core/mailbox.js'
import type { PoolOptions } from '../core/options.js'
import type { TaskQueue } from '../core/queue.js'
import type { Executor, ExecutorFunction, MaybePromise } from '../core/types.js'
import { BroadcastNotifier } from '../mailbox/broadcast.js'
import { MemoryMailboxStore } from '../mailbox/memory.js'
import { ResourcePool } from '../pool.js'
import { MemoryQueue } from '../queue/memory.js'
import { describeIssue, loadConfig } from './load.js'
import type { MailboxNotifierConfig, MailboxStorageConfig, PoolConfig, QueueConfig, SchedulerConfig } from './schema.js'

export type Environment = 'browser' | 'node' | 'worker' | 'unknown'

/** What a backend factory knows: the pool it builds for and where it runs. */
export interface BackendContext {
  readonly poolName: string
  readonly environment: Environment
  readonly clock: Clock | undefined
}

type Factory<C, T> = (config: C, context: BackendContext) => MaybePromise<T>

/**
 * Backend factories by config `type`. A missing entry means this build cannot make that backend;
 * later subpaths (`./indexeddb`, `./pglite`, `./postgres`) register theirs here.
 */
export interface BackendFactories {
  readonly queues: { readonly [T in QueueConfig['type']]?: Factory<Extract<QueueConfig, { type: T }>, TaskQueue<unknown>> }
  readonly storages: {
    readonly [T in MailboxStorageConfig['type']]?: Factory<Extract<MailboxStorageConfig, { type: T }>, MailboxStore<unknown>>
  }
  readonly notifiers: {
    readonly [T in MailboxNotifierConfig['type']]?: Factory<Extract<MailboxNotifierConfig, { type: T }>, MailboxNotifier<unknown>>
  }
}

export interface BuildPoolsOptions<P, R> {
  /** The executor of each pool, by pool name, or one function that picks by name. */
  readonly executors:
    Readonly<Record<string, ExecutorFunction<P, R> | Executor<P, R>>> | ((poolName: string) => ExecutorFunction<P, R> | Executor<P, R>)
  /** Extra or replacement backend factories. @default the ones this build has */
  readonly backends?: {
    readonly queues?: BackendFactories['queues']
    readonly storages?: BackendFactories['storages']
    readonly notifiers?: BackendFactories['notifiers']
  }
  readonly clock?: Clock
  /** @default detected from the globals */
  readonly environment?: Environment
}

/** PGlite databases opened for a build, by data directory, so a pool's queue and mailbox share one. */
type Databases = Map<string, Promise<unknown>>

async function pgliteDatabase(databases: Databases, dataDir: string | undefined): Promise<import('../sql/migrations.js').SqlClient> {
  const where = dataDir ?? 'memory://'
  let db = databases.get(where)
  if (db === undefined) {
    // Loaded only when a config names it: the root entry never imports a backend statically.
    db = import('@electric-sql/pglite').then(({ PGlite }) => PGlite.create(where))
    databases.set(where, db)
  }
  return (await db) as import('../sql/migrations.js').SqlClient
}

function builtIn(databases: Databases, environment: Environment): BackendFactories {
  const pgliteQueue = async (dataDir: string | undefined, name: string) => {
    const [{ PGliteQueue }, db] = await Promise.all([import('../pglite/index.js'), pgliteDatabase(databases, dataDir)])
    return new PGliteQueue(db, { name })
  }
  const inBrowser = environment === 'browser' || environment === 'worker'
  const indexedDBQueue = async (database: string | undefined, name: string) => {
    const { IndexedDBQueue } = await import('../indexeddb/index.js')
    return new IndexedDBQueue({ name, ...(database === undefined ? {} : { database }) })
  }
  return {
    queues: {
      in_memory: () => new MemoryQueue(),
      pglite: (config, context) => pgliteQueue(config.data_dir, context.poolName),
      // The seed's embedded file queue maps to the environment's embedded durable queue:
      // PGlite on a data directory under `path` in Node, IndexedDB in a browser.
      ...(environment === 'node'
        ? { yaque: (config: { path: string; stream: string }) => pgliteQueue(`${config.path}/${config.stream}`, config.stream) }
        : {}),
      ...(inBrowser
        ? {
            yaque: (config: { path: string; stream: string }) => indexedDBQueue(undefined, config.stream),
            indexeddb: (config: { database?: string | undefined }, context: BackendContext) =>
              indexedDBQueue(config.database, context.poolName),
          }
        : {}),
    },
    storages: {
      in_memory: () => new MemoryMailboxStore(),
      ...(inBrowser
        ? {
            indexeddb: async (config: { database?: string | undefined }, context: BackendContext) => {
              const { IndexedDBMailboxStore } = await import('../indexeddb/index.js')
              return new IndexedDBMailboxStore({
                name: context.poolName,
                ...(config.database === undefined ? {} : { database: config.database }),
              })
            },
          }
        : {}),
      pglite: async (config, context) => {
        const [{ PGliteMailboxStore }, db] = await Promise.all([import('../pglite/index.js'), pgliteDatabase(databases, config.data_dir)])
        return new PGliteMailboxStore(db, { name: context.poolName })
      },
    },
    notifiers: { broadcast: (config) => new BroadcastNotifier(config.channel === undefined ? {} : { channel: config.channel }) },
  }
}

/** Where this code runs, judged from globals (read at call time, never at import). */
export function detectEnvironment(): Environment {
  const g = globalThis as {
    document?: unknown
    process?: { versions?: { node?: string } }
    importScripts?: unknown
    WorkerGlobalScope?: unknown
  }
  if (g.process?.versions?.node !== undefined) return 'node'
  if (g.document !== undefined) return 'browser'
  if (g.WorkerGlobalScope !== undefined || typeof g.importScripts === 'function') return 'worker'
  return 'unknown'
}

/** Why a backend type is missing here, for the error. */
function missingReason(kind: 'queue' | 'storage' | 'notifier', type: string, environment: Environment): string {
  const inBrowser = environment === 'browser' || environment === 'worker'
  if (type.startsWith('postgres')) {
    return inBrowser
      ? 'Postgres needs a Node server with the `pg` package; a browser cannot open a Postgres connection'
      : 'the server tier (`prometheus-parking-lot/postgres`, `/pgmq`) is not in this build yet'
  }
  switch (type) {
    case 'indexeddb':
      return 'IndexedDB exists only in browsers (in Node, use `pglite` with a `data_dir`, or `yaque`)'
    case 'pglite':
      return 'no PGlite factory was given'
    case 'yaque':
      return "`yaque` maps to the environment's embedded durable queue (PGlite in Node, IndexedDB in a browser), and this environment has neither"
    case 'http':
      return 'the HTTP webhook notifier is not in this build yet'
    default:
      return `no ${kind} backend of type '${type}' is registered`
  }
}

/** Turns a validated pool config into `ResourcePool` options (without queue, mailbox, executor). */
export function poolOptionsFromConfig(name: string, pool: PoolConfig): Omit<PoolOptions<never, never>, 'executor'> {
  const policy = pool.policy
  return {
    name,
    capacity: pool.capacity ?? pool.max_units!,
    ...(pool.max_queue_depth === undefined ? {} : { maxQueueDepth: pool.max_queue_depth }),
    ...(pool.default_timeout_secs === undefined ? {} : { defaultWaitTimeoutMs: pool.default_timeout_secs * 1000 }),
    ...(pool.default_run_timeout_secs === undefined ? {} : { defaultRunTimeoutMs: pool.default_run_timeout_secs * 1000 }),
    ...(pool.max_attempts === undefined ? {} : { maxAttempts: pool.max_attempts }),
    ...(pool.retry_base_delay_ms === undefined ? {} : { retryBaseDelayMs: pool.retry_base_delay_ms }),
    ...(pool.retry_max_delay_ms === undefined ? {} : { retryMaxDelayMs: pool.retry_max_delay_ms }),
    ...(pool.key_retention_ms === undefined ? {} : { keyRetentionMs: pool.key_retention_ms }),
    ...(policy === undefined
      ? {}
      : {
          policy: {
            ...(policy.on_full === undefined ? {} : { onFull: policy.on_full }),
            ...(policy.backfill === undefined ? {} : { backfill: policy.backfill }),
            ...(policy.head_reserve_after_ms === undefined ? {} : { headReserveAfterMs: policy.head_reserve_after_ms }),
            ...(policy.aging_ms === undefined ? {} : { agingMs: policy.aging_ms }),
            ...(policy.fair_share === undefined ? {} : { fairShare: policy.fair_share }),
          },
        }),
  }
}

/**
 * Builds one `ResourcePool` per configured pool. Checks every pool first: if any needs a backend
 * this build or environment lacks (Postgres in a browser, say) or has no executor, it throws one
 * `ConfigError` naming each such pool, the backend and what is missing, and builds nothing.
 */
export async function buildPools<P = unknown, R = unknown>(
  config: SchedulerConfig | string,
  options: BuildPoolsOptions<P, R>,
): Promise<Record<string, ResourcePool<P, R>>> {
  const validated = typeof config === 'string' ? loadConfig(config) : config
  const environment = options.environment ?? detectEnvironment()
  const defaults = builtIn(new Map(), environment)
  const factories: BackendFactories = {
    queues: { ...defaults.queues, ...options.backends?.queues },
    storages: { ...defaults.storages, ...options.backends?.storages },
    notifiers: { ...defaults.notifiers, ...options.backends?.notifiers },
  }
  const executorOf = (name: string): ExecutorFunction<P, R> | Executor<P, R> | undefined =>
    typeof options.executors === 'function' ? options.executors(name) : options.executors[name]

  const issues: ConfigIssue[] = []
  for (const [name, pool] of Object.entries(validated.pools)) {
    const at = `pools.${name}`
    const need = (kind: 'queue' | 'storage' | 'notifier', type: string, path: string, present: boolean): void => {
      if (!present)
        issues.push({ path, message: `pool '${name}' needs ${kind} backend '${type}': ${missingReason(kind, type, environment)}` })
    }
    need('queue', pool.queue.type, `${at}.queue.type`, factories.queues[pool.queue.type] !== undefined)
    need('storage', pool.mailbox.storage.type, `${at}.mailbox.storage.type`, factories.storages[pool.mailbox.storage.type] !== undefined)
    const notifier = pool.mailbox.notifier
    if (notifier !== undefined) {
      need('notifier', notifier.type, `${at}.mailbox.notifier.type`, factories.notifiers[notifier.type] !== undefined)
    }
    if (executorOf(name) === undefined) issues.push({ path: at, message: `pool '${name}' has no executor in \`executors\`` })
  }
  if (issues.length > 0) {
    throw new ConfigError(`Cannot build pools: ${issues.map(describeIssue).join('; ')}`, issues)
  }

  const pools: Record<string, ResourcePool<P, R>> = {}
  for (const [name, pool] of Object.entries(validated.pools)) {
    const context: BackendContext = { poolName: name, environment, clock: options.clock }
    const queue = (await callFactory(factories.queues[pool.queue.type], pool.queue, context)) as TaskQueue<P>
    const store = (await callFactory(factories.storages[pool.mailbox.storage.type], pool.mailbox.storage, context)) as MailboxStore<R>
    const notifierConfig = pool.mailbox.notifier
    const notifiers =
      notifierConfig === undefined
        ? []
        : [(await callFactory(factories.notifiers[notifierConfig.type], notifierConfig, context)) as MailboxNotifier<R>]
    pools[name] = new ResourcePool<P, R>({
      ...poolOptionsFromConfig(name, pool),
      executor: executorOf(name)!,
      queue,
      mailbox: new Mailbox<R>({ store, notifiers, ...(options.clock === undefined ? {} : { clock: options.clock }) }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    })
  }
  return pools
}

/** Calls the factory registered for `config.type` (presence was checked for every pool first). */
function callFactory<T>(factory: unknown, config: { readonly type: string }, context: BackendContext): MaybePromise<T> {
  return (factory as Factory<typeof config, T>)(config, context)
}
