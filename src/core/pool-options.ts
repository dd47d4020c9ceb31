/*
 * Pool options, checked where they enter and resolved with their defaults (each default is
 * documented once, on its option in options.ts).
 */
import { type CapacityInput } from './capacity.js'
import { SystemClock, type Clock } from './clock.js'
import { InvalidOptionError } from './errors.js'
import type { Executor, ExecutorFunction } from './executor.js'
import type { PoolOptions } from './options.js'
import type { RetryOptions } from './retry.js'
import type { SubmitDefaults } from './submit.js'
import type { ValueCheck } from './storable.js'
import { optionalBoolean, optionalFunction, optionalNumber, optionalString } from './validate.js'

const DEFAULTS = {
  name: 'pool',
  maxAttempts: 1,
  retryBaseDelayMs: 1_000,
  retryMaxDelayMs: 30_000,
  keyRetentionMs: 300_000,
  headReserveAfterMs: 10_000,
  leaseMs: 30_000,
} as const

export interface ResolvedPoolOptions<P, R, C> {
  readonly name: string
  readonly executor: Executor<P, R, C>
  readonly clock: Clock
  /** The capacity given, with the runtime's own resources (worker slots) added. */
  readonly capacity: CapacityInput
  readonly elastic: ReadonlySet<string>
  readonly maxQueueDepth: number
  readonly retry: RetryOptions
  readonly keyRetentionMs: number
  readonly leaseMs: number
  readonly onFull: 'reject' | 'drop-lowest'
  readonly backfill: boolean
  readonly headReserveAfterMs: number
  readonly agingMs: number | undefined
  readonly fairShare: boolean
  readonly submit: SubmitDefaults
}

export function resolvePoolOptions<P, R, C>(
  options: PoolOptions<P, R, C>,
  queueCheck: ValueCheck | undefined,
): ResolvedPoolOptions<P, R, C> {
  if (typeof options !== 'object' || options === null) throw new InvalidOptionError('Expected pool options to be an object', '')
  const executor = toExecutor(options.executor)
  const policy = options.policy ?? {}
  const onFull = policy.onFull ?? 'reject'
  if (onFull !== 'reject' && onFull !== 'drop-lowest') {
    throw new InvalidOptionError(
      `Expected \`policy.onFull\` to be 'reject' or 'drop-lowest', got ${JSON.stringify(onFull)}`,
      'policy.onFull',
    )
  }
  return {
    name: optionalString(options.name, 'name') ?? DEFAULTS.name,
    executor,
    clock: options.clock ?? new SystemClock(),
    capacity: withRuntimeResources(options.capacity, executor),
    elastic: new Set(executor.elasticResources),
    maxQueueDepth: optionalNumber(options.maxQueueDepth, 'maxQueueDepth', { integer: true, allowInfinity: true }) ?? Infinity,
    retry: {
      retryOn: optionalFunction(options.retryOn, 'retryOn') ?? (() => true),
      baseDelayMs: optionalNumber(options.retryBaseDelayMs, 'retryBaseDelayMs') ?? DEFAULTS.retryBaseDelayMs,
      maxDelayMs: optionalNumber(options.retryMaxDelayMs, 'retryMaxDelayMs') ?? DEFAULTS.retryMaxDelayMs,
      random: optionalFunction(options.random, 'random') ?? Math.random,
    },
    keyRetentionMs: optionalNumber(options.keyRetentionMs, 'keyRetentionMs') ?? DEFAULTS.keyRetentionMs,
    leaseMs: optionalNumber(options.leaseMs, 'leaseMs', { min: 1 }) ?? DEFAULTS.leaseMs,
    onFull,
    backfill: optionalBoolean(policy.backfill, 'policy.backfill') ?? false,
    headReserveAfterMs: optionalNumber(policy.headReserveAfterMs, 'policy.headReserveAfterMs') ?? DEFAULTS.headReserveAfterMs,
    agingMs: optionalNumber(policy.agingMs, 'policy.agingMs', { min: 1 }),
    fairShare: optionalBoolean(policy.fairShare, 'policy.fairShare') === true,
    submit: {
      maxAttempts: optionalNumber(options.maxAttempts, 'maxAttempts', { min: 1, integer: true }) ?? DEFAULTS.maxAttempts,
      defaultWaitTimeoutMs: optionalNumber(options.defaultWaitTimeoutMs, 'defaultWaitTimeoutMs'),
      defaultRunTimeoutMs: optionalNumber(options.defaultRunTimeoutMs, 'defaultRunTimeoutMs', { min: 1 }),
      // The store's check and the runtime's, each once.
      checks: [...new Set([queueCheck, executor.checkValue])].filter((check) => check !== undefined),
    },
  }
}

function toExecutor<P, R, C>(executor: ExecutorFunction<P, R, C> | Executor<P, R, C>): Executor<P, R, C> {
  if (typeof executor === 'function') return { execute: executor as Executor<P, R, C>['execute'] }
  if (typeof executor === 'object' && executor !== null && typeof executor.execute === 'function') return executor
  throw new InvalidOptionError('Expected `executor` to be a function `(payload, ctx) => result` or an object with `execute`', 'executor')
}

/** Adds a runtime's own resources (worker slots) to the capacity the user gave. */
export function withRuntimeResources<P, R, C>(capacity: CapacityInput, executor: Executor<P, R, C>): CapacityInput {
  const extra = executor.resources
  if (extra === undefined) return capacity
  const base = typeof capacity === 'number' ? { slots: capacity } : capacity
  return { ...base, ...extra }
}
