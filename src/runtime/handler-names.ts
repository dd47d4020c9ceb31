/*
 * The page side's check of a task's `handler` against the handlers its workers announced when
 * ready: a name they lack is refused at submit, with the closest one, instead of failing (and
 * retrying) at run time.
 */
import { InvalidOptionError } from '../core/errors.js'
import { closest, describeValue } from '../core/validate.js'

/** Refuses `handler` unless `known` has it (or, for none, unless `known` has exactly one); `known` undefined: not announced yet, so taken on trust. */
export function checkHandlerName(handler: string | undefined, known: readonly string[] | undefined): void {
  if (known === undefined) return // the workers check it at run time
  if (handler === undefined ? known.length <= 1 : known.includes(handler)) return
  const list = known.map((name) => `\`${name}\``).join(', ') || 'none'
  const hint = handler === undefined ? '; pass { handler }' : closest(handler, known)
  throw new InvalidOptionError(
    `Expected \`handler\` to name one of the workers' handlers (${list}), got ${describeValue(handler)}${hint}`,
    'handler',
  )
}
