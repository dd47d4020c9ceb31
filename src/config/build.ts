/*
 * Builders: a validated config plus executors (and the backend modules it names) into pools. The
 * builder never makes a bundler follow a backend: a browser app passes the subpaths it uses in
 * `modules`; Node loads the subpath a config names, by name, at run time.
 */
import type { Clock } from '../core/clock.js'
import { ConfigError, type ConfigIssue } from '../core/errors.js'
import type { Executor, ExecutorFunction } from '../core/executor.js'
import { Mailbox, type MailboxNotifier, type MailboxStore } from '../core/mailbox.js'
import type { PoolOptions } from '../core/options.js'
import { closeWithPool } from '../core/owned.js'
import type { TaskQueue } from '../core/queue.js'
import type * as IndexedDBModule from '../indexeddb/index.js'
import { BroadcastNotifier } from '../mailbox/broadcast.js'
import { HttpNotifier } from '../mailbox/http.js'
import { MemoryMailboxStore } from '../mailbox/memory.js'
import type * as PGliteModule from '../pglite/index.js'
import type * as PostgresModule from '../postgres/index.js'
import type * as PgmqModule from '../pgmq/index.js'
import type { PgPool } from '../postgres/client.js'
import { ResourcePool } from '../pool.js'
import { MemoryQueue } from '../queue/memory.js'
import type { SqlClient } from '../sql/migrations.js'
import { describeIssue, loadConfig, validateConfig } from './load.js'
import type { MailboxNotifierConfig, MailboxStorageConfig, PoolConfig, QueueConfig, SchedulerConfig } from './schema.js'

/** @internal Where this code runs. */
export type Environment = 'browser' | 'node' | 'worker' | 'unknown'

/** The backend subpaths a config may name, as their modules: `await import('prometheus-parking-lot/indexeddb')`. */
export interface BackendModules {
  readonly indexeddb?: typeof IndexedDBModule
  readonly pglite?: typeof PGliteModule
  readonly postgres?: typeof PostgresModule
  readonly pgmq?: typeof PgmqModule
}

export interface BuildPoolsOptions<P, R> {
  /** The executor of each pool, by pool name, or one function that picks by name. */
  readonly executors:
    | Readonly<Record<string, ExecutorFunction<P, R> | Executor<P, R>>>
    | ((poolName: string) => ExecutorFunction<P, R> | Executor<P, R> | undefined)
  /**
   * The backend subpaths the config names. In a browser pass each one you use (bundlers then see
   * exactly those); in Node a missing one is loaded by name.
   * @example { indexeddb: await import('prometheus-parking-lot/indexeddb') }
   */
  readonly modules?: BackendModules
  /**
   * The signing secret (`whsec_` + base64) of each pool whose mailbox has an `http` notifier, by
   * pool name. Secrets come from code (an environment variable, a vault), never from the config file.
   */
  readonly webhookSecrets?: Readonly<Record<string, string>>
  /**
   * The `pg.Pool` the `postgres` and `postgres_pgmq` queues and the `postgres` storage use
   * (connection settings come from code, not from the config file). A queue's or store's `table`
   * names it within the shared tables; a pgmq queue's `queue_name` names its pgmq queues.
   */
  readonly postgres?: PgPool
  readonly clock?: Clock
  /** @internal Where the pools will run. @default detected from the globals */
  readonly environment?: Environment
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

type Kind = 'queue' | 'storage' | 'notifier'

/** Why a backend type cannot be built here, or undefined when it can. */
function missing(kind: Kind, type: string, environment: Environment): string | undefined {
  const inBrowser = environment === 'browser' || environment === 'worker'
  if (type.startsWith('postgres')) {
    if (inBrowser) return 'Postgres needs a Node server with the `pg` package; a browser cannot open a Postgres connection'
  }
  if (type === 'indexeddb' && !inBrowser) return 'IndexedDB exists only in browsers (in Node, use `pglite` with a `data_dir`, or `yaque`)'
  if (type === 'yaque' && !inBrowser && environment !== 'node') {
    return "`yaque` maps to the environment's embedded durable queue (PGlite in Node, IndexedDB in a browser), and this environment has neither"
  }
  void kind
  return undefined
}

/** The subpath a backend type needs, if any. */
function moduleOf(type: string, environment: Environment): keyof BackendModules | undefined {
  if (type === 'indexeddb') return 'indexeddb'
  if (type === 'pglite') return 'pglite'
  if (type === 'yaque') return environment === 'node' ? 'pglite' : 'indexeddb'
  if (type === 'postgres' || type === 'postgres_custom') return 'postgres'
  if (type === 'postgres_pgmq') return 'pgmq'
  return undefined
}

/** Turns a validated pool config into `ResourcePool` options (without queue, mailbox, executor). */
function poolOptionsFromConfig(name: string, pool: PoolConfig): Omit<PoolOptions<never, never>, 'executor'> {
  const policy = pool.policy
  const defined = <T extends object>(entries: T): Partial<T> =>
    Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined)) as Partial<T>
  return {
    name,
    capacity: pool.capacity ?? pool.max_units!,
    ...defined({
      elasticResources: pool.elastic_resources,
      maxQueueDepth: pool.max_queue_depth,
      defaultWaitTimeoutMs: pool.default_timeout_secs === undefined ? undefined : pool.default_timeout_secs * 1000,
      defaultRunTimeoutMs: pool.default_run_timeout_secs === undefined ? undefined : pool.default_run_timeout_secs * 1000,
      maxAttempts: pool.max_attempts,
      retryBaseDelayMs: pool.retry_base_delay_ms,
      retryMaxDelayMs: pool.retry_max_delay_ms,
      keyRetentionMs: pool.key_retention_ms,
    }),
    ...(policy === undefined
      ? {}
      : {
          policy: defined({
            onFull: policy.on_full,
            backfill: policy.backfill,
            headReserveAfterMs: policy.head_reserve_after_ms,
            agingMs: policy.aging_ms,
            fairShare: policy.fair_share,
          }),
        }),
  }
}

