import { describeError } from './errors.js'

/** Reports an error nobody can handle where it happened, without throwing into the caller. */
export function reportUnhandled(error: unknown, context: string): void {
  const report = (globalThis as { reportError?: (e: unknown) => void }).reportError
  if (typeof report === 'function') report(error)
  else console.error(`[prometheus-parking-lot] ${context}: ${describeError(error)}`, error)
}
