import { describeValue } from './capacity.js'
import { InvalidOptionError } from './errors.js'
import { PRIORITIES, type MailboxKey, type Priority } from './types.js'

interface NumberRule {
  readonly min?: number
  readonly integer?: boolean
  readonly allowInfinity?: boolean
}

/** Returns `value` if it is a number within the rule, `undefined` if absent, else throws naming `path`. */
export function optionalNumber(value: unknown, path: string, rule: NumberRule = {}): number | undefined {
  if (value === undefined) return undefined
  const min = rule.min ?? 0
  const ok =
    typeof value === 'number' &&
    !Number.isNaN(value) &&
    (Number.isFinite(value) || (rule.allowInfinity === true && value === Infinity)) &&
    value >= min &&
    (rule.integer !== true || !Number.isFinite(value) || Number.isInteger(value))
  if (!ok) {
    const kind = rule.integer === true ? 'an integer' : rule.allowInfinity === true ? 'a number' : 'a finite number'
    throw new InvalidOptionError(`Expected \`${path}\` to be ${kind} >= ${min}, got ${describeValue(value)}`, path)
  }
  return value as number
}

export function optionalString(value: unknown, path: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string') {
    throw new InvalidOptionError(`Expected \`${path}\` to be a string, got ${describeValue(value)}`, path)
  }
  return value
}

export function optionalPriority(value: unknown, path: string): Priority | undefined {
  if (value === undefined) return undefined
  if (!PRIORITIES.includes(value as Priority)) {
    throw new InvalidOptionError(
      `Expected \`${path}\` to be one of ${PRIORITIES.map((p) => `'${p}'`).join(', ')}, got ${describeValue(value)}`,
      path,
    )
  }
  return value as Priority
}

export function optionalMailboxKey(value: unknown, path: string): MailboxKey | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'object' || value === null) {
    throw new InvalidOptionError(`Expected \`${path}\` to be { tenant, user?, session? }, got ${describeValue(value)}`, path)
  }
  const key = value as Record<string, unknown>
  const tenant = key['tenant']
  if (typeof tenant !== 'string' || tenant === '') {
    throw new InvalidOptionError(`Expected \`${path}.tenant\` to be a non-empty string, got ${describeValue(tenant)}`, `${path}.tenant`)
  }
  const user = optionalString(key['user'], `${path}.user`)
  const session = optionalString(key['session'], `${path}.session`)
  return { tenant, ...(user === undefined ? {} : { user }), ...(session === undefined ? {} : { session }) }
}

export function optionalFunction<F>(value: unknown, path: string): F | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'function') {
    throw new InvalidOptionError(`Expected \`${path}\` to be a function, got ${describeValue(value)}`, path)
  }
  return value as F
}

export function optionalBoolean(value: unknown, path: string): boolean | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'boolean') {
    throw new InvalidOptionError(`Expected \`${path}\` to be a boolean, got ${describeValue(value)}`, path)
  }
  return value
}