/**
 * Builds one `ResourcePool` per configured pool. `config` is JSON or YAML text, or an object,
 * validated alike. Checks every pool first: if any needs a backend this environment cannot have
 * (Postgres in a browser, say), a backend module that was not passed, or an executor, it throws
 * one `ConfigError` naming each such pool, the backend and what is missing, and builds nothing.
 *
 * Each pool's `close()` also closes what the builder opened for it (a PGlite database, once its
 * last pool closes).
 */
export async function buildPools<P = unknown, R = unknown>(
  config: SchedulerConfig | string,
  options: BuildPoolsOptions<P, R>,
): Promise<Record<string, ResourcePool<P, R>>> {
  const validated = typeof config === 'string' ? loadConfig(config) : validateConfig(config)
  if (typeof options !== 'object' || options === null) {
    throw new ConfigError('Expected buildPools options: { executors, modules? }', [{ path: '', message: 'options missing' }])
  }
  const environment = options.environment ?? detectEnvironment()
  const executorOf = (name: string): ExecutorFunction<P, R> | Executor<P, R> | undefined =>
    typeof options.executors === 'function' ? options.executors(name) : options.executors?.[name]

  const issues: ConfigIssue[] = []
  const needed = new Set<keyof BackendModules>()
  for (const [name, pool] of Object.entries(validated.pools)) {
    const at = `pools.${name}`
    const check = (kind: Kind, type: string, path: string): void => {
      const why = missing(kind, type, environment)
      if (why !== undefined) {
        issues.push({ path, message: `pool '${name}' needs ${kind} backend '${type}': ${why}` })
        return
      }
      const module = moduleOf(type, environment)
      if (
        (module === 'postgres' || module === 'pgmq') &&
        (typeof options.postgres?.query !== 'function' || typeof options.postgres.connect !== 'function')
      ) {
        issues.push({
          path,
          message: `pool '${name}' needs ${kind} backend '${type}': pass its connections as \`postgres: new pg.Pool(...)\``,
        })
        return
      }
      if (module === undefined || options.modules?.[module] !== undefined) return
      if (environment === 'node') needed.add(module)
      else {
        issues.push({
          path,
          message: `pool '${name}' needs ${kind} backend '${type}': pass its module, \`modules: { ${module}: await import('prometheus-parking-lot/${module}') }\``,
        })
      }
    }
    check('queue', pool.queue.type, `${at}.queue.type`)
    check('storage', pool.mailbox.storage.type, `${at}.mailbox.storage.type`)
    if (pool.mailbox.notifier !== undefined) check('notifier', pool.mailbox.notifier.type, `${at}.mailbox.notifier.type`)
    const secret = options.webhookSecrets?.[name]
    if (pool.mailbox.notifier?.type === 'http' && !(typeof secret === 'string' && secret.startsWith('whsec_'))) {
      issues.push({
        path: `${at}.mailbox.notifier`,
        message: `pool '${name}' has an http notifier: pass its signing secret (\`whsec_\` + base64) as \`webhookSecrets: { ${name}: 'whsec_…' }\``,
      })
    }
    if (executorOf(name) === undefined) issues.push({ path: at, message: `pool '${name}' has no executor in \`executors\`` })
  }
  if (issues.length > 0) throw new ConfigError(`Cannot build pools: ${issues.map(describeIssue).join('; ')}`, issues)

  const modules: BackendModules = { ...options.modules }
  for (const name of needed) Object.assign(modules, { [name]: await importByName(name) })
  const databases = new Databases(modules)
  const pools: Record<string, ResourcePool<P, R>> = {}
  for (const [name, pool] of Object.entries(validated.pools)) {
    const opened: (() => Promise<void>)[] = []
    try {
      pools[name] = await buildOne(name, pool, opened)
    } catch (error) {
      // Nothing half-built stays open: what this pool opened, and the pools built before it, close.
      for (const close of opened) await close()
      for (const built of Object.values(pools)) await built.close()
      if (error instanceof ConfigError) throw error
      const message = error instanceof Error ? error.message : String(error)
      throw new ConfigError(`Cannot build pool '${name}': ${message}`, [{ path: `pools.${name}`, message }], { cause: error })
    }
  }
  return pools

  async function buildOne(name: string, pool: PoolConfig, opened: (() => Promise<void>)[]): Promise<ResourcePool<P, R>> {
    const queue = (await makeQueue(pool.queue, name, environment, modules, databases, opened, options.postgres)) as TaskQueue<P>
    const store = (await makeStore(pool.mailbox.storage, name, modules, databases, opened, options.postgres)) as MailboxStore<R>
    const notifiers =
      pool.mailbox.notifier === undefined
        ? []
        : [makeNotifier(pool.mailbox.notifier, options.webhookSecrets?.[name], options.clock) as MailboxNotifier<R>]
    const built = new ResourcePool<P, R>({
      ...poolOptionsFromConfig(name, pool),
      executor: executorOf(name)!,
      queue,
      mailbox: new Mailbox<R>({ store, notifiers, ...(options.clock === undefined ? {} : { clock: options.clock }) }),
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    })
    // The mailbox was made here, so it is the pool's to close, with the databases opened for it.
    closeWithPool(built, () => built.mailbox.close())
    for (const close of opened.splice(0)) closeWithPool(built, close)
    return built
  }
}

