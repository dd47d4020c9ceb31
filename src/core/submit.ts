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
import { closest, describeValue, onlyKnownKeys, optionalMailboxKey, optionalNumber, optionalPriority, optionalString } from './validate.js'

/** What the pool fills in for options a submit leaves out. */
export interface SubmitDefaults {
  readonly maxAttempts: number
  readonly defaultWaitTimeoutMs: number | undefined
  readonly defaultRunTimeoutMs: number | undefined
  /** What a payload must survive: the store's check and the runtime's. */
  readonly checks: readonly ValueCheck[]
  /** The handlers a task may name, once the runtime knows them; absent for an executor in this thread (it has none). */
  readonly handlers: (() => readonly string[] | undefined) | undefined
}

/** Every submit option, so that an unknown one (a typo) is refused. */
export const SUBMIT_KEYS: Record<keyof SubmitOptions, 1> = {
  cost: 1,
  priority: 1,
  waitTimeoutMs: 1,
  waitDeadline: 1,
  runTimeoutMs: 1,
  maxAttempts: 1,
  tenant: 1,
  mailbox: 1,
  signal: 1,
  key: 1,
  handler: 1,
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
  onlyKnownKeys(options, SUBMIT_KEYS, '')
  const priority = optionalPriority(options.priority, 'priority') ?? 'normal'
  const mailbox = optionalMailboxKey(options.mailbox, 'mailbox')
  const tenant = optionalString(options.tenant, 'tenant') ?? mailbox?.tenant ?? ''
  const handler = handlerOf(options.handler, defaults.handlers)
  const maxAttempts = optionalNumber(options.maxAttempts, 'maxAttempts', { min: 1, integer: true }) ?? defaults.maxAttempts
  const runTimeoutMs = optionalNumber(options.runTimeoutMs, 'runTimeoutMs', { positive: true }) ?? defaults.defaultRunTimeoutMs
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
  const timeout = optionalNumber(options.waitTimeoutMs, 'waitTimeoutMs', { positive: true }) ?? defaults.defaultWaitTimeoutMs
  const absolute = optionalNumber(options.waitDeadline, 'waitDeadline', { min: -Infinity })
  if (absolute !== undefined && absolute <= now) {
    throw new TaskExpiredError(
      `The task's \`waitDeadline\` passed ${now - absolute} ms ago (it is a time on the pool's clock); the task was not accepted`,
    )
  }
  if (timeout === undefined) return absolute
  return absolute === undefined ? now + timeout : Math.min(now + timeout, absolute)
}

/**
 * The handler a task names, checked against those its runtime announced: one it lacks is refused
 * here rather than failing at run time, and an executor in this thread has none to name.
 */
function handlerOf(value: unknown, handlers: SubmitDefaults['handlers']): string | undefined {
  const handler = optionalString(value, 'handler')
  if (handlers === undefined) {
    if (handler === undefined) return undefined
    throw new InvalidOptionError("`handler` names a worker's handler, but this pool's executor runs in this thread and has none", 'handler')
  }
  const known = handlers()
  if (known === undefined) return handler // the workers have not announced theirs yet: they check at run time
  if (handler === undefined ? known.length > 1 : !known.includes(handler)) {
    const list = known.map((name) => `\`${name}\``).join(', ') || 'none'
    const hint = handler === undefined ? '; pass { handler }' : closest(handler, known)
    throw new InvalidOptionError(
      `Expected \`handler\` to name one of the workers' handlers (${list}), got ${describeValue(handler)}${hint}`,
      'handler',
    )
  }
  return handler
}
