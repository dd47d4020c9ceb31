import { InvalidOptionError } from '../core/errors.js'
import type { Priority } from '../core/types.js'
import { describeValue } from '../core/validate.js'

/** A queue that orders in SQL by the named levels cannot store a numeric priority between them. */
export function namedPrioritiesOnly(queue: string, priority: Priority): InvalidOptionError {
  return new InvalidOptionError(
    `${queue} orders by the named priorities only (low, normal, high, critical, or the numbers 0 to 3); got ${describeValue(priority)}, not accepted`,
    'priority',
  )
}