/** Node resolves the package's own subpath at run time; the specifier is hidden from bundlers on purpose. */
async function importByName(name: keyof BackendModules): Promise<BackendModules[typeof name]> {
  const specifier = `prometheus-parking-lot/${name}`
  return (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as BackendModules[typeof name]
}

/** PGlite databases opened for a build, by data directory: a pool's queue and mailbox share one, closed with its last user. */
class Databases {
  readonly #open = new Map<string, { db: Promise<SqlClient & { close(): Promise<void> }>; users: number }>()
  constructor(readonly modules: BackendModules) {}

  /** The database at `where`; `path` names the config field, for a folder that cannot be opened. */
  async take(where: string, path: string, opened: (() => Promise<void>)[]): Promise<SqlClient> {
    let entry = this.#open.get(where)
    if (entry === undefined) {
      const db = this.modules.pglite!.openPGlite(where).catch((cause: unknown) => {
        this.#open.delete(where)
        const message = `cannot open the PGlite data directory '${where}' (does its parent folder exist?): ${cause instanceof Error ? cause.message : String(cause)}`
        throw new ConfigError(`Cannot build pools: \`${path}\`: ${message}`, [{ path, message }], { cause })
      })
      entry = { db, users: 0 }
      this.#open.set(where, entry)
    }
    entry.users++
    const taken = entry
    opened.push(async () => {
      if (--taken.users === 0) {
        this.#open.delete(where)
        await (await taken.db).close()
      }
    })
    return taken.db
  }
}

async function makeQueue(
  config: QueueConfig,
  poolName: string,
  environment: Environment,
  modules: BackendModules,
  databases: Databases,
  opened: (() => Promise<void>)[],
  postgres: PgPool | undefined,
): Promise<TaskQueue<unknown>> {
  switch (config.type) {
    case 'postgres':
    case 'postgres_custom':
      // The seed's table per queue is a queue name in the shared tables (pl_queue_jobs).
      return new modules.postgres!.PostgresQueue(postgres!, { name: config.table })
    case 'postgres_pgmq':
      // pgmq queues `<queue_name>_<priority>` on the same connections (the extension is created if missing).
      return new modules.pgmq!.PgmqQueue(postgres!, { name: config.queue_name })
    case 'in_memory':
      return new MemoryQueue()
    case 'indexeddb':
      return new modules.indexeddb!.IndexedDBQueue({
        name: poolName,
        ...(config.database === undefined ? {} : { database: config.database }),
      })
    case 'pglite':
      return new modules.pglite!.PGliteQueue(await databases.take(config.data_dir, `pools.${poolName}.queue.data_dir`, opened), {
        name: poolName,
      })
    case 'yaque':
      // The seed's embedded file queue maps to the environment's embedded durable queue:
      // PGlite on a data directory under `path` in Node, IndexedDB in a browser.
      if (environment === 'node')
        return new modules.pglite!.PGliteQueue(
          await databases.take(`${config.path}/${config.stream}`, `pools.${poolName}.queue.path`, opened),
          {
            name: config.stream,
          },
        )
      return new modules.indexeddb!.IndexedDBQueue({ name: config.stream })
  }
}

async function makeStore(
  config: MailboxStorageConfig,
  poolName: string,
  modules: BackendModules,
  databases: Databases,
  opened: (() => Promise<void>)[],
  postgres: PgPool | undefined,
): Promise<MailboxStore<unknown>> {
  switch (config.type) {
    case 'postgres':
      return new modules.postgres!.PostgresMailboxStore(postgres!, { name: config.table })
    case 'in_memory':
      return new MemoryMailboxStore()
    case 'indexeddb':
      return new modules.indexeddb!.IndexedDBMailboxStore({
        name: poolName,
        ...(config.database === undefined ? {} : { database: config.database }),
      })
    case 'pglite':
      return new modules.pglite!.PGliteMailboxStore(
        await databases.take(config.data_dir, `pools.${poolName}.mailbox.storage.data_dir`, opened),
        { name: poolName },
      )
    default: {
      const unknown: never = config
      throw new ConfigError(`No storage backend '${JSON.stringify(unknown)}' here`, [
        { path: 'mailbox.storage.type', message: 'unsupported' },
      ])
    }
  }
}

function makeNotifier(config: MailboxNotifierConfig, secret: string | undefined, clock: Clock | undefined): MailboxNotifier<unknown> {
  if (config.type === 'broadcast') return new BroadcastNotifier(config.channel === undefined ? {} : { channel: config.channel })
  if (secret === undefined) {
    throw new ConfigError('An http notifier needs its signing secret in `webhookSecrets`', [
      { path: 'mailbox.notifier', message: 'no secret' },
    ])
  }
  const headers: Record<string, string> = config.auth_header === undefined ? {} : { authorization: config.auth_header }
  return new HttpNotifier({ url: config.base_url, secret, headers, ...(clock === undefined ? {} : { clock }) })
}
