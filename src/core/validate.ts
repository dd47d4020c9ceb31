/*
 * Checks for options where they enter: each refusal is an `InvalidOptionError` that names the
 * option (`path`) and shows what was given; an unknown key is refused with the closest known one
 * (a typo is an error, not an option silently ignored).
 */
import { InvalidOptionError } from './errors.js'
import { PRIORITIES, type MailboxKey, type Priority, type PriorityName } from './types.js'

/** A value as an error message shows it: `"text"`, `5`, `undefined`, `an array [5]`, `a function`. */
export function describeValue(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value)
    case 'bigint':
      return `${value}n`
    case 'function':
    case 'symbol':
      return `a ${typeof value}`
    case 'object':
      if (value === null) return 'null'
      return `${Array.isArray(value) ? 'an array' : 'an object'} ${json(value)}`
    default:
      return String(value)
  }
}

function json(value: object): string {
  try {
    return JSON.stringify(value).slice(0, 60)
  } catch {
    return '(not JSON)' // a cycle or a BigInt inside: its kind is enough
  }
}

/** Throws the `InvalidOptionError` "Expected `path` to be {what}, got {value}". */
export function refuse(path: string, what: string, value: unknown): never {
  throw new InvalidOptionError(`Expected \`${path}\` to be ${what}, got ${describeValue(value)}`, path)
}

export interface NumberRule {
  /** The smallest value allowed. @default 0 */
  readonly min?: number
  /** Above 0 (a limit or a period: 0 would mean "never" or "always"). */
  readonly positive?: boolean
  readonly integer?: boolean
  readonly allowInfinity?: boolean
}

/** Returns `value` if it is a number within the rule, `undefined` if absent, else throws naming `path`. */
export function optionalNumber(value: unknown, path: string, rule: NumberRule = {}): number | undefined {
  if (value === undefined) return undefined
  const min = rule.min ?? 0
  const ok =
    typeof value === 'number' &&
    (Number.isFinite(value) || (rule.allowInfinity === true && value === Infinity)) &&
    value >= min &&
    (rule.positive !== true || value > 0) &&
    (rule.integer !== true || !Number.isFinite(value) || Number.isInteger(value))
  if (!ok) {
    const kind = rule.integer === true ? 'an integer' : rule.allowInfinity === true ? 'a number' : 'a finite number'
    refuse(path, `${kind} ${rule.positive === true ? '> 0' : `>= ${min}`}`, value)
  }
  return value as number
}

/** Refuses `value` unless it is absent or of `type`. */
function optionalOfType(value: unknown, path: string, type: 'string' | 'function' | 'boolean'): void {
  if (value !== undefined && typeof value !== type) refuse(path, `a ${type}`, value)
}

export function optionalString(value: unknown, path: string): string | undefined {
  optionalOfType(value, path, 'string')
  return value as string | undefined
}

export function optionalPriority(value: unknown, path: string): Priority | undefined {
  if (value !== undefined && !(typeof value === 'number' && Number.isFinite(value)) && !PRIORITIES.includes(value as PriorityName)) {
    refuse(path, `a finite number or one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}`, value)
  }
  return value as Priority | undefined
}

const MAILBOX_KEY_KEYS = { tenant: 1, user: 1, session: 1 }

/** A mailbox key `{ tenant, user?, session? }`: the tenant a non-empty string, nothing else in it. */
export function mailboxKey(value: unknown, path: string): MailboxKey {
  if (typeof value !== 'object' || value === null) refuse(path, '{ tenant, user?, session? }', value)
  onlyKnownKeys(value, MAILBOX_KEY_KEYS, path)
  const { tenant, user, session } = value as Record<string, unknown>
  if (typeof tenant !== 'string' || tenant === '') refuse(`${path}.tenant`, 'a non-empty string', tenant)
  optionalString(user, `${path}.user`)
  optionalString(session, `${path}.session`)
  return {
    tenant,
    ...(user === undefined ? {} : { user: user as string }),
    ...(session === undefined ? {} : { session: session as string }),
  }
}

export function optionalMailboxKey(value: unknown, path: string): MailboxKey | undefined {
  return value === undefined ? undefined : mailboxKey(value, path)
}

export function optionalFunction<F>(value: unknown, path: string): F | undefined {
  optionalOfType(value, path, 'function')
  return value as F | undefined
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  optionalOfType(value, path, 'boolean')
  return value as boolean | undefined
}

/** An options object (`path` names it): an object, or absent. */
export function optionsObject<T extends object>(value: T | undefined, known: Readonly<Record<string, unknown>>, path: string): T {
  if (value === undefined) return {} as T
  if (typeof value !== 'object' || value === null) refuse(path, 'an object', value)
  onlyKnownKeys(value, known, path)
  return value
}

/** Refuses a key of `value` that `known` lacks, naming the closest known one. */
export function onlyKnownKeys(value: object, known: Readonly<Record<string, unknown>>, path: string): void {
  for (const key in value) {
    if (!Object.hasOwn(known, key)) {
      const at = path === '' ? key : `${path}.${key}`
      throw new InvalidOptionError(`Unknown option \`${at}\`${closest(key, Object.keys(known))}`, at)
    }
  }
}

/** "; did you mean `priority`?" for a near miss, else the list of what is known. */
export function closest(word: string, known: readonly string[]): string {
  let best = ''
  let distance = Infinity
  for (const candidate of known) {
    const d = editDistance(word.toLowerCase(), candidate.toLowerCase())
    if (d < distance) [best, distance] = [candidate, d]
  }
  if (distance <= Math.max(2, word.length / 3)) return `; did you mean \`${best}\`?`
  return known.length === 0 ? '' : `; known: ${known.map((k) => `\`${k}\``).join(', ')}`
}

/** Levenshtein distance, one row at a time. */
function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, i) => i)
  for (let i = 1; i <= a.length; i++) {
    const next = [i]
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1))
    row = next
  }
  return row[b.length]!
}
