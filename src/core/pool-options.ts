/*
 * Pool options, checked where they enter and resolved with their defaults (each default is
 * documented once, on its option in options.ts).
 */
import { type CapacityInput } from './capacity.js'
import { SystemClock, type Clock } from './clock.js'
import type { Executor, ExecutorFunction } from './executor.js'
import type { PolicyOptions, PoolOptions } from './options.js'
import { resolveRates, withRateLimits, type RateLimits } from './rates.js'
import type { RetryOptions } from './retry.js'
import type { SubmitDefaults } from './submit.js'
import type { ValueCheck } from './storable.js'
import {
  onlyKnownKeys,
  optionalBoolean,
  optionalFunction,
  optionalNumber,
  optionalString,
  optionsObject,
  refuse,
  type NumberRule,
} from './validate.js'

export interface ResolvedPoolOptions<P, R, C> {
  readonly name: string
  readonly executor: Executor<P, R, C>
  readonly clock: Clock
  /** The capacity given, with the runtime's own resources (worker slots) added. */
  readonly capacity: CapacityInput
  readonly elastic: ReadonlySet<string>
  readonly rates: RateLimits
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

/** Every pool option, so that an unknown one (a typo) is refused. */
const POOL_KEYS: Record<keyof PoolOptions<unknown, unknown>, 1> = {
  name: 1,
  capacity: 1,
  executor: 1,
  elasticResources: 1,
  maxQueueDepth: 1,
  defaultWaitTimeoutMs: 1,
  defaultRunTimeoutMs: 1,
  maxAttempts: 1,
  retryOn: 1,
  retryBaseDelayMs: 1,
  retryMaxDelayMs: 1,
  keyRetentionMs: 1,
  queue: 1,
  mailbox: 1,
  clock: 1,
  policy: 1,
  leaseMs: 1,
  random: 1,
  models: 1,
  rates: 1,
}
const POLICY_KEYS: Record<keyof PolicyOptions, 1> = { onFull: 1, backfill: 1, headReserveAfterMs: 1, agingMs: 1, fairShare: 1 }

export function resolvePoolOptions<P, R, C>(
  options: PoolOptions<P, R, C>,
  queueCheck: ValueCheck | undefined,
): ResolvedPoolOptions<P, R, C> {
  if (typeof options !== 'object' || options === null) refuse('options', 'an object', options)
  onlyKnownKeys(options, POOL_KEYS, '')
  const executor = toExecutor(options.executor)
  const policy = optionsObject(options.policy, POLICY_KEYS, 'policy')
  const onFull = policy.onFull ?? 'reject'
  if (onFull !== 'reject' && onFull !== 'drop-lowest') refuse('policy.onFull', "'reject' or 'drop-lowest'", onFull)
  const elastic: unknown = options.elasticResources ?? []
  if (!Array.isArray(elastic) || !elastic.every((name) => typeof name === 'string'))
    refuse('elasticResources', 'an array of resource names', elastic)
  // Each option read by its name, which is also its path in a refusal.
  const number = (
    name:
      | 'maxQueueDepth'
      | 'retryBaseDelayMs'
      | 'retryMaxDelayMs'
      | 'keyRetentionMs'
      | 'leaseMs'
      | 'maxAttempts'
      | 'defaultWaitTimeoutMs'
      | 'defaultRunTimeoutMs',
    rule?: NumberRule,
  ) => optionalNumber(options[name], name, rule)
  const positive = { positive: true }
  const rates = resolveRates(options.rates)
  return {
    name: optionalString(options.name, 'name') ?? 'pool',
    executor,
    clock: options.clock ?? new SystemClock(),
    capacity: withRateLimits(withRuntimeResources(options.capacity, executor), rates),
    rates,
    elastic: new Set([...elastic, ...(executor.elasticResources ?? [])]),
    maxQueueDepth: number('maxQueueDepth', { integer: true, allowInfinity: true }) ?? Infinity,
    retry: {
      retryOn: optionalFunction(options.retryOn, 'retryOn') ?? (() => true),
      baseDelayMs: number('retryBaseDelayMs') ?? 1_000,
      maxDelayMs: number('retryMaxDelayMs') ?? 30_000,
      random: optionalFunction(options.random, 'random') ?? Math.random,
    },
    keyRetentionMs: number('keyRetentionMs') ?? 300_000,
    leaseMs: number('leaseMs', positive) ?? 30_000,
    onFull,
    backfill: optionalBoolean(policy.backfill, 'policy.backfill') ?? false,
    headReserveAfterMs: optionalNumber(policy.headReserveAfterMs, 'policy.headReserveAfterMs') ?? 10_000,
    agingMs: optionalNumber(policy.agingMs, 'policy.agingMs', positive),
    fairShare: optionalBoolean(policy.fairShare, 'policy.fairShare') === true,
    submit: {
      maxAttempts: number('maxAttempts', { min: 1, integer: true }) ?? 1,
      defaultWaitTimeoutMs: number('defaultWaitTimeoutMs', positive),
      defaultRunTimeoutMs: number('defaultRunTimeoutMs', positive),
      // The store's check and the runtime's, each once.
      checks: [...new Set([queueCheck, executor.checkValue])].filter((check) => check !== undefined),
      checkHandler: executor.checkHandler?.bind(executor),
    },
  }
}

function toExecutor<P, R, C>(executor: ExecutorFunction<P, R, C> | Executor<P, R, C>): Executor<P, R, C> {
  if (typeof executor === 'function') return { execute: executor as Executor<P, R, C>['execute'] }
  if (typeof executor === 'object' && executor !== null && typeof executor.execute === 'function') return executor
  refuse('executor', 'a function `(payload, ctx) => result` or an object with `execute`', executor)
}

/** Adds a runtime's own resources (worker slots) to the capacity the user gave. */
export function withRuntimeResources<P, R, C>(capacity: CapacityInput, executor: Executor<P, R, C>): CapacityInput {
  const extra = executor.resources
  if (extra === undefined) return capacity
  const base = typeof capacity === 'number' ? { slots: capacity } : capacity
  return { ...base, ...extra }
}
