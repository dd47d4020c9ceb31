/*
 * Submit options, checked where they enter: each option is validated and named in the error
 * (`InvalidOptionError` with its path), the wait limit is turned into a deadline, and the payload
 * is checked against what it must survive. Nothing here changes the pool; a refusal leaves it as
 * it was.
 */
import { InvalidOptionError, InvalidPayloadError, TaskCancelledError, TaskExpiredError } from './errors.js'
import type { SubmitOptions } from './options.js'
import type { ValueCheck } from './storable.js'
import { PRIORITIES, type MailboxKey } from './types.js'
import { optionalMailboxKey, optionalNumber, optionalPriority, optionalString } from './validate.js'

/** What the pool fills in for options a submit leaves out. */
export interface SubmitDefaults {
  readonly maxAttempts: number
  readonly defaultWaitTimeoutMs: number | undefined
  readonly defaultRunTimeoutMs: number | undefined
  /** What a payload must survive: the store's check and the runtime's. */
  readonly checks: readonly ValueCheck[]
}

/** A submit's options, checked and resolved. */
export interface ParsedSubmit {
  readonly rank: number
  readonly mailbox: MailboxKey | undefined
  readonly tenant: string
  readonly handler: string | undefined
  readonly maxAttempts: number
  readonly runTimeoutMs: number | undefined
  readonly waitDeadline: number | undefined
  readonly signal: AbortSignal | undefined
}

export function parseSubmit(payload: unknown, options: SubmitOptions, defaults: SubmitDefaults, now: number): ParsedSubmit {
  const priority = optionalPriority(options.priority, 'priority') ?? 'normal'
  const mailbox = optionalMailboxKey(options.mailbox, 'mailbox')
  const tenant = optionalString(options.tenant, 'tenant') ?? mailbox?.tenant ?? ''
  const handler = optionalString(options.handler, 'handler')
  const maxAttempts = optionalNumber(options.maxAttempts, 'maxAttempts', { min: 1, integer: true }) ?? defaults.maxAttempts
  const runTimeoutMs = optionalNumber(options.runTimeoutMs, 'runTimeoutMs', { min: 1 }) ?? defaults.defaultRunTimeoutMs
  const waitDeadline = waitDeadlineOf(options, defaults, now)
  for (const check of defaults.checks) {
    const problem = check(payload, 'payload')
    if (problem !== undefined)
      throw new InvalidPayloadError(`\`${problem.path}\` ${problem.reason}; the task was not accepted`, problem.path)
  }
  const signal = options.signal
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new InvalidOptionError('Expected `signal` to be an AbortSignal', 'signal')
  }
  if (signal?.aborted === true) {
    throw new TaskCancelledError('The signal was already aborted; the task was not accepted', { cause: signal.reason })
  }
  return { rank: PRIORITIES.indexOf(priority), mailbox, tenant, handler, maxAttempts, runTimeoutMs, waitDeadline, signal }
}

/** The earlier of `now + waitTimeoutMs` (or the pool's default) and `waitDeadline`. */
function waitDeadlineOf(options: SubmitOptions, defaults: SubmitDefaults, now: number): number | undefined {
  const timeout = optionalNumber(options.waitTimeoutMs, 'waitTimeoutMs') ?? defaults.defaultWaitTimeoutMs
  const absolute = optionalNumber(options.waitDeadline, 'waitDeadline', { min: -Infinity })
  let deadline = timeout === undefined ? undefined : now + timeout
  if (absolute !== undefined) deadline = deadline === undefined ? absolute : Math.min(deadline, absolute)
  if (deadline !== undefined && deadline <= now) {
    throw new TaskExpiredError(`The task's wait deadline (${deadline}) is not after now (${now}); the task was not accepted`)
  }
  return deadline
}
