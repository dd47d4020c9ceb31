/*
 * Submit options, checked where they enter: each option is validated and named in the error
 * (`InvalidOptionError` with its path), the wait limit is turned into a deadline, and the payload
 * is checked against what it must survive. Nothing here changes the pool; a refusal leaves it as
 * it was.
 */
import { InvalidOptionError, InvalidPayloadError, TaskCancelledError, TaskExpiredError } from './errors.js'
import type { SubmitOptions } from './options.js'
import type { ValueCheck } from './storable.js'
import { rankOf, type MailboxKey } from './types.js'
import { onlyKnownKeys, refuse, optionalMailboxKey, optionalNumber, optionalPriority, optionalString } from './validate.js'

/** What the pool fills in for options a submit leaves out. */
export interface SubmitDefaults {
  readonly maxAttempts: number
  readonly defaultWaitTimeoutMs: number | undefined
  readonly defaultRunTimeoutMs: number | undefined
  /** What a payload must survive: the store's check and the runtime's. */
  readonly checks: readonly ValueCheck[]
  /** The runtime's check of the handler a task names; absent for an executor in this thread (it has none). */
  readonly checkHandler: ((handler: string | undefined) => void) | undefined
}

/** Every submit option, so that an unknown one (a typo) is refused. */
export const SUBMIT_KEYS: Record<keyof SubmitOptions, 1> = {
  cost: 1,
  priority: 1,
  waitTimeoutMs: 1,
  waitDeadline: 1,
  delayMs: 1,
  runAt: 1,
  runTimeoutMs: 1,
  maxAttempts: 1,
  tenant: 1,
  mailbox: 1,
  signal: 1,
  key: 1,
  handler: 1,
  model: 1,
}

/** A submit's options, checked and resolved. */
export interface ParsedSubmit {
  readonly rank: number
  readonly mailbox: MailboxKey | undefined
  readonly tenant: string
  readonly handler: string | undefined
  readonly model: string | undefined
  readonly maxAttempts: number
  readonly runTimeoutMs: number | undefined
  readonly waitDeadline: number | undefined
  /** Earliest start (`delayMs` / `runAt`); undefined when it may start at once. */
  readonly notBefore: number | undefined
  readonly signal: AbortSignal | undefined
}

export function parseSubmit(payload: unknown, options: SubmitOptions, defaults: SubmitDefaults, now: number): ParsedSubmit {
  onlyKnownKeys(options, SUBMIT_KEYS, '')
  const priority = optionalPriority(options.priority, 'priority') ?? 'normal'
  const mailbox = optionalMailboxKey(options.mailbox, 'mailbox')
  const tenant = optionalString(options.tenant, 'tenant') ?? mailbox?.tenant ?? ''
  const handler = handlerOf(options.handler, defaults.checkHandler)
  const maxAttempts = optionalNumber(options.maxAttempts, 'maxAttempts', { min: 1, integer: true }) ?? defaults.maxAttempts
  const runTimeoutMs = optionalNumber(options.runTimeoutMs, 'runTimeoutMs', { positive: true }) ?? defaults.defaultRunTimeoutMs
  const notBefore = notBeforeOf(options, now)
  const waitDeadline = waitDeadlineOf(options, defaults, now, notBefore)
  for (const check of defaults.checks) {
    const problem = check(payload, 'payload')
    if (problem !== undefined)
      throw new InvalidPayloadError(`\`${problem.path}\` ${problem.reason}; the task was not accepted`, problem.path)
  }
  const signal = options.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    refuse('signal', 'an AbortSignal', signal)
  }
  if (signal?.aborted === true) {
    throw new TaskCancelledError('The signal was already aborted; the task was not accepted', { cause: signal.reason })
  }
  const model = optionalString(options.model, 'model')
  return { rank: rankOf(priority), mailbox, tenant, handler, model, maxAttempts, runTimeoutMs, waitDeadline, notBefore, signal }
}

const LATEST_TIME = 8.64e15

/** When a delayed task may start (`delayMs` from now, or `runAt`); undefined for at once. */
function notBeforeOf(options: SubmitOptions, now: number): number | undefined {
  const delayMs = optionalNumber(options.delayMs, 'delayMs')
  const runAt = optionalNumber(options.runAt, 'runAt', { min: -Infinity })
  if (delayMs !== undefined && runAt !== undefined)
    throw new InvalidOptionError('Give `delayMs` or `runAt`, not both; the task was not accepted', 'runAt')
  const at = delayMs === undefined ? runAt : now + delayMs
  // The latest time a Date can hold (and every store can keep).
  if (at !== undefined && at > LATEST_TIME)
    throw new InvalidOptionError(
      `The task would start after the year 275760 (ms ${at}); the task was not accepted`,
      delayMs === undefined ? 'runAt' : 'delayMs',
    )
  return at !== undefined && at > now ? at : undefined
}

/**
 * The earlier of `waitTimeoutMs` (or the pool's default), counted from when the task may start,
 * and `waitDeadline`.
 */
function waitDeadlineOf(options: SubmitOptions, defaults: SubmitDefaults, now: number, notBefore: number | undefined): number | undefined {
  const timeout = optionalNumber(options.waitTimeoutMs, 'waitTimeoutMs', { positive: true }) ?? defaults.defaultWaitTimeoutMs
  const absolute = optionalNumber(options.waitDeadline, 'waitDeadline', { min: -Infinity })
  if (absolute !== undefined && absolute <= now) {
    throw new TaskExpiredError(`\`waitDeadline\` passed ${now - absolute} ms ago; the task was not accepted`)
  }
  if (absolute !== undefined && notBefore !== undefined && absolute <= notBefore) {
    const message = `\`waitDeadline\` comes ${notBefore - absolute} ms before the task may start (\`delayMs\` / \`runAt\`); the task was not accepted`
    throw new InvalidOptionError(message, 'waitDeadline')
  }
  const from = notBefore ?? now
  if (timeout === undefined) return absolute
  return absolute === undefined ? from + timeout : Math.min(from + timeout, absolute)
}

/**
 * The handler a task names, checked by its runtime (which knows its workers' handlers): one it
 * lacks is refused here rather than failing at run time. An executor in this thread has none.
 */
function handlerOf(value: unknown, check: SubmitDefaults['checkHandler']): string | undefined {
  const handler = optionalString(value, 'handler')
  if (check !== undefined) check(handler)
  else if (handler !== undefined)
    throw new InvalidOptionError("`handler` picks a worker's handler; this pool's executor runs in this thread", 'handler')
  return handler
}
