import { BackendError } from '../core/errors.js'

/** Runs a storage operation; a failure becomes a `BackendError` that says what was being done. */
export async function wrap<T>(what: string, operation: () => Promise<T>): Promise<T> {
  try {
    return await operation()
  } catch (error) {
    // Our own refusals (a bad option, a full queue) pass as they are.
    const code = (error as { code?: unknown } | null)?.code
    if (error instanceof BackendError || code === 'INVALID_OPTION' || code === 'QUEUE_FULL') throw error
    throw new BackendError(`Storage failed while ${what}: ${(error as Error)?.message ?? String(error)}`, { cause: error })
  }
}

/** Hands a background error to `onError`; one that throws must not take the process down, so its throw goes to the console. */
export function reportTo(onError: (error: unknown) => void, who: string, error: unknown): void {
  try {
    onError(error)
  } catch (thrown) {
    console.error(`prometheus-parking-lot: ${who} onError threw`, thrown, 'while reporting', error)
  }
}
